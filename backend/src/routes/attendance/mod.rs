//! Attendance over HTTP: check-in and check-out ([`check_in`]), kiosk identification
//! ([`kiosk`]), reviews and corrections ([`review`]), listings and the chain verification
//! ([`listing`]) and the attendance policy ([`policy`]). Each handler extracts and
//! authorises, then calls the domain ([`crate::attendance`]): the measurement, the verdict,
//! the idempotent replay and the hash chain.

use faceid_protocol::error_code::ErrorCode;
use std::sync::Arc;

use axum::body::Bytes;
use faceid_face::{Engine, MeasureRules, Measurement};
use faceid_protocol::attendance::{
    BEST_FRAME_PART, CHALLENGE_FRAME_PART, EVIDENCE_PART, MAX_CHALLENGE_FRAMES,
};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::attendance::measure::measure;
use crate::error::{AppError, AppResult};
use crate::face;

pub mod check_in;
pub mod kiosk;
pub mod listing;
pub mod policy;
pub mod review;

/// The attendance routes (uploads with the photo body limit).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(check_in::check_in))
                .routes(routes!(kiosk::kiosk_identify))
                .layer(axum::extract::DefaultBodyLimit::max(
                    face::MAX_PHOTO_BODY_BYTES,
                )),
        )
        .routes(routes!(kiosk::create_challenge))
        .routes(routes!(
            policy::get_global_policy,
            policy::put_global_policy
        ))
        .routes(routes!(policy::get_site_policy, policy::put_site_policy))
        .routes(routes!(listing::chain_verify))
        .routes(routes!(review::review))
        .routes(routes!(review::correct))
        .routes(routes!(listing::my_attendance))
        .routes(routes!(listing::list))
        .routes(routes!(listing::photo))
}

/// The multipart parts of a punch.
struct Upload {
    evidence_bytes: Vec<u8>,
    best: Bytes,
    challenge: Vec<Bytes>,
}

/// Reads the parts of a punch: the evidence JSON, the best frame and the challenge frames.
async fn read_upload(mp: &mut axum::extract::Multipart) -> AppResult<Upload> {
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
                    ErrorCode::UnexpectedPart,
                    format!("unexpected or repeated part {other:?}"),
                ));
            }
        }
    }
    if let Some(bytes) = &evidence {
        crate::extract::check_json(bytes, EVIDENCE_PART)?;
    }
    Ok(Upload {
        evidence_bytes: evidence.ok_or_else(|| {
            AppError::bad_request(
                ErrorCode::EvidenceMissing,
                "the `evidence` JSON part is missing",
            )
        })?,
        best: best.ok_or_else(|| {
            AppError::bad_request(
                ErrorCode::BestFrameMissing,
                "the `best_frame` part is missing",
            )
        })?,
        challenge,
    })
}

/// SHA-256 over the evidence JSON and every image part (length-prefixed), to tell a retry
/// from a different request with the same idempotency key.
fn request_hash(u: &Upload) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in std::iter::once(&u.evidence_bytes[..])
        .chain(std::iter::once(&u.best[..]))
        .chain(u.challenge.iter().map(|b| &b[..]))
    {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().to_vec()
}

/// Measures an upload on the face queue (decoding included): the best frame, and the
/// challenge frames with their capture times.
async fn measure_upload(
    state: &AppState,
    engine: &Arc<Engine>,
    upload: &Upload,
    times_ms: &[u64],
    rules: MeasureRules,
) -> AppResult<Measurement> {
    let engine = Arc::clone(engine);
    let best = upload.best.clone();
    let challenge = upload.challenge.clone();
    let times = times_ms.to_vec();
    let frames: Vec<&[u8]> = std::iter::once(&upload.best[..])
        .chain(upload.challenge.iter().map(|b| &b[..]))
        .collect();
    face::measure_blocking(state, &frames, move || {
        measure(&engine, &best, &challenge, &times, &rules)
    })
    .await
}

/// 404 unless the site exists.
async fn site_exists(state: &AppState, id: Uuid) -> AppResult<()> {
    let ok: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sites WHERE id = $1)")
        .bind(id)
        .fetch_one(&state.db)
        .await?;
    if ok {
        Ok(())
    } else {
        Err(AppError::not_found("site"))
    }
}
