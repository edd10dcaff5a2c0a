//! Attendance export (docs/iiko.md, integrations.md §2.4): each linked employee's work
//! intervals (a check-in and the next check-out, both counting after reviews and corrections:
//! `verified` or `flagged_accepted` in `attendance_punches`) become iiko attendance records.
//!
//! A record is keyed by its check-in punch. Unchanged intervals are not sent again, so a
//! closed period exports idempotently. A changed interval (a corrected check-out) is sent to
//! `attendance/update` and the new id iiko answers is kept; an interval whose check-in was
//! replaced by a correction takes over the old record it overlaps. Records whose interval is
//! gone are deleted. Before writing, iiko's records of the period are read: a write that
//! would overlap a record not ours (made in iiko) is reported per record and not sent; a 409
//! (a record entered after that read) is reported the same way.
//! Pending, rejected and superseded punches never count; an unpaired check-in (open, or its
//! check-out missing) is skipped and reported.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::client::records;
use super::import::ImportError;
use super::{ConnectionRow, Counts, IikoClient, IikoError, log_run};
use crate::AppState;

/// One interval to export.
#[derive(Debug, Clone, PartialEq)]
struct Interval {
    in_punch: i64,
    employee: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// One exported record.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Exported {
    in_punch_id: i64,
    employee_id: Uuid,
    iiko_id: String,
    date_from: DateTime<Utc>,
    date_to: DateTime<Utc>,
}

/// A record iiko holds that we did not write.
struct Foreign {
    id: String,
    employee: String,
    from: DateTime<FixedOffset>,
    /// Absent while the attendance is open.
    to: Option<DateTime<FixedOffset>>,
}

impl Foreign {
    fn of(r: &super::client::Record) -> Option<Self> {
        let at = |f: &str| r.get(f).and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        Some(Foreign {
            id: r.get("id")?.to_owned(),
            employee: r.get("employeeId")?.to_owned(),
            from: at("dateFrom")?,
            to: at("dateTo"),
        })
    }

    fn overlaps(&self, i: &Interval) -> bool {
        self.from < i.to && self.to.is_none_or(|t| t > i.from)
    }

    fn describe(&self, offset: FixedOffset) -> String {
        let to = self.to.map_or_else(
            || "open".to_owned(),
            |t| t.with_timezone(&offset).format("%H:%M").to_string(),
        );
        format!(
            "overlaps iiko's own record {} ({} – {to}); not sent",
            self.id,
            self.from.with_timezone(&offset).format("%Y-%m-%d %H:%M")
        )
    }
}

/// iiko's attendance records of `from..=to` (dates) that are not `ours`.
async fn read_theirs(
    c: &mut IikoClient,
    from: &str,
    to: &str,
    ours: &HashSet<String>,
) -> Result<Vec<Foreign>, IikoError> {
    let listed = records(
        &c.get(
            "/employees/attendance",
            &[
                ("from", from),
                ("to", to),
                ("withPaymentDetails", "false"),
                ("revisionFrom", "-1"),
            ],
        )
        .await?,
        "attendance",
    )?;
    Ok(listed
        .iter()
        .filter_map(Foreign::of)
        .filter(|f| !ours.contains(&f.id))
        .collect())
}

enum Op {
    Create(Interval),
    /// The record (its old key) and the interval it now holds.
    Update(Exported, Interval),
    Delete(Exported),
}

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// Exports the intervals whose check-in is in `[from, to)`. Times are sent with `from`'s
/// offset (the restaurant's). A dry run reads iiko's records of the period (to foresee
/// overlaps) and answers the plan; it writes nothing there or here but its log row.
pub async fn run(
    state: &AppState,
    conn: &ConnectionRow,
    from: DateTime<FixedOffset>,
    to: DateTime<FixedOffset>,
    dry_run: bool,
) -> Result<super::import::RunReport, ImportError> {
    let started = Utc::now();
    let offset = *from.offset();
    let (from, to) = (from.with_timezone(&Utc), to.with_timezone(&Utc));
    let mut counts = Counts::default();
    let mut changes: Vec<Value> = Vec::new();

    // Linked employees: iiko id and the iiko role of their position.
    let links: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "SELECT l.employee_id, l.iiko_id, p.iiko_id FROM iiko_employees l
         JOIN employees e ON e.id = l.employee_id
         LEFT JOIN iiko_positions p ON p.position_id = e.position_id",
    )
    .fetch_all(&state.db)
    .await?;
    let links: HashMap<Uuid, (String, Option<String>)> =
        links.into_iter().map(|(e, i, r)| (e, (i, r))).collect();
    let punches: Vec<(i64, Uuid, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, employee_id, kind, at FROM attendance_punches
         WHERE status IN ('verified', 'flagged_accepted')
           AND employee_id IN (SELECT employee_id FROM iiko_employees)
           AND at >= $1 - interval '1 day' AND at < $2 + interval '1 day'
         ORDER BY employee_id, at, id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&state.db)
    .await?;
    let mut intervals = Vec::new();
    let mut open: Option<(i64, Uuid, DateTime<Utc>)> = None;
    // A check-in in the period still open when the employee's punches end.
    let unclosed = |open: Option<(i64, Uuid, DateTime<Utc>)>| -> Option<Value> {
        let (pid, e, t) = open.filter(|o| o.2 >= from && o.2 < to)?;
        Some(
            json!({"iiko_id": links.get(&e).map(|l| &l.0), "kind": "open_interval",
            "detail": format!("check-in {pid} at {t} is not closed yet")}),
        )
    };
    for (id, employee, kind, at) in punches {
        if open.is_some_and(|(_, e, _)| e != employee)
            && let Some(v) = unclosed(open.take())
        {
            counts.skipped += 1;
            changes.push(v);
        }
        match (kind.as_str(), open) {
            ("in", Some((pid, e, t))) if t >= from && t < to => {
                counts.skipped += 1;
                changes.push(json!({"iiko_id": links.get(&e).map(|l| &l.0), "kind": "unpaired_check_in",
                    "detail": format!("check-in {pid} at {t} has no check-out before the next check-in")}));
                open = Some((id, employee, at));
            }
            ("in", _) => open = Some((id, employee, at)),
            ("out", Some((pid, e, t))) => {
                open = None;
                if t >= from && t < to && minute(t) < minute(at) && links.contains_key(&e) {
                    intervals.push(Interval {
                        in_punch: pid,
                        employee: e,
                        from: minute(t),
                        to: minute(at),
                    });
                }
            }
            _ => {}
        }
    }
    if let Some(v) = unclosed(open) {
        counts.skipped += 1;
        changes.push(v);
    }
    let exported: Vec<Exported> = sqlx::query_as(
        "SELECT in_punch_id, employee_id, iiko_id, date_from, date_to FROM iiko_attendance
         WHERE date_from >= $1 AND date_from < $2 ORDER BY date_from",
    )
    .bind(from - chrono::Duration::days(1))
    .bind(to)
    .fetch_all(&state.db)
    .await?;

    // The plan.
    let keys: HashSet<i64> = intervals.iter().map(|i| i.in_punch).collect();
    let by_key: HashMap<i64, &Exported> = exported.iter().map(|x| (x.in_punch_id, x)).collect();
    let mut orphans: Vec<&Exported> = exported
        .iter()
        .filter(|x| !keys.contains(&x.in_punch_id))
        .collect();
    let mut ops = Vec::new();
    for i in &intervals {
        match by_key.get(&i.in_punch) {
            Some(x) if x.date_from == i.from && x.date_to == i.to => {}
            Some(x) => ops.push(Op::Update((*x).clone(), i.clone())),
            None => {
                let overlapping = orphans.iter().position(|x| {
                    x.employee_id == i.employee && x.date_from < i.to && i.from < x.date_to
                });
                match overlapping {
                    Some(n) => ops.push(Op::Update(orphans.remove(n).clone(), i.clone())),
                    None => ops.push(Op::Create(i.clone())),
                }
            }
        }
    }
    // Orphans inside the period only: one before it belongs to an earlier export.
    ops.extend(
        orphans
            .into_iter()
            .filter(|x| x.date_from >= from)
            .map(|x| Op::Delete(x.clone())),
    );

    let describe = |op: &Op| -> (String, &'static str, String) {
        let fmt = |i: &Interval| {
            format!(
                "{} – {}",
                i.from.with_timezone(&offset).format("%Y-%m-%d %H:%M"),
                i.to.with_timezone(&offset).format("%H:%M")
            )
        };
        match op {
            Op::Create(i) => (links[&i.employee].0.clone(), "attendance_created", fmt(i)),
            Op::Update(_, i) => (links[&i.employee].0.clone(), "attendance_updated", fmt(i)),
            Op::Delete(x) => (
                links
                    .get(&x.employee_id)
                    .map(|l| l.0.clone())
                    .unwrap_or_default(),
                "attendance_deleted",
                x.iiko_id.clone(),
            ),
        }
    };
    // Our records around the period: what iiko lists besides them was entered there.
    let ours: HashSet<String> = sqlx::query_scalar(
        "SELECT iiko_id FROM iiko_attendance
         WHERE date_to > $1 - interval '2 days' AND date_from < $2 + interval '2 days'",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .collect();
    let (read_from, read_to) = (
        from.with_timezone(&offset).date_naive().to_string(),
        (to.with_timezone(&offset) + chrono::Duration::days(1))
            .date_naive()
            .to_string(),
    );
    // Which planned write would overlap a record made in iiko (`theirs`).
    let overlapping = |op: &Op, theirs: &[Foreign]| -> Option<String> {
        let i = match op {
            Op::Create(i) | Op::Update(_, i) => i,
            Op::Delete(_) => return None,
        };
        theirs
            .iter()
            .find(|f| f.employee == links[&i.employee].0 && f.overlaps(i))
            .map(|f| f.describe(offset))
    };
    if dry_run {
        // The preview reads iiko's records too, so it foresees the overlaps.
        let read = IikoClient::run(&conn.client_connection(state)?, async |c| {
            read_theirs(c, &read_from, &read_to, &ours).await
        })
        .await;
        let theirs = match read {
            Ok(t) => t,
            Err(e) => {
                log_run(&state.db, "export", true, started, Err(&e)).await?;
                return Err(ImportError::Iiko(e));
            }
        };
        for op in &ops {
            let (who, kind, detail) = describe(op);
            if let Some(why) = overlapping(op, &theirs) {
                counts.conflicts += 1;
                changes.push(json!({"iiko_id": who, "kind": "attendance_overlap", "detail": format!("{detail}: {why}")}));
                continue;
            }
            match op {
                Op::Create(_) => counts.created += 1,
                _ => counts.updated += 1,
            }
            changes.push(json!({"iiko_id": who, "kind": kind, "detail": detail}));
        }
        let run_id = log_run(&state.db, "export", true, started, Ok((&counts, &changes))).await?;
        return Ok(super::import::RunReport {
            run_id,
            dry_run,
            counts,
            changes,
        });
    }

    // Send: each answer is recorded; the first failure that is not about one record (the
    // network, the licence, a 5xx) stops the run, and what was sent is still kept.
    let body = |i: &Interval, id: Option<&str>, type_code: &str| -> String {
        let (employee, role) = &links[&i.employee];
        let t = |x: DateTime<Utc>| {
            x.with_timezone(&offset)
                .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
                .to_string()
        };
        let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
        format!(
            "<attendance>{}<employeeId>{}</employeeId>{}<dateFrom>{}</dateFrom><dateTo>{}</dateTo><attendanceType>{}</attendanceType><comment>FaceID</comment></attendance>",
            id.map(|id| format!("<id>{}</id>", esc(id)))
                .unwrap_or_default(),
            esc(employee),
            role.as_deref()
                .map(|r| format!("<roleId>{}</roleId>", esc(r)))
                .unwrap_or_default(),
            t(i.from),
            t(i.to),
            esc(type_code),
        )
    };
    let client_conn = conn.client_connection(state)?;
    let mut results: Vec<(usize, Result<Option<String>, IikoError>)> = Vec::new();
    let sent = IikoClient::run(&client_conn, async |c| {
        let types = records(
            &c.get("/employees/attendance/types", &[]).await?,
            "attendanceType",
        )?;
        // The "worked" type: `W`, or `Р` on Russian installations; else the first one.
        let live: Vec<_> = types
            .iter()
            .filter(|t| t.flag("deleted") != Some(true))
            .collect();
        let code = live
            .iter()
            .find(|t| matches!(t.get("code"), Some("W" | "Р")))
            .or(live.first())
            .and_then(|t| t.get("code"))
            .ok_or_else(|| IikoError::Malformed("iiko lists no attendance type".into()))?
            .to_owned();
        // The overlap pre-check (integrations.md §2.4): iiko's records in the period
        // (overlapping it, `to` inclusive); a write overlapping one of theirs is reported
        // as iiko would refuse it, without being sent. The 409 still covers a record
        // entered after this read.
        let theirs = read_theirs(c, &read_from, &read_to, &ours).await?;
        for (n, op) in ops.iter().enumerate() {
            if let Some(why) = overlapping(op, &theirs) {
                results.push((n, Err(IikoError::Conflict(why))));
                continue;
            }
            let answer = match op {
                Op::Create(i) => c
                    .post_xml("/employees/attendance/create", &body(i, None, &code))
                    .await
                    .map(Some),
                Op::Update(x, i) => c
                    .post_xml(
                        "/employees/attendance/update",
                        &body(i, Some(&x.iiko_id), &code),
                    )
                    .await
                    .map(Some),
                Op::Delete(x) => c
                    .delete(&format!("/employees/attendance/byId/{}", x.iiko_id))
                    .await
                    .map(|_| None),
            };
            let fatal = answer.as_ref().is_err_and(IikoError::retryable);
            results.push((n, answer));
            if fatal {
                break;
            }
        }
        Ok(())
    })
    .await;

    let mut tx = state.db.begin().await?;
    let mut fatal: Option<IikoError> = sent.err();
    for (n, answer) in results {
        let op = &ops[n];
        let (who, kind, detail) = describe(op);
        let answer = answer.and_then(|xml| {
            xml.map(|xml| {
                records(&xml, "attendance")?
                    .first()
                    .and_then(|r| r.get("id").map(str::to_owned))
                    .ok_or_else(|| IikoError::Malformed("the saved attendance has no id".into()))
            })
            .transpose()
        });
        match (op, answer) {
            (Op::Create(i), Ok(Some(id))) => {
                save(&mut tx, i, &id, None).await?;
                counts.created += 1;
            }
            (Op::Update(x, i), Ok(Some(id))) => {
                save(&mut tx, i, &id, Some(x.in_punch_id)).await?;
                counts.updated += 1;
            }
            (Op::Delete(x), Ok(_))
            | (Op::Delete(x), Err(IikoError::Refused { status: 404, .. })) => {
                sqlx::query("DELETE FROM iiko_attendance WHERE in_punch_id = $1")
                    .bind(x.in_punch_id)
                    .execute(&mut *tx)
                    .await?;
                counts.updated += 1;
            }
            (_, Ok(_)) => {}
            (_, Err(IikoError::Conflict(text))) => {
                counts.conflicts += 1;
                changes.push(json!({"iiko_id": who, "kind": "attendance_overlap", "detail": format!("{detail}: {text}")}));
                continue;
            }
            (_, Err(e)) => {
                counts.errors += 1;
                changes.push(json!({"iiko_id": who, "kind": "attendance_error", "detail": format!("{detail}: {e}")}));
                if e.retryable() {
                    fatal = Some(e);
                }
                continue;
            }
        }
        changes.push(json!({"iiko_id": who, "kind": kind, "detail": detail}));
    }
    tx.commit().await?;
    if let Some(e) = fatal {
        log_run(&state.db, "export", false, started, Err(&e)).await?;
        return Err(ImportError::Iiko(e));
    }
    let run_id = log_run(&state.db, "export", false, started, Ok((&counts, &changes))).await?;
    Ok(super::import::RunReport {
        run_id,
        dry_run,
        counts,
        changes,
    })
}

/// Stores a record under its interval's key (replacing the old key after a takeover).
async fn save(
    tx: &mut sqlx::PgConnection,
    i: &Interval,
    iiko_id: &str,
    old_key: Option<i64>,
) -> Result<(), sqlx::Error> {
    if let Some(old) = old_key {
        sqlx::query("DELETE FROM iiko_attendance WHERE in_punch_id = $1")
            .bind(old)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO iiko_attendance (in_punch_id, employee_id, iiko_id, date_from, date_to)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (in_punch_id) DO UPDATE SET iiko_id = $3, date_from = $4, date_to = $5,
             exported_at = now()",
    )
    .bind(i.in_punch)
    .bind(i.employee)
    .bind(iiko_id)
    .bind(i.from)
    .bind(i.to)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
