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

/// A small set in the layout of the shared one (links to its photos): two sources, three
/// identities with two photos each and one with a single photo, and two liveness samples.
fn small_set(faces: &Path, dir: &Path) {
    let links = [
        ("a/amy/1.png", "face-api.js/bbt_amy/amy1.png"),
        ("a/amy/2.png", "face-api.js/bbt_amy/amy2.png"),
        ("a/penny/1.png", "face-api.js/bbt_penny/penny1.png"),
        ("a/penny/2.png", "face-api.js/bbt_penny/penny2.png"),
        ("b/biden/1.jpg", "face_recognition/joe_biden/biden.jpg"),
        ("b/biden/2.jpg", "face_recognition/joe_biden/biden2.jpg"),
        (
            "b/obama/1.jpg",
            "face_recognition/barack_obama/obama_small.jpg",
        ),
        ("liveness/real_T1.jpg", "liveness/real_T1.jpg"),
        ("liveness/spoof_F2.jpg", "liveness/spoof_F2.jpg"),
    ];
    for (to, from) in links {
        let to = dir.join(to);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(faces.join(from), &to).expect("link");
    }
}

#[test]
fn eval_reports_the_shipped_operating_point_loso_identify_and_liveness() {
    let Some(faces) = faces() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    small_set(&faces, tmp.path());
    let set = path(tmp.path());

    // All pairs: 3 genuine (amy, penny, biden), 21 - 3 = 18 impostor; the operating point at the
    // manifest's threshold with the counts behind it.
    let r = json_of(&faceid(&["face", "eval", set, "--json"]));
    assert_eq!(r["genuine_pairs"], 3, "{r}");
    assert_eq!(r["impostor_pairs"], 18, "{r}");
    let t = r["threshold"].as_f64().expect("threshold");
    let shipped_threshold = faceid_face::Manifest::builtin()
        .get(faceid_face::DEFAULT_EMBEDDER)
        .and_then(|m| m.output())
        .ok()
        .and_then(|o| o.threshold)
        .expect("the default embedder's threshold");
    assert!((t - f64::from(shipped_threshold)).abs() < 1e-6, "{r}");
    let accepted = r["impostors_accepted_at_threshold"]
        .as_u64()
        .expect("count");
    assert_eq!(r["far_at_threshold"].as_f64(), Some(accepted as f64 / 18.0));
    let tar = r["tar_at_threshold"].as_f64().expect("tar");
    assert!((0.0..=1.0).contains(&tar), "{r}");
    let text = String::from_utf8_lossy(&faceid(&["face", "eval", set]).stdout).into_owned();
    assert!(
        text.contains(&format!("at the shipped threshold {shipped_threshold:.4}")),
        "{text}"
    );

    // Score fusion, fitted per fold: one fusion per fold, measured on the same pairs; a
    // candidate threshold is measured with --at-threshold.
    let f = json_of(&faceid(&[
        "face",
        "eval",
        set,
        "--protocol",
        "leave-one-source-out",
        "--model",
        "dlib_resnet_v1",
        "--fuse-with",
        "mobilefacenet_foamliu",
        "--json",
    ]));
    assert_eq!(f["models"][1], "mobilefacenet_foamliu", "{f}");
    assert_eq!(f["genuine_pairs"], 3, "{f}");
    assert_eq!(f["fusions"].as_array().map(Vec::len), Some(2), "{f}");
    assert_eq!(f["folds"][0]["fit_impostor_pairs"], 2, "{f}");
    assert_eq!(f["folds"][0]["at_chosen"]["impostor_pairs"], 16, "{f}");
    let at = json_of(&faceid(&[
        "face",
        "eval",
        set,
        "--at-threshold",
        "0.25",
        "--json",
    ]));
    assert_eq!(at["threshold"].as_f64(), Some(0.25), "{at}");

    // Leave-one-source-out: a fold per source, each measured on the pairs involving it, with
    // its own chosen threshold and the shipped one.
    let l = json_of(&faceid(&[
        "face",
        "eval",
        set,
        "--protocol",
        "leave-one-source-out",
        "--json",
    ]));
    assert_eq!(l["protocol"], "leave-one-source-out");
    let folds = l["folds"].as_array().expect("folds");
    let names: Vec<&str> = folds.iter().filter_map(|f| f["source"].as_str()).collect();
    assert_eq!(names, ["a", "b"], "{l}");
    // Fold a is fitted on source b's 3 pairs only (biden~biden, biden~obama twice).
    assert_eq!(folds[0]["fit_genuine_pairs"], 1, "{l}");
    assert_eq!(folds[0]["fit_impostor_pairs"], 2, "{l}");
    // ... and measured on the 6 pairs inside a and the 12 across.
    let shipped = &folds[0]["at_shipped"];
    assert_eq!(shipped["genuine_pairs"], 2, "{l}");
    assert_eq!(shipped["impostor_pairs"], 16, "{l}");
    assert!(folds[0]["chosen_threshold"].as_f64().is_some(), "{l}");
    for key in [
        "tar_at_threshold",
        "far_at_threshold",
        "impostors_accepted_at_threshold",
    ] {
        assert!(!l[key].is_null(), "{key}: {l}");
    }
    assert!(l["pooled_at_shipped"]["mean_tar"].as_f64().is_some(), "{l}");
    assert!(l["pooled_at_chosen"]["worst_far"].as_f64().is_some(), "{l}");

    // Open-set 1:N: galleries of 1 and 2 of the 3 enrollable people; gallery 4 is impossible.
    let i = json_of(&faceid(&[
        "face",
        "eval",
        set,
        "--identify",
        "--gallery-sizes",
        "1,2,4",
        "--repeats",
        "5",
        "--extrapolate",
        "10000",
        "--json",
    ]));
    assert_eq!(i["enrollable_identities"], 3, "{i}");
    let sizes = i["sizes"].as_array().expect("sizes");
    assert_eq!(sizes.len(), 2, "{i}");
    // Gallery of 1: one mated probe and 5 non-mated per trial.
    assert_eq!(sizes[0]["counts"]["mated_probes"], 5, "{i}");
    assert_eq!(sizes[0]["counts"]["non_mated_probes"], 25, "{i}");
    assert!(sizes[0]["fpir"].as_f64().is_some(), "{i}");
    assert_eq!(i["extrapolated"][0]["gallery_size"], 10000, "{i}");

    // Liveness: 7 bona fide photos scored, the attack sample next to them.
    let v = json_of(&faceid(&["face", "eval", set, "--liveness", "--json"]));
    assert_eq!(v["bona_fide_scored"], 7, "{v}");
    assert_eq!(v["threshold"].as_f64(), Some(0.5), "{v}");
    assert_eq!(v["attacks"], 1, "{v}");
    assert_eq!(v["attacks_accepted"], 0, "{v}");
    let rejects = v["false_rejects"].as_u64().expect("rejects");
    assert_eq!(v["frr"].as_f64(), Some(rejects as f64 / 7.0), "{v}");
    // The same photos as camera frames through `measure`: the phone's check-in (320 px) and
    // the kiosk (640 px), every frame either refused with a reason or measured, the FRR the
    // rejects over the measured, the tight face-api.js crops not among the uncropped frames,
    // the attack sample through the same path.
    let paths = v["camera_path"].as_array().expect("camera_path");
    let names: Vec<&str> = paths.iter().filter_map(|c| c["path"].as_str()).collect();
    assert_eq!(names, ["phone_check_in", "kiosk"], "{v}");
    for (c, size) in paths.iter().zip([320, 640]) {
        assert_eq!(c["detector_input"], size, "{c}");
        assert_eq!(c["threshold"].as_f64(), Some(0.5), "{c}");
        assert_eq!(c["frames"], 7, "{c}");
        let refused = c["refused"].as_array().expect("refused").len() as u64;
        let measured = c["measured"].as_u64().expect("measured");
        assert_eq!(refused + measured, 7, "{c}");
        let rejects = c["false_rejects"].as_u64().expect("rejects");
        assert_eq!(
            c["frr"].as_f64(),
            Some(rejects as f64 / measured as f64),
            "{c}"
        );
        let context = c["uncropped"]["scored"].as_u64().expect("uncropped");
        assert!(
            context <= measured.saturating_sub(4),
            "the 4 crops are cropped: {c}"
        );
        assert!(context >= 1, "{c}");
        assert_eq!(c["attacks"], 1, "{c}");
        assert_eq!(c["attacks_accepted"], 0, "{c}");
        assert_eq!(c["reference"].as_array().map(Vec::len), Some(2), "{c}");
    }
}
