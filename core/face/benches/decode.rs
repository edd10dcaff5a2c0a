//! Decode / frame conversion / evidence / quality benchmarks (single thread).
//!
//! `cargo bench -p faceid-face --bench decode`
//!
//! The 1280×720 JPEG is made at bench time from a shared photo
//! (`$FACEID_SHARED_DIR/faces/face_recognition/barack_obama/obama-1080p.jpg`, default
//! `<workspace>/../shared`), resized and re-encoded at quality 90; without the shared set a
//! synthetic image is used and a note is printed.
//!
//! The machine is shared, so besides criterion's wall-clock figures every benchmark is also
//! run as `cpu/<name>`, timed by the thread's own on-CPU time (`CLOCK_THREAD_CPUTIME_ID`),
//! which other processes competing for the cores do not inflate.

use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::both;
use faceid_face::decode::{Frame, PixelFormat, Rotation, decode, encode_jpeg, frame_to_rgb};
use faceid_face::quality::{CaptureMode, PoseEstimate, assess, model_landmarks};
use faceid_face::{BoundingBox, Detection, Point};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

fn source_720p() -> RgbImage {
    let shared = std::env::var_os("FACEID_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = shared.join("faces/face_recognition/barack_obama/obama-1080p.jpg");
    match std::fs::read(&path).ok().and_then(|b| decode(&b).ok()) {
        Some(img) => {
            image::imageops::resize(&img, 1280, 720, image::imageops::FilterType::Triangle)
        }
        None => {
            eprintln!(
                "note: {} missing, benchmarking a synthetic 1280×720 image",
                path.display()
            );
            RgbImage::from_fn(1280, 720, |x, y| {
                let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 7;
                Rgb([(x / 5) as u8 ^ n as u8, (y / 3) as u8, (n >> 8) as u8])
            })
        }
    }
}

/// Full-range BT.601 NV21 of an RGB image.
fn to_nv21(img: &RgbImage) -> Vec<u8> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut out = vec![0u8; w * h * 3 / 2];
    for (i, p) in img.pixels().enumerate() {
        let [r, g, b] = p.0.map(f32::from);
        out[i] = (0.299 * r + 0.587 * g + 0.114 * b).round() as u8;
    }
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let [r, g, b] = img.get_pixel(x as u32, y as u32).0.map(f32::from);
            let u = -0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0;
            let v = 0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0;
            let o = w * h + (y / 2) * w + x;
            out[o] = v.round().clamp(0.0, 255.0) as u8;
            out[o + 1] = u.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    let c = &mut g;
    let img = source_720p();
    let mut jpeg = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut jpeg, ImageFormat::Jpeg)
        .expect("encode");
    let jpeg = jpeg.into_inner();
    eprintln!("1280×720 JPEG: {} bytes", jpeg.len());

    both(c, "decode_jpeg_1280x720", || {
        decode(black_box(&jpeg)).expect("decode")
    });

    let nv21 = to_nv21(&img);
    for rotation in [Rotation::R0, Rotation::R90] {
        let frame = Frame {
            width: 1280,
            height: 720,
            stride: 1280,
            format: PixelFormat::Nv21,
            rotation,
            bytes: &nv21,
        };
        let limits = faceid_face::decode::DecodeLimits::default();
        both(
            c,
            &format!("nv21_to_rgb_1280x720_rot{}", rotation.degrees()),
            || frame_to_rgb(black_box(&frame), &limits).expect("frame"),
        );
    }
    let rgba: Vec<u8> = img
        .pixels()
        .flat_map(|p| [p.0[2], p.0[1], p.0[0], 255])
        .collect();
    let bgra = Frame {
        width: 1280,
        height: 720,
        stride: 1280 * 4,
        format: PixelFormat::Bgra8,
        rotation: Rotation::R0,
        bytes: &rgba,
    };
    both(c, "bgra_to_rgb_1280x720", || {
        black_box(&bgra).to_rgb().expect("frame")
    });

    both(c, "evidence_jpeg_480_q80_from_1280x720", || {
        encode_jpeg(black_box(&img), 480, 80).expect("jpeg")
    });

    let face = Detection {
        bbox: BoundingBox {
            x: 490.0,
            y: 210.0,
            width: 300.0,
            height: 300.0,
        },
        landmarks: model_landmarks(
            Point::new(640.0, 330.0),
            120.0,
            PoseEstimate {
                yaw_deg: 5.0,
                pitch_deg: 0.0,
                roll_deg: 0.0,
            },
        ),
        score: 0.9,
    };
    both(c, "quality_assess_1280x720_one_face", || {
        assess(
            black_box(&img),
            std::slice::from_ref(&face),
            CaptureMode::CheckIn,
        )
    });
    g.finish();
}

criterion_group!(decode_benches, benches);
criterion_main!(decode_benches);
