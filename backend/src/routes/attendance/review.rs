//! Reviews of flagged punches and corrections entered by staff: each a new event of the chain
//! referring to the punch it judges or replaces; nothing is changed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use faceid_protocol::attendance::{
    AttendanceRecord, CorrectionRequest, ReviewDecision, ReviewRequest,
};
use faceid_protocol::attendance::{CORRECTIONS_PATH, EVENT_REVIEW_PATH};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::Problem;
use sqlx::Postgres;
use uuid::Uuid;

use super::listing::load_event;
use super::site_exists;
use crate::AppState;
use crate::attendance::chain::{ChainFields, append};
use crate::audit;
use crate::auth::{Caller, Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath, Check};
use faceid_protocol::wire_text::WireText;

fn check_comment(c: Option<&str>) -> AppResult<Option<String>> {
    let mut check = Check::default();
    let c = check.opt_text("comment", c, 2000);
    check.finish()?;
    Ok(c)
}

/// Accepts or rejects a flagged punch; the review is a new event referring to it.
#[utoipa::path(post, path = EVENT_REVIEW_PATH, tag = "attendance", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "event id")),
    request_body = ReviewRequest,
    responses(
        (status = 201, description = "the review event", body = AttendanceRecord),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such event", body = Problem),
        (status = 409, description = "`not_flagged`: only flagged punches are reviewed", body = Problem)))]
pub async fn review(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> AppResult<(StatusCode, Json<AttendanceRecord>)> {
    let comment = check_comment(req.comment.as_deref())?;
    let mut tx = state.db.begin().await?;
    let row: Option<(i64, Uuid, Option<Uuid>, String, String)> = sqlx::query_as(
        "SELECT id, employee_id, site_id, kind, verdict FROM attendance_events WHERE public_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (row_id, employee, site, kind, verdict) =
        row.ok_or(AppError::not_found("attendance event"))?;
    check_employee_scope(&mut tx, &caller, employee).await?;
    if !matches!(kind.as_str(), "in" | "out") || verdict != "flagged" {
        return Err(AppError::conflict(
            ErrorCode::NotFlagged,
            "only flagged punches can be reviewed",
        ));
    }
    let decision = match req.decision {
        ReviewDecision::Accept => "accept",
        ReviewDecision::Reject => "reject",
    };
    let now = Utc::now();
    let fields = ChainFields {
        site_id: site,
        decision: Some(decision.into()),
        comment,
        refers_to: Some(row_id),
        ..ChainFields::blank(
            Uuid::now_v7(),
            employee,
            "review",
            if decision == "accept" {
                "verified"
            } else {
                "rejected"
            },
            now,
            now,
        )
    };
    append_staff_event(
        tx,
        &caller,
        fields,
        "attendance.review",
        "attendance_event",
        id,
    )
    .await
}

/// Appends an event entered by staff (a review or a correction) as `caller`, audits it
/// against `entity`, commits, and answers 201 with the event as listed.
async fn append_staff_event(
    mut tx: sqlx::Transaction<'_, Postgres>,
    caller: &Caller,
    mut fields: ChainFields,
    action: &str,
    entity: &str,
    entity_id: Uuid,
) -> AppResult<(StatusCode, Json<AttendanceRecord>)> {
    fields.actor_id = Some(caller.id);
    let public_id = fields.public_id;
    append(&mut tx, fields, None, None).await?;
    let ev = load_event(&mut tx, public_id).await?;
    audit::record(
        &mut tx,
        caller,
        action,
        entity,
        Some(entity_id),
        audit::NONE,
        Some(&ev),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(ev)))
}

/// Enters a punch by hand (replacing one, or adding a missing one). A new event; nothing is
/// changed.
#[utoipa::path(post, path = CORRECTIONS_PATH, tag = "attendance", security(("bearer" = [])),
    request_body = CorrectionRequest,
    responses(
        (status = 201, description = "the correction event", body = AttendanceRecord),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee or event", body = Problem),
        (status = 409, description = "`wrong_employee`: the replaced punch is another employee's", body = Problem)))]
pub async fn correct(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(req): ApiJson<CorrectionRequest>,
) -> AppResult<(StatusCode, Json<AttendanceRecord>)> {
    let comment = check_comment(Some(&req.comment))?.ok_or_else(|| {
        AppError::field(
            "comment",
            FieldCode::Required,
            "a correction needs a comment",
        )
    })?;
    let mut tx = state.db.begin().await?;
    check_employee_scope(&mut tx, &caller, req.employee_id).await?;
    let refers_to = match req.replaces {
        None => None,
        Some(pid) => {
            let (rid, emp): (i64, Uuid) = sqlx::query_as(
                "SELECT id, employee_id FROM attendance_events WHERE public_id = $1 AND kind IN ('in','out','correction')",
            )
            .bind(pid)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AppError::not_found("attendance event"))?;
            if emp != req.employee_id {
                return Err(AppError::conflict(
                    ErrorCode::WrongEmployee,
                    "the replaced punch belongs to another employee",
                ));
            }
            Some(rid)
        }
    };
    if let Some(s) = req.site_id {
        site_exists(&state, s).await?;
    }
    let fields = ChainFields {
        site_id: req.site_id,
        punch_kind: Some(req.kind.wire_text().into()),
        comment: Some(comment),
        refers_to,
        ..ChainFields::blank(
            Uuid::now_v7(),
            req.employee_id,
            "correction",
            "verified",
            req.at,
            Utc::now(),
        )
    };
    append_staff_event(
        tx,
        &caller,
        fields,
        "attendance.correction",
        "employee",
        req.employee_id,
    )
    .await
}
