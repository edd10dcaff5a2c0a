//! Check-in / check-out evidence and the server's verdict.
//!
//! `POST /api/v1/attendance/events` is multipart: a JSON part named [`EVIDENCE_PART`] holding
//! [`CheckInEvidence`], one JPEG part named [`BEST_FRAME_PART`] and up to
//! [`MAX_CHALLENGE_FRAMES`] JPEG parts named [`CHALLENGE_FRAME_PART`], in capture order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::liveness::MAX_NONCE_LEN;
use crate::location::{check_accuracy, check_lat, check_lon};
#[cfg(feature = "openapi")]
use crate::reason_code::ReasonCode;
use crate::sync::{
    ValidationError, check_count, check_descriptor_len, check_range, check_string, check_time,
    check_uuid_v7,
};

/// `GET` — attendance events of the caller's scope, filtered and paged.
pub const ATTENDANCE_PATH: &str = "/api/v1/attendance";
/// `GET` — verifies the whole attendance chain.
pub const CHAIN_VERIFY_PATH: &str = "/api/v1/attendance/chain/verify";
/// `POST` — enters a punch by hand (replacing one, or adding a missing one).
pub const CORRECTIONS_PATH: &str = "/api/v1/attendance/corrections";
/// `GET` — the evidence photo of a punch: to the employee themself, and to administrators
/// and operators within their scope.
pub const EVENT_PHOTO_PATH: &str = "/api/v1/attendance/events/{id}/photo";
/// `POST` — accepts or rejects a flagged punch; the review is a new event referring to it.
pub const EVENT_REVIEW_PATH: &str = "/api/v1/attendance/events/{id}/review";
/// `GET` — the global attendance policy; `PUT` — replaces the global attendance policy.
pub const ATTENDANCE_POLICY_PATH: &str = "/api/v1/settings/attendance-policy";
/// `GET` — the policy in force at a site (its override, else the global policy); `PUT` —
/// sets a site's override of the attendance policy.
pub const SITE_ATTENDANCE_POLICY_PATH: &str = "/api/v1/sites/{id}/attendance-policy";

pub const ATTENDANCE_EVENTS_PATH: &str = "/api/v1/attendance/events";
pub const EVIDENCE_PART: &str = "evidence";
pub const BEST_FRAME_PART: &str = "best_frame";
pub const CHALLENGE_FRAME_PART: &str = "challenge_frame";
/// Most challenge frames in one punch.
pub const MAX_CHALLENGE_FRAMES: usize = 12;
/// Largest accepted JPEG part, bytes.
pub const MAX_FRAME_BYTES: usize = 2 * 1024 * 1024;
/// Length of one embedder's face descriptor.
pub const DESCRIPTOR_LEN: usize = 128;
/// Length of a fusion's descriptor: its two embedders' descriptors concatenated.
pub const FUSED_DESCRIPTOR_LEN: usize = 2 * DESCRIPTOR_LEN;
/// Every accepted descriptor length.
pub const DESCRIPTOR_LENS: [usize; 2] = [DESCRIPTOR_LEN, FUSED_DESCRIPTOR_LEN];
/// Longest model id.
pub const MAX_MODEL_ID_LEN: usize = 128;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum PunchKind {
    In,
    Out,
}

impl crate::wire_text::WireText for PunchKind {}

/// Where a GPS fix came from, as the platform reports it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum LocationProvider {
    Gps,
    Network,
    Fused,
    Other,
}

impl crate::wire_text::WireText for LocationProvider {}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpsFix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub fix_time: DateTime<Utc>,
    /// The platform's mock-location flag.
    pub mock: bool,
    pub provider: LocationProvider,
}

impl GpsFix {
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ValidationError> {
        check_lat("gps.lat", self.lat)?;
        check_lon("gps.lon", self.lon)?;
        check_accuracy("gps.accuracy_m", self.accuracy_m)?;
        check_time("gps.fix_time", self.fix_time, now)
    }
}

/// The descriptor the device computed, with the id of the model that made it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceDescriptor {
    pub model: String,
    pub values: Vec<f32>,
}

/// Liveness scores in [0, 1] (1 = live).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LivenessScores {
    /// Passive anti-spoofing ensemble score of the best frame.
    pub passive: f32,
    /// The device's own judgement of the challenge, when one was run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<f32>,
}

/// The device clock at the punch, and what it knew about server time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceClock {
    /// Wall clock of the device at the punch (uncorrected).
    pub device_time: DateTime<Utc>,
    /// Server time learned at the last sync, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_server_time: Option<DateTime<Utc>>,
    /// Milliseconds of monotonic (boot) clock elapsed between that sync and the punch. With
    /// `synced_server_time`, it gives the punch time on the server's clock even when the wall
    /// clock was changed by the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monotonic_since_sync_ms: Option<u64>,
}

impl DeviceClock {
    /// The punch time on the server's clock, when the device had synced.
    pub fn estimated_server_time(&self) -> Option<DateTime<Utc>> {
        let base = self.synced_server_time?;
        let ms = i64::try_from(self.monotonic_since_sync_ms?).ok()?;
        base.checked_add_signed(chrono::Duration::try_milliseconds(ms)?)
    }
}

/// JSON part of a punch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInEvidence {
    /// UUIDv7 chosen by the device; also sent as the `Idempotency-Key` header.
    pub idempotency_key: Uuid,
    pub kind: PunchKind,
    pub clock: DeviceClock,
    /// `None` when the device had no fix at all (the server flags or rejects per policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<GpsFix>,
    /// `None` when the device could not compute one (the server computes its own anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<DeviceDescriptor>,
    pub liveness: LivenessScores,
    /// Nonce of the challenge that was run; `None` offline (passive liveness only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_nonce: Option<String>,
    /// Capture time of each challenge frame (Unix epoch ms, device clock), in the order of the
    /// `challenge_frame` parts. Empty: the server spaces the frames 1 ms apart from the issue
    /// time (the order still counts; the server checks the receipt time itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub challenge_frame_times_ms: Vec<u64>,
}

impl CheckInEvidence {
    /// The shared rules; `now` is the receiver's clock.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ValidationError> {
        check_uuid_v7("idempotency_key", &self.idempotency_key)?;
        check_time("clock.device_time", self.clock.device_time, now)?;
        if let Some(t) = self.clock.synced_server_time {
            check_time("clock.synced_server_time", t, now)?;
        }
        if let Some(gps) = &self.gps {
            gps.validate(now)?;
        }
        if let Some(d) = &self.descriptor {
            check_string("descriptor.model", &d.model, MAX_MODEL_ID_LEN)?;
            check_descriptor_len("descriptor.values", d.values.len())?;
            for v in &d.values {
                check_range("descriptor.values", f64::from(*v), -1.0, 1.0)?;
            }
        }
        check_range(
            "liveness.passive",
            f64::from(self.liveness.passive),
            0.0,
            1.0,
        )?;
        if let Some(c) = self.liveness.challenge {
            check_range("liveness.challenge", f64::from(c), 0.0, 1.0)?;
        }
        if let Some(n) = &self.challenge_nonce {
            check_string("challenge_nonce", n, MAX_NONCE_LEN)?;
        }
        check_count(
            "challenge_frame_times_ms",
            self.challenge_frame_times_ms.len(),
            0,
            MAX_CHALLENGE_FRAMES,
        )?;
        if self
            .challenge_frame_times_ms
            .windows(2)
            .any(|w| w[0] >= w[1])
        {
            return Err(ValidationError::BadString {
                field: "challenge_frame_times_ms",
                reason: "capture times must strictly increase",
            });
        }
        Ok(())
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum Verdict {
    Verified,
    Flagged,
    Rejected,
}

impl crate::wire_text::WireText for Verdict {}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteRef {
    pub id: Uuid,
    pub name: String,
}

/// Answer to a punch. The same idempotency key again returns the same answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInResponse {
    pub event_id: Uuid,
    pub verdict: Verdict,
    /// Why the punch was flagged or rejected (`ReasonCode`), rejecting ones first. Text on the
    /// wire type, so a client reads codes a newer server added; compare through
    /// `ReasonCode::parse`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<ReasonCode>))]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub site: Option<SiteRef>,
    #[serde(default)]
    pub distance_m: Option<f64>,
    #[serde(default)]
    pub face_distance: Option<f32>,
    #[serde(default)]
    pub liveness_score: Option<f32>,
    pub server_time: DateTime<Utc>,
}

/// `GET` — the caller's own attendance events, `?from=&to=` (RFC 3339, `[from, to)`).
pub const MY_ATTENDANCE_PATH: &str = "/api/v1/me/attendance";
/// Most events one answer of [`MY_ATTENDANCE_PATH`] holds.
pub const MAX_MY_EVENTS: usize = 5_000;

/// What an event of the attendance log is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum EventKind {
    In,
    Out,
    /// An administrator's decision on a flagged punch (`refers_to`).
    Review,
    /// A punch entered by an administrator (replacing `refers_to`, or a missing one).
    Correction,
}

impl crate::wire_text::WireText for EventKind {}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum ReviewDecision {
    Accept,
    Reject,
}

impl crate::wire_text::WireText for ReviewDecision {}

/// A punch's standing after reviews and corrections.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum PunchStatus {
    Verified,
    FlaggedPending,
    FlaggedAccepted,
    FlaggedRejected,
    Rejected,
    /// A correction replaced it.
    Superseded,
}

impl crate::wire_text::WireText for PunchStatus {}

/// One event of the attendance log as the server holds it (`GET /api/v1/me/attendance`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttendanceRecord {
    pub id: Uuid,
    pub employee_id: Uuid,
    pub device_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    pub kind: EventKind,
    /// For corrections: the punch direction.
    pub punch_kind: Option<PunchKind>,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub verdict: Verdict,
    /// Why the punch was flagged or rejected (`ReasonCode`), as stored.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<ReasonCode>))]
    pub reasons: Vec<String>,
    pub decision: Option<ReviewDecision>,
    pub comment: Option<String>,
    /// The event this one reviews or corrects.
    pub refers_to: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub distance_m: Option<f64>,
    pub face_distance: Option<f32>,
    pub liveness_score: Option<f32>,
    pub has_photo: bool,
    /// For punches and corrections: the standing after reviews and corrections.
    pub status: Option<PunchStatus>,
}

impl AttendanceRecord {
    /// The punch direction: the event's own for `in` / `out`, the entered one for corrections.
    pub fn direction(&self) -> Option<PunchKind> {
        match self.kind {
            EventKind::In => Some(PunchKind::In),
            EventKind::Out => Some(PunchKind::Out),
            EventKind::Correction => self.punch_kind,
            EventKind::Review => None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `accept` or `reject` of a flagged punch.
    pub decision: ReviewDecision,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A punch entered by an administrator or operator: replaces `replaces` when given, or adds a
/// missing punch.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    pub employee_id: Uuid,
    pub kind: PunchKind,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub site_id: Option<Uuid>,
    #[serde(default)]
    pub replaces: Option<Uuid>,
    pub comment: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct MyRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ListQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub employee: Option<Uuid>,
    pub site: Option<Uuid>,
    /// `verified`, `flagged` or `rejected`.
    pub verdict: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub items: Vec<AttendanceRecord>,
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
}

/// Answer of the chain verification.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainVerification {
    pub ok: bool,
    /// Events in the chain.
    pub length: i64,
    /// The first event whose hash or link does not match.
    pub first_broken_event: Option<Uuid>,
}

/// How liveness is checked at check-in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LivenessMode {
    #[serde(rename = "passive")]
    Passive,
    #[serde(rename = "passive+challenge")]
    PassiveChallenge,
}

/// The attendance policy (global, overridable per site).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttendancePolicy {
    /// `passive+challenge` (default): a punch without a passed challenge is flagged.
    pub liveness_mode: LivenessMode,
    /// Largest face distance accepted as the same person; `null`: the model's calibrated
    /// threshold.
    #[serde(default)]
    pub face_threshold: Option<f32>,
    /// GPS accuracy worse than this is flagged, metres.
    pub max_gps_accuracy_m: f64,
    /// `true`: a punch outside every geofence (or without a fix) is rejected; `false`: flagged.
    pub geofence_required: bool,
    /// An offline punch older than this (seconds) is flagged.
    pub max_offline_delay_s: i64,
}

impl Default for AttendancePolicy {
    fn default() -> Self {
        Self {
            liveness_mode: LivenessMode::PassiveChallenge,
            face_threshold: None,
            max_gps_accuracy_m: 100.0,
            geofence_required: true,
            max_offline_delay_s: 72 * 3600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence() -> CheckInEvidence {
        let now = Utc::now();
        CheckInEvidence {
            idempotency_key: Uuid::now_v7(),
            kind: PunchKind::In,
            clock: DeviceClock {
                device_time: now,
                synced_server_time: Some(now - chrono::Duration::minutes(5)),
                monotonic_since_sync_ms: Some(300_000),
            },
            gps: Some(GpsFix {
                lat: 55.0,
                lon: 37.0,
                accuracy_m: 10.0,
                fix_time: now,
                mock: false,
                provider: LocationProvider::Fused,
            }),
            descriptor: Some(DeviceDescriptor {
                model: "sface-2021dec".into(),
                values: vec![0.05; DESCRIPTOR_LEN],
            }),
            liveness: LivenessScores {
                passive: 0.97,
                challenge: Some(0.9),
            },
            challenge_nonce: Some("n-1".into()),
            challenge_frame_times_ms: vec![1_000, 1_400, 1_900],
        }
    }

    #[test]
    fn evidence_rules() {
        let now = Utc::now();
        let e = evidence();
        assert!(e.validate(now).is_ok());
        let json = serde_json::to_string(&e).expect("json");
        let back: CheckInEvidence = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, e);

        let mut bad = evidence();
        bad.idempotency_key = Uuid::new_v4();
        assert_eq!(bad.validate(now).map_err(|e| e.code()), Err("not_uuid_v7"));
        let mut bad = evidence();
        if let Some(d) = bad.descriptor.as_mut() {
            d.values.pop();
        }
        assert_eq!(
            bad.validate(now).map_err(|e| e.field()),
            Err("descriptor.values")
        );
        // One embedder's 128 values or a fusion's 256; 255 or 384 are a typed `count` error.
        for (len, ok) in [(FUSED_DESCRIPTOR_LEN, true), (255, false), (384, false)] {
            let mut e = evidence();
            if let Some(d) = e.descriptor.as_mut() {
                d.values = vec![0.05; len];
            }
            match e.validate(now) {
                Ok(()) => assert!(ok, "{len} values accepted"),
                Err(err) => {
                    assert!(!ok, "{len} values refused: {err}");
                    assert_eq!(
                        err,
                        ValidationError::DescriptorLen {
                            field: "descriptor.values",
                            len
                        }
                    );
                    assert_eq!(err.code(), "count");
                    assert!(
                        err.to_string().contains("128 (one embedder) or 256"),
                        "{err}"
                    );
                }
            }
        }
        let mut bad = evidence();
        if let Some(g) = bad.gps.as_mut() {
            g.lat = -90.5;
        }
        assert_eq!(bad.validate(now).map_err(|e| e.field()), Err("gps.lat"));
        let mut bad = evidence();
        bad.liveness.passive = f32::NAN;
        assert_eq!(bad.validate(now).map_err(|e| e.code()), Err("not_finite"));
        let mut bad = evidence();
        bad.challenge_frame_times_ms = vec![1_000, 1_000];
        assert_eq!(
            bad.validate(now).map_err(|e| e.field()),
            Err("challenge_frame_times_ms")
        );
        let mut bad = evidence();
        bad.challenge_frame_times_ms = (0..13).collect();
        assert_eq!(
            bad.validate(now).map_err(|e| e.field()),
            Err("challenge_frame_times_ms")
        );
    }

    #[test]
    fn attendance_record_reads_the_servers_json() {
        // As `GET /api/v1/me/attendance` writes it (backend: this type, decoded from the stored row).
        let json = r#"[{"id":"0196b1f0-0000-7000-8000-000000000001","employee_id":"0196b1f0-0000-7000-8000-000000000002",
            "device_id":null,"site_id":null,"kind":"correction","punch_kind":"out",
            "occurred_at":"2026-11-23T09:00:00Z","received_at":"2026-11-23T09:00:01.5Z","verdict":"verified",
            "reasons":[],"decision":null,"comment":"forgot","refers_to":null,"actor_id":null,"lat":null,
            "lon":null,"accuracy_m":null,"distance_m":null,"face_distance":null,"liveness_score":null,
            "has_photo":false,"status":"verified"},
            {"id":"0196b1f0-0000-7000-8000-000000000003","employee_id":"0196b1f0-0000-7000-8000-000000000002",
            "device_id":"0196b1f0-0000-7000-8000-000000000004","site_id":null,"kind":"in","punch_kind":null,
            "occurred_at":"2026-11-23T08:00:00Z","received_at":"2026-11-23T08:00:00Z","verdict":"flagged",
            "reasons":["outside_geofence"],"decision":null,"comment":null,"refers_to":null,"actor_id":null,
            "lat":55.75,"lon":37.61,"accuracy_m":12.0,"distance_m":420.5,"face_distance":0.31,
            "liveness_score":0.93,"has_photo":true,"status":"flagged_pending"}]"#;
        let records: Vec<AttendanceRecord> = serde_json::from_str(json).expect("parse");
        assert_eq!(records[0].direction(), Some(PunchKind::Out));
        assert_eq!(records[1].direction(), Some(PunchKind::In));
        assert_eq!(records[1].status, Some(PunchStatus::FlaggedPending));
        assert_eq!(records[1].verdict, Verdict::Flagged);
        // An unknown verdict is an error, not a silently different record.
        let bad = json.replacen("\"flagged\"", "\"maybe\"", 1);
        assert!(serde_json::from_str::<Vec<AttendanceRecord>>(&bad).is_err());
    }

    #[test]
    fn estimated_server_time_uses_monotonic_offset() {
        let e = evidence();
        assert_eq!(
            e.clock.estimated_server_time(),
            Some(e.clock.synced_server_time.unwrap_or_default() + chrono::Duration::minutes(5))
        );
        let mut c = e.clock.clone();
        c.monotonic_since_sync_ms = None;
        assert_eq!(c.estimated_server_time(), None);
    }
}
