//! The server's use of the face engine (`core/face`): photo analysis for enrolment and
//! re-verification, turns at the engine and the refusal codes of unusable photos. Descriptor
//! encryption is [`crate::descriptor_cipher`]; stored photos are [`crate::photo_store`].
//!
//! The engine is loaded once at startup and shared (`Arc`); every inference runs in
//! `spawn_blocking`. Without models the server still starts and face endpoints answer 503
//! `face_engine_unavailable`.

use faceid_protocol::error_code::ErrorCode;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use faceid_face::decode::DecodeError;
use faceid_face::quality::QualityReason;
use faceid_face::{Engine, MeasureError, MeasureRules, Measurement};
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::FieldError;
use faceid_protocol::reason_code::ReasonCode;

use crate::AppState;
use crate::error::AppError;

/// Largest photo part accepted, in bytes (the decode limit of the engine is 25 MB; one
/// enrolment photo or evidence frame never needs more than this).
pub const MAX_PHOTO_BYTES: usize = faceid_face::measure::MAX_FRAME_BYTES;
/// Largest body of the photo endpoints (enrolment, check-in, kiosk): larger uploads are 413
/// `payload_too_large` before they are read.
pub const MAX_PHOTO_BODY_BYTES: usize = 32 * 1024 * 1024;
pub use faceid_protocol::face::MAX_ENROL_PHOTOS;

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
        Self::load_with(dir, None)
    }

    /// [`FaceEngine::load`] with `embedder` (a model or fusion id; `None`: the engine's
    /// default) as the embedder that enrols, re-verifies and identifies.
    pub fn load_with(dir: Option<&Path>, embedder: Option<&str>) -> Self {
        let dir: Option<PathBuf> = dir
            .map(Path::to_owned)
            .or_else(faceid_face::model::default_model_dir);
        let Some(dir) = dir else {
            tracing::warn!("no face model directory: face endpoints will answer 503");
            return Self(None);
        };
        match Self::try_load_with(&dir, embedder) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "face engine not loaded: face endpoints will answer 503");
                Self(None)
            }
        }
    }

    /// Loads the models from `dir`, each checked against the manifest's size and SHA-256.
    pub fn try_load(dir: &Path) -> Result<Self, faceid_face::EngineError> {
        Self::try_load_with(dir, None)
    }

    /// [`FaceEngine::try_load`] with `embedder` as the default embedder (see
    /// [`FaceEngine::load_with`]).
    pub fn try_load_with(
        dir: &Path,
        embedder: Option<&str>,
    ) -> Result<Self, faceid_face::EngineError> {
        let mut config = faceid_face::EngineConfig::new(dir);
        if let Some(id) = embedder {
            config.default_embedder = id.to_owned();
        }
        let engine = Engine::load(&config)?;
        tracing::info!(
            embedder = %engine.embedder(None)?.model_id(),
            "face engine: embedder of enrolment, check-in and kiosk"
        );
        Ok(Self(Some(Arc::new(engine))))
    }

    pub fn get(&self) -> Result<Arc<Engine>, AppError> {
        self.0.clone().ok_or_else(|| AppError::ServiceUnavailable {
            code: ErrorCode::FaceEngineUnavailable,
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
                ErrorCode::TooManyParts,
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
        AppError::bad_request(ErrorCode::InvalidMultipart, e.body_text())
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

/// Frames announcing more pixels than this (in their header) are decoded only in one of the
/// few large-decode slots (`large_decode_slots`); a phone's check-in frames are far smaller.
pub const LARGE_FRAME_PIXELS: u64 = 4_000_000;

/// Runs the measurement of `frames` off the async threads. When one of them announces more
/// than [`LARGE_FRAME_PIXELS`], it first waits for a large-decode slot, so parallel uploads of
/// big photos cannot add up their decode buffers (six parallel enrolments of 40 MP PNGs took
/// the server to 5.6 GB) while ordinary check-ins pass without waiting. Then it waits its
/// turn at the engine ([`crate::face_queue`]), or is refused with 503 `server_busy` when that
/// queue is too long.
///
/// The slot and the turn move into the blocking task: when the client goes away, the request's
/// future is dropped but the measurement runs on, and it keeps its turn until it ends, so no
/// more than `face_workers` measurements ever run at once.
pub async fn measure_blocking<T: Send + 'static>(
    state: &AppState,
    frames: &[&[u8]],
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let slot = large_decode_slot(state, frames).await?;
    let turn = state.face_queue.turn().await?;
    let queue = state.face_queue.clone();
    blocking(move || {
        let result = f();
        queue.done(turn);
        drop(slot);
        result
    })
    .await
}

/// One of the few large-decode slots when any of `frames` announces more than
/// [`LARGE_FRAME_PIXELS`]; `None` (no waiting) otherwise. Held while decoding.
pub async fn large_decode_slot(
    state: &AppState,
    frames: &[&[u8]],
) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, AppError> {
    if frames
        .iter()
        .any(|b| announced_pixels(b) > LARGE_FRAME_PIXELS)
    {
        let slot = state
            .large_decodes
            .clone()
            .acquire_owned()
            .await
            .map_err(AppError::internal)?;
        Ok(Some(slot))
    } else {
        Ok(None)
    }
}

/// Pixels a frame's header announces; 0 when the header is refused (the measurement refuses
/// it before decoding anything).
fn announced_pixels(bytes: &[u8]) -> u64 {
    faceid_face::decode::probe(bytes, &MeasureRules::enrol().decode)
        .map_or(0, |(_, w, h)| u64::from(w) * u64::from(h))
}

/// The stable code of a decode failure.
pub fn decode_code(e: &DecodeError) -> ErrorCode {
    match e {
        DecodeError::Empty | DecodeError::UnsupportedFormat { .. } => ErrorCode::NotAnImage,
        DecodeError::TooLarge { .. } => ErrorCode::ImageTooLarge,
        DecodeError::SideTooLong { .. }
        | DecodeError::TooManyPixels { .. }
        | DecodeError::MemoryLimit { .. } => ErrorCode::ImageDimensionsTooLarge,
        DecodeError::ZeroSize { .. } | DecodeError::Corrupt { .. } => ErrorCode::ImageCorrupt,
        DecodeError::Truncated { .. } => ErrorCode::ImageTruncated,
        DecodeError::InvalidFrame { .. } | DecodeError::Io { .. } => ErrorCode::ImageCorrupt,
    }
}

/// The field code of a frame's refusal: the problem code's own (every refusal code of a frame
/// is a field code of the same text, a protocol test checks).
pub fn frame_field_code(code: ErrorCode) -> FieldCode {
    FieldCode::of_problem(code).unwrap_or(FieldCode::Invalid)
}

/// Why one photo cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRefusal {
    pub code: FieldCode,
    pub message: String,
}

impl PhotoRefusal {
    pub fn field(&self, field: String) -> FieldError {
        FieldError::new(field, self.code, self.message.clone())
    }
}

/// The codes of an image-quality reason: the verdict reason of a punch's best frame
/// (`quality_` and the engine's code) and the refusal of an enrolment photo (the engine's
/// code). A match, not text built at run time: a quality reason the engine adds does not
/// compile until it has both.
pub fn quality_codes(q: &QualityReason) -> (ReasonCode, FieldCode) {
    use {FieldCode as F, ReasonCode as R};
    match q {
        QualityReason::NoFace => (R::QualityNoFace, F::NoFace),
        QualityReason::SeveralFaces { .. } => (R::QualitySeveralFaces, F::SeveralFaces),
        QualityReason::FaceTooSmall { .. } => (R::QualityFaceTooSmall, F::FaceTooSmall),
        QualityReason::OffCentre { .. } => (R::QualityOffCentre, F::OffCentre),
        QualityReason::CutOff => (R::QualityCutOff, F::CutOff),
        QualityReason::YawTooLarge { .. } => (R::QualityYawTooLarge, F::YawTooLarge),
        QualityReason::PitchTooLarge { .. } => (R::QualityPitchTooLarge, F::PitchTooLarge),
        QualityReason::BadLandmarks => (R::QualityBadLandmarks, F::BadLandmarks),
        QualityReason::TooBlurry { .. } => (R::QualityTooBlurry, F::TooBlurry),
        QualityReason::TooDark { .. } => (R::QualityTooDark, F::TooDark),
        QualityReason::TooBright { .. } => (R::QualityTooBright, F::TooBright),
    }
}

/// Measures one photo with the shared check-in measurement ([`faceid_face::measure`], the
/// function and rules the phone runs on the same upload): exactly one face, quality, passive
/// liveness, descriptor. `Err` for what makes the photo unusable (not an image, no face,
/// several faces).
pub fn analyse(
    engine: &Engine,
    bytes: &[u8],
    rules: &MeasureRules,
) -> Result<Measurement, PhotoRefusal> {
    faceid_face::measure(engine, bytes, &[], None, rules).map_err(|e| refusal(&e))
}

/// The problem code of an unusable frame.
pub fn refusal_code(e: &MeasureError) -> ErrorCode {
    match e {
        MeasureError::Decode { source, .. } => decode_code(source),
        MeasureError::NoFace { .. } => ErrorCode::NoFace,
        MeasureError::SeveralFaces { .. } => ErrorCode::SeveralFaces,
        MeasureError::Engine(_) => ErrorCode::FaceEngineError,
    }
}

/// The refusal of an unusable frame.
pub fn refusal(e: &MeasureError) -> PhotoRefusal {
    let code = frame_field_code(refusal_code(e));
    let message = match e {
        MeasureError::Decode { source, .. } => source.to_string(),
        MeasureError::NoFace { .. } => "no face found".to_owned(),
        MeasureError::SeveralFaces { count, .. } => format!("{count} faces found, one needed"),
        MeasureError::Engine(e) => e.to_string(),
    };
    PhotoRefusal { code, message }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A server whose engine takes `face_workers` measurements at once (no database is reached).
    fn state_with_workers(face_workers: usize) -> AppState {
        let pool = sqlx::PgPool::connect_lazy("postgres://unused@127.0.0.1/unused").unwrap();
        let settings = crate::Settings {
            face_workers,
            ..crate::Settings::default()
        };
        let secrets = crate::Secrets {
            jwt_secret: vec![7; 32],
            descriptor_key: [7; 32],
        };
        AppState::new(pool, settings, secrets).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn measurements_take_turns_at_the_engine_in_arrival_order() {
        /// Runs `n` measurements that join the queue in index order (`join_all` polls its
        /// futures in that order); answers the most that ran at once and the order they began.
        async fn run(state: &AppState, n: usize) -> (usize, Vec<usize>) {
            let running = Arc::new(AtomicUsize::new(0));
            let most = Arc::new(AtomicUsize::new(0));
            let order = Arc::new(std::sync::Mutex::new(Vec::new()));
            let measurements = (0..n).map(|i| {
                let (running, most, order) = (running.clone(), most.clone(), order.clone());
                measure_blocking(state, &[], move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    order.lock().unwrap().push(i);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
            });
            for r in futures_util::future::join_all(measurements).await {
                r.unwrap();
            }
            let order = order.lock().unwrap().clone();
            (most.load(Ordering::SeqCst), order)
        }
        let (most, _) = run(&state_with_workers(2), 8).await;
        assert!(
            most <= 2,
            "{most} measurements at once with face_workers = 2"
        );
        // With one turn, each begins strictly after the one before it, in arrival order. (With
        // two, two turns freed together start two threads whose first steps may interleave.)
        let (most, order) = run(&state_with_workers(1), 6).await;
        assert_eq!(most, 1);
        assert_eq!(order, vec![0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_request_keeps_its_turn_until_its_measurement_ends() {
        let state = state_with_workers(1);
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let request = tokio::spawn({
            let state = state.clone();
            async move {
                measure_blocking(&state, &[], move || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Ok(())
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        // The client goes away while its frames are being measured.
        request.abort();
        assert!(request.await.unwrap_err().is_cancelled());
        assert_eq!(
            state.face_queue.free_turns(),
            0,
            "the measurement still runs, so its turn is still taken"
        );
        release_tx.send(()).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(60), async {
            while state.face_queue.free_turns() == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the turn comes back when the measurement ends");
    }
}
