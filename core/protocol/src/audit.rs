//! The audit log of administrative writes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET` — the audit log of administrative writes, newest first.
pub const AUDIT_PATH: &str = "/api/v1/audit";

/// One write by an administrator or operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_login: Option<String>,
    /// e.g. `employee.create`, `site.update`, `device.block`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

/// `GET /api/v1/audit`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
}

crate::paged_query! {
    pub struct AuditQuery {
        /// e.g. `employee`, `site`, `device`.
        pub entity_type: Option<String>,
        pub entity_id: Option<Uuid>,
        pub actor_id: Option<Uuid>,
    }
}
