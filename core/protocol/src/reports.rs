//! Timesheet reports as the server sends them and the client reads them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET` — who is in, late, missing and not checked out now (`?department_id=&site_id=&at=`).
pub const TODAY_PATH: &str = "/api/v1/reports/today";

/// An employee named in a report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRef {
    pub employee_id: Uuid,
    pub name: String,
}

/// A late employee and by how many minutes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LateRef {
    pub employee_id: Uuid,
    pub name: String,
    pub minutes: i64,
}

/// An employee on leave and its kind.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaveRef {
    pub employee_id: Uuid,
    pub name: String,
    /// `annual_leave`, `sick_leave`, `business_trip` or `unpaid_leave`.
    pub kind: String,
}

/// Who is in, late, missing or not checked out, for the totals, a department or a site.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TodayGroup {
    /// Department or site id; absent for the totals and for employees without one.
    pub id: Option<Uuid>,
    pub name: Option<String>,
    pub employees: u64,
    pub in_now: Vec<PersonRef>,
    pub late: Vec<LateRef>,
    pub missing: Vec<PersonRef>,
    pub not_checked_out: Vec<PersonRef>,
    pub on_leave: Vec<LeaveRef>,
    pub pending_review: Vec<PersonRef>,
}

/// `GET /api/v1/reports/today`; an employee with several sites is listed under each.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TodayReport {
    pub at: DateTime<Utc>,
    pub totals: TodayGroup,
    pub by_department: Vec<TodayGroup>,
    pub by_site: Vec<TodayGroup>,
}
