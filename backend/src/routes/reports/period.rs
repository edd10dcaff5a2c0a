//! Reports over a period: the summary per employee and per department, the synchronous
//! CSV / XLSX files, the T-13 and the employee's own month.

use super::checked;
use faceid_protocol::reports::{
    DAILY_EXPORT_PATH, DEPARTMENT_SUMMARY_PATH, MY_TIMESHEET_PATH, SUMMARY_EXPORT_PATH,
    SUMMARY_PATH, T13_PATH,
};
use faceid_protocol::reports::{
    DayOut, DepartmentSummaryOut, MonthQuery, MyTimesheet, SummaryOut, SummaryPage, T13Query,
};
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{Datelike, Utc};
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use super::sort::{self, SortValue, sort_rows};
use super::{
    ReportQuery, all_summaries, bounded_employees, current_month, file, filter, period_error,
    resolve_period, t13_department,
};
use crate::AppState;
use crate::auth::{AuthUser, Scope, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::ApiQuery;
use crate::report_downloads::{self as downloads, Params, Progress};
use crate::timesheet::export;
use crate::timesheet::store::{self, Emp, EmpFilter};
use crate::timesheet::summary::{
    EmployeeSummary, minutes_to_hours, summarize_department, summarize_employee,
};
use crate::timesheet::{DayRecord, Period};
use faceid_protocol::reports::SortKey;

// ---------------------------------------------------------------------------------------
// DTOs

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

pub(super) fn day_out(r: &DayRecord) -> DayOut {
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

/// Period summary per employee (paged by employees), in the name order unless `sort` says
/// otherwise (another order reads every employee first, so it is bounded by
/// `report_too_large` like the department summary); `q` keeps the employees whose name
/// contains it.
#[utoipa::path(get, path = SUMMARY_PATH, tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "one page of employees", body = SummaryPage),
        (status = 400, description = "`invalid_query` (paging, an unknown `sort`)", body = Problem),
        (status = 422, description = "`invalid_month`, `invalid_period`, `period_too_long`, `empty_period`, `report_too_large` (a `sort` other than `name`), `too_long` (`q`)", body = Problem)))]
pub async fn summary(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Json<SummaryPage>> {
    let (page, _) = checked(&q)?;
    let period = resolve_period(q.month.as_deref(), q.from, q.to)?;
    let (from, to) = (period.from(), period.to());
    let order = q.sort.filter(|s| s.key().0 != SortKey::Name || s.key().1);
    let Some(order) = order else {
        // The name order: paged by the database.
        let (emps, total) =
            store::employees(&state.db, &caller.scope(), &filter(&q), from, Some(page)).await?;
        let sums = store::summaries(&state.db, &emps, period, Utc::now()).await?;
        let items = emps
            .iter()
            .zip(&sums)
            .map(|(e, s)| summary_out(e, s))
            .collect();
        return Ok(Json(SummaryPage {
            from,
            to,
            total,
            items,
        }));
    };
    // Another order needs every row: bounded like the department summary.
    let (emps, sums) = all_summaries(&state, &caller.scope(), &filter(&q), period).await?;
    let mut rows: Vec<(usize, SummaryOut)> = emps
        .iter()
        .zip(&sums)
        .map(|(e, s)| summary_out(e, s))
        .enumerate()
        .collect();
    sort_rows(&mut rows, order, |(i, r), key| match key {
        SortKey::Name | SortKey::Date => SortValue::Num(*i as i64),
        SortKey::Department => SortValue::Text(r.department.clone()),
        SortKey::Worked => SortValue::Num(r.worked_minutes),
        SortKey::Late => SortValue::Num(r.late_minutes),
        SortKey::EarlyLeave => SortValue::Num(r.early_leave_minutes),
        SortKey::Absences => SortValue::Num(i64::from(r.absences)),
        SortKey::Overtime => SortValue::Num(r.overtime_minutes),
    });
    Ok(Json(SummaryPage {
        from,
        to,
        total: rows.len() as i64,
        items: sort::page(rows, page).into_iter().map(|(_, r)| r).collect(),
    }))
}

/// Totals per department over a period.
#[utoipa::path(get, path = DEPARTMENT_SUMMARY_PATH, tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "one row per department", body = Vec<DepartmentSummaryOut>),
        (status = 422, description = "`invalid_month`, `period_too_long`, `report_too_large`", body = Problem)))]
pub async fn departments(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Json<Vec<DepartmentSummaryOut>>> {
    checked(&q)?;
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
#[utoipa::path(get, path = SUMMARY_EXPORT_PATH, tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "`text/csv` or XLSX, by `format`"),
        (status = 422, description = "`invalid_month`, `report_too_large`", body = Problem)))]
pub async fn summary_export(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Response> {
    let (emps, period, xlsx) = file_employees(&state, &caller.scope(), &q).await?;
    let f = downloads::summary_file(&emps, period, xlsx, Progress::none(&state.db)).await?;
    Ok(file(f))
}

/// The daily detail as a file (`format=csv`, the default, or `xlsx`); times in the zone of
/// the requested site, else of the first employee's site.
#[utoipa::path(get, path = DAILY_EXPORT_PATH, tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "`text/csv` or XLSX, by `format`"),
        (status = 422, description = "`invalid_month`, `report_too_large`", body = Problem)))]
pub async fn daily_export(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Response> {
    let (emps, period, xlsx) = file_employees(&state, &caller.scope(), &q).await?;
    let f =
        downloads::daily_file(&emps, period, xlsx, q.site_id, Progress::none(&state.db)).await?;
    Ok(file(f))
}

/// The opening of a synchronous file report: the query checked, its period resolved and its
/// employees read (bounded by `report_too_large`); answers them with the period and whether
/// XLSX was asked for.
async fn file_employees(
    state: &AppState,
    scope: &Scope,
    q: &ReportQuery,
) -> AppResult<(Vec<Emp>, Period, bool)> {
    let (_, xlsx) = checked(q)?;
    let period = resolve_period(q.month.as_deref(), q.from, q.to)?;
    let emps = bounded_employees(state, scope, &filter(q), period).await?;
    Ok((emps, period, xlsx))
}

/// The unified form T-13 (OKUD 0301008) for a month and a department, as XLSX.
#[utoipa::path(get, path = T13_PATH, tag = "reports", security(("bearer" = [])),
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

/// The caller's own days of a month, with statuses and hours.
#[utoipa::path(get, path = MY_TIMESHEET_PATH, tag = "reports", security(("bearer" = [])),
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
