//! The check-in flow on the phone (ARCHITECTURE §2, steps 1–4): camera frames go through a
//! [`FaceSession`] that detects the face, checks its quality, drives the server's head-movement
//! challenge and keeps the best frame; [`FaceSession::finish`] encodes the evidence JPEGs and
//! measures them with [`faceid_face::measure`] (the function and rules the server runs on the
//! same uploads), giving the [`CapturedFace`] (measurement, 1:1 match against the employee's
//! cached templates, evidence JPEGs);
//! [`seal_punch`] writes it with the GPS fix and the clock to the outbox in one transaction.
//!
//! Everything here is advisory feedback for the user: the server re-runs the same measurement
//! on the uploaded frames and decides.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use faceid_face::decode::{
    DecodeError, DecodeLimits, EncodeError, Frame, encode_jpeg, frame_to_rgb,
};
use faceid_face::liveness::active::{
    ActiveConfig, ActiveVerdict, Challenge, ChallengeFrame, ChallengeProgress, HeadMovement,
    ProgressState, ProgressUpdate,
};
use faceid_face::measure::{MeasureError, MeasureRules, Measurement, TimedFrame};
use faceid_face::quality::{self, QualityReason};
use faceid_face::{Descriptor, Detection, Engine, EngineError, Verification};
use faceid_protocol::attendance::{
    BEST_FRAME_PART, CHALLENGE_FRAME_PART, CheckInEvidence, DeviceClock, DeviceDescriptor, GpsFix,
    LivenessScores, MAX_CHALLENGE_FRAMES, PunchKind,
};
use faceid_protocol::liveness::{CHALLENGE_TTL_S, LIVENESS_CHALLENGES_PATH, LivenessChallenge};
use faceid_protocol::sync::ValidationError;
use image::RgbImage;
use uuid::Uuid;

use crate::clock::ServerClock;
use crate::outbox::{Blob, Enqueued, EntryKind, NewEntry, Outbox, OutboxError};
use crate::session::{Session, SessionError};

#[derive(Debug, thiserror::Error)]
pub enum CheckInError {
    #[error("camera frame: {0}")]
    Frame(#[from] DecodeError),
    #[error("face engine: {0}")]
    Engine(#[from] EngineError),
    #[error("evidence image: {0}")]
    Encode(#[from] EncodeError),
    /// The evidence about to be uploaded does not measure (the server would refuse it).
    #[error("evidence: {0}")]
    Measure(#[from] MeasureError),
    /// No frame was good enough; the reasons of the last frame say what to fix.
    #[error("no usable frame yet: {}", reasons_text(.reasons))]
    NoUsableFrame { reasons: Vec<QualityReason> },
    #[error("the challenge is not usable: {0}")]
    InvalidChallenge(String),
    #[error("punch evidence: {0}")]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

fn reasons_text(reasons: &[QualityReason]) -> String {
    if reasons.is_empty() {
        return "no frame seen".to_owned();
    }
    reasons
        .iter()
        .map(|r| r.code())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Settings of a capture; the defaults are what the apps use.
#[derive(Debug, Clone)]
pub struct FaceSessionConfig {
    /// The rules the server measures a check-in with: the live quality gate uses them too.
    pub rules: MeasureRules,
    /// Longer side of the evidence JPEGs, pixels. The server re-detects on them, so they keep
    /// enough resolution for a face at arm's length.
    pub evidence_max_side: u32,
    pub evidence_jpeg_quality: u8,
    /// Limits on the raw frames the shell passes.
    pub frame_limits: DecodeLimits,
}

impl Default for FaceSessionConfig {
    fn default() -> Self {
        Self {
            rules: MeasureRules::check_in(),
            evidence_max_side: 640,
            evidence_jpeg_quality: 85,
            frame_limits: DecodeLimits::default(),
        }
    }
}

/// What the UI shows after a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameFeedback {
    /// Faces detected in the frame.
    pub faces: usize,
    /// The subject (largest face), in upright-frame pixels.
    pub face: Option<Detection>,
    /// Whether this frame passes the quality gate (challenge frames are judged without the
    /// pose limits, since the head is meant to turn).
    pub quality_ok: bool,
    /// What to fix, most important first (see [`QualityReason::hint`]).
    pub hints: Vec<QualityReason>,
    /// The challenge's state after this frame, when a challenge runs.
    pub challenge: Option<ProgressUpdate>,
    /// Enough has been captured to call [`FaceSession::finish`].
    pub ready: bool,
}

/// The outcome of a capture, ready to be sealed.
#[derive(Debug, Clone)]
pub struct CapturedFace {
    /// The uploaded evidence measured as the server measures it (descriptor, passive liveness,
    /// quality, challenge frames and score).
    pub measurement: Measurement,
    /// The device's live verdict on the challenge (over every frame shown), when one ran.
    pub challenge: Option<ActiveVerdict>,
    pub nonce: Option<String>,
    /// 1:1 against the closest cached template of the employee, when templates were given.
    pub verification: Option<Verification>,
    pub best_frame_jpeg: Vec<u8>,
    /// The frames the challenge verdict used, in capture order, with their capture times.
    pub challenge_frames: Vec<EvidenceFrame>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceFrame {
    /// Unix epoch milliseconds (device clock).
    pub captured_at_ms: u64,
    pub jpeg: Vec<u8>,
}

struct BestFrame {
    rgb: RgbImage,
    face: Detection,
    sharpness: f32,
    /// The challenge's index of this frame when the challenge kept it as evidence.
    challenge_frame: Option<usize>,
}

struct RunningChallenge {
    nonce: String,
    progress: ChallengeProgress,
    /// Evidence of the frames the verdict uses so far, by frame index.
    kept: Vec<(usize, EvidenceFrame)>,
}

/// One capture at the camera. Feed frames with [`FaceSession::push_frame`] (from the camera's
/// analysis thread; each call runs detection, so drop frames while one is being analysed),
/// then call [`FaceSession::finish`].
pub struct FaceSession {
    engine: Arc<Engine>,
    cfg: FaceSessionConfig,
    enrolled: Vec<Descriptor>,
    challenge: Option<RunningChallenge>,
    best: Option<BestFrame>,
    last_reasons: Vec<QualityReason>,
    frames: usize,
}

impl std::fmt::Debug for FaceSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceSession")
            .field("frames", &self.frames)
            .field("challenge", &self.challenge.as_ref().map(|c| &c.nonce))
            .field("has_best", &self.best.is_some())
            .finish_non_exhaustive()
    }
}

/// The engine's challenge for the one the server issued (the server does not send its issue
/// time; it is `expires_at` minus the fixed lifetime).
pub fn engine_challenge(c: &LivenessChallenge) -> Result<Challenge, CheckInError> {
    let expires = u64::try_from(c.expires_at.timestamp_millis())
        .map_err(|_| CheckInError::InvalidChallenge("expiry before 1970".to_owned()))?;
    let ttl_ms = u64::try_from(CHALLENGE_TTL_S * 1000).unwrap_or(0);
    Ok(Challenge {
        nonce: c.nonce.clone(),
        actions: c.actions.iter().copied().map(HeadMovement::from).collect(),
        issued_at_ms: expires.saturating_sub(ttl_ms),
        expires_at_ms: expires,
    })
}

impl FaceSession {
    /// A capture with passive liveness only (offline, or when the policy needs no challenge).
    /// `enrolled` are the employee's cached descriptors, for instant 1:1 feedback.
    pub fn new(engine: Arc<Engine>, enrolled: Vec<Descriptor>, cfg: FaceSessionConfig) -> Self {
        Self {
            engine,
            cfg,
            enrolled,
            challenge: None,
            best: None,
            last_reasons: Vec::new(),
            frames: 0,
        }
    }

    /// A capture that also runs the server's head-movement challenge.
    pub fn with_challenge(
        engine: Arc<Engine>,
        enrolled: Vec<Descriptor>,
        challenge: &LivenessChallenge,
        cfg: FaceSessionConfig,
    ) -> Result<Self, CheckInError> {
        let c = engine_challenge(challenge)?;
        // The same-face check across frames is the default embedder's calibrated rule.
        let model = engine.embedder(None)?.model_id();
        let active = ActiveConfig::for_model(engine.manifest(), &model.0)
            .map_err(|e| CheckInError::Engine(e.into()))?;
        let progress = ChallengeProgress::new(c, active);
        if let ProgressState::Failed { failure } = progress.state() {
            return Err(CheckInError::InvalidChallenge(failure.to_string()));
        }
        let mut s = Self::new(engine, enrolled, cfg);
        s.challenge = Some(RunningChallenge {
            nonce: challenge.nonce.clone(),
            progress,
            kept: Vec::new(),
        });
        Ok(s)
    }

    /// Analyse one camera frame captured at `captured_at_ms` (Unix epoch ms, device clock).
    pub fn push_frame(
        &mut self,
        frame: &Frame<'_>,
        captured_at_ms: u64,
    ) -> Result<FrameFeedback, CheckInError> {
        let rgb = frame_to_rgb(frame, &self.cfg.frame_limits)?;
        self.push_rgb(rgb, captured_at_ms)
    }

    /// [`FaceSession::push_frame`] for an already upright RGB image.
    pub fn push_rgb(
        &mut self,
        rgb: RgbImage,
        captured_at_ms: u64,
    ) -> Result<FrameFeedback, CheckInError> {
        self.frames += 1;
        let rules = &self.cfg.rules;
        let dets = self.engine.detect(&rgb, &rules.detector)?;
        let verdict = quality::assess_with(&rgb, &dets, rules.mode, &rules.quality);
        let face = verdict.face.and_then(|i| dets.get(i)).copied();
        let sharpness = verdict.metrics.map(|m| m.sharpness).unwrap_or(0.0);
        self.last_reasons = verdict.reasons.clone();

        let mut kept_as = None;
        let challenge = match (&mut self.challenge, face) {
            (Some(running), Some(face)) if challenge_frame_usable(&verdict.reasons) => {
                // Every challenge frame carries its descriptor so a face swapped mid-sequence
                // is caught (ChallengeProgress compares them), by the challenge embedder (a
                // fusion's `challenge` component; only the matched frame needs both).
                let model = self.engine.challenge_embedder(None)?;
                let descriptor = self.engine.embed(&rgb, &face, Some(&model.0))?;
                let update = running.progress.push(&ChallengeFrame {
                    captured_at_ms,
                    landmarks: face.landmarks,
                    descriptor: Some(descriptor),
                });
                if running.progress.frames_used().contains(&update.frame) {
                    let jpeg = encode_jpeg(
                        &rgb,
                        self.cfg.evidence_max_side,
                        self.cfg.evidence_jpeg_quality,
                    )?;
                    running.kept.push((
                        update.frame,
                        EvidenceFrame {
                            captured_at_ms,
                            jpeg,
                        },
                    ));
                    kept_as = Some(update.frame);
                }
                Some(update)
            }
            _ => None,
        };

        // During a challenge the best frame is preferably one the challenge keeps (its neutral
        // reference or a return to neutral): the server then measures one frame for both.
        let better = |b: &BestFrame| match (kept_as.is_some(), b.challenge_frame.is_some()) {
            (true, false) => true,
            (false, true) => false,
            _ => sharpness > b.sharpness,
        };
        if verdict.ok
            && let Some(face) = face
            && self.best.as_ref().is_none_or(better)
        {
            self.best = Some(BestFrame {
                rgb,
                face,
                sharpness,
                challenge_frame: kept_as,
            });
        }
        let ready = self.best.is_some()
            && self
                .challenge
                .as_ref()
                .is_none_or(|c| matches!(c.progress.state(), ProgressState::Completed));
        Ok(FrameFeedback {
            faces: dets.len(),
            face,
            quality_ok: verdict.ok,
            hints: verdict.reasons,
            challenge,
            ready,
        })
    }

    /// Encode the evidence and measure it as the server will. A failed or unfinished challenge
    /// is not an error here: its verdict goes with the punch and the server decides.
    pub fn finish(self) -> Result<CapturedFace, CheckInError> {
        let Some(best) = self.best else {
            return Err(CheckInError::NoUsableFrame {
                reasons: self.last_reasons,
            });
        };
        let best_frame_jpeg = encode_jpeg(
            &best.rgb,
            evidence_side(&self.cfg, &best.rgb, &best.face),
            self.cfg.evidence_jpeg_quality,
        )?;
        let (challenge, nonce, challenge_frames, issued) = match self.challenge {
            Some(running) => {
                let verdict = running.progress.verdict();
                // The best frame, when it is one of them, goes as the same bytes, which the
                // server's measurement recognises and measures once.
                let frames: Vec<EvidenceFrame> = running
                    .kept
                    .into_iter()
                    .filter(|(i, _)| verdict.frames_used.contains(i))
                    .map(|(i, f)| match best.challenge_frame {
                        Some(b) if b == i => EvidenceFrame {
                            captured_at_ms: f.captured_at_ms,
                            jpeg: best_frame_jpeg.clone(),
                        },
                        _ => f,
                    })
                    .take(MAX_CHALLENGE_FRAMES)
                    .collect();
                let c = running.progress.challenge().clone();
                (Some(verdict), Some(running.nonce), frames, Some(c))
            }
            None => (None, None, Vec::new(), None),
        };
        let timed: Vec<TimedFrame<'_>> = challenge_frames
            .iter()
            .map(|f| TimedFrame {
                bytes: &f.jpeg,
                captured_at_ms: Some(f.captured_at_ms),
            })
            .collect();
        // Scored at the last frame's time: the device decides nothing after the capture.
        let scored_at = challenge_frames.iter().map(|f| f.captured_at_ms).max();
        let measurement = faceid_face::measure(
            &self.engine,
            &best_frame_jpeg,
            &timed,
            issued.as_ref().zip(scored_at),
            &self.cfg.rules,
        )?;
        let descriptor = &measurement.descriptor;
        let mut verification: Option<Verification> = None;
        for template in self.enrolled.iter().filter(|t| t.model == descriptor.model) {
            let v = self.engine.verify(descriptor, template)?;
            if verification
                .as_ref()
                .is_none_or(|b| v.distance < b.distance)
            {
                verification = Some(v);
            }
        }
        tracing::debug!(
            frames = self.frames,
            challenge_frames = challenge_frames.len(),
            "capture finished"
        );
        Ok(CapturedFace {
            measurement,
            challenge,
            nonce,
            verification,
            best_frame_jpeg,
            challenge_frames,
        })
    }
}

/// Longer side of the best frame's evidence JPEG: `evidence_max_side`, or more when scaling
/// that far would shrink the face under the quality gate's minimum. The server re-checks the
/// JPEG and would flag `quality_face_too_small` a frame the device accepted (a 1280×720 frame
/// with a 150 px face). Never more than the frame itself.
fn evidence_side(cfg: &FaceSessionConfig, rgb: &RgbImage, face: &Detection) -> u32 {
    let longer = rgb.width().max(rgb.height());
    let face_px = face.bbox.width.min(face.bbox.height);
    if face_px.is_nan() || face_px <= 0.0 {
        return cfg.evidence_max_side;
    }
    // 10 % margin: the server's detector boxes the face a little differently at another scale.
    let needed = (longer as f32 * cfg.rules.quality.min_face_px * 1.1 / face_px).ceil() as u32;
    needed.clamp(cfg.evidence_max_side, longer.max(cfg.evidence_max_side))
}

/// A challenge frame needs one clear face; turning the head is the point, so pose limits and
/// centring do not apply.
fn challenge_frame_usable(reasons: &[QualityReason]) -> bool {
    reasons.iter().all(|r| {
        matches!(
            r,
            QualityReason::YawTooLarge { .. }
                | QualityReason::PitchTooLarge { .. }
                | QualityReason::OffCentre { .. }
        )
    })
}

/// Ask the server for a head-movement challenge for this employee on this device.
pub async fn request_challenge(session: &Session) -> Result<LivenessChallenge, SessionError> {
    session
        .call_json(reqwest::Method::POST, LIVENESS_CHALLENGES_PATH, None::<&()>)
        .await
}

/// The punch as it will be sent: evidence JSON and its image parts.
pub fn punch_entry(
    captured: &CapturedFace,
    kind: PunchKind,
    gps: Option<GpsFix>,
    clock: &ServerClock,
) -> Result<NewEntry, CheckInError> {
    let device_time: DateTime<Utc> = clock.device().now();
    let since = clock.since_sync();
    let evidence = CheckInEvidence {
        idempotency_key: Uuid::now_v7(),
        kind,
        clock: DeviceClock {
            device_time,
            synced_server_time: since.map(|(t, _)| t),
            monotonic_since_sync_ms: since.map(|(_, ms)| ms),
        },
        gps,
        descriptor: Some(DeviceDescriptor {
            model: captured.measurement.descriptor.model.0.clone(),
            values: captured.measurement.descriptor.values.clone(),
        }),
        liveness: LivenessScores {
            passive: captured
                .measurement
                .passive
                .as_ref()
                .map(|p| p.score)
                .unwrap_or(0.0),
            challenge: captured.challenge.as_ref().map(|c| c.score),
        },
        challenge_nonce: captured.nonce.clone(),
        challenge_frame_times_ms: captured
            .challenge_frames
            .iter()
            .map(|f| f.captured_at_ms)
            .collect(),
    };
    evidence.validate(clock.now())?;
    let mut entry = NewEntry::json(EntryKind::Punch, &evidence)?;
    entry.idempotency_key = evidence.idempotency_key;
    entry.blobs.push(Blob {
        name: BEST_FRAME_PART.to_owned(),
        content_type: "image/jpeg".to_owned(),
        data: captured.best_frame_jpeg.clone(),
    });
    for f in &captured.challenge_frames {
        entry.blobs.push(Blob {
            name: CHALLENGE_FRAME_PART.to_owned(),
            content_type: "image/jpeg".to_owned(),
            data: f.jpeg.clone(),
        });
    }
    Ok(entry)
}

/// Seal the punch into the outbox (one transaction: evidence and frames together). Returns the
/// idempotency key, which is also the id the app shows until the server's answer arrives.
pub fn seal_punch(
    outbox: &Outbox,
    captured: &CapturedFace,
    kind: PunchKind,
    gps: Option<GpsFix>,
    clock: &ServerClock,
) -> Result<Uuid, CheckInError> {
    let entry = punch_entry(captured, kind, gps, clock)?;
    match outbox.enqueue(&entry, clock.device().now())? {
        Enqueued::Stored | Enqueued::AlreadyQueued => Ok(entry.idempotency_key),
    }
}

#[cfg(test)]
mod tests;
