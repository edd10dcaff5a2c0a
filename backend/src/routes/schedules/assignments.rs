//! Schedule assignments to employees and departments, within an operator's scope.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Datelike, Duration};
use faceid_protocol::auth::Role;
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::Problem;
use faceid_protocol::schedules::{
    AssignmentOut, AssignmentQuery, NewAssignment, SCHEDULE_ASSIGNMENT_PATH,
    SCHEDULE_ASSIGNMENTS_PATH,
};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::{Caller, Staff, check_employee_scope};
use crate::error::{AppError, AppResult, AsDbError};
use crate::extract::Check;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::timesheet::store;
use crate::timesheet::{MAX_YEAR, MIN_YEAR};

async fn check_department(conn: &mut PgConnection, caller: &Caller, id: Uuid) -> AppResult<()> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM departments WHERE id = $1)")
            .bind(id)
            .fetch_one(conn)
            .await?;
    if !exists {
        return Err(AppError::not_found("department"));
    }
    match caller.role {
        Role::Admin => Ok(()),
        Role::Operator if caller.scope_department_ids.contains(&id) => Ok(()),
        _ => Err(AppError::forbidden(
            ErrorCode::OutOfScope,
            "the department is outside the departments you manage",
        )),
    }
}

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.schedule_id, a.employee_id, a.department_id,
    a.valid_from, a.valid_to, a.created_at FROM schedule_assignments a
    LEFT JOIN employees e ON e.id = a.employee_id WHERE true";

fn push_assignment_scope(qb: &mut QueryBuilder<Postgres>, caller: &Caller) {
    let scope = caller.scope();
    if scope.is_all() {
        return;
    }
    qb.push(" AND (a.department_id = ANY(")
        .push_bind(caller.scope_department_ids.clone())
        .push(") OR (a.employee_id IS NOT NULL");
    scope.push_filter(qb);
    qb.push("))");
}

/// Lists schedule assignments within the caller's scope.
#[utoipa::path(get, path = SCHEDULE_ASSIGNMENTS_PATH, tag = "schedules", security(("bearer" = [])),
    params(AssignmentQuery),
    responses((status = 200, description = "assignments", body = Vec<AssignmentOut>)))]
pub async fn list_assignments(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<AssignmentQuery>,
) -> AppResult<Json<Vec<AssignmentOut>>> {
    let mut qb = QueryBuilder::new(ASSIGNMENT_SELECT);
    push_assignment_scope(&mut qb, &caller);
    if let Some(e) = q.employee_id {
        qb.push(" AND a.employee_id = ").push_bind(e);
    }
    if let Some(d) = q.department_id {
        qb.push(" AND a.department_id = ").push_bind(d);
    }
    qb.push(" ORDER BY a.valid_from, a.id LIMIT 1000");
    Ok(Json(qb.build_query_as().fetch_all(&state.db).await?))
}

/// Assigns a schedule to an employee or a department for a date range. Ranges of the same
/// employee (or department) must not overlap; an employee's own assignment wins over the
/// department's.
#[utoipa::path(post, path = SCHEDULE_ASSIGNMENTS_PATH, tag = "schedules", security(("bearer" = [])),
    request_body = NewAssignment,
    responses(
        (status = 201, description = "created", body = AssignmentOut),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such schedule, employee or department", body = Problem),
        (status = 409, description = "`overlapping_assignment`", body = Problem),
        (status = 422, description = "`target_required`, `empty_range`, `out_of_range`", body = Problem)))]
pub async fn create_assignment(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(req): ApiJson<NewAssignment>,
) -> AppResult<(StatusCode, Json<AssignmentOut>)> {
    if req.employee_id.is_some() == req.department_id.is_some() {
        return Err(AppError::field(
            "employee_id",
            FieldCode::TargetRequired,
            "give exactly one of employee_id and department_id",
        ));
    }
    let mut check = Check::default();
    for (field, d) in [
        ("valid_from", Some(req.valid_from)),
        ("valid_to", req.valid_to),
    ] {
        if let Some(d) = d
            && !(MIN_YEAR..=MAX_YEAR).contains(&d.year())
        {
            check.add(
                field,
                FieldCode::OutOfRange,
                format!("year must be within {MIN_YEAR}..={MAX_YEAR}"),
            );
        }
    }
    if let Some(to) = req.valid_to
        && to < req.valid_from
    {
        check.add(
            "valid_to",
            FieldCode::EmptyRange,
            "valid_to is before valid_from",
        );
    }
    check.finish()?;
    let mut tx = state.db.begin().await?;
    // Serialise assignments of one target.
    if let Some(e) = req.employee_id {
        check_employee_scope(&mut tx, &caller, e).await?;
        sqlx::query("SELECT 1 FROM employees WHERE id = $1 FOR UPDATE")
            .bind(e)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(d) = req.department_id {
        check_department(&mut tx, &caller, d).await?;
        sqlx::query("SELECT 1 FROM departments WHERE id = $1 FOR UPDATE")
            .bind(d)
            .execute(&mut *tx)
            .await?;
    }
    let overlap: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM schedule_assignments
          WHERE employee_id IS NOT DISTINCT FROM $1 AND department_id IS NOT DISTINCT FROM $2
            AND valid_from <= COALESCE($4, 'infinity'::date)
            AND COALESCE(valid_to, 'infinity'::date) >= $3)",
    )
    .bind(req.employee_id)
    .bind(req.department_id)
    .bind(req.valid_from)
    .bind(req.valid_to)
    .fetch_one(&mut *tx)
    .await?;
    if overlap {
        return Err(AppError::conflict(
            ErrorCode::OverlappingAssignment,
            "another schedule is assigned to the same target in this date range",
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO schedule_assignments (id, schedule_id, employee_id, department_id, valid_from, valid_to)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(req.schedule_id)
    .bind(req.employee_id)
    .bind(req.department_id)
    .bind(req.valid_from)
    .bind(req.valid_to)
    .execute(&mut *tx)
    .await
    .map_err(|e| match e.constraint() {
        Some("schedule_assignments_schedule_id_fkey") => AppError::not_found("schedule"),
        _ => e.into(),
    })?;
    store::invalidate(
        &mut tx,
        req.employee_id,
        req.department_id,
        req.valid_from - Duration::days(1),
        req.valid_to.map(|t| t + Duration::days(1)),
    )
    .await?;
    let out: AssignmentOut = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ASSIGNMENT_SELECT} AND a.id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "schedule_assignment.create",
        "schedule_assignment",
        Some(id),
        audit::NONE,
        Some(&out),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Removes a schedule assignment.
#[utoipa::path(delete, path = SCHEDULE_ASSIGNMENT_PATH, tag = "schedules", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "assignment id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such assignment", body = Problem)))]
pub async fn delete_assignment(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let row: Option<AssignmentOut> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ASSIGNMENT_SELECT} AND a.id = $1 FOR UPDATE OF a"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let before = row.ok_or(AppError::not_found("schedule assignment"))?;
    if let Some(e) = before.employee_id {
        check_employee_scope(&mut tx, &caller, e).await?;
    }
    if let Some(d) = before.department_id {
        check_department(&mut tx, &caller, d).await?;
    }
    sqlx::query("DELETE FROM schedule_assignments WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    store::invalidate(
        &mut tx,
        before.employee_id,
        before.department_id,
        before.valid_from - Duration::days(1),
        before.valid_to.map(|t| t + Duration::days(1)),
    )
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "schedule_assignment.delete",
        "schedule_assignment",
        Some(id),
        Some(&before),
        audit::NONE,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
