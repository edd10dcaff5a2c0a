//! The kiosk at the door: its identification request and answer
//! (`POST /api/v1/kiosk/identify`, multipart like a punch: a JSON part [`EVIDENCE_PART`]
//! holding [`KioskEvidence`], the best frame and the challenge frames), and the PIN that takes a
//! kiosk out of kiosk mode.
//!
//! [`EVIDENCE_PART`]: crate::attendance::EVIDENCE_PART

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::attendance::{CheckInResponse, PunchKind};

/// `POST` — a head-movement challenge for the calling kiosk.
pub const KIOSK_CHALLENGES_PATH: &str = "/api/v1/kiosk/challenges";
/// `POST` (multipart) — identify the person in front of the kiosk and record the punch.
pub const KIOSK_IDENTIFY_PATH: &str = "/api/v1/kiosk/identify";
/// `POST` — an administrator starts kiosk mode on this device.
pub const KIOSK_SESSION_PATH: &str = "/api/v1/kiosk/session";
/// `POST` — leave kiosk mode with the PIN ([`KioskPin`]).
pub const KIOSK_EXIT_PATH: &str = "/api/v1/kiosk/exit";
/// `PUT` — set a kiosk's PIN ([`NewKioskPin`]).
pub const KIOSK_PIN_PATH: &str = "/api/v1/devices/{id}/kiosk-pin";

/// JSON part of a kiosk identification.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KioskEvidence {
    pub idempotency_key: Uuid,
    /// `in` or `out` as chosen on the kiosk; absent: toggled from the employee's last punch.
    #[serde(default)]
    pub kind: Option<PunchKind>,
    /// Nonce of a challenge from `POST /api/v1/kiosk/challenges`, sent with its
    /// `challenge_frame` parts. Missing or failed: the punch is flagged, not rejected.
    #[serde(default)]
    pub challenge_nonce: Option<String>,
    /// Capture time of each challenge frame (server clock, Unix ms), in order.
    #[serde(default)]
    pub challenge_frame_times_ms: Vec<u64>,
}

/// Answer of a kiosk identification.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KioskAnswer {
    /// `match` or `unknown`.
    pub decision: String,
    /// Why unknown: `empty_gallery`, `above_threshold`, `ambiguous`.
    pub reason: Option<String>,
    pub employee_id: Option<Uuid>,
    pub employee_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub event: Option<CheckInResponse>,
}

/// A kiosk's new PIN, set with `PUT /api/v1/devices/{id}/kiosk-pin`.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewKioskPin {
    /// 4 to 12 digits.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{4,12}$"))]
    pub pin: String,
}

/// The PIN answered to `POST /api/v1/kiosk/exit` (anything but the kiosk's PIN is wrong).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KioskPin {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub pin: String,
}
