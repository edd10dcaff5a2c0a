//! The employee's data-subject rights (`/api/v1/me/…`): an export of everything the server
//! holds about them, erasure and correction requests, and the restriction of biometric
//! processing or tracking. With the `sqlx` feature the stored rows decode straight into
//! these types (the backend's queries name the columns).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::telegram::Lang;
use crate::wire_text::WireText;

/// `GET` — the review queue of correction requests within the caller's scope, oldest first.
pub const CORRECTION_REQUESTS_PATH: &str = "/api/v1/correction-requests";
/// `POST` — accepts or rejects a pending request (administrators; operators within their
/// scope; audited).
pub const CORRECTION_REQUEST_DECIDE_PATH: &str = "/api/v1/correction-requests/{id}/decide";
/// `POST` — starts an export of an employee's data on their behalf (administrators;
/// operators within their scope; audited).
pub const EMPLOYEE_EXPORT_PATH: &str = "/api/v1/employees/{id}/export";
/// `GET` — an export of an employee's data: its state, then the ZIP (audited download).
pub const EMPLOYEE_EXPORT_STATUS_PATH: &str = "/api/v1/employees/{id}/export/{export_id}";
/// `GET` — an employee's restrictions (administrators); `PUT` — restricts or lifts an
/// employee's biometric processing or tracking (administrators; audited).
pub const EMPLOYEE_RESTRICTIONS_PATH: &str = "/api/v1/employees/{id}/restrictions";
/// `GET` — erasure requests of every employee, oldest open first (administrators).
pub const ERASURE_REQUESTS_PATH: &str = "/api/v1/erasure-requests";
/// `POST` — approves a pending request: the cascade job is queued in the same transaction
/// (audited).
pub const ERASURE_REQUEST_APPROVE_PATH: &str = "/api/v1/erasure-requests/{id}/approve";
/// `POST` — refuses a pending request with a reason the employee sees (audited).
pub const ERASURE_REQUEST_REFUSE_PATH: &str = "/api/v1/erasure-requests/{id}/refuse";
/// `GET` — one of the caller's exports: 202 with its state while it is being written, then
/// the ZIP.
pub const MY_EXPORT_STATUS_PATH: &str = "/api/v1/me/export/{id}";

/// `POST` starts an export; `GET …/{id}` polls it (202 with its state, 200 with the ZIP).
pub const MY_EXPORT_PATH: &str = "/api/v1/me/export";
/// `POST` asks for an erasure; `GET` lists the employee's requests.
pub const MY_ERASURE_REQUESTS_PATH: &str = "/api/v1/me/erasure-requests";
/// `POST` asks for a correction; `GET` lists the employee's requests.
pub const MY_CORRECTION_REQUESTS_PATH: &str = "/api/v1/me/correction-requests";
/// `GET` what is restricted; `PUT` restricts or lifts.
pub const MY_RESTRICTIONS_PATH: &str = "/api/v1/me/restrictions";

/// `POST …/export` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Language of the README (`ru`, `tg`, `en`); default: the employee's Telegram language,
    /// else Russian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Lang>,
}

/// An export and its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ExportStatus {
    pub id: Uuid,
    pub employee_id: Uuid,
    /// `queued`, `ready`, `failed` or `expired`.
    pub state: String,
    pub language: String,
    pub size_bytes: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the file is deleted.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What an erasure request covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum ErasureScope {
    Biometrics,
    Locations,
    Photos,
    Everything,
}

impl WireText for ErasureScope {}

/// An erasure request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ErasureRequest {
    pub id: Uuid,
    pub employee_id: Uuid,
    /// `biometrics`, `locations`, `photos` or `everything`.
    pub scope: String,
    /// `pending` (waiting for an administrator), `approved` (the cascade is queued or
    /// running), `done` or `refused`.
    pub state: String,
    pub comment: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub refusal_reason: Option<String>,
    /// When done: an [`ErasureOutcome`] (what was removed, what was kept and why).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub outcome: Option<serde_json::Value>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl ErasureRequest {
    /// [`Self::scope`] as the enum; `None` for a text this version does not know.
    pub fn scope_kind(&self) -> Option<ErasureScope> {
        ErasureScope::from_wire_text(&self.scope)
    }

    /// [`Self::outcome`] read as an [`ErasureOutcome`]; `None` while not done (or unreadable).
    pub fn erasure_outcome(&self) -> Option<ErasureOutcome> {
        self.outcome
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
    }
}

/// What a cascade removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Removed {
    pub face_templates: u64,
    pub enrolment_photos: u64,
    pub evidence_photos: u64,
    pub profile_photo: bool,
    pub location_points: u64,
    pub telegram_link: bool,
    /// What the face terminals were told ([`push_removal_to_terminals`]).
    pub terminals: Option<String>,
}

/// Something kept, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kept {
    pub what: String,
    pub count: i64,
    pub why: String,
}

/// The outcome of an erasure, stored with the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErasureOutcome {
    pub removed: Removed,
    pub kept: Vec<Kept>,
}

/// `POST /api/v1/me/erasure-requests` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewErasureRequest {
    pub scope: ErasureScope,
    /// Optional note for the administrator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// What a correction request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum CorrectionKind {
    /// A punch at the wrong time, or a missing one.
    Punch,
    /// A personal field of the profile.
    Field,
}

impl WireText for CorrectionKind {}

/// A profile field an employee may ask to correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum CorrectableField {
    FirstName,
    LastName,
}

impl WireText for CorrectableField {}

/// `POST /api/v1/me/correction-requests` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCorrectionRequest {
    pub kind: CorrectionKind,
    /// Punch: the punch to replace (absent: a missing punch to add).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    /// Punch: `in` or `out`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub punch_kind: Option<String>,
    /// Punch: when it really happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// Field: which one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<CorrectableField>,
    /// Field: the correct value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong, for the operator.
    pub comment: String,
}

/// A correction request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct EmployeeCorrectionRequest {
    pub id: Uuid,
    pub employee_id: Uuid,
    pub employee_name: String,
    /// `punch` or `field`.
    pub kind: String,
    pub event_id: Option<Uuid>,
    pub punch_kind: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub field: Option<String>,
    pub value: Option<String>,
    pub comment: String,
    /// `pending`, `accepted` or `rejected`.
    pub state: String,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_comment: Option<String>,
    /// Accepted punch requests: the correction event appended to the chain.
    pub correction_event_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A kind of processing that can be restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum Processing {
    /// Face check-in, enrolment, kiosk identification, descriptors for on-device matching.
    Biometrics,
    /// Location batches.
    Tracking,
}

impl WireText for Processing {}

/// One restriction in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Restriction {
    /// `biometrics` or `tracking`.
    pub kind: String,
    pub restricted_at: DateTime<Utc>,
    /// Who set it (the employee themself or an administrator).
    pub restricted_by: Option<Uuid>,
}

/// `GET /api/v1/me/restrictions`: what is restricted now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Restrictions {
    pub biometrics: bool,
    pub tracking: bool,
    pub items: Vec<Restriction>,
}

/// `PUT …/restrictions`: `true` restricts, `false` lifts, absent leaves as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RestrictionChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biometrics: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<bool>,
}

/// `POST /api/v1/correction-requests/{id}/decide` body.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CorrectionDecision {
    /// `accept` or `reject`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(accept|reject)$"))]
    pub decision: String,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct CorrectionQuery {
    /// Which requests: `pending` (the default), `accepted`, `rejected` or `all`.
    #[cfg_attr(feature = "openapi", param(inline))]
    pub state: Option<CorrectionStateFilter>,
}

/// Which correction requests a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CorrectionStateFilter {
    #[default]
    Pending,
    Accepted,
    Rejected,
    All,
}

impl WireText for CorrectionStateFilter {}

impl CorrectionStateFilter {
    /// The state the requests must be in; `None` for all.
    pub fn state(self) -> Option<&'static str> {
        (self != Self::All).then(|| self.wire_text())
    }
}

/// `POST /api/v1/erasure-requests/{id}/refuse` body.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// Shown to the employee.
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ErasureQuery {
    /// Only requests in this state.
    #[cfg_attr(feature = "openapi", param(inline))]
    pub state: Option<ErasureState>,
}

/// Where an erasure request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum ErasureState {
    Pending,
    Approved,
    Done,
    Refused,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_enums_round_trip() {
        for s in [
            ErasureScope::Biometrics,
            ErasureScope::Locations,
            ErasureScope::Photos,
            ErasureScope::Everything,
        ] {
            assert_eq!(ErasureScope::from_wire_text(s.wire_text()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(s.wire_text().into()));
        }
        for f in [CorrectableField::FirstName, CorrectableField::LastName] {
            assert_eq!(CorrectableField::from_wire_text(f.wire_text()), Some(f));
            assert_eq!(serde_json::to_value(f).ok(), Some(f.wire_text().into()));
        }
        for p in [Processing::Biometrics, Processing::Tracking] {
            assert_eq!(serde_json::to_value(p).ok(), Some(p.wire_text().into()));
        }
        assert_eq!(ErasureScope::from_wire_text("all"), None);
        assert_eq!(CorrectableField::from_wire_text("email"), None);
    }
}
