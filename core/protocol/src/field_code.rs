//! The one list of field-error codes (`FieldError::code`, the `errors[]` of a 422 problem):
//! why one field of a request was refused. The backend's validation takes a [`FieldCode`], the
//! OpenAPI document lists them as `FieldError.code`'s enum, and clients compare with them.
//!
//! Some codes are also problem codes ([`ErrorCode`]) with the same text: an unusable photo's
//! problem names its refusal on the photo's field too ([`FieldCode::of_problem`]).
//!
//! To add a code: one variant below (its wire text is the variant's snake_case, its serde
//! name) and one line in [`FieldCode::ALL`].

use serde::{Deserialize, Serialize};

use crate::error_code::ErrorCode;
use crate::wire_text::WireText;

/// A stable, machine-readable reason a field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldCode {
    // Presence and shape.
    /// A required value is missing or empty.
    Required,
    /// The value is not one the field accepts.
    Invalid,
    /// The value is not one of the field's allowed values.
    InvalidValue,
    /// The body cannot be read as the endpoint's request type at this field.
    InvalidBody,
    /// The body has a field the endpoint does not know.
    UnknownField,
    /// A text is longer than allowed.
    TooLong,
    /// A text has control characters.
    InvalidCharacters,
    /// A text has a NUL character.
    NulCharacter,
    /// A text does not have the required length.
    InvalidLength,
    /// A text does not match the required pattern.
    InvalidPattern,
    /// A text is empty, too long or malformed (the shared upload rules).
    BadString,
    /// A URL is not `http(s)://host[:port]` without credentials.
    InvalidUrl,
    /// A kiosk PIN is not 4–8 digits.
    InvalidPin,
    /// A new password is too weak.
    WeakPassword,
    /// An id or key is not a UUIDv7.
    NotUuidV7,

    // Numbers, counts and times.
    /// A number is NaN or infinite.
    NotFinite,
    /// A number or date is outside its allowed range.
    OutOfRange,
    /// A list has too many or too few items.
    Count,
    /// A list has more items than allowed.
    TooMany,
    /// Two lists that go together differ in length.
    CountMismatch,
    /// A list names the same item twice.
    DuplicateEntry,
    /// A time of day does not parse or is out of range.
    InvalidTime,
    /// A timestamp is before the earliest plausible time (the clock is years off).
    TimeTooOld,
    /// A timestamp is too far in the future.
    TimeInFuture,
    /// A date or timestamp is outside the years the server stores.
    DateOutOfRange,
    /// A time zone is not an IANA name.
    InvalidTimeZone,
    /// A range ends before it starts, or is empty.
    EmptyRange,
    /// A range is longer than allowed.
    RangeTooLong,
    /// A period is not a valid period.
    InvalidPeriod,
    /// A period has more days than allowed.
    TooManyDays,
    /// A month is not `YYYY-MM`.
    InvalidMonth,
    /// A report period is longer than allowed.
    PeriodTooLong,
    /// A report period has no days.
    EmptyPeriod,
    /// A report would be larger than allowed.
    ReportTooLarge,
    /// A date is not in the year the resource is for.
    WrongYear,
    /// A kind is not one the resource accepts.
    InvalidKind,

    // Schedules.
    /// A shift ends when it starts.
    ZeroLengthShift,
    /// A shift's unpaid break is not shorter than the shift.
    BreakTooLong,
    /// A schedule's shifts overlap.
    OverlappingShifts,
    /// An employee's schedule assignments overlap.
    OverlappingAssignment,

    // References.
    /// The site does not exist.
    UnknownSite,
    /// The department does not exist.
    UnknownDepartment,
    /// The position does not exist.
    UnknownPosition,
    /// The device does not exist.
    UnknownDevice,
    /// The device is not a kiosk.
    NotAKiosk,
    /// The value is not allowed for the caller or the resource.
    NotAllowed,
    /// The operation needs a target and names none.
    TargetRequired,

    // Geofences.
    /// A polygon needs exactly one ring.
    OneRingRequired,
    /// A polygon's ring is not closed.
    RingNotClosed,
    /// A polygon has too few points.
    TooFewPoints,
    /// A polygon has too many points.
    TooManyPoints,
    /// A geofence's area is outside the allowed range.
    AreaOutOfRange,
    /// A polygon's ring crosses itself.
    SelfIntersection,
    /// A polygon is not a valid polygon.
    InvalidPolygon,

    // Photos and frames (the same text as the problem code of the refusal).
    /// The part is not a JPEG or PNG image.
    NotAnImage,
    /// The image file is larger than allowed.
    ImageTooLarge,
    /// The image has more pixels or a longer side than allowed.
    ImageDimensionsTooLarge,
    /// The image cannot be decoded.
    ImageCorrupt,
    /// The image file ends early.
    ImageTruncated,
    /// No face was found.
    NoFace,
    /// More than one face was found.
    SeveralFaces,
    /// The face engine failed on this image.
    FaceEngineError,
    /// Challenge frames were sent without the nonce they answer.
    ChallengeNonceMissing,
    /// The face is too small (an enrolment photo's quality).
    FaceTooSmall,
    /// The face is off centre.
    OffCentre,
    /// Part of the face is outside the image.
    CutOff,
    /// The head is turned too far.
    YawTooLarge,
    /// The head is tilted up or down too far.
    PitchTooLarge,
    /// The face's landmarks are degenerate.
    BadLandmarks,
    /// The image is blurry.
    TooBlurry,
    /// The face is too dark.
    TooDark,
    /// The face is too bright.
    TooBright,
    /// Passive liveness failed on the photo.
    LivenessFailed,
}

impl WireText for FieldCode {}

impl FieldCode {
    /// Every code.
    pub const ALL: &'static [FieldCode] = &[
        Self::Required,
        Self::Invalid,
        Self::InvalidValue,
        Self::InvalidBody,
        Self::UnknownField,
        Self::TooLong,
        Self::InvalidCharacters,
        Self::NulCharacter,
        Self::InvalidLength,
        Self::InvalidPattern,
        Self::BadString,
        Self::InvalidUrl,
        Self::InvalidPin,
        Self::WeakPassword,
        Self::NotUuidV7,
        Self::NotFinite,
        Self::OutOfRange,
        Self::Count,
        Self::TooMany,
        Self::CountMismatch,
        Self::DuplicateEntry,
        Self::InvalidTime,
        Self::TimeTooOld,
        Self::TimeInFuture,
        Self::DateOutOfRange,
        Self::InvalidTimeZone,
        Self::EmptyRange,
        Self::RangeTooLong,
        Self::InvalidPeriod,
        Self::TooManyDays,
        Self::InvalidMonth,
        Self::PeriodTooLong,
        Self::EmptyPeriod,
        Self::ReportTooLarge,
        Self::WrongYear,
        Self::InvalidKind,
        Self::ZeroLengthShift,
        Self::BreakTooLong,
        Self::OverlappingShifts,
        Self::OverlappingAssignment,
        Self::UnknownSite,
        Self::UnknownDepartment,
        Self::UnknownPosition,
        Self::UnknownDevice,
        Self::NotAKiosk,
        Self::NotAllowed,
        Self::TargetRequired,
        Self::OneRingRequired,
        Self::RingNotClosed,
        Self::TooFewPoints,
        Self::TooManyPoints,
        Self::AreaOutOfRange,
        Self::SelfIntersection,
        Self::InvalidPolygon,
        Self::NotAnImage,
        Self::ImageTooLarge,
        Self::ImageDimensionsTooLarge,
        Self::ImageCorrupt,
        Self::ImageTruncated,
        Self::NoFace,
        Self::SeveralFaces,
        Self::FaceEngineError,
        Self::ChallengeNonceMissing,
        Self::FaceTooSmall,
        Self::OffCentre,
        Self::CutOff,
        Self::YawTooLarge,
        Self::PitchTooLarge,
        Self::BadLandmarks,
        Self::TooBlurry,
        Self::TooDark,
        Self::TooBright,
        Self::LivenessFailed,
    ];

    /// The wire text, e.g. `too_long`.
    pub fn as_str(self) -> &'static str {
        self.wire_text()
    }

    /// The code named `text`; `None` for text this build does not know (a newer server's).
    pub fn parse(text: &str) -> Option<Self> {
        Self::from_wire_text(text)
    }

    /// The field code with the same text as the problem code `code`, when there is one (the
    /// refusal of an unusable photo or frame, named on its part).
    pub fn of_problem(code: ErrorCode) -> Option<Self> {
        Self::parse(code.as_str())
    }
}

impl std::fmt::Display for FieldCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_once() {
        let mut seen = std::collections::HashSet::new();
        for &code in FieldCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(FieldCode::parse(code.as_str()), Some(code));
            assert!(seen.insert(code), "{code:?} listed twice");
        }
        assert_eq!(FieldCode::parse("a_code_from_a_newer_server"), None);
        // `ALL` holds every variant, in declaration order.
        for (i, &code) in FieldCode::ALL.iter().enumerate() {
            assert_eq!(code as usize, i, "{code:?}");
        }
        assert_eq!(FieldCode::ALL.len(), FieldCode::LivenessFailed as usize + 1);
        assert_eq!(FieldCode::NotAKiosk.as_str(), "not_a_kiosk");
        assert_eq!(FieldCode::NotUuidV7.as_str(), "not_uuid_v7");
    }

    #[test]
    fn the_refusals_of_an_unusable_frame_are_field_codes_too() {
        for code in [
            ErrorCode::NotAnImage,
            ErrorCode::ImageTooLarge,
            ErrorCode::ImageDimensionsTooLarge,
            ErrorCode::ImageCorrupt,
            ErrorCode::ImageTruncated,
            ErrorCode::NoFace,
            ErrorCode::SeveralFaces,
            ErrorCode::FaceEngineError,
            ErrorCode::ChallengeNonceMissing,
        ] {
            assert_eq!(
                FieldCode::of_problem(code).map(FieldCode::as_str),
                Some(code.as_str())
            );
        }
        assert_eq!(FieldCode::of_problem(ErrorCode::Forbidden), None);
    }
}
