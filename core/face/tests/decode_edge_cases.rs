//! Decoder edge cases with images crafted in the test: empty, truncated, tiny, grey, 16-bit,
//! huge headers, a decompression bomb, EXIF orientation and wrong extensions.

use std::io::Cursor;
use std::time::{Duration, Instant};

use faceid_face::decode::{DecodeError, DecodeLimits, decode, decode_file, decode_with_limits};
mod common;
use common::{png_chunk, png_claiming};

use image::{DynamicImage, GrayImage, ImageBuffer, ImageFormat, Luma, Rgb, RgbImage, Rgba};

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, 128])
    })
}

/// EXIF APP1 payload (big-endian TIFF) with only the orientation tag.
fn exif_orientation_payload(orientation: u16) -> Vec<u8> {
    let mut p = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    p.extend_from_slice(&1u16.to_be_bytes()); // one entry
    p.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    p.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    p.extend_from_slice(&1u32.to_be_bytes()); // count
    p.extend_from_slice(&orientation.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    p
}

fn jpeg_with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let payload = exif_orientation_payload(orientation);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn png_with_orientation(png: &[u8], orientation: u16) -> Vec<u8> {
    // eXIf holds the TIFF structure without the "Exif\0\0" prefix; put it right after IHDR.
    let payload = exif_orientation_payload(orientation);
    let ihdr_end = 8 + 8 + 13 + 4;
    let mut out = png[..ihdr_end].to_vec();
    out.extend(png_chunk(b"eXIf", &payload[6..]));
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

const R: [u8; 3] = [255, 0, 0];
const G: [u8; 3] = [0, 255, 0];
const B: [u8; 3] = [0, 0, 255];
const W: [u8; 3] = [255, 255, 255];

/// 64×32: quadrants red (top-left), green (top-right), blue (bottom-left), white.
fn quadrants() -> RgbImage {
    RgbImage::from_fn(64, 32, |x, y| {
        Rgb(match (x < 32, y < 16) {
            (true, true) => R,
            (false, true) => G,
            (true, false) => B,
            (false, false) => W,
        })
    })
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() < 40)
}

/// Corner colours (TL, TR, BL, BR) and size as displayed, for each EXIF orientation.
fn expected(orientation: u16) -> ((u32, u32), [[u8; 3]; 4]) {
    match orientation {
        1 => ((64, 32), [R, G, B, W]),
        2 => ((64, 32), [G, R, W, B]),
        3 => ((64, 32), [W, B, G, R]),
        4 => ((64, 32), [B, W, R, G]),
        5 => ((32, 64), [R, B, G, W]),
        6 => ((32, 64), [B, R, W, G]),
        7 => ((32, 64), [W, G, B, R]),
        8 => ((32, 64), [G, W, R, B]),
        _ => unreachable!(),
    }
}

fn corners(img: &RgbImage) -> [[u8; 3]; 4] {
    let (w, h) = img.dimensions();
    [
        img.get_pixel(3, 3).0,
        img.get_pixel(w - 4, 3).0,
        img.get_pixel(3, h - 4).0,
        img.get_pixel(w - 4, h - 4).0,
    ]
}

#[test]
fn all_eight_exif_orientations_jpeg() {
    let jpeg = encode(&DynamicImage::ImageRgb8(quadrants()), ImageFormat::Jpeg);
    for o in 1..=8u16 {
        let bytes = jpeg_with_orientation(&jpeg, o);
        let d = decode_with_limits(&bytes, &DecodeLimits::default()).expect("decode");
        let (size, want) = expected(o);
        assert_eq!(d.exif_orientation as u16, o);
        assert_eq!(d.stored_size, (64, 32));
        assert_eq!(d.rgb.dimensions(), size, "orientation {o}");
        let got = corners(&d.rgb);
        for (g, w) in got.iter().zip(want) {
            assert!(
                close(*g, w),
                "orientation {o}: corners {got:?}, want {want:?}"
            );
        }
    }
}

#[test]
fn exif_orientation_in_png() {
    let png = encode(&DynamicImage::ImageRgb8(quadrants()), ImageFormat::Png);
    for o in [3u16, 6, 8] {
        let d = decode_with_limits(&png_with_orientation(&png, o), &DecodeLimits::default())
            .expect("decode");
        let (size, want) = expected(o);
        assert_eq!(d.rgb.dimensions(), size, "orientation {o}");
        assert_eq!(corners(&d.rgb), want, "orientation {o}");
    }
}

#[test]
fn broken_exif_does_not_make_the_photo_unreadable() {
    let jpeg = encode(&DynamicImage::ImageRgb8(quadrants()), ImageFormat::Jpeg);
    let mut payload = b"Exif\0\0MM\0\x2a\xff\xff\xff\xff".to_vec();
    payload.extend_from_slice(&[0xAB; 10]);
    let mut bytes = jpeg[..2].to_vec();
    bytes.extend_from_slice(&[0xFF, 0xE1]);
    bytes.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(&jpeg[2..]);
    let img = decode(&bytes).expect("decode");
    assert_eq!(img.dimensions(), (64, 32));
}

#[test]
fn formats_are_sniffed_not_taken_from_the_extension() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = DynamicImage::ImageRgb8(gradient(40, 30));
    for (format, name) in [
        (ImageFormat::Png, "photo.jpg"),
        (ImageFormat::Jpeg, "photo.png"),
        (ImageFormat::WebP, "photo.jpeg"),
        (ImageFormat::Png, "no_extension"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, encode(&img, format)).expect("write");
        let d = decode_file(&path, &DecodeLimits::default()).expect("decode");
        assert_eq!(d.format, format, "{name}");
        assert_eq!(d.rgb.dimensions(), (40, 30));
    }
    let err = decode_file(&dir.path().join("missing.jpg"), &DecodeLimits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::Io { .. }), "{err:?}");
}

#[test]
fn zero_bytes() {
    assert_eq!(decode(&[]).unwrap_err(), DecodeError::Empty);
}

#[test]
fn truncated_jpeg_never_panics_and_header_cuts_are_corrupt() {
    let jpeg = encode(
        &DynamicImage::ImageRgb8(gradient(200, 150)),
        ImageFormat::Jpeg,
    );
    // Cut inside the header segments: no frame header, so nothing can be decoded.
    for cut in [1usize, 2, 3, 10, 50, 100] {
        let err = decode(&jpeg[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Corrupt { .. } | DecodeError::UnsupportedFormat { .. }
            ),
            "cut {cut}: {err:?}"
        );
    }
    // Any cut after the headers (inside the scan): refused as truncated (the decoder would pad
    // the missing rows).
    let scan = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("SOS marker")
        + 20;
    for cut in (scan..jpeg.len()).step_by(97).chain([jpeg.len() - 1]) {
        let err = decode(&jpeg[..cut]).unwrap_err();
        assert!(
            matches!(err, DecodeError::Truncated { .. }),
            "cut {cut}: {err:?}"
        );
    }
    // Bytes after the EOI marker (some cameras append data) are ignored.
    let mut padded = jpeg.clone();
    padded.extend_from_slice(b"trailing");
    assert_eq!(decode(&padded).unwrap().dimensions(), (200, 150));
}

#[test]
fn truncated_webp_is_truncated() {
    let webp = encode(
        &DynamicImage::ImageRgb8(gradient(200, 150)),
        ImageFormat::WebP,
    );
    assert!(decode(&webp).is_ok());
    for cut in [webp.len() * 3 / 10, webp.len() * 6 / 10, webp.len() - 1] {
        let err = decode(&webp[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Truncated { .. } | DecodeError::Corrupt { .. }
            ),
            "cut {cut}: {err:?}"
        );
    }
}

#[test]
fn truncated_png_is_corrupt() {
    let png = encode(
        &DynamicImage::ImageRgb8(gradient(200, 150)),
        ImageFormat::Png,
    );
    for cut in [8usize, 20, 40, png.len() / 2, png.len() - 13, png.len() - 1] {
        let err = decode(&png[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Corrupt { .. } | DecodeError::Truncated { .. }
            ),
            "cut {cut}: {err:?}"
        );
    }
}

#[test]
fn one_by_one_in_every_format() {
    let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(1, 1, Rgb([10, 200, 30])));
    for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP] {
        let out = decode(&encode(&img, format)).expect("decode");
        assert_eq!(out.dimensions(), (1, 1), "{format:?}");
        assert!(close(out.get_pixel(0, 0).0, [10, 200, 30]), "{format:?}");
    }
}

#[test]
fn grey_grey_alpha_rgba_and_16_bit_become_rgb() {
    let grey = DynamicImage::ImageLuma8(GrayImage::from_fn(8, 4, |x, _| Luma([(x * 30) as u8])));
    let out = decode(&encode(&grey, ImageFormat::Png)).expect("grey png");
    assert_eq!(out.get_pixel(3, 1).0, [90, 90, 90]);
    let out = decode(&encode(&grey, ImageFormat::Jpeg)).expect("grey jpeg");
    let p = out.get_pixel(3, 1).0;
    assert!(
        p[0] == p[1] && p[1] == p[2] && close(p, [90, 90, 90]),
        "{p:?}"
    );

    let la = DynamicImage::ImageLumaA8(ImageBuffer::from_fn(4, 4, |_, _| image::LumaA([77, 128])));
    assert_eq!(
        decode(&encode(&la, ImageFormat::Png))
            .unwrap()
            .get_pixel(0, 0)
            .0,
        [77, 77, 77]
    );

    let rgba = DynamicImage::ImageRgba8(ImageBuffer::from_fn(4, 4, |_, _| Rgba([1, 2, 3, 0])));
    assert_eq!(
        decode(&encode(&rgba, ImageFormat::Png))
            .unwrap()
            .get_pixel(0, 0)
            .0,
        [1, 2, 3]
    );

    let rgb16 = DynamicImage::ImageRgb16(ImageBuffer::from_fn(4, 4, |x, _| {
        Rgb([x as u16 * 0x4000, 0xFFFF, 0x0101])
    }));
    let out = decode(&encode(&rgb16, ImageFormat::Png)).expect("16-bit png");
    assert_eq!(out.get_pixel(2, 0).0, [0x80, 0xFF, 0x01]);
    let g16 = DynamicImage::ImageLuma16(ImageBuffer::from_fn(4, 4, |_, _| Luma([0x8080u16])));
    assert_eq!(
        decode(&encode(&g16, ImageFormat::Png))
            .unwrap()
            .get_pixel(0, 0)
            .0,
        [0x80; 3]
    );
}

#[test]
fn png_claiming_100k_by_100k_is_refused_fast() {
    let bytes = png_claiming(100_000, 100_000);
    let t = Instant::now();
    let err = decode(&bytes).unwrap_err();
    let took = t.elapsed();
    assert!(
        matches!(
            err,
            DecodeError::SideTooLong {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(took < Duration::from_millis(200), "took {took:?}");
    // 20,000 × 20,000 (the example) and a 7,000 × 7,000 (49 MP) claim.
    assert!(matches!(
        decode(&png_claiming(20_000, 20_000)).unwrap_err(),
        DecodeError::SideTooLong { .. }
    ));
    assert!(matches!(
        decode(&png_claiming(7_000, 7_000)).unwrap_err(),
        DecodeError::TooManyPixels {
            pixels: 49_000_000,
            max: 40_000_000,
            ..
        }
    ));
    // Zero-sized claims are refused too (by the PNG parser or by us).
    assert!(decode(&png_claiming(0, 10)).is_err());
}

#[test]
fn jpeg_claiming_65000_square_is_refused_fast() {
    let mut jpeg = encode(
        &DynamicImage::ImageRgb8(gradient(16, 16)),
        ImageFormat::Jpeg,
    );
    // Patch the SOF0 frame header: FF C0, length, precision, height, width.
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0");
    jpeg[sof + 5..sof + 7].copy_from_slice(&65_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&65_000u16.to_be_bytes());
    let t = Instant::now();
    let err = decode(&jpeg).unwrap_err();
    assert!(matches!(err, DecodeError::SideTooLong { .. }), "{err:?}");
    assert!(t.elapsed() < Duration::from_millis(200));
}

#[test]
fn real_decompression_bomb_is_refused_before_inflating() {
    // A genuine 6,400 × 6,400 all-black PNG (41 MP): a few tens of KB that would inflate to
    // 123 MB of RGB.
    let big = DynamicImage::ImageLuma8(GrayImage::new(6_400, 6_400));
    let bomb = encode(&big, ImageFormat::Png);
    drop(big);
    assert!(bomb.len() < 1_000_000, "bomb is {} bytes", bomb.len());
    let t = Instant::now();
    let err = decode(&bomb).unwrap_err();
    assert!(matches!(err, DecodeError::TooManyPixels { .. }), "{err:?}");
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "took {:?}",
        t.elapsed()
    );
    // With a tight allocation budget a legal-size image is refused with a typed error as well.
    let limits = DecodeLimits {
        max_alloc: 1_000_000,
        ..DecodeLimits::default()
    };
    let err = decode_with_limits(
        &encode(
            &DynamicImage::ImageRgb8(gradient(1000, 1000)),
            ImageFormat::Png,
        ),
        &limits,
    )
    .unwrap_err();
    assert!(matches!(err, DecodeError::MemoryLimit { .. }), "{err:?}");
}

#[test]
fn byte_limit() {
    let png = encode(&DynamicImage::ImageRgb8(gradient(64, 64)), ImageFormat::Png);
    let limits = DecodeLimits {
        max_bytes: png.len() - 1,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        decode_with_limits(&png, &limits),
        Err(DecodeError::TooLarge { .. })
    ));
}

/// Re-wrap a simple (VP8L) WebP as an extended one (VP8X) with an EXIF chunk.
fn webp_with_orientation(webp: &[u8], w: u32, h: u32, orientation: u16) -> Vec<u8> {
    assert_eq!(&webp[12..16], b"VP8L", "expected a lossless simple WebP");
    let image_chunk = &webp[12..];
    let tiff = exif_orientation_payload(orientation)[6..].to_vec();
    let mut vp8x = vec![0x08u8, 0, 0, 0]; // EXIF flag
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut c = kind.to_vec();
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(b"VP8X", &vp8x));
    body.extend_from_slice(image_chunk);
    body.extend(chunk(b"EXIF", &tiff));
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

#[test]
fn exif_orientation_in_webp() {
    let webp = encode(&DynamicImage::ImageRgb8(quadrants()), ImageFormat::WebP);
    for o in [1u16, 2, 6, 7] {
        let d = decode_with_limits(
            &webp_with_orientation(&webp, 64, 32, o),
            &DecodeLimits::default(),
        )
        .expect("decode");
        let (size, want) = expected(o);
        assert_eq!(d.format, ImageFormat::WebP);
        assert_eq!(d.exif_orientation as u16, o);
        assert_eq!(d.rgb.dimensions(), size, "orientation {o}");
        assert_eq!(corners(&d.rgb), want, "orientation {o}");
    }
}
