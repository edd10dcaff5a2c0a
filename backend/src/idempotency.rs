//! Idempotent replay, one rule for every request that carries an idempotency key (a punch, a
//! kiosk identification, a location batch): the first answer is stored with a hash of the
//! request; the same key with the same payload replays that answer and creates nothing, and
//! with another payload it is 409 `idempotency_key_reused`. Where the answers are stored is
//! the caller's (the attendance log, `location_batch_requests`); the decision is [`replay`].

use faceid_protocol::error_code::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::{AppError, AppResult};

/// What an earlier request with the same key left: the hash of its payload and its answer.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct Prior {
    pub request_hash: Option<Vec<u8>>,
    pub response: Option<serde_json::Value>,
}

/// The answer to give again for a key: `None` when no earlier request used it, its stored
/// answer when it carried the same payload (`hash`), else 409 `idempotency_key_reused` with
/// `reused` as the detail.
pub fn replay<T: DeserializeOwned>(
    prior: Option<Prior>,
    hash: &[u8],
    reused: &str,
) -> AppResult<Option<T>> {
    match prior {
        None => Ok(None),
        Some(Prior {
            request_hash: Some(h),
            response: Some(answer),
        }) if h == hash => serde_json::from_value(answer)
            .map(Some)
            .map_err(AppError::internal),
        Some(_) => Err(AppError::conflict(
            ErrorCode::IdempotencyKeyReused,
            reused.to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior(hash: &[u8], answer: Option<serde_json::Value>) -> Option<Prior> {
        Some(Prior {
            request_hash: Some(hash.to_vec()),
            response: answer,
        })
    }

    fn code(r: AppResult<Option<u32>>) -> String {
        match r {
            Ok(v) => format!("{v:?}"),
            Err(AppError::Conflict { code, .. }) => code.as_str().to_owned(),
            Err(e) => format!("{e:?}"),
        }
    }

    #[test]
    fn a_new_key_has_nothing_to_replay() {
        assert_eq!(code(replay(None, b"h", "reused")), "None");
    }

    #[test]
    fn the_same_payload_replays_the_stored_answer() {
        assert_eq!(
            code(replay(prior(b"h", Some(serde_json::json!(7))), b"h", "x")),
            "Some(7)"
        );
    }

    #[test]
    fn another_payload_or_no_stored_answer_is_a_conflict() {
        let reused = "idempotency_key_reused";
        assert_eq!(
            code(replay(
                prior(b"h", Some(serde_json::json!(7))),
                b"other",
                "x"
            )),
            reused
        );
        assert_eq!(code(replay(prior(b"h", None), b"h", "x")), reused);
        let no_hash = Some(Prior {
            request_hash: None,
            response: Some(serde_json::json!(7)),
        });
        assert_eq!(code(replay(no_hash, b"h", "x")), reused);
    }
}
