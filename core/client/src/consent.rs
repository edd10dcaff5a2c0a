//! Consent reads for the consent screens: the server's current texts (what the employee is
//! asked to agree to) and the employee's own ledger state. Grants and withdrawals themselves go
//! through the outbox (works offline; see the FFI's `grant_consent`).

use chrono::{DateTime, Utc};
use faceid_protocol::consent::{ConsentKind, ConsentState, MY_CONSENTS_PATH};
use serde::Deserialize;

use crate::session::{Session, SessionError};

pub use faceid_protocol::consent::CONSENT_TEXTS_PATH;

/// One current consent text as the server lists it (the fields the app shows; the server's
/// answer has the same names).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConsentText {
    pub kind: ConsentKind,
    /// Grants refer to it: a grant of an older version is refused (`consent_text_outdated`).
    pub version: u32,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// The current texts; a kind without a published text is absent (the server refuses grants of
/// it with `no_consent_text`).
pub async fn current_texts(session: &Session) -> Result<Vec<ConsentText>, SessionError> {
    session
        .call_json(reqwest::Method::GET, CONSENT_TEXTS_PATH, None::<&()>)
        .await
}

/// The employee's consents as the server's ledger holds them (latest record per kind).
pub async fn my_consents(session: &Session) -> Result<ConsentState, SessionError> {
    session
        .call_json(reqwest::Method::GET, MY_CONSENTS_PATH, None::<&()>)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_servers_text_listing() {
        // The shape `GET /api/v1/consent-texts` answers (`faceid_protocol::consent::ConsentText`).
        let json = r#"[{"kind":"biometric","version":3,"body":"We keep your face template.",
            "created_at":"2026-05-01T08:00:00Z"},
            {"kind":"location","version":1,"body":"Where you punch.","created_at":"2026-05-01T08:00:00Z"}]"#;
        let texts: Vec<ConsentText> = serde_json::from_str(json).expect("texts");
        assert_eq!(texts[0].kind, ConsentKind::Biometric);
        assert_eq!(texts[0].version, 3);
        assert_eq!(texts[1].body, "Where you punch.");
    }
}
