//! Decode every real photo in the shared face set and check its size against MANIFEST.tsv.
//! The set lives in `$FACEID_SHARED_DIR/faces` (default `<workspace>/../shared/faces`); when it
//! is missing the tests say so and skip.

use std::path::PathBuf;

use faceid_face::decode::{DecodeLimits, decode_file};

fn faces_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("FACEID_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("faces");
    if dir.join("MANIFEST.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: shared face set not found at {} (set FACEID_SHARED_DIR)",
            dir.display()
        );
        None
    }
}

struct Row {
    path: String,
    kind: String,
    width: u32,
    height: u32,
}

fn manifest(dir: &std::path::Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("read manifest");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (p, k, w, h) = (col("local_path"), col("kind"), col("width"), col("height"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                path: f[p].to_owned(),
                kind: f[k].to_owned(),
                width: f[w].parse().expect("width"),
                height: f[h].parse().expect("height"),
            }
        })
        .collect()
}

#[test]
fn every_photo_in_the_manifest_decodes_at_its_listed_size() {
    let Some(dir) = faces_dir() else { return };
    let rows = manifest(&dir);
    assert!(!rows.is_empty());
    let limits = DecodeLimits::default();
    let mut identity = 0;
    for row in &rows {
        let d = decode_file(&dir.join(&row.path), &limits)
            .unwrap_or_else(|e| panic!("{}: {e}", row.path));
        // MANIFEST sizes are the displayed (orientation-applied) sizes.
        assert_eq!(
            d.rgb.dimensions(),
            (row.width, row.height),
            "{} (EXIF orientation {})",
            row.path,
            d.exif_orientation
        );
        if row.kind.starts_with("identity") {
            identity += 1;
        }
    }
    eprintln!(
        "decoded {} manifest images ({identity} identity photos)",
        rows.len()
    );
}

#[test]
fn exif_rotated_liveness_captures_come_out_upright() {
    let Some(dir) = faces_dir() else { return };
    let live = dir.join("liveness");
    let limits = DecodeLimits::default();
    let mut rotated = 0;
    for name in ["real_T1.jpg", "spoof_F1.jpg", "spoof_F2.jpg"] {
        let path = live.join(name);
        if !path.is_file() {
            eprintln!("SKIPPED: {} missing", path.display());
            continue;
        }
        let d = decode_file(&path, &limits).expect("decode");
        let (sw, sh) = d.stored_size;
        if matches!(d.exif_orientation, 5..=8) {
            rotated += 1;
            assert_eq!(d.rgb.dimensions(), (sh, sw), "{name} must be transposed");
        } else {
            assert_eq!(d.rgb.dimensions(), (sw, sh), "{name}");
        }
        eprintln!(
            "{name}: stored {sw}×{sh}, EXIF orientation {}, decoded {:?}",
            d.exif_orientation,
            d.rgb.dimensions()
        );
    }
    // These phone captures carry orientation 6 (portrait shot, sensor landscape).
    assert!(
        rotated > 0,
        "expected EXIF-rotated captures in {}",
        live.display()
    );
}

/// Issue 17, case 3: the first 30 % or 60 % of a real JPEG used to decode (the missing rows
/// padded grey) and pass enrolment and check-in; it is a typed `Truncated` error now, while
/// the whole file still decodes.
#[test]
fn a_cut_real_jpeg_is_truncated() {
    let Some(dir) = faces_dir() else { return };
    let bytes = std::fs::read(dir.join("face_recognition/barack_obama/obama.jpg")).expect("read");
    assert!(faceid_face::decode::decode(&bytes).is_ok());
    for percent in [30, 60, 99] {
        let cut = &bytes[..bytes.len() * percent / 100];
        let err = faceid_face::decode::decode(cut).unwrap_err();
        assert!(
            matches!(err, faceid_face::decode::DecodeError::Truncated { .. }),
            "{percent} %: {err:?}"
        );
    }
}
