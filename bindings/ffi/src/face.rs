//! The camera capture for check-in: the face engine, and a capture the shell feeds frames to
//! (ARCHITECTURE §2, steps 1–2). The logic is `faceid_client::checkin`; this is its FFI face.

use std::sync::{Arc, Mutex};

use faceid_client::checkin::{CapturedFace, CheckInError, FaceSession, FaceSessionConfig};
use faceid_face::decode::{Frame, PixelFormat, Rotation};
use faceid_face::liveness::active::{HeadMovement, ProgressState};
use faceid_face::{Descriptor, Engine, EngineConfig};
use faceid_protocol::liveness::{HeadAction, LivenessChallenge};

use crate::FaceIdError;
use crate::types::to_system;

impl From<CheckInError> for FaceIdError {
    fn from(e: CheckInError) -> Self {
        match e {
            CheckInError::Outbox(e) => e.into(),
            e @ CheckInError::Invalid(_) => FaceIdError::InvalidInput {
                reason: e.to_string(),
            },
            e => FaceIdError::Face {
                reason: e.to_string(),
            },
        }
    }
}

/// The loaded face models (detector, embedder, passive liveness). Load once per process and
/// share: loading verifies every model's SHA-256 and takes a moment.
#[derive(Debug, uniffi::Object)]
pub struct FaceEngine {
    pub(crate) engine: Arc<Engine>,
}

#[uniffi::export]
impl FaceEngine {
    /// Load the models from `model_dir` (the app copies them out of its assets on first run).
    /// A missing or altered model file is `Face` with the file named.
    #[uniffi::constructor]
    pub fn load(model_dir: String) -> Result<Arc<Self>, FaceIdError> {
        let engine =
            Engine::load(&EngineConfig::new(model_dir)).map_err(|e| FaceIdError::Face {
                reason: e.to_string(),
            })?;
        Ok(Arc::new(Self {
            engine: Arc::new(engine),
        }))
    }

    /// Id of the model descriptors are computed with.
    pub fn descriptor_model(&self) -> Result<String, FaceIdError> {
        self.engine
            .embedder(None)
            .map(|e| e.model_id().0)
            .map_err(|e| FaceIdError::Face {
                reason: e.to_string(),
            })
    }
}

/// Pixel layout of a camera frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FrameFormat {
    /// Android `ImageFormat.RGBA_8888` / `Bitmap.Config.ARGB_8888` bytes.
    Rgba8,
    /// iOS `kCVPixelFormatType_32BGRA`.
    Bgra8,
    Rgb8,
    /// Android camera NV21 (Y plane then interleaved V/U).
    Nv21,
}

/// One camera frame as the platform delivers it, un-mirrored.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CameraFrame {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Bytes per row (≥ width × bytes per pixel; for NV21 the Y plane's row stride).
    pub stride: u32,
    pub format: FrameFormat,
    /// Clockwise rotation that makes the frame upright: 0, 90, 180 or 270.
    pub rotation_degrees: u32,
    /// Capture time, Unix epoch milliseconds (device clock).
    pub captured_at_ms: u64,
}

/// A head movement the user is asked to make; left and right are the person's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HeadTurn {
    TurnLeft,
    TurnRight,
    LookUp,
    LookDown,
}

impl From<HeadMovement> for HeadTurn {
    fn from(m: HeadMovement) -> Self {
        match m {
            HeadMovement::TurnLeft => HeadTurn::TurnLeft,
            HeadMovement::TurnRight => HeadTurn::TurnRight,
            HeadMovement::LookUp => HeadTurn::LookUp,
            HeadMovement::LookDown => HeadTurn::LookDown,
        }
    }
}

impl From<HeadAction> for HeadTurn {
    fn from(a: HeadAction) -> Self {
        HeadMovement::from(a).into()
    }
}

/// What to tell the user about the challenge now.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ChallengeStep {
    /// Look straight at the camera.
    Start,
    Perform {
        action: HeadTurn,
    },
    /// Face the camera again before the next movement.
    ReturnToCentre {
        next_action: HeadTurn,
    },
    Completed,
    /// The attempt cannot pass any more (start a new capture); `reason` is for logs.
    Failed {
        reason: String,
    },
}

impl From<ProgressState> for ChallengeStep {
    fn from(s: ProgressState) -> Self {
        match s {
            ProgressState::Start => ChallengeStep::Start,
            ProgressState::Perform { action, .. } => ChallengeStep::Perform {
                action: action.into(),
            },
            ProgressState::ReturnToNeutral { next_action, .. } => ChallengeStep::ReturnToCentre {
                next_action: next_action.into(),
            },
            ProgressState::Completed => ChallengeStep::Completed,
            ProgressState::Failed { failure } => ChallengeStep::Failed {
                reason: failure.to_string(),
            },
        }
    }
}

/// The face box in upright-frame pixels, for the overlay.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub score: f32,
}

/// Something to fix: `code` is stable (translate it), `message` is an English default.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QualityHint {
    pub code: String,
    pub message: String,
}

/// The analysis of one frame.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FrameFeedback {
    pub faces: u32,
    pub face: Option<FaceBox>,
    pub quality_ok: bool,
    pub hints: Vec<QualityHint>,
    /// `None` when this capture has no challenge or the frame had no usable face.
    pub challenge: Option<ChallengeStep>,
    pub completed_actions: u32,
    /// Enough is captured: call `finish()`.
    pub ready: bool,
}

/// What the device concluded (the server re-checks everything).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaptureSummary {
    pub descriptor_model: String,
    pub passive_score: Option<f32>,
    pub passive_live: Option<bool>,
    pub challenge_passed: Option<bool>,
    pub challenge_failure: Option<String>,
    /// Against the employee's own templates, when the capture was given any.
    pub matches_enrolled: Option<bool>,
    pub face_distance: Option<f32>,
    pub challenge_frames: u32,
}

/// A challenge the server issued for this capture.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HeadChallenge {
    pub actions: Vec<HeadTurn>,
    pub expires_at: std::time::SystemTime,
}

enum CaptureState {
    Capturing(Box<FaceSession>),
    Finished(Box<CapturedFace>),
    Sealed,
}

/// One check-in capture. Feed it frames (on a background thread: each call runs the
/// detector), then `finish()`, then hand it to `FaceIdClient.sealPunch`.
#[derive(uniffi::Object)]
pub struct FaceCapture {
    state: Mutex<CaptureState>,
    challenge: Option<HeadChallenge>,
}

impl std::fmt::Debug for FaceCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceCapture")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

fn lock_error() -> FaceIdError {
    FaceIdError::Internal {
        reason: "capture lock poisoned".to_owned(),
    }
}

impl FaceCapture {
    /// `enrolled`: the employee's cached descriptors (for `matches_enrolled`), may be empty.
    pub(crate) fn new(
        engine: &FaceEngine,
        enrolled: Vec<Descriptor>,
        challenge: Option<&LivenessChallenge>,
    ) -> Result<Arc<Self>, FaceIdError> {
        let cfg = FaceSessionConfig::default();
        let session = match challenge {
            Some(c) => FaceSession::with_challenge(engine.engine.clone(), enrolled, c, cfg)?,
            None => FaceSession::new(engine.engine.clone(), enrolled, cfg),
        };
        Ok(Arc::new(Self {
            state: Mutex::new(CaptureState::Capturing(Box::new(session))),
            challenge: challenge.map(|c| HeadChallenge {
                actions: c.actions.iter().copied().map(Into::into).collect(),
                expires_at: to_system(c.expires_at),
            }),
        }))
    }

    /// Take the finished capture for sealing; a capture is sealed once.
    pub(crate) fn take_finished(&self) -> Result<CapturedFace, FaceIdError> {
        let (_state, captured) = self.take_state(
            |s| match s {
                CaptureState::Finished(c) => Ok(*c),
                other => Err(other),
            },
            "call finish() once before sealing; a capture is sealed once",
        )?;
        Ok(captured)
    }

    /// Move the state out when `take` accepts it (leaving `Sealed` behind, with the lock still
    /// held for the caller); otherwise put it back and answer `InvalidInput { reason }`.
    fn take_state<T>(
        &self,
        take: impl FnOnce(CaptureState) -> Result<T, CaptureState>,
        reason: &str,
    ) -> Result<(std::sync::MutexGuard<'_, CaptureState>, T), FaceIdError> {
        let mut state = self.state.lock().map_err(|_| lock_error())?;
        match take(std::mem::replace(&mut *state, CaptureState::Sealed)) {
            Ok(taken) => Ok((state, taken)),
            Err(other) => {
                *state = other;
                Err(FaceIdError::InvalidInput {
                    reason: reason.to_owned(),
                })
            }
        }
    }
}

#[uniffi::export]
impl FaceCapture {
    /// A capture without a challenge (passive liveness only), e.g. offline.
    #[uniffi::constructor]
    pub fn passive(engine: Arc<FaceEngine>) -> Result<Arc<Self>, FaceIdError> {
        Self::new(&engine, Vec::new(), None)
    }

    /// The movements to ask for, when the capture has a challenge.
    pub fn challenge(&self) -> Option<HeadChallenge> {
        self.challenge.clone()
    }

    pub fn push_frame(&self, frame: CameraFrame) -> Result<FrameFeedback, FaceIdError> {
        let rotation = Rotation::from_degrees(frame.rotation_degrees).map_err(|e| {
            FaceIdError::InvalidInput {
                reason: e.to_string(),
            }
        })?;
        let raw = Frame {
            width: frame.width,
            height: frame.height,
            stride: frame.stride,
            format: match frame.format {
                FrameFormat::Rgba8 => PixelFormat::Rgba8,
                FrameFormat::Bgra8 => PixelFormat::Bgra8,
                FrameFormat::Rgb8 => PixelFormat::Rgb8,
                FrameFormat::Nv21 => PixelFormat::Nv21,
            },
            rotation,
            bytes: &frame.bytes,
        };
        let mut state = self.state.lock().map_err(|_| lock_error())?;
        let CaptureState::Capturing(session) = &mut *state else {
            return Err(FaceIdError::InvalidInput {
                reason: "the capture is already finished".to_owned(),
            });
        };
        let fb = session
            .push_frame(&raw, frame.captured_at_ms)
            .map_err(|e| match e {
                CheckInError::Frame(d) => FaceIdError::InvalidInput {
                    reason: d.to_string(),
                },
                e => e.into(),
            })?;
        Ok(FrameFeedback {
            faces: u32::try_from(fb.faces).unwrap_or(u32::MAX),
            face: fb.face.map(|d| FaceBox {
                x: d.bbox.x,
                y: d.bbox.y,
                width: d.bbox.width,
                height: d.bbox.height,
                score: d.score,
            }),
            quality_ok: fb.quality_ok,
            hints: fb
                .hints
                .iter()
                .map(|h| QualityHint {
                    code: h.code().to_owned(),
                    message: h.hint().to_owned(),
                })
                .collect(),
            completed_actions: fb
                .challenge
                .as_ref()
                .map(|u| u32::try_from(u.completed).unwrap_or(u32::MAX))
                .unwrap_or(0),
            challenge: fb.challenge.map(|u| u.state.into()),
            ready: fb.ready,
        })
    }

    /// Compute the descriptor and liveness of the best frame. `Face` when no frame was usable
    /// (the reason says what to fix).
    pub fn finish(&self) -> Result<CaptureSummary, FaceIdError> {
        let (mut state, session) = self.take_state(
            |s| match s {
                CaptureState::Capturing(session) => Ok(session),
                other => Err(other),
            },
            "the capture is already finished",
        )?;
        let captured = session.finish()?;
        let summary = CaptureSummary {
            descriptor_model: captured.measurement.descriptor.model.0.clone(),
            passive_score: captured.measurement.passive.as_ref().map(|p| p.score),
            passive_live: captured.measurement.passive.as_ref().map(|p| p.live),
            challenge_passed: captured.challenge.as_ref().map(|c| c.passed),
            challenge_failure: captured
                .challenge
                .as_ref()
                .and_then(|c| c.failure.as_ref())
                .map(|f| f.to_string()),
            matches_enrolled: captured.verification.as_ref().map(|v| v.same),
            face_distance: captured.verification.as_ref().map(|v| v.distance),
            challenge_frames: u32::try_from(captured.challenge_frames.len()).unwrap_or(u32::MAX),
        };
        *state = CaptureState::Finished(Box::new(captured));
        Ok(summary)
    }

    /// The JPEG of the best frame, after `finish()`: the evidence the server measures, and an
    /// enrolment photo (`queueEnrolment`) taken with the same live quality checks.
    pub fn best_frame_jpeg(&self) -> Result<Vec<u8>, FaceIdError> {
        let state = self.state.lock().map_err(|_| lock_error())?;
        match &*state {
            CaptureState::Finished(captured) => Ok(captured.best_frame_jpeg.clone()),
            _ => Err(FaceIdError::InvalidInput {
                reason: "call finish() first; a sealed capture has given its frame away".to_owned(),
            }),
        }
    }
}
