//! Shift templates and schedules (weekly, cyclic, roster): what assignments refer to.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveTime, Utc};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::Problem;
use faceid_protocol::schedules::{
    NewShiftTemplate, SCHEDULE_PATH, SCHEDULES_PATH, SHIFT_TEMPLATE_PATH, SHIFT_TEMPLATES_PATH,
    ShiftTemplateOut,
};
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, Staff};
use crate::error::{AppError, AppResult, AsDbError};
use crate::extract::Check;
use crate::extract::{ApiJson, ApiPath};
use crate::timesheet::ShiftTemplate;
use crate::timesheet::schedule::ScheduleError;
use crate::timesheet::store::{self, ScheduleDef, TEMPLATE_SELECT, TemplateRow};
use faceid_protocol::schedules::{NewSchedule, ScheduleOut};
use faceid_protocol::wire_text::WireText;

/// Most dates a roster schedule may list.
pub const MAX_ROSTER_DAYS: usize = 1_000;

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
            check.add(field, FieldCode::InvalidTime, "expected HH:MM");
            NaiveTime::MIN
        })
}

fn schedule_error(e: ScheduleError) -> AppError {
    let (field, code) = match &e {
        ScheduleError::ZeroLengthShift(_) => ("end", FieldCode::ZeroLengthShift),
        ScheduleError::FieldOutOfRange { field, .. } => (*field, FieldCode::OutOfRange),
        ScheduleError::BreakTooLong { .. } => ("unpaid_break_minutes", FieldCode::BreakTooLong),
        ScheduleError::OverlappingShifts { .. } => ("pattern", FieldCode::OverlappingShifts),
        ScheduleError::NonsensicalPattern(_) => ("pattern", FieldCode::InvalidPattern),
        ScheduleError::EmptyRange { .. } => ("valid_to", FieldCode::EmptyRange),
        ScheduleError::OverlappingAssignments(_) => {
            ("valid_from", FieldCode::OverlappingAssignment)
        }
    };
    AppError::field(field, code, e.to_string())
}

/// Lists shift templates.
#[utoipa::path(get, path = SHIFT_TEMPLATES_PATH, tag = "schedules", security(("bearer" = [])),
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
#[utoipa::path(post, path = SHIFT_TEMPLATES_PATH, tag = "schedules", security(("bearer" = [])),
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
        Some("shift_templates_name_key") => AppError::conflict(
            ErrorCode::NameTaken,
            "a shift template with this name exists",
        ),
        Some("shift_templates_site_id_fkey") => {
            AppError::field("site_id", FieldCode::UnknownSite, "no such site")
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
#[utoipa::path(delete, path = SHIFT_TEMPLATE_PATH, tag = "schedules", security(("bearer" = [])),
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
                    AppError::conflict(ErrorCode::InUse, "a schedule uses this shift template")
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
#[utoipa::path(get, path = SCHEDULES_PATH, tag = "schedules", security(("bearer" = [])),
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
#[utoipa::path(post, path = SCHEDULES_PATH, tag = "schedules", security(("bearer" = [])),
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
            FieldCode::TooManyDays,
            format!("a roster lists at most {MAX_ROSTER_DAYS} dates"),
        ));
    }
    let mut tx = state.db.begin().await?;
    let templates = store::templates(&mut tx).await?;
    let kind = store::resolve_schedule(&req.pattern, &templates)
        .map_err(|m| AppError::field("pattern", FieldCode::InvalidPattern, m))?;
    kind.validate().map_err(schedule_error)?;
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO schedules (id, name, kind, definition) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(&name)
        .bind(req.pattern.kind().wire_text())
        .bind(sqlx::types::Json(&req.pattern))
        .execute(&mut *tx)
        .await
        .map_err(|e| match e.constraint() {
            Some("schedules_name_key") => {
                AppError::conflict(ErrorCode::NameTaken, "a schedule with this name exists")
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
#[utoipa::path(get, path = SCHEDULE_PATH, tag = "schedules", security(("bearer" = [])),
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
#[utoipa::path(delete, path = SCHEDULE_PATH, tag = "schedules", security(("bearer" = [])),
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
                    AppError::conflict(ErrorCode::InUse, "the schedule is assigned")
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
