//! The `telegram.send` job: one message to one chat.
//!
//! * A delivery record (`telegram_deliveries`, keyed by what the message is about) is written
//!   before the call and marked `sent` after it, so a job that runs again (its worker died, or
//!   it was retried) does not send a second message. The one window left is a crash during the
//!   HTTP call itself: then the message is sent again (at least once, never silently lost).
//! * Rate limits shared by all replicas through PostgreSQL: a global slot every
//!   `1 / max_per_second` seconds, at most one message per chat per [`CHAT_INTERVAL`], and a
//!   global pause for `retry_after` seconds after a 429.
//! * Errors (integrations.md §3.4): 429 → wait `retry_after` (globally) and retry; 403 → the
//!   user blocked the bot: the link becomes `blocked`; 400 "chat not found" → `broken`; other
//!   400s are permanent; 5xx and network errors are retried with backoff.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{ApiError, Telegram};
use crate::jobs::{Enqueue, Job, Outcome, enqueue};

pub const SEND_JOB: &str = "telegram.send";

/// Spacing of messages to one chat (Telegram: about one a second; a margin for clock jitter).
pub const CHAT_INTERVAL: Duration = Duration::from_millis(1100);

/// Longest wait for a reserved slot inside a job; longer waits snooze the job instead.
const MAX_SLOT_WAIT: Duration = Duration::from_secs(20);

/// What a `telegram.send` job carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMessage {
    /// The delivery key: one message per key, ever.
    pub key: String,
    pub chat_id: i64,
    pub text: String,
    /// The linked employee the message is for: when their link is no longer active (or now
    /// points at another chat) the message is dropped. `None` for replies to a chat.
    pub employee_id: Option<Uuid>,
}

/// Enqueues a message inside the caller's transaction; a second enqueue with the same key
/// does nothing.
pub async fn enqueue_message(conn: &mut PgConnection, msg: &SendMessage) -> sqlx::Result<()> {
    enqueue(
        conn,
        SEND_JOB,
        msg,
        Enqueue {
            unique_key: Some(format!("{SEND_JOB}:{}", msg.key)),
            run_at: None,
            only_if: None,
        },
    )
    .await?;
    Ok(())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn until(t: DateTime<Utc>) -> Duration {
    (t - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

/// Runs one `telegram.send` job.
pub async fn run(tg: &Telegram, job: Job) -> Outcome {
    let msg: SendMessage = match serde_json::from_value(job.payload.clone()) {
        Ok(m) => m,
        Err(e) => return Outcome::Fail(format!("bad payload: {e}")),
    };
    match attempt(tg, &msg).await {
        Ok(o) => o,
        Err(e) => Outcome::Retry(format!("database: {e}")),
    }
}

async fn attempt(tg: &Telegram, msg: &SendMessage) -> sqlx::Result<Outcome> {
    let db = &tg.db;
    // Already sent (or given up) by an earlier run of this job: nothing to do.
    let prior: Option<String> =
        sqlx::query_scalar("SELECT state FROM telegram_deliveries WHERE key = $1")
            .bind(&msg.key)
            .fetch_optional(db)
            .await?;
    if matches!(prior.as_deref(), Some("sent" | "failed")) {
        return Ok(Outcome::Done);
    }
    if let Some(employee) = msg.employee_id {
        let active: Option<i64> = sqlx::query_scalar(
            "SELECT chat_id FROM telegram_links WHERE employee_id = $1 AND status = 'active'",
        )
        .bind(employee)
        .fetch_optional(db)
        .await?;
        if active != Some(msg.chat_id) {
            record(
                db,
                msg,
                "failed",
                None,
                Some("the chat is no longer linked"),
            )
            .await?;
            return Ok(Outcome::Done);
        }
    }

    // The global slot (after any 429 pause), then this chat's slot at that time.
    let gap = Duration::from_secs(1) / tg.max_per_second.max(1);
    let slot: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE telegram_state
            SET next_slot = greatest(next_slot, paused_until, now()) + $1 * interval '1 second'
         RETURNING next_slot - $1 * interval '1 second'",
    )
    .bind(secs(gap))
    .fetch_one(db)
    .await?;
    if until(slot) > MAX_SLOT_WAIT {
        return Ok(Outcome::Snooze(until(slot)));
    }
    let chat_free: Option<DateTime<Utc>> = sqlx::query_scalar(
        "INSERT INTO telegram_chat_slots AS s (chat_id, next_send_at)
             VALUES ($1, $2 + $3 * interval '1 second')
         ON CONFLICT (chat_id) DO UPDATE SET next_send_at = EXCLUDED.next_send_at
             WHERE s.next_send_at <= $2
         RETURNING next_send_at",
    )
    .bind(msg.chat_id)
    .bind(slot)
    .bind(secs(CHAT_INTERVAL))
    .fetch_optional(db)
    .await?;
    if chat_free.is_none() {
        let next: DateTime<Utc> =
            sqlx::query_scalar("SELECT next_send_at FROM telegram_chat_slots WHERE chat_id = $1")
                .bind(msg.chat_id)
                .fetch_one(db)
                .await?;
        return Ok(Outcome::Snooze(until(next).max(Duration::from_millis(50))));
    }
    tokio::time::sleep(until(slot)).await;

    record(db, msg, "sending", None, None).await?;
    let started = Instant::now();
    let result = tg.api.send_message(msg.chat_id, &msg.text).await;
    tg.log(
        "sendMessage",
        Some(msg.chat_id),
        &result,
        started,
        Some(&msg.key),
    )
    .await;
    Ok(match result {
        Ok(m) => {
            record(db, msg, "sent", Some(m.message_id), None).await?;
            Outcome::Done
        }
        Err(ApiError::Api {
            code: 429,
            retry_after,
            description,
            ..
        }) => {
            // Telegram throttles the whole bot: every replica waits, this chat too.
            let wait = Duration::from_secs(retry_after.unwrap_or(1).max(1));
            sqlx::query(
                "UPDATE telegram_state
                    SET paused_until = greatest(paused_until, now() + $1 * interval '1 second')",
            )
            .bind(secs(wait))
            .execute(db)
            .await?;
            sqlx::query(
                "UPDATE telegram_chat_slots SET next_send_at =
                     greatest(next_send_at, now() + $2 * interval '1 second') WHERE chat_id = $1",
            )
            .bind(msg.chat_id)
            .bind(secs(wait))
            .execute(db)
            .await?;
            tracing::warn!(
                chat = msg.chat_id,
                retry_after = wait.as_secs(),
                "Telegram rate limit"
            );
            Outcome::RetryAfter(wait, format!("429 {description}"))
        }
        Err(ApiError::Api {
            code: 400,
            migrate_to_chat_id: Some(new_chat),
            ..
        }) => {
            // A group became a supergroup: follow it.
            sqlx::query(
                "UPDATE telegram_links SET chat_id = $2, updated_at = now() WHERE chat_id = $1",
            )
            .bind(msg.chat_id)
            .bind(new_chat)
            .execute(db)
            .await?;
            let moved = SendMessage {
                key: format!("{}:migrated", msg.key),
                chat_id: new_chat,
                ..msg.clone()
            };
            let mut conn = db.acquire().await?;
            enqueue_message(&mut conn, &moved).await?;
            record(db, msg, "failed", None, Some("chat migrated")).await?;
            Outcome::Done
        }
        Err(ApiError::Api {
            code: 403,
            description,
            ..
        }) => {
            // Blocked by the user (or deactivated): unlink, keep the reason for them to see.
            set_link_status(db, msg.chat_id, "blocked", &description).await?;
            record(db, msg, "failed", None, Some(&description)).await?;
            Outcome::Done
        }
        Err(ApiError::Api {
            code: 400,
            description,
            ..
        }) if description.to_ascii_lowercase().contains("chat not found") => {
            set_link_status(db, msg.chat_id, "broken", &description).await?;
            record(db, msg, "failed", None, Some(&description)).await?;
            Outcome::Done
        }
        Err(ApiError::Api {
            code: 400,
            description,
            ..
        }) => {
            record(db, msg, "failed", None, Some(&description)).await?;
            Outcome::Fail(format!("400 {description}"))
        }
        Err(e) => Outcome::Retry(e.to_string()),
    })
}

async fn record(
    db: &PgPool,
    msg: &SendMessage,
    state: &str,
    message_id: Option<i64>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO telegram_deliveries (key, chat_id, state, message_id, error)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key) DO UPDATE SET state = $3, message_id = $4, error = $5,
             updated_at = now()",
    )
    .bind(&msg.key)
    .bind(msg.chat_id)
    .bind(state)
    .bind(message_id)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

async fn set_link_status(
    db: &PgPool,
    chat_id: i64,
    status: &str,
    reason: &str,
) -> sqlx::Result<()> {
    let done = sqlx::query(
        "UPDATE telegram_links SET status = $2, status_reason = $3, updated_at = now()
         WHERE chat_id = $1 AND status = 'active'",
    )
    .bind(chat_id)
    .bind(status)
    .bind(reason)
    .execute(db)
    .await?;
    if done.rows_affected() > 0 {
        tracing::warn!(chat = chat_id, status, reason, "Telegram link deactivated");
    }
    Ok(())
}
