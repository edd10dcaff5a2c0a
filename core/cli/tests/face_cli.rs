//! `faceid face …` end to end on real photos of the shared set: `verify` says "same" for two
//! photos of one person and "not same" for two people; `detect` reports a typed quality verdict
//! per face; bad files end in an error message and exit code 2, never a panic (exit 101).
//! Skipped, with a message, when the models (models/fetch.sh) or the photos are missing.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn faces() -> Option<PathBuf> {
    let shared = std::env::var_os("FACEID_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| faceid_face::model::workspace_root().join("../shared"));
    let faces = shared.join("faces");
    if faceid_face::model::default_model_dir().is_none() || !faces.is_dir() {
        eprintln!("SKIPPED: models (models/fetch.sh) or the photo set (../shared/faces) missing");
        return None;
    }
    Some(faces)
}

fn faceid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faceid"))
        .args(args)
        .output()
        .expect("run faceid")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn verify_says_same_for_one_person_and_not_same_for_two() {
    let Some(faces) = faces() else { return };
    let obama = faces.join("face_recognition/barack_obama/obama.jpg");
    let obama2 = faces.join("face_recognition/barack_obama/obama2.jpg");
    let biden = faces.join("face_recognition/joe_biden/biden2.jpg");

    let same = json_of(&faceid(&[
        "face",
        "verify",
        path(&obama),
        path(&obama2),
        "--json",
    ]));
    assert_eq!(same["same"], true, "{same}");
    assert_eq!(same["model"], faceid_face::DEFAULT_EMBEDDER);
    assert!(
        same["distance"].as_f64() < same["threshold"].as_f64(),
        "{same}"
    );

    let other = json_of(&faceid(&[
        "face",
        "verify",
        path(&obama),
        path(&biden),
        "--json",
    ]));
    assert_eq!(other["same"], false, "{other}");
    assert!(
        other["distance"].as_f64() > other["threshold"].as_f64(),
        "{other}"
    );

    // The human form says it in words.
    let out = faceid(&["face", "verify", path(&obama), path(&biden)]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("not same:"));

    // The other embedder agrees, with its own threshold.
    let m = "mobilefacenet_foamliu";
    let same = json_of(&faceid(&[
        "face",
        "verify",
        path(&obama),
        path(&obama2),
        "--model",
        m,
        "--json",
    ]));
    assert_eq!(same["same"], true, "{same}");
    assert_eq!(same["model"], m);
    let other = json_of(&faceid(&[
        "face",
        "verify",
        path(&obama),
        path(&biden),
        "--model",
        m,
        "--json",
    ]));
    assert_eq!(other["same"], false, "{other}");
}

#[test]
fn detect_prints_a_typed_quality_verdict_per_face() {
    let Some(faces) = faces() else { return };
    let portrait = faces.join("face_recognition/barack_obama/obama.jpg");
    let d = json_of(&faceid(&["face", "detect", path(&portrait), "--json"]));
    let list = d["faces"].as_array().expect("faces");
    assert_eq!(list.len(), 1, "{d}");
    assert!(list[0]["detection"]["score"].as_f64() > Some(0.6));
    assert_eq!(list[0]["quality"]["ok"], true, "{d}");
    assert_eq!(d["capture"]["ok"], true, "{d}");

    // A group photo: every face gets its own verdict; as a check-in the capture is refused
    // for several faces, as a kiosk capture it is not.
    let group = faces.join("face_recognition/_group/obama_and_biden.jpg");
    let d = json_of(&faceid(&["face", "detect", path(&group), "--json"]));
    let list = d["faces"].as_array().expect("faces");
    assert!(list.len() >= 2, "{d}");
    assert!(list.iter().all(|f| f["quality"]["ok"].is_boolean()));
    let codes = d["capture"]["codes"].as_array().expect("codes");
    assert!(codes.contains(&"several_faces".into()), "{d}");
    assert_eq!(d["capture"]["reasons"][0]["reason"], "several_faces");
    let kiosk = json_of(&faceid(&[
        "face",
        "detect",
        path(&group),
        "--mode",
        "kiosk",
        "--json",
    ]));
    let codes = kiosk["capture"]["codes"].as_array().expect("codes");
    assert!(!codes.contains(&"several_faces".into()), "{kiosk}");

    // The human form names the reason and the hint.
    let out = faceid(&["face", "detect", path(&group)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("several_faces (Only one person"), "{text}");
    assert!(text.contains("quality:"), "{text}");
}

#[test]
fn bad_files_are_errors_not_panics() {
    let Some(faces) = faces() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let jpeg =
        std::fs::read(faces.join("face_recognition/barack_obama/obama_small.jpg")).expect("read");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("zero.jpg", Vec::new(), "empty"),
        ("header.jpg", jpeg[..40].to_vec(), "corrupt"),
        ("huge.jpg", claiming_65000_square(&jpeg), "limit"),
        ("text.jpg", b"not an image at all".to_vec(), "unsupported"),
    ];
    for (name, bytes, expect) in cases {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        // Every command reads images the same way; all three on the first case only.
        let cmds: &[&str] = if name == "zero.jpg" {
            &["detect", "embed", "liveness"]
        } else {
            &["detect"]
        };
        for &cmd in cmds {
            let out = faceid(&["face", cmd, path(&p)]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {name}: {err}");
            assert!(err.contains(expect), "{cmd} {name}: {err}");
            assert!(!err.contains("panicked"), "{cmd} {name}: {err}");
        }
    }
    // A 1 × 1 image decodes; there is no face.
    let one = tmp.path().join("one.png");
    image::RgbImage::from_pixel(1, 1, image::Rgb([1, 2, 3]))
        .save(&one)
        .expect("save");
    let d = json_of(&faceid(&["face", "detect", path(&one), "--json"]));
    assert_eq!(d["faces"].as_array().map(Vec::len), Some(0));
    assert_eq!(d["capture"]["codes"][0], "no_face");
    let out = faceid(&["face", "embed", path(&one)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no face"));
}

/// `jpeg` with its frame header (SOF0) patched to claim 65,000 × 65,000 pixels.
fn claiming_65000_square(jpeg: &[u8]) -> Vec<u8> {
    let mut b = jpeg.to_vec();
    let sof = b
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG");
    b[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
    b
}
