//! The employee's Telegram link from the app's settings (`backend/src/telegram/routes.rs`,
//! `docs/telegram.md`): its state, a one-time deep link to the bot, unlinking and the
//! per-kind notification switches. A server without a bot answers 404
//! `telegram_not_configured`: [`link`] gives `None` then, and the app hides the section.

pub use faceid_protocol::telegram::{
    Lang, LinkCode, LinkRequest, MY_TELEGRAM_LINK_PATH, MY_TELEGRAM_PATH, TelegramLink,
    TelegramNotifications, TelegramSettingsPatch,
};

use crate::session::{Session, SessionError};
use faceid_protocol::error_code::ErrorCode;

/// `ru`, `tg` or `en` as the wire's [`Lang`]; any other text is refused before any request.
pub(crate) fn lang(language: Option<&str>) -> Result<Option<Lang>, SessionError> {
    match language {
        None => Ok(None),
        Some("ru") => Ok(Some(Lang::Ru)),
        Some("tg") => Ok(Some(Lang::Tg)),
        Some("en") => Ok(Some(Lang::En)),
        Some(_) => Err(SessionError::Invalid("language is ru, tg or en")),
    }
}

fn configured<T>(r: Result<T, SessionError>) -> Result<Option<T>, SessionError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.error_code() == Some(ErrorCode::TelegramNotConfigured) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The employee's link; `None` when the server has no Telegram bot.
pub async fn link(session: &Session) -> Result<Option<TelegramLink>, SessionError> {
    configured(
        session
            .call_json(reqwest::Method::GET, MY_TELEGRAM_PATH, None::<&()>)
            .await,
    )
}

/// A deep link to start linking, the bot speaking `language` (`ru`, `tg`, `en`). Without the
/// telegram consent: `Rejected` 403 `telegram_consent_required`.
pub async fn start_linking(
    session: &Session,
    language: Option<&str>,
) -> Result<LinkCode, SessionError> {
    let language = lang(language)?;
    session
        .call_json(
            reqwest::Method::POST,
            MY_TELEGRAM_LINK_PATH,
            Some(&LinkRequest { language }),
        )
        .await
}

/// Sets every notification switch; answers the link as it is now.
pub async fn set_notifications(
    session: &Session,
    switches: TelegramNotifications,
) -> Result<TelegramLink, SessionError> {
    session
        .call_json(
            reqwest::Method::PATCH,
            MY_TELEGRAM_PATH,
            Some(&TelegramSettingsPatch::from(switches)),
        )
        .await
}

/// Unlinks (nothing happens when not linked).
pub async fn unlink(session: &Session) -> Result<(), SessionError> {
    session
        .call_empty(reqwest::Method::DELETE, MY_TELEGRAM_PATH, None::<&()>)
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
        let l: TelegramLink = serde_json::from_str(json).expect("link");
        assert!(l.linked);
        assert_eq!(l.language, Some(Lang::Tg));
        let n = l.notifications.expect("switches");
        assert!(n.punches && n.checkout && !n.summary);
        let unlinked: TelegramLink = serde_json::from_str(
            r#"{"bot_username":"acme_bot","linked":false,"status":null,"status_reason":null,
            "telegram_username":null,"language":null,"linked_at":null,"notifications":null}"#,
        )
        .expect("unlinked");
        assert!(!unlinked.linked && unlinked.notifications.is_none());
        // The PATCH body sets every switch and leaves the language alone.
        let patch = serde_json::to_value(TelegramSettingsPatch::from(n)).expect("patch");
        assert_eq!(patch["language"], serde_json::Value::Null);
        for key in [
            "punches", "flagged", "reviews", "late", "absent", "checkout", "summary",
        ] {
            assert!(patch[key].is_boolean(), "{key}");
        }
    }
}
