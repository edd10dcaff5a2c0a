//! Kiosk liveness challenges. A shared entrance tablet does not know who is in front of it
//! until it identifies them, so its challenge is issued to the kiosk device (no employee),
//! is short-lived and single use like a phone's, and is scored with the same scoring
//! ([`crate::attendance::measure::answer_challenge`]). The decision differs from a phone
//! punch: a kiosk is a fixed, supervised device at the door, and a still camera (or a person
//! who does not follow the prompts) always fails a movement challenge, so a missing or failed
//! kiosk challenge **flags** the punch for review with its reason code instead of rejecting it
//! ([`crate::attendance::verdict`]). The handlers are in `routes::attendance::kiosk`.

use faceid_protocol::attendance::CHALLENGE_FRAME_PART;
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::liveness::MAX_NONCE_LEN;

use crate::error::{AppError, AppResult};

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
                code: ErrorCode::ChallengeNonceMissing,
                detail: message.into(),
                errors: vec![faceid_protocol::problem::FieldError::new(
                    CHALLENGE_FRAME_PART,
                    FieldCode::ChallengeNonceMissing,
                    message,
                )],
            });
        }
        Some(_) if frames == 0 => {
            return Err(AppError::bad_request(
                ErrorCode::ChallengeFramesMissing,
                "a challenge nonce was sent without challenge frames",
            ));
        }
        Some(n) if n.is_empty() || n.len() > MAX_NONCE_LEN => {
            return Err(AppError::field(
                "challenge_nonce",
                FieldCode::InvalidLength,
                format!("must be 1..={MAX_NONCE_LEN} bytes"),
            ));
        }
        _ => {}
    }
    if !times_ms.is_empty() && times_ms.len() != frames {
        return Err(AppError::field(
            "challenge_frame_times_ms",
            FieldCode::CountMismatch,
            format!(
                "{} capture times for {frames} challenge frames",
                times_ms.len()
            ),
        ));
    }
    Ok(())
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
            Err(AppError::Refused { code, .. }) => code.as_str().to_owned(),
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
