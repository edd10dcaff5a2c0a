//! Location tracking: point batches and the tracking policy.

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::sync::{ValidationError, check_count, check_range, check_string, check_time};

/// `GET` — a department's tracking policy (the default when it has none); `PUT` — sets a
/// department's tracking policy, used by its employees without their own; `DELETE` —
/// removes a department's tracking policy: its employees without their own follow the
/// company default again.
pub const DEPARTMENT_TRACKING_POLICY_PATH: &str = "/api/v1/departments/{id}/tracking-policy";
/// `GET` — an employee's points in a time range (administrators; operators within their
/// scope).
pub const EMPLOYEE_LOCATIONS_PATH: &str = "/api/v1/employees/{id}/locations";
/// `GET` — an employee's effective tracking policy (administrators; operators within their
/// scope); `PUT` — sets an employee's own tracking policy, which overrides the
/// department's; `DELETE` — removes an employee's own tracking policy: they follow their
/// department's again (or the company default).
pub const EMPLOYEE_TRACKING_POLICY_PATH: &str = "/api/v1/employees/{id}/tracking-policy";
/// `GET` — the default tracking policy: employees with neither their own nor a department
/// policy follow it; `PUT` — replaces the default tracking policy (administrators;
/// audited).
pub const DEFAULT_TRACKING_POLICY_PATH: &str = "/api/v1/settings/tracking-policy";

/// `POST` — upload a batch of points.
pub const LOCATIONS_BATCH_PATH: &str = "/api/v1/locations/batch";
/// `GET` — the current employee's tracking policy.
pub const TRACKING_POLICY_PATH: &str = "/api/v1/me/tracking-policy";
/// `GET` — the caller's own points, `?from=&to=` (RFC 3339, `[from, to)`).
pub const MY_LOCATIONS_PATH: &str = "/api/v1/me/locations";
/// Longest range one track query covers, days.
pub const MAX_TRACK_RANGE_DAYS: i64 = 31;
/// Most points one answer of [`MY_LOCATIONS_PATH`] (or an employee's track) holds; `truncated`
/// says there were more. Clients size their answer limit from it.
pub const MAX_TRACK_POINTS: usize = 20_000;

/// Most points the server accepts in one batch.
pub const MAX_BATCH_POINTS: usize = 1_000;
/// Most points the client puts in one outbox entry (half the server limit, so a batch stays
/// small enough to retry cheaply on a bad network).
pub const CLIENT_BATCH_POINTS: usize = 500;
/// Default interval between recorded fixes.
pub const DEFAULT_INTERVAL_S: u32 = 300;
/// Shortest and longest interval a policy may ask for.
pub const MIN_INTERVAL_S: u32 = 5;
pub const MAX_INTERVAL_S: u32 = 86_400;
/// Largest accuracy radius a point may report (a worse fix is useless, not merely inaccurate).
pub const MAX_REPORTED_ACCURACY_M: f64 = 100_000.0;
/// Range of `max_accuracy_m` in a policy.
pub const MIN_POLICY_ACCURACY_M: f64 = 1.0;
pub const MAX_POLICY_ACCURACY_M: f64 = 10_000.0;
/// Fastest speed a point may report, m/s (about Mach 3: anything above is a sensor error).
pub const MAX_SPEED_MS: f64 = 1_000.0;
/// Altitude range, metres above the WGS-84 ellipsoid.
pub const MIN_ALTITUDE_M: f64 = -1_000.0;
pub const MAX_ALTITUDE_M: f64 = 100_000.0;
/// Most working-hour windows in a policy.
pub const MAX_WORKING_WINDOWS: usize = 64;
/// Longest accepted IANA time-zone name.
pub const MAX_TIME_ZONE_LEN: usize = 64;

/// Latitude in degrees, finite and within [-90, 90].
pub fn check_lat(field: &'static str, lat: f64) -> Result<(), ValidationError> {
    check_range(field, lat, -90.0, 90.0)
}

/// Longitude in degrees, finite and within [-180, 180].
pub fn check_lon(field: &'static str, lon: f64) -> Result<(), ValidationError> {
    check_range(field, lon, -180.0, 180.0)
}

/// An accuracy radius in metres, finite and within [0, `MAX_REPORTED_ACCURACY_M`].
pub fn check_accuracy(field: &'static str, accuracy_m: f64) -> Result<(), ValidationError> {
    check_range(field, accuracy_m, 0.0, MAX_REPORTED_ACCURACY_M)
}

/// One recorded position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LocationPoint {
    /// When the fix was taken (device clock, corrected by the learned server offset).
    pub recorded_at: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy radius, metres (68 % confidence, as the platforms report it).
    pub accuracy: f64,
    /// Metres per second, when the platform reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Degrees clockwise from true north, [0, 360).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearing: Option<f64>,
    /// Metres above the WGS-84 ellipsoid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude: Option<f64>,
    /// The platform says the fix came from a mock provider.
    #[serde(default)]
    pub mock: bool,
    /// The recorder saw an implausible jump from the previous fix (speed above its limit).
    #[serde(default)]
    pub jump: bool,
    /// Battery level in percent, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery: Option<u8>,
}

impl LocationPoint {
    /// The shared per-point rules; `now` is the receiver's clock.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ValidationError> {
        check_time("recorded_at", self.recorded_at, now)?;
        check_lat("lat", self.lat)?;
        check_lon("lon", self.lon)?;
        check_accuracy("accuracy", self.accuracy)?;
        if let Some(speed) = self.speed {
            check_range("speed", speed, 0.0, MAX_SPEED_MS)?;
        }
        if let Some(bearing) = self.bearing {
            check_range("bearing", bearing, 0.0, 360.0)?;
        }
        if let Some(altitude) = self.altitude {
            check_range("altitude", altitude, MIN_ALTITUDE_M, MAX_ALTITUDE_M)?;
        }
        if let Some(battery) = self.battery {
            check_range("battery", f64::from(battery), 0.0, 100.0)?;
        }
        Ok(())
    }
}

/// `POST /api/v1/locations/batch` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LocationBatch {
    pub points: Vec<LocationPoint>,
}

impl LocationBatch {
    /// Whole-batch rule: 1..=`MAX_BATCH_POINTS` points. Per-point problems are reported per
    /// index by [`LocationBatch::rejections`], not as a whole-batch failure.
    pub fn validate_size(&self) -> Result<(), ValidationError> {
        check_count("points", self.points.len(), 1, MAX_BATCH_POINTS)
    }

    /// Every point that breaks a per-point rule, with its index and the rule's code.
    pub fn rejections(&self, now: DateTime<Utc>) -> Vec<RejectedPoint> {
        self.points
            .iter()
            .enumerate()
            .filter_map(|(index, p)| {
                p.validate(now).err().map(|e| RejectedPoint {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    reason: format!("{}:{}", e.field(), e.code()),
                })
            })
            .collect()
    }
}

/// Answer to a batch: how many points were new, how many the server already had (same
/// employee, device and `recorded_at`), and which were refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationBatchResponse {
    pub accepted: u32,
    pub duplicates: u32,
    #[serde(default)]
    pub rejected: Vec<RejectedPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedPoint {
    /// Index of the point in the request's `points`.
    pub index: u32,
    /// Stable reason, `field:code`, e.g. `lat:out_of_range`, `recorded_at:time_in_future`.
    pub reason: String,
}

/// One stored point with the device that recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackPoint {
    pub device_id: Uuid,
    #[serde(flatten)]
    pub point: LocationPoint,
}

/// Points of a time range, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Track {
    pub points: Vec<TrackPoint>,
    /// More points than the answer holds: ask again from the last `recorded_at`.
    pub truncated: bool,
}

/// Day of the week of a working-hours window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl From<chrono::Weekday> for Weekday {
    fn from(d: chrono::Weekday) -> Self {
        match d {
            chrono::Weekday::Mon => Self::Mon,
            chrono::Weekday::Tue => Self::Tue,
            chrono::Weekday::Wed => Self::Wed,
            chrono::Weekday::Thu => Self::Thu,
            chrono::Weekday::Fri => Self::Fri,
            chrono::Weekday::Sat => Self::Sat,
            chrono::Weekday::Sun => Self::Sun,
        }
    }
}

/// A window of local time on one weekday. `end <= start` means the window runs past midnight
/// into the next day (a night shift); `start == end` is the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkingWindow {
    pub weekday: Weekday,
    /// Local time, `HH:MM:SS`.
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// When tracking runs, in the site's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// IANA name, e.g. `Europe/Moscow`.
    pub time_zone: String,
    pub windows: Vec<WorkingWindow>,
}

/// `GET /api/v1/me/tracking-policy`, `GET/PUT /api/v1/employees/{id}/tracking-policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrackingPolicy {
    pub enabled: bool,
    #[serde(default = "default_interval_s")]
    pub interval_s: u32,
    /// `None`: track at any time of day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<WorkingHours>,
    /// Fixes with a worse accuracy radius are dropped on the device.
    pub max_accuracy_m: f64,
}

fn default_interval_s() -> u32 {
    DEFAULT_INTERVAL_S
}

impl Default for TrackingPolicy {
    /// Tracking off until the server says otherwise.
    fn default() -> Self {
        Self {
            enabled: false,
            interval_s: DEFAULT_INTERVAL_S,
            working_hours: None,
            max_accuracy_m: 100.0,
        }
    }
}

impl TrackingPolicy {
    /// Shape rules. The time-zone name is checked for shape here; that it names a real IANA
    /// zone is checked by whoever evaluates the windows (the client's recorder, the server's
    /// policy editor), both with `chrono-tz`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_range(
            "interval_s",
            f64::from(self.interval_s),
            f64::from(MIN_INTERVAL_S),
            f64::from(MAX_INTERVAL_S),
        )?;
        check_range(
            "max_accuracy_m",
            self.max_accuracy_m,
            MIN_POLICY_ACCURACY_M,
            MAX_POLICY_ACCURACY_M,
        )?;
        if let Some(hours) = &self.working_hours {
            check_string(
                "working_hours.time_zone",
                &hours.time_zone,
                MAX_TIME_ZONE_LEN,
            )?;
            check_count(
                "working_hours.windows",
                hours.windows.len(),
                0,
                MAX_WORKING_WINDOWS,
            )?;
        }
        Ok(())
    }
}

/// `?from=&to=` of track queries (RFC 3339).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct Range {
    /// Start, inclusive; default 24 hours before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End, exclusive, at most 31 days after `from`; default now.
    pub to: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_reads_the_servers_json() {
        // As `GET /api/v1/me/locations` writes it: the point flattened next to `device_id`.
        let json = r#"{"points":[{"device_id":"0196b1f0-0000-7000-8000-000000000004",
            "recorded_at":"2026-11-23T08:00:00Z","lat":55.75,"lon":37.61,"accuracy":8.0,
            "mock":false,"jump":true,"battery":80}],"truncated":false}"#;
        let track: Track = serde_json::from_str(json).expect("parse");
        assert_eq!(track.points.len(), 1);
        assert!(track.points[0].point.jump);
        assert_eq!(track.points[0].point.battery, Some(80));
        let back: Track = serde_json::from_str(&serde_json::to_string(&track).expect("json"))
            .expect("round trip");
        assert_eq!(back, track);
    }

    fn point() -> LocationPoint {
        LocationPoint {
            recorded_at: Utc::now(),
            lat: 55.75,
            lon: 37.61,
            accuracy: 12.0,
            speed: Some(1.2),
            bearing: Some(90.0),
            altitude: Some(150.0),
            mock: false,
            jump: false,
            battery: Some(80),
        }
    }

    #[test]
    fn point_rules() {
        let now = Utc::now();
        assert!(point().validate(now).is_ok());
        for (p, code) in [
            (
                LocationPoint {
                    lat: 91.0,
                    ..point()
                },
                "lat:out_of_range",
            ),
            (
                LocationPoint {
                    lon: -180.5,
                    ..point()
                },
                "lon:out_of_range",
            ),
            (
                LocationPoint {
                    lat: f64::NAN,
                    ..point()
                },
                "lat:not_finite",
            ),
            (
                LocationPoint {
                    accuracy: -1.0,
                    ..point()
                },
                "accuracy:out_of_range",
            ),
            (
                LocationPoint {
                    bearing: Some(f64::INFINITY),
                    ..point()
                },
                "bearing:not_finite",
            ),
            (
                LocationPoint {
                    battery: Some(101),
                    ..point()
                },
                "battery:out_of_range",
            ),
        ] {
            let batch = LocationBatch {
                points: vec![point(), p],
            };
            let rej = batch.rejections(now);
            assert_eq!(
                rej,
                vec![RejectedPoint {
                    index: 1,
                    reason: code.into()
                }]
            );
        }
    }

    #[test]
    fn batch_size_limit() {
        let ok = LocationBatch {
            points: vec![point(); MAX_BATCH_POINTS],
        };
        assert!(ok.validate_size().is_ok());
        let big = LocationBatch {
            points: vec![point(); MAX_BATCH_POINTS + 1],
        };
        assert_eq!(big.validate_size().map_err(|e| e.code()), Err("count"));
        let empty = LocationBatch { points: vec![] };
        assert!(empty.validate_size().is_err());
    }

    #[test]
    fn unknown_fields_are_refused_and_defaults_apply() {
        let e = serde_json::from_str::<LocationBatch>(r#"{"points":[],"extra":1}"#);
        assert!(e.is_err());
        let p: TrackingPolicy =
            serde_json::from_str(r#"{"enabled":true,"max_accuracy_m":50}"#).expect("policy");
        assert_eq!(p.interval_s, DEFAULT_INTERVAL_S);
        assert!(p.validate().is_ok());
        let w: TrackingPolicy = serde_json::from_str(
            r#"{"enabled":true,"max_accuracy_m":50,"working_hours":{"time_zone":"Europe/Moscow",
            "windows":[{"weekday":"mon","start":"09:00:00","end":"18:00:00"}]}}"#,
        )
        .expect("policy with hours");
        assert_eq!(w.working_hours.map(|h| h.windows.len()), Some(1));
        let bad = TrackingPolicy {
            interval_s: 0,
            ..TrackingPolicy::default()
        };
        assert!(bad.validate().is_err());
    }
}
