//! Installing the face models when `serve` starts without them.
//!
//! The same rules as `models/fetch.sh`: every file named in `models/manifest.toml` (built into
//! the binary) is installed only when its size and SHA-256 match the manifest, through a
//! temporary file renamed into place, so a half-copied or tampered file is never loaded. Files
//! come from a mirror directory (the vendor's copy of `models/`, flag `--model-mirror`) or, for
//! models published as plain files, from their upstream https address. Models that upstream
//! only publishes in another form (dlib's `.dat`, PyTorch weights) need the mirror or
//! `models/fetch.sh`; the error names each file and where to put it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("the built-in model manifest is unreadable: {0}")]
    Manifest(String),
    #[error(
        "model file {file} from {origin} has {found_bytes} bytes and SHA-256 {found}; the manifest \
         says {expected_bytes} bytes and {expected}: refused (a wrong or tampered copy)"
    )]
    Mismatch {
        file: String,
        origin: String,
        expected: String,
        expected_bytes: u64,
        found: String,
        found_bytes: u64,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("downloading {url}: {detail}")]
    Download { url: String, detail: String },
    #[error("{}", missing_message(dest, missing))]
    Missing {
        dest: PathBuf,
        missing: Vec<MissingModel>,
    },
}

/// A model that could not be installed, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingModel {
    pub file: String,
    pub sha256: String,
    pub why: String,
}

fn missing_message(dest: &Path, missing: &[MissingModel]) -> String {
    let mut s = format!(
        "{} face model file(s) could not be installed into {}; face check-in stays off (503) until they are there:",
        missing.len(),
        dest.display()
    );
    for m in missing {
        s.push_str(&format!("\n  {} (SHA-256 {}): {}", m.file, m.sha256, m.why));
    }
    s.push_str(&format!(
        "\nEither copy these files from a FaceID model mirror into {dest}, start with \
         `--model-mirror DIR` (or FACEID_MODEL_MIRROR=DIR), or run \
         `bash models/fetch.sh --dest {dest}` from the source tree.",
        dest = dest.display()
    ));
    s
}

/// The fetch-related keys of a manifest entry (the engine reads the rest).
#[derive(Debug, Clone, Deserialize)]
struct Entry {
    id: String,
    file: String,
    sha256: String,
    bytes: u64,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    licence_file: Option<String>,
    #[serde(default)]
    licence_sha256: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ManifestFile {
    model: Vec<Entry>,
}

fn entries() -> Result<Vec<Entry>, InstallError> {
    toml::from_str::<ManifestFile>(faceid_face::model::BUILTIN_MANIFEST)
        .map(|m| m.model)
        .map_err(|e| InstallError::Manifest(e.to_string()))
}

/// Finds the models (installing missing ones from the configured sources) and loads the
/// engine. Without models the server still starts: the log says what is missing and where it
/// goes, and face endpoints answer 503 until then.
///
/// Loading checks every file's size and SHA-256, so an installation that loads needs nothing
/// else: the installer (which hashes them too) runs only when loading fails.
pub async fn install_and_load(settings: &crate::config::Settings) -> crate::face::FaceEngine {
    let dest = model_dir(settings);
    let dir = dest.clone();
    let embedder = settings.face_embedder.clone();
    let first = embedder.clone();
    match tokio::task::spawn_blocking(move || {
        crate::face::FaceEngine::try_load_with(&dir, first.as_deref())
    })
    .await
    {
        Ok(Ok(engine)) => return engine,
        Ok(Err(e)) => tracing::info!(dir = %dest.display(), reason = %e, "face models to install"),
        Err(e) => tracing::warn!(error = %e, "loading the face engine failed"),
    }
    let sources = Sources {
        mirror: settings.model_mirror.clone(),
        upstream: settings.model_fetch,
        rewrite_url: None,
    };
    match ensure_models(&dest, &sources).await {
        Ok(installed) => {
            let new = installed
                .iter()
                .filter(|(_, o)| *o != Outcome::AlreadyInstalled)
                .count();
            if new > 0 {
                tracing::info!(dir = %dest.display(), installed = new, "face models installed");
            }
        }
        Err(e) => tracing::error!(dir = %dest.display(), "{e}"),
    }
    let dir = dest.clone();
    tokio::task::spawn_blocking(move || {
        crate::face::FaceEngine::load_with(Some(&dir), embedder.as_deref())
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "loading the face engine failed");
        crate::face::FaceEngine::new(None)
    })
}

/// Where the models live: `model_dir`, else `FACEID_MODEL_DIR`, else a complete installation
/// in the source tree (`models/cache`, or the mirror beside the checkout), else
/// `data_dir/models`, where missing models are installed.
pub fn model_dir(settings: &crate::config::Settings) -> PathBuf {
    if let Some(d) = &settings.model_dir {
        return d.clone();
    }
    if let Some(d) = std::env::var_os("FACEID_MODEL_DIR") {
        return PathBuf::from(d);
    }
    let complete = |dir: &Path| {
        entries().is_ok_and(|es| {
            es.iter()
                .all(|e| std::fs::metadata(dir.join(&e.file)).is_ok_and(|m| m.len() == e.bytes))
        })
    };
    faceid_face::model::default_model_dir()
        .filter(|d| complete(d))
        .unwrap_or_else(|| settings.data_dir.join("models"))
}

/// How a model got into place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    AlreadyInstalled,
    FromMirror,
    Downloaded,
}

/// Where models may come from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// A directory holding the model files by their manifest names (and `licenses/`).
    pub mirror: Option<PathBuf>,
    /// Whether upstream https addresses may be used (`--no-model-fetch` turns it off).
    pub upstream: bool,
    /// Rewrites an upstream address before it is fetched (tests point it at a local server).
    pub rewrite_url: Option<fn(&str) -> String>,
}

/// Installs every manifest model into `dest` that is not already there and verified.
/// Returns each model file with how it got there; fails with [`InstallError::Missing`] naming
/// every file that could not be installed, or at once on a mismatching copy.
pub async fn ensure_models(
    dest: &Path,
    sources: &Sources,
) -> Result<Vec<(String, Outcome)>, InstallError> {
    let entries = entries()?;
    std::fs::create_dir_all(dest).map_err(|source| InstallError::Io {
        path: dest.to_owned(),
        source,
    })?;
    crate::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| InstallError::Download {
            url: String::new(),
            detail: e.to_string(),
        })?;
    let mut done = Vec::new();
    let mut missing = Vec::new();
    for e in &entries {
        let target = dest.join(&e.file);
        if matches_manifest(&target, &e.sha256, e.bytes)? {
            done.push((e.file.clone(), Outcome::AlreadyInstalled));
            continue;
        }
        let mirrored = sources.mirror.as_ref().map(|m| m.join(&e.file));
        if let Some(src) = mirrored.filter(|p| p.is_file()) {
            tracing::info!(model = %e.id, from = %src.display(), "installing face model from the mirror");
            copy_verified(&src, &target, e)?;
            install_licence(e, sources.mirror.as_deref(), dest);
            done.push((e.file.clone(), Outcome::FromMirror));
            continue;
        }
        let https = e.source.as_deref().filter(|s| s.starts_with("https://"));
        match (https, sources.upstream) {
            (Some(url), true) => {
                let url = match sources.rewrite_url {
                    Some(f) => f(url),
                    None => url.to_owned(),
                };
                match download_verified(&client, &url, &target, e).await {
                    Ok(()) => done.push((e.file.clone(), Outcome::Downloaded)),
                    Err(err @ InstallError::Mismatch { .. }) => return Err(err),
                    Err(err) => missing.push(MissingModel {
                        file: e.file.clone(),
                        sha256: e.sha256.clone(),
                        why: err.to_string(),
                    }),
                }
            }
            (Some(_), false) => missing.push(MissingModel {
                file: e.file.clone(),
                sha256: e.sha256.clone(),
                why: "downloads are off (--no-model-fetch) and no mirror holds it".into(),
            }),
            (None, _) => missing.push(MissingModel {
                file: e.file.clone(),
                sha256: e.sha256.clone(),
                why: format!(
                    "upstream publishes it only as `{}`, which needs models/fetch.sh or a mirror",
                    e.source.as_deref().unwrap_or("(no source)")
                ),
            }),
        }
    }
    if missing.is_empty() {
        Ok(done)
    } else {
        Err(InstallError::Missing {
            dest: dest.to_owned(),
            missing,
        })
    }
}

/// True when `path` exists with the manifest's size and hash.
fn matches_manifest(path: &Path, sha256: &str, bytes: u64) -> Result<bool, InstallError> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() == bytes => Ok(sha256_of(path)? == sha256),
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(InstallError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn sha256_of(path: &Path) -> Result<String, InstallError> {
    let io = |source| InstallError::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(io)?;
    Ok(hex::encode(h.finalize()))
}

/// A temporary name next to `target`, so the final rename stays on one file system.
fn temporary(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.{}.part", std::process::id()))
}

/// Checks the written temporary and renames it into place, or removes it and refuses.
fn finish(tmp: &Path, target: &Path, e: &Entry, origin: &str) -> Result<(), InstallError> {
    let found_bytes = std::fs::metadata(tmp).map(|m| m.len()).unwrap_or(0);
    let found = sha256_of(tmp)?;
    if found_bytes != e.bytes || found != e.sha256 {
        let _ = std::fs::remove_file(tmp);
        return Err(InstallError::Mismatch {
            file: e.file.clone(),
            origin: origin.to_owned(),
            expected: e.sha256.clone(),
            expected_bytes: e.bytes,
            found,
            found_bytes,
        });
    }
    std::fs::rename(tmp, target).map_err(|source| InstallError::Io {
        path: target.to_owned(),
        source,
    })
}

fn copy_verified(src: &Path, target: &Path, e: &Entry) -> Result<(), InstallError> {
    let tmp = temporary(target);
    if let Err(source) = std::fs::copy(src, &tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(InstallError::Io {
            path: src.to_owned(),
            source,
        });
    }
    finish(&tmp, target, e, &src.display().to_string())
}

async fn download_verified(
    client: &reqwest::Client,
    url: &str,
    target: &Path,
    e: &Entry,
) -> Result<(), InstallError> {
    let failed = |detail: String| InstallError::Download {
        url: url.to_owned(),
        detail,
    };
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|err| failed(err.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status())));
    }
    let tmp = temporary(target);
    let io = |source| InstallError::Io {
        path: tmp.clone(),
        source,
    };
    let mut out = std::fs::File::create(&tmp).map_err(io)?;
    let mut received = 0u64;
    let mut reported_tenth = 0;
    tracing::info!(model = %e.id, %url, bytes = e.bytes, "downloading face model");
    let written: Result<(), InstallError> = async {
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| failed(err.to_string()))?
        {
            received += chunk.len() as u64;
            // A server sending more than the manifest's size is not sending our file.
            if received > e.bytes {
                break;
            }
            out.write_all(&chunk).map_err(io)?;
            let tenth = (received * 10 / e.bytes.max(1)).min(10);
            if tenth > reported_tenth {
                reported_tenth = tenth;
                tracing::info!(model = %e.id, percent = tenth * 10, "downloading face model");
            }
        }
        out.flush().map_err(io)
    }
    .await;
    drop(out);
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err);
    }
    finish(&tmp, target, e, url)
}

/// Copies the model's licence text from the mirror's `licenses/` when it is there and matches
/// (best effort: the engine does not need it, the licence texts also ship in `models/licenses`).
fn install_licence(e: &Entry, mirror: Option<&Path>, dest: &Path) {
    let (Some(name), Some(sha), Some(mirror)) = (&e.licence_file, &e.licence_sha256, mirror) else {
        return;
    };
    let src = mirror.join("licenses").join(name);
    let target = dest.join(name);
    if !src.is_file() || sha256_of(&target).is_ok_and(|found| &found == sha) {
        return;
    }
    match sha256_of(&src) {
        Ok(found) if &found == sha => {
            if let Err(err) = std::fs::copy(&src, &target) {
                tracing::warn!(file = %name, error = %err, "licence text not copied");
            }
        }
        _ => tracing::warn!(file = %name, "licence text in the mirror does not match the manifest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_models() -> Option<PathBuf> {
        let shared = std::env::var_os("FACEID_SHARED_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
        let d = shared.join("models");
        d.join("face_detection_yunet_2026may.onnx")
            .is_file()
            .then_some(d)
    }

    fn no_sources() -> Sources {
        Sources {
            mirror: None,
            upstream: false,
            rewrite_url: None,
        }
    }

    #[tokio::test]
    async fn nothing_to_install_from_names_every_file_and_where_to_put_it() {
        let dest = tempfile::tempdir().unwrap();
        let err = ensure_models(dest.path(), &no_sources()).await.unwrap_err();
        let InstallError::Missing { missing, .. } = &err else {
            panic!("expected Missing, got {err}");
        };
        let all: Vec<String> = entries().unwrap().into_iter().map(|e| e.file).collect();
        assert_eq!(
            missing.iter().map(|m| m.file.clone()).collect::<Vec<_>>(),
            all
        );
        let text = err.to_string();
        assert!(text.contains(&dest.path().display().to_string()), "{text}");
        assert!(text.contains("--model-mirror"), "{text}");
        assert!(text.contains("dlib_resnet_v1_128.onnx"), "{text}");
    }

    #[tokio::test]
    async fn installs_from_a_mirror_once_and_the_engine_loads_them() {
        let Some(mirror) = shared_models() else {
            eprintln!("SKIPPED: no model mirror in ../shared/models");
            return;
        };
        let dest = tempfile::tempdir().unwrap();
        let sources = Sources {
            mirror: Some(mirror),
            ..no_sources()
        };
        let first = ensure_models(dest.path(), &sources).await.unwrap();
        assert!(!first.is_empty());
        assert!(
            first.iter().all(|(_, o)| *o == Outcome::FromMirror),
            "{first:?}"
        );
        let again = ensure_models(dest.path(), &sources).await.unwrap();
        assert!(again.iter().all(|(_, o)| *o == Outcome::AlreadyInstalled));
        // No temporaries left behind, and the engine accepts what was installed.
        let leftovers: Vec<_> = std::fs::read_dir(dest.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty());
        faceid_face::Engine::load(&faceid_face::EngineConfig::new(dest.path()))
            .expect("engine loads the installed models");
    }

    #[tokio::test]
    async fn start_up_loads_a_good_installation_as_is_and_repairs_a_damaged_one() {
        let Some(mirror) = shared_models() else {
            eprintln!("SKIPPED: no model mirror in ../shared/models");
            return;
        };
        let dest = tempfile::tempdir().unwrap();
        let settings = crate::config::Settings {
            model_dir: Some(dest.path().to_owned()),
            model_mirror: Some(mirror),
            model_fetch: false,
            ..crate::config::Settings::default()
        };
        // Fresh: installed from the mirror, then loaded.
        assert!(install_and_load(&settings).await.get().is_ok());
        // Damaged: one byte of the detector flipped; loading refuses it, the installer puts the
        // mirror's copy back, and the engine loads.
        let detector = dest.path().join("face_detection_yunet_2026may.onnx");
        let mut bytes = std::fs::read(&detector).unwrap();
        bytes[100] ^= 0xff;
        std::fs::write(&detector, &bytes).unwrap();
        assert!(install_and_load(&settings).await.get().is_ok());
        assert_ne!(std::fs::read(&detector).unwrap(), bytes);
        // Good: loaded as it is, nothing rewritten.
        let before = std::fs::metadata(&detector).unwrap().modified().unwrap();
        assert!(install_and_load(&settings).await.get().is_ok());
        assert_eq!(
            std::fs::metadata(&detector).unwrap().modified().unwrap(),
            before
        );
    }

    #[tokio::test]
    async fn a_tampered_mirror_copy_is_refused_and_not_left_in_place() {
        let Some(shared) = shared_models() else {
            eprintln!("SKIPPED: no model mirror in ../shared/models");
            return;
        };
        let mirror = tempfile::tempdir().unwrap();
        let first = &entries().unwrap()[0];
        let mut bytes = std::fs::read(shared.join(&first.file)).unwrap();
        bytes[100] ^= 0xff;
        std::fs::write(mirror.path().join(&first.file), bytes).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let sources = Sources {
            mirror: Some(mirror.path().to_owned()),
            ..no_sources()
        };
        let err = ensure_models(dest.path(), &sources).await.unwrap_err();
        assert!(
            matches!(&err, InstallError::Mismatch { file, .. } if *file == first.file),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    }

    /// Serves the mirror's files over HTTP, one of them corrupted on request.
    async fn serve_files(dir: PathBuf, corrupt: Option<String>) -> std::net::SocketAddr {
        use axum::extract::Path as UrlPath;
        let app = axum::Router::new().route(
            "/{file}",
            axum::routing::get(move |UrlPath(file): UrlPath<String>| {
                let dir = dir.clone();
                let corrupt = corrupt.clone();
                async move {
                    match std::fs::read(dir.join(&file)) {
                        Ok(mut b) => {
                            if corrupt.as_deref() == Some(file.as_str()) {
                                b[10] ^= 1;
                            }
                            Ok(b)
                        }
                        Err(_) => Err(axum::http::StatusCode::NOT_FOUND),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    static UPSTREAM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    fn to_local(url: &str) -> String {
        let file = url.rsplit('/').next().unwrap_or_default();
        format!("{}/{file}", UPSTREAM.get().expect("upstream set"))
    }

    #[tokio::test]
    async fn downloads_plain_files_and_refuses_a_corrupted_download() {
        let Some(shared) = shared_models() else {
            eprintln!("SKIPPED: no model mirror in ../shared/models");
            return;
        };
        let https: Vec<Entry> = entries()
            .unwrap()
            .into_iter()
            .filter(|e| {
                e.source
                    .as_deref()
                    .is_some_and(|s| s.starts_with("https://"))
            })
            .collect();
        assert!(!https.is_empty(), "the manifest has downloadable models");
        // Upstream file names are the last segment of the source URL; serve them by that name.
        let served = tempfile::tempdir().unwrap();
        for e in &https {
            let name = e.source.as_deref().unwrap().rsplit('/').next().unwrap();
            std::fs::copy(shared.join(&e.file), served.path().join(name)).unwrap();
        }
        let good = serve_files(served.path().to_owned(), None).await;
        UPSTREAM.get_or_init(|| format!("http://{good}"));
        let dest = tempfile::tempdir().unwrap();
        let sources = Sources {
            mirror: None,
            upstream: true,
            rewrite_url: Some(to_local),
        };
        // The models published only as .dat or PyTorch weights stay missing, by name.
        let err = ensure_models(dest.path(), &sources).await.unwrap_err();
        let InstallError::Missing { missing, .. } = err else {
            panic!("expected Missing");
        };
        assert!(
            missing
                .iter()
                .all(|m| !https.iter().any(|e| e.file == m.file))
        );
        for e in &https {
            assert!(matches_manifest(&dest.path().join(&e.file), &e.sha256, e.bytes).unwrap());
        }

        // A corrupted download is refused and leaves nothing behind.
        let corrupt_name = https[0]
            .source
            .as_deref()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        let bad = serve_files(served.path().to_owned(), Some(corrupt_name.into())).await;
        let dest = tempfile::tempdir().unwrap();
        let e = &https[0];
        crate::tls::install_crypto_provider();
        let err = download_verified(
            &reqwest::Client::new(),
            &format!("http://{bad}/{corrupt_name}"),
            &dest.path().join(&e.file),
            e,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, InstallError::Mismatch { .. }), "{err}");
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    }
}
