//! Handlers of requests to correct one's data (rectification); the domain is [`crate::privacy::correction`].

use crate::AppState;
use crate::attendance::{ChainFields, append};
use crate::audit;
use crate::auth::{AuthUser, Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::Check;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::privacy::{CORRECTION_REQUEST_DECIDE_PATH, CORRECTION_REQUESTS_PATH};
use faceid_protocol::problem::Problem;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::privacy::correction::*;

/// Asks for a punch or a personal field to be corrected; the request goes to the operators'
/// review queue.
#[utoipa::path(post, path = MY_CORRECTION_REQUESTS_PATH, tag = "privacy", security(("bearer" = [])),
    request_body = NewCorrectionRequest,
    responses(
        (status = 201, description = "filed", body = EmployeeCorrectionRequest),
        (status = 404, description = "no such punch of the caller", body = Problem),
        (status = 422, description = "missing or invalid fields for the kind", body = Problem)))]
pub async fn create_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiJson(req): ApiJson<NewCorrectionRequest>,
) -> AppResult<(StatusCode, Json<EmployeeCorrectionRequest>)> {
    let mut check = Check::default();
    let comment = check.text("comment", &req.comment, MAX_COMMENT_LEN);
    let mut value = None;
    match req.kind {
        CorrectionKind::Punch => {
            if !matches!(req.punch_kind.as_deref(), Some("in" | "out")) {
                check.add(
                    "punch_kind",
                    FieldCode::Required,
                    "`in` or `out` is required",
                );
            }
            if req.at.is_none() {
                check.add(
                    "at",
                    FieldCode::Required,
                    "the time of the punch is required",
                );
            }
            if req.field.is_some() || req.value.is_some() {
                check.add(
                    "field",
                    FieldCode::NotAllowed,
                    "a punch request has no field",
                );
            }
        }
        CorrectionKind::Field => {
            if req.field.is_none() {
                check.add(
                    "field",
                    FieldCode::Required,
                    "the field to correct is required",
                );
            }
            value = Some(check.text("value", req.value.as_deref().unwrap_or(""), MAX_VALUE_LEN));
            if req.event_id.is_some() || req.at.is_some() || req.punch_kind.is_some() {
                check.add(
                    "event_id",
                    FieldCode::NotAllowed,
                    "a field request has no punch",
                );
            }
        }
    }
    check.finish()?;
    let mut tx = state.db.begin().await?;
    if let Some(ev) = req.event_id {
        let owner: Option<Uuid> = sqlx::query_scalar(
            "SELECT employee_id FROM attendance_events WHERE public_id = $1 AND kind IN ('in', 'out', 'correction')",
        )
        .bind(ev)
        .fetch_optional(&mut *tx)
        .await?;
        if owner != Some(caller.id) {
            return Err(AppError::not_found("attendance event"));
        }
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO correction_requests (id, employee_id, kind, event_id, punch_kind, at, field, value, comment)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(caller.id)
    .bind(match req.kind {
        CorrectionKind::Punch => "punch",
        CorrectionKind::Field => "field",
    })
    .bind(req.event_id)
    .bind(req.punch_kind.as_deref())
    .bind(req.at)
    .bind(req.field)
    .bind(value)
    .bind(comment)
    .execute(&mut *tx)
    .await?;
    let r = load(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller,
        "correction_request.create",
        "employee",
        Some(caller.id),
        audit::NONE,
        Some(&r),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// The caller's correction requests, newest first.
#[utoipa::path(get, path = MY_CORRECTION_REQUESTS_PATH, tag = "privacy", security(("bearer" = [])),
    responses((status = 200, description = "requests", body = Vec<EmployeeCorrectionRequest>)))]
pub async fn list_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<Vec<EmployeeCorrectionRequest>>> {
    let rows: Vec<EmployeeCorrectionRequest> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE c.employee_id = $1 ORDER BY c.created_at DESC, c.id DESC"
    )))
    .bind(caller.id)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows))
}

/// The review queue of correction requests within the caller's scope, oldest first.
#[utoipa::path(get, path = CORRECTION_REQUESTS_PATH, tag = "privacy", security(("bearer" = [])),
    params(CorrectionQuery),
    responses(
        (status = 200, description = "requests", body = Vec<EmployeeCorrectionRequest>),
        (status = 400, description = "`invalid_query`", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<CorrectionQuery>,
) -> AppResult<Json<Vec<EmployeeCorrectionRequest>>> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(SELECT);
    qb.push(" WHERE true");
    if let Some(st) = q.state.unwrap_or_default().state() {
        qb.push(" AND c.state = ").push_bind(st);
    }
    caller.scope().push_filter(&mut qb);
    qb.push(" ORDER BY c.created_at, c.id LIMIT 500");
    let rows: Vec<EmployeeCorrectionRequest> = qb.build_query_as().fetch_all(&state.db).await?;
    Ok(Json(rows))
}

/// Accepts or rejects a pending request (administrators; operators within their scope;
/// audited). Accepting a punch request appends a correction event to the chain; accepting a
/// field request updates the profile.
#[utoipa::path(post, path = CORRECTION_REQUEST_DECIDE_PATH, tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "request id")),
    request_body = CorrectionDecision,
    responses(
        (status = 200, description = "decided", body = EmployeeCorrectionRequest),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such request", body = Problem),
        (status = 409, description = "`correction_request_not_pending`", body = Problem),
        (status = 422, description = "invalid decision", body = Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CorrectionDecision>,
) -> AppResult<Json<EmployeeCorrectionRequest>> {
    let mut check = Check::default();
    let comment = check.opt_text("comment", body.comment.as_deref(), MAX_COMMENT_LEN);
    let accept = match body.decision.as_str() {
        "accept" => true,
        "reject" => false,
        _ => {
            check.add("decision", FieldCode::Invalid, "`accept` or `reject`");
            false
        }
    };
    check.finish()?;
    let mut tx = state.db.begin().await?;
    let employee: Option<Uuid> =
        sqlx::query_scalar("SELECT employee_id FROM correction_requests WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let employee = employee.ok_or(AppError::not_found("correction request"))?;
    check_employee_scope(&mut tx, &caller, employee).await?;
    let before = load(&mut tx, id).await?;
    if before.state != "pending" {
        return Err(AppError::conflict(
            ErrorCode::CorrectionRequestNotPending,
            format!("the request is already {}", before.state),
        ));
    }
    let mut correction_event = None;
    if accept {
        match before.kind.as_str() {
            "punch" => {
                let refers_to: Option<i64> = match before.event_id {
                    Some(ev) => {
                        sqlx::query_scalar("SELECT id FROM attendance_events WHERE public_id = $1")
                            .bind(ev)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                    None => None,
                };
                let public_id = Uuid::now_v7();
                let text = match &comment {
                    Some(c) => format!("correction request {id}: {c}"),
                    None => format!("correction request {id}: {}", before.comment),
                };
                let fields = ChainFields {
                    punch_kind: before.punch_kind.clone(),
                    comment: Some(text),
                    refers_to,
                    actor_id: Some(caller.id),
                    ..ChainFields::blank(
                        public_id,
                        employee,
                        "correction",
                        "verified",
                        before.at.unwrap_or_else(Utc::now),
                        Utc::now(),
                    )
                };
                append(&mut tx, fields, None, None).await?;
                correction_event = Some(public_id);
            }
            _ => {
                let column = match before.field.as_deref() {
                    Some("first_name") => "first_name",
                    Some("last_name") => "last_name",
                    other => return Err(AppError::internal(format!("unknown field {other:?}"))),
                };
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE employees SET {column} = $2, updated_at = now() WHERE id = $1"
                )))
                .bind(employee)
                .bind(&before.value)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    sqlx::query(
        "UPDATE correction_requests SET state = $2, decided_by = $3, decided_at = now(),
                decision_comment = $4, correction_event_id = $5
          WHERE id = $1",
    )
    .bind(id)
    .bind(if accept { "accepted" } else { "rejected" })
    .bind(caller.id)
    .bind(comment)
    .bind(correction_event)
    .execute(&mut *tx)
    .await?;
    let after = load(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller,
        if accept {
            "correction_request.accept"
        } else {
            "correction_request.reject"
        },
        "employee",
        Some(employee),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}
