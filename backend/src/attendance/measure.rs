//! The server's measurement of a punch: the shared check-in measurement (`faceid_face::measure`)
//! on the uploaded frames, the answered liveness challenge, and the 1:1 match of its descriptor
//! against the employee's templates.

use faceid_face::measure::{FrameRole, TimedFrame};

use faceid_face::{Descriptor, Engine, MeasureRules, Measurement};
use faceid_protocol::attendance::{AttendancePolicy, BEST_FRAME_PART, CHALLENGE_FRAME_PART};
use sqlx::PgPool;
use uuid::Uuid;

use super::verdict::Challenge;
use crate::error::{AppError, AppResult};
use crate::face::{self, PhotoRefusal};
use crate::liveness::{self, ChallengeError};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::reason_code::ReasonCode;

fn refusal_error(part: &str, code: ErrorCode, r: PhotoRefusal) -> AppError {
    AppError::Refused {
        code,
        detail: format!("{part}: {}", r.message),
        errors: vec![r.field(part.to_owned())],
    }
}

/// Runs the shared check-in measurement (the phone's, see `faceid_face::measure`) on the best
/// frame and the challenge frames; the challenge is scored once consumed
/// ([`Measurement::score_challenge`]).
pub fn measure<B: AsRef<[u8]>>(
    engine: &Engine,
    best: &[u8],
    challenge: &[B],
    times_ms: &[u64],
    rules: &MeasureRules,
) -> AppResult<Measurement> {
    let frames: Vec<TimedFrame<'_>> = challenge
        .iter()
        .enumerate()
        .map(|(i, bytes)| TimedFrame {
            bytes: bytes.as_ref(),
            captured_at_ms: times_ms.get(i).copied(),
        })
        .collect();
    faceid_face::measure(engine, best, &frames, None, rules).map_err(|e| {
        let part = match e.frame() {
            Some(FrameRole::Challenge(i)) => format!("{CHALLENGE_FRAME_PART}[{i}]"),
            _ => BEST_FRAME_PART.to_owned(),
        };
        refusal_error(&part, face::refusal_code(&e), face::refusal(&e))
    })
}

/// The verdict reason of an image-quality reason of the best frame (`quality_` and the face
/// engine's code).
pub fn quality_reason(q: &faceid_face::quality::QualityReason) -> ReasonCode {
    face::quality_codes(q).0
}

/// The 1:1 / 1:N threshold of a punch: the policy's `face_threshold` when set, else the
/// model's calibrated one. The policy's value is a distance of one embedder (within (0, 2]);
/// a fusion's fused distances are z-scores on another scale (its threshold is negative), so
/// for a fusion the override does not apply and the manifest's fused threshold is used.
pub fn face_threshold(
    policy: &AttendancePolicy,
    metric: faceid_face::Metric,
    model_threshold: f32,
) -> f32 {
    match (metric, policy.face_threshold) {
        (faceid_face::Metric::Fused(_), Some(t)) => {
            tracing::debug!(
                policy = t,
                fused = model_threshold,
                "the policy's face_threshold is a single embedder's distance: a fusion uses its own"
            );
            model_threshold
        }
        (_, t) => t.unwrap_or(model_threshold),
    }
}

/// Face match of a measured descriptor against the employee's templates: the smallest
/// distance, and the threshold used.
pub fn face_match(
    engine: &Engine,
    probe: &Descriptor,
    templates: &[(Uuid, Uuid, Descriptor)],
    policy: &AttendancePolicy,
) -> AppResult<Option<(f32, f32)>> {
    let (metric, model_threshold, _) = engine
        .match_params(&probe.model)
        .map_err(AppError::internal)?;
    let threshold = face_threshold(policy, metric, model_threshold);
    let mut best: Option<f32> = None;
    for (_, _, t) in templates {
        let v = engine.verify(probe, t).map_err(AppError::internal)?;
        best = Some(best.map_or(v.distance, |b: f32| b.min(v.distance)));
    }
    Ok(best.map(|d| (d, threshold)))
}

/// Consumes the challenge a punch answers (when it names one) and scores the measured frames
/// against it: [`Challenge::NotSent`] without a nonce, else passed or failed with the reason.
/// A phone's challenge is the employee's on that device (`employee`), a kiosk's the kiosk's
/// alone. A nonce that is unknown, expired, used or someone else's is a typed 400 and nothing
/// is recorded.
pub async fn answer_challenge(
    pool: &PgPool,
    engine: &Engine,
    measured: &mut Measurement,
    nonce: Option<&str>,
    employee: Option<Uuid>,
    device: Uuid,
) -> AppResult<Challenge> {
    let Some(nonce) = nonce else {
        return Ok(Challenge::NotSent);
    };
    let consumed = match employee {
        Some(employee) => liveness::consume_challenge(pool, nonce, employee, device).await,
        None => liveness::consume_kiosk_challenge(pool, nonce, device).await,
    };
    let c = consumed.map_err(challenge_error)?;
    score_challenge(engine, measured, &c)
}

/// The answer to a punch whose challenge could not be consumed: a typed 400.
pub fn challenge_error(e: ChallengeError) -> AppError {
    match e {
        ChallengeError::Db(e) => AppError::from(e),
        e => AppError::bad_request(e.code(), e.to_string()),
    }
}

/// Scores the measured frames against a consumed challenge: passed, or failed with the reason.
pub fn score_challenge(
    engine: &Engine,
    measured: &mut Measurement,
    c: &liveness::Challenge,
) -> AppResult<Challenge> {
    Ok(
        match liveness::score(engine, measured, c).map_err(AppError::internal)? {
            None => Challenge::Passed,
            Some(reason) => Challenge::Failed(reason),
        },
    )
}
