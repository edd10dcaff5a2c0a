//! What every upload shares: the idempotency header, time plausibility, and the validation
//! error type used by the other body modules.

use chrono::{DateTime, TimeZone, Utc};
use std::fmt;

use crate::field_code::FieldCode;

/// Header carrying the client-chosen idempotency key (a UUIDv7) of every upload. The same key
/// sent again gets the first answer and creates nothing; the same key with a different body is
/// `409 Conflict`.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// Earliest instant either side accepts as a real device or fix time (2024-01-01T00:00:00Z).
/// A device clock before this is "years off", not an old record.
pub const MIN_PLAUSIBLE_UNIX_S: i64 = 1_704_067_200;

/// How far into the future (relative to the receiver's clock) a timestamp may be, in seconds.
pub const MAX_FUTURE_SKEW_S: i64 = 300;

/// Earliest plausible timestamp, as a `DateTime`.
pub fn min_plausible_time() -> DateTime<Utc> {
    // `single()` is always `Some` for a fixed in-range constant; fall back to the epoch rather
    // than panic if it ever were not.
    Utc.timestamp_opt(MIN_PLAUSIBLE_UNIX_S, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// A body or field that breaks one of the shared rules. `code()` is the stable machine-readable
/// reason used in `problem+json` field errors and in per-point rejections.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidationError {
    /// A number is NaN or infinite.
    NotFinite { field: &'static str },
    /// A number is outside its allowed range.
    OutOfRange {
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    /// A timestamp before [`MIN_PLAUSIBLE_UNIX_S`]: the clock is years off.
    TimeTooOld {
        field: &'static str,
        value: DateTime<Utc>,
    },
    /// A timestamp more than [`MAX_FUTURE_SKEW_S`] ahead of the receiver's clock.
    TimeInFuture {
        field: &'static str,
        value: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    /// A list with too many or too few items.
    Count {
        field: &'static str,
        len: usize,
        min: usize,
        max: usize,
    },
    /// A string that is empty, too long or malformed.
    BadString {
        field: &'static str,
        reason: &'static str,
    },
    /// An idempotency key that is not a UUIDv7.
    NotUuidV7 { field: &'static str },
    /// A face descriptor whose length is none of [`crate::attendance::DESCRIPTOR_LENS`] (code
    /// `count`).
    DescriptorLen { field: &'static str, len: usize },
}

impl ValidationError {
    /// Stable code: `not_finite`, `out_of_range`, `time_too_old`, `time_in_future`, `count`,
    /// `bad_string`, `not_uuid_v7`.
    pub fn field_code(&self) -> FieldCode {
        match self {
            Self::NotFinite { .. } => FieldCode::NotFinite,
            Self::OutOfRange { .. } => FieldCode::OutOfRange,
            Self::TimeTooOld { .. } => FieldCode::TimeTooOld,
            Self::TimeInFuture { .. } => FieldCode::TimeInFuture,
            Self::Count { .. } | Self::DescriptorLen { .. } => FieldCode::Count,
            Self::BadString { .. } => FieldCode::BadString,
            Self::NotUuidV7 { .. } => FieldCode::NotUuidV7,
        }
    }

    /// The text of [`ValidationError::field_code`].
    pub fn code(&self) -> &'static str {
        self.field_code().as_str()
    }

    /// Name of the offending field.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NotFinite { field }
            | Self::OutOfRange { field, .. }
            | Self::TimeTooOld { field, .. }
            | Self::TimeInFuture { field, .. }
            | Self::Count { field, .. }
            | Self::BadString { field, .. }
            | Self::NotUuidV7 { field }
            | Self::DescriptorLen { field, .. } => field,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFinite { field } => write!(f, "{field}: not a finite number"),
            Self::OutOfRange {
                field,
                value,
                min,
                max,
            } => write!(f, "{field}: {value} outside [{min}, {max}]"),
            Self::TimeTooOld { field, value } => {
                write!(f, "{field}: {value} is before {}", min_plausible_time())
            }
            Self::TimeInFuture { field, value, now } => write!(
                f,
                "{field}: {value} is more than {MAX_FUTURE_SKEW_S}s after {now}"
            ),
            Self::Count {
                field,
                len,
                min,
                max,
            } => write!(f, "{field}: {len} items, expected {min}..={max}"),
            Self::BadString { field, reason } => write!(f, "{field}: {reason}"),
            Self::NotUuidV7 { field } => write!(f, "{field}: not a UUIDv7"),
            Self::DescriptorLen { field, len } => write!(
                f,
                "{field}: {len} values; a descriptor has {} (one embedder) or {} (the fusion of \
                 two)",
                crate::attendance::DESCRIPTOR_LEN,
                crate::attendance::FUSED_DESCRIPTOR_LEN
            ),
        }
    }
}

impl std::error::Error for ValidationError {}

/// A face descriptor's length: one embedder's [`crate::attendance::DESCRIPTOR_LEN`] values or a
/// fusion's [`crate::attendance::FUSED_DESCRIPTOR_LEN`]; anything else is
/// [`ValidationError::DescriptorLen`]. Which length a model id has is the face engine's rule
/// (it refuses a descriptor of the wrong length for its model when matching).
pub fn check_descriptor_len(field: &'static str, len: usize) -> Result<(), ValidationError> {
    if crate::attendance::DESCRIPTOR_LENS.contains(&len) {
        Ok(())
    } else {
        Err(ValidationError::DescriptorLen { field, len })
    }
}

/// A finite number within `[min, max]`.
pub fn check_range(
    field: &'static str,
    value: f64,
    min: f64,
    max: f64,
) -> Result<(), ValidationError> {
    if !value.is_finite() {
        return Err(ValidationError::NotFinite { field });
    }
    if !(min..=max).contains(&value) {
        return Err(ValidationError::OutOfRange {
            field,
            value,
            min,
            max,
        });
    }
    Ok(())
}

/// A timestamp that is neither years in the past nor ahead of `now` by more than the skew.
pub fn check_time(
    field: &'static str,
    value: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ValidationError> {
    if value < min_plausible_time() {
        return Err(ValidationError::TimeTooOld { field, value });
    }
    if value > now + chrono::Duration::seconds(MAX_FUTURE_SKEW_S) {
        return Err(ValidationError::TimeInFuture { field, value, now });
    }
    Ok(())
}

/// A list length within `[min, max]`.
pub fn check_count(
    field: &'static str,
    len: usize,
    min: usize,
    max: usize,
) -> Result<(), ValidationError> {
    if !(min..=max).contains(&len) {
        return Err(ValidationError::Count {
            field,
            len,
            min,
            max,
        });
    }
    Ok(())
}

/// A non-empty string of at most `max` bytes.
pub fn check_string(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::BadString {
            field,
            reason: "empty",
        });
    }
    if value.len() > max {
        return Err(ValidationError::BadString {
            field,
            reason: "too long",
        });
    }
    Ok(())
}

/// An idempotency key must be a UUIDv7 (time-ordered, so the server can index it cheaply).
pub fn check_uuid_v7(field: &'static str, value: &uuid::Uuid) -> Result<(), ValidationError> {
    if value.get_version() != Some(uuid::Version::SortRand) {
        return Err(ValidationError::NotUuidV7 { field });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_reject_nan_inf_and_out_of_range() {
        assert!(check_range("x", 1.0, 0.0, 2.0).is_ok());
        assert_eq!(
            check_range("x", f64::NAN, 0.0, 2.0).map_err(|e| e.code()),
            Err("not_finite")
        );
        assert_eq!(
            check_range("x", f64::INFINITY, 0.0, 2.0).map_err(|e| e.code()),
            Err("not_finite")
        );
        assert_eq!(
            check_range("x", 2.0001, 0.0, 2.0).map_err(|e| e.code()),
            Err("out_of_range")
        );
    }

    #[test]
    fn clock_years_off_is_rejected() {
        let now = Utc::now();
        let old = Utc
            .with_ymd_and_hms(2001, 1, 1, 0, 0, 0)
            .single()
            .expect("valid date");
        assert_eq!(
            check_time("t", old, now).map_err(|e| e.code()),
            Err("time_too_old")
        );
        let ahead = now + chrono::Duration::days(3 * 365);
        assert_eq!(
            check_time("t", ahead, now).map_err(|e| e.code()),
            Err("time_in_future")
        );
        assert!(check_time("t", now + chrono::Duration::seconds(60), now).is_ok());
    }

    #[test]
    fn idempotency_keys_must_be_v7() {
        assert!(check_uuid_v7("k", &uuid::Uuid::now_v7()).is_ok());
        assert!(check_uuid_v7("k", &uuid::Uuid::new_v4()).is_err());
        assert!(check_uuid_v7("k", &uuid::Uuid::nil()).is_err());
    }
}
