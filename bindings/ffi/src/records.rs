//! What the server holds, as the app shows it: attendance events (the employee's own history
//! and the admin lists), recorded locations, and the conversions from the core's types.

use std::time::SystemTime;

use faceid_client::admin::AdminError;
use faceid_client::consent::ConsentText;
use faceid_client::enrolment::EnrolmentError;
use faceid_client::records::{self, RecordsError};
use faceid_protocol::attendance::{
    AttendanceRecord, EventKind, PunchKind, PunchStatus, ReviewDecision, Verdict,
};
use faceid_protocol::location::TrackPoint;

use crate::FaceIdError;
use crate::types::{ConsentType, PunchDirection, from_system, to_system, uuid};

impl From<RecordsError> for FaceIdError {
    fn from(e: RecordsError) -> Self {
        match e {
            RecordsError::Session(e) => e.into(),
            RecordsError::Store(e) => e.into(),
            e @ RecordsError::InvalidRange(_) => FaceIdError::InvalidInput {
                reason: e.to_string(),
            },
            e @ RecordsError::CorruptCache(_) => FaceIdError::Storage {
                reason: e.to_string(),
            },
            e @ (RecordsError::BadDescriptor(_) | RecordsError::TooManyPages { .. }) => {
                FaceIdError::Internal {
                    reason: e.to_string(),
                }
            }
        }
    }
}

impl From<AdminError> for FaceIdError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Session(e) => e.into(),
            AdminError::Invalid(reason) => FaceIdError::InvalidInput { reason },
        }
    }
}

impl From<EnrolmentError> for FaceIdError {
    fn from(e: EnrolmentError) -> Self {
        match e {
            EnrolmentError::Outbox(e) => e.into(),
            e => FaceIdError::InvalidInput {
                reason: e.to_string(),
            },
        }
    }
}

pub(crate) fn opt_uuid(field: &str, s: Option<String>) -> Result<Option<uuid::Uuid>, FaceIdError> {
    s.map(|s| uuid(field, &s)).transpose()
}

/// A `[from, to)` window; either end may be left open (the server's default).
pub(crate) fn period(
    from: Option<SystemTime>,
    to: Option<SystemTime>,
) -> faceid_client::records::Period {
    faceid_client::records::Period::new(from.map(from_system), to.map(from_system))
}

fn direction(k: PunchKind) -> PunchDirection {
    match k {
        PunchKind::In => PunchDirection::In,
        PunchKind::Out => PunchDirection::Out,
    }
}

/// What an event of the attendance log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum EventType {
    In,
    Out,
    /// An administrator's decision on a flagged punch (`refers_to`).
    Review,
    /// A punch entered by an administrator.
    Correction,
}

/// The server's verdict on a punch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PunchVerdict {
    Verified,
    Flagged,
    Rejected,
}

/// A punch's standing after reviews and corrections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PunchState {
    Verified,
    /// Flagged and waiting for an administrator or operator.
    FlaggedPending,
    FlaggedAccepted,
    FlaggedRejected,
    Rejected,
    /// A correction replaced it.
    Superseded,
}

/// Accept or reject a flagged punch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReviewChoice {
    Accept,
    Reject,
}

impl From<ReviewChoice> for ReviewDecision {
    fn from(c: ReviewChoice) -> Self {
        match c {
            ReviewChoice::Accept => ReviewDecision::Accept,
            ReviewChoice::Reject => ReviewDecision::Reject,
        }
    }
}

/// One event of the attendance log.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttendanceEvent {
    pub id: String,
    pub employee_id: String,
    pub device_id: Option<String>,
    pub site_id: Option<String>,
    pub kind: EventType,
    /// In or out: the punch's own, or the one a correction entered; `None` for reviews.
    pub direction: Option<PunchDirection>,
    pub occurred_at: SystemTime,
    pub received_at: SystemTime,
    pub verdict: PunchVerdict,
    /// Stable codes (`outside_geofence`, `mock_location`, `accuracy_too_low`, ...).
    pub reasons: Vec<String>,
    pub decision: Option<ReviewChoice>,
    pub comment: Option<String>,
    /// The event this one reviews or corrects.
    pub refers_to: Option<String>,
    pub actor_id: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub distance_m: Option<f64>,
    pub face_distance: Option<f32>,
    pub liveness_score: Option<f32>,
    pub has_photo: bool,
    pub status: Option<PunchState>,
}

impl From<AttendanceRecord> for AttendanceEvent {
    fn from(r: AttendanceRecord) -> Self {
        AttendanceEvent {
            id: r.id.to_string(),
            employee_id: r.employee_id.to_string(),
            device_id: r.device_id.map(|d| d.to_string()),
            site_id: r.site_id.map(|d| d.to_string()),
            direction: r.direction().map(direction),
            kind: match r.kind {
                EventKind::In => EventType::In,
                EventKind::Out => EventType::Out,
                EventKind::Review => EventType::Review,
                EventKind::Correction => EventType::Correction,
            },
            occurred_at: to_system(r.occurred_at),
            received_at: to_system(r.received_at),
            verdict: match r.verdict {
                Verdict::Verified => PunchVerdict::Verified,
                Verdict::Flagged => PunchVerdict::Flagged,
                Verdict::Rejected => PunchVerdict::Rejected,
            },
            reasons: r.reasons,
            decision: r.decision.map(|d| match d {
                ReviewDecision::Accept => ReviewChoice::Accept,
                ReviewDecision::Reject => ReviewChoice::Reject,
            }),
            comment: r.comment,
            refers_to: r.refers_to.map(|d| d.to_string()),
            actor_id: r.actor_id.map(|d| d.to_string()),
            lat: r.lat,
            lon: r.lon,
            accuracy_m: r.accuracy_m,
            distance_m: r.distance_m,
            face_distance: r.face_distance,
            liveness_score: r.liveness_score,
            has_photo: r.has_photo,
            status: r.status.map(|s| match s {
                PunchStatus::Verified => PunchState::Verified,
                PunchStatus::FlaggedPending => PunchState::FlaggedPending,
                PunchStatus::FlaggedAccepted => PunchState::FlaggedAccepted,
                PunchStatus::FlaggedRejected => PunchState::FlaggedRejected,
                PunchStatus::Rejected => PunchState::Rejected,
                PunchStatus::Superseded => PunchState::Superseded,
            }),
        }
    }
}

/// A location the server stored for the employee.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RecordedLocation {
    /// The device that recorded it.
    pub device_id: String,
    pub recorded_at: SystemTime,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub speed_ms: Option<f64>,
    pub bearing_deg: Option<f64>,
    pub altitude_m: Option<f64>,
    pub mock: bool,
    /// The recorder judged it an implausible jump.
    pub jump: bool,
    pub battery_percent: Option<u8>,
}

impl From<TrackPoint> for RecordedLocation {
    fn from(t: TrackPoint) -> Self {
        let p = t.point;
        RecordedLocation {
            device_id: t.device_id.to_string(),
            recorded_at: to_system(p.recorded_at),
            lat: p.lat,
            lon: p.lon,
            accuracy_m: p.accuracy,
            speed_ms: p.speed,
            bearing_deg: p.bearing,
            altitude_m: p.altitude,
            mock: p.mock,
            jump: p.jump,
            battery_percent: p.battery,
        }
    }
}

/// One current consent text of the server: what the consent screen shows.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConsentTextInfo {
    pub kind: ConsentType,
    /// Pass it to `grantConsentVersion` so the grant refers to the text shown.
    pub version: u32,
    pub body: String,
    pub published_at: SystemTime,
}

impl From<ConsentText> for ConsentTextInfo {
    fn from(t: ConsentText) -> Self {
        ConsentTextInfo {
            kind: t.kind.into(),
            version: t.version,
            body: t.body,
            published_at: to_system(t.created_at),
        }
    }
}

/// The server's ledger for one kind: the latest grant or withdrawal.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConsentStatus {
    pub kind: ConsentType,
    pub granted: bool,
    /// The text version the latest record refers to.
    pub text_version: u32,
    pub at: SystemTime,
}

/// One day of the employee's timesheet.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimesheetDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `present`, `late`, `left_early`, `absent`, `day_off`, `holiday`, `on_leave`,
    /// `missing_check_out`, `in_progress`, `upcoming` (translate the code).
    pub status: String,
    /// The T-13 letter code(s), e.g. `Я`.
    pub t13_code: String,
    pub first_in: Option<SystemTime>,
    pub last_out: Option<SystemTime>,
    pub worked_minutes: i64,
    pub late_minutes: i64,
    pub early_leave_minutes: i64,
    pub overtime_minutes: i64,
    pub absence: Option<String>,
}

/// The employee's month: days and totals.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Timesheet {
    /// `YYYY-MM`.
    pub month: String,
    pub days: Vec<TimesheetDay>,
    pub days_worked: u32,
    pub worked_minutes: i64,
    pub late_count: u32,
    pub late_minutes: i64,
    pub early_leave_count: u32,
    pub absences: u32,
    pub overtime_minutes: i64,
}

impl From<records::Timesheet> for Timesheet {
    fn from(t: records::Timesheet) -> Self {
        let s = t.summary;
        Timesheet {
            month: t.month,
            days: t
                .days
                .into_iter()
                .map(|d| TimesheetDay {
                    date: d.date.to_string(),
                    status: d.status,
                    t13_code: d.t13_code,
                    first_in: d.first_in.map(to_system),
                    last_out: d.last_out.map(to_system),
                    worked_minutes: d.worked_minutes,
                    late_minutes: d.late_minutes,
                    early_leave_minutes: d.early_leave_minutes,
                    overtime_minutes: d.overtime_minutes,
                    absence: d.absence,
                })
                .collect(),
            days_worked: s.days_worked,
            worked_minutes: s.worked_minutes,
            late_count: s.late_count,
            late_minutes: s.late_minutes,
            early_leave_count: s.early_leave_count,
            absences: s.absences,
            overtime_minutes: s.overtime_minutes,
        }
    }
}
