//! Handlers of erasure requests; the domain is [`crate::privacy::erasure`].

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, AuthUser};
use crate::error::{AppError, AppResult, ResultExt};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::jobs::{self};
use crate::routes::Check;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::privacy::{
    ERASURE_REQUEST_APPROVE_PATH, ERASURE_REQUEST_REFUSE_PATH, ERASURE_REQUESTS_PATH,
};
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use crate::privacy::erasure::*;

/// Files an erasure request for the caller's data. An administrator approves or refuses it;
/// one open request per scope.
#[utoipa::path(post, path = MY_ERASURE_REQUESTS_PATH, tag = "privacy", security(("bearer" = [])),
    request_body = NewErasureRequest,
    responses(
        (status = 201, description = "filed", body = ErasureRequest),
        (status = 409, description = "`erasure_request_open`: one of this scope is already open", body = Problem),
        (status = 422, description = "invalid body", body = Problem)))]
pub async fn create_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiJson(req): ApiJson<NewErasureRequest>,
) -> AppResult<(StatusCode, Json<ErasureRequest>)> {
    let mut check = Check::default();
    let comment = check.opt_text("comment", req.comment.as_deref(), MAX_TEXT_LEN);
    check.finish()?;
    let mut tx = state.db.begin().await?;
    let r: ErasureRequest = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO erasure_requests (id, employee_id, scope, comment) VALUES ($1, $2, $3, $4)
         RETURNING {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(caller.id)
    .bind(req.scope)
    .bind(comment)
    .fetch_one(&mut *tx)
    .await
    .on_constraint("erasure_requests_open_key", || {
        AppError::conflict(
            ErrorCode::ErasureRequestOpen,
            "an erasure request of this scope is already open",
        )
    })?;
    audit::record(
        &mut tx,
        &caller,
        "erasure_request.create",
        "employee",
        Some(caller.id),
        audit::NONE,
        Some(&r),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// The caller's erasure requests, newest first, with what each removed and kept.
#[utoipa::path(get, path = MY_ERASURE_REQUESTS_PATH, tag = "privacy", security(("bearer" = [])),
    responses((status = 200, description = "requests", body = Vec<ErasureRequest>)))]
pub async fn list_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<Vec<ErasureRequest>>> {
    let rows: Vec<ErasureRequest> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM erasure_requests WHERE employee_id = $1 ORDER BY requested_at DESC, id DESC"
    )))
    .bind(caller.id)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows))
}

/// Erasure requests of every employee, oldest open first (administrators).
#[utoipa::path(get, path = ERASURE_REQUESTS_PATH, tag = "privacy", security(("bearer" = [])),
    params(ErasureQuery),
    responses(
        (status = 200, description = "requests", body = Vec<ErasureRequest>),
        (status = 400, description = "`invalid_query`", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiQuery(q): ApiQuery<ErasureQuery>,
) -> AppResult<Json<Vec<ErasureRequest>>> {
    let rows: Vec<ErasureRequest> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM erasure_requests WHERE ($1::text IS NULL OR state = $1)
         ORDER BY (state IN ('pending', 'approved')) DESC, requested_at, id LIMIT 500"
    )))
    .bind(q.state)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows))
}

/// Approves a pending request: the cascade job is queued in the same transaction (audited).
#[utoipa::path(post, path = ERASURE_REQUEST_APPROVE_PATH, tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "request id")),
    responses(
        (status = 200, description = "approved; the cascade is queued", body = ErasureRequest),
        (status = 403, description = "`own_request`: another administrator decides on one's own erasure", body = Problem),
        (status = 404, description = "no such request", body = Problem),
        (status = 409, description = "`erasure_request_not_pending`", body = Problem)))]
pub async fn approve(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ErasureRequest>> {
    let mut tx = state.db.begin().await?;
    let before = load(&mut tx, id).await?;
    // Four eyes: an administrator erasing their own account could remove the last way in.
    if before.employee_id == caller.id {
        return Err(AppError::forbidden(
            ErrorCode::OwnRequest,
            "another administrator decides on your own erasure request",
        ));
    }
    if before.state != "pending" {
        return Err(not_pending(&before));
    }
    let r: ErasureRequest = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE erasure_requests SET state = 'approved', decided_by = $2, decided_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(caller.id)
    .fetch_one(&mut *tx)
    .await?;
    jobs::enqueue(
        &mut tx,
        crate::privacy::ERASURE_JOB,
        &serde_json::json!({ "request_id": id }),
        jobs::Enqueue {
            unique_key: Some(format!("{}:{id}", crate::privacy::ERASURE_JOB)),
            ..Default::default()
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "erasure_request.approve",
        "employee",
        Some(r.employee_id),
        Some(&before),
        Some(&r),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(r))
}

/// Refuses a pending request with a reason the employee sees (audited).
#[utoipa::path(post, path = ERASURE_REQUEST_REFUSE_PATH, tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "request id")),
    request_body = Refusal,
    responses(
        (status = 200, description = "refused", body = ErasureRequest),
        (status = 404, description = "no such request", body = Problem),
        (status = 409, description = "`erasure_request_not_pending`", body = Problem),
        (status = 422, description = "empty or too long reason", body = Problem)))]
pub async fn refuse(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Refusal>,
) -> AppResult<Json<ErasureRequest>> {
    let mut check = Check::default();
    let reason = check.text("reason", &body.reason, MAX_TEXT_LEN);
    check.finish()?;
    let mut tx = state.db.begin().await?;
    let before = load(&mut tx, id).await?;
    if before.state != "pending" {
        return Err(not_pending(&before));
    }
    let r: ErasureRequest = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE erasure_requests SET state = 'refused', decided_by = $2, decided_at = now(),
                refusal_reason = $3, finished_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(caller.id)
    .bind(reason)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "erasure_request.refuse",
        "employee",
        Some(r.employee_id),
        Some(&before),
        Some(&r),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(r))
}
