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
//!
//! The handlers live by concept: [`today`] (the live today view), [`period`] (the period
//! and department summaries, the synchronous files, the T-13 and the employee's own month) and
//! [`downloads`] (the report downloads written in the background); [`daily`] is the daily
//! detail on screen and [`sort`] the order of the tables the server pages.

use faceid_protocol::field_code::FieldCode;
mod daily;
mod downloads;
mod period;
mod sort;
mod today;

pub use daily::*;
pub use downloads::*;
pub use faceid_protocol::reports::{
    DailyPage, DailyRow, DayOut, DepartmentSummaryOut, DownloadRequest, ExportFormat, MonthQuery,
    MyTimesheet, ReportQuery, ReportSort, SummaryOut, SummaryPage, T13Query, TodayQuery,
};
pub use period::*;
pub use today::*;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, Utc};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Scope;
use crate::error::{AppError, AppResult};
use crate::extract::Check;
use crate::report_downloads::{self as report_files, ReportFile};
use crate::routes::Paging;
use crate::timesheet::store::{self, Emp, EmpFilter};
use crate::timesheet::summary::EmployeeSummary;
use crate::timesheet::{Period, PeriodError};

/// Most employee-days one export or report may hold; narrow the department or period.
pub const MAX_REPORT_EMPLOYEE_DAYS: i64 = 100_000;

/// Longest name search (`q`) of the reports, in characters.
pub const MAX_NAME_SEARCH: usize = 100;

/// The rules of every parameter, checked by every report that takes this query (the one
/// document describes them all), whether or not that report uses the parameter: the page
/// and the format, answered with the paging and the format wanted.
fn checked(q: &ReportQuery) -> AppResult<((u32, u32), bool)> {
    let mut check = Check::default();
    if q.q
        .as_deref()
        .is_some_and(|q| q.chars().count() > MAX_NAME_SEARCH)
    {
        check.add(
            "q",
            FieldCode::TooLong,
            format!("must be at most {MAX_NAME_SEARCH} characters"),
        );
    }
    check.finish()?;
    Ok((
        Paging::resolve(q.limit, q.offset)?,
        q.format.unwrap_or_default() == ExportFormat::Xlsx,
    ))
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
        name: q.q.clone(),
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
        Some(d) => report_files::department_name(&state.db, d)
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
