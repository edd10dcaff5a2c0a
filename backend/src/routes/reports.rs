//! Timesheet reports: today, period summary, department summary, CSV/XLSX exports, the T-13
//! form and the employee's own month. Scoped like the rest of the API: operators see their
//! departments and sites, users only `/me`.
//!
//! Every report over a period reads `timesheet_days` after recomputing its stale rows
//! (`timesheet::store::days`), so the summary, the exports and the T-13 agree.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use faceid_protocol::problem::Problem;
pub use faceid_protocol::reports::{LateRef, LeaveRef, PersonRef, TodayGroup, TodayReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{AuthUser, Scope, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::ApiQuery;
use crate::routes::Paging;
use crate::timesheet::export::{self, EmployeeInfo, ExportError, T13Header};
use crate::timesheet::store::{self, Emp, EmpFilter};
use crate::timesheet::summary::{
    EmployeeSummary, minutes_to_hours, summarize_department, summarize_employee, today_view,
};
use crate::timesheet::{DayRecord, Period, PeriodError};

/// Most employee-days one export or report may hold; narrow the department or period.
pub const MAX_REPORT_EMPLOYEE_DAYS: i64 = 100_000;

/// `?month=YYYY-MM` or `?from=&to=` (inclusive, at most 366 days); default the current month.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `YYYY-MM`; instead of `from` and `to`.
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub department_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    /// Page size of the JSON summary (1..=500, default 50).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    /// Export format (default `csv`).
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

impl ReportQuery {
    /// The rules of every parameter, checked by every report that takes this query (the one
    /// document describes them all), whether or not that report uses the parameter: the page
    /// and the format, answered with the paging and the format wanted.
    fn checked(&self) -> AppResult<((u32, u32), bool)> {
        Ok((
            Paging::resolve(self.limit, self.offset)?,
            self.format.unwrap_or_default() == ExportFormat::Xlsx,
        ))
    }
}

fn period_error(e: PeriodError) -> AppError {
    match e {
        PeriodError::BadMonth(_) => AppError::field("month", "invalid_month", e.to_string()),
        PeriodError::TooLong { .. } => AppError::field("to", "period_too_long", e.to_string()),
        PeriodError::Empty { .. } => AppError::field("to", "empty_period", e.to_string()),
        PeriodError::OutOfRange(_) => AppError::field("from", "out_of_range", e.to_string()),
    }
}

fn current_month() -> AppResult<Period> {
    let now = Utc::now();
    Period::month(now.year(), now.month()).ok_or_else(|| AppError::internal("no current month"))
}

fn resolve_period(
    month: Option<&str>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<Period> {
    match (month, from, to) {
        (Some(m), None, None) => Period::parse_month(m).map_err(period_error),
        (None, Some(f), Some(t)) => Period::new(f, t).map_err(period_error),
        (None, None, None) => current_month(),
        _ => Err(AppError::field(
            "month",
            "invalid_period",
            "give either month, or both from and to",
        )),
    }
}

fn filter(q: &ReportQuery) -> EmpFilter {
    EmpFilter {
        department_id: q.department_id,
        site_id: q.site_id,
        employee_id: None,
    }
}

fn check_size(employees: usize, period: Period) -> AppResult<()> {
    let n = employees as i64 * period.len_days();
    if n > MAX_REPORT_EMPLOYEE_DAYS {
        return Err(AppError::field(
            "to",
            "report_too_large",
            format!(
                "{n} employee-days is more than {MAX_REPORT_EMPLOYEE_DAYS}; narrow the department, site or period"
            ),
        ));
    }
    Ok(())
}

fn export_error(e: ExportError) -> AppError {
    match e {
        ExportError::TooLarge { .. } => AppError::field("to", "report_too_large", e.to_string()),
        ExportError::NotAMonth { .. } => AppError::field("month", "invalid_month", e.to_string()),
        other => AppError::internal(other),
    }
}

/// A file download.
fn file(content_type: &'static str, name: &str, bytes: Vec<u8>) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

// ---------------------------------------------------------------------------------------
// DTOs

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryOut {
    pub employee_id: Uuid,
    pub name: String,
    pub department_id: Option<Uuid>,
    pub department: Option<String>,
    pub days_worked: u32,
    pub worked_minutes: i64,
    pub worked_hours: f64,
    pub late_count: u32,
    pub late_minutes: i64,
    pub early_leave_count: u32,
    pub early_leave_minutes: i64,
    /// Working days without attendance or a recorded reason.
    pub absences: u32,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub night_hours: f64,
    pub days_off: u32,
    pub holidays: u32,
    /// Days of leave by kind (`annual_leave`, `sick_leave`, `business_trip`, `unpaid_leave`).
    pub leave_days: BTreeMap<String, u32>,
    pub missing_checkouts: u32,
    pub pending_events: u32,
}

fn summary_out(e: &Emp, s: &EmployeeSummary) -> SummaryOut {
    SummaryOut {
        employee_id: e.id,
        name: e.full_name(),
        department_id: e.department_id,
        department: e.department_name.clone(),
        days_worked: s.days_worked,
        worked_minutes: s.worked_minutes,
        worked_hours: s.worked_hours(),
        late_count: s.late_count,
        late_minutes: s.late_minutes,
        early_leave_count: s.early_leave_count,
        early_leave_minutes: s.early_leave_minutes,
        absences: s.absences,
        overtime_minutes: s.overtime_minutes,
        night_minutes: s.night_minutes,
        night_hours: s.night_hours(),
        days_off: s.days_off,
        holidays: s.holidays,
        leave_days: s
            .leave_days
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), *v))
            .collect(),
        missing_checkouts: s.missing_checkouts,
        pending_events: s.pending_events,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryPage {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Employees matching the filter (all pages).
    pub total: i64,
    pub items: Vec<SummaryOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentSummaryOut {
    pub department_id: Option<Uuid>,
    pub department: Option<String>,
    pub employees: u32,
    pub days_worked: u32,
    pub worked_minutes: i64,
    pub worked_hours: f64,
    pub late_count: u32,
    pub late_minutes: i64,
    pub early_leave_minutes: i64,
    pub absences: u32,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub leave_days: u32,
    pub missing_checkouts: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayOut {
    pub date: NaiveDate,
    /// present, late, left_early, absent, day_off, holiday, on_leave, missing_check_out,
    /// in_progress, upcoming
    pub status: String,
    /// The T-13 letter code(s) of the day, e.g. `Я` or `Я/Н`.
    pub t13_code: String,
    pub planned_start: Option<DateTime<Utc>>,
    pub planned_end: Option<DateTime<Utc>>,
    pub first_in: Option<DateTime<Utc>>,
    pub last_out: Option<DateTime<Utc>>,
    pub worked_minutes: i64,
    pub late_minutes: i64,
    pub early_leave_minutes: i64,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub absence: Option<String>,
    pub missing_checkout: bool,
    pub holiday: bool,
    pub pending_events: usize,
}

fn day_out(r: &DayRecord) -> DayOut {
    DayOut {
        date: r.date,
        status: r.status.as_str().to_owned(),
        t13_code: export::t13_day(r).code_text(),
        planned_start: r.planned.as_ref().map(|p| p.start),
        planned_end: r.planned.as_ref().map(|p| p.end),
        first_in: r.first_in,
        last_out: r.last_out,
        worked_minutes: r.worked_minutes,
        late_minutes: r.late_minutes,
        early_leave_minutes: r.early_leave_minutes,
        overtime_minutes: r.overtime_minutes,
        night_minutes: r.night_minutes,
        absence: r.absence.map(|a| a.as_str().to_owned()),
        missing_checkout: r.missing_checkout,
        holiday: r.holiday,
        pending_events: r.pending_event_ids.len(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyTimesheet {
    pub month: String,
    pub days: Vec<DayOut>,
    pub summary: SummaryOut,
}

// ---------------------------------------------------------------------------------------
// Today

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TodayQuery {
    pub department_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    /// Evaluate at this instant instead of now (e.g. to look back at a morning).
    pub at: Option<DateTime<Utc>>,
}

const MAX_TODAY_EMPLOYEES: i64 = 20_000;

/// Who is in, late, missing and not checked out today, in total, per department and per
/// site (an employee with several sites is listed under each).
#[utoipa::path(get, path = "/api/v1/reports/today", tag = "reports", security(("bearer" = [])),
    params(TodayQuery),
    responses(
        (status = 200, description = "the today view", body = TodayReport),
        (status = 422, description = "`report_too_large`", body = Problem)))]
pub async fn today(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<TodayQuery>,
) -> AppResult<Json<TodayReport>> {
    let at = q.at.unwrap_or_else(Utc::now);
    let f = EmpFilter {
        department_id: q.department_id,
        site_id: q.site_id,
        employee_id: None,
    };
    let from = at.date_naive() - chrono::Duration::days(1);
    let (emps, total) = store::employees(&state.db, &caller.scope(), &f, from, None).await?;
    if total > MAX_TODAY_EMPLOYEES {
        return Err(AppError::field(
            "department_id",
            "report_too_large",
            "too many employees; filter by department or site",
        ));
    }
    let work: Vec<(Emp, Period)> = emps
        .iter()
        .map(|e| {
            let d = at.with_timezone(&e.tz()).date_naive();
            Period::new(d, d).map(|p| (e.clone(), p))
        })
        .collect::<Result<_, _>>()
        .map_err(period_error)?;
    let mut conn = state.db.acquire().await?;
    let days = store::compute_spans(&mut conn, &work, at).await?;
    let records: Vec<DayRecord> = days.into_iter().flatten().collect();

    let group = |id: Option<Uuid>, name: Option<String>, members: &dyn Fn(&Emp) -> bool| {
        let recs: Vec<DayRecord> = records
            .iter()
            .filter(|r| emp_of(&emps, r).is_some_and(members))
            .cloned()
            .collect();
        let v = today_view(&recs, at);
        let person = |i: i64| {
            let e = &emps[(i - 1) as usize];
            PersonRef {
                employee_id: e.id,
                name: e.full_name(),
            }
        };
        TodayGroup {
            id,
            name,
            employees: recs.len() as u64,
            in_now: v.in_now.iter().map(|i| person(*i)).collect(),
            late: v
                .late
                .iter()
                .map(|(i, m)| {
                    let p = person(*i);
                    LateRef {
                        employee_id: p.employee_id,
                        name: p.name,
                        minutes: *m,
                    }
                })
                .collect(),
            missing: v.missing.iter().map(|i| person(*i)).collect(),
            not_checked_out: v.not_checked_out.iter().map(|i| person(*i)).collect(),
            on_leave: v
                .on_leave
                .iter()
                .map(|(i, k)| {
                    let p = person(*i);
                    LeaveRef {
                        employee_id: p.employee_id,
                        name: p.name,
                        kind: k.as_str().to_owned(),
                    }
                })
                .collect(),
            pending_review: v.pending_review.iter().map(|i| person(*i)).collect(),
        }
    };
    let totals = group(None, None, &|_| true);
    let mut deps: BTreeMap<Option<Uuid>, Option<String>> = BTreeMap::new();
    for e in &emps {
        deps.insert(e.department_id, e.department_name.clone());
    }
    let by_department = deps
        .into_iter()
        .map(|(id, name)| group(id, name, &|e: &Emp| e.department_id == id))
        .collect();
    let mut site_ids: Vec<Uuid> = emps.iter().flat_map(|e| e.site_ids.clone()).collect();
    site_ids.sort();
    site_ids.dedup();
    let sites: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, name FROM sites WHERE id = ANY($1) ORDER BY lower(name), id")
            .bind(&site_ids)
            .fetch_all(&mut *conn)
            .await?;
    let by_site = sites
        .into_iter()
        .map(|(id, name)| group(Some(id), Some(name), &|e: &Emp| e.site_ids.contains(&id)))
        .collect();
    Ok(Json(TodayReport {
        at,
        totals,
        by_department,
        by_site,
    }))
}

fn emp_of<'a>(emps: &'a [Emp], r: &DayRecord) -> Option<&'a Emp> {
    usize::try_from(r.employee - 1)
        .ok()
        .and_then(|i| emps.get(i))
}

// ---------------------------------------------------------------------------------------
// Period reports

async fn all_days(
    state: &AppState,
    scope: &Scope,
    f: &EmpFilter,
    period: Period,
) -> AppResult<(Vec<Emp>, Vec<Vec<DayRecord>>)> {
    let (emps, total) = store::employees(&state.db, scope, f, period.from(), None).await?;
    check_size(total as usize, period)?;
    let days = store::days(&state.db, &emps, period, Utc::now()).await?;
    Ok((emps, days))
}

/// Like [`all_days`], summed per employee by the database.
async fn all_summaries(
    state: &AppState,
    scope: &Scope,
    f: &EmpFilter,
    period: Period,
) -> AppResult<(Vec<Emp>, Vec<EmployeeSummary>)> {
    let (emps, total) = store::employees(&state.db, scope, f, period.from(), None).await?;
    check_size(total as usize, period)?;
    let sums = store::summaries(&state.db, &emps, period, Utc::now()).await?;
    Ok((emps, sums))
}

/// Period summary per employee (paged by employees).
#[utoipa::path(get, path = "/api/v1/reports/summary", tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "one page of employees", body = SummaryPage),
        (status = 422, description = "`invalid_month`, `period_too_long`, `empty_period`", body = Problem)))]
pub async fn summary(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Json<SummaryPage>> {
    let (page, _) = q.checked()?;
    let period = resolve_period(q.month.as_deref(), q.from, q.to)?;
    let (emps, total) = store::employees(
        &state.db,
        &caller.scope(),
        &filter(&q),
        period.from(),
        Some(page),
    )
    .await?;
    let sums = store::summaries(&state.db, &emps, period, Utc::now()).await?;
    let items = emps
        .iter()
        .zip(&sums)
        .map(|(e, s)| summary_out(e, s))
        .collect();
    Ok(Json(SummaryPage {
        from: period.from(),
        to: period.to(),
        total,
        items,
    }))
}

/// Totals per department over a period.
#[utoipa::path(get, path = "/api/v1/reports/departments", tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "one row per department", body = Vec<DepartmentSummaryOut>),
        (status = 422, description = "`invalid_month`, `period_too_long`, `report_too_large`", body = Problem)))]
pub async fn departments(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Json<Vec<DepartmentSummaryOut>>> {
    q.checked()?;
    let period = resolve_period(q.month.as_deref(), q.from, q.to)?;
    let (emps, sums) = all_summaries(&state, &caller.scope(), &filter(&q), period).await?;
    let mut groups: BTreeMap<(Option<String>, Option<Uuid>), Vec<EmployeeSummary>> =
        BTreeMap::new();
    for (e, s) in emps.iter().zip(sums) {
        groups
            .entry((e.department_name.clone(), e.department_id))
            .or_default()
            .push(s);
    }
    Ok(Json(
        groups
            .into_iter()
            .map(|((name, id), list)| {
                let d = summarize_department(0, &list);
                DepartmentSummaryOut {
                    department_id: id,
                    department: name,
                    employees: d.employees,
                    days_worked: d.days_worked,
                    worked_minutes: d.worked_minutes,
                    worked_hours: minutes_to_hours(d.worked_minutes),
                    late_count: d.late_count,
                    late_minutes: d.late_minutes,
                    early_leave_minutes: d.early_leave_minutes,
                    absences: d.absences,
                    overtime_minutes: d.overtime_minutes,
                    night_minutes: d.night_minutes,
                    leave_days: d.leave_days,
                    missing_checkouts: d.missing_checkouts,
                }
            })
            .collect(),
    ))
}

fn with_info(emps: &[Emp], days: Vec<Vec<DayRecord>>) -> Vec<(EmployeeInfo, Vec<DayRecord>)> {
    emps.iter()
        .enumerate()
        .zip(days)
        .map(|((i, e), d)| (e.info(i as i64 + 1), d))
        .collect()
}

/// What both exports start from: the format, the period and its days.
async fn export_input(
    state: &AppState,
    scope: &Scope,
    q: &ReportQuery,
) -> AppResult<(bool, Period, Vec<Emp>, Vec<Vec<DayRecord>>)> {
    let (_, xlsx) = q.checked()?;
    let period = resolve_period(q.month.as_deref(), q.from, q.to)?;
    let (emps, days) = all_days(state, scope, &filter(q), period).await?;
    Ok((xlsx, period, emps, days))
}

/// A CSV or XLSX download named `{stem}.csv` / `{stem}.xlsx`.
fn table_file(xlsx: bool, stem: &str, bytes: Result<Vec<u8>, ExportError>) -> AppResult<Response> {
    let bytes = bytes.map_err(export_error)?;
    Ok(if xlsx {
        file(export::XLSX_CONTENT_TYPE, &format!("{stem}.xlsx"), bytes)
    } else {
        file(export::CSV_CONTENT_TYPE, &format!("{stem}.csv"), bytes)
    })
}

/// The period summary as a file (`format=csv`, the default, or `xlsx`).
#[utoipa::path(get, path = "/api/v1/reports/summary/export", tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "`text/csv` or XLSX, by `format`"),
        (status = 422, description = "`invalid_month`, `report_too_large`", body = Problem)))]
pub async fn summary_export(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Response> {
    let (_, xlsx) = q.checked()?;
    let period = resolve_period(q.month.as_deref(), q.from, q.to)?;
    let (emps, sums) = all_summaries(&state, &caller.scope(), &filter(&q), period).await?;
    let rows: Vec<(EmployeeInfo, EmployeeSummary)> = emps
        .iter()
        .enumerate()
        .zip(sums)
        .map(|((i, e), s)| (e.info(i as i64 + 1), s))
        .collect();
    let bytes = if xlsx {
        export::summary_xlsx_of(&rows)
    } else {
        export::summary_csv_of(&rows)
    };
    table_file(
        xlsx,
        &format!("summary_{}_{}", period.from(), period.to()),
        bytes,
    )
}

/// The daily detail as a file (`format=csv`, the default, or `xlsx`); times in the zone of
/// the requested site, else of the first employee's site.
#[utoipa::path(get, path = "/api/v1/reports/daily/export", tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "`text/csv` or XLSX, by `format`"),
        (status = 422, description = "`invalid_month`, `report_too_large`", body = Problem)))]
pub async fn daily_export(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Response> {
    let (xlsx, period, emps, days) = export_input(&state, &caller.scope(), &q).await?;
    let tz: Tz = match q.site_id {
        Some(s) => sqlx::query_scalar::<_, String>("SELECT time_zone FROM sites WHERE id = $1")
            .bind(s)
            .fetch_optional(&state.db)
            .await?
            .and_then(|t| t.parse().ok())
            .unwrap_or(Tz::UTC),
        None => emps.first().map(Emp::tz).unwrap_or(Tz::UTC),
    };
    let rows = with_info(&emps, days);
    let bytes = if xlsx {
        export::daily_xlsx(&rows, tz)
    } else {
        export::daily_csv(&rows, tz)
    };
    table_file(
        xlsx,
        &format!("daily_{}_{}", period.from(), period.to()),
        bytes,
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct T13Query {
    /// `YYYY-MM` (default: the current month).
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
    /// The department of the form; without it, every employee in the caller's scope.
    pub department_id: Option<Uuid>,
    /// Header fields of the form.
    pub organisation: Option<String>,
    pub okpo: Option<String>,
    pub document_number: Option<String>,
}

/// The unified form T-13 (OKUD 0301008) for a month and a department, as XLSX.
#[utoipa::path(get, path = "/api/v1/reports/t13", tag = "reports", security(("bearer" = [])),
    params(T13Query),
    responses(
        (status = 200, description = "the form as XLSX"),
        (status = 404, description = "no such department", body = Problem),
        (status = 422, description = "`invalid_month`, `report_too_large`", body = Problem)))]
pub async fn t13(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<T13Query>,
) -> AppResult<Response> {
    let month = match q.month.as_deref() {
        Some(m) => Period::parse_month(m).map_err(period_error)?,
        None => current_month()?,
    };
    let f = EmpFilter {
        department_id: q.department_id,
        site_id: None,
        employee_id: None,
    };
    let (emps, total) =
        store::employees(&state.db, &caller.scope(), &f, month.from(), None).await?;
    check_size(total as usize, month)?;
    let stored = store::t13_cells(&state.db, &emps, month, Utc::now()).await?;
    let department = match q.department_id {
        Some(d) => sqlx::query_scalar::<_, String>("SELECT name FROM departments WHERE id = $1")
            .bind(d)
            .fetch_optional(&state.db)
            .await?
            .ok_or(AppError::not_found("department"))?,
        None => String::new(),
    };
    let clip = |s: Option<String>| s.map(|s| s.chars().take(200).collect()).unwrap_or_default();
    let header = T13Header {
        organisation: clip(q.organisation),
        okpo: clip(q.okpo),
        department,
        document_number: clip(q.document_number),
        prepared_on: Utc::now().date_naive(),
    };
    let bytes = store::t13_file(&header, month, &emps, &stored).map_err(export_error)?;
    Ok(file(
        export::XLSX_CONTENT_TYPE,
        &format!(
            "t13_{}-{:02}.xlsx",
            month.from().year(),
            month.from().month()
        ),
        bytes,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// `YYYY-MM` (default: the current month).
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
}

/// The caller's own days of a month, with statuses and hours.
#[utoipa::path(get, path = "/api/v1/me/timesheet", tag = "reports", security(("bearer" = [])),
    params(MonthQuery),
    responses(
        (status = 200, description = "the month", body = MyTimesheet),
        (status = 422, description = "`invalid_month`", body = Problem)))]
pub async fn my_timesheet(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> AppResult<Json<MyTimesheet>> {
    let month = match q.month.as_deref() {
        Some(m) => Period::parse_month(m).map_err(period_error)?,
        None => current_month()?,
    };
    let f = EmpFilter {
        employee_id: Some(caller.id),
        ..EmpFilter::default()
    };
    let (emps, _) = store::employees(
        &state.db,
        &Scope::OnlySelf(caller.id),
        &f,
        month.from(),
        None,
    )
    .await?;
    let me = emps.first().ok_or(AppError::not_found("employee"))?;
    let days = store::days(&state.db, &emps, month, Utc::now()).await?;
    let mine = days.into_iter().next().unwrap_or_default();
    let summary = summary_out(me, &summarize_employee(1, &mine));
    Ok(Json(MyTimesheet {
        month: format!("{}-{:02}", month.from().year(), month.from().month()),
        days: mine.iter().map(day_out).collect(),
        summary,
    }))
}
