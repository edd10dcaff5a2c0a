//! Bad input through the check-in measurement of client uploads ([`faceid_face::measure`]:
//! decode, detect, quality, embed, passive liveness): zero bytes, truncated and mutated real JPEGs and
//! PNGs, a PNG header claiming 100,000 × 100,000 pixels, 1 × 1 images and a grayscale photo give
//! a typed error or "no face", never a panic. The mutation test is a fuzz-like property test;
//! its case count follows `PROPTEST_CASES` (default 48 here, a few seconds; a longer run:
//! `PROPTEST_CASES=3000 cargo test -p faceid-face --release --test engine_bad_input`).

use std::io::Cursor;
use std::path::PathBuf;

use faceid_face::decode::{self, DecodeError};
use faceid_face::{
    DetectorConfig, Engine, EngineError, MeasureError, MeasureRules, Measurement, measure,
};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use proptest::prelude::*;

mod common;
use common::{apply, mutation, png_claiming};

/// Real photos of the shared set used as seeds: a colour JPEG (320×240), another JPEG and a
/// grayscale PNG (a tight 150×150 face crop).
const SEEDS: [&str; 3] = [
    "face_recognition/barack_obama/obama_small.jpg",
    "face_recognition/barack_obama/obama-240p.jpg",
    "face-api.js/bbt_penny/penny1.png",
];

fn seeds(faces: &std::path::Path) -> Vec<Vec<u8>> {
    SEEDS
        .iter()
        .map(|s| std::fs::read(faces.join(s)).unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

fn setup(test: &str) -> Option<(&'static Engine, PathBuf)> {
    common::engine_and_faces(test)
}

/// Every outcome the entry point may have on hostile bytes: a sane result, or an error about
/// the input (never a model or configuration error, never a panic).
fn typed(outcome: Result<Measurement, MeasureError>) -> Result<(), String> {
    match outcome {
        Ok(c) => {
            if c.descriptor.values.len() != 128
                || c.descriptor.values.iter().any(|v| !v.is_finite())
            {
                return Err(format!("bad descriptor {:?}", c.descriptor));
            }
            if !c.face.score.is_finite() || c.faces_found == 0 {
                return Err(format!("bad face {:?}", c.face));
            }
            if let Some(l) = c.passive
                && !(0.0..=1.0).contains(&l.score)
            {
                return Err(format!("liveness score {}", l.score));
            }
            Ok(())
        }
        Err(
            MeasureError::Decode { .. }
            | MeasureError::NoFace { .. }
            | MeasureError::SeveralFaces { .. }
            | MeasureError::Engine(
                EngineError::Decode(_)
                | EngineError::Detect(_)
                | EngineError::Embed(_)
                | EngineError::Liveness(_),
            ),
        ) => Ok(()),
        Err(other) => Err(format!("not an input error: {other:?}")),
    }
}

/// The measurement of one uploaded best frame with the check-in rules.
fn check_in(e: &Engine, bytes: &[u8]) -> Result<Measurement, MeasureError> {
    measure(e, bytes, &[], None, &MeasureRules::check_in())
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

#[test]
fn crafted_bad_inputs_are_typed_errors_or_no_face() {
    let Some((e, faces)) = setup("crafted_bad_inputs_are_typed_errors_or_no_face") else {
        return;
    };
    assert!(matches!(
        check_in(e, b""),
        Err(MeasureError::Decode {
            source: DecodeError::Empty,
            ..
        })
    ));
    assert!(matches!(
        check_in(e, &png_claiming(100_000, 100_000)),
        Err(MeasureError::Decode {
            source: DecodeError::SideTooLong { .. } | DecodeError::TooManyPixels { .. },
            ..
        })
    ));
    assert!(matches!(
        check_in(e, b"GIF89a\x01\x00\x01\x00"),
        Err(MeasureError::Decode {
            source: DecodeError::UnsupportedFormat { .. },
            ..
        })
    ));
    // 1 × 1 in every format: decodes, no face.
    let one = DynamicImage::ImageRgb8(RgbImage::from_pixel(1, 1, Rgb([90, 60, 40])));
    for f in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
        assert!(
            matches!(
                check_in(e, &encode(&one, f)),
                Err(MeasureError::NoFace { .. })
            ),
            "{f:?}"
        );
    }
    // A real grayscale PNG decodes to RGB and its face is found.
    let gray = std::fs::read(faces.join(SEEDS[2])).expect("read");
    let img = decode::decode(&gray).expect("grayscale PNG decodes");
    assert_eq!(img.dimensions(), (150, 150));
    let (dets, _) = e
        .detect_with_border_retry(&img, &DetectorConfig::ENROL)
        .expect("detect");
    assert_eq!(dets.len(), 1);
    // The real colour JPEG, intact, passes the whole pipeline.
    let jpeg = std::fs::read(faces.join(SEEDS[0])).expect("read");
    let c = check_in(e, &jpeg).expect("check-in on a real photo");
    assert_eq!(c.faces_found, 1);
}

#[test]
fn every_truncation_of_real_photos_is_typed() {
    let Some((e, faces)) = setup("every_truncation_of_real_photos_is_typed") else {
        return;
    };
    let mut cuts = 0;
    let mut decode_errors = 0;
    for bytes in seeds(&faces) {
        // Every 1,500th byte plus the first header bytes, where parsers are most fragile.
        let points = (0..64).chain((64..bytes.len()).step_by(1500));
        for cut in points {
            let r = check_in(e, &bytes[..cut]);
            decode_errors += usize::from(matches!(r, Err(MeasureError::Decode { .. })));
            if let Err(msg) = typed(r) {
                panic!("cut at {cut}: {msg}");
            }
            cuts += 1;
        }
    }
    eprintln!("{cuts} truncations, {decode_errors} typed decode errors");
    // Every cut is refused by the decoder: in the headers as corrupt, later as truncated (the
    // decoder no longer pads the missing rows).
    assert_eq!(decode_errors, cuts);
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Mutated real photos (bit flips, truncation, inserted and overwritten bytes) through
    /// decode + detect + embed + liveness.
    #[test]
    fn mutated_real_photos_never_panic(
        seed in 0usize..SEEDS.len(),
        muts in proptest::collection::vec(mutation(), 1..5),
    ) {
        let Some((e, faces)) = setup("mutated_real_photos_never_panic") else {
            return Ok(());
        };
        let bytes = apply(seeds(&faces)[seed].clone(), &muts);
        if let Err(msg) = typed(check_in(e, &bytes)) {
            prop_assert!(false, "{}", msg);
        }
    }
}
