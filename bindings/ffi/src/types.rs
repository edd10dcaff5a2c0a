//! Records and enums that cross the boundary, and their conversions from the core's types.

use std::time::SystemTime;

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use faceid_client::location::{Decision, DropReason};
use faceid_client::outbox::{DeadLetter, EntryKind};
use faceid_client::sync::{SyncProgress, SyncState};
use faceid_protocol::attendance::{GpsFix, LocationProvider};
use faceid_protocol::auth::{CurrentUser, DeviceInfo, Platform, Role};
use faceid_protocol::consent::ConsentKind;
use faceid_protocol::location::Weekday as Day;
use faceid_protocol::location::{LocationPoint, TrackingPolicy, WorkingHours, WorkingWindow};

use crate::FaceIdError;

pub(crate) fn to_system(t: DateTime<Utc>) -> SystemTime {
    SystemTime::from(t)
}

pub(crate) fn from_system(t: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(t)
}

pub(crate) fn uuid(field: &str, s: &str) -> Result<uuid::Uuid, FaceIdError> {
    uuid::Uuid::parse_str(s).map_err(|e| FaceIdError::InvalidInput {
        reason: format!("{field} is not a UUID: {e}"),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DevicePlatform {
    Android,
    Ios,
}

/// This installation, as the login tells the server. `id` is a UUID chosen once per install.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DeviceDescription {
    pub id: String,
    pub name: String,
    pub platform: DevicePlatform,
    pub app_version: String,
}

impl TryFrom<DeviceDescription> for DeviceInfo {
    type Error = FaceIdError;
    fn try_from(d: DeviceDescription) -> Result<Self, FaceIdError> {
        Ok(DeviceInfo {
            id: uuid("device id", &d.id)?,
            name: d.name,
            platform: match d.platform {
                DevicePlatform::Android => Platform::Android,
                DevicePlatform::Ios => Platform::Ios,
            },
            app_version: d.app_version,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UserRole {
    Admin,
    Operator,
    User,
}

impl From<Role> for UserRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => UserRole::Admin,
            Role::Operator => UserRole::Operator,
            Role::User => UserRole::User,
        }
    }
}

impl From<UserRole> for Role {
    fn from(r: UserRole) -> Self {
        match r {
            UserRole::Admin => Role::Admin,
            UserRole::Operator => Role::Operator,
            UserRole::User => Role::User,
        }
    }
}

/// The logged-in employee.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct User {
    pub id: String,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub role: UserRole,
    pub department_id: Option<String>,
    pub site_ids: Vec<String>,
    /// An administrator chose the password (a new account or a reset): the app shows only the
    /// change-password screen until `change_password` succeeds.
    pub must_change_password: bool,
    /// When the profile photo was last set (`MyData.photo()`); `None`: no photo.
    pub photo_updated_at: Option<SystemTime>,
}

impl From<CurrentUser> for User {
    fn from(u: CurrentUser) -> Self {
        User {
            id: u.id.to_string(),
            login: u.login,
            first_name: u.first_name,
            last_name: u.last_name,
            role: u.role.into(),
            department_id: u.department_id.map(|d| d.to_string()),
            site_ids: u.site_ids.iter().map(ToString::to_string).collect(),
            must_change_password: u.must_change_password,
            photo_updated_at: u.photo_updated_at.map(to_system),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConsentType {
    Biometric,
    Location,
    Telegram,
}

impl From<ConsentKind> for ConsentType {
    fn from(k: ConsentKind) -> Self {
        match k {
            ConsentKind::Biometric => ConsentType::Biometric,
            ConsentKind::Location => ConsentType::Location,
            ConsentKind::Telegram => ConsentType::Telegram,
        }
    }
}

impl From<ConsentType> for ConsentKind {
    fn from(t: ConsentType) -> Self {
        match t {
            ConsentType::Biometric => ConsentKind::Biometric,
            ConsentType::Location => ConsentKind::Location,
            ConsentType::Telegram => ConsentKind::Telegram,
        }
    }
}

/// Where a fix came from, as the platform's location API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FixProvider {
    Gps,
    Network,
    Fused,
    Other,
}

/// One position from the platform (Android `Location`, iOS `CLLocation`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LocationFix {
    pub recorded_at: SystemTime,
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy radius in metres.
    pub accuracy_m: f64,
    pub speed_ms: Option<f64>,
    pub bearing_deg: Option<f64>,
    pub altitude_m: Option<f64>,
    /// `Location.isMock()` / `CLLocationSourceInformation.isSimulatedBySoftware`.
    pub mock: bool,
    pub provider: FixProvider,
    pub battery_percent: Option<u8>,
}

/// Check in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PunchDirection {
    In,
    Out,
}

impl LocationFix {
    /// The fix as a punch carries it.
    pub(crate) fn into_gps_fix(self) -> GpsFix {
        GpsFix {
            lat: self.lat,
            lon: self.lon,
            accuracy_m: self.accuracy_m,
            fix_time: from_system(self.recorded_at),
            mock: self.mock,
            provider: match self.provider {
                FixProvider::Gps => LocationProvider::Gps,
                FixProvider::Network => LocationProvider::Network,
                FixProvider::Fused => LocationProvider::Fused,
                FixProvider::Other => LocationProvider::Other,
            },
        }
    }
}

impl From<LocationFix> for LocationPoint {
    fn from(f: LocationFix) -> Self {
        LocationPoint {
            recorded_at: from_system(f.recorded_at),
            lat: f.lat,
            lon: f.lon,
            accuracy: f.accuracy_m,
            speed: f.speed_ms,
            bearing: f.bearing_deg,
            altitude: f.altitude_m,
            mock: f.mock,
            jump: false,
            battery: f.battery_percent,
        }
    }
}

/// Why a fix was not kept.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FixDropReason {
    TrackingDisabled,
    NoConsent,
    OutsideWorkingHours,
    Invalid { reason: String },
    TooInaccurate { accuracy_m: f64, limit_m: f64 },
    Duplicate,
    OutOfOrder,
    TooSoon,
}

/// What the recorder did with a fix.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FixDecision {
    /// Stored durably in the outbox; `mock`/`jump` are the flags the server will see.
    Recorded {
        mock: bool,
        jump: bool,
    },
    Dropped {
        reason: FixDropReason,
    },
}

impl From<Decision> for FixDecision {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Recorded { mock, jump } => FixDecision::Recorded { mock, jump },
            Decision::Dropped(r) => FixDecision::Dropped {
                reason: match r {
                    DropReason::TrackingDisabled => FixDropReason::TrackingDisabled,
                    DropReason::NoConsent => FixDropReason::NoConsent,
                    DropReason::OutsideWorkingHours => FixDropReason::OutsideWorkingHours,
                    DropReason::Invalid(e) => FixDropReason::Invalid {
                        reason: e.to_string(),
                    },
                    DropReason::TooInaccurate {
                        accuracy_m,
                        limit_m,
                    } => FixDropReason::TooInaccurate {
                        accuracy_m,
                        limit_m,
                    },
                    DropReason::Duplicate => FixDropReason::Duplicate,
                    DropReason::OutOfOrder => FixDropReason::OutOfOrder,
                    DropReason::TooSoon => FixDropReason::TooSoon,
                },
            },
        }
    }
}

/// A tracking window in local time: `weekday` 1 = Monday … 7 = Sunday, minutes since midnight.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TrackingWindow {
    pub weekday: u8,
    pub start_minute: u16,
    pub end_minute: u16,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TrackingPolicyInfo {
    pub enabled: bool,
    pub interval_s: u32,
    pub max_accuracy_m: f64,
    /// IANA zone of the windows; `None` with no windows: any time of day.
    pub time_zone: Option<String>,
    pub windows: Vec<TrackingWindow>,
}

fn day_number(d: Day) -> u8 {
    match d {
        Day::Mon => 1,
        Day::Tue => 2,
        Day::Wed => 3,
        Day::Thu => 4,
        Day::Fri => 5,
        Day::Sat => 6,
        Day::Sun => 7,
    }
}

fn minute(t: NaiveTime) -> u16 {
    use chrono::Timelike;
    (t.hour() * 60 + t.minute()) as u16
}

impl From<&TrackingPolicy> for TrackingPolicyInfo {
    fn from(p: &TrackingPolicy) -> Self {
        TrackingPolicyInfo {
            enabled: p.enabled,
            interval_s: p.interval_s,
            max_accuracy_m: p.max_accuracy_m,
            time_zone: p.working_hours.as_ref().map(|w| w.time_zone.clone()),
            windows: p
                .working_hours
                .iter()
                .flat_map(|w| w.windows.iter())
                .map(|w| TrackingWindow {
                    weekday: day_number(w.weekday),
                    start_minute: minute(w.start),
                    end_minute: minute(w.end),
                })
                .collect(),
        }
    }
}

impl TryFrom<TrackingPolicyInfo> for TrackingPolicy {
    type Error = FaceIdError;
    fn try_from(p: TrackingPolicyInfo) -> Result<Self, FaceIdError> {
        let bad = |reason: String| FaceIdError::InvalidInput { reason };
        let time = |m: u16| {
            NaiveTime::from_hms_opt(u32::from(m / 60), u32::from(m % 60), 0)
                .ok_or_else(|| bad(format!("minute {m} is not a time of day")))
        };
        let working_hours = match p.time_zone {
            None if p.windows.is_empty() => None,
            None => return Err(bad("tracking windows need a time zone".to_owned())),
            Some(time_zone) => Some(WorkingHours {
                time_zone,
                windows: p
                    .windows
                    .iter()
                    .map(|w| {
                        let weekday = match w.weekday {
                            1..=7 => Weekday::try_from(w.weekday - 1)
                                .map_err(|_| bad(format!("weekday {}", w.weekday)))?,
                            d => return Err(bad(format!("weekday {d} is not 1..=7"))),
                        };
                        Ok(WorkingWindow {
                            weekday: weekday.into(),
                            start: time(w.start_minute)?,
                            end: time(w.end_minute)?,
                        })
                    })
                    .collect::<Result<_, FaceIdError>>()?,
            }),
        };
        Ok(TrackingPolicy {
            enabled: p.enabled,
            interval_s: p.interval_s,
            working_hours,
            max_accuracy_m: p.max_accuracy_m,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OutboxKind {
    Consent,
    Enrolment,
    Punch,
    LocationBatch,
}

impl From<EntryKind> for OutboxKind {
    fn from(k: EntryKind) -> Self {
        match k {
            EntryKind::Consent => OutboxKind::Consent,
            EntryKind::Enrolment => OutboxKind::Enrolment,
            EntryKind::Punch => OutboxKind::Punch,
            EntryKind::LocationBatch => OutboxKind::LocationBatch,
        }
    }
}

/// An entry the server refused for good, with its reason (shown on the status screen).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DeadLetterInfo {
    pub idempotency_key: String,
    pub kind: OutboxKind,
    pub created_at: SystemTime,
    pub failed_at: SystemTime,
    pub attempts: u32,
    pub status: u16,
    pub code: Option<String>,
    pub reason: String,
}

impl From<DeadLetter> for DeadLetterInfo {
    fn from(d: DeadLetter) -> Self {
        DeadLetterInfo {
            idempotency_key: d.idempotency_key.to_string(),
            kind: d.kind.into(),
            created_at: to_system(d.created_at),
            failed_at: to_system(d.failed_at),
            attempts: d.attempts,
            status: d.status,
            code: d.code,
            reason: d.reason,
        }
    }
}

/// What waits in the outbox of the logged-in employee.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OutboxStatus {
    pub consent: u64,
    pub enrolment: u64,
    pub punch: u64,
    pub location_batch: u64,
    /// Fixes recorded but not yet sealed into a batch (sealed before each sync).
    pub staged_points: u64,
    pub dead_letters: Vec<DeadLetterInfo>,
}

/// What the sync task is doing.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum SyncStatus {
    Idle,
    Syncing,
    Offline {
        reason: String,
    },
    WaitingUntil {
        at: SystemTime,
    },
    /// The session ended: entries wait for the next login.
    AuthRequired,
    Stopped,
}

impl From<&SyncState> for SyncStatus {
    fn from(s: &SyncState) -> Self {
        match s {
            SyncState::Idle => SyncStatus::Idle,
            SyncState::Syncing => SyncStatus::Syncing,
            SyncState::Offline { reason } => SyncStatus::Offline {
                reason: reason.clone(),
            },
            SyncState::WaitingUntil(t) => SyncStatus::WaitingUntil { at: to_system(*t) },
            SyncState::AuthRequired => SyncStatus::AuthRequired,
            SyncState::Stopped => SyncStatus::Stopped,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgressInfo {
    pub sent: u64,
    pub points_accepted: u64,
    pub points_duplicate: u64,
    pub points_rejected: u64,
    pub dead_lettered: u64,
    pub remaining: u64,
}

impl From<&SyncProgress> for SyncProgressInfo {
    fn from(p: &SyncProgress) -> Self {
        SyncProgressInfo {
            sent: p.sent,
            points_accepted: p.points_accepted,
            points_duplicate: p.points_duplicate,
            points_rejected: p.points_rejected,
            dead_lettered: p.dead_lettered,
            remaining: p.remaining,
        }
    }
}

/// Result of one sync pass.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncReport {
    pub progress: SyncProgressInfo,
    /// How the pass ended (`Idle`: outbox empty).
    pub outcome: SyncStatus,
}
