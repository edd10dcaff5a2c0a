//! The today view: who is in, late, missing and not checked out, live.

use faceid_protocol::field_code::FieldCode;
use faceid_protocol::reports::TODAY_PATH;
use faceid_protocol::reports::TodayQuery;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use faceid_protocol::problem::Problem;
pub use faceid_protocol::reports::{LateRef, LeaveRef, PersonRef, TodayGroup, TodayReport};
use uuid::Uuid;

use super::period_error;
use crate::AppState;
use crate::auth::Staff;
use crate::error::{AppError, AppResult};
use crate::extract::ApiQuery;
use crate::timesheet::store::{self, Emp, EmpFilter};
use crate::timesheet::summary::today_view;
use crate::timesheet::{DayRecord, Period};

const MAX_TODAY_EMPLOYEES: i64 = 20_000;

/// Who is in, late, missing and not checked out today, in total, per department and per
/// site (an employee with several sites is listed under each).
#[utoipa::path(get, path = TODAY_PATH, tag = "reports", security(("bearer" = [])),
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
        ..EmpFilter::default()
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
