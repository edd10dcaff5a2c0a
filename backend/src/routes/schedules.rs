//! Shift templates, schedules, their assignments, the holiday calendar and absences.
//!
//! Administrators edit templates, schedules and the calendar; operators assign schedules and
//! enter absences within their departments and sites. Every change drops the computed days
//! it affects (`timesheet::store::invalidate`), so reports recompute them.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use faceid_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, AuthUser, Caller, Staff, check_employee_scope};
use crate::error::{AppError, AppResult, AsDbError};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{Check, Paging};
use crate::timesheet::calendar::MAX_ABSENCE_DAYS;
use crate::timesheet::schedule::ScheduleError;
use crate::timesheet::store::{
    self, ScheduleDef, TEMPLATE_SELECT, TemplateRow, absence_kind, weekday_from_iso,
};
use crate::timesheet::{MAX_YEAR, MIN_YEAR, ShiftTemplate};
use faceid_protocol::auth::Role;

/// Most dates a roster schedule may list.
pub const MAX_ROSTER_DAYS: usize = 1_000;

// ---------------------------------------------------------------------------------------
// Shift templates

/// A shift in the site's local time; `end` before `start` crosses midnight.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShiftTemplate {
    pub name: String,
    /// `HH:MM`
    pub start: String,
    /// `HH:MM`; earlier than `start` for a shift that ends the next day.
    pub end: String,
    #[serde(default)]
    pub unpaid_break_minutes: u32,
    #[serde(default)]
    pub late_grace_minutes: u32,
    #[serde(default)]
    pub early_leave_grace_minutes: u32,
    /// How early before the start a check-in counts for the shift (default 60).
    pub checkin_window_minutes: Option<u32>,
    pub site_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftTemplateOut {
    pub id: Uuid,
    pub name: String,
    pub start: String,
    pub end: String,
    pub unpaid_break_minutes: i32,
    pub late_grace_minutes: i32,
    pub early_leave_grace_minutes: i32,
    pub checkin_window_minutes: i32,
    pub site_id: Option<Uuid>,
    pub crosses_midnight: bool,
    pub nominal_minutes: u32,
}

impl From<TemplateRow> for ShiftTemplateOut {
    fn from(r: TemplateRow) -> Self {
        let t = r.template();
        Self {
            id: r.id,
            name: r.name,
            start: r.start_time.format("%H:%M").to_string(),
            end: r.end_time.format("%H:%M").to_string(),
            unpaid_break_minutes: r.unpaid_break_minutes,
            late_grace_minutes: r.late_grace_minutes,
            early_leave_grace_minutes: r.early_leave_grace_minutes,
            checkin_window_minutes: r.checkin_window_minutes,
            site_id: r.site_id,
            crosses_midnight: t.crosses_midnight(),
            nominal_minutes: t.nominal_minutes(),
        }
    }
}

fn parse_time(check: &mut Check, field: &str, s: &str) -> NaiveTime {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .unwrap_or_else(|_| {
            check.add(field, "invalid_time", "expected HH:MM");
            NaiveTime::MIN
        })
}

fn schedule_error(e: ScheduleError) -> AppError {
    let (field, code) = match &e {
        ScheduleError::ZeroLengthShift(_) => ("end", "zero_length_shift"),
        ScheduleError::FieldOutOfRange { field, .. } => (*field, "out_of_range"),
        ScheduleError::BreakTooLong { .. } => ("unpaid_break_minutes", "break_too_long"),
        ScheduleError::OverlappingShifts { .. } => ("pattern", "overlapping_shifts"),
        ScheduleError::NonsensicalPattern(_) => ("pattern", "invalid_pattern"),
        ScheduleError::EmptyRange { .. } => ("valid_to", "empty_range"),
        ScheduleError::OverlappingAssignments(_) => ("valid_from", "overlapping_assignment"),
    };
    AppError::field(field, code, e.to_string())
}

/// Lists shift templates.
#[utoipa::path(get, path = "/api/v1/shift-templates", tag = "schedules", security(("bearer" = [])),
    responses((status = 200, description = "all shift templates", body = Vec<ShiftTemplateOut>)))]
pub async fn list_templates(
    State(state): State<AppState>,
    Staff(_): Staff,
) -> AppResult<Json<Vec<ShiftTemplateOut>>> {
    let rows: Vec<TemplateRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{TEMPLATE_SELECT} ORDER BY lower(name)"
    )))
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Creates a shift template. A shift of zero length (start = end) is refused.
#[utoipa::path(post, path = "/api/v1/shift-templates", tag = "schedules", security(("bearer" = [])),
    request_body = NewShiftTemplate,
    responses(
        (status = 201, description = "created", body = ShiftTemplateOut),
        (status = 409, description = "`name_taken`", body = Problem),
        (status = 422, description = "`zero_length_shift`, `invalid_time`, `out_of_range`, `break_too_long`", body = Problem)))]
pub async fn create_template(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<NewShiftTemplate>,
) -> AppResult<(StatusCode, Json<ShiftTemplateOut>)> {
    let mut check = Check::default();
    let name = check.text("name", &req.name, 100);
    let start = parse_time(&mut check, "start", &req.start);
    let end = parse_time(&mut check, "end", &req.end);
    check.finish()?;
    let tpl = ShiftTemplate {
        name: name.clone(),
        start,
        end,
        unpaid_break_minutes: req.unpaid_break_minutes,
        late_grace_minutes: req.late_grace_minutes,
        early_leave_grace_minutes: req.early_leave_grace_minutes,
        checkin_window_minutes: req
            .checkin_window_minutes
            .unwrap_or(crate::timesheet::schedule::DEFAULT_CHECKIN_WINDOW_MINUTES),
    };
    tpl.validate().map_err(schedule_error)?;
    let id = Uuid::now_v7();
    let mut tx = state.db.begin().await?;
    let int = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    sqlx::query(
        "INSERT INTO shift_templates (id, name, start_time, end_time, unpaid_break_minutes,
                late_grace_minutes, early_leave_grace_minutes, checkin_window_minutes, site_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(&name)
    .bind(start)
    .bind(end)
    .bind(int(tpl.unpaid_break_minutes))
    .bind(int(tpl.late_grace_minutes))
    .bind(int(tpl.early_leave_grace_minutes))
    .bind(int(tpl.checkin_window_minutes))
    .bind(req.site_id)
    .execute(&mut *tx)
    .await
    .map_err(|e| match e.constraint() {
        Some("shift_templates_name_key") => {
            AppError::conflict("name_taken", "a shift template with this name exists")
        }
        Some("shift_templates_site_id_fkey") => {
            AppError::field("site_id", "unknown_site", "no such site")
        }
        _ => e.into(),
    })?;
    let row: TemplateRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{TEMPLATE_SELECT} WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let out = ShiftTemplateOut::from(row);
    audit::record(
        &mut tx,
        &caller,
        "shift_template.create",
        "shift_template",
        Some(id),
        audit::NONE,
        Some(&out),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Deletes a shift template no schedule uses.
#[utoipa::path(delete, path = "/api/v1/shift-templates/{id}", tag = "schedules", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "shift template id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such template", body = Problem),
        (status = 409, description = "`in_use`", body = Problem)))]
pub async fn delete_template(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let name: Option<String> =
        sqlx::query_scalar("DELETE FROM shift_templates WHERE id = $1 RETURNING name")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| match e.constraint() {
                Some("schedule_shift_refs_shift_template_id_fkey") => {
                    AppError::conflict("in_use", "a schedule uses this shift template")
                }
                _ => e.into(),
            })?;
    let name = name.ok_or(AppError::not_found("shift template"))?;
    audit::record(
        &mut tx,
        &caller,
        "shift_template.delete",
        "shift_template",
        Some(id),
        Some(&name),
        audit::NONE,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------
// Schedules

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub name: String,
    pub pattern: ScheduleDef,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleOut {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub pattern: ScheduleDef,
    pub created_at: DateTime<Utc>,
}

type ScheduleRow = (
    Uuid,
    String,
    String,
    sqlx::types::Json<ScheduleDef>,
    DateTime<Utc>,
);

fn schedule_out(r: ScheduleRow) -> ScheduleOut {
    ScheduleOut {
        id: r.0,
        name: r.1,
        kind: r.2,
        pattern: r.3.0,
        created_at: r.4,
    }
}

const SCHEDULE_SELECT: &str = "SELECT id, name, kind, definition, created_at FROM schedules";

/// Lists schedules.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules", security(("bearer" = [])),
    responses((status = 200, description = "all schedules", body = Vec<ScheduleOut>)))]
pub async fn list_schedules(
    State(state): State<AppState>,
    Staff(_): Staff,
) -> AppResult<Json<Vec<ScheduleOut>>> {
    let rows: Vec<ScheduleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SCHEDULE_SELECT} ORDER BY lower(name)"
    )))
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows.into_iter().map(schedule_out).collect()))
}

/// Creates a schedule: weekly, rotating, roster or flexible. Shifts of consecutive days
/// must not overlap.
#[utoipa::path(post, path = "/api/v1/schedules", tag = "schedules", security(("bearer" = [])),
    request_body = NewSchedule,
    responses(
        (status = 201, description = "created", body = ScheduleOut),
        (status = 409, description = "`name_taken`", body = Problem),
        (status = 422, description = "`overlapping_shifts`, `invalid_pattern`, `unknown_template`", body = Problem)))]
pub async fn create_schedule(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<NewSchedule>,
) -> AppResult<(StatusCode, Json<ScheduleOut>)> {
    let mut check = Check::default();
    let name = check.text("name", &req.name, 100);
    check.finish()?;
    if let ScheduleDef::Roster { days } = &req.pattern
        && days.len() > MAX_ROSTER_DAYS
    {
        return Err(AppError::field(
            "pattern",
            "too_many_days",
            format!("a roster lists at most {MAX_ROSTER_DAYS} dates"),
        ));
    }
    let mut tx = state.db.begin().await?;
    let templates = store::templates(&mut tx).await?;
    let kind = req
        .pattern
        .resolve(&templates)
        .map_err(|m| AppError::field("pattern", "invalid_pattern", m))?;
    kind.validate().map_err(schedule_error)?;
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO schedules (id, name, kind, definition) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(&name)
        .bind(req.pattern.kind_str())
        .bind(sqlx::types::Json(&req.pattern))
        .execute(&mut *tx)
        .await
        .map_err(|e| match e.constraint() {
            Some("schedules_name_key") => {
                AppError::conflict("name_taken", "a schedule with this name exists")
            }
            _ => e.into(),
        })?;
    sqlx::query(
        "INSERT INTO schedule_shift_refs (schedule_id, shift_template_id) SELECT $1, unnest($2::uuid[])",
    )
    .bind(id)
    .bind(req.pattern.template_ids())
    .execute(&mut *tx)
    .await?;
    let row: ScheduleRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SCHEDULE_SELECT} WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let out = schedule_out(row);
    audit::record(
        &mut tx,
        &caller,
        "schedule.create",
        "schedule",
        Some(id),
        audit::NONE,
        Some(&out),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Reads a schedule.
#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "schedules", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "schedule id")),
    responses(
        (status = 200, description = "the schedule", body = ScheduleOut),
        (status = 404, description = "no such schedule", body = Problem)))]
pub async fn get_schedule(
    State(state): State<AppState>,
    Staff(_): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ScheduleOut>> {
    let row: Option<ScheduleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SCHEDULE_SELECT} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    Ok(Json(schedule_out(
        row.ok_or(AppError::not_found("schedule"))?,
    )))
}

/// Deletes a schedule that is not assigned.
#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "schedules", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "schedule id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such schedule", body = Problem),
        (status = 409, description = "`in_use`", body = Problem)))]
pub async fn delete_schedule(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let name: Option<String> =
        sqlx::query_scalar("DELETE FROM schedules WHERE id = $1 RETURNING name")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| match e.constraint() {
                Some("schedule_assignments_schedule_id_fkey") => {
                    AppError::conflict("in_use", "the schedule is assigned")
                }
                _ => e.into(),
            })?;
    let name = name.ok_or(AppError::not_found("schedule"))?;
    audit::record(
        &mut tx,
        &caller,
        "schedule.delete",
        "schedule",
        Some(id),
        Some(&name),
        audit::NONE,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------
// Scope helpers

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
            "out_of_scope",
            "the department is outside the departments you manage",
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Assignments

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAssignment {
    pub schedule_id: Uuid,
    /// Exactly one of `employee_id` and `department_id`.
    pub employee_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub valid_from: NaiveDate,
    /// Inclusive; absent = open-ended.
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AssignmentOut {
    pub id: Uuid,
    pub schedule_id: Uuid,
    pub employee_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.schedule_id, a.employee_id, a.department_id,
    a.valid_from, a.valid_to, a.created_at FROM schedule_assignments a
    LEFT JOIN employees e ON e.id = a.employee_id WHERE true";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssignmentQuery {
    pub employee_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
}

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
#[utoipa::path(get, path = "/api/v1/schedule-assignments", tag = "schedules", security(("bearer" = [])),
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
#[utoipa::path(post, path = "/api/v1/schedule-assignments", tag = "schedules", security(("bearer" = [])),
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
            "target_required",
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
                "out_of_range",
                format!("year must be within {MIN_YEAR}..={MAX_YEAR}"),
            );
        }
    }
    if let Some(to) = req.valid_to
        && to < req.valid_from
    {
        check.add("valid_to", "empty_range", "valid_to is before valid_from");
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
            "overlapping_assignment",
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
#[utoipa::path(delete, path = "/api/v1/schedule-assignments/{id}", tag = "schedules", security(("bearer" = [])),
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

// ---------------------------------------------------------------------------------------
// Holiday calendar

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub struct HolidayEntry {
    #[sqlx(rename = "day")]
    pub date: NaiveDate,
    /// `holiday`, `non_working` (a transferred day off) or `working` (a free day worked).
    #[schema(pattern = "^(holiday|non_working|working)$")]
    pub kind: String,
    pub name: Option<String>,
    /// For `working`: the ISO weekday (1 = Monday) the day is worked as.
    pub working_as: Option<i16>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayYear {
    #[schema(minimum = 1970, maximum = 2200)]
    pub year: i32,
    pub entries: Vec<HolidayEntry>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// Calendar year (default: the current one).
    #[param(minimum = 1970, maximum = 2200)]
    pub year: Option<i32>,
}

fn check_year(year: i32) -> AppResult<()> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(AppError::field(
            "year",
            "out_of_range",
            format!("year must be within {MIN_YEAR}..={MAX_YEAR}"),
        ))
    }
}

fn check_entry(check: &mut Check, i: usize, e: &HolidayEntry) {
    let f = |s: &str| format!("entries[{i}].{s}");
    match e.kind.as_str() {
        "holiday" | "non_working" => {
            if e.working_as.is_some() {
                check.add(&f("working_as"), "not_allowed", "only for kind `working`");
            }
        }
        "working" => {
            if e.working_as.and_then(weekday_from_iso).is_none() {
                check.add(&f("working_as"), "required", "an ISO weekday 1..=7");
            }
        }
        _ => check.add(
            &f("kind"),
            "invalid_kind",
            "one of holiday, non_working, working",
        ),
    }
    if let Some(n) = &e.name
        && n.chars().count() > 200
    {
        check.add(&f("name"), "too_long", "at most 200 characters");
    }
}

async fn year_entries(conn: &mut PgConnection, year: i32) -> AppResult<Vec<HolidayEntry>> {
    Ok(sqlx::query_as(
        "SELECT day, kind, name, working_as FROM holiday_calendar
          WHERE day >= make_date($1, 1, 1) AND day <= make_date($1, 12, 31) ORDER BY day",
    )
    .bind(year)
    .fetch_all(conn)
    .await?)
}

/// The holiday calendar of a year.
#[utoipa::path(get, path = "/api/v1/holidays", tag = "schedules", security(("bearer" = [])),
    params(YearQuery),
    responses(
        (status = 200, description = "the year's entries", body = HolidayYear),
        (status = 422, description = "`out_of_range`", body = Problem)))]
pub async fn get_holidays(
    State(state): State<AppState>,
    AuthUser(_): AuthUser,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<HolidayYear>> {
    let year = q.year.unwrap_or_else(|| Utc::now().year());
    check_year(year)?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(HolidayYear {
        year,
        entries: year_entries(&mut conn, year).await?,
    }))
}

/// Replaces the holiday calendar of a year. A date listed twice is refused.
#[utoipa::path(put, path = "/api/v1/holidays", tag = "schedules", security(("bearer" = [])),
    request_body = HolidayYear,
    responses(
        (status = 200, description = "the year's entries", body = HolidayYear),
        (status = 422, description = "`duplicate_entry`, `wrong_year`, `invalid_kind`", body = Problem)))]
pub async fn put_holidays(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<HolidayYear>,
) -> AppResult<Json<HolidayYear>> {
    check_year(req.year)?;
    let mut check = Check::default();
    let mut seen = BTreeSet::new();
    if req.entries.len() > 366 {
        check.add("entries", "too_many", "at most 366 entries");
    }
    for (i, e) in req.entries.iter().enumerate() {
        check_entry(&mut check, i, e);
        if e.date.year() != req.year {
            check.add(
                &format!("entries[{i}].date"),
                "wrong_year",
                format!("{} is not in {}", e.date, req.year),
            );
        }
        if !seen.insert(e.date) {
            check.add(
                &format!("entries[{i}].date"),
                "duplicate_entry",
                format!("{} is listed twice", e.date),
            );
        }
    }
    check.finish()?;
    let mut tx = state.db.begin().await?;
    let before = year_entries(&mut tx, req.year).await?;
    sqlx::query(
        "DELETE FROM holiday_calendar WHERE day >= make_date($1, 1, 1) AND day <= make_date($1, 12, 31)",
    )
    .bind(req.year)
    .execute(&mut *tx)
    .await?;
    for e in &req.entries {
        insert_entry(&mut tx, e).await?;
    }
    let after = year_entries(&mut tx, req.year).await?;
    let jan1 = NaiveDate::from_ymd_opt(req.year, 1, 1).unwrap_or_default();
    let dec31 = NaiveDate::from_ymd_opt(req.year, 12, 31).unwrap_or_default();
    store::invalidate(
        &mut tx,
        None,
        None,
        jan1 - Duration::days(1),
        Some(dec31 + Duration::days(1)),
    )
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "holidays.replace",
        "holiday_calendar",
        None,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(HolidayYear {
        year: req.year,
        entries: after,
    }))
}

async fn insert_entry(conn: &mut PgConnection, e: &HolidayEntry) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO holiday_calendar (day, kind, name, working_as) VALUES ($1, $2, $3, $4)",
    )
    .bind(e.date)
    .bind(&e.kind)
    .bind(e.name.as_deref().map(str::trim))
    .bind(e.working_as)
    .execute(conn)
    .await
    .map_err(|err| match err.constraint() {
        Some("holiday_calendar_pkey") => AppError::conflict(
            "holiday_exists",
            format!("the calendar already has an entry for {}", e.date),
        ),
        _ => err.into(),
    })?;
    Ok(())
}

/// Adds one entry to the holiday calendar; a date that already has one is refused (409).
#[utoipa::path(post, path = "/api/v1/holidays", tag = "schedules", security(("bearer" = [])),
    request_body = HolidayEntry,
    responses(
        (status = 201, description = "added", body = HolidayEntry),
        (status = 409, description = "`holiday_exists`", body = Problem),
        (status = 422, description = "`invalid_kind`, `out_of_range`", body = Problem)))]
pub async fn add_holiday(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<HolidayEntry>,
) -> AppResult<(StatusCode, Json<HolidayEntry>)> {
    check_year(req.date.year())?;
    let mut check = Check::default();
    check_entry(&mut check, 0, &req);
    check.finish()?;
    let mut tx = state.db.begin().await?;
    insert_entry(&mut tx, &req).await?;
    store::invalidate(
        &mut tx,
        None,
        None,
        req.date - Duration::days(1),
        Some(req.date + Duration::days(1)),
    )
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "holidays.add",
        "holiday_calendar",
        None,
        audit::NONE,
        Some(&req),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(req)))
}

// ---------------------------------------------------------------------------------------
// Absences

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAbsence {
    pub employee_id: Uuid,
    /// `annual_leave`, `sick_leave`, `business_trip` or `unpaid_leave`.
    #[schema(pattern = "^(annual_leave|sick_leave|business_trip|unpaid_leave)$")]
    pub kind: String,
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AbsenceOut {
    pub id: Uuid,
    pub employee_id: Uuid,
    pub kind: String,
    #[sqlx(rename = "date_from")]
    pub from: NaiveDate,
    #[sqlx(rename = "date_to")]
    pub to: NaiveDate,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

const ABSENCE_SELECT: &str = "SELECT a.id, a.employee_id, a.kind, a.date_from, a.date_to, a.note,
    a.created_at FROM absences a JOIN employees e ON e.id = a.employee_id WHERE true";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AbsenceQuery {
    pub employee_id: Option<Uuid>,
    /// Absences that end on or after this date.
    pub from: Option<NaiveDate>,
    /// Absences that start on or before this date.
    pub to: Option<NaiveDate>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// Lists absences of employees within the caller's scope.
#[utoipa::path(get, path = "/api/v1/absences", tag = "schedules", security(("bearer" = [])),
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
#[utoipa::path(post, path = "/api/v1/absences", tag = "schedules", security(("bearer" = [])),
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
    if absence_kind(&req.kind).is_none() {
        check.add(
            "kind",
            "invalid_kind",
            "one of annual_leave, sick_leave, business_trip, unpaid_leave",
        );
    }
    for (field, d) in [("from", req.from), ("to", req.to)] {
        if !(MIN_YEAR..=MAX_YEAR).contains(&d.year()) {
            check.add(
                field,
                "out_of_range",
                format!("year must be within {MIN_YEAR}..={MAX_YEAR}"),
            );
        }
    }
    if req.to < req.from {
        check.add("to", "empty_range", "`to` is before `from`");
    } else if (req.to - req.from).num_days() + 1 > MAX_ABSENCE_DAYS {
        check.add(
            "to",
            "range_too_long",
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
            "overlapping_absence",
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
#[utoipa::path(delete, path = "/api/v1/absences/{id}", tag = "schedules", security(("bearer" = [])),
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

// ---------------------------------------------------------------------------------------
// Rules of the computation

/// What happens to a check-in without a check-out once its day is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MissingCheckout {
    /// The day is `missing_check_out` and the open interval is not counted.
    Flag,
    /// The interval is closed at the planned shift end (flagged without a shift).
    CloseAtShiftEnd,
}

impl MissingCheckout {
    fn as_str(self) -> &'static str {
        match self {
            MissingCheckout::Flag => "flag",
            MissingCheckout::CloseAtShiftEnd => "close_at_shift_end",
        }
    }
}

/// Settings of the timesheet computation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimesheetSettings {
    pub missing_checkout: MissingCheckout,
}

/// The body of `PUT /api/v1/settings/timesheet` (the rule as text, so a value outside the
/// list is a field error naming the choices rather than a parse error).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTimesheetSettings {
    /// `flag` or `close_at_shift_end`.
    #[schema(pattern = "^(flag|close_at_shift_end)$")]
    pub missing_checkout: String,
}

async fn stored_settings(conn: &mut PgConnection) -> AppResult<TimesheetSettings> {
    let rule = store::rules(conn).await?;
    Ok(TimesheetSettings {
        missing_checkout: match rule.missing_checkout {
            crate::timesheet::MissingCheckoutRule::Flag => MissingCheckout::Flag,
            crate::timesheet::MissingCheckoutRule::CloseAtShiftEnd => {
                MissingCheckout::CloseAtShiftEnd
            }
        },
    })
}

/// The rules of the timesheet computation (administrators).
#[utoipa::path(get, path = "/api/v1/settings/timesheet", tag = "schedules", security(("bearer" = [])),
    responses(
        (status = 200, description = "the settings", body = TimesheetSettings),
        (status = 403, description = "not an administrator", body = Problem)))]
pub async fn get_settings(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> AppResult<Json<TimesheetSettings>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(stored_settings(&mut conn).await?))
}

/// Replaces the rules of the timesheet computation; every computed day is recomputed at
/// its next report.
#[utoipa::path(put, path = "/api/v1/settings/timesheet", tag = "schedules", security(("bearer" = [])),
    request_body = NewTimesheetSettings,
    responses(
        (status = 200, description = "stored", body = TimesheetSettings),
        (status = 403, description = "not an administrator", body = Problem),
        (status = 422, description = "`invalid_value`, `invalid_body`, `unknown_field`", body = Problem)))]
pub async fn put_settings(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<NewTimesheetSettings>,
) -> AppResult<Json<TimesheetSettings>> {
    let missing_checkout = match req.missing_checkout.as_str() {
        "flag" => MissingCheckout::Flag,
        "close_at_shift_end" => MissingCheckout::CloseAtShiftEnd,
        _ => {
            return Err(AppError::field(
                "missing_checkout",
                "invalid_value",
                "flag or close_at_shift_end",
            ));
        }
    };
    let settings = TimesheetSettings { missing_checkout };
    let mut tx = state.db.begin().await?;
    // Serialises concurrent changes; the row always exists (inserted by the migration).
    sqlx::query("SELECT 1 FROM timesheet_settings WHERE id = 1 FOR UPDATE")
        .execute(&mut *tx)
        .await?;
    let before = stored_settings(&mut tx).await?;
    sqlx::query(
        "INSERT INTO timesheet_settings (id, missing_checkout) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET missing_checkout = EXCLUDED.missing_checkout",
    )
    .bind(settings.missing_checkout.as_str())
    .execute(&mut *tx)
    .await?;
    if before != settings {
        // The rule can change any past day with an open interval.
        sqlx::query("DELETE FROM timesheet_days")
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        &caller,
        "timesheet_settings.put",
        "timesheet_settings",
        None,
        Some(&before),
        Some(&settings),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(settings))
}
