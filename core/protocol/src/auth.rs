//! Login, token refresh and the current user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST` — logs in with a login and password from a device.
pub const LOGIN_PATH: &str = "/api/v1/auth/login";
/// `POST` — ends the session the refresh token belongs to.
pub const LOGOUT_PATH: &str = "/api/v1/auth/logout";
/// `POST` — a single-use nonce for a device proof (`docs/device-keys.md`), valid for two
/// minutes.
pub const NONCE_PATH: &str = "/api/v1/auth/nonce";
/// `POST` — exchanges a refresh token for a new pair.
pub const REFRESH_PATH: &str = "/api/v1/auth/refresh";
/// `POST` — logs in from the web panel: like `/api/v1/auth/login`, with the refresh token
/// set as a cookie.
pub const WEB_LOGIN_PATH: &str = "/api/v1/auth/web/login";
/// `POST` — ends the browser session and clears the cookie.
pub const WEB_LOGOUT_PATH: &str = "/api/v1/auth/web/logout";
/// `POST` — exchanges the refresh cookie for a new access token (and a new cookie).
pub const WEB_REFRESH_PATH: &str = "/api/v1/auth/web/refresh";
/// `GET` — the caller's own account.
pub const ME_PATH: &str = "/api/v1/me";
/// `POST` — changes the caller's password.
pub const PASSWORD_PATH: &str = "/api/v1/me/password";
/// `GET` — the sites the caller is assigned to, with their geofences.
pub const MY_SITES_PATH: &str = "/api/v1/me/sites";

/// Longest accepted login, in characters.
pub const MAX_LOGIN_LEN: usize = 64;
/// Longest accepted password, in bytes (argon2 input is bounded to keep hashing cheap).
pub const MAX_PASSWORD_LEN: usize = 256;

/// Role of an account. `user` sees only their own data; `operator` acts within assigned
/// departments and sites; `admin` everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum Role {
    Admin,
    Operator,
    User,
}

impl crate::wire_text::WireText for Role {}

/// Platform a device runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum Platform {
    Android,
    Ios,
    Web,
    Kiosk,
    Desktop,
}

impl crate::wire_text::WireText for Platform {}

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
    /// Proof that the device holds its key (`docs/device-keys.md`). Optional for old clients:
    /// a login without it is refused where the employee has an allow-list or where the device
    /// id already has a registered key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_proof: Option<DeviceProof>,
}

/// Longest accepted `DeviceProof.public_key`, base64 characters (a P-256 SubjectPublicKeyInfo
/// is 91 bytes, 124 in base64).
pub const MAX_DEVICE_PUBLIC_KEY_LEN: usize = 256;
/// Longest accepted `DeviceProof.signature`, base64 characters (a DER P-256 signature is at most
/// 72 bytes, 96 in base64).
pub const MAX_DEVICE_SIGNATURE_LEN: usize = 256;
/// Length of a nonce from `POST /api/v1/auth/nonce`, characters (32 random bytes, hex).
pub const DEVICE_NONCE_LEN: usize = 64;

/// A device's proof that it holds the private key of its registered public key: an ECDSA
/// P-256 / SHA-256 signature over [`device_proof_message`] of a fresh server nonce
/// (`POST /api/v1/auth/nonce`). The private key stays in the platform's key store (Android
/// Keystore, iOS Secure Enclave, a 0600 file in the simulator). Any field that is not what it
/// should be (too long, not base64, not a key, a used nonce) is the one answer 403
/// `device_proof_invalid`, given after the credentials were checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceProof {
    /// The device's P-256 public key, standard base64 (with padding) of either its X.509
    /// SubjectPublicKeyInfo DER (Android's `PublicKey.getEncoded()`) or its SEC1 point (65 bytes
    /// uncompressed, iOS's `SecKeyCopyExternalRepresentation`).
    pub public_key: String,
    /// A nonce from `POST /api/v1/auth/nonce`; each works once, for a short time.
    pub nonce: String,
    /// Standard base64 of the ASN.1 DER ECDSA signature (`SHA256withECDSA`) over
    /// [`device_proof_message`].
    pub signature: String,
}

/// The bytes a device signs: the nonce bound to its device id, so a proof made for one device
/// cannot be presented for another.
pub fn device_proof_message(nonce: &str, device_id: Uuid) -> Vec<u8> {
    format!("faceid-device-proof/v1\n{device_id}\n{nonce}").into_bytes()
}

/// `POST /api/v1/auth/nonce`: a single-use nonce for a [`DeviceProof`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceNonce {
    pub nonce: String,
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/v1/auth/refresh` and `POST /api/v1/auth/logout`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
    /// Refresh: required when the session's device has a registered key (a refresh token
    /// copied off the device is useless without it). Ignored by logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_proof: Option<DeviceProof>,
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

/// A browser session: the pair without its refresh token (that one is in the cookie).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebSession {
    /// JWT, sent as `Authorization: Bearer …`; keep it in memory only.
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub user: CurrentUser,
    pub server_time: DateTime<Utc>,
}
