//! Measuring a punch: the engine run on the uploaded frames, and the face match against the
//! employee's templates.

use faceid_face::detect::DetectorConfig;
use faceid_face::liveness::active::ChallengeFrame;
use faceid_face::{Descriptor, Engine};
use faceid_protocol::attendance::{BEST_FRAME_PART, CHALLENGE_FRAME_PART};
use uuid::Uuid;

use super::policy::AttendancePolicy;
use crate::error::{AppError, AppResult};
use crate::face::{self, PhotoRefusal};

/// Everything the engine measured on the uploaded frames.
pub struct Measured {
    pub descriptor: Descriptor,
    pub liveness: Option<f32>,
    pub live: bool,
    pub quality_problems: Vec<&'static str>,
    pub challenge_frames: Vec<ChallengeFrame>,
}

fn refusal_error(part: &str, r: PhotoRefusal) -> AppError {
    AppError::Refused {
        code: r.code,
        detail: format!("{part}: {}", r.message),
        errors: vec![r.field(part.to_owned())],
    }
}

/// Runs the engine on the best frame and the challenge frames.
pub fn measure(
    engine: &Engine,
    best: &[u8],
    challenge: &[axum::body::Bytes],
    detector: &DetectorConfig,
) -> AppResult<Measured> {
    let a = face::analyse(engine, best, detector).map_err(|r| refusal_error(BEST_FRAME_PART, r))?;
    let mut frames = Vec::with_capacity(challenge.len());
    for (i, bytes) in challenge.iter().enumerate() {
        let name = format!("{CHALLENGE_FRAME_PART}[{i}]");
        let img = faceid_face::decode::decode_with_limits(bytes, &face::decode_limits())
            .map_err(|e| {
                refusal_error(
                    &name,
                    PhotoRefusal {
                        code: face::decode_code(&e),
                        message: e.to_string(),
                    },
                )
            })?
            .rgb;
        let (dets, _) = engine
            .detect_with_border_retry(&img, &DetectorConfig::CHECK_IN)
            .map_err(AppError::internal)?;
        let Some(f) = faceid_face::detect::largest(&dets) else {
            return Err(refusal_error(
                &name,
                PhotoRefusal {
                    code: "no_face",
                    message: "no face found".into(),
                },
            ));
        };
        let d = engine.embed(&img, f, None).map_err(AppError::internal)?;
        frames.push(ChallengeFrame {
            // Filled in by the caller from the evidence (or the issue time).
            captured_at_ms: 0,
            landmarks: f.landmarks,
            descriptor: Some(d),
        });
    }
    Ok(Measured {
        quality_problems: a.quality_problems.iter().map(|q| q.code()).collect(),
        descriptor: a.descriptor,
        liveness: a.liveness,
        live: a.live,
        challenge_frames: frames,
    })
}

/// Face match of a measured descriptor against the employee's templates: the smallest
/// distance, and the threshold used.
pub fn face_match(
    engine: &Engine,
    probe: &Descriptor,
    templates: &[(Uuid, Uuid, Descriptor)],
    policy: &AttendancePolicy,
) -> AppResult<Option<(f32, f32)>> {
    let (_, model_threshold, _) = engine
        .match_params(&probe.model)
        .map_err(AppError::internal)?;
    let threshold = policy.face_threshold.unwrap_or(model_threshold);
    let mut best: Option<f32> = None;
    for (_, _, t) in templates {
        let v = engine.verify(probe, t).map_err(AppError::internal)?;
        best = Some(best.map_or(v.distance, |b: f32| b.min(v.distance)));
    }
    Ok(best.map(|d| (d, threshold)))
}
