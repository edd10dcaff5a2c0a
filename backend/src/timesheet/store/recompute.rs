//! Recomputing stale days: batches under advisory locks, stored in bulk.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Emp, UPSERT_CHUNK, compute_spans};
use crate::error::{AppError, AppResult};
use crate::timesheet::export::t13_day;
use crate::timesheet::{DayRecord, Period};

/// Employees recomputed per transaction: bounds the advisory locks one transaction holds
/// and the memory of one batch.
const RECOMPUTE_BATCH: usize = 250;

/// Advisory lock namespace of timesheet recomputes (first key of `pg_advisory_xact_lock`).
const RECOMPUTE_LOCK_CLASS: i32 = 7_013;

/// Recomputes and stores the stale days of `emps` within `period`; returns how many
/// employees were recomputed.
///
/// Each batch runs in one transaction holding an advisory lock per employee, so two
/// recomputes of the same employee never interleave (a slower one cannot store older
/// figures over a newer one). Dirty marks are read before the inputs and only the marks
/// read (by version) are cleared: a punch committed during the recompute bumps its mark's
/// version and keeps the day dirty.
pub async fn ensure_computed(
    db: &PgPool,
    emps: &[Emp],
    period: Period,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    if emps.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = emps.iter().map(|e| e.id).collect();
    let deps: Vec<Option<Uuid>> = emps.iter().map(|e| e.department_id).collect();
    let tzs: Vec<String> = emps.iter().map(|e| e.time_zone.clone()).collect();
    let stale: Vec<(Uuid, NaiveDate, NaiveDate)> = sqlx::query_as(
        "SELECT e.id, min(d)::date, max(d)::date
           FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS e(id, dep, tz)
          CROSS JOIN generate_series($4::date, $5::date, interval '1 day') AS d
           LEFT JOIN timesheet_days t ON t.employee_id = e.id AND t.day = d::date
          WHERE t.employee_id IS NULL OR NOT t.is_final
             OR t.department_id IS DISTINCT FROM e.dep OR t.time_zone <> e.tz
             OR EXISTS (SELECT 1 FROM timesheet_dirty x WHERE x.employee_id = e.id AND x.day = d::date)
          GROUP BY e.id",
    )
    .bind(&ids)
    .bind(&deps)
    .bind(&tzs)
    .bind(period.from())
    .bind(period.to())
    .fetch_all(db)
    .await?;
    if stale.is_empty() {
        return Ok(0);
    }
    let by_id: HashMap<Uuid, &Emp> = emps.iter().map(|e| (e.id, e)).collect();
    let mut work = Vec::with_capacity(stale.len());
    for (id, from, to) in stale {
        let span = Period::new(from, to).map_err(AppError::internal)?;
        if let Some(e) = by_id.get(&id) {
            work.push(((*e).clone(), span));
        }
    }
    let mut days = 0;
    for batch in work.chunks(RECOMPUTE_BATCH) {
        days += recompute_batch(db, batch, now).await?;
    }
    tracing::debug!(employees = work.len(), days, "timesheet recomputed");
    Ok(work.len())
}

/// Recomputes `batch` in one transaction (see [`ensure_computed`]); returns the days stored.
async fn recompute_batch(
    db: &PgPool,
    batch: &[(Emp, Period)],
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let emp_ids: Vec<Uuid> = batch.iter().map(|(e, _)| e.id).collect();
    let from: Vec<NaiveDate> = batch.iter().map(|(_, p)| p.from()).collect();
    let to: Vec<NaiveDate> = batch.iter().map(|(_, p)| p.to()).collect();
    let mut tx = db.begin().await?;
    // In a fixed order, so two batches over the same employees cannot deadlock.
    sqlx::query(
        "SELECT pg_advisory_xact_lock($2, k)
           FROM (SELECT DISTINCT hashtext(id::text) AS k FROM unnest($1::uuid[]) AS id ORDER BY k) s",
    )
    .bind(&emp_ids)
    .bind(RECOMPUTE_LOCK_CLASS)
    .execute(&mut *tx)
    .await?;
    // The marks as they are before the inputs are read (READ COMMITTED: this statement sees
    // every punch committed so far, and the inputs read next see at least those).
    let marks: Vec<(Uuid, NaiveDate, i64)> = sqlx::query_as(
        "SELECT x.employee_id, x.day, x.version
           FROM timesheet_dirty x
           JOIN unnest($1::uuid[], $2::date[], $3::date[]) AS s(id, f, t)
             ON x.employee_id = s.id AND x.day BETWEEN s.f AND s.t",
    )
    .bind(&emp_ids)
    .bind(&from)
    .bind(&to)
    .fetch_all(&mut *tx)
    .await?;
    let computed = compute_spans(&mut tx, batch, now).await?;
    let rows: Vec<(&Emp, &DayRecord)> = batch
        .iter()
        .zip(&computed)
        .flat_map(|((e, _), days)| days.iter().map(move |d| (e, d)))
        .collect();
    for chunk in rows.chunks(UPSERT_CHUNK) {
        store_days(&mut tx, chunk).await?;
    }
    let mark_emp: Vec<Uuid> = marks.iter().map(|m| m.0).collect();
    let mark_day: Vec<NaiveDate> = marks.iter().map(|m| m.1).collect();
    let mark_version: Vec<i64> = marks.iter().map(|m| m.2).collect();
    sqlx::query(
        "DELETE FROM timesheet_dirty x USING unnest($1::uuid[], $2::date[], $3::int8[]) AS m(id, d, v)
          WHERE x.employee_id = m.id AND x.day = m.d AND x.version = m.v",
    )
    .bind(&mark_emp)
    .bind(&mark_day)
    .bind(&mark_version)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}

async fn store_days(conn: &mut PgConnection, rows: &[(&Emp, &DayRecord)]) -> AppResult<()> {
    let n = rows.len();
    let mut emp = Vec::with_capacity(n);
    let mut dep = Vec::with_capacity(n);
    let mut tz = Vec::with_capacity(n);
    let mut day = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut worked = Vec::with_capacity(n);
    let mut late = Vec::with_capacity(n);
    let mut early = Vec::with_capacity(n);
    let mut over = Vec::with_capacity(n);
    let mut night = Vec::with_capacity(n);
    let mut fin = Vec::with_capacity(n);
    let mut rec = Vec::with_capacity(n);
    let mut absence = Vec::with_capacity(n);
    let mut missing = Vec::with_capacity(n);
    let mut pending = Vec::with_capacity(n);
    let mut off_work = Vec::with_capacity(n);
    let mut code = Vec::with_capacity(n);
    let mut hours = Vec::with_capacity(n);
    let mut t13_absence = Vec::with_capacity(n);
    let int = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    for (e, r) in rows {
        emp.push(e.id);
        dep.push(e.department_id);
        tz.push(e.time_zone.clone());
        day.push(r.date);
        status.push(r.status.as_str());
        worked.push(int(r.worked_minutes));
        late.push(int(r.late_minutes));
        early.push(int(r.early_leave_minutes));
        over.push(int(r.overtime_minutes));
        night.push(int(r.night_minutes));
        fin.push(r.is_final);
        absence.push(r.absence.map(|a| a.as_str()));
        missing.push(r.missing_checkout);
        pending.push(i32::try_from(r.pending_event_ids.len()).unwrap_or(i32::MAX));
        off_work.push(r.worked_on_day_off || r.worked_on_holiday);
        let cell = t13_day(r);
        code.push(cell.code_text());
        hours.push(cell.hours_text());
        t13_absence.push(
            cell.parts
                .iter()
                .find(|(c, _)| c.is_absence())
                .map(|(c, _)| c.letter()),
        );
        // The core's employee number is per run; 0 in storage, set again when read.
        let mut r = (*r).clone();
        r.employee = 0;
        rec.push(serde_json::to_value(&r).map_err(AppError::internal)?);
    }
    sqlx::query(
        "INSERT INTO timesheet_days (employee_id, department_id, time_zone, day, status,
                worked_minutes, late_minutes, early_leave_minutes, overtime_minutes,
                night_minutes, is_final, record, absence, missing_checkout, pending_events,
                worked_on_day_off, t13_code, t13_hours, t13_absence, computed_at)
         SELECT *, now() FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::text[],
                $6::int[], $7::int[], $8::int[], $9::int[], $10::int[], $11::bool[], $12::jsonb[],
                $13::text[], $14::bool[], $15::int[], $16::bool[], $17::text[], $18::text[],
                $19::text[])
         ON CONFLICT (employee_id, day) DO UPDATE SET
                department_id = EXCLUDED.department_id, time_zone = EXCLUDED.time_zone,
                status = EXCLUDED.status, worked_minutes = EXCLUDED.worked_minutes,
                late_minutes = EXCLUDED.late_minutes,
                early_leave_minutes = EXCLUDED.early_leave_minutes,
                overtime_minutes = EXCLUDED.overtime_minutes,
                night_minutes = EXCLUDED.night_minutes, is_final = EXCLUDED.is_final,
                record = EXCLUDED.record, absence = EXCLUDED.absence,
                missing_checkout = EXCLUDED.missing_checkout,
                pending_events = EXCLUDED.pending_events,
                worked_on_day_off = EXCLUDED.worked_on_day_off, t13_code = EXCLUDED.t13_code,
                t13_hours = EXCLUDED.t13_hours, t13_absence = EXCLUDED.t13_absence,
                computed_at = EXCLUDED.computed_at",
    )
    .bind(emp)
    .bind(dep)
    .bind(tz)
    .bind(day)
    .bind(status)
    .bind(worked)
    .bind(late)
    .bind(early)
    .bind(over)
    .bind(night)
    .bind(fin)
    .bind(rec)
    .bind(absence)
    .bind(missing)
    .bind(pending)
    .bind(off_work)
    .bind(code)
    .bind(hours)
    .bind(t13_absence)
    .execute(conn)
    .await?;
    Ok(())
}
