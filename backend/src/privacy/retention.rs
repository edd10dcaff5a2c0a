//! Retention: what the server deletes on its own once it may no longer keep it, run hourly by
//! the `privacy.retention` job and recorded in the audit log (`retention.run`) with its counts.
//!
//! | what | when |
//! |---|---|
//! | evidence photos of punches | `occurred_at` more than `evidence_photo_retention_days` ago, except a flagged punch still waiting for its review or a punch with a pending correction request; bytes deleted, event marked `photo_erased_at` (chain intact) |
//! | refresh tokens | past `expires_at` (a used token is kept until then, so a replay is still recognised as reuse) |
//! | data exports | past `expires_at`: the file is deleted, the row says `expired` |
//! | dismissed employees | `dismissed_at` more than `dismissed_retention_years` ago: pseudonymised (name, login, card, external ids, password), biometrics, photos, points, Telegram and sessions removed; attendance kept |
//!
//! Every cut-off is strict: a thing exactly as old as its period is kept until the next run.

use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::Retention;
use super::erasure::{self, Parts};
use super::export;
use crate::AppState;
use crate::audit;
use crate::error::AppResult;

/// Photos handled per transaction.
const PHOTO_BATCH: i64 = 500;

/// What one run removed.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RetentionReport {
    pub evidence_photos: u64,
    pub refresh_tokens: u64,
    pub exports: u64,
    pub pseudonymised: u64,
}

/// One retention run as of `now`.
pub async fn run(
    state: &AppState,
    now: DateTime<Utc>,
    r: &Retention,
) -> AppResult<RetentionReport> {
    let mut report = RetentionReport {
        evidence_photos: evidence_photos(state, now, r).await?,
        ..Default::default()
    };
    report.refresh_tokens = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
        .bind(now)
        .execute(&state.db)
        .await?
        .rows_affected();
    report.exports = export::expire(state, now).await?;
    report.pseudonymised = dismissed(state, now, r).await?;
    let mut conn = state.db.acquire().await?;
    #[derive(Serialize)]
    struct Run<'a> {
        report: &'a RetentionReport,
        evidence_photo_days: u32,
        export_keep_hours: u32,
        dismissed_years: u32,
    }
    audit::record_system(
        &mut conn,
        "retention.run",
        "retention",
        None,
        &Run {
            report: &report,
            evidence_photo_days: r.evidence_photo_days,
            export_keep_hours: r.export_keep_hours,
            dismissed_years: r.dismissed_years,
        },
    )
    .await?;
    tracing::info!(?report, "privacy retention run");
    Ok(report)
}

/// Deletes evidence photos older than the period, in batches.
async fn evidence_photos(state: &AppState, now: DateTime<Utc>, r: &Retention) -> AppResult<u64> {
    let cutoff = now - chrono::Duration::days(i64::from(r.evidence_photo_days));
    let mut total = 0;
    loop {
        let mut tx = state.db.begin().await?;
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT e.id, e.photo_key FROM attendance_events e
              WHERE e.photo_key IS NOT NULL AND e.photo_erased_at IS NULL AND e.occurred_at < $1
                AND NOT (e.verdict = 'flagged' AND NOT EXISTS (
                        SELECT 1 FROM attendance_events r WHERE r.kind = 'review' AND r.refers_to = e.id))
                AND NOT EXISTS (SELECT 1 FROM correction_requests c
                                 WHERE c.event_id = e.public_id AND c.state = 'pending')
              ORDER BY e.id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(cutoff)
        .bind(PHOTO_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        let (ids, keys): (Vec<i64>, Vec<String>) = rows.into_iter().unzip();
        sqlx::query("UPDATE attendance_events SET photo_erased_at = $2 WHERE id = ANY($1)")
            .bind(&ids)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        erasure::delete_photos(state, &keys).await?;
        tx.commit().await?;
        total += ids.len() as u64;
        if (ids.len() as i64) < PHOTO_BATCH {
            break;
        }
    }
    Ok(total)
}

/// Pseudonymises dismissed employees past the legal period.
async fn dismissed(state: &AppState, now: DateTime<Utc>, r: &Retention) -> AppResult<u64> {
    let cutoff = now
        .checked_sub_months(Months::new(r.dismissed_years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM employees
          WHERE status = 'dismissed' AND pseudonymised_at IS NULL AND dismissed_at < $1
          ORDER BY dismissed_at",
    )
    .bind(cutoff)
    .fetch_all(&state.db)
    .await?;
    for id in &ids {
        pseudonymise(state, *id, now).await?;
    }
    Ok(ids.len() as u64)
}

/// Replaces a dismissed employee's personal data by a pseudonym and removes what only served
/// the employment; attendance events, timesheet days, absences and the consent ledger stay
/// under the employee id.
pub async fn pseudonymise(state: &AppState, employee: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let (removed, keys) = erasure::erase(&mut tx, employee, Parts::ALL, None, now).await?;
    let short = employee.simple().to_string();
    sqlx::query(
        "UPDATE employees SET login = $2, first_name = 'Former', last_name = $3,
                card_number = NULL, photo_key = NULL, photo_updated_at = NULL, iiko_id = NULL, hikvision_employee_no = NULL,
                password_hash = $4, pseudonymised_at = $5, updated_at = $5
          WHERE id = $1",
    )
    .bind(employee)
    .bind(format!("erased-{short}"))
    .bind(format!("employee {}", &short[..8]))
    .bind(&*state.dummy_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for sql in [
        "DELETE FROM sessions WHERE employee_id = $1",
        "DELETE FROM employee_allowed_devices WHERE employee_id = $1",
        "DELETE FROM liveness_challenges WHERE employee_id = $1",
        "DELETE FROM employee_tracking_policies WHERE employee_id = $1",
        "DELETE FROM processing_restrictions WHERE employee_id = $1",
        // A field request holds a name; punch requests stay with the attendance record.
        "DELETE FROM correction_requests WHERE employee_id = $1 AND kind = 'field'",
    ] {
        sqlx::query(sql).bind(employee).execute(&mut *tx).await?;
    }
    export::delete_all_of(state, &mut tx, employee).await?;
    audit::record_system(
        &mut tx,
        "employee.pseudonymise",
        "employee",
        Some(employee),
        &removed,
    )
    .await?;
    erasure::delete_photos(state, &keys).await?;
    tx.commit().await?;
    tracing::info!(%employee, "dismissed employee pseudonymised after the legal period");
    Ok(())
}
