//! Login, token refresh and the current user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest accepted login, in characters.
pub const MAX_LOGIN_LEN: usize = 64;
/// Longest accepted password, in bytes (argon2 input is bounded to keep hashing cheap).
pub const MAX_PASSWORD_LEN: usize = 256;

/// Role of an account. `user` sees only their own data; `operator` acts within assigned
/// departments and sites; `admin` everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Operator,
    User,
}

/// Platform a device runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Android,
    Ios,
    Web,
    Kiosk,
    Desktop,
}

/// The device a login comes from. The `id` is chosen by the app once per installation (UUID)
/// and stays stable; refresh tokens are bound to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceInfo {
    pub id: Uuid,
    pub name: String,
    pub platform: Platform,
    pub app_version: String,
}

/// `POST /api/v1/auth/login`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
    pub device: DeviceInfo,
}

/// `POST /api/v1/auth/refresh` and `POST /api/v1/auth/logout`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Answer to a successful login or refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPair {
    /// JWT, sent as `Authorization: Bearer …`.
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    /// Opaque; single use: every refresh returns a new one and retires the old one.
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub user: CurrentUser,
    /// Server clock when the answer was made, so a device can learn its clock offset.
    pub server_time: DateTime<Utc>,
}

/// `GET /api/v1/me`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurrentUser {
    pub id: Uuid,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub department_id: Option<Uuid>,
    pub position_id: Option<Uuid>,
    pub site_ids: Vec<Uuid>,
    pub device_id: Option<Uuid>,
    /// An administrator or operator chose this password (a new account or a reset): the
    /// holder changes it (`POST /api/v1/me/password`) before anything else; the web panel
    /// shows only that screen until then.
    #[serde(default)]
    pub must_change_password: bool,
    /// When the holder's profile photo was last set (`GET /api/v1/me/photo`); `None` when
    /// there is none.
    #[serde(default)]
    pub photo_updated_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/me/password`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}
