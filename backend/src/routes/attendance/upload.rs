//! The multipart body of a punch (phone check-in and kiosk identification).

use axum::body::Bytes;
use faceid_protocol::attendance::{
    BEST_FRAME_PART, CHALLENGE_FRAME_PART, EVIDENCE_PART, MAX_CHALLENGE_FRAMES,
};

use crate::error::{AppError, AppResult};
use crate::face;
use crate::idempotency;

/// The multipart parts of a punch.
pub struct Upload {
    pub evidence_bytes: Vec<u8>,
    pub best: Bytes,
    pub challenge: Vec<Bytes>,
}

impl Upload {
    pub async fn read(mp: &mut axum::extract::Multipart) -> AppResult<Self> {
        let parts = face::read_parts(mp, MAX_CHALLENGE_FRAMES + 2).await?;
        let mut evidence = None;
        let mut best = None;
        let mut challenge = Vec::new();
        for p in parts {
            match p.name.as_str() {
                EVIDENCE_PART if evidence.is_none() => evidence = Some(p.bytes.to_vec()),
                BEST_FRAME_PART if best.is_none() => best = Some(p.bytes),
                CHALLENGE_FRAME_PART => challenge.push(p.bytes),
                other => {
                    return Err(AppError::bad_request(
                        "unexpected_part",
                        format!("unexpected or repeated part {other:?}"),
                    ));
                }
            }
        }
        Ok(Self {
            evidence_bytes: evidence.ok_or_else(|| {
                AppError::bad_request("evidence_missing", "the `evidence` JSON part is missing")
            })?,
            best: best.ok_or_else(|| {
                AppError::bad_request("best_frame_missing", "the `best_frame` part is missing")
            })?,
            challenge,
        })
    }

    /// SHA-256 over the evidence JSON and every image part (length-prefixed), to tell a retry
    /// from a different request with the same idempotency key.
    pub fn request_hash(&self) -> Vec<u8> {
        idempotency::parts_hash(
            std::iter::once(&self.evidence_bytes[..])
                .chain(std::iter::once(&self.best[..]))
                .chain(self.challenge.iter().map(|b| &b[..])),
        )
    }
}
