//! Active liveness: did the person in front of the camera perform the server's random head
//! movements, in order, in time, and were they the same person throughout?
//!
//! The server issues a [`Challenge`] (a nonce and 2–3 [`HeadMovement`]s with a validity
//! window). The phone streams frames through [`ChallengeProgress`] to guide the user ("turn
//! left", "back to the centre") and sends the frames it used, with their landmarks and
//! descriptors, to the server, which re-checks them with [`verify_challenge_at`].
//!
//! # How a movement is recognised
//! The first frame is the neutral reference; it must be roughly frontal
//! ([`ActiveConfig::max_start_yaw_deg`]). For every later frame yaw and pitch are estimated
//! from the five landmarks ([`crate::quality::estimate_pose`]) and taken **relative to the
//! reference**, which cancels most of the per-person bias of the estimate. A frame *reaches* a
//! movement when its relative yaw or pitch passes the movement's threshold in the movement's
//! direction and that axis dominates (|yaw|/yaw threshold vs |pitch|/pitch threshold). A frame
//! is *neutral* when both relative angles are within [`ActiveConfig::neutral_tolerance_deg`].
//!
//! Movements must be reached one after the other in the challenge's order. Between two
//! movements the head must come back to neutral ([`ActiveConfig::require_return_to_neutral`],
//! default) or at least leave the previous movement's zone. Reaching a movement other than the
//! expected one while it is awaited fails the challenge ([`ActiveFailure::WrongOrder`]): a
//! replayed video of generic head movements passes only when it happens to match the random
//! order.
//!
//! # Sign convention
//! Left and right are **the person's own**: [`HeadMovement::TurnLeft`] means the person turns
//! their head to their left, which, in an un-mirrored camera image, moves their nose towards
//! image-right (relative yaw > 0). Shells must pass camera frames un-mirrored (the selfie
//! preview may be mirrored on screen, the analysed frames must not be), otherwise left and
//! right swap. [`HeadMovement::LookUp`] is relative pitch > 0 (nose tip moves up towards the
//! eye line).
//!
//! # Same face
//! Every frame that carries a descriptor is compared with the first descriptor of the sequence
//! with the embedder's own calibrated 1:1 rule ([`SameFaceRule`]: metric and threshold from the
//! model manifest, the numbers `faceid face verify` uses), so "the same face" during a challenge
//! means exactly what it means in verification. A distance above the threshold is
//! [`ActiveFailure::FaceChanged`]; a descriptor of another model or length is
//! [`ActiveFailure::DescriptorMismatch`]. At least [`ActiveConfig::min_descriptor_frames`]
//! frames must carry one.
//!
//! # Time
//! Frame timestamps (ms since the Unix epoch, from the device clock) must strictly increase and
//! lie within the challenge's `[issued_at_ms, expires_at_ms]`. The server additionally checks
//! its own receipt time with [`verify_challenge_at`]; the nonce binds the evidence to one
//! attempt (the server must accept each nonce once).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::matching::distance;
use crate::model::{Manifest, Metric, ModelError, Task};
use crate::quality::estimate_pose;
use crate::types::{Descriptor, Landmarks, ModelId};

/// One requested head movement; left/right are the person's own (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadMovement {
    TurnLeft,
    TurnRight,
    LookUp,
    LookDown,
}

impl HeadMovement {
    pub const ALL: [HeadMovement; 4] = [
        HeadMovement::TurnLeft,
        HeadMovement::TurnRight,
        HeadMovement::LookUp,
        HeadMovement::LookDown,
    ];

    /// How far this movement has gone, as a multiple of its threshold (negative: the other
    /// way), for a relative pose.
    fn progress(self, yaw_rel: f32, pitch_rel: f32, cfg: &ActiveConfig) -> f32 {
        match self {
            HeadMovement::TurnLeft => yaw_rel / cfg.yaw_threshold_deg,
            HeadMovement::TurnRight => -yaw_rel / cfg.yaw_threshold_deg,
            HeadMovement::LookUp => pitch_rel / cfg.pitch_threshold_deg,
            HeadMovement::LookDown => -pitch_rel / cfg.pitch_threshold_deg,
        }
    }
}

/// The wire protocol's name for the same movement (the server's challenge lists these).
impl From<faceid_protocol::liveness::HeadAction> for HeadMovement {
    fn from(a: faceid_protocol::liveness::HeadAction) -> Self {
        use faceid_protocol::liveness::HeadAction;
        match a {
            HeadAction::TurnLeft => HeadMovement::TurnLeft,
            HeadAction::TurnRight => HeadMovement::TurnRight,
            HeadAction::LookUp => HeadMovement::LookUp,
            HeadAction::LookDown => HeadMovement::LookDown,
        }
    }
}

/// A challenge issued by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Random, single-use; ties the evidence to this attempt.
    pub nonce: String,
    pub actions: Vec<HeadMovement>,
    /// Unix epoch milliseconds.
    pub issued_at_ms: u64,
    /// Unix epoch milliseconds; frames captured later, or evidence received later, fail.
    pub expires_at_ms: u64,
}

impl Challenge {
    /// Draw `count` movements at random, never the same twice in a row.
    pub fn random<R: rand::Rng + ?Sized>(
        rng: &mut R,
        nonce: impl Into<String>,
        count: usize,
        issued_at_ms: u64,
        ttl_ms: u64,
    ) -> Self {
        let mut actions: Vec<HeadMovement> = Vec::with_capacity(count);
        while actions.len() < count {
            let a = HeadMovement::ALL[rng.random_range(0..HeadMovement::ALL.len())];
            if actions.last() != Some(&a) {
                actions.push(a);
            }
        }
        Self {
            nonce: nonce.into(),
            actions,
            issued_at_ms,
            expires_at_ms: issued_at_ms.saturating_add(ttl_ms),
        }
    }

    fn validate(&self, cfg: &ActiveConfig) -> Result<(), ActiveFailure> {
        let reason = if self.actions.is_empty() {
            Some("no movements".to_owned())
        } else if self.actions.len() > cfg.max_actions {
            Some(format!(
                "{} movements, at most {} allowed",
                self.actions.len(),
                cfg.max_actions
            ))
        } else if self.expires_at_ms <= self.issued_at_ms {
            Some("expires before it is issued".to_owned())
        } else if self.nonce.is_empty() {
            Some("empty nonce".to_owned())
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ActiveFailure::InvalidChallenge { reason }),
            None => Ok(()),
        }
    }
}

/// One analysed camera frame of a challenge attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChallengeFrame {
    /// Unix epoch milliseconds (device clock).
    pub captured_at_ms: u64,
    pub landmarks: Landmarks,
    /// The face descriptor of this frame, when computed.
    pub descriptor: Option<Descriptor>,
}

/// How the active check decides that two frames show the same face: the 1:1 verification rule
/// of the embedder that produced the descriptors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SameFaceRule {
    /// Descriptors of any other model are refused.
    pub model: ModelId,
    pub metric: Metric,
    /// Same face when distance <= threshold (the model's calibrated verification threshold).
    pub threshold: f32,
}

impl SameFaceRule {
    /// The rule recorded for embedder `model` in `manifest` (`[model.output] metric` and
    /// `threshold`, calibrated by `faceid face eval`). For a fusion, the rule of its
    /// `challenge` component: challenge frames carry that component's descriptors.
    pub fn from_manifest(manifest: &Manifest, model: &str) -> Result<Self, ModelError> {
        let model = manifest
            .fusion(model)
            .map_or(model, |f| f.challenge.as_str());
        let spec = manifest.expect_task(model, Task::Embed)?;
        let out = spec.output()?;
        let incomplete = |what| ModelError::IncompleteEntry {
            id: model.to_owned(),
            what,
        };
        Ok(Self {
            model: spec.model_id(),
            metric: out
                .metric
                .ok_or_else(|| incomplete("[model.output] metric"))?,
            threshold: out
                .threshold
                .ok_or_else(|| incomplete("[model.output] threshold"))?,
        })
    }
}

/// Thresholds of the active check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveConfig {
    /// Relative yaw a turn must reach, degrees. Default 20.
    pub yaw_threshold_deg: f32,
    /// Relative pitch a look up / down must reach, degrees. Default 15.
    pub pitch_threshold_deg: f32,
    /// Both relative angles within this count as neutral, degrees. Default 10.
    pub neutral_tolerance_deg: f32,
    /// Require a neutral frame between two movements (default true). When false the head need
    /// only leave the previous movement's zone.
    pub require_return_to_neutral: bool,
    /// Largest absolute yaw of the reference (first) frame, degrees. Default 25.
    pub max_start_yaw_deg: f32,
    /// Fewest frames in a sequence (the reference plus one per movement at the very least).
    /// Default 3.
    pub min_frames: usize,
    /// Same-face rule between a frame's descriptor and the first one: the embedder's calibrated
    /// verification rule (see [`ActiveConfig::for_model`]).
    pub same_face: SameFaceRule,
    /// Fewest frames that must carry a descriptor. Default 2; 0 disables the same-face check
    /// (only for on-device guidance, never on the server).
    pub min_descriptor_frames: usize,
    /// See [`crate::quality::QualityConfig::neutral_nose_ratio`]. Default 0.495.
    pub neutral_nose_ratio: f32,
    /// Most movements a challenge may ask for. Default 5.
    pub max_actions: usize,
}

impl ActiveConfig {
    /// Default movement thresholds with `same_face` as the same-face rule.
    pub fn new(same_face: SameFaceRule) -> Self {
        Self {
            yaw_threshold_deg: 20.0,
            pitch_threshold_deg: 15.0,
            neutral_tolerance_deg: 10.0,
            require_return_to_neutral: true,
            max_start_yaw_deg: 25.0,
            min_frames: 3,
            same_face,
            min_descriptor_frames: 2,
            neutral_nose_ratio: 0.495,
            max_actions: 5,
        }
    }

    /// Default thresholds, with the same-face rule of embedder `model` from `manifest`.
    pub fn for_model(manifest: &Manifest, model: &str) -> Result<Self, ModelError> {
        SameFaceRule::from_manifest(manifest, model).map(Self::new)
    }
}

/// Why an attempt failed.
#[derive(Debug, Error, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "failure", rename_all = "snake_case")]
pub enum ActiveFailure {
    #[error("invalid challenge: {reason}")]
    InvalidChallenge { reason: String },
    #[error("the challenge has expired (frame {frame:?})")]
    Expired {
        /// The first frame captured after expiry; `None` when the evidence arrived too late.
        frame: Option<usize>,
    },
    #[error("frame {frame} was captured before the challenge was issued")]
    FrameBeforeIssue { frame: usize },
    #[error("frame {frame} is not later than the frame before it")]
    NonMonotonicTime { frame: usize },
    #[error("{got} frames, at least {need} needed")]
    TooFewFrames { got: usize, need: usize },
    #[error("frame {frame} has unusable landmarks")]
    InvalidLandmarks { frame: usize },
    #[error("the first frame is not frontal (yaw {yaw_deg:.0}°)")]
    NotFrontalAtStart { yaw_deg: f32 },
    #[error("no head movement at all")]
    NoMovement,
    #[error("movement {index} ({action:?}) was not performed")]
    MissingMovement { index: usize, action: HeadMovement },
    #[error("the head did not return to the centre before movement {index}")]
    NoReturnToNeutral { index: usize },
    #[error("movement {index}: expected {expected:?}, saw {got:?} at frame {frame}")]
    WrongOrder {
        index: usize,
        expected: HeadMovement,
        got: HeadMovement,
        frame: usize,
    },
    #[error("the face changed at frame {frame} (descriptor distance {distance:.3})")]
    FaceChanged { frame: usize, distance: f32 },
    #[error("frame {frame}'s descriptor is from another model or of another length")]
    DescriptorMismatch { frame: usize },
    #[error("{have} frames carry a descriptor, at least {need} needed")]
    MissingDescriptors { have: usize, need: usize },
}

impl ActiveFailure {
    /// Failures about the evidence's integrity (rather than the user's movements) score 0.
    fn is_integrity(&self) -> bool {
        !matches!(
            self,
            ActiveFailure::NoMovement
                | ActiveFailure::MissingMovement { .. }
                | ActiveFailure::NoReturnToNeutral { .. }
                | ActiveFailure::WrongOrder { .. }
        )
    }
}

/// The outcome of an attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveVerdict {
    pub passed: bool,
    /// 0..=1: the mean, over the requested movements, of how far each was carried out in order
    /// (1 when reached, the fraction of the threshold reached for the one in progress, 0 for
    /// later ones); 0 on integrity failures (time, face, landmarks, challenge).
    pub score: f32,
    /// Indices of the frames that make the evidence: the reference, the neutral frames between
    /// movements and the frame where each movement was reached.
    pub frames_used: Vec<usize>,
    /// Movements reached in order.
    pub completed: usize,
    pub failure: Option<ActiveFailure>,
}

/// Where a streaming attempt stands, for the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ProgressState {
    /// Waiting for the first (neutral) frame.
    Start,
    /// Ask the user to perform this movement.
    Perform {
        index: usize,
        action: HeadMovement,
    },
    /// Movement done; ask the user to face the camera again before the next one.
    ReturnToNeutral {
        next_index: usize,
        next_action: HeadMovement,
    },
    /// All movements reached.
    Completed,
    Failed {
        failure: ActiveFailure,
    },
}

/// What [`ChallengeProgress::push`] reports after each frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressUpdate {
    /// Index of the frame just pushed.
    pub frame: usize,
    pub state: ProgressState,
    /// Movements done so far.
    pub completed: usize,
    /// Yaw and pitch of this frame relative to the reference, when known.
    pub yaw_rel_deg: Option<f32>,
    pub pitch_rel_deg: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Perform,
    Returning,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FramePose {
    Neutral,
    Between,
    Reached(HeadMovement),
}

/// Incremental verifier: feed frames one at a time (the phone UI), then read
/// [`ChallengeProgress::verdict`]. [`verify_challenge`] is this over a whole sequence.
#[derive(Debug, Clone)]
pub struct ChallengeProgress {
    challenge: Challenge,
    cfg: ActiveConfig,
    frames: usize,
    last_time: Option<u64>,
    reference: Option<(f32, f32)>,
    anchor: Option<Descriptor>,
    descriptor_frames: usize,
    completed: usize,
    phase: Phase,
    /// Best progress (multiple of the threshold) towards the movement currently awaited.
    current_progress: f32,
    any_reached: bool,
    skipped_neutral: bool,
    frames_used: Vec<usize>,
    failure: Option<ActiveFailure>,
}

impl ChallengeProgress {
    pub fn new(challenge: Challenge, cfg: ActiveConfig) -> Self {
        let failure = challenge.validate(&cfg).err();
        Self {
            challenge,
            cfg,
            frames: 0,
            last_time: None,
            reference: None,
            anchor: None,
            descriptor_frames: 0,
            completed: 0,
            phase: Phase::Perform,
            current_progress: 0.0,
            any_reached: false,
            skipped_neutral: false,
            frames_used: Vec::new(),
            failure,
        }
    }

    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// Movements reached so far.
    pub fn completed(&self) -> usize {
        self.completed
    }

    /// The movement to perform next, if any.
    pub fn next_action(&self) -> Option<HeadMovement> {
        self.challenge.actions.get(self.completed).copied()
    }

    /// The current state, as the last [`ProgressUpdate`] reported it.
    pub fn state(&self) -> ProgressState {
        if let Some(f) = &self.failure {
            return ProgressState::Failed { failure: f.clone() };
        }
        let n = self.challenge.actions.len();
        if self.reference.is_none() {
            ProgressState::Start
        } else if self.completed >= n {
            ProgressState::Completed
        } else if self.phase == Phase::Returning {
            ProgressState::ReturnToNeutral {
                next_index: self.completed,
                next_action: self.challenge.actions[self.completed],
            }
        } else {
            ProgressState::Perform {
                index: self.completed,
                action: self.challenge.actions[self.completed],
            }
        }
    }

    fn fail(&mut self, f: ActiveFailure) {
        tracing::debug!(failure = %f, "active liveness attempt failed");
        self.failure = Some(f);
    }

    /// Feed the next frame.
    pub fn push(&mut self, frame: &ChallengeFrame) -> ProgressUpdate {
        let idx = self.frames;
        self.frames += 1;
        let mut rel = None;
        if self.failure.is_none() {
            rel = self.process(idx, frame);
        }
        ProgressUpdate {
            frame: idx,
            state: self.state(),
            completed: self.completed,
            yaw_rel_deg: rel.map(|r| r.0),
            pitch_rel_deg: rel.map(|r| r.1),
        }
    }

    /// Why descriptor `d` of frame `idx` breaks the same-face rule against the first one, if it
    /// does.
    fn same_face_failure(&self, idx: usize, d: &Descriptor) -> Option<ActiveFailure> {
        let rule = &self.cfg.same_face;
        if d.model != rule.model {
            return Some(ActiveFailure::DescriptorMismatch { frame: idx });
        }
        let a = self.anchor.as_ref()?;
        if a.values.len() != d.values.len() {
            return Some(ActiveFailure::DescriptorMismatch { frame: idx });
        }
        let distance = distance(rule.metric, &a.values, &d.values);
        (distance.is_nan() || distance > rule.threshold).then_some(ActiveFailure::FaceChanged {
            frame: idx,
            distance,
        })
    }

    fn process(&mut self, idx: usize, frame: &ChallengeFrame) -> Option<(f32, f32)> {
        // Integrity: time.
        let t = frame.captured_at_ms;
        if self.last_time.is_some_and(|last| t <= last) {
            self.fail(ActiveFailure::NonMonotonicTime { frame: idx });
            return None;
        }
        self.last_time = Some(t);
        if t < self.challenge.issued_at_ms {
            self.fail(ActiveFailure::FrameBeforeIssue { frame: idx });
            return None;
        }
        if t > self.challenge.expires_at_ms {
            self.fail(ActiveFailure::Expired { frame: Some(idx) });
            return None;
        }
        // Integrity: same face.
        if let Some(d) = &frame.descriptor {
            if let Some(f) = self.same_face_failure(idx, d) {
                self.fail(f);
                return None;
            }
            if self.anchor.is_none() {
                self.anchor = Some(d.clone());
            }
            self.descriptor_frames += 1;
        }
        let Some(pose) = estimate_pose(&frame.landmarks, self.cfg.neutral_nose_ratio) else {
            self.fail(ActiveFailure::InvalidLandmarks { frame: idx });
            return None;
        };
        let Some((ref_yaw, ref_pitch)) = self.reference else {
            if pose.yaw_deg.abs() > self.cfg.max_start_yaw_deg {
                self.fail(ActiveFailure::NotFrontalAtStart {
                    yaw_deg: pose.yaw_deg,
                });
                return None;
            }
            self.reference = Some((pose.yaw_deg, pose.pitch_deg));
            self.frames_used.push(idx);
            return Some((0.0, 0.0));
        };
        let rel = (pose.yaw_deg - ref_yaw, pose.pitch_deg - ref_pitch);
        if self.completed < self.challenge.actions.len() {
            self.step(idx, rel);
        }
        Some(rel)
    }

    fn classify(&self, (yaw, pitch): (f32, f32)) -> FramePose {
        let c = &self.cfg;
        if yaw.abs() <= c.neutral_tolerance_deg && pitch.abs() <= c.neutral_tolerance_deg {
            return FramePose::Neutral;
        }
        let ry = yaw / c.yaw_threshold_deg;
        let rp = pitch / c.pitch_threshold_deg;
        if ry.abs().max(rp.abs()) < 1.0 {
            return FramePose::Between;
        }
        FramePose::Reached(if ry.abs() >= rp.abs() {
            if ry > 0.0 {
                HeadMovement::TurnLeft
            } else {
                HeadMovement::TurnRight
            }
        } else if rp > 0.0 {
            HeadMovement::LookUp
        } else {
            HeadMovement::LookDown
        })
    }

    fn step(&mut self, idx: usize, rel: (f32, f32)) {
        let class = self.classify(rel);
        if matches!(class, FramePose::Reached(_)) {
            self.any_reached = true;
        }
        let actions = &self.challenge.actions;
        if self.phase == Phase::Returning {
            let prev = actions[self.completed - 1];
            let next = actions[self.completed];
            if self.cfg.require_return_to_neutral {
                match class {
                    FramePose::Neutral => {
                        self.frames_used.push(idx);
                        self.phase = Phase::Perform;
                    }
                    FramePose::Reached(a) if a == next && a != prev => self.skipped_neutral = true,
                    _ => {}
                }
                return;
            }
            if class == FramePose::Reached(prev) {
                return;
            }
            if class == FramePose::Neutral {
                self.frames_used.push(idx);
            }
            self.phase = Phase::Perform;
        }
        let expected = actions[self.completed];
        let p = expected.progress(rel.0, rel.1, &self.cfg);
        self.current_progress = self.current_progress.max(p.clamp(0.0, 1.0));
        match class {
            FramePose::Reached(a) if a == expected => {
                self.frames_used.push(idx);
                self.completed += 1;
                self.current_progress = 0.0;
                self.skipped_neutral = false;
                self.phase = Phase::Returning;
            }
            FramePose::Reached(got) => self.fail(ActiveFailure::WrongOrder {
                index: self.completed,
                expected,
                got,
                frame: idx,
            }),
            FramePose::Neutral | FramePose::Between => {}
        }
    }

    /// The verdict on the frames pushed so far (call after the last frame).
    /// Indices of the frames the verdict rests on so far (the evidence to keep).
    pub fn frames_used(&self) -> &[usize] {
        &self.frames_used
    }

    pub fn verdict(&self) -> ActiveVerdict {
        let n = self.challenge.actions.len();
        let need = self.cfg.min_frames.max(n + 1);
        let failure = if let Some(f) = &self.failure {
            Some(f.clone())
        } else if self.frames < need {
            Some(ActiveFailure::TooFewFrames {
                got: self.frames,
                need,
            })
        } else if self.completed < n {
            Some(if self.completed == 0 && !self.any_reached {
                ActiveFailure::NoMovement
            } else if self.skipped_neutral {
                ActiveFailure::NoReturnToNeutral {
                    index: self.completed,
                }
            } else {
                ActiveFailure::MissingMovement {
                    index: self.completed,
                    action: self.challenge.actions[self.completed],
                }
            })
        } else if self.descriptor_frames < self.cfg.min_descriptor_frames {
            Some(ActiveFailure::MissingDescriptors {
                have: self.descriptor_frames,
                need: self.cfg.min_descriptor_frames,
            })
        } else {
            None
        };
        let score = match &failure {
            Some(f) if f.is_integrity() => 0.0,
            _ if n == 0 => 0.0,
            _ => {
                let mut s = self.completed.min(n) as f32;
                if self.completed < n {
                    s += self.current_progress;
                }
                s / n as f32
            }
        };
        ActiveVerdict {
            passed: failure.is_none(),
            score,
            frames_used: self.frames_used.clone(),
            completed: self.completed,
            failure,
        }
    }
}

/// Verify a whole attempt from its frames' own timestamps.
pub fn verify_challenge(
    challenge: &Challenge,
    frames: &[ChallengeFrame],
    config: &ActiveConfig,
) -> ActiveVerdict {
    let mut progress = ChallengeProgress::new(challenge.clone(), config.clone());
    for f in frames {
        progress.push(f);
        if progress.failure.is_some() {
            break;
        }
    }
    progress.verdict()
}

/// [`verify_challenge`] on the server: the evidence received at `now_ms` (server clock) must
/// arrive before the challenge expires.
pub fn verify_challenge_at(
    challenge: &Challenge,
    frames: &[ChallengeFrame],
    config: &ActiveConfig,
    now_ms: u64,
) -> ActiveVerdict {
    if now_ms > challenge.expires_at_ms {
        return ActiveVerdict {
            passed: false,
            score: 0.0,
            frames_used: Vec::new(),
            completed: 0,
            failure: Some(ActiveFailure::Expired { frame: None }),
        };
    }
    verify_challenge(challenge, frames, config)
}
