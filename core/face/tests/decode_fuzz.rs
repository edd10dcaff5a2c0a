//! Property tests: the decoder and the frame converter never panic, whatever the input, and
//! whatever they return respects the limits. Case counts follow `PROPTEST_CASES` (a longer run:
//! `PROPTEST_CASES=50000 cargo test -p faceid-face --release --test decode_fuzz`).

use std::io::Cursor;

use faceid_face::decode::{
    DecodeLimits, Frame, PixelFormat, Rotation, decode_with_limits, frame_to_rgb,
};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use proptest::prelude::*;

mod common;
use common::{apply, mutation};

fn seeds() -> Vec<Vec<u8>> {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(24, 16, |x, y| {
        Rgb([(x * 10) as u8, (y * 15) as u8, ((x + y) * 3) as u8])
    }));
    let mut out = Vec::new();
    for f in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
        let mut c = Cursor::new(Vec::new());
        img.write_to(&mut c, f).expect("encode");
        out.push(c.into_inner());
    }
    let mut c = Cursor::new(Vec::new());
    img.grayscale()
        .write_to(&mut c, ImageFormat::Png)
        .expect("encode");
    out.push(c.into_inner());
    out
}

fn small_limits() -> DecodeLimits {
    DecodeLimits {
        max_bytes: 1 << 20,
        max_pixels: 4_000_000,
        max_side: 4096,
        max_alloc: 64 << 20,
    }
}

fn check_decode(bytes: &[u8]) {
    let limits = small_limits();
    if let Ok(d) = decode_with_limits(bytes, &limits) {
        let (w, h) = d.rgb.dimensions();
        assert!(w >= 1 && h >= 1);
        assert!(u64::from(w) * u64::from(h) <= limits.max_pixels);
        assert!(w.max(h) <= limits.max_side);
        assert!((1..=8).contains(&d.exif_orientation));
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_decode(&bytes);
    }

    #[test]
    fn magic_prefixed_garbage_never_panics(
        magic in prop_oneof![
            Just(b"\xFF\xD8\xFF".to_vec()),
            Just(b"\x89PNG\r\n\x1a\n".to_vec()),
            Just(b"RIFF\x10\x00\x00\x00WEBPVP8 ".to_vec()),
            Just(b"RIFF\x10\x00\x00\x00WEBPVP8L".to_vec()),
            Just(b"RIFF\x10\x00\x00\x00WEBPVP8X".to_vec()),
        ],
        tail in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut b = magic;
        b.extend(tail);
        check_decode(&b);
    }

    #[test]
    fn mutated_valid_images_never_panic(
        seed in 0usize..4,
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let s = seeds();
        let bytes = apply(s[seed % s.len()].clone(), &muts);
        check_decode(&bytes);
    }

    #[test]
    fn arbitrary_frames_never_panic(
        width in 0u32..64,
        height in 0u32..64,
        stride_extra in -8i64..16,
        format in prop_oneof![
            Just(PixelFormat::Rgba8),
            Just(PixelFormat::Bgra8),
            Just(PixelFormat::Rgb8),
            Just(PixelFormat::Nv21),
        ],
        rotation in prop_oneof![Just(Rotation::R0), Just(Rotation::R90), Just(Rotation::R180), Just(Rotation::R270)],
        len in 0usize..20_000,
        fill in any::<u8>(),
    ) {
        let bpp: i64 = match format { PixelFormat::Rgba8 | PixelFormat::Bgra8 => 4, PixelFormat::Rgb8 => 3, PixelFormat::Nv21 => 1 };
        let stride = (i64::from(width) * bpp + stride_extra).max(0) as u32;
        let bytes = vec![fill; len];
        let frame = Frame { width, height, stride, format, rotation, bytes: &bytes };
        match frame_to_rgb(&frame, &small_limits()) {
            Ok(img) => {
                let want = match rotation {
                    Rotation::R0 | Rotation::R180 => (width, height),
                    Rotation::R90 | Rotation::R270 => (height, width),
                };
                prop_assert_eq!(img.dimensions(), want);
                prop_assert!(frame.validate(&small_limits()).is_ok());
            }
            Err(_) => prop_assert!(frame.validate(&small_limits()).is_err()),
        }
    }

    #[test]
    fn huge_frame_claims_never_panic(
        width in any::<u32>(),
        height in any::<u32>(),
        stride in any::<u32>(),
        len in 0usize..4096,
    ) {
        let bytes = vec![0u8; len];
        for format in [PixelFormat::Rgba8, PixelFormat::Bgra8, PixelFormat::Rgb8, PixelFormat::Nv21] {
            let frame = Frame { width, height, stride, format, rotation: Rotation::R90, bytes: &bytes };
            let _ = frame_to_rgb(&frame, &DecodeLimits::default());
        }
    }
}
