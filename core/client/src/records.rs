//! The employee's own records as the server holds them (online reads): attendance history,
//! recorded locations, and the enrolled descriptors cached on the device for instant 1:1
//! feedback at check-in (ARCHITECTURE §2 step 2).
//!
//! The outbox says what the device still has to send; these say what the server has, so the
//! app can show "your punch of 09:02 was verified" and the simulator can prove exactly-once.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use faceid_face::{Descriptor, ModelId};
use faceid_protocol::attendance::{AttendanceRecord, MAX_MY_EVENTS, MY_ATTENDANCE_PATH};
use faceid_protocol::face::{MY_FACE_DESCRIPTORS_PATH, TemplateDescriptor};
use faceid_protocol::location::{MAX_TRACK_RANGE_DAYS, MY_LOCATIONS_PATH, Track, TrackPoint};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::session::{Session, SessionError};
use crate::store::{SecureStore, StoreError};

/// Most pages [`my_track`] asks for before giving up (a day of fixes every second is 4–5).
pub const MAX_TRACK_PAGES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The range is refused before asking the server.
    #[error("invalid range: {0}")]
    InvalidRange(String),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server sent a descriptor that is not one (wrong length, out of range).
    #[error("the server sent an unusable descriptor: {0}")]
    BadDescriptor(String),
    /// The cached descriptors cannot be read; [`DescriptorCache::clear`] removes them.
    #[error("cached descriptors unreadable: {0}")]
    CorruptCache(String),
    #[error("the track did not end after {pages} pages")]
    TooManyPages { pages: usize },
}

/// A `[from, to)` window of a query; either end may be left to the server's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Period {
    pub fn new(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Self {
        Self { from, to }
    }

    fn check(&self) -> Result<(), RecordsError> {
        if let (Some(f), Some(t)) = (self.from, self.to)
            && t <= f
        {
            return Err(RecordsError::InvalidRange(
                "`to` must be after `from`".to_owned(),
            ));
        }
        Ok(())
    }

    /// `?from=…&to=…` (RFC 3339, UTC, `Z`: nothing to percent-encode), or "".
    pub fn query(&self) -> String {
        let parts: Vec<String> = [("from", self.from), ("to", self.to)]
            .into_iter()
            .filter_map(|(k, v)| {
                v.map(|t| format!("{k}={}", t.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
            })
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// `GET /api/v1/me/attendance`: the employee's events in the period, oldest first. The server
/// returns at most [`MAX_MY_EVENTS`]; ask again from the last `occurred_at` for more.
pub async fn my_attendance(
    session: &Session,
    period: Period,
) -> Result<Vec<AttendanceRecord>, RecordsError> {
    period.check()?;
    let path = format!("{MY_ATTENDANCE_PATH}{}", period.query());
    let records: Vec<AttendanceRecord> = session
        .call_json(reqwest::Method::GET, &path, None::<&()>)
        .await?;
    if records.len() >= MAX_MY_EVENTS {
        tracing::warn!(
            count = records.len(),
            "attendance answer at the server's cap; narrow the range"
        );
    }
    Ok(records)
}

pub use faceid_protocol::reports::MY_TIMESHEET_PATH;

/// The employee's month as the server computes it from schedules and punches (the fields the
/// app shows; names as in the server's answer).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Timesheet {
    /// `YYYY-MM`.
    pub month: String,
    pub days: Vec<TimesheetDay>,
    pub summary: TimesheetSummary,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TimesheetDay {
    pub date: chrono::NaiveDate,
    /// `present`, `late`, `left_early`, `absent`, `day_off`, `holiday`, `on_leave`,
    /// `missing_check_out`, `in_progress`, `upcoming`.
    pub status: String,
    /// The T-13 letter code(s) of the day, e.g. `Я` or `Я/Н`.
    pub t13_code: String,
    pub first_in: Option<DateTime<Utc>>,
    pub last_out: Option<DateTime<Utc>>,
    pub worked_minutes: i64,
    pub late_minutes: i64,
    pub early_leave_minutes: i64,
    pub overtime_minutes: i64,
    /// The leave or absence kind of the day, when one is recorded.
    pub absence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TimesheetSummary {
    pub days_worked: u32,
    pub worked_minutes: i64,
    pub late_count: u32,
    pub late_minutes: i64,
    pub early_leave_count: u32,
    pub absences: u32,
    pub overtime_minutes: i64,
}

/// `GET /api/v1/me/timesheet`. `month` is `YYYY-MM` (checked here, so a typo is refused
/// before the network); `None` is the server's current month.
pub async fn my_timesheet(
    session: &Session,
    month: Option<&str>,
) -> Result<Timesheet, RecordsError> {
    let path = match month {
        None => MY_TIMESHEET_PATH.to_owned(),
        Some(m) => {
            let valid = m.len() == 7
                && chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_ok();
            if !valid {
                return Err(RecordsError::InvalidRange(format!(
                    "month {m:?} is not YYYY-MM"
                )));
            }
            format!("{MY_TIMESHEET_PATH}?month={m}")
        }
    };
    Ok(session
        .call_json(reqwest::Method::GET, &path, None::<&()>)
        .await?)
}

fn check_track_period(period: &Period) -> Result<(), RecordsError> {
    period.check()?;
    if let (Some(f), Some(t)) = (period.from, period.to)
        && t - f > chrono::Duration::days(MAX_TRACK_RANGE_DAYS)
    {
        return Err(RecordsError::InvalidRange(format!(
            "a track query covers at most {MAX_TRACK_RANGE_DAYS} days"
        )));
    }
    Ok(())
}

/// `GET /api/v1/me/locations`: one answer (which may be `truncated`). The server's default
/// period is the 24 hours before `to` (default now); a period covers at most 31 days.
pub async fn my_locations(session: &Session, period: Period) -> Result<Track, RecordsError> {
    check_track_period(&period)?;
    let path = format!("{MY_LOCATIONS_PATH}{}", period.query());
    Ok(session
        .call_json(reqwest::Method::GET, &path, None::<&()>)
        .await?)
}

/// Every point of the period: follows `truncated` answers from the last `recorded_at` (the
/// server's contract), dropping the points of that instant it already returned.
pub async fn my_track(session: &Session, period: Period) -> Result<Vec<TrackPoint>, RecordsError> {
    check_track_period(&period)?;
    // Pin `to`, so later pages do not grow with the clock.
    let to = period.to.unwrap_or_else(|| session.server_clock().now());
    let mut from = period.from.unwrap_or(to - chrono::Duration::days(1));
    let mut out: Vec<TrackPoint> = Vec::new();
    for _ in 0..MAX_TRACK_PAGES {
        let page = my_locations(session, Period::new(Some(from), Some(to))).await?;
        let seen_at_from: Vec<Uuid> = out
            .iter()
            .rev()
            .take_while(|p| p.point.recorded_at == from)
            .map(|p| p.device_id)
            .collect();
        let truncated = page.truncated;
        let before = out.len();
        out.extend(
            page.points
                .into_iter()
                .filter(|p| !(p.point.recorded_at == from && seen_at_from.contains(&p.device_id))),
        );
        let Some(last) = out.last().map(|p| p.point.recorded_at) else {
            return Ok(out);
        };
        // No progress (a page full of one instant) would loop forever.
        if !truncated || (out.len() == before && last == from) {
            return Ok(out);
        }
        from = last;
    }
    Err(RecordsError::TooManyPages {
        pages: MAX_TRACK_PAGES,
    })
}

/// The employee's descriptors as cached on the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedDescriptors {
    pub employee: Uuid,
    /// Server time of the fetch.
    pub fetched_at: DateTime<Utc>,
    pub templates: Vec<TemplateDescriptor>,
}

impl CachedDescriptors {
    /// The face engine's form, for [`crate::checkin::FaceSession::new`].
    pub fn descriptors(&self) -> Vec<Descriptor> {
        self.templates
            .iter()
            .map(|t| Descriptor {
                model: ModelId(t.model.clone()),
                values: t.values.clone(),
            })
            .collect()
    }
}

/// The employee's own descriptors, fetched from the server and kept in the platform's
/// [`SecureStore`] (they are biometric data: the keystore, not the outbox file).
#[derive(Debug, Clone)]
pub struct DescriptorCache {
    store: Arc<dyn SecureStore>,
}

impl DescriptorCache {
    pub fn new(store: Arc<dyn SecureStore>) -> Self {
        Self { store }
    }

    fn key(employee: Uuid) -> String {
        format!("descriptors-{employee}")
    }

    /// What is cached for `employee`, if anything.
    pub fn cached(&self, employee: Uuid) -> Result<Option<CachedDescriptors>, RecordsError> {
        let Some(json) = self.store.load(&Self::key(employee))? else {
            return Ok(None);
        };
        let c: CachedDescriptors =
            serde_json::from_str(&json).map_err(|e| RecordsError::CorruptCache(e.to_string()))?;
        if c.employee != employee {
            return Err(RecordsError::CorruptCache(format!(
                "cache of {} under the key of {employee}",
                c.employee
            )));
        }
        Ok(Some(c))
    }

    /// The cached descriptors in the engine's form; none when nothing (readable) is cached.
    pub fn descriptors(&self, employee: Uuid) -> Vec<Descriptor> {
        match self.cached(employee) {
            Ok(Some(c)) => c.descriptors(),
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "descriptor cache unusable; no on-device 1:1");
                Vec::new()
            }
        }
    }

    pub fn clear(&self, employee: Uuid) -> Result<(), RecordsError> {
        Ok(self.store.delete(&Self::key(employee))?)
    }

    /// Fetch the logged-in employee's descriptors and replace the cache. A `403` (this device
    /// may not hold them: a kiosk, a blocked or not allowed device) clears the cache; so does
    /// an empty answer (no templates, e.g. biometric consent withdrawn). Network errors leave
    /// the cache as it was.
    pub async fn refresh(&self, session: &Session) -> Result<CachedDescriptors, RecordsError> {
        let employee = session
            .current_user()
            .await
            .ok_or(SessionError::AuthRequired)?
            .id;
        let templates: Vec<TemplateDescriptor> = match session
            .call_json(reqwest::Method::GET, MY_FACE_DESCRIPTORS_PATH, None::<&()>)
            .await
        {
            Ok(t) => t,
            Err(e @ SessionError::Rejected { status: 403, .. }) => {
                self.clear(employee)?;
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        for t in &templates {
            t.validate()
                .map_err(|e| RecordsError::BadDescriptor(format!("template {}: {e}", t.id)))?;
        }
        let cached = CachedDescriptors {
            employee,
            fetched_at: session.server_clock().now(),
            templates,
        };
        if cached.templates.is_empty() {
            self.clear(employee)?;
        } else {
            let json = serde_json::to_string(&cached)
                .map_err(|e| RecordsError::CorruptCache(e.to_string()))?;
            self.store.save(&Self::key(employee), &json)?;
        }
        tracing::debug!(%employee, templates = cached.templates.len(), "descriptors cached");
        Ok(cached)
    }
}

#[cfg(test)]
mod tests;
