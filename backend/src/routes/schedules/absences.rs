//! Absences (vacation, sick leave, ...) entered within an operator's scope.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::Problem;
use faceid_protocol::schedules::{
    ABSENCE_PATH, ABSENCES_PATH, AbsenceOut, AbsenceQuery, NewAbsence,
};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::{Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::extract::{Check, Paging};
use crate::timesheet::AbsenceKind;
use crate::timesheet::calendar::MAX_ABSENCE_DAYS;
use crate::timesheet::store;
use crate::timesheet::{MAX_YEAR, MIN_YEAR};

const ABSENCE_SELECT: &str = "SELECT a.id, a.employee_id, a.kind, a.date_from, a.date_to, a.note,
    a.created_at FROM absences a JOIN employees e ON e.id = a.employee_id WHERE true";

/// Lists absences of employees within the caller's scope.
#[utoipa::path(get, path = ABSENCES_PATH, tag = "schedules", security(("bearer" = [])),
    params(AbsenceQuery),
    responses((status = 200, description = "absences", body = Vec<AbsenceOut>)))]
pub async fn list_absences(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<AbsenceQuery>,
) -> AppResult<Json<Vec<AbsenceOut>>> {
    let (limit, offset) = Paging::resolve(q.limit, q.offset)?;
    let mut qb = QueryBuilder::new(ABSENCE_SELECT);
    caller.scope().push_filter(&mut qb);
    if let Some(e) = q.employee_id {
        qb.push(" AND a.employee_id = ").push_bind(e);
    }
    if let Some(f) = q.from {
        qb.push(" AND a.date_to >= ").push_bind(f);
    }
    if let Some(t) = q.to {
        qb.push(" AND a.date_from <= ").push_bind(t);
    }
    qb.push(" ORDER BY a.date_from, a.id LIMIT ")
        .push_bind(i64::from(limit))
        .push(" OFFSET ")
        .push_bind(i64::from(offset));
    Ok(Json(qb.build_query_as().fetch_all(&state.db).await?))
}

/// Records an absence (HR). Absences of one employee must not overlap.
#[utoipa::path(post, path = ABSENCES_PATH, tag = "schedules", security(("bearer" = [])),
    request_body = NewAbsence,
    responses(
        (status = 201, description = "created", body = AbsenceOut),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem),
        (status = 409, description = "`overlapping_absence`", body = Problem),
        (status = 422, description = "`invalid_kind`, `empty_range`, `range_too_long`", body = Problem)))]
pub async fn create_absence(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(req): ApiJson<NewAbsence>,
) -> AppResult<(StatusCode, Json<AbsenceOut>)> {
    let mut check = Check::default();
    if AbsenceKind::parse(&req.kind).is_none() {
        check.add(
            "kind",
            FieldCode::InvalidKind,
            "one of annual_leave, sick_leave, business_trip, unpaid_leave",
        );
    }
    for (field, d) in [("from", req.from), ("to", req.to)] {
        if !(MIN_YEAR..=MAX_YEAR).contains(&d.year()) {
            check.add(
                field,
                FieldCode::OutOfRange,
                format!("year must be within {MIN_YEAR}..={MAX_YEAR}"),
            );
        }
    }
    if req.to < req.from {
        check.add("to", FieldCode::EmptyRange, "`to` is before `from`");
    } else if (req.to - req.from).num_days() + 1 > MAX_ABSENCE_DAYS {
        check.add(
            "to",
            FieldCode::RangeTooLong,
            format!("an absence is at most {MAX_ABSENCE_DAYS} days; enter longer ones in parts"),
        );
    }
    let note = check.opt_text("note", req.note.as_deref(), 500);
    check.finish()?;
    let mut tx = state.db.begin().await?;
    check_employee_scope(&mut tx, &caller, req.employee_id).await?;
    sqlx::query("SELECT 1 FROM employees WHERE id = $1 FOR UPDATE")
        .bind(req.employee_id)
        .execute(&mut *tx)
        .await?;
    let clash: Option<(NaiveDate, NaiveDate)> = sqlx::query_as(
        "SELECT date_from, date_to FROM absences
          WHERE employee_id = $1 AND date_from <= $3 AND date_to >= $2 LIMIT 1",
    )
    .bind(req.employee_id)
    .bind(req.from)
    .bind(req.to)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((f, t)) = clash {
        return Err(AppError::conflict(
            ErrorCode::OverlappingAbsence,
            format!("the employee already has an absence from {f} to {t}"),
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO absences (id, employee_id, kind, date_from, date_to, note, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(req.employee_id)
    .bind(&req.kind)
    .bind(req.from)
    .bind(req.to)
    .bind(note)
    .bind(caller.id)
    .execute(&mut *tx)
    .await?;
    store::invalidate(&mut tx, Some(req.employee_id), None, req.from, Some(req.to)).await?;
    let out: AbsenceOut = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ABSENCE_SELECT} AND a.id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "absence.create",
        "absence",
        Some(id),
        audit::NONE,
        Some(&out),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Deletes an absence.
#[utoipa::path(delete, path = ABSENCE_PATH, tag = "schedules", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "absence id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such absence", body = Problem)))]
pub async fn delete_absence(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let row: Option<AbsenceOut> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ABSENCE_SELECT} AND a.id = $1 FOR UPDATE OF a"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let before = row.ok_or(AppError::not_found("absence"))?;
    check_employee_scope(&mut tx, &caller, before.employee_id).await?;
    sqlx::query("DELETE FROM absences WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    store::invalidate(
        &mut tx,
        Some(before.employee_id),
        None,
        before.from,
        Some(before.to),
    )
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "absence.delete",
        "absence",
        Some(id),
        Some(&before),
        audit::NONE,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
