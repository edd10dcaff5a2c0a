//! Kiosk liveness challenges. A shared entrance tablet does not know who is in front of it
//! until it identifies them, so its challenge is issued to the kiosk device (no employee),
//! is short-lived and single use like a phone's, and is scored with the same scoring
//! ([`crate::liveness::score`]). The decision differs from a phone punch: a kiosk is a fixed,
//! supervised device at the door, and a still camera (or a person who does not follow the
//! prompts) always fails a movement challenge, so a missing or failed kiosk challenge
//! **flags** the punch for review with its reason code instead of rejecting it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use faceid_face::{Engine, Measurement};
use faceid_protocol::attendance::CHALLENGE_FRAME_PART;
use faceid_protocol::liveness::{LivenessChallenge, MAX_NONCE_LEN};
use faceid_protocol::problem::Problem;
use sqlx::PgPool;
use uuid::Uuid;

use crate::AppState;
use crate::attendance::LivenessMode;
use crate::auth::Kiosk;
use crate::error::{AppError, AppResult};
use crate::liveness::{self, ChallengeError};

/// `POST`: a challenge for whoever stands in front of the calling kiosk.
pub const KIOSK_CHALLENGES_PATH: &str = "/api/v1/kiosk/challenges";

/// Issues a head-movement challenge to the calling kiosk: 2–3 movements, valid for two
/// minutes, usable once, and only by this kiosk's `/kiosk/identify`.
#[utoipa::path(post, path = "/api/v1/kiosk/challenges", tag = "attendance", security(("bearer" = [])),
    responses(
        (status = 201, description = "issued", body = LivenessChallenge),
        (status = 403, description = "`forbidden`: not a kiosk credential", body = Problem)))]
pub async fn create_challenge(
    State(state): State<AppState>,
    Kiosk(kiosk): Kiosk,
) -> AppResult<(StatusCode, Json<LivenessChallenge>)> {
    let c = liveness::issue_kiosk(&state.db, kiosk.device_id).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// The challenge parts of a kiosk identification agree with each other: frames need a nonce,
/// a nonce needs frames, and capture times (when sent) are one per frame.
pub fn check_challenge_parts(
    nonce: Option<&str>,
    times_ms: &[u64],
    frames: usize,
) -> AppResult<()> {
    match nonce {
        None if frames > 0 => {
            let message = "challenge frames need the `challenge_nonce` they answer";
            return Err(AppError::Refused {
                code: "challenge_nonce_missing",
                detail: message.into(),
                errors: vec![faceid_protocol::problem::FieldError {
                    field: CHALLENGE_FRAME_PART.into(),
                    code: "challenge_nonce_missing".into(),
                    message: message.into(),
                }],
            });
        }
        Some(_) if frames == 0 => {
            return Err(AppError::bad_request(
                "challenge_frames_missing",
                "a challenge nonce was sent without challenge frames",
            ));
        }
        Some(n) if n.is_empty() || n.len() > MAX_NONCE_LEN => {
            return Err(AppError::field(
                "challenge_nonce",
                "invalid_length",
                format!("must be 1..={MAX_NONCE_LEN} bytes"),
            ));
        }
        _ => {}
    }
    if !times_ms.is_empty() && times_ms.len() != frames {
        return Err(AppError::field(
            "challenge_frame_times_ms",
            "count_mismatch",
            format!(
                "{} capture times for {frames} challenge frames",
                times_ms.len()
            ),
        ));
    }
    Ok(())
}

/// Consumes the kiosk's challenge (when one was sent) and scores the measured frames: the
/// flag reason for the punch, or `None` when the challenge passed (or is not asked for by the
/// `passive` policy). A nonce that is unknown, expired, used, or another kiosk's (or an
/// employee's) is a typed 400 and nothing is recorded.
pub async fn judge_challenge(
    pool: &PgPool,
    engine: &Engine,
    measured: &mut Measurement,
    nonce: Option<&str>,
    kiosk: Uuid,
    mode: LivenessMode,
) -> AppResult<Option<&'static str>> {
    let Some(nonce) = nonce else {
        return Ok((mode == LivenessMode::PassiveChallenge).then_some("challenge_missing"));
    };
    let c = liveness::consume_kiosk_challenge(pool, nonce, kiosk)
        .await
        .map_err(|e| match e {
            ChallengeError::Db(e) => AppError::from(e),
            e => AppError::bad_request(e.code(), e.to_string()),
        })?;
    liveness::score(engine, measured, &c).map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parts_must_agree() {
        assert!(check_challenge_parts(None, &[], 0).is_ok());
        assert!(check_challenge_parts(Some("n"), &[1, 2], 2).is_ok());
        assert!(check_challenge_parts(Some("n"), &[], 2).is_ok());
        let code = |r: AppResult<()>| match r {
            Err(AppError::Refused { code, .. }) => code.to_owned(),
            Err(e) => format!("{e:?}"),
            Ok(()) => "ok".into(),
        };
        assert_eq!(
            code(check_challenge_parts(None, &[], 1)),
            "challenge_nonce_missing"
        );
        assert!(check_challenge_parts(Some("n"), &[], 0).is_err());
        assert!(check_challenge_parts(Some(""), &[], 1).is_err());
        assert!(check_challenge_parts(Some("n"), &[1], 2).is_err());
    }
}
