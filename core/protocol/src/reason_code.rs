//! The one list of verdict reason codes: why the server flagged or rejected a punch
//! (`CheckInResponse::reasons`, `AttendanceRecord::reasons`, the `reasons` column of
//! `attendance_events`). The backend's verdict produces [`ReasonCode`]s, the OpenAPI document
//! lists them as the `reasons` items' enum, and clients compare with them instead of literals.
//!
//! The text of a code (its serde name, [`WireText`]) is stored in the hash-chained attendance
//! log and hashed with the row, so a code's text never changes once shipped.
//!
//! Wire types carry the reasons as text, like `Problem::code`: a client reads an answer whose
//! reasons include a code a newer server added (an app must never fail to read its punch's
//! answer), and the server reads back rows written by any earlier version as they are stored.
//! Compare through [`ReasonCode::parse`].
//!
//! To add a code: one variant below (its serde name is the snake_case of the variant) and its
//! place in the server's verdict; never rename one.

use serde::{Deserialize, Serialize};

use crate::wire_text::WireText;

/// A stable, machine-readable reason a punch was flagged or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    // The head-movement challenge.
    /// The challenge's movements were not seen in time (rejects a phone punch, flags a kiosk's).
    ChallengeFailed,
    /// The face in the challenge frames is not the best frame's face.
    ChallengeFaceMismatch,
    /// The policy asks for a challenge and none was answered.
    ChallengeMissing,

    // The face.
    /// The face does not match the employee's templates (rejects).
    FaceMismatch,
    /// The descriptor the device computed disagrees with the server's.
    DeviceDescriptorMismatch,
    /// Passive liveness failed (rejects).
    LivenessFailed,

    // Image quality of the best frame (the face engine's quality reasons, prefixed).
    QualityNoFace,
    QualitySeveralFaces,
    QualityFaceTooSmall,
    QualityOffCentre,
    QualityCutOff,
    QualityYawTooLarge,
    QualityPitchTooLarge,
    QualityBadLandmarks,
    QualityTooBlurry,
    QualityTooDark,
    QualityTooBright,

    // The place (a phone punch); rejects instead of flagging when the policy requires a
    // geofence.
    /// The punch came without a GPS fix.
    NoLocation,
    /// The employee has no site to compare the fix with.
    NoSite,
    /// The fix is outside the employee's sites.
    OutsideGeofence,
    /// The fix is less accurate than the policy accepts.
    AccuracyTooLow,
    /// The device reported a mock location.
    MockLocation,

    // The time.
    /// The device clock of an offline punch cannot be trusted (the server's time is used).
    ClockImplausible,
    /// The punch reached the server later than the policy allows for an offline punch.
    OfflineTooLong,

    // Face terminals.
    /// A face terminal's clock was off by more than allowed when the pass was read.
    TerminalClockSkew,
}

impl WireText for ReasonCode {}

impl ReasonCode {
    /// Every code, in the order the verdict applies its rules.
    pub const ALL: &'static [ReasonCode] = &[
        Self::ChallengeFailed,
        Self::ChallengeFaceMismatch,
        Self::ChallengeMissing,
        Self::FaceMismatch,
        Self::DeviceDescriptorMismatch,
        Self::LivenessFailed,
        Self::QualityNoFace,
        Self::QualitySeveralFaces,
        Self::QualityFaceTooSmall,
        Self::QualityOffCentre,
        Self::QualityCutOff,
        Self::QualityYawTooLarge,
        Self::QualityPitchTooLarge,
        Self::QualityBadLandmarks,
        Self::QualityTooBlurry,
        Self::QualityTooDark,
        Self::QualityTooBright,
        Self::NoLocation,
        Self::NoSite,
        Self::OutsideGeofence,
        Self::AccuracyTooLow,
        Self::MockLocation,
        Self::ClockImplausible,
        Self::OfflineTooLong,
        Self::TerminalClockSkew,
    ];

    /// The wire text, e.g. `outside_geofence`.
    pub fn as_str(self) -> &'static str {
        self.wire_text()
    }

    /// The code named `text`; `None` for text this build does not know (a newer server's).
    pub fn parse(text: &str) -> Option<Self> {
        Self::from_wire_text(text)
    }

    /// The wire texts of `codes`, in order: what an answer and the log store.
    pub fn texts(codes: &[ReasonCode]) -> Vec<String> {
        codes.iter().map(|c| c.as_str().to_owned()).collect()
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts as they are stored in the attendance log (and hashed): they must never change.
    const SHIPPED: &[&str] = &[
        "challenge_failed",
        "challenge_face_mismatch",
        "challenge_missing",
        "face_mismatch",
        "device_descriptor_mismatch",
        "liveness_failed",
        "quality_no_face",
        "quality_several_faces",
        "quality_face_too_small",
        "quality_off_centre",
        "quality_cut_off",
        "quality_yaw_too_large",
        "quality_pitch_too_large",
        "quality_bad_landmarks",
        "quality_too_blurry",
        "quality_too_dark",
        "quality_too_bright",
        "no_location",
        "no_site",
        "outside_geofence",
        "accuracy_too_low",
        "mock_location",
        "clock_implausible",
        "offline_too_long",
        "terminal_clock_skew",
    ];

    #[test]
    fn every_code_has_its_shipped_text_both_ways() {
        let texts: Vec<&str> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(texts, SHIPPED);
        for &code in ReasonCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(serde_json::from_str::<ReasonCode>(&json).unwrap(), code);
            assert_eq!(ReasonCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ReasonCode::parse("a_reason_from_a_newer_server"), None);
        // `ALL` holds every variant, in declaration order.
        for (i, &code) in ReasonCode::ALL.iter().enumerate() {
            assert_eq!(code as usize, i, "{code:?}");
        }
        assert_eq!(
            ReasonCode::ALL.len(),
            ReasonCode::TerminalClockSkew as usize + 1
        );
        assert_eq!(
            ReasonCode::texts(&[ReasonCode::MockLocation, ReasonCode::NoSite]),
            ["mock_location", "no_site"]
        );
    }
}
