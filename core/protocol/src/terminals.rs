//! Hikvision face terminals (`/api/v1/terminals`): their settings, health, today's counts and
//! the log of ISAPI calls.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET` — every terminal with its health; `POST` — registers a terminal; its first poll
/// and its people sync are queued at once.
pub const TERMINALS_PATH: &str = "/api/v1/terminals";
/// `GET` — a terminal with its health: identity from `deviceInfo`, clock offset, last poll,
/// last error and today's events; `PATCH` — edits a terminal; `DELETE` — deletes a
/// terminal: its configuration, raw events and log.
pub const TERMINAL_PATH: &str = "/api/v1/terminals/{id}";
/// `GET` — the terminal's synchronisation log: every call, newest first.
pub const TERMINAL_LOG_PATH: &str = "/api/v1/terminals/{id}/log";
/// `POST` — queues a poll of the terminal now (besides its schedule).
pub const TERMINAL_POLL_PATH: &str = "/api/v1/terminals/{id}/poll";
/// `POST` — tests the connection now: one `System/deviceInfo` call with the stored
/// credentials and a short timeout (at most 5 s).
pub const TERMINAL_TEST_PATH: &str = "/api/v1/terminals/{id}/test";

/// How a terminal's passes become punches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "lowercase"))]
pub enum Direction {
    /// Every pass is a check-in.
    In,
    /// Every pass is a check-out.
    Out,
    /// Alternating by the employee's last punch (within 16 hours).
    Both,
}

/// `POST /api/v1/terminals` body.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTerminal {
    pub name: String,
    /// `http://192.168.1.64` (or `https://…`): where the terminal's ISAPI answers.
    pub base_url: String,
    pub username: String,
    /// Stored encrypted; never answered.
    pub password: String,
    pub site_id: Uuid,
    pub direction: Direction,
    /// Seconds between polls (10..=3600, default 30).
    pub poll_interval_s: Option<i32>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Events before this are not imported (default: 24 hours before now).
    pub import_since: Option<DateTime<Utc>>,
}

/// `PATCH /api/v1/terminals/{id}` body: absent fields stay. New credentials (or `enabled:
/// true`) end a lock-out.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTerminal {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub site_id: Option<Uuid>,
    pub direction: Option<Direction>,
    pub poll_interval_s: Option<i32>,
    pub enabled: Option<bool>,
}

/// What the terminal says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalHealth {
    pub device_name: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
    /// The terminal's clock minus the server's, in seconds (from `System/time`).
    pub clock_offset_s: Option<f64>,
    /// The offset is beyond `hikvision_max_clock_skew_secs`: punches are flagged.
    pub clock_skewed: bool,
    pub checked_at: Option<DateTime<Utc>>,
}

/// Today's events (since midnight at the terminal's site).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalToday {
    /// Events read from the terminal.
    pub imported: i64,
    /// Face passes that became punches (verified or flagged).
    pub punched: i64,
    /// Face verification failures and strangers (kept, not punched).
    pub failed: i64,
    /// Face passes of a number no employee has.
    pub unknown: i64,
    /// Repeated face passes of a person just punched by this terminal (kept, not punched;
    /// `hikvision_debounce_secs`).
    pub debounced: i64,
    /// Serial gaps, clock skew and lock-outs recorded today.
    pub anomalies: i64,
}

/// A terminal (never its password).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Terminal {
    pub id: Uuid,
    pub name: String,
    pub base_url: String,
    pub username: String,
    pub site_id: Uuid,
    pub direction: Direction,
    pub poll_interval_s: i32,
    pub enabled: bool,
    /// The terminal's device row: the `device_id` of its punches.
    pub device_id: Uuid,
    /// `ok`, `error` (the last poll failed), `locked_out` (401s: polling stopped until the
    /// credentials change), `disabled`, or `pending` (not polled yet).
    pub status: String,
    pub health: TerminalHealth,
    /// The last poll that succeeded.
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub locked_out_at: Option<DateTime<Utc>>,
    /// The highest serial number imported (the polling cursor).
    pub last_serial_no: i64,
    pub last_event_at: Option<DateTime<Utc>>,
    pub import_since: DateTime<Utc>,
    pub today: TerminalToday,
    /// People we put on the terminal, and how many of them with a face.
    pub people: i64,
    pub faces: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One ISAPI call.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalLogEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `AcsEvent`, `System/time`, `System/deviceInfo`, `picture`, `UserInfo/Record`,
    /// `UserInfo/Modify`, `UserInfo/Delete`, `FDLib/FaceDataRecord`, `FDLib/FDSetUp`,
    /// `FDLib/FDSearch/Delete`.
    pub operation: String,
    pub ok: bool,
    pub http_status: Option<i32>,
    /// The ISAPI `statusCode` of a refusal.
    pub status_code: Option<i32>,
    /// The ISAPI `subStatusCode` of a refusal (e.g. `employeeNoAlreadyExist`).
    pub sub_status: Option<String>,
    pub error: Option<String>,
    /// Events in the page (`AcsEvent`), pictures found, or 1.
    pub count: Option<i32>,
    pub duration_ms: i32,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalLogPage {
    pub items: Vec<TerminalLogEntry>,
    pub total: i64,
}

crate::paged_query! {
    pub struct LogQuery {
        /// Only failed calls.
        pub errors_only: Option<bool>,
        /// Only this operation (e.g. `AcsEvent`).
        pub operation: Option<String>,
    }
}

/// How a connection test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// The terminal answered `deviceInfo` with these credentials.
    Ok,
    /// No connection, a broken one, or no answer within the test's timeout.
    Unreachable,
    /// The terminal refused the credentials (401).
    AuthFailed,
    /// Polling is stopped because the terminal refused the credentials repeatedly (the
    /// terminal is not called: another refused login could lock its account), or the terminal
    /// says the account is locked.
    LockedOut,
    /// The terminal answered, but not what `deviceInfo` returns (an HTTP error, an ISAPI
    /// refusal, or an unreadable body).
    BadResponse,
}

/// The answer of a connection test (200 whatever the outcome).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalTest {
    pub outcome: TestOutcome,
    /// Round trip of the call in milliseconds (absent when the terminal was not called).
    pub round_trip_ms: Option<i64>,
    /// What the terminal reported (`ok` only; each may be absent on some firmware).
    pub device_name: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
    /// The failure as the server saw it (absent on `ok`).
    pub detail: Option<String>,
    /// The HTTP status the terminal answered, when it answered one.
    pub http_status: Option<i32>,
    pub tested_at: DateTime<Utc>,
}

impl TerminalTest {
    /// An answer with `outcome` and nothing else, tested now.
    pub fn new(outcome: TestOutcome) -> Self {
        Self {
            outcome,
            round_trip_ms: None,
            device_name: None,
            model: None,
            serial_number: None,
            firmware_version: None,
            detail: None,
            http_status: None,
            tested_at: Utc::now(),
        }
    }
}
