//! Devices: phones that registered at login, and kiosks created by an administrator.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Platform;

/// `GET` — devices (administrators only); `POST` — a new kiosk.
pub const DEVICES_PATH: &str = "/api/v1/devices";
/// `GET` — reads a device; `PATCH` — renames a device, or moves a kiosk to another site.
pub const DEVICE_PATH: &str = "/api/v1/devices/{id}";
/// `POST` — blocks a device: every request and login from it is refused with
/// `device_blocked`.
pub const DEVICE_BLOCK_PATH: &str = "/api/v1/devices/{id}/block";
/// `POST` — replaces a kiosk's credential; the old one stops working at once.
pub const DEVICE_CREDENTIAL_PATH: &str = "/api/v1/devices/{id}/credential";
/// `POST` — unblocks a device.
pub const DEVICE_UNBLOCK_PATH: &str = "/api/v1/devices/{id}/unblock";
/// `GET` — the calling kiosk (authenticated by its credential).
pub const KIOSK_ME_PATH: &str = "/api/v1/kiosk/me";

/// Prefix of a kiosk credential; the whole credential is sent as `Authorization: Bearer …`.
pub const KIOSK_CREDENTIAL_PREFIX: &str = "fidk_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum DeviceKind {
    /// A personal device that registered itself at an employee's login.
    Personal,
    /// A shared kiosk at an entrance, with its own credential.
    Kiosk,
}

impl crate::wire_text::WireText for DeviceKind {}

/// A device as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: Uuid,
    pub kind: DeviceKind,
    pub name: String,
    pub platform: Platform,
    pub app_version: Option<String>,
    pub blocked: bool,
    /// Kiosks: the site they stand at.
    pub site_id: Option<Uuid>,
    /// Employee of the most recent login from this device.
    pub last_employee_id: Option<Uuid>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Personal devices: the first 8 bytes of the SHA-256 of the public key the device
    /// registered (hex), so an administrator can compare it with the phone's before allowing
    /// it (`docs/device-keys.md`). `null` until the device signs in with a key.
    #[serde(default)]
    pub key_fingerprint: Option<String>,
    #[serde(default)]
    pub key_registered_at: Option<DateTime<Utc>>,
    /// Kiosks: whether the PIN that leaves kiosk mode on the tablet is set
    /// (`PUT /api/v1/devices/{id}/kiosk-pin`); `false` for phones.
    #[serde(default)]
    pub kiosk_pin_set: bool,
}

/// `GET /api/v1/devices`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevicePage {
    pub items: Vec<Device>,
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
}

/// `POST /api/v1/devices`: create a kiosk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateKiosk {
    pub name: String,
    #[serde(default)]
    pub site_id: Option<Uuid>,
}

/// A kiosk and its credential. The credential is shown only in this answer; the server keeps
/// only its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KioskCredential {
    pub device: Device,
    pub credential: String,
}

/// `PATCH /api/v1/devices/{id}`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub site_id: Option<Option<Uuid>>,
}

crate::paged_query! {
    pub struct ListQuery {
        pub kind: Option<DeviceKind>,
        pub blocked: Option<bool>,
        /// Devices this employee has logged in from.
        pub employee_id: Option<Uuid>,
    }
}
