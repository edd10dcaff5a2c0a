//! Shift plans from iiko (docs/iiko.md, integrations.md §2.3): each linked employee's iiko
//! shifts in a period become dates of one roster schedule of theirs (`iiko_schedules`), with
//! one shift template per start, end and unpaid break, and one employee assignment covering
//! the roster's dates.
//!
//! A shift stays on its start day (an overnight shift is the start day's shift). Dates outside
//! the period keep what earlier imports put there. An employee with another schedule assigned
//! in the period (edited here), to them or to their department, is a conflict: reported,
//! never overwritten. An unchanged roster
//! writes nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Timelike, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::client::records;
use super::import::{ImportError, RunReport};
use super::{ConnectionRow, Counts, IikoClient, log_run};
use crate::AppState;
use crate::timesheet::store::{self, ScheduleDef};

/// One shift as iiko plans it.
struct Shift {
    day: NaiveDate,
    start: NaiveTime,
    end: NaiveTime,
    unpaid: i32,
}

/// Imports the shifts starting on `from..=to`.
pub async fn run(
    state: &AppState,
    conn: &ConnectionRow,
    from: NaiveDate,
    to: NaiveDate,
    dry_run: bool,
) -> Result<RunReport, ImportError> {
    let started = Utc::now();
    let (f, t) = (from.to_string(), to.to_string());
    let fetched = IikoClient::run(&conn.client_connection(state)?, async |c| {
        let xml = c
            .get(
                "/employees/schedule/",
                &[
                    ("from", &f),
                    ("to", &t),
                    ("withPaymentDetails", "false"),
                    ("revisionFrom", "-1"),
                ],
            )
            .await?;
        records(&xml, "schedule")
    })
    .await;
    let list = match fetched {
        Ok(l) => l,
        Err(e) => {
            log_run(&state.db, "schedules", dry_run, started, Err(&e)).await?;
            return Err(ImportError::Iiko(e));
        }
    };
    // The offset of a time without one: iiko sends offsets; UTC is only a fallback.
    let utc = FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!());
    let mut by_employee: BTreeMap<String, Vec<Shift>> = BTreeMap::new();
    let mut counts = Counts::default();
    let mut changes: Vec<Value> = Vec::new();
    for r in &list {
        let (Some(emp), Some(a), Some(b)) = (
            r.get("employeeId"),
            r.time("dateFrom", utc),
            r.time("dateTo", utc),
        ) else {
            counts.errors += 1;
            changes.push(json!({"iiko_id": r.get("id"), "kind": "schedule_unreadable", "detail": "no employeeId, dateFrom or dateTo"}));
            continue;
        };
        // Overlap filtering (the inclusive `to`) lists shifts from the day before: only the
        // ones starting in the period are ours.
        let day = a.date_naive();
        if day < from || day > to {
            continue;
        }
        let b: DateTime<FixedOffset> = b.with_timezone(a.offset());
        let minute = |x: DateTime<FixedOffset>| {
            x.time()
                .with_second(0)
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(x.time())
        };
        by_employee.entry(emp.to_owned()).or_default().push(Shift {
            day,
            start: minute(a),
            end: minute(b),
            unpaid: r
                .get("nonPaidMinutes")
                .and_then(|m| m.parse().ok())
                .unwrap_or(0),
        });
    }

    let mut tx = state.db.begin().await?;
    for (iiko_id, shifts) in by_employee {
        let employee: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT l.employee_id, e.last_name || ' ' || e.first_name FROM iiko_employees l
             JOIN employees e ON e.id = l.employee_id WHERE l.iiko_id = $1",
        )
        .bind(&iiko_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((employee, name)) = employee else {
            counts.skipped += 1;
            changes.push(json!({"iiko_id": iiko_id, "kind": "schedule_unlinked_employee", "detail": format!("{} shifts", shifts.len())}));
            continue;
        };
        let ours: Option<(Uuid, sqlx::types::Json<ScheduleDef>)> = sqlx::query_as(
            "SELECT s.id, s.definition FROM iiko_schedules m JOIN schedules s ON s.id = m.schedule_id
             WHERE m.employee_id = $1",
        )
        .bind(employee)
        .fetch_optional(&mut *tx)
        .await?;
        // A schedule assigned here in the period that is not ours, to the employee or to
        // their department (which our employee assignment would override): not overwritten.
        // `Some(true)` when only the department's is there.
        let conflict: Option<bool> = sqlx::query_scalar(
            "SELECT a.employee_id IS NULL FROM schedule_assignments a
              WHERE (a.employee_id = $1
                     OR a.department_id = (SELECT department_id FROM employees WHERE id = $1))
                AND a.schedule_id IS DISTINCT FROM $2
                AND a.valid_from <= $4 AND COALESCE(a.valid_to, 'infinity'::date) >= $3
              ORDER BY 1 LIMIT 1",
        )
        .bind(employee)
        .bind(ours.as_ref().map(|o| o.0))
        .bind(from)
        .bind(to)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(department) = conflict {
            counts.conflicts += 1;
            let (kind, whose) = if department {
                ("department_schedule_conflict", "their department")
            } else {
                ("schedule_conflict", "them")
            };
            changes.push(json!({"iiko_id": iiko_id, "kind": kind,
                "detail": format!("{name}: another schedule is assigned here to {whose} in the period; iiko's shifts not applied")}));
            continue;
        }
        let mut days: BTreeMap<NaiveDate, Uuid> = match &ours {
            Some((_, sqlx::types::Json(ScheduleDef::Roster { days }))) => days
                .iter()
                .filter(|(d, _)| **d < from || **d > to)
                .map(|(d, t)| (*d, *t))
                .collect(),
            _ => BTreeMap::new(),
        };
        for s in &shifts {
            let template = template(&mut tx, s).await?;
            days.insert(s.day, template);
        }
        let def = ScheduleDef::Roster { days: days.clone() };
        if ours.as_ref().is_some_and(|(_, d)| {
            serde_json::to_value(&d.0).ok() == serde_json::to_value(&def).ok()
        }) {
            continue;
        }
        let templates = store::templates(&mut tx).await?;
        let valid = store::resolve_schedule(&def, &templates)
            .map_err(|m| m.to_string())
            .and_then(|k| k.validate().map_err(|e| e.to_string()));
        if let Err(why) = valid {
            counts.errors += 1;
            changes.push(json!({"iiko_id": iiko_id, "kind": "schedule_invalid", "detail": format!("{name}: {why}")}));
            continue;
        }
        let (first, last) = match (days.keys().next(), days.keys().next_back()) {
            (Some(a), Some(b)) => (*a, *b),
            _ => continue,
        };
        let schedule = match &ours {
            Some((id, _)) => {
                sqlx::query("UPDATE schedules SET definition = $2 WHERE id = $1")
                    .bind(id)
                    .bind(sqlx::types::Json(&def))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM schedule_shift_refs WHERE schedule_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                counts.updated += 1;
                changes.push(json!({"iiko_id": iiko_id, "kind": "schedule_updated", "detail": format!("{name}: {} shifts", shifts.len())}));
                *id
            }
            None => {
                let id = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO schedules (id, name, kind, definition) VALUES ($1, $2, 'roster', $3)",
                )
                .bind(id)
                .bind(format!("iiko {iiko_id}"))
                .bind(sqlx::types::Json(&def))
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO iiko_schedules (employee_id, schedule_id) VALUES ($1, $2)",
                )
                .bind(employee)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                counts.created += 1;
                changes.push(json!({"iiko_id": iiko_id, "kind": "schedule_created", "detail": format!("{name}: {} shifts", shifts.len())}));
                id
            }
        };
        sqlx::query(
            "INSERT INTO schedule_shift_refs (schedule_id, shift_template_id) SELECT $1, unnest($2::uuid[])",
        )
        .bind(schedule)
        .bind(def.template_ids())
        .execute(&mut *tx)
        .await?;
        // One assignment of ours covering the roster's dates.
        sqlx::query("DELETE FROM schedule_assignments WHERE employee_id = $1 AND schedule_id = $2")
            .bind(employee)
            .bind(schedule)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO schedule_assignments (id, schedule_id, employee_id, valid_from, valid_to)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(schedule)
        .bind(employee)
        .bind(first)
        .bind(last)
        .execute(&mut *tx)
        .await?;
        store::invalidate(
            &mut tx,
            Some(employee),
            None,
            first.min(from) - Duration::days(1),
            Some(last.max(to) + Duration::days(1)),
        )
        .await?;
    }
    super::import::finish(state, tx, "schedules", dry_run, started, counts, changes).await
}

/// The shift template `iiko HH:MM–HH:MM[ −N min]`, created if missing.
async fn template(tx: &mut sqlx::PgConnection, s: &Shift) -> Result<Uuid, sqlx::Error> {
    let mut name = format!("iiko {}–{}", s.start.format("%H:%M"), s.end.format("%H:%M"));
    if s.unpaid > 0 {
        name.push_str(&format!(" −{} min", s.unpaid));
    }
    if let Some(id) =
        sqlx::query_scalar("SELECT id FROM shift_templates WHERE lower(name) = lower($1)")
            .bind(&name)
            .fetch_optional(&mut *tx)
            .await?
    {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO shift_templates (id, name, start_time, end_time, unpaid_break_minutes)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(&name)
    .bind(s.start)
    .bind(s.end)
    .bind(s.unpaid.clamp(0, 600))
    .execute(&mut *tx)
    .await?;
    Ok(id)
}
