//! The background job queue as administrators see it (`/api/v1/jobs`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET` — jobs, newest first (administrators).
pub const JOBS_PATH: &str = "/api/v1/jobs";
/// `POST` — run a dead or discarded job again.
pub const JOB_RETRY_PATH: &str = "/api/v1/jobs/{id}/retry";
/// `POST` — discard a queued or dead job.
pub const JOB_DISCARD_PATH: &str = "/api/v1/jobs/{id}/discard";

/// State of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
    Discarded,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// Only jobs in this state (e.g. `dead`). Inline: a query parameter's schema is not
    /// collected into the document's components, so a reference would dangle.
    #[cfg_attr(feature = "openapi", param(inline))]
    pub state: Option<JobState>,
    /// Only jobs of this kind (e.g. `telegram.send`).
    pub kind: Option<String>,
    /// Items per page (1..=500, default 50).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// A job as administrators see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobInfo {
    pub id: Uuid,
    pub kind: String,
    /// `queued`, `running`, `done`, `dead` or `discarded`.
    pub state: String,
    pub attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub payload: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobPage {
    pub items: Vec<JobInfo>,
    pub total: i64,
}
