//! The daily detail on screen: one row per employee and day, computed by the very function of
//! the daily XLSX / CSV ([`crate::report_downloads::daily_days`]), so the screen and the files
//! agree; sorted and paged by the server.

use super::checked;
use axum::Json;
use axum::extract::State;
use chrono::{Datelike, Utc};
use faceid_protocol::problem::Problem;
use faceid_protocol::reports::DAILY_PATH;
use faceid_protocol::reports::{DailyPage, DailyRow};

use super::sort::{SortValue, page, sort_rows};
use super::{ReportQuery, bounded_employees, day_out, filter, resolve_period};
use crate::AppState;
use crate::auth::Staff;
use crate::error::AppResult;
use crate::extract::ApiQuery;
use crate::report_downloads::{Progress, daily_days};
use faceid_protocol::reports::SortKey;

fn value(r: &(usize, DailyRow), key: SortKey) -> SortValue {
    let d = &r.1.day;
    match key {
        SortKey::Name => SortValue::Num(r.0 as i64),
        SortKey::Department => SortValue::Text(r.1.department.clone()),
        SortKey::Date => SortValue::Num(i64::from(d.date.num_days_from_ce())),
        SortKey::Worked => SortValue::Num(d.worked_minutes),
        SortKey::Late => SortValue::Num(d.late_minutes),
        SortKey::EarlyLeave => SortValue::Num(d.early_leave_minutes),
        SortKey::Absences => SortValue::Text(d.absence.clone()),
        SortKey::Overtime => SortValue::Num(d.overtime_minutes),
    }
}

/// The daily detail over a period: one row per employee and day, with the plan, the first
/// check-in and last check-out, the minutes worked, late, left early, overtime and at night,
/// the absence and the T-13 code; the numbers of the daily XLSX / CSV. Paged by rows, in the
/// name order then by date unless `sort` says otherwise; `q` keeps the employees whose name
/// contains it. Bounded like the department summary (`report_too_large`).
#[utoipa::path(get, path = DAILY_PATH, tag = "reports", security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "one page of employee-days", body = DailyPage),
        (status = 400, description = "`invalid_query` (paging, an unknown `sort`)", body = Problem),
        (status = 422, description = "`invalid_month`, `invalid_period`, `period_too_long`, `empty_period`, `report_too_large`, `too_long` (`q`)", body = Problem)))]
pub async fn daily(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> AppResult<Json<DailyPage>> {
    let (paging, _) = checked(&q)?;
    let period = resolve_period(q.month.as_deref(), q.from, q.to)?;
    let emps = bounded_employees(&state, &caller.scope(), &filter(&q), period).await?;
    let days = daily_days(&emps, period, Utc::now(), Progress::none(&state.db)).await?;
    let mut rows: Vec<(usize, DailyRow)> = Vec::new();
    for (e, mut list) in emps.iter().zip(days) {
        list.sort_by_key(|d| d.date);
        for r in &list {
            let row = DailyRow {
                employee_id: e.id,
                name: e.full_name(),
                personnel_number: e.info(0).personnel_number,
                department: e.department_name.clone(),
                day: day_out(r),
            };
            rows.push((rows.len(), row));
        }
    }
    if let Some(sort) = q.sort {
        sort_rows(&mut rows, sort, value);
    }
    let total = rows.len() as i64;
    Ok(Json(DailyPage {
        from: period.from(),
        to: period.to(),
        total,
        items: page(rows, paging).into_iter().map(|(_, r)| r).collect(),
    }))
}
