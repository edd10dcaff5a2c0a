//! Location batches from a phone: up to 1,000 points checked one by one, stored once, with
//! the answer replayed for a repeated `Idempotency-Key` ([`crate::idempotency`]).

use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::location::LOCATIONS_BATCH_PATH;
use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::Utc;
use faceid_protocol::consent::ConsentKind;
use faceid_protocol::location::{LocationBatch, LocationBatchResponse, LocationPoint};
use faceid_protocol::problem::Problem;
use faceid_protocol::sync::{IDEMPOTENCY_KEY_HEADER, check_uuid_v7};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, field_error};
use crate::idempotency::{self, Prior};
use crate::locations::{create_partitions, insert_points, partition_names};
use crate::privacy::restriction::{self, Processing};

/// The detail of a 409 `idempotency_key_reused`.
const REUSED: &str = "this Idempotency-Key was used with a different batch";

/// The `Idempotency-Key` header, when sent: a UUIDv7.
fn idempotency_key(headers: &HeaderMap) -> AppResult<Option<Uuid>> {
    let Some(v) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        .ok_or_else(|| {
            AppError::bad_request(
                ErrorCode::InvalidIdempotencyKey,
                "the Idempotency-Key header must be a UUIDv7",
            )
        })?;
    check_uuid_v7("Idempotency-Key", &key).map_err(|_| {
        AppError::bad_request(
            ErrorCode::InvalidIdempotencyKey,
            "the Idempotency-Key header must be a UUIDv7",
        )
    })?;
    Ok(Some(key))
}

/// Uploads a batch of up to 1,000 points recorded on the caller's device. Each point is
/// checked on its own (a bad point is listed in `rejected`, the others are stored); a point
/// the server already has (same employee, device and `recorded_at`) counts as a duplicate, so
/// re-sending is harmless. The `Idempotency-Key` header (UUIDv7) replays the first answer; the
/// same key with another body is 409 `idempotency_key_reused`.
#[utoipa::path(post, path = LOCATIONS_BATCH_PATH, tag = "locations", security(("bearer" = [])),
    request_body = LocationBatch,
    params(("Idempotency-Key" = Option<String>, Header, description = "UUIDv7 chosen by the device")),
    responses(
        (status = 200, description = "stored", body = LocationBatchResponse),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`", body = Problem),
        (status = 403, description = "`location_consent_required`, `processing_restricted`", body = Problem),
        (status = 409, description = "`idempotency_key_reused`", body = Problem),
        (status = 413, description = "body too large", body = Problem),
        (status = 422, description = "`count` (0 or more than 1,000 points), `unknown_field`", body = Problem)))]
pub async fn batch(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    headers: HeaderMap,
    ApiJson(batch): ApiJson<LocationBatch>,
) -> AppResult<Json<LocationBatchResponse>> {
    let key = idempotency_key(&headers)?;
    batch
        .validate_size()
        .map_err(|e| AppError::Validation(vec![field_error(&e)]))?;
    let body_hash = match key {
        Some(_) => Sha256::digest(serde_json::to_vec(&batch).map_err(AppError::internal)?).to_vec(),
        None => Vec::new(),
    };
    let now = Utc::now();
    let rejected = batch.rejections(now);
    let rejected_idx: BTreeSet<u32> = rejected.iter().map(|r| r.index).collect();
    let valid: Vec<&LocationPoint> = batch
        .points
        .iter()
        .enumerate()
        .filter(|(i, _)| !rejected_idx.contains(&u32::try_from(*i).unwrap_or(u32::MAX)))
        .map(|(_, p)| p)
        .collect();
    // One round trip before the insert: the consent, an earlier answer for the key, and which
    // monthly partitions are missing.
    let (consent, restricted, prior_hash, prior_response, missing): (
        bool,
        bool,
        Option<Vec<u8>>,
        Option<serde_json::Value>,
        Vec<String>,
    ) = sqlx::query_as(
        "SELECT coalesce((SELECT action = 'grant' FROM consent_records
                           WHERE employee_id = $1 AND kind = $4 ORDER BY id DESC LIMIT 1), false),
                EXISTS (SELECT 1 FROM processing_restrictions
                         WHERE employee_id = $1 AND kind = 'tracking'),
                r.body_hash, r.response,
                ARRAY(SELECT n FROM unnest($3::text[]) n WHERE to_regclass(n) IS NULL)
           FROM (SELECT 1) one
           LEFT JOIN location_batch_requests r ON r.employee_id = $1 AND r.key = $2",
    )
    .bind(caller.id)
    .bind(key)
    .bind(partition_names(valid.iter().map(|p| p.recorded_at)))
    .bind(ConsentKind::Location)
    .fetch_one(&state.db)
    .await?;
    if !consent {
        return Err(AppError::forbidden(
            ErrorCode::LocationConsentRequired,
            "the employee has not granted location consent",
        ));
    }
    if restricted {
        return Err(restriction::restricted(Processing::Tracking));
    }
    let prior = prior_hash.map(|h| Prior {
        request_hash: Some(h),
        response: prior_response,
    });
    if let Some(answer) = idempotency::replay(prior, &body_hash, REUSED)? {
        return Ok(Json(answer));
    }
    create_partitions(&state.db, missing).await?;
    let answer = |accepted: u64| {
        let accepted = u32::try_from(accepted).unwrap_or(u32::MAX);
        LocationBatchResponse {
            accepted,
            duplicates: u32::try_from(valid.len())
                .unwrap_or(u32::MAX)
                .saturating_sub(accepted),
            rejected: rejected.clone(),
        }
    };
    let Some(key) = key else {
        // One statement: without an answer to record it needs no transaction of its own.
        let accepted = if valid.is_empty() {
            0
        } else {
            let mut conn = state.db.acquire().await?;
            insert_points(&mut conn, caller.id, caller.device_id, &valid).await?
        };
        return Ok(Json(answer(accepted)));
    };
    let mut tx = state.db.begin().await?;
    let accepted = if valid.is_empty() {
        0
    } else {
        insert_points(&mut tx, caller.id, caller.device_id, &valid).await?
    };
    let response = answer(accepted);
    sqlx::query(
        "INSERT INTO location_batch_requests (employee_id, key, body_hash, response)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(caller.id)
    .bind(key)
    .bind(&body_hash)
    .bind(serde_json::to_value(&response).map_err(AppError::internal)?)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(response))
}
