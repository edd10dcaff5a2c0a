//! The employee's Telegram link (`/api/v1/me/telegram`): its state, a one-time deep link to
//! the bot and the per-kind notification switches.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `GET` — the bot's name (from `getMe`) and link counts (administrators).
pub const TELEGRAM_PATH: &str = "/api/v1/integrations/telegram";
/// `GET` — every Bot API call, newest first (administrators).
pub const TELEGRAM_LOG_PATH: &str = "/api/v1/integrations/telegram/log";
/// `POST` — webhook mode: Telegram posts each update here with the configured secret in
/// `X-Telegram-Bot-Api-Secret-Token`.
pub const TELEGRAM_WEBHOOK_PATH: &str = "/api/v1/integrations/telegram/webhook";

/// `GET` the link, `PATCH` its settings, `DELETE` to unlink.
pub const MY_TELEGRAM_PATH: &str = "/api/v1/me/telegram";
/// `POST`: a one-time deep link to the bot.
pub const MY_TELEGRAM_LINK_PATH: &str = "/api/v1/me/telegram/link";

/// A language the bot speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ru,
    Tg,
    En,
}

impl crate::wire_text::WireText for Lang {}

impl Lang {
    /// A stored code, or Telegram's `language_code` (`en-US` → English); Russian otherwise.
    pub fn parse(code: Option<&str>) -> Lang {
        let code = code.unwrap_or("").to_ascii_lowercase();
        match code.split(['-', '_']).next().unwrap_or("") {
            "tg" => Lang::Tg,
            "en" => Lang::En,
            _ => Lang::Ru,
        }
    }
}

/// `POST /api/v1/me/telegram/link` body (`{}` for the defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The language the bot speaks to this employee (`ru`, `tg`, `en`; default `ru`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Lang>,
}

/// A one-time deep link to the bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkCode {
    /// `https://t.me/<bot>?start=<code>`: open it in Telegram and press Start.
    pub url: String,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// Per-employee notification switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramNotifications {
    /// A receipt of every verified punch.
    pub punches: bool,
    /// My punch was flagged or rejected, with the reason.
    pub flagged: bool,
    /// Administrators and operators: punches in my scope waiting for review.
    pub reviews: bool,
    /// Administrators and operators: employees in my scope checking in after the grace period.
    pub late: bool,
    /// Administrators and operators: employees in my scope with no check-in once the grace
    /// period is over.
    pub absent: bool,
    /// I am still checked in after my shift's end.
    pub checkout: bool,
    /// Administrators and operators: the daily summary of each department in my scope.
    pub summary: bool,
}

/// `GET /api/v1/me/telegram`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramLink {
    pub bot_username: Option<String>,
    pub linked: bool,
    /// `active`, `blocked` (the bot was blocked in Telegram) or `broken` (the chat is gone);
    /// absent when not linked.
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub telegram_username: Option<String>,
    pub language: Option<Lang>,
    pub linked_at: Option<DateTime<Utc>>,
    pub notifications: Option<TelegramNotifications>,
}

/// `PATCH /api/v1/me/telegram` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TelegramSettingsPatch {
    pub language: Option<Lang>,
    pub punches: Option<bool>,
    pub flagged: Option<bool>,
    pub reviews: Option<bool>,
    pub late: Option<bool>,
    pub absent: Option<bool>,
    pub checkout: Option<bool>,
    pub summary: Option<bool>,
}

impl From<TelegramNotifications> for TelegramSettingsPatch {
    /// Every switch set as given; the language left as it is.
    fn from(n: TelegramNotifications) -> Self {
        Self {
            language: None,
            punches: Some(n.punches),
            flagged: Some(n.flagged),
            reviews: Some(n.reviews),
            late: Some(n.late),
            absent: Some(n.absent),
            checkout: Some(n.checkout),
            summary: Some(n.summary),
        }
    }
}

// Administration of the bot (`/api/v1/integrations/telegram`).

/// The bot as administrators see it.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramStatus {
    pub bot_username: Option<String>,
    /// How updates arrive: `long_polling` or `webhook`.
    pub updates: String,
    pub linked_employees: i64,
    pub blocked_links: i64,
    pub broken_links: i64,
    /// Messages waiting to be sent.
    pub queued_messages: i64,
}

/// One Bot API call.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramLogEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub method: String,
    pub chat_id: Option<i64>,
    pub ok: bool,
    pub error_code: Option<i32>,
    pub description: Option<String>,
    pub retry_after: Option<i32>,
    pub duration_ms: i32,
    pub delivery_key: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramLogPage {
    pub items: Vec<TelegramLogEntry>,
    pub total: i64,
}

crate::paged_query! {
    pub struct LogQuery {
        /// Only failed calls.
        pub errors_only: Option<bool>,
    }
}
