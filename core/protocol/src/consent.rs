//! Consent ledger: grant or withdraw one kind of consent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET` — the current text of each kind that has one; `POST` — a new version (administrators).
pub const CONSENT_TEXTS_PATH: &str = "/api/v1/consent-texts";
/// `GET` — an employee's consents (administrators; operators within their scope); `POST` —
/// records consent given or withdrawn on paper (method `paper`, the caller as actor).
pub const EMPLOYEE_CONSENTS_PATH: &str = "/api/v1/employees/{id}/consents";

/// `POST` grants or withdraws; `GET` lists the current state.
pub const MY_CONSENTS_PATH: &str = "/api/v1/me/consents";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum ConsentKind {
    Biometric,
    Location,
    Telegram,
}

impl crate::wire_text::WireText for ConsentKind {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum ConsentAction {
    Grant,
    Withdraw,
}

impl crate::wire_text::WireText for ConsentAction {}

/// How the consent was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum ConsentMethod {
    /// In the app, by the employee.
    App,
    /// On paper, recorded by an admin or operator.
    Paper,
}

impl crate::wire_text::WireText for ConsentMethod {}

/// `POST /api/v1/me/consents` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub kind: ConsentKind,
    pub action: ConsentAction,
    /// Version of the text the employee was shown. `None`: the current version. A grant for a
    /// version that is no longer current is refused (`409`, code `consent_text_outdated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_version: Option<u32>,
}

/// One entry of the ledger, as answered to a `POST` and listed by `GET`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentRecord {
    pub kind: ConsentKind,
    pub action: ConsentAction,
    pub text_version: u32,
    pub at: DateTime<Utc>,
    pub method: ConsentMethod,
    #[serde(default)]
    pub device_id: Option<Uuid>,
    /// Who recorded it, when not the employee (paper consent).
    #[serde(default)]
    pub actor_id: Option<Uuid>,
}

/// `GET /api/v1/me/consents`: the latest record of each kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentState {
    pub consents: Vec<ConsentRecord>,
}

impl ConsentState {
    /// Whether `kind` is currently granted.
    pub fn is_granted(&self, kind: ConsentKind) -> bool {
        self.consents
            .iter()
            .filter(|c| c.kind == kind)
            .max_by_key(|c| c.at)
            .is_some_and(|c| c.action == ConsentAction::Grant)
    }
}

/// `GET /api/v1/me/consents`: the latest record of each kind (`consents`, as in the protocol's
/// `ConsentState`) and every record, newest first (`history`).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentOverview {
    pub consents: Vec<ConsentRecord>,
    pub history: Vec<ConsentRecord>,
}

/// A consent text, as shown to the employee before they grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentText {
    /// `biometric`, `location` or `telegram`.
    pub kind: String,
    pub version: i32,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/consent-texts` body: a new version of the text of one kind.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewConsentText {
    pub kind: ConsentKind,
    pub body: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_record_decides_and_bodies_are_strict() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        let rec = |action, t| ConsentRecord {
            kind: ConsentKind::Location,
            action,
            text_version: 1,
            at: at(t),
            method: ConsentMethod::App,
            device_id: None,
            actor_id: None,
        };
        let state = ConsentState {
            consents: vec![
                rec(ConsentAction::Withdraw, "2026-03-02T10:00:00Z"),
                rec(ConsentAction::Grant, "2026-03-01T10:00:00Z"),
            ],
        };
        assert!(!state.is_granted(ConsentKind::Location));
        assert!(!state.is_granted(ConsentKind::Biometric));
        let req: ConsentRequest =
            serde_json::from_str(r#"{"kind":"biometric","action":"grant"}"#).expect("request");
        assert_eq!(req.text_version, None);
        assert!(
            serde_json::from_str::<ConsentRequest>(
                r#"{"kind":"biometric","action":"grant","by":"me"}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<ConsentRequest>(r#"{"kind":"dna","action":"grant"}"#).is_err()
        );
    }
}
