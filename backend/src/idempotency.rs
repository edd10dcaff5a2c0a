//! Idempotent replay, one rule for every endpoint that takes an idempotency key (check-in,
//! kiosk identification, location batches): a request sent again with the same key and the
//! same payload gets the first answer; the same key with another payload is 409
//! `idempotency_key_reused`. Each endpoint stores the payload hash and the answer next to
//! what it recorded and reads them back as a [`Prior`].

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// What an earlier request with the same key left: its payload hash and its answer.
pub type Prior = (Option<Vec<u8>>, Option<serde_json::Value>);

/// The stored answer when `prior` exists with the same payload hash; 409 with `reused` as
/// the detail when the key was used for another payload; `None` for a new key.
pub fn replay<T: DeserializeOwned>(
    prior: Option<Prior>,
    hash: &[u8],
    reused: &'static str,
) -> AppResult<Option<T>> {
    match prior {
        None => Ok(None),
        Some((Some(h), Some(answer))) if h == hash => Ok(Some(
            serde_json::from_value(answer).map_err(AppError::internal)?,
        )),
        Some(_) => Err(AppError::conflict("idempotency_key_reused", reused)),
    }
}

/// SHA-256 over parts, each prefixed with its length, to tell a retry from a different
/// request with the same key.
pub fn parts_hash<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REUSED: &str = "reused";

    #[test]
    fn new_key_replays_nothing() {
        assert_eq!(replay::<u32>(None, b"h", REUSED).unwrap(), None);
    }

    #[test]
    fn same_payload_replays_the_answer() {
        let prior = (Some(b"h".to_vec()), Some(serde_json::json!(7)));
        assert_eq!(replay::<u32>(Some(prior), b"h", REUSED).unwrap(), Some(7));
    }

    #[test]
    fn other_payload_or_no_answer_is_a_conflict() {
        for prior in [
            (Some(b"x".to_vec()), Some(serde_json::json!(7))),
            (None, Some(serde_json::json!(7))),
            (Some(b"h".to_vec()), None),
        ] {
            let e = replay::<u32>(Some(prior), b"h", REUSED).unwrap_err();
            assert!(matches!(e, AppError::Conflict { code: "idempotency_key_reused", .. }));
        }
    }

    #[test]
    fn parts_hash_tells_boundaries_apart() {
        assert_ne!(
            parts_hash([&b"ab"[..], &b"c"[..]]),
            parts_hash([&b"a"[..], &b"bc"[..]])
        );
    }
}
