//! Reading computed days back: raw days, period summaries and the T-13 cells.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::Emp;
use super::recompute::ensure_computed;
use crate::error::AppResult;
use crate::timesheet::export::{
    EmployeeInfo, ExportError, T13Code, T13Header, T13Line, t13_xlsx_lines,
};
use crate::timesheet::summary::EmployeeSummary;
use crate::timesheet::{AbsenceKind, DayRecord, Period};

/// Reads the stored days of `emps` over `period`, in the order of `emps`; each record's
/// `employee` is the index in `emps` + 1. Call [`ensure_computed`] first.
pub async fn stored(db: &PgPool, emps: &[Emp], period: Period) -> AppResult<Vec<Vec<DayRecord>>> {
    let ids: Vec<Uuid> = emps.iter().map(|e| e.id).collect();
    let rows: Vec<(Uuid, sqlx::types::Json<DayRecord>)> = sqlx::query_as(
        "SELECT employee_id, record FROM timesheet_days
          WHERE employee_id = ANY($1) AND day BETWEEN $2 AND $3 ORDER BY employee_id, day",
    )
    .bind(&ids)
    .bind(period.from())
    .bind(period.to())
    .fetch_all(db)
    .await?;
    let index: HashMap<Uuid, usize> = emps.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut out: Vec<Vec<DayRecord>> = vec![Vec::new(); emps.len()];
    for (id, rec) in rows {
        if let Some(&i) = index.get(&id) {
            let mut r = rec.0;
            r.employee = i as i64 + 1;
            out[i].push(r);
        }
    }
    Ok(out)
}

/// Recompute if needed, then read: the days every report is built from.
pub async fn days(
    db: &PgPool,
    emps: &[Emp],
    period: Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<Vec<DayRecord>>> {
    read_fresh(db, emps, period, now, || stored(db, emps, period)).await
}

/// Runs `read` over the stored days of `emps` once they are fresh. The staleness check and
/// the read run at the same time (on two connections): when the check recomputed nothing,
/// the read saw what a read after the check would have seen; otherwise it runs again.
async fn read_fresh<T, F, Fut>(
    db: &PgPool,
    emps: &[Emp],
    period: Period,
    now: DateTime<Utc>,
    read: F,
) -> AppResult<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = AppResult<T>>,
{
    let (recomputed, first) = tokio::join!(ensure_computed(db, emps, period, now), read());
    if recomputed? == 0 {
        first
    } else {
        read().await
    }
}

/// Period totals per employee, summed by the database from the typed day columns (the same
/// figures as [`super::summary::summarize_employee`] over the stored records), in the order
/// of `emps`; `employee` is the index in `emps` + 1. Recomputes stale days first.
pub async fn summaries(
    db: &PgPool,
    emps: &[Emp],
    period: Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<EmployeeSummary>> {
    read_fresh(db, emps, period, now, || stored_summaries(db, emps, period)).await
}

async fn stored_summaries(
    db: &PgPool,
    emps: &[Emp],
    period: Period,
) -> AppResult<Vec<EmployeeSummary>> {
    let ids: Vec<Uuid> = emps.iter().map(|e| e.id).collect();
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT employee_id,
                count(*) FILTER (WHERE worked_minutes > 0) AS days_worked,
                COALESCE(sum(worked_minutes), 0)::int8 AS worked_minutes,
                count(*) FILTER (WHERE late_minutes > 0) AS late_count,
                COALESCE(sum(late_minutes) FILTER (WHERE late_minutes > 0), 0)::int8 AS late_minutes,
                count(*) FILTER (WHERE early_leave_minutes > 0) AS early_leave_count,
                COALESCE(sum(early_leave_minutes) FILTER (WHERE early_leave_minutes > 0), 0)::int8
                    AS early_leave_minutes,
                count(*) FILTER (WHERE status = 'absent' AND is_final) AS absences,
                COALESCE(sum(overtime_minutes), 0)::int8 AS overtime_minutes,
                COALESCE(sum(night_minutes), 0)::int8 AS night_minutes,
                count(*) FILTER (WHERE status = 'day_off') AS days_off,
                count(*) FILTER (WHERE status = 'holiday') AS holidays,
                count(*) FILTER (WHERE worked_on_day_off) AS worked_on_day_off,
                count(*) FILTER (WHERE missing_checkout) AS missing_checkouts,
                COALESCE(sum(pending_events), 0)::int8 AS pending_events,
                count(*) FILTER (WHERE status = 'on_leave' AND absence = 'annual_leave') AS annual_leave,
                count(*) FILTER (WHERE status = 'on_leave' AND absence = 'sick_leave') AS sick_leave,
                count(*) FILTER (WHERE status = 'on_leave' AND absence = 'business_trip') AS business_trip,
                count(*) FILTER (WHERE status = 'on_leave' AND absence = 'unpaid_leave') AS unpaid_leave
           FROM timesheet_days
          WHERE employee_id = ANY($1) AND day BETWEEN $2 AND $3
          GROUP BY employee_id",
    )
    .bind(&ids)
    .bind(period.from())
    .bind(period.to())
    .fetch_all(db)
    .await?;
    let index: HashMap<Uuid, usize> = emps.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut out: Vec<EmployeeSummary> = (0..emps.len())
        .map(|i| EmployeeSummary {
            employee: i as i64 + 1,
            ..EmployeeSummary::default()
        })
        .collect();
    let count = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    for r in rows {
        let Some(&i) = index.get(&r.employee_id) else {
            continue;
        };
        let s = &mut out[i];
        s.days_worked = count(r.days_worked);
        s.worked_minutes = r.worked_minutes;
        s.late_count = count(r.late_count);
        s.late_minutes = r.late_minutes;
        s.early_leave_count = count(r.early_leave_count);
        s.early_leave_minutes = r.early_leave_minutes;
        s.absences = count(r.absences);
        s.overtime_minutes = r.overtime_minutes;
        s.night_minutes = r.night_minutes;
        s.days_off = count(r.days_off);
        s.holidays = count(r.holidays);
        s.days_worked_on_day_off_or_holiday = count(r.worked_on_day_off);
        s.missing_checkouts = count(r.missing_checkouts);
        s.pending_events = count(r.pending_events);
        for (kind, days) in [
            (AbsenceKind::AnnualLeave, r.annual_leave),
            (AbsenceKind::SickLeave, r.sick_leave),
            (AbsenceKind::BusinessTrip, r.business_trip),
            (AbsenceKind::UnpaidLeave, r.unpaid_leave),
        ] {
            if days > 0 {
                s.leave_days.insert(kind, count(days));
            }
        }
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    employee_id: Uuid,
    days_worked: i64,
    worked_minutes: i64,
    late_count: i64,
    late_minutes: i64,
    early_leave_count: i64,
    early_leave_minutes: i64,
    absences: i64,
    overtime_minutes: i64,
    night_minutes: i64,
    days_off: i64,
    holidays: i64,
    worked_on_day_off: i64,
    missing_checkouts: i64,
    pending_events: i64,
    annual_leave: i64,
    sick_leave: i64,
    business_trip: i64,
    unpaid_leave: i64,
}

/// One employee's stored T-13 cells of a month with the half-month totals, as the database
/// aggregates them: one row and one string per employee instead of 31 records.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct T13Cells {
    pub employee_id: Uuid,
    /// `day TAB codes TAB hours TAB absence-code` per day, days separated by newlines.
    pub cells: String,
    pub first_half_days: i64,
    pub first_half_minutes: i64,
    pub second_half_days: i64,
    pub second_half_minutes: i64,
}

impl T13Cells {
    /// The form's line, borrowing the texts; days of `month` without a stored cell are
    /// blank, days the month lacks are "X".
    pub fn line<'a>(
        &'a self,
        month: Period,
        number: usize,
        employee: &'a EmployeeInfo,
    ) -> T13Line<'a> {
        use chrono::Datelike as _;
        let mut cells: [Option<(&str, &str)>; 31] = [None; 31];
        for d in month.days() {
            cells[d.day0() as usize] = Some(("", ""));
        }
        let mut absences = BTreeMap::new();
        for day in self.cells.split('\n') {
            let mut f = day.split('\t');
            let (Some(d), Some(code), Some(hours), Some(absence)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            if let Some(slot) = d
                .parse::<usize>()
                .ok()
                .and_then(|d| d.checked_sub(1))
                .and_then(|i| cells.get_mut(i))
            {
                *slot = Some((code, hours));
            }
            if let Some(c) = T13Code::from_letter(absence) {
                *absences.entry(c).or_default() += 1;
            }
        }
        let count = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        T13Line {
            number,
            employee,
            cells,
            first_half_days: count(self.first_half_days),
            first_half_minutes: self.first_half_minutes,
            second_half_days: count(self.second_half_days),
            second_half_minutes: self.second_half_minutes,
            absences,
        }
    }
}

/// The T-13 XLSX of `emps` (numbered in their order) from their stored `cells` (see
/// [`t13_cells`]); what the T-13 handler serves.
pub fn t13_file(
    header: &T13Header,
    month: Period,
    emps: &[Emp],
    cells: &[T13Cells],
) -> Result<Vec<u8>, ExportError> {
    let infos: Vec<EmployeeInfo> = emps
        .iter()
        .enumerate()
        .map(|(i, e)| e.info(i as i64 + 1))
        .collect();
    let lines: Vec<T13Line<'_>> = cells
        .iter()
        .zip(&infos)
        .enumerate()
        .map(|(i, (c, info))| c.line(month, i + 1, info))
        .collect();
    t13_xlsx_lines(header, month, &lines)
}

/// The stored T-13 cells of `emps` for `month`, in the order of `emps` (recomputing stale
/// days first).
pub async fn t13_cells(
    db: &PgPool,
    emps: &[Emp],
    month: Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<T13Cells>> {
    read_fresh(db, emps, month, now, || stored_t13_cells(db, emps, month)).await
}

async fn stored_t13_cells(db: &PgPool, emps: &[Emp], month: Period) -> AppResult<Vec<T13Cells>> {
    let ids: Vec<Uuid> = emps.iter().map(|e| e.id).collect();
    let rows: Vec<T13Cells> = sqlx::query_as(
        "SELECT employee_id,
                string_agg(extract(day FROM day)::int::text || E'\\t' || t13_code || E'\\t'
                           || t13_hours || E'\\t' || COALESCE(t13_absence, ''), E'\\n' ORDER BY day)
                    AS cells,
                count(*) FILTER (WHERE worked_minutes > 0 AND extract(day FROM day) <= 15)
                    AS first_half_days,
                COALESCE(sum(worked_minutes) FILTER (WHERE worked_minutes > 0 AND extract(day FROM day) <= 15), 0)::int8
                    AS first_half_minutes,
                count(*) FILTER (WHERE worked_minutes > 0 AND extract(day FROM day) > 15)
                    AS second_half_days,
                COALESCE(sum(worked_minutes) FILTER (WHERE worked_minutes > 0 AND extract(day FROM day) > 15), 0)::int8
                    AS second_half_minutes
           FROM timesheet_days
          WHERE employee_id = ANY($1) AND day BETWEEN $2 AND $3
          GROUP BY employee_id",
    )
    .bind(&ids)
    .bind(month.from())
    .bind(month.to())
    .fetch_all(db)
    .await?;
    let index: HashMap<Uuid, usize> = emps.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut out: Vec<T13Cells> = emps
        .iter()
        .map(|e| T13Cells {
            employee_id: e.id,
            ..T13Cells::default()
        })
        .collect();
    for r in rows {
        if let Some(&i) = index.get(&r.employee_id) {
            out[i] = r;
        }
    }
    Ok(out)
}
