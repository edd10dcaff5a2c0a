//! Builds the web panel (`backend/web`, Vite) into `$OUT_DIR/web` and writes
//! `$OUT_DIR/web_assets.rs`, the table of its files (each with a gzipped copy made by
//! `scripts/precompress.mjs`) that `src/web.rs` includes with `include_bytes!`.
//!
//! Runs only when the panel's sources change (rerun-if-changed). Needs Node.js >= 20 and npm;
//! `npm ci` runs only when `node_modules` is missing or older than `package-lock.json`, so the
//! build works offline once the dependencies are installed.

// Cargo reads its directives from a build script's stdout.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

const INPUTS: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "scripts",
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("web");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let out = out_dir.join("web");
    for input in INPUTS {
        println!("cargo:rerun-if-changed=web/{input}");
    }
    if let Err(e) =
        build(&web, &out).and_then(|()| write_table(&out, &out_dir.join("web_assets.rs")))
    {
        panic!(
            "\n\nbuilding the web panel (backend/web) failed: {e}\n\
             The server embeds the panel; building it needs Node.js >= 20 and npm \
             (Debian: apt-get install nodejs npm).\n\n"
        );
    }
}

fn build(web: &Path, out: &Path) -> Result<(), String> {
    let version = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run `node` ({e})"))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("cannot read the Node.js version from {version:?}"))?;
    if major < 20 {
        return Err(format!("Node.js {version} is too old"));
    }
    let stamp = web.join("node_modules/.package-lock.json");
    if modified(&stamp) < modified(&web.join("package-lock.json")) {
        run(web, &["ci", "--no-audit", "--no-fund"])?;
    }
    let out = out.to_str().ok_or("OUT_DIR is not UTF-8")?;
    run(
        web,
        &["run", "build", "--", "--outDir", out, "--emptyOutDir"],
    )?;
    run(web, &["run", "precompress", "--", out])
}

/// `pub static ASSETS: &[Asset]`, sorted by path, for every built file (not the `.gz` copies).
fn write_table(dir: &Path, table: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    let mut src = String::from("pub static ASSETS: &[Asset] = &[\n");
    for rel in files.iter().filter(|f| !f.ends_with(".gz")) {
        let abs = dir.join(rel);
        let gz = files.contains(&format!("{rel}.gz"));
        src.push_str(&format!(
            "    Asset {{ path: {rel:?}, body: include_bytes!({abs:?}), gzip: {} }},\n",
            if gz {
                format!("Some(include_bytes!({:?}))", dir.join(format!("{rel}.gz")))
            } else {
                "None".to_owned()
            }
        ));
    }
    src.push_str("];\n");
    std::fs::write(table, src).map_err(|e| format!("cannot write {}: {e}", table.display()))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).map_err(|e| e.to_string())?;
            out.push(
                rel.to_str()
                    .ok_or("non-UTF-8 file name")?
                    .replace('\\', "/"),
            );
        }
    }
    Ok(())
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn run(dir: &Path, args: &[&str]) -> Result<(), String> {
    let status = Command::new("npm")
        .args(args)
        .current_dir(dir)
        // Cargo reads a build script's stdout as directives: send npm's output to stderr.
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| format!("cannot run `npm` ({e})"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`npm {}` failed ({status})", args.join(" ")))
    }
}
