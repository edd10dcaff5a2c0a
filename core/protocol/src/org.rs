//! Employees, departments and positions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Role;
use crate::double_option;

/// `GET` — lists departments; `POST` — creates a department.
pub const DEPARTMENTS_PATH: &str = "/api/v1/departments";
/// `GET` — reads a department; `PATCH` — renames a department; `DELETE` — deletes a
/// department that no employee belongs to.
pub const DEPARTMENT_PATH: &str = "/api/v1/departments/{id}";
/// `GET` — employees of the caller's scope, filtered and paged; `POST` — a new employee.
pub const EMPLOYEES_PATH: &str = "/api/v1/employees";
/// `GET` — reads an employee; `PATCH` — updates an employee.
pub const EMPLOYEE_PATH: &str = "/api/v1/employees/{id}";
/// `POST` — dismisses an employee: they can no longer log in and every session ends; their
/// data stays.
pub const EMPLOYEE_DISMISS_PATH: &str = "/api/v1/employees/{id}/dismiss";
/// `POST` — sets a new password for an employee; every session of theirs ends.
pub const EMPLOYEE_PASSWORD_PATH: &str = "/api/v1/employees/{id}/password";
/// `POST` — re-hires a dismissed employee; they can log in again with their password.
pub const EMPLOYEE_REHIRE_PATH: &str = "/api/v1/employees/{id}/rehire";
/// `GET` — lists positions; `POST` — creates a position.
pub const POSITIONS_PATH: &str = "/api/v1/positions";
/// `GET` — reads a position; `PATCH` — renames a position; `DELETE` — deletes a position
/// that no employee holds.
pub const POSITION_PATH: &str = "/api/v1/positions/{id}";

/// Longest accepted name (first, last, department, position, site, device), in characters.
pub const MAX_NAME_LEN: usize = 200;
/// Shortest password accepted when one is set.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Whether an employee works here now. A dismissed employee cannot log in; their data stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum EmployeeStatus {
    Active,
    Dismissed,
}

impl crate::wire_text::WireText for EmployeeStatus {}

/// What an operator may see and manage: employees of these departments, or assigned to
/// these sites.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OperatorScope {
    #[serde(default)]
    pub department_ids: Vec<Uuid>,
    #[serde(default)]
    pub site_ids: Vec<Uuid>,
}

/// Identifiers of the employee in external systems, for the integrations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExternalIds {
    #[serde(default)]
    pub iiko_id: Option<String>,
    #[serde(default)]
    pub hikvision_employee_no: Option<String>,
}

/// An employee as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Employee {
    pub id: Uuid,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub card_number: Option<String>,
    pub role: Role,
    pub department_id: Option<Uuid>,
    pub position_id: Option<Uuid>,
    pub site_ids: Vec<Uuid>,
    /// When the profile photo was last set (`GET /api/v1/employees/{id}/photo`); `None` when
    /// there is none.
    pub photo_updated_at: Option<DateTime<Utc>>,
    pub status: EmployeeStatus,
    pub external_ids: ExternalIds,
    /// Operators only: what they may manage.
    pub scope: Option<OperatorScope>,
    /// Devices this employee may log in from; empty means any device.
    pub allowed_device_ids: Vec<Uuid>,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/employees`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateEmployee {
    pub login: String,
    /// Initial password; the employee changes it through `POST /api/v1/me/password`.
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub card_number: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub department_id: Option<Uuid>,
    #[serde(default)]
    pub position_id: Option<Uuid>,
    #[serde(default)]
    pub site_ids: Vec<Uuid>,
    #[serde(default)]
    pub external_ids: ExternalIds,
    /// Required for operators, refused for other roles.
    #[serde(default)]
    pub scope: Option<OperatorScope>,
    #[serde(default)]
    pub allowed_device_ids: Vec<Uuid>,
    /// Whether the holder must choose their own password before using anything else (the
    /// server answers 403 `password_change_required` until then). Absent: `true`, the password
    /// was chosen by whoever creates the account; `false` when the holder chose it themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub must_change_password: Option<bool>,
}

/// `PATCH /api/v1/employees/{id}`: absent fields stay as they are; `null` clears a nullable
/// field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateEmployee {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub card_number: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub department_id: Option<Option<Uuid>>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub position_id: Option<Option<Uuid>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_ids: Option<Vec<Uuid>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ids: Option<ExternalIds>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<OperatorScope>))]
    pub scope: Option<Option<OperatorScope>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_device_ids: Option<Vec<Uuid>>,
}

/// `GET /api/v1/employees`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmployeePage {
    pub items: Vec<Employee>,
    /// Number of employees matching the filters, over all pages.
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
}

/// `POST /api/v1/employees/{id}/password`: an administrator sets a new password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    pub new_password: String,
}

/// A department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Department {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A position (job title).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Create or rename a department or a position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NamedInput {
    pub name: String,
}

crate::paged_query! {
    pub struct EmployeeQuery {
        /// Text searched in first name, last name, login and card number.
        pub q: Option<String>,
        pub department_id: Option<Uuid>,
        pub position_id: Option<Uuid>,
        pub site_id: Option<Uuid>,
        pub status: Option<EmployeeStatus>,
        pub role: Option<Role>,
    }
}
