//! The server's use of the face engine (`core/face`): photo analysis for enrolment and
//! re-verification. Descriptor encryption lives in [`crate::descriptor_cipher`], the photo
//! store in [`crate::photo_store`].
//!
//! The engine is loaded once at startup and shared (`Arc`); every inference runs in
//! `spawn_blocking`. Without models the server still starts and face endpoints answer 503
//! `face_engine_unavailable`.

use std::sync::Arc;

use faceid_face::decode::{DecodeError, DecodeLimits};
use faceid_face::detect::DetectorConfig;
use faceid_face::quality::{self, CaptureMode, QualityReason};
use faceid_face::{Descriptor, Detection, Engine};
use faceid_protocol::problem::FieldError;
use image::RgbImage;

use crate::error::AppError;

/// Largest photo part accepted, in bytes (the decode limit of the engine is 25 MB; one
/// enrolment photo or evidence frame never needs more than this).
pub const MAX_PHOTO_BYTES: usize = 6 * 1024 * 1024;
/// Largest body of the photo endpoints (enrolment, check-in, kiosk): larger uploads are 413
/// `payload_too_large` before they are read.
pub const MAX_PHOTO_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Most photos in one enrolment.
pub const MAX_ENROL_PHOTOS: usize = 5;

/// Decode limits of uploaded photos: checked on the header, before any pixel is decoded.
pub fn decode_limits() -> DecodeLimits {
    DecodeLimits {
        max_bytes: MAX_PHOTO_BYTES,
        max_pixels: 40_000_000,
        max_side: 10_000,
        ..DecodeLimits::default()
    }
}

/// The face engine, when its models could be loaded.
#[derive(Clone, Default)]
pub struct FaceEngine(Option<Arc<Engine>>);

impl FaceEngine {
    pub fn new(engine: Option<Arc<Engine>>) -> Self {
        Self(engine)
    }

    /// Loads the models from `dir` (or the default location). `None` (with a warning) when
    /// they are missing or broken.
    pub fn load(dir: Option<&Path>) -> Self {
        let dir: Option<PathBuf> = dir
            .map(Path::to_owned)
            .or_else(faceid_face::model::default_model_dir);
        let Some(dir) = dir else {
            tracing::warn!("no face model directory: face endpoints will answer 503");
            return Self(None);
        };
        match Engine::load(&faceid_face::EngineConfig::new(&dir)) {
            Ok(e) => Self(Some(Arc::new(e))),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "face engine not loaded: face endpoints will answer 503");
                Self(None)
            }
        }
    }

    pub fn get(&self) -> Result<Arc<Engine>, AppError> {
        self.0.clone().ok_or_else(|| AppError::ServiceUnavailable {
            code: "face_engine_unavailable",
            detail: "the face models are not installed on this server (models/fetch.sh)".into(),
        })
    }
}

/// One part of a multipart body.
pub struct Part {
    pub name: String,
    pub bytes: axum::body::Bytes,
}

/// Reads every part of a multipart body (at most `max_parts`).
pub async fn read_parts(
    mp: &mut axum::extract::Multipart,
    max_parts: usize,
) -> Result<Vec<Part>, AppError> {
    let mut parts = Vec::new();
    loop {
        let field = mp.next_field().await.map_err(multipart_error)?;
        let Some(field) = field else { break };
        if parts.len() == max_parts {
            return Err(AppError::bad_request(
                "too_many_parts",
                format!("at most {max_parts} parts are accepted"),
            ));
        }
        let name = field.name().unwrap_or("").to_owned();
        let bytes = field.bytes().await.map_err(multipart_error)?;
        parts.push(Part { name, bytes });
    }
    Ok(parts)
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::bad_request("invalid_multipart", e.body_text())
    }
}

/// Runs engine work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(AppError::internal)?
}

/// The stable code of a decode failure.
pub fn decode_code(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::Empty | DecodeError::UnsupportedFormat { .. } => "not_an_image",
        DecodeError::TooLarge { .. } => "image_too_large",
        DecodeError::SideTooLong { .. }
        | DecodeError::TooManyPixels { .. }
        | DecodeError::MemoryLimit { .. } => "image_dimensions_too_large",
        DecodeError::ZeroSize { .. } | DecodeError::Corrupt { .. } => "image_corrupt",
        DecodeError::InvalidFrame { .. } | DecodeError::Io { .. } => "image_corrupt",
    }
}

/// Why one photo cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRefusal {
    pub code: &'static str,
    pub message: String,
}

impl PhotoRefusal {
    pub fn field(&self, field: String) -> FieldError {
        FieldError {
            field,
            code: self.code.to_owned(),
            message: self.message.clone(),
        }
    }
}

/// One photo run through the engine.
#[derive(Debug, Clone)]
pub struct Analysed {
    pub image: RgbImage,
    pub face: Detection,
    pub faces_found: usize,
    /// Quality problems other than "no face" / "several faces".
    pub quality_problems: Vec<QualityReason>,
    pub descriptor: Descriptor,
    pub liveness: Option<f32>,
    pub live: bool,
}

/// Decodes and analyses one photo: exactly one face, quality, passive liveness, descriptor.
/// `Err` for what makes the photo unusable (not an image, no face, several faces).
pub fn analyse(
    engine: &Engine,
    bytes: &[u8],
    detector: &DetectorConfig,
) -> Result<Analysed, PhotoRefusal> {
    let image = faceid_face::decode::decode_with_limits(bytes, &decode_limits())
        .map_err(|e| PhotoRefusal {
            code: decode_code(&e),
            message: e.to_string(),
        })?
        .rgb;
    let internal = |e: faceid_face::EngineError| PhotoRefusal {
        code: "face_engine_error",
        message: e.to_string(),
    };
    let (dets, _) = engine
        .detect_with_border_retry(&image, detector)
        .map_err(internal)?;
    let verdict = quality::assess(&image, &dets, CaptureMode::CheckIn);
    if let Some(r) = verdict.reasons.iter().find(|r| {
        matches!(
            r,
            QualityReason::NoFace | QualityReason::SeveralFaces { .. }
        )
    }) {
        let message = match r {
            QualityReason::SeveralFaces { count } => format!("{count} faces found, one needed"),
            _ => "no face found".to_owned(),
        };
        return Err(PhotoRefusal {
            code: r.code(),
            message,
        });
    }
    let face = *verdict
        .face
        .and_then(|i| dets.get(i))
        .ok_or_else(|| PhotoRefusal {
            code: "no_face",
            message: "no face found".into(),
        })?;
    let descriptor = engine.embed(&image, &face, None).map_err(internal)?;
    let (liveness, live) = match engine.liveness() {
        Ok(l) => {
            let s = l.check(&image, &face).map_err(|e| PhotoRefusal {
                code: "face_engine_error",
                message: e.to_string(),
            })?;
            (Some(s.score), s.live)
        }
        Err(_) => (None, true),
    };
    Ok(Analysed {
        image,
        face,
        faces_found: dets.len(),
        quality_problems: verdict.reasons,
        descriptor,
        liveness,
        live,
    })
}
