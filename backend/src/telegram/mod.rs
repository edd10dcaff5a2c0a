//! The Telegram bot: account linking through deep links and long polling, notifications sent
//! as jobs, the Bot API's errors and rate limits, and the call log (docs/telegram.md).
//!
//! * [`bot_api`]: the HTTP client of the Bot API.
//! * [`send`]: the `telegram.send` job: one message, with its delivery record, the global and
//!   per-chat rate limits (shared by replicas through PostgreSQL) and the error policy.
//! * [`notify`]: what a punch tells whom (`telegram.punch` fans out to `telegram.send`).
//! * [`notices`]: late arrivals, absences, missing check-outs and daily department
//!   summaries, decided by periodic jobs from the timesheet's own day records.
//! * [`updates`]: long polling (one replica at a time) or webhook mode, and the bot's
//!   commands.
//!
//! The handlers (`/me/telegram`, the webhook and the administrators' views) are in
//! `routes::telegram`.

pub mod bot_api;
pub mod notices;
pub mod notify;
pub mod send;
pub mod texts;
pub mod updates;

use faceid_protocol::error_code::ErrorCode;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveTime;
use sqlx::PgPool;

use crate::Settings;
use crate::error::AppError;
pub use bot_api::{ApiError, BotApi};

/// A configured bot.
pub struct Telegram {
    pub api: BotApi,
    pub db: PgPool,
    /// Read with `getMe` at start (and again by the poller until it succeeds).
    username: RwLock<Option<String>>,
    /// Messages per second across all chats (≤ 30, Telegram's bulk limit).
    pub max_per_second: u32,
    /// Seconds a `getUpdates` long poll waits.
    pub poll_timeout_secs: u64,
    /// Webhook mode instead of long polling, when configured.
    pub webhook: Option<Webhook>,
    /// Local time of the daily department summary.
    pub summary_time: NaiveTime,
    /// Minutes after a shift's end before the missing check-out reminder.
    pub checkout_reminder_minutes: u32,
}

/// Webhook mode: where Telegram posts updates and the secret it sends back with each.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: String,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("username", &self.username())
            .finish_non_exhaustive()
    }
}

impl Telegram {
    /// The bot of the settings, or `None` without a token. Asks `getMe` for the username; a
    /// failure is logged and the server starts anyway (the poller asks again).
    pub async fn from_settings(
        settings: &Settings,
        db: PgPool,
    ) -> Result<Option<Arc<Telegram>>, ApiError> {
        let Some(token) = settings.telegram_bot_token.as_deref() else {
            return Ok(None);
        };
        let tg = Arc::new(Telegram {
            api: BotApi::new(&settings.telegram_api_url, token)?,
            db,
            username: RwLock::new(None),
            max_per_second: settings.telegram_max_messages_per_second,
            poll_timeout_secs: settings.telegram_poll_timeout_secs,
            webhook: match (
                &settings.telegram_webhook_url,
                &settings.telegram_webhook_secret,
            ) {
                (Some(url), Some(secret)) => Some(Webhook {
                    url: url.clone(),
                    secret: secret.clone(),
                }),
                _ => None,
            },
            summary_time: settings
                .daily_summary_time()
                .unwrap_or_else(|| NaiveTime::from_hms_opt(18, 0, 0).unwrap_or(NaiveTime::MIN)),
            checkout_reminder_minutes: settings.telegram_checkout_reminder_minutes,
        });
        if let Err(e) = tg.refresh_username().await {
            tracing::error!(error = %e, "Telegram getMe failed; linking waits until it succeeds");
        }
        Ok(Some(tg))
    }

    pub fn username(&self) -> Option<String> {
        self.username.read().ok().and_then(|u| u.clone())
    }

    /// Calls `getMe` and keeps the bot's username (also stored for administrators).
    pub async fn refresh_username(&self) -> Result<String, ApiError> {
        let started = Instant::now();
        let me = self.api.get_me().await;
        self.log("getMe", None, &me, started, None).await;
        let me = me?;
        let name = me.username.unwrap_or_else(|| me.first_name.clone());
        if let Ok(mut u) = self.username.write() {
            *u = Some(name.clone());
        }
        if let Err(e) = sqlx::query("UPDATE telegram_state SET bot_username = $1")
            .bind(&name)
            .execute(&self.db)
            .await
        {
            tracing::warn!(error = %e, "storing the bot username failed");
        }
        tracing::info!(bot = %name, "Telegram bot ready");
        Ok(name)
    }

    /// Records one Bot API call for administrators (never the token or the text).
    pub async fn log<T>(
        &self,
        method: &str,
        chat_id: Option<i64>,
        result: &Result<T, ApiError>,
        started: Instant,
        delivery_key: Option<&str>,
    ) {
        let (ok, code, description, retry_after) = match result {
            Ok(_) => (true, None, None, None),
            Err(ApiError::Api {
                code,
                description,
                retry_after,
                ..
            }) => (
                false,
                i32::try_from(*code).ok(),
                Some(description.clone()),
                retry_after.and_then(|r| i32::try_from(r).ok()),
            ),
            Err(ApiError::Network(e)) => (false, None, Some(e.clone()), None),
        };
        let ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        if let Err(e) = sqlx::query(
            "INSERT INTO telegram_log (method, chat_id, ok, error_code, description, retry_after,
                 duration_ms, delivery_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(method)
        .bind(chat_id)
        .bind(ok)
        .bind(code)
        .bind(description)
        .bind(retry_after)
        .bind(ms)
        .bind(delivery_key)
        .execute(&self.db)
        .await
        {
            tracing::warn!(error = %e, "writing the Telegram log failed");
        }
    }
}

/// The answer of every Telegram endpoint on a server without a bot token.
pub fn not_configured() -> AppError {
    AppError::Unconfigured {
        code: ErrorCode::TelegramNotConfigured,
        detail: "this server has no Telegram bot (set telegram_bot_token)".into(),
    }
}

/// Registers the Telegram job kinds. Punch notifications are always handled (without a bot
/// they finish at once, so nothing piles up); messages only with a bot.
pub fn register_jobs(registry: &mut crate::jobs::Registry, db: PgPool, tg: Option<Arc<Telegram>>) {
    use crate::jobs::worker::KindConfig;
    notices::register_jobs(registry, db.clone(), tg.clone());
    let enabled = tg.is_some();
    registry.handle(
        notify::PUNCH_JOB,
        KindConfig {
            max_attempts: 8,
            ..KindConfig::default()
        },
        move |job| {
            let db = db.clone();
            async move { notify::fan_out(&db, job, enabled).await }
        },
    );
    let Some(sender) = tg else {
        return;
    };
    registry.handle(
        send::SEND_JOB,
        KindConfig {
            max_attempts: 12,
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(600),
        },
        move |job| {
            let tg = sender.clone();
            async move { send::run(&tg, job).await }
        },
    );
}
