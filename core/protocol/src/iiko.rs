//! The iikoServer integration (`/api/v1/integrations/iiko`): the connection, its test, the run
//! log, imports of staff and shift plans, the export of attendance, and the dismissals waiting
//! for an administrator.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// `GET` / `PUT` the connection.
pub const IIKO_PATH: &str = "/api/v1/integrations/iiko";
/// `POST`: test the stored connection.
pub const IIKO_TEST_PATH: &str = "/api/v1/integrations/iiko/test";
/// `GET`: the run log.
pub const IIKO_LOG_PATH: &str = "/api/v1/integrations/iiko/log";
/// `POST`: import employees and positions now.
pub const IIKO_SYNC_PATH: &str = "/api/v1/integrations/iiko/sync";
/// `GET` the employees waiting for a dismissal, `POST` to confirm them.
pub const IIKO_DISMISSALS_PATH: &str = "/api/v1/integrations/iiko/dismissals";
/// `POST`: export attendance of a period.
pub const IIKO_EXPORT_PATH: &str = "/api/v1/integrations/iiko/export";
/// `POST`: import shift plans of a period.
pub const IIKO_SCHEDULES_PATH: &str = "/api/v1/integrations/iiko/schedules";

/// What to synchronise.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncFlags {
    /// Import employees and positions.
    pub employees: bool,
    /// Import shift plans (not built yet: see docs/iiko.md).
    pub schedules: bool,
    /// Export attendance (not built yet: see docs/iiko.md).
    pub attendance: bool,
}

/// `PUT /api/v1/integrations/iiko` body.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutConnection {
    /// `https://host:port` of iikoServer (without `/resto`).
    pub server_url: String,
    pub login: String,
    /// Stored encrypted; never answered. Absent: keep the stored one.
    pub password: Option<String>,
    /// Only employees of these iiko departments are imported (empty: all).
    #[serde(default)]
    pub department_codes: Vec<String>,
    pub sync: SyncFlags,
    /// Seconds between periodic imports (300..=86400, default 3600).
    pub interval_s: Option<i32>,
}

/// The connection (never its password).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IikoConnection {
    pub server_url: String,
    pub login: String,
    pub department_codes: Vec<String>,
    pub sync: SyncFlags,
    pub interval_s: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The answer of a connection test.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestResult {
    /// Logged in, read the lists and logged out.
    pub ok: bool,
    /// `unauthorized`, `no_licence` (every API licence slot taken; try later), `network`,
    /// `timeout`, `html_page` (not iikoServer: check the URL), `server_error`, …
    pub error_code: Option<String>,
    pub error: Option<String>,
    /// Employee accounts iiko lists (system accounts included).
    pub employees: Option<i64>,
    pub roles: Option<i64>,
    /// The run in the log.
    pub run_id: i64,
}

/// One run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IikoRun {
    pub id: i64,
    /// `test`, `import`, `schedules` or `export`.
    pub kind: String,
    pub dry_run: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub ok: bool,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub conflicts: i32,
    pub errors: i32,
    /// Per-record changes and problems: `[{"iiko_id", "kind", "detail"}]`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub problems: Value,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IikoRunPage {
    pub items: Vec<IikoRun>,
    pub total: i64,
}

crate::paged_query! {
    pub struct LogQuery {}
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct SyncQuery {
    /// Answer what would change and write nothing (but the log row).
    pub dry_run: Option<bool>,
}

/// What one run did, written to `iiko_runs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub conflicts: i32,
    pub errors: i32,
}

/// What an import or an export did (or would do, in a dry run).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunReport {
    pub run_id: i64,
    pub dry_run: bool,
    pub counts: Counts,
    /// Each change and problem: `{"iiko_id", "kind", "detail"}`; kinds: `position_created`,
    /// `position_linked`, `position_renamed`, `employee_created`, `employee_linked`,
    /// `employee_updated`, `awaiting_dismissal`, `skipped_system`, `card_number_taken`,
    /// `position_name_taken`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub changes: Vec<Value>,
}

/// An employee gone from iiko, waiting for an administrator to confirm the dismissal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingDismissal {
    pub employee_id: Uuid,
    pub iiko_id: String,
    pub first_name: String,
    pub last_name: String,
    pub gone_since: DateTime<Utc>,
}

/// `POST /api/v1/integrations/iiko/dismissals` body.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfirmDismissals {
    pub employee_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Start of the period, with the restaurant's offset (`2026-11-01T00:00:00+03:00`): times
    /// are sent to iiko with this offset.
    pub from: DateTime<FixedOffset>,
    /// End of the period (exclusive), at most 62 days after `from`.
    pub to: DateTime<FixedOffset>,
    /// Answer what would be sent and send nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct SchedulesQuery {
    /// First day (shifts starting on `from..=to` are imported).
    pub from: NaiveDate,
    /// Last day, at most 62 days after `from`.
    pub to: NaiveDate,
    /// Answer what would change and write nothing (but the log row).
    pub dry_run: Option<bool>,
}
