//! The employee's Telegram link from the app's settings (`backend/src/telegram/routes.rs`,
//! `docs/telegram.md`): its state, a one-time deep link to the bot, unlinking and the
//! per-kind notification switches. A server without a bot answers 404
//! `telegram_not_configured`: [`link`] gives `None` then, and the app hides the section.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::session::{Session, SessionError};

pub const TELEGRAM_PATH: &str = "/api/v1/me/telegram";
pub const TELEGRAM_LINK_PATH: &str = "/api/v1/me/telegram/link";
const NOT_CONFIGURED: &str = "telegram_not_configured";

/// The notification switches of a linked employee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notifications {
    /// A receipt of every verified punch.
    pub punches: bool,
    /// My punch was flagged or rejected.
    pub flagged: bool,
    /// Staff: punches in my scope waiting for review.
    pub reviews: bool,
    /// Staff: late check-ins in my scope.
    pub late: bool,
    /// Staff: no check-in after the grace period.
    pub absent: bool,
    /// I am still checked in after my shift.
    pub checkout: bool,
    /// Staff: the daily summary.
    pub summary: bool,
}

/// The link as the server tells it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Link {
    pub bot_username: Option<String>,
    pub linked: bool,
    /// `active`, `blocked` (the bot was blocked in Telegram) or `broken`; none when not linked.
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub telegram_username: Option<String>,
    /// `ru`, `tg` or `en`.
    pub language: Option<String>,
    pub linked_at: Option<DateTime<Utc>>,
    pub notifications: Option<Notifications>,
}

/// A one-time deep link: open `url` in Telegram and press Start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LinkCode {
    pub url: String,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

fn configured<T>(r: Result<T, SessionError>) -> Result<Option<T>, SessionError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == Some(NOT_CONFIGURED) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The employee's link; `None` when the server has no Telegram bot.
pub async fn link(session: &Session) -> Result<Option<Link>, SessionError> {
    configured(
        session
            .call_json(reqwest::Method::GET, TELEGRAM_PATH, None::<&()>)
            .await,
    )
}

#[derive(Serialize)]
struct LinkRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
}

/// A deep link to start linking, the bot speaking `language` (`ru`, `tg`, `en`). Without the
/// telegram consent: `Rejected` 403 `telegram_consent_required`.
pub async fn start_linking(
    session: &Session,
    language: Option<&str>,
) -> Result<LinkCode, SessionError> {
    if language.is_some_and(|l| !["ru", "tg", "en"].contains(&l)) {
        return Err(SessionError::Invalid("language is ru, tg or en"));
    }
    session
        .call_json(
            reqwest::Method::POST,
            TELEGRAM_LINK_PATH,
            Some(&LinkRequest { language }),
        )
        .await
}

/// Sets every notification switch; answers the link as it is now.
pub async fn set_notifications(
    session: &Session,
    switches: Notifications,
) -> Result<Link, SessionError> {
    session
        .call_json(reqwest::Method::PATCH, TELEGRAM_PATH, Some(&switches))
        .await
}

/// Unlinks (nothing happens when not linked).
pub async fn unlink(session: &Session) -> Result<(), SessionError> {
    session
        .call_empty(reqwest::Method::DELETE, TELEGRAM_PATH, None::<&()>)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_servers_link_and_writes_its_patch() {
        // As `GET /api/v1/me/telegram` answers (backend/src/telegram/routes.rs).
        let json = r#"{"bot_username":"acme_bot","linked":true,"status":"active","status_reason":null,
            "telegram_username":"ann","language":"tg","linked_at":"2026-11-20T08:00:00Z",
            "notifications":{"punches":true,"flagged":true,"reviews":false,"late":false,
            "absent":false,"checkout":true,"summary":false}}"#;
        let l: Link = serde_json::from_str(json).expect("link");
        assert!(l.linked);
        assert_eq!(l.language.as_deref(), Some("tg"));
        let n = l.notifications.expect("switches");
        assert!(n.punches && n.checkout && !n.summary);
        let unlinked: Link = serde_json::from_str(
            r#"{"bot_username":"acme_bot","linked":false,"status":null,"status_reason":null,
            "telegram_username":null,"language":null,"linked_at":null,"notifications":null}"#,
        )
        .expect("unlinked");
        assert!(!unlinked.linked && unlinked.notifications.is_none());
        // The PATCH body names every switch the server's `TelegramSettingsPatch` knows.
        let patch = serde_json::to_value(n).expect("patch");
        for key in [
            "punches", "flagged", "reviews", "late", "absent", "checkout", "summary",
        ] {
            assert!(patch.get(key).is_some(), "{key}");
        }
    }
}
