//! Receiving updates: long polling with `getUpdates` by one replica at a time (a session
//! advisory lock), the offset kept in PostgreSQL and advanced in the same transaction as the
//! update's effect, so a restart neither loses nor repeats an update. In webhook mode
//! (`telegram_webhook_url`) every replica sets the webhook at start instead and updates
//! arrive at `POST /api/v1/integrations/telegram/webhook`, through the same
//! [`handle_update`]. Back in polling mode, a webhook still set (`getUpdates` answers 409) is
//! deleted with `deleteWebhook`. Commands:
//! `/start <code>` links the chat, `/stop` unlinks it, anything else gets a help text.
//! Replies go out as `telegram.send` jobs like every other message.

use faceid_protocol::wire_text::WireText;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tokio::sync::watch;
use uuid::Uuid;

use super::Telegram;
use super::bot_api::{Message, Update};
use super::send::{SendMessage, enqueue_message};
use super::texts::{self, Lang};

/// Advisory lock key: held by the replica that polls.
const POLL_LOCK: &str = "SELECT pg_try_advisory_lock(hashtext('telegram_poll'))";

/// Longest link code (the deep-link payload limit).
const MAX_CODE_LEN: usize = 64;

/// Polls until `shutdown` turns true. Replicas that do not get the lock try again later.
/// In webhook mode: sets the webhook (retrying until Telegram accepts it) and never polls.
pub async fn run(tg: Arc<Telegram>, mut shutdown: watch::Receiver<bool>) {
    if tg.webhook.is_some() {
        return keep_webhook(&tg, &mut shutdown).await;
    }
    let mut failures = 0u32;
    while !*shutdown.borrow() {
        let wait = match poll_while_leader(&tg, &mut shutdown).await {
            Ok(()) => Duration::from_secs(5),
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = %e, "Telegram polling interrupted");
                Duration::from_millis(500).saturating_mul(1 << failures.min(6))
            }
        };
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Webhook mode: `setWebhook` with the secret until it succeeds, then waits for shutdown (the
/// webhook stays set; other replicas serve it too).
async fn keep_webhook(tg: &Telegram, shutdown: &mut watch::Receiver<bool>) {
    let Some(hook) = tg.webhook.clone() else {
        return;
    };
    let mut failures = 0u32;
    while !*shutdown.borrow() {
        if tg.username().is_none()
            && let Err(e) = tg.refresh_username().await
        {
            tracing::warn!(error = %e, "Telegram getMe failed");
        }
        let started = Instant::now();
        let set = tg.api.set_webhook(&hook.url, &hook.secret).await;
        tg.log("setWebhook", None, &set, started, None).await;
        match set {
            Ok(_) => {
                tracing::info!("Telegram webhook set; updates arrive by webhook");
                break;
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = %e, "setWebhook failed");
                let wait = Duration::from_millis(500).saturating_mul(1 << failures.min(7));
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
}

/// Takes the polling lock on a dedicated connection and polls while it holds it. Answers
/// `Ok` when another replica holds the lock or on shutdown.
async fn poll_while_leader(
    tg: &Telegram,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let mut lock_conn = tg.db.acquire().await.map_err(|e| e.to_string())?;
    let leader: bool = sqlx::query_scalar(POLL_LOCK)
        .fetch_one(&mut *lock_conn)
        .await
        .map_err(|e| e.to_string())?;
    if !leader {
        return Ok(());
    }
    let result = async {
        if tg.username().is_none() {
            tg.refresh_username().await.map_err(|e| e.to_string())?;
        }
        let mut errors = 0u32;
        while !*shutdown.borrow() {
            let offset: i64 = sqlx::query_scalar("SELECT update_offset FROM telegram_state")
                .fetch_one(&tg.db)
                .await
                .map_err(|e| e.to_string())?;
            let started = Instant::now();
            let got = tokio::select! {
                _ = shutdown.changed() => break,
                r = tg.api.get_updates(offset, tg.poll_timeout_secs) => r,
            };
            // Empty long polls are not worth a log line each.
            if !matches!(&got, Ok(u) if u.is_empty()) {
                tg.log("getUpdates", None, &got, started, None).await;
            }
            match got {
                Ok(updates) => {
                    errors = 0;
                    for u in updates {
                        handle_update(tg, &u).await.map_err(|e| e.to_string())?;
                    }
                }
                Err(e) => {
                    // 409: a webhook is set; 401: bad token; network: Telegram unreachable.
                    errors = errors.saturating_add(1);
                    tracing::warn!(error = %e, "getUpdates failed");
                    if e.code() == Some(409) {
                        // Switched back from webhook mode: the webhook Telegram still has
                        // would hold the updates, so it is deleted (its pending updates stay
                        // and arrive here).
                        let started = Instant::now();
                        let deleted = tg.api.delete_webhook().await;
                        tg.log("deleteWebhook", None, &deleted, started, None).await;
                        if deleted.is_ok() {
                            tracing::info!(
                                "Telegram webhook deleted; updates arrive by long polling"
                            );
                            continue;
                        }
                    }
                    let wait = Duration::from_millis(500).saturating_mul(1 << errors.min(6));
                    tokio::select! {
                        _ = shutdown.changed() => break,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    // Give the lock back before the connection returns to the pool.
    let _ = sqlx::query("SELECT pg_advisory_unlock(hashtext('telegram_poll'))")
        .execute(&mut *lock_conn)
        .await;
    result
}

/// Applies one update exactly once: skipped when the stored offset is already past it,
/// otherwise its effect and the new offset commit together.
pub async fn handle_update(tg: &Telegram, u: &Update) -> sqlx::Result<()> {
    let mut tx = tg.db.begin().await?;
    let offset: i64 = sqlx::query_scalar("SELECT update_offset FROM telegram_state FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    if u.update_id < offset {
        return Ok(());
    }
    if let Some(m) = &u.message {
        handle_message(&mut tx, u.update_id, m).await?;
    }
    sqlx::query("UPDATE telegram_state SET update_offset = $1")
        .bind(u.update_id + 1)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

async fn reply(
    conn: &mut PgConnection,
    update_id: i64,
    chat_id: i64,
    text: String,
) -> sqlx::Result<()> {
    enqueue_message(
        conn,
        &SendMessage {
            key: format!("update:{update_id}"),
            chat_id,
            text,
            employee_id: None,
        },
    )
    .await
}

async fn handle_message(conn: &mut PgConnection, update_id: i64, m: &Message) -> sqlx::Result<()> {
    // Only private chats link; groups are ignored.
    if m.chat.kind != "private" {
        return Ok(());
    }
    let chat = m.chat.id;
    let text = m.text.as_deref().unwrap_or("").trim();
    // A linked chat hears the employee's language; others Telegram's language of the user.
    let linked_lang: Option<String> = sqlx::query_scalar(
        "SELECT language FROM telegram_links WHERE chat_id = $1 AND status = 'active'",
    )
    .bind(chat)
    .fetch_optional(&mut *conn)
    .await?;
    let tg_lang = match linked_lang {
        Some(l) => Lang::parse(Some(&l)),
        None => Lang::parse(m.from.as_ref().and_then(|f| f.language_code.as_deref())),
    };
    let mut words = text.split_whitespace();
    let command = words.next().unwrap_or("");
    // `/start@bot_name` is the same command.
    let command = command.split('@').next().unwrap_or("");
    match command {
        "/start" => match words.next() {
            Some(code) => link(conn, update_id, m, code, tg_lang).await,
            None => reply(conn, update_id, chat, texts::help(tg_lang)).await,
        },
        "/stop" => {
            let lang: Option<String> = sqlx::query_scalar(
                "DELETE FROM telegram_links WHERE chat_id = $1 RETURNING language",
            )
            .bind(chat)
            .fetch_optional(&mut *conn)
            .await?;
            let text = match lang {
                Some(l) => {
                    tracing::info!(chat, "Telegram chat unlinked with /stop");
                    texts::stopped(Lang::parse(Some(&l)))
                }
                None => texts::not_linked(tg_lang),
            };
            reply(conn, update_id, chat, text).await
        }
        _ => reply(conn, update_id, chat, texts::help(tg_lang)).await,
    }
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    employee_id: Uuid,
    language: String,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    first_name: String,
    last_name: String,
    status: String,
}

async fn link(
    conn: &mut PgConnection,
    update_id: i64,
    m: &Message,
    code: &str,
    tg_lang: Lang,
) -> sqlx::Result<()> {
    let chat = m.chat.id;
    let valid_shape = code.len() <= MAX_CODE_LEN
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let row: Option<CodeRow> = if valid_shape {
        sqlx::query_as(
            "SELECT c.employee_id, c.language, c.expires_at, c.used_at, e.first_name, e.last_name,
                    e.status
             FROM telegram_link_codes c JOIN employees e ON e.id = c.employee_id
             WHERE c.code_hash = $1 FOR UPDATE OF c",
        )
        .bind(crate::auth::token_hash(code))
        .fetch_optional(&mut *conn)
        .await?
    } else {
        None
    };
    let Some(row) = row else {
        return reply(conn, update_id, chat, texts::code_unknown(tg_lang)).await;
    };
    let lang = Lang::parse(Some(&row.language));
    if row.used_at.is_some() {
        return reply(conn, update_id, chat, texts::code_used(lang)).await;
    }
    if row.expires_at <= Utc::now() || row.status != "active" {
        return reply(conn, update_id, chat, texts::code_expired(lang)).await;
    }
    sqlx::query("UPDATE telegram_link_codes SET used_at = now() WHERE code_hash = $1")
        .bind(crate::auth::token_hash(code))
        .execute(&mut *conn)
        .await?;
    let consent: Option<String> = sqlx::query_scalar(
        "SELECT action FROM consent_records WHERE employee_id = $1 AND kind = 'telegram'
         ORDER BY id DESC LIMIT 1",
    )
    .bind(row.employee_id)
    .fetch_optional(&mut *conn)
    .await?;
    if consent.as_deref() != Some("grant") {
        return reply(conn, update_id, chat, texts::consent_missing(lang)).await;
    }
    // One employee per chat: a chat linked before to someone else moves to this employee.
    sqlx::query("DELETE FROM telegram_links WHERE chat_id = $1 AND employee_id <> $2")
        .bind(chat)
        .bind(row.employee_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO telegram_links (employee_id, chat_id, telegram_user_id, telegram_username,
             language)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (employee_id) DO UPDATE SET chat_id = $2, telegram_user_id = $3,
             telegram_username = $4, language = $5, status = 'active', status_reason = NULL,
             linked_at = now(), updated_at = now()",
    )
    .bind(row.employee_id)
    .bind(chat)
    .bind(m.from.as_ref().map(|f| f.id))
    .bind(m.from.as_ref().and_then(|f| f.username.clone()))
    .bind(lang.wire_text())
    .execute(&mut *conn)
    .await?;
    tracing::info!(employee = %row.employee_id, chat, "Telegram chat linked");
    let name = format!("{} {}", row.first_name, row.last_name);
    reply(conn, update_id, chat, texts::linked(lang, &name)).await
}
