//! What a punch tells whom. The attendance module enqueues a `telegram.punch` job in the punch's
//! own transaction (see [`punch_recorded`]); the `telegram.punch` job then decides the recipients and enqueues one
//! `telegram.send` per recipient, keyed by event and recipient so a rerun adds nothing:
//!
//! * the employee: a receipt with the verdict (switch `punches`), or the flag / rejection with
//!   its reasons (switch `flagged`);
//! * administrators, and operators whose departments or sites cover the employee: a flagged
//!   punch waiting for review (switch `reviews`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::send::{SendMessage, enqueue_message};
use super::texts::{self, Lang};
use crate::jobs::{Enqueue, Job, Outcome, enqueue};

pub const PUNCH_JOB: &str = "telegram.punch";

/// When a punch's job is enqueued (an SQL condition): only while someone has linked Telegram.
pub const PUNCH_JOB_WHEN: &str = "EXISTS (SELECT 1 FROM telegram_links WHERE status = 'active')";

/// The payload of a punch's job.
pub fn punch_job_payload(event_id: Uuid) -> serde_json::Value {
    serde_json::json!({"event_id": event_id})
}

/// Enqueues the notifications of a punch, inside the punch's transaction: one statement,
/// which adds nothing while nobody has linked Telegram. (The attendance chain enqueues the
/// same job in the statement that appends the event, with [`PUNCH_JOB_WHEN`] and
/// [`punch_job_payload`].)
pub async fn punch_recorded(conn: &mut PgConnection, event_id: Uuid) -> sqlx::Result<()> {
    enqueue(
        conn,
        PUNCH_JOB,
        &punch_job_payload(event_id),
        Enqueue {
            only_if: Some(PUNCH_JOB_WHEN),
            ..Enqueue::default()
        },
    )
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Punch {
    employee_id: Uuid,
    kind: String,
    verdict: String,
    reasons: Vec<String>,
    occurred_at: DateTime<Utc>,
    site_name: Option<String>,
    time_zone: Option<String>,
    first_name: String,
    last_name: String,
    department_id: Option<Uuid>,
    site_ids: Vec<Uuid>,
}

/// A linked chat that is told something.
#[derive(sqlx::FromRow)]
pub(crate) struct Recipient {
    pub employee_id: Uuid,
    pub chat_id: i64,
    pub language: String,
}

/// A staff notification switch of `telegram_links`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StaffSwitch {
    Reviews,
    Late,
    Absent,
    Summary,
}

impl StaffSwitch {
    fn column(self) -> &'static str {
        match self {
            StaffSwitch::Reviews => "notify_reviews",
            StaffSwitch::Late => "notify_late",
            StaffSwitch::Absent => "notify_absent",
            StaffSwitch::Summary => "notify_summary",
        }
    }
}

/// Active administrators, and operators whose departments or sites cover an employee of
/// `department` working at `site_ids`, with an active link and `switch` on; never `exclude`
/// (the employee the news is about). The one definition of "staff in scope" for the bot.
pub(crate) async fn staff_in_scope(
    conn: &mut PgConnection,
    exclude: Option<Uuid>,
    department: Option<Uuid>,
    site_ids: &[Uuid],
    switch: StaffSwitch,
) -> sqlx::Result<Vec<Recipient>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT l.employee_id, l.chat_id, l.language
         FROM telegram_links l JOIN employees st ON st.id = l.employee_id
         WHERE l.status = 'active' AND l.{} AND st.status = 'active'
           AND l.employee_id IS DISTINCT FROM $1
           AND (st.role = 'admin'
                OR (st.role = 'operator'
                    AND ($2 = ANY(st.scope_department_ids) OR st.scope_site_ids && $3)))
         ORDER BY l.employee_id",
        switch.column()
    )))
    .bind(exclude)
    .bind(department)
    .bind(site_ids)
    .fetch_all(conn)
    .await
}

pub(crate) fn local_time(at: DateTime<Utc>, tz: Option<&str>) -> String {
    match tz.and_then(|t| t.parse::<chrono_tz::Tz>().ok()) {
        Some(tz) => at.with_timezone(&tz).format("%d.%m %H:%M").to_string(),
        None => at.format("%d.%m %H:%M UTC").to_string(),
    }
}

/// The `telegram.punch` job. With no bot configured (`enabled` false) it does nothing.
pub async fn fan_out(db: &PgPool, job: Job, enabled: bool) -> Outcome {
    if !enabled {
        return Outcome::Done;
    }
    let Some(event_id) = job.payload["event_id"]
        .as_str()
        .and_then(|s| s.parse::<Uuid>().ok())
    else {
        return Outcome::Fail("bad payload: no event_id".into());
    };
    match fan_out_event(db, event_id).await {
        Ok(n) => {
            tracing::debug!(event = %event_id, messages = n, "punch notifications enqueued");
            Outcome::Done
        }
        Err(e) => Outcome::Retry(format!("database: {e}")),
    }
}

async fn fan_out_event(db: &PgPool, event_id: Uuid) -> sqlx::Result<usize> {
    let mut tx = db.begin().await?;
    let punch: Option<Punch> = sqlx::query_as(
        "SELECT e.employee_id, COALESCE(e.punch_kind, e.kind) AS kind, e.verdict, e.reasons,
                e.occurred_at, s.name AS site_name, s.time_zone, emp.first_name, emp.last_name,
                emp.department_id,
                COALESCE(ARRAY(SELECT site_id FROM employee_sites WHERE employee_id = emp.id), '{}') AS site_ids
         FROM attendance_events e
         JOIN employees emp ON emp.id = e.employee_id
         LEFT JOIN sites s ON s.id = e.site_id
         WHERE e.public_id = $1",
    )
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(p) = punch else {
        return Ok(0);
    };
    let time = local_time(p.occurred_at, p.time_zone.as_deref());
    let site = p.site_name.as_deref();
    let mut messages = Vec::new();

    let own: Option<Recipient> = sqlx::query_as(
        "SELECT employee_id, chat_id, language FROM telegram_links
         WHERE employee_id = $1 AND status = 'active'
           AND CASE WHEN $2 = 'verified' THEN notify_punches ELSE notify_flagged END",
    )
    .bind(p.employee_id)
    .bind(&p.verdict)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(r) = own {
        let lang = Lang::parse(Some(&r.language));
        messages.push(SendMessage {
            key: format!("punch:{event_id}:{}", r.employee_id),
            chat_id: r.chat_id,
            text: texts::punch_receipt(lang, &p.kind, &p.verdict, &p.reasons, &time, site),
            employee_id: Some(r.employee_id),
        });
    }

    if p.verdict == "flagged" {
        let staff = staff_in_scope(
            &mut tx,
            Some(p.employee_id),
            p.department_id,
            &p.site_ids,
            StaffSwitch::Reviews,
        )
        .await?;
        let name = format!("{} {}", p.first_name, p.last_name);
        for r in staff {
            let lang = Lang::parse(Some(&r.language));
            messages.push(SendMessage {
                key: format!("review:{event_id}:{}", r.employee_id),
                chat_id: r.chat_id,
                text: texts::review_alert(lang, &name, &p.kind, &p.reasons, &time, site),
                employee_id: Some(r.employee_id),
            });
        }
    }
    for m in &messages {
        enqueue_message(&mut tx, m).await?;
    }
    tx.commit().await?;
    Ok(messages.len())
}
