//! Timesheet reports: today, period summary, department summary, CSV/XLSX exports, the T-13
//! form and the employee's own month. Scoped like the rest of the API: operators see their
//! departments and sites, users only `/me`.
//!
//! Long reports are written in the background instead: `POST /api/v1/reports/downloads` queues
//! a report download ([`crate::report_downloads`]), `GET …/downloads/{id}` answers its
//! progress and `GET …/downloads/{id}/file` the file.
//!
//! Every report over a period reads `timesheet_days` after recomputing its stale rows
//! (`timesheet::store::days`), so the summary, the exports and the T-13 agree.

use faceid_protocol::field_code::FieldCode;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::problem::Problem;
pub use faceid_protocol::reports::{LateRef, LeaveRef, PersonRef, TodayGroup, TodayReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{AuthUser, Scope, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Check};
use crate::job_files;
use crate::jobs;
use crate::report_downloads::{
    self as downloads, COLUMNS, DOWNLOAD_JOB, Params, Progress, ReportDownload, ReportFile,
    ReportKind,
};
use crate::routes::Paging;
use crate::timesheet::export;
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
        PeriodError::BadMonth(_) => {
            AppError::field("month", FieldCode::InvalidMonth, e.to_string())
        }
        PeriodError::TooLong { .. } => {
            AppError::field("to", FieldCode::PeriodTooLong, e.to_string())
        }
        PeriodError::Empty { .. } => AppError::field("to", FieldCode::EmptyPeriod, e.to_string()),
        PeriodError::OutOfRange(_) => AppError::field("from", FieldCode::OutOfRange, e.to_string()),
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
            FieldCode::InvalidPeriod,
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
            FieldCode::ReportTooLarge,
            format!(
                "{n} employee-days is more than {MAX_REPORT_EMPLOYEE_DAYS}; narrow the department, site or period"
            ),
        ));
    }
    Ok(())
}

/// A report file as a download.
fn file(f: ReportFile) -> Response {
    let mut resp = f.bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(f.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", f.name)) {
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
            FieldCode::ReportTooLarge,
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

/// The employees of a synchronous report, refused with `report_too_large` past
/// [`MAX_REPORT_EMPLOYEE_DAYS`].
async fn bounded_employees(
    state: &AppState,
    scope: &Scope,
    f: &EmpFilter,
    period: Period,
) -> AppResult<Vec<Emp>> {
    let (emps, total) = store::employees(&state.db, scope, f, period.from(), None).await?;
    check_size(total as usize, period)?;
    Ok(emps)
}

/// The department named on a T-13 (404 when it does not exist), empty for the whole scope.
async fn t13_department(state: &AppState, department: Option<Uuid>) -> AppResult<String> {
    match department {
        Some(d) => downloads::department_name(&state.db, d)
            .await?
            .ok_or(AppError::not_found("department")),
        None => Ok(String::new()),
    }
}

/// The employees and their period sums, bounded like [`bounded_employees`].
async fn all_summaries(
    state: &AppState,
    scope: &Scope,
    f: &EmpFilter,
    period: Period,
) -> AppResult<(Vec<Emp>, Vec<EmployeeSummary>)> {
    let emps = bounded_employees(state, scope, f, period).await?;
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
    let emps = bounded_employees(&state, &caller.scope(), &filter(&q), period).await?;
    let f = downloads::summary_file(&emps, period, xlsx, Progress::none(&state.db)).await?;
    Ok(file(f))
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
    let (_, xlsx) = q.checked()?;
    let period = resolve_period(q.month.as_deref(), q.from, q.to)?;
    let emps = bounded_employees(&state, &caller.scope(), &filter(&q), period).await?;
    let f =
        downloads::daily_file(&emps, period, xlsx, q.site_id, Progress::none(&state.db)).await?;
    Ok(file(f))
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
    let p = Params {
        department_id: q.department_id,
        site_id: None,
        organisation: q.organisation,
        okpo: q.okpo,
        document_number: q.document_number,
    };
    let emps = bounded_employees(&state, &caller.scope(), &p.filter(), month).await?;
    let department = t13_department(&state, p.department_id).await?;
    let f = downloads::t13_file(&emps, month, department, &p, Progress::none(&state.db)).await?;
    Ok(file(f))
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

// ---------------------------------------------------------------------------------------
// Report downloads (in the background)

/// `POST /api/v1/reports/downloads` body: which report, in which format, over which period
/// and employees (the parameters of the synchronous endpoints).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadRequest {
    pub report: ReportKind,
    /// `csv` (default) or `xlsx` for the summary and the daily detail; the T-13 is XLSX
    /// (`csv` is refused with `invalid` on `format`).
    #[serde(default)]
    pub format: Option<ExportFormat>,
    /// `YYYY-MM`; instead of `from` and `to` (default: the current month). The T-13 takes only
    /// a month (`from` / `to` are refused with `invalid_period`).
    #[schema(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
    /// First day (inclusive) with `to`, at most 366 days.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub department_id: Option<Uuid>,
    /// Summary and daily detail only (`invalid` on `site_id` for a T-13).
    pub site_id: Option<Uuid>,
    /// T-13 header fields (at most 200 characters each; `too_long`, `invalid_characters`).
    #[schema(max_length = 200)]
    pub organisation: Option<String>,
    #[schema(max_length = 200)]
    pub okpo: Option<String>,
    #[schema(max_length = 200)]
    pub document_number: Option<String>,
}

/// The period of a download request, with its rules (the T-13 header's texts: at most 200
/// characters, no control characters).
fn download_period(req: &DownloadRequest) -> AppResult<(Period, bool)> {
    let mut check = Check::default();
    check.opt_text("organisation", req.organisation.as_deref(), 200);
    check.opt_text("okpo", req.okpo.as_deref(), 200);
    check.opt_text("document_number", req.document_number.as_deref(), 200);
    check.finish()?;
    if req.report != ReportKind::T13 {
        let period = resolve_period(req.month.as_deref(), req.from, req.to)?;
        return Ok((period, req.format.unwrap_or_default() == ExportFormat::Xlsx));
    }
    let mut check = Check::default();
    if req.format == Some(ExportFormat::Csv) {
        check.add("format", FieldCode::Invalid, "the T-13 is an XLSX form");
    }
    if req.site_id.is_some() {
        check.add(
            "site_id",
            FieldCode::Invalid,
            "the T-13 is filtered by department only",
        );
    }
    if req.from.is_some() || req.to.is_some() {
        check.add(
            "month",
            FieldCode::InvalidPeriod,
            "the T-13 takes a month, not from and to",
        );
    }
    check.finish()?;
    let month = match req.month.as_deref() {
        Some(m) => Period::parse_month(m).map_err(period_error)?,
        None => current_month()?,
    };
    Ok((month, true))
}

/// Queues a report download: the summary, the daily detail or the T-13 written in the
/// background, for the caller's scope (administrators: everyone; operators: their
/// departments and sites), with its progress at `GET /api/v1/reports/downloads/{id}`. Not
/// bounded by `report_too_large`'s employee-days, only by the file formats (10,000
/// employees; 400,000 rows of daily detail).
#[utoipa::path(post, path = "/api/v1/reports/downloads", tag = "reports", security(("bearer" = [])),
    request_body = DownloadRequest,
    responses(
        (status = 202, description = "queued", body = ReportDownload),
        (status = 404, description = "no such department (T-13)", body = Problem),
        (status = 422, description = "`invalid_month`, `invalid_period`, `period_too_long`, `empty_period`, `invalid`, `too_long`, `report_too_large`", body = Problem)))]
pub async fn start_download(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(req): ApiJson<DownloadRequest>,
) -> AppResult<(StatusCode, Json<ReportDownload>)> {
    let (period, xlsx) = download_period(&req)?;
    let params = Params {
        department_id: req.department_id,
        site_id: req.site_id,
        organisation: req.organisation,
        okpo: req.okpo,
        document_number: req.document_number,
    };
    if req.report == ReportKind::T13 {
        t13_department(&state, params.department_id).await?;
    }
    let (_, total) = store::employees(
        &state.db,
        &caller.scope(),
        &params.filter(),
        period.from(),
        Some((1, 0)),
    )
    .await?;
    let too_large = |what: &str, n: i64, limit: usize| {
        AppError::field(
            "department_id",
            FieldCode::ReportTooLarge,
            format!("{n} {what} is more than {limit}; narrow the department, site or period"),
        )
    };
    if total > export::MAX_EXPORT_EMPLOYEES as i64 {
        return Err(too_large("employees", total, export::MAX_EXPORT_EMPLOYEES));
    }
    let rows = total * period.len_days();
    if req.report == ReportKind::Daily && rows > export::MAX_EXPORT_DAY_ROWS as i64 {
        return Err(too_large("rows", rows, export::MAX_EXPORT_DAY_ROWS));
    }
    let id = Uuid::now_v7();
    let mut tx = state.db.begin().await?;
    let download: ReportDownload = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO report_downloads (id, requested_by, report, format, period_from, period_to, params)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(caller.id)
    .bind(req.report.as_str())
    .bind(if xlsx { "xlsx" } else { "csv" })
    .bind(period.from())
    .bind(period.to())
    .bind(sqlx::types::Json(&params))
    .fetch_one(&mut *tx)
    .await?;
    jobs::enqueue(
        &mut tx,
        DOWNLOAD_JOB,
        &serde_json::json!({ "download_id": id }),
        jobs::Enqueue::default(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(download)))
}

/// One of the caller's report downloads: its state and progress, and when done the file's
/// name, size and expiry. Another account's download is 404.
#[utoipa::path(get, path = "/api/v1/reports/downloads/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "download id")),
    responses(
        (status = 200, description = "the download", body = ReportDownload),
        (status = 404, description = "no such download of the caller", body = Problem)))]
pub async fn get_download(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ReportDownload>> {
    downloads::load(&state.db, id, caller.id)
        .await?
        .map(Json)
        .ok_or(AppError::not_found("report_download"))
}

/// The file of one of the caller's report downloads (200, streamed), 202 with the state while
/// it is being written, 409 `export_failed` when it failed, 410 `export_expired` once deleted.
#[utoipa::path(get, path = "/api/v1/reports/downloads/{id}/file", tag = "reports", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "download id")),
    responses(
        (status = 200, description = "the file: `text/csv` or XLSX"),
        (status = 202, description = "still being written", body = ReportDownload),
        (status = 404, description = "no such download of the caller", body = Problem),
        (status = 409, description = "`export_failed`", body = Problem),
        (status = 410, description = "`export_expired`", body = Problem)))]
pub async fn download_file(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    let d = downloads::load(&state.db, id, caller.id)
        .await?
        .ok_or(AppError::not_found("report_download"))?;
    match d.state.as_str() {
        "queued" | "running" => Ok((StatusCode::ACCEPTED, Json(d)).into_response()),
        "failed" => Err(AppError::conflict(
            ErrorCode::ExportFailed,
            "the report could not be written; start a new download",
        )),
        "expired" => Err(AppError::gone(
            ErrorCode::ExportExpired,
            "the report was deleted after its retention period; start a new download",
        )),
        _ => {
            let path = downloads::file_path(&state.settings, id);
            let name = d.file_name.as_deref().unwrap_or("report");
            let ct = d
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream");
            job_files::stream(&path, ct, name).await
        }
    }
}
