//! Image decoding: encoded bytes (JPEG, PNG, WebP) and raw camera frames to upright RGB.
//!
//! Everything here treats its input as hostile. The format is sniffed from the content (the
//! file extension is never consulted), and the byte size and the dimensions announced by the
//! header are checked against [`DecodeLimits`] *before* any pixel is decoded, so a PNG that
//! claims 100,000 × 100,000 pixels or a decompression bomb is refused in microseconds with a
//! typed [`DecodeError`]. The `image` crate's own [`image::Limits`] bound every allocation the
//! decoder makes on top of that. EXIF orientation (all eight values) is applied, and grey,
//! grey-alpha, RGBA and 16-bit images are converted to 8-bit RGB.
//!
//! Raw camera frames ([`Frame`]) are what the phone shells pass: RGBA / BGRA / RGB / NV21
//! buffers with a row stride and the clockwise rotation that makes them upright.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Bounds applied to every decode. The defaults follow ARCHITECTURE.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodeLimits {
    /// Largest encoded input accepted, in bytes (default 25 MB).
    pub max_bytes: usize,
    /// Largest number of pixels (width × height) accepted (default 40 MP).
    pub max_pixels: u64,
    /// Largest width or height accepted, in pixels (default 16,384).
    pub max_side: u32,
    /// Upper bound on what the decoder may allocate at any one time, in bytes (default 512 MiB:
    /// a 40 MP 16-bit RGBA image needs 320 MB).
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_bytes: 25 * 1000 * 1000,
            max_pixels: 40_000_000,
            max_side: 16_384,
            max_alloc: 512 * 1024 * 1024,
        }
    }
}

/// Why an image or a frame could not be turned into RGB pixels.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the image is empty (0 bytes)")]
    Empty,
    #[error("unsupported image format ({detected}); JPEG, PNG and WebP are accepted")]
    UnsupportedFormat {
        /// What the content looked like, e.g. `Gif` or `unknown`.
        detected: String,
    },
    #[error("the image is {bytes} bytes, more than the limit of {max} bytes")]
    TooLarge { bytes: usize, max: usize },
    #[error("the image is {width}×{height}, a side is longer than the limit of {max_side} pixels")]
    SideTooLong {
        width: u32,
        height: u32,
        max_side: u32,
    },
    #[error("the image is {width}×{height} = {pixels} pixels, more than the limit of {max}")]
    TooManyPixels {
        width: u32,
        height: u32,
        pixels: u64,
        max: u64,
    },
    #[error("the image has a zero dimension ({width}×{height})")]
    ZeroSize { width: u32, height: u32 },
    #[error("decoding would need more memory than the limit allows: {reason}")]
    MemoryLimit { reason: String },
    #[error("the {format} data is corrupt or truncated: {reason}")]
    Corrupt { format: String, reason: String },
    /// The file ends before its last structure does (a cut upload): the `image` crate would
    /// pad the missing rows and return a partly grey picture, so it is refused before
    /// decoding.
    #[error("the {format} image is truncated: {reason}")]
    Truncated { format: String, reason: String },
    #[error("invalid camera frame: {reason}")]
    InvalidFrame { reason: String },
    #[error("cannot read the image file: {reason}")]
    Io { reason: String },
}

/// The result of decoding an encoded image.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    /// Upright, 8-bit RGB pixels.
    pub rgb: RgbImage,
    /// The format found by sniffing the content.
    pub format: ImageFormat,
    /// The EXIF orientation value (1..=8) found in the file; 1 when absent.
    pub exif_orientation: u8,
    /// Width and height as stored in the file, before orientation was applied.
    pub stored_size: (u32, u32),
}

/// Decode JPEG / PNG / WebP bytes with the default [`DecodeLimits`].
pub fn decode(bytes: &[u8]) -> Result<RgbImage, DecodeError> {
    decode_with_limits(bytes, &DecodeLimits::default()).map(|d| d.rgb)
}

/// Decode JPEG / PNG / WebP bytes to upright RGB, checking `limits` before decoding pixels.
pub fn decode_with_limits(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<DecodedImage, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(DecodeError::TooLarge {
            bytes: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let format = sniff_format(bytes)?;
    let fmt_name = format!("{format:?}");

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    // Dimensions are checked by us below with a typed error; the allocation bound is the
    // decoder's own safety net (metadata chunks, intermediate buffers).
    image_limits.max_image_width = None;
    image_limits.max_image_height = None;
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);

    // Parses the header only: no pixel data is touched yet.
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| map_image_error(e, &fmt_name))?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    let total = decoder.total_bytes();
    if total > limits.max_alloc {
        return Err(DecodeError::MemoryLimit {
            reason: format!("{total} bytes of pixels, limit {} bytes", limits.max_alloc),
        });
    }
    check_complete(bytes, format).map_err(|reason| DecodeError::Truncated {
        format: fmt_name.clone(),
        reason,
    })?;
    // A broken EXIF block must not make an otherwise good photo unreadable.
    let orientation = match decoder.orientation() {
        Ok(o) => o,
        Err(e) => {
            tracing::debug!(error = %e, "unreadable EXIF orientation, assuming upright");
            image::metadata::Orientation::NoTransforms
        }
    };
    let mut dynamic =
        DynamicImage::from_decoder(decoder).map_err(|e| map_image_error(e, &fmt_name))?;
    dynamic.apply_orientation(orientation);
    let rgb = to_rgb8(dynamic);
    tracing::trace!(
        format = %fmt_name,
        width = rgb.width(),
        height = rgb.height(),
        orientation = orientation_to_exif(orientation),
        "decoded image"
    );
    Ok(DecodedImage {
        rgb,
        format,
        exif_orientation: orientation_to_exif(orientation),
        stored_size: (width, height),
    })
}

/// Read and decode an image file. The extension is ignored (the content is sniffed), and the
/// file size is checked against `limits.max_bytes` before the file is read.
pub fn decode_file(
    path: &std::path::Path,
    limits: &DecodeLimits,
) -> Result<DecodedImage, DecodeError> {
    let io = |e: std::io::Error| DecodeError::Io {
        reason: format!("{}: {e}", path.display()),
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > limits.max_bytes as u64 {
        return Err(DecodeError::TooLarge {
            bytes: usize::try_from(len).unwrap_or(usize::MAX),
            max: limits.max_bytes,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    decode_with_limits(&bytes, limits)
}

/// Read and decode an image file with the default [`DecodeLimits`]: upright RGB pixels.
pub fn open(path: &std::path::Path) -> Result<RgbImage, DecodeError> {
    decode_file(path, &DecodeLimits::default()).map(|d| d.rgb)
}

/// Read only the header: the sniffed format and the stored (not orientation-corrected)
/// dimensions. Useful to reject an upload before queueing it for decoding.
pub fn probe(bytes: &[u8], limits: &DecodeLimits) -> Result<(ImageFormat, u32, u32), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(DecodeError::TooLarge {
            bytes: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let format = sniff_format(bytes)?;
    let fmt_name = format!("{format:?}");
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = None;
    image_limits.max_image_height = None;
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let decoder = reader
        .into_decoder()
        .map_err(|e| map_image_error(e, &fmt_name))?;
    let (w, h) = decoder.dimensions();
    Ok((format, w, h))
}

/// Identify the format from the first bytes. Only JPEG, PNG and WebP are accepted.
pub fn sniff_format(bytes: &[u8]) -> Result<ImageFormat, DecodeError> {
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => Ok(f),
        Ok(other) => Err(DecodeError::UnsupportedFormat {
            detected: format!("{other:?}"),
        }),
        Err(_) => Err(DecodeError::UnsupportedFormat {
            detected: "unknown".to_owned(),
        }),
    }
}

/// Whether the encoded file is structurally complete: JPEG, an EOI marker after the last scan
/// (segments walked by their lengths, scans by their markers); PNG, every chunk whole up to
/// IEND; WebP, the RIFF size announced in the header is all there. One pass, no decoding.
fn check_complete(bytes: &[u8], format: ImageFormat) -> Result<(), String> {
    match format {
        ImageFormat::Jpeg => jpeg_complete(bytes),
        ImageFormat::Png => png_complete(bytes),
        ImageFormat::WebP => webp_complete(bytes),
        _ => Ok(()),
    }
}

fn jpeg_complete(b: &[u8]) -> Result<(), String> {
    let mut i = 2; // after SOI
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while b.get(i) == Some(&0xFF) && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        match (b.get(i), b.get(i + 1)) {
            (Some(0xFF), Some(&marker)) => {
                i += 2;
                match marker {
                    0xD9 => return Ok(()), // EOI
                    0x01 | 0xD0..=0xD7 => continue,
                    _ => {
                        let len = match (b.get(i), b.get(i + 1)) {
                            (Some(&hi), Some(&lo)) => usize::from(u16::from_be_bytes([hi, lo])),
                            _ => return Err(format!("ends inside the 0x{marker:02X} segment")),
                        };
                        if len < 2 || i + len > b.len() {
                            return Err(format!("ends inside the 0x{marker:02X} segment"));
                        }
                        i += len;
                        if marker == 0xDA {
                            // Entropy-coded data runs to the next marker that is neither a
                            // stuffed 0xFF00 nor a restart marker.
                            loop {
                                let Some(p) = b[i..].iter().position(|&x| x == 0xFF) else {
                                    return Err("ends inside a scan (no EOI marker)".into());
                                };
                                i += p;
                                match b.get(i + 1) {
                                    None => return Err("ends inside a scan (no EOI marker)".into()),
                                    Some(0x00 | 0xD0..=0xD7 | 0xFF) => i += 1,
                                    Some(_) => break,
                                }
                            }
                        }
                    }
                }
            }
            (None, _) | (Some(_), None) => return Err("no EOI marker".into()),
            (Some(_), Some(_)) => return Err(format!("no marker at byte {i}")),
        }
    }
}

fn png_complete(b: &[u8]) -> Result<(), String> {
    let mut i = 8; // after the signature
    while i + 8 <= b.len() {
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let kind = &b[i + 4..i + 8];
        let end = i
            .checked_add(12)
            .and_then(|v| v.checked_add(len))
            .ok_or("chunk length overflows")?;
        if end > b.len() {
            return Err(format!(
                "ends inside the {} chunk",
                String::from_utf8_lossy(kind)
            ));
        }
        if kind == b"IEND" {
            return Ok(());
        }
        i = end;
    }
    Err("no IEND chunk".into())
}

fn webp_complete(b: &[u8]) -> Result<(), String> {
    let Some(size) = b.get(4..8) else {
        return Err("no RIFF size".into());
    };
    let announced = u64::from(u32::from_le_bytes([size[0], size[1], size[2], size[3]])) + 8;
    if (b.len() as u64) < announced {
        return Err(format!("{} of {announced} bytes", b.len()));
    }
    Ok(())
}

fn check_dimensions(width: u32, height: u32, limits: &DecodeLimits) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        return Err(DecodeError::ZeroSize { width, height });
    }
    if width > limits.max_side || height > limits.max_side {
        return Err(DecodeError::SideTooLong {
            width,
            height,
            max_side: limits.max_side,
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            pixels,
            max: limits.max_pixels,
        });
    }
    Ok(())
}

fn map_image_error(e: ImageError, format: &str) -> DecodeError {
    match e {
        ImageError::Limits(l) => DecodeError::MemoryLimit {
            reason: l.to_string(),
        },
        ImageError::Unsupported(u) => DecodeError::UnsupportedFormat {
            detected: format!("{format} ({u})"),
        },
        other => DecodeError::Corrupt {
            format: format.to_owned(),
            reason: other.to_string(),
        },
    }
}

fn to_rgb8(img: DynamicImage) -> RgbImage {
    match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        // Alpha is dropped (colour values kept), as OpenCV's imread does; grey is replicated;
        // 16-bit channels are scaled to 8 bits.
        other => other.to_rgb8(),
    }
}

fn orientation_to_exif(o: image::metadata::Orientation) -> u8 {
    use image::metadata::Orientation as O;
    match o {
        O::NoTransforms => 1,
        O::FlipHorizontal => 2,
        O::Rotate180 => 3,
        O::FlipVertical => 4,
        O::Rotate90FlipH => 5,
        O::Rotate90 => 6,
        O::Rotate270FlipH => 7,
        O::Rotate270 => 8,
    }
}

// ---------------------------------------------------------------------------------------------
// Raw camera frames
// ---------------------------------------------------------------------------------------------

/// Pixel layout of a raw camera frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PixelFormat {
    /// 4 bytes per pixel, R G B A.
    Rgba8,
    /// 4 bytes per pixel, B G R A (iOS `kCVPixelFormatType_32BGRA`).
    Bgra8,
    /// 3 bytes per pixel, R G B.
    Rgb8,
    /// Android NV21: a full-resolution Y plane (`height` rows of `stride` bytes) followed by an
    /// interleaved V/U plane at half resolution (`height / 2` rows of `stride` bytes, V first).
    /// Width and height must be even. Converted with full-range BT.601 (JFIF), as Android
    /// camera frames are.
    Nv21,
}

impl PixelFormat {
    fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => 4,
            PixelFormat::Rgb8 => 3,
            PixelFormat::Nv21 => 1,
        }
    }
}

/// Clockwise rotation, in degrees, that turns the stored frame upright (Android's
/// `ImageInfo.rotationDegrees` convention).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Rotation {
    #[default]
    R0,
    R90,
    R180,
    R270,
}

impl Rotation {
    /// From degrees; only 0, 90, 180 and 270 are valid.
    pub fn from_degrees(deg: u32) -> Result<Self, DecodeError> {
        match deg {
            0 => Ok(Rotation::R0),
            90 => Ok(Rotation::R90),
            180 => Ok(Rotation::R180),
            270 => Ok(Rotation::R270),
            other => Err(DecodeError::InvalidFrame {
                reason: format!("rotation must be 0, 90, 180 or 270 degrees, got {other}"),
            }),
        }
    }

    pub fn degrees(self) -> u32 {
        match self {
            Rotation::R0 => 0,
            Rotation::R90 => 90,
            Rotation::R180 => 180,
            Rotation::R270 => 270,
        }
    }
}

/// A raw camera frame as the phone shells pass it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Stored width in pixels (before rotation).
    pub width: u32,
    /// Stored height in pixels (before rotation).
    pub height: u32,
    /// Bytes per row (of the Y plane for NV21); at least `width × bytes per pixel`.
    pub stride: u32,
    pub format: PixelFormat,
    /// Clockwise rotation that makes the frame upright.
    pub rotation: Rotation,
    pub bytes: &'a [u8],
}

impl Frame<'_> {
    /// Check sizes, stride and buffer length without converting anything.
    pub fn validate(&self, limits: &DecodeLimits) -> Result<(), DecodeError> {
        let invalid = |reason: String| Err(DecodeError::InvalidFrame { reason });
        if self.width == 0 || self.height == 0 {
            return Err(DecodeError::ZeroSize {
                width: self.width,
                height: self.height,
            });
        }
        check_dimensions(self.width, self.height, limits)?;
        let w = self.width as usize;
        let h = self.height as usize;
        let stride = self.stride as usize;
        let row = match w.checked_mul(self.format.bytes_per_pixel()) {
            Some(r) => r,
            None => return invalid("row size overflows".into()),
        };
        if stride < row {
            return invalid(format!(
                "stride {stride} is smaller than a row of {w} pixels ({row} bytes)"
            ));
        }
        let needed = match self.format {
            PixelFormat::Nv21 => {
                if !w.is_multiple_of(2) || !h.is_multiple_of(2) {
                    return invalid(format!("NV21 needs an even width and height, got {w}×{h}"));
                }
                // Y plane (h rows) then VU plane (h/2 rows), both with `stride` bytes per row;
                // the very last row need not be padded.
                (h + h / 2 - 1)
                    .checked_mul(stride)
                    .and_then(|v| v.checked_add(row))
            }
            _ => (h - 1).checked_mul(stride).and_then(|v| v.checked_add(row)),
        };
        let Some(needed) = needed else {
            return invalid("frame size overflows".into());
        };
        if self.bytes.len() < needed {
            return invalid(format!(
                "buffer has {} bytes, a {w}×{h} {:?} frame with stride {stride} needs {needed}",
                self.bytes.len(),
                self.format
            ));
        }
        Ok(())
    }

    /// Convert to upright RGB with the default limits.
    pub fn to_rgb(&self) -> Result<RgbImage, DecodeError> {
        frame_to_rgb(self, &DecodeLimits::default())
    }
}

/// Convert a raw camera frame to upright RGB after validating it.
pub fn frame_to_rgb(frame: &Frame<'_>, limits: &DecodeLimits) -> Result<RgbImage, DecodeError> {
    frame.validate(limits)?;
    let w = frame.width as usize;
    let h = frame.height as usize;
    let stride = frame.stride as usize;
    let src = frame.bytes;
    let mut out = vec![0u8; w * h * 3];
    match frame.format {
        PixelFormat::Rgb8 => {
            for y in 0..h {
                let s = &src[y * stride..y * stride + w * 3];
                out[y * w * 3..(y + 1) * w * 3].copy_from_slice(s);
            }
        }
        PixelFormat::Rgba8 | PixelFormat::Bgra8 => {
            let bgr = frame.format == PixelFormat::Bgra8;
            for y in 0..h {
                let s = &src[y * stride..y * stride + w * 4];
                let d = &mut out[y * w * 3..(y + 1) * w * 3];
                for (px, o) in s.chunks_exact(4).zip(d.chunks_exact_mut(3)) {
                    if bgr {
                        o[0] = px[2];
                        o[1] = px[1];
                        o[2] = px[0];
                    } else {
                        o.copy_from_slice(&px[..3]);
                    }
                }
            }
        }
        PixelFormat::Nv21 => nv21_to_rgb(src, w, h, stride, &mut out),
    }
    let img = RgbImage::from_raw(frame.width, frame.height, out).ok_or_else(|| {
        DecodeError::InvalidFrame {
            reason: "internal buffer size mismatch".into(),
        }
    })?;
    Ok(rotate(img, frame.rotation))
}

/// Full-range BT.601 YCrCb → RGB in 16.16 fixed point.
fn nv21_to_rgb(src: &[u8], w: usize, h: usize, stride: usize, out: &mut [u8]) {
    const ONE: i32 = 1 << 16;
    const RV: i32 = (1.402 * ONE as f64) as i32;
    const GU: i32 = (0.344_136 * ONE as f64) as i32;
    const GV: i32 = (0.714_136 * ONE as f64) as i32;
    const BU: i32 = (1.772 * ONE as f64) as i32;
    let clamp = |v: i32| -> u8 { (v >> 16).clamp(0, 255) as u8 };
    let uv_base = h * stride;
    for y in 0..h {
        let yrow = &src[y * stride..y * stride + w];
        let uv_off = uv_base + (y / 2) * stride;
        let uvrow = &src[uv_off..uv_off + w];
        let d = &mut out[y * w * 3..(y + 1) * w * 3];
        // `w` is even (validated): two luma samples share one V/U pair.
        for ((yy, vu), o) in yrow
            .chunks_exact(2)
            .zip(uvrow.chunks_exact(2))
            .zip(d.chunks_exact_mut(6))
        {
            let v = i32::from(vu[0]) - 128;
            let u = i32::from(vu[1]) - 128;
            let (r, g, b) = (RV * v, GU * u + GV * v, BU * u);
            let y0 = i32::from(yy[0]) * ONE + ONE / 2;
            let y1 = i32::from(yy[1]) * ONE + ONE / 2;
            o[0] = clamp(y0 + r);
            o[1] = clamp(y0 - g);
            o[2] = clamp(y0 + b);
            o[3] = clamp(y1 + r);
            o[4] = clamp(y1 - g);
            o[5] = clamp(y1 + b);
        }
    }
}

/// Rotate clockwise on the raw buffer (row-by-row reads, no per-pixel bounds juggling).
fn rotate(img: RgbImage, rotation: Rotation) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    let mut dst = vec![0u8; src.len()];
    let (ow, oh) = match rotation {
        Rotation::R0 => return img,
        Rotation::R180 => {
            for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(3).rev()) {
                d.copy_from_slice(s);
            }
            (w, h)
        }
        Rotation::R90 => {
            // (x, y) → (h - 1 - y, x) in an h-wide image.
            for (y, row) in src.chunks_exact(w * 3).enumerate() {
                let dx = h - 1 - y;
                for (x, px) in row.chunks_exact(3).enumerate() {
                    let o = (x * h + dx) * 3;
                    dst[o..o + 3].copy_from_slice(px);
                }
            }
            (h, w)
        }
        Rotation::R270 => {
            // (x, y) → (y, w - 1 - x) in an h-wide image.
            for (y, row) in src.chunks_exact(w * 3).enumerate() {
                for (x, px) in row.chunks_exact(3).enumerate() {
                    let o = ((w - 1 - x) * h + y) * 3;
                    dst[o..o + 3].copy_from_slice(px);
                }
            }
            (h, w)
        }
    };
    // Sizes come from a valid image, so this cannot fail; keep the unrotated image if it did.
    RgbImage::from_raw(ow as u32, oh as u32, dst).unwrap_or(img)
}

// ---------------------------------------------------------------------------------------------
// Evidence JPEG
// ---------------------------------------------------------------------------------------------

/// Why an evidence image could not be encoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EncodeError {
    #[error("invalid encoding parameters: {0}")]
    InvalidParameters(String),
    #[error("JPEG encoding failed: {0}")]
    Encoder(String),
}

/// Encode `img` as a JPEG whose longer side is at most `max_side` (downscaled with a triangle
/// averaging, aspect ratio kept; never upscaled), at `quality` 1..=100. Used for the evidence
/// image stored with a punch.
pub fn encode_jpeg(img: &RgbImage, max_side: u32, quality: u8) -> Result<Vec<u8>, EncodeError> {
    if max_side == 0 {
        return Err(EncodeError::InvalidParameters(
            "max_side must be > 0".into(),
        ));
    }
    if !(1..=100).contains(&quality) {
        return Err(EncodeError::InvalidParameters(format!(
            "quality must be 1..=100, got {quality}"
        )));
    }
    if img.width() == 0 || img.height() == 0 {
        return Err(EncodeError::InvalidParameters("image is empty".into()));
    }
    let (w, h) = img.dimensions();
    let longer = w.max(h);
    let scaled;
    let src = if longer > max_side {
        let scale = f64::from(max_side) / f64::from(longer);
        let nw = ((f64::from(w) * scale).round() as u32).clamp(1, max_side);
        let nh = ((f64::from(h) * scale).round() as u32).clamp(1, max_side);
        // Area averaging: fast and alias-free for downscaling.
        scaled = image::imageops::thumbnail(img, nw, nh);
        &scaled
    } else {
        img
    };
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, quality);
    enc.encode_image(src)
        .map_err(|e| EncodeError::Encoder(e.to_string()))?;
    Ok(out)
}

/// Why an evidence JPEG of a frame could not be made.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EvidenceError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Convert a camera frame to upright RGB and encode it as a small evidence JPEG.
pub fn encode_frame_jpeg(
    frame: &Frame<'_>,
    max_side: u32,
    quality: u8,
) -> Result<Vec<u8>, EvidenceError> {
    let rgb = frame.to_rgb()?;
    Ok(encode_jpeg(&rgb, max_side, quality)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, stride: u32, format: PixelFormat, bytes: &[u8]) -> Frame<'_> {
        Frame {
            width: w,
            height: h,
            stride,
            format,
            rotation: Rotation::R0,
            bytes,
        }
    }

    #[test]
    fn empty_bytes_are_a_typed_error() {
        assert_eq!(decode(&[]).unwrap_err(), DecodeError::Empty);
    }

    #[test]
    fn unknown_content_is_unsupported() {
        let err = decode(b"hello, this is not an image").unwrap_err();
        assert!(
            matches!(err, DecodeError::UnsupportedFormat { .. }),
            "{err:?}"
        );
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        let err = decode(gif).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnsupportedFormat {
                detected: "Gif".into()
            }
        );
    }

    #[test]
    fn byte_limit_is_checked_first() {
        let limits = DecodeLimits {
            max_bytes: 10,
            ..DecodeLimits::default()
        };
        let err = decode_with_limits(&[0u8; 11], &limits).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge { bytes: 11, max: 10 });
    }

    #[test]
    fn bgra_and_rgba_rows_with_padding() {
        // 2×2, stride 12 (4 bytes of padding per row).
        let mut b = vec![0u8; 24];
        let px = [
            [10, 20, 30, 255],
            [40, 50, 60, 255],
            [70, 80, 90, 255],
            [1, 2, 3, 255],
        ];
        for (i, p) in px.iter().enumerate() {
            let off = (i / 2) * 12 + (i % 2) * 4;
            b[off..off + 4].copy_from_slice(p);
        }
        let rgba = frame(2, 2, 12, PixelFormat::Rgba8, &b).to_rgb().unwrap();
        assert_eq!(rgba.get_pixel(1, 0).0, [40, 50, 60]);
        assert_eq!(rgba.get_pixel(1, 1).0, [1, 2, 3]);
        let bgra = frame(2, 2, 12, PixelFormat::Bgra8, &b).to_rgb().unwrap();
        assert_eq!(bgra.get_pixel(1, 0).0, [60, 50, 40]);
    }

    #[test]
    fn rotation_moves_pixels_clockwise() {
        // 2×1 RGB: red then green. Rotated 90° clockwise it is 1×2: red on top.
        let b = [255, 0, 0, 0, 255, 0];
        let mut f = frame(2, 1, 6, PixelFormat::Rgb8, &b);
        f.rotation = Rotation::R90;
        let img = f.to_rgb().unwrap();
        assert_eq!(img.dimensions(), (1, 2));
        assert_eq!(img.get_pixel(0, 0).0, [255, 0, 0]);
        f.rotation = Rotation::R270;
        let img = f.to_rgb().unwrap();
        assert_eq!(img.get_pixel(0, 0).0, [0, 255, 0]);
        f.rotation = Rotation::R180;
        let img = f.to_rgb().unwrap();
        assert_eq!(img.dimensions(), (2, 1));
        assert_eq!(img.get_pixel(0, 0).0, [0, 255, 0]);
    }

    #[test]
    fn nv21_grey_and_colour() {
        // 2×2 with Y=128 and neutral chroma is mid grey.
        let b = [128, 128, 128, 128, 128, 128];
        let img = frame(2, 2, 2, PixelFormat::Nv21, &b).to_rgb().unwrap();
        for p in img.pixels() {
            assert_eq!(p.0, [128, 128, 128]);
        }
        // Pure red in full-range BT.601: Y=76, Cb(U)=85, Cr(V)=255. NV21 stores V then U.
        let b = [76, 76, 76, 76, 255, 85];
        let img = frame(2, 2, 2, PixelFormat::Nv21, &b).to_rgb().unwrap();
        let p = img.get_pixel(0, 0).0;
        assert!(p[0] >= 250 && p[1] <= 5 && p[2] <= 5, "{p:?}");
    }

    #[test]
    fn rotations_match_the_image_crate() {
        let img = RgbImage::from_fn(5, 3, |x, y| {
            image::Rgb([x as u8, y as u8, (x * 10 + y) as u8])
        });
        assert_eq!(
            rotate(img.clone(), Rotation::R90),
            image::imageops::rotate90(&img)
        );
        assert_eq!(
            rotate(img.clone(), Rotation::R180),
            image::imageops::rotate180(&img)
        );
        assert_eq!(
            rotate(img.clone(), Rotation::R270),
            image::imageops::rotate270(&img)
        );
        assert_eq!(rotate(img.clone(), Rotation::R0), img);
    }

    #[test]
    fn nv21_chroma_pairs_and_stride() {
        // 4×2, stride 6: Y = 128 everywhere; the left 2×2 block has V = 255 (red), the right
        // one U = 255 (blue). Padding bytes are 0 and must be ignored.
        let b = [
            128, 128, 128, 128, 0, 0, // Y row 0
            128, 128, 128, 128, 0, 0, // Y row 1
            255, 128, 128, 255, // VU row (last row unpadded)
        ];
        let img = frame(4, 2, 6, PixelFormat::Nv21, &b).to_rgb().unwrap();
        for y in 0..2 {
            let left = img.get_pixel(1, y).0;
            let right = img.get_pixel(2, y).0;
            assert!(left[0] == 255 && left[2] == 128, "{left:?}");
            assert!(right[2] == 255 && right[0] == 128, "{right:?}");
        }
        assert_eq!(img.get_pixel(0, 0), img.get_pixel(1, 1));
    }

    #[test]
    fn frame_validation_errors() {
        let b = [0u8; 64];
        let lim = DecodeLimits::default();
        assert!(matches!(
            frame(3, 2, 3, PixelFormat::Nv21, &b).validate(&lim),
            Err(DecodeError::InvalidFrame { .. })
        ));
        assert!(matches!(
            frame(4, 4, 3, PixelFormat::Rgb8, &b).validate(&lim),
            Err(DecodeError::InvalidFrame { .. })
        ));
        assert!(matches!(
            frame(4, 4, 16, PixelFormat::Rgba8, &b[..63]).validate(&lim),
            Err(DecodeError::InvalidFrame { .. })
        ));
        assert!(
            frame(4, 4, 16, PixelFormat::Rgba8, &b)
                .validate(&lim)
                .is_ok()
        );
        assert!(matches!(
            frame(0, 4, 16, PixelFormat::Rgba8, &b).validate(&lim),
            Err(DecodeError::ZeroSize { .. })
        ));
        assert!(matches!(
            frame(u32::MAX, u32::MAX, u32::MAX, PixelFormat::Rgba8, &b).validate(&lim),
            Err(DecodeError::SideTooLong { .. })
        ));
        assert!(Rotation::from_degrees(45).is_err());
        assert_eq!(Rotation::from_degrees(270).unwrap().degrees(), 270);
    }

    #[test]
    fn evidence_jpeg_is_bounded_and_decodes() {
        let img = RgbImage::from_fn(640, 480, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let jpeg = encode_jpeg(&img, 320, 80).unwrap();
        let back = decode(&jpeg).unwrap();
        assert_eq!(back.dimensions(), (320, 240));
        let small = encode_jpeg(&img, 1000, 80).unwrap();
        assert_eq!(decode(&small).unwrap().dimensions(), (640, 480));
        assert!(encode_jpeg(&img, 0, 80).is_err());
        assert!(encode_jpeg(&img, 100, 0).is_err());
        assert!(encode_jpeg(&img, 100, 101).is_err());
    }
}
