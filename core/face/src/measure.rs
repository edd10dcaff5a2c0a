//! The check-in measurement: uploaded (or captured, then encoded) frames + the challenge +
//! the rules → the measured evidence (face found, quality, descriptor, passive and challenge
//! scores). The phone calls [`measure`] on the evidence it is about to upload, the server calls
//! it on what arrived, so both see the same numbers; the face benchmark times it.

use serde::Serialize;

use crate::decode::{self, DecodeError, DecodeLimits};
use crate::detect::DetectorConfig;
use crate::engine::{Engine, EngineError};
use crate::liveness::active::{
    ActiveConfig, ActiveVerdict, Challenge, ChallengeFrame, verify_challenge_at,
};
use crate::liveness::passive::PassiveScore;
use crate::quality::{self, CaptureMode, QualityConfig, QualityReason};
use crate::types::{Descriptor, Detection};

/// Largest uploaded frame accepted, in bytes.
pub const MAX_FRAME_BYTES: usize = 6 * 1024 * 1024;
/// Most pixels of a measured frame: a 12 MP phone photo (4032 × 3024) fits. The detector
/// works at 640 px and the face crop needs far less, so more pixels only cost memory (a
/// 40 MP frame took the server from 260 MB to 1.2 GB); larger frames are refused from their
/// header, before any pixel is decoded.
pub const MAX_FRAME_PIXELS: u64 = 12_500_000;
/// What decoding a frame may allocate at once: a 12.5 MP 16-bit RGBA image is 100 MB.
pub const MAX_FRAME_ALLOC: u64 = 128 * 1024 * 1024;

/// How frames are measured. The phone and the server use the same value for a check-in
/// ([`MeasureRules::check_in`]), so a frame one accepts the other accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasureRules {
    pub detector: DetectorConfig,
    pub quality: QualityConfig,
    pub mode: CaptureMode,
    /// Limits checked on the encoded frame's header before any pixel is decoded.
    pub decode: DecodeLimits,
    /// When no face is found, retry once on the frame with a grey border (tight face crops
    /// carry no context and the detector misses them).
    pub border_retry: bool,
}

impl MeasureRules {
    /// A punch from the phone: detection at 320 px, check-in quality gate.
    pub fn check_in() -> Self {
        Self {
            detector: DetectorConfig::CHECK_IN,
            quality: QualityConfig::default(),
            mode: CaptureMode::CheckIn,
            decode: DecodeLimits {
                max_bytes: MAX_FRAME_BYTES,
                max_pixels: MAX_FRAME_PIXELS,
                max_side: 10_000,
                max_alloc: MAX_FRAME_ALLOC,
            },
            border_retry: true,
        }
    }

    /// An enrolment photo or a kiosk frame: detection at 640 px (faces further away).
    pub fn enrol() -> Self {
        Self {
            detector: DetectorConfig::ENROL,
            ..Self::check_in()
        }
    }
}

impl Default for MeasureRules {
    fn default() -> Self {
        Self::check_in()
    }
}

/// Which uploaded frame a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameRole {
    Best,
    Challenge(usize),
}

impl std::fmt::Display for FrameRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Best => f.write_str("best frame"),
            Self::Challenge(i) => write!(f, "challenge frame {i}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("{frame}: {source}")]
    Decode {
        frame: FrameRole,
        #[source]
        source: DecodeError,
    },
    #[error("{frame}: no face found")]
    NoFace { frame: FrameRole },
    #[error("{frame}: {count} faces found, one needed")]
    SeveralFaces { frame: FrameRole, count: usize },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl MeasureError {
    /// The frame the problem is about (`None` for engine failures).
    pub fn frame(&self) -> Option<FrameRole> {
        match self {
            Self::Decode { frame, .. }
            | Self::NoFace { frame }
            | Self::SeveralFaces { frame, .. } => Some(*frame),
            Self::Engine(_) => None,
        }
    }
}

/// One encoded challenge frame with its capture time (Unix epoch ms, device clock), when the
/// device sent one.
#[derive(Debug, Clone, Copy)]
pub struct TimedFrame<'a> {
    pub bytes: &'a [u8],
    pub captured_at_ms: Option<u64>,
}

/// The challenge's verdict on the challenge frames.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChallengeScore {
    pub verdict: ActiveVerdict,
    /// Whether the challenge's first face is the best frame's face (`None` when the challenge
    /// failed or had no descriptor).
    pub same_face_as_best: Option<bool>,
}

/// The measured evidence of one check-in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// The subject (the face the quality gate judged) in the best frame.
    pub face: Detection,
    pub faces_found: usize,
    /// Quality problems of the best frame other than "no face" / "several faces".
    pub quality: Vec<QualityReason>,
    pub descriptor: Descriptor,
    /// Passive liveness of the subject, when the models are loaded.
    pub passive: Option<PassiveScore>,
    /// Landmarks and descriptor of the largest face of every challenge frame, in upload order.
    pub challenge_frames: Vec<ChallengeFrame>,
    /// Set by [`measure`] when a challenge is given, or later by [`Measurement::score_challenge`].
    pub challenge: Option<ChallengeScore>,
}

impl Measurement {
    /// Passive liveness passed (true when the models are not loaded).
    pub fn live(&self) -> bool {
        self.passive.as_ref().is_none_or(|p| p.live)
    }

    /// Scores the challenge on the measured challenge frames at `now_ms`. Frames without a
    /// capture time are taken in upload order just after the challenge's issue. The same-face
    /// rule is the calibrated verification rule of the descriptors' model.
    pub fn score_challenge(
        &mut self,
        engine: &Engine,
        challenge: &Challenge,
        now_ms: u64,
    ) -> Result<&ChallengeScore, EngineError> {
        for (i, f) in self.challenge_frames.iter_mut().enumerate() {
            if f.captured_at_ms == 0 {
                f.captured_at_ms = challenge.issued_at_ms + i as u64 + 1;
            }
        }
        let config = ActiveConfig::for_model(engine.manifest(), &self.descriptor.model.0)?;
        let verdict = verify_challenge_at(challenge, &self.challenge_frames, &config, now_ms);
        let same_face_as_best = match self.challenge_frames.first() {
            Some(ChallengeFrame {
                descriptor: Some(first),
                ..
            }) if verdict.passed => {
                let best = engine.challenge_descriptor(&self.descriptor)?;
                Some(engine.verify(first, &best)?.same)
            }
            _ => None,
        };
        Ok(self.challenge.insert(ChallengeScore {
            verdict,
            same_face_as_best,
        }))
    }
}

/// Measures a check-in: decodes the best frame, finds exactly one face (with the border retry
/// when the rules ask for it), judges its quality, embeds it with the default embedder and
/// scores passive liveness; measures the largest face of every challenge frame with the
/// default embedder's challenge embedder (a fusion's `challenge` component: only the best
/// frame is matched against templates, so only it pays for both networks); scores the
/// challenge when one is given (at `now_ms`). A typed error names the frame that is unusable.
pub fn measure(
    engine: &Engine,
    best: &[u8],
    challenge_frames: &[TimedFrame<'_>],
    challenge: Option<(&Challenge, u64)>,
    rules: &MeasureRules,
) -> Result<Measurement, MeasureError> {
    let decode = |frame: FrameRole, bytes: &[u8]| {
        decode::decode_with_limits(bytes, &rules.decode)
            .map(|d| d.rgb)
            .map_err(|source| MeasureError::Decode { frame, source })
    };
    let detect = |image: &image::RgbImage| -> Result<Vec<Detection>, EngineError> {
        if rules.border_retry {
            Ok(engine.detect_with_border_retry(image, &rules.detector)?.0)
        } else {
            engine.detect(image, &rules.detector)
        }
    };

    let image = decode(FrameRole::Best, best)?;
    let dets = detect(&image)?;
    let verdict = quality::assess_with(&image, &dets, rules.mode, &rules.quality);
    for r in &verdict.reasons {
        match r {
            QualityReason::NoFace => {
                return Err(MeasureError::NoFace {
                    frame: FrameRole::Best,
                });
            }
            QualityReason::SeveralFaces { count } => {
                return Err(MeasureError::SeveralFaces {
                    frame: FrameRole::Best,
                    count: *count,
                });
            }
            _ => {}
        }
    }
    let face = *verdict
        .face
        .and_then(|i| dets.get(i))
        .ok_or(MeasureError::NoFace {
            frame: FrameRole::Best,
        })?;
    let descriptor = engine.embed(&image, &face, None)?;
    let passive = match engine.liveness() {
        Ok(_) => Some(engine.passive_liveness(&image, &face)?),
        Err(_) => None,
    };

    let challenge_model = engine.challenge_embedder(None)?;
    let challenge_id = Some(challenge_model.0.as_str());
    let mut frames = Vec::with_capacity(challenge_frames.len());
    for (i, f) in challenge_frames.iter().enumerate() {
        let role = FrameRole::Challenge(i);
        // The phone's best frame is usually also the challenge's neutral reference, uploaded as
        // the same bytes: measuring it again would give the same detections and the same
        // descriptor, at a fifth of a check-in's engine time.
        if f.bytes == best
            && let Some(largest) = crate::detect::largest(&dets)
        {
            frames.push(ChallengeFrame {
                captured_at_ms: f.captured_at_ms.unwrap_or(0),
                landmarks: largest.landmarks,
                descriptor: Some(if *largest == face {
                    engine.challenge_descriptor(&descriptor)?
                } else {
                    engine.embed(&image, largest, challenge_id)?
                }),
            });
            continue;
        }
        let img = decode(role, f.bytes)?;
        let dets = detect(&img)?;
        let Some(largest) = crate::detect::largest(&dets) else {
            return Err(MeasureError::NoFace { frame: role });
        };
        frames.push(ChallengeFrame {
            captured_at_ms: f.captured_at_ms.unwrap_or(0),
            landmarks: largest.landmarks,
            descriptor: Some(engine.embed(&img, largest, challenge_id)?),
        });
    }

    let mut m = Measurement {
        face,
        faces_found: dets.len(),
        quality: verdict.reasons,
        descriptor,
        passive,
        challenge_frames: frames,
        challenge: None,
    };
    if let Some((challenge, now_ms)) = challenge {
        m.score_challenge(engine, challenge, now_ms)?;
    }
    Ok(m)
}
