//! The location recorder: turns platform fixes into durable outbox points.
//!
//! Per fix, in order: tracking enabled and location consent given; inside the policy's working
//! hours (in the site's time zone); valid (coordinates, accuracy, time — the shared protocol
//! rules); accuracy no worse than the policy limit; not an exact duplicate or older than the
//! last accepted fix; at least the policy interval after the last accepted fix. A kept fix is
//! flagged `jump` when the speed from the previous kept fix, less both accuracy radii, is above
//! the configured limit. Mock fixes are kept and flagged as the platform said.
//!
//! Kept fixes go to [`Outbox::record_points`] in one transaction per call, together with the
//! recorder's last-fix state; full batches of 500 become upload entries in that same commit.
//! The recorder itself holds only the last fix: memory does not grow with the number of fixes.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use chrono_tz::Tz;
use faceid_protocol::location::{LocationPoint, TrackingPolicy, Weekday, WorkingWindow};
use faceid_protocol::sync::ValidationError;
use geo::{Distance, Haversine, Point};
use serde::{Deserialize, Serialize};

use crate::outbox::{Outbox, OutboxError};

/// Default speed limit between consecutive fixes: 70 m/s (252 km/h), above any car commute.
pub const DEFAULT_MAX_SPEED_MS: f64 = 70.0;
/// A fix may come this much earlier than the interval and still count (platform timers drift).
pub const INTERVAL_TOLERANCE: f64 = 0.1;
const STATE_KEY: &str = "recorder.last_fix";

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("tracking policy is invalid: {0}")]
    InvalidPolicy(ValidationError),
    #[error("unknown time zone {0:?} in the tracking policy")]
    UnknownTimeZone(String),
    #[error("speed limit must be a positive finite number, got {0}")]
    InvalidSpeedLimit(f64),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// Why a fix was not recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum DropReason {
    TrackingDisabled,
    NoConsent,
    OutsideWorkingHours,
    /// Breaks a shared protocol rule (coordinates out of range, time years off, …).
    Invalid(ValidationError),
    TooInaccurate {
        accuracy_m: f64,
        limit_m: f64,
    },
    /// Same time and position as the last kept fix.
    Duplicate,
    /// Older than (or as old as) the last kept fix.
    OutOfOrder,
    /// Sooner than the policy interval after the last kept fix.
    TooSoon,
}

/// What became of one fix.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Recorded { mock: bool, jump: bool },
    Dropped(DropReason),
}

/// Running counts, for a status screen and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecorderStats {
    pub received: u64,
    pub recorded: u64,
    pub dropped: u64,
    pub flagged_mock: u64,
    pub flagged_jump: u64,
    pub batches: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct LastFix {
    recorded_at: DateTime<Utc>,
    lat: f64,
    lon: f64,
    accuracy: f64,
}

/// The recorder of one employee's fixes.
#[derive(Debug)]
pub struct Recorder {
    outbox: Arc<Outbox>,
    policy: TrackingPolicy,
    tz: Option<Tz>,
    consent: bool,
    max_speed_ms: f64,
    last: Option<LastFix>,
    stats: RecorderStats,
}

impl Recorder {
    /// A recorder writing to `outbox`, with tracking off and no consent until told otherwise.
    /// Restores the last kept fix from the outbox, so a restart neither duplicates nor skips
    /// the speed check.
    pub fn new(outbox: Arc<Outbox>) -> Result<Self, RecorderError> {
        let last = match outbox.meta_get(STATE_KEY)? {
            Some(json) => match serde_json::from_str(&json) {
                Ok(last) => Some(last),
                Err(e) => {
                    tracing::warn!(error = %e, "recorder state unreadable; starting fresh");
                    None
                }
            },
            None => None,
        };
        Ok(Self {
            outbox,
            policy: TrackingPolicy::default(),
            tz: None,
            consent: false,
            max_speed_ms: DEFAULT_MAX_SPEED_MS,
            last,
            stats: RecorderStats::default(),
        })
    }

    /// Apply the server's tracking policy. An invalid policy or unknown zone is refused and the
    /// previous policy stays.
    pub fn set_policy(&mut self, policy: TrackingPolicy) -> Result<(), RecorderError> {
        policy.validate().map_err(RecorderError::InvalidPolicy)?;
        let tz = match &policy.working_hours {
            Some(h) => Some(
                Tz::from_str(&h.time_zone)
                    .map_err(|_| RecorderError::UnknownTimeZone(h.time_zone.clone()))?,
            ),
            None => None,
        };
        self.policy = policy;
        self.tz = tz;
        Ok(())
    }

    pub fn policy(&self) -> &TrackingPolicy {
        &self.policy
    }

    /// Location consent as the consent ledger says.
    pub fn set_consent(&mut self, granted: bool) {
        self.consent = granted;
    }

    /// Speed above which consecutive fixes are flagged as a jump, m/s.
    pub fn set_max_speed(&mut self, max_speed_ms: f64) -> Result<(), RecorderError> {
        if !max_speed_ms.is_finite() || max_speed_ms <= 0.0 {
            return Err(RecorderError::InvalidSpeedLimit(max_speed_ms));
        }
        self.max_speed_ms = max_speed_ms;
        Ok(())
    }

    pub fn stats(&self) -> RecorderStats {
        self.stats
    }

    /// Whether tracking should run at `now`: enabled, consented, inside working hours. The
    /// shell uses it to start or stop the platform's location service.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.policy.enabled && self.consent && self.in_working_hours(now)
    }

    /// Seconds the shell should wait between fixes.
    pub fn interval_s(&self) -> u32 {
        self.policy.interval_s
    }

    fn in_working_hours(&self, t: DateTime<Utc>) -> bool {
        let (Some(hours), Some(tz)) = (&self.policy.working_hours, self.tz) else {
            return true;
        };
        let local = t.with_timezone(&tz);
        let day = Weekday::from(local.weekday());
        let prev = Weekday::from(local.weekday().pred());
        let time = local.time();
        hours
            .windows
            .iter()
            .any(|w| window_contains(w, day, prev, time))
    }

    /// Decide about one fix without storing it; updates nothing.
    fn judge(&self, fix: &LocationPoint, now: DateTime<Utc>) -> Result<(bool, bool), DropReason> {
        if !self.policy.enabled {
            return Err(DropReason::TrackingDisabled);
        }
        if !self.consent {
            return Err(DropReason::NoConsent);
        }
        fix.validate(now).map_err(DropReason::Invalid)?;
        if !self.in_working_hours(fix.recorded_at) {
            return Err(DropReason::OutsideWorkingHours);
        }
        if fix.accuracy > self.policy.max_accuracy_m {
            return Err(DropReason::TooInaccurate {
                accuracy_m: fix.accuracy,
                limit_m: self.policy.max_accuracy_m,
            });
        }
        let mut jump = false;
        if let Some(last) = &self.last {
            if fix.recorded_at == last.recorded_at {
                return Err(if fix.lat == last.lat && fix.lon == last.lon {
                    DropReason::Duplicate
                } else {
                    DropReason::OutOfOrder
                });
            }
            if fix.recorded_at < last.recorded_at {
                return Err(DropReason::OutOfOrder);
            }
            let dt = (fix.recorded_at - last.recorded_at).as_seconds_f64();
            let min_gap = f64::from(self.policy.interval_s) * (1.0 - INTERVAL_TOLERANCE);
            if dt < min_gap {
                return Err(DropReason::TooSoon);
            }
            let d =
                Haversine.distance(Point::new(last.lon, last.lat), Point::new(fix.lon, fix.lat));
            let beyond_noise = (d - last.accuracy - fix.accuracy).max(0.0);
            jump = beyond_noise / dt > self.max_speed_ms;
        }
        Ok((fix.mock, jump))
    }

    /// Record one fix (one durable commit when kept).
    pub fn record(
        &mut self,
        fix: LocationPoint,
        now: DateTime<Utc>,
    ) -> Result<Decision, RecorderError> {
        let mut out = self.record_many(std::slice::from_ref(&fix), now)?;
        Ok(out
            .pop()
            .unwrap_or(Decision::Dropped(DropReason::TrackingDisabled)))
    }

    /// Record fixes in order, with one durable commit for all the kept ones. Returns one
    /// decision per fix. When the commit fails nothing of this call is kept and the recorder's
    /// state is unchanged, so the caller can retry the same slice.
    pub fn record_many(
        &mut self,
        fixes: &[LocationPoint],
        now: DateTime<Utc>,
    ) -> Result<Vec<Decision>, RecorderError> {
        let saved_last = self.last;
        let mut kept: Vec<LocationPoint> = Vec::with_capacity(fixes.len());
        let mut decisions = Vec::with_capacity(fixes.len());
        let mut stats = self.stats;
        for fix in fixes {
            stats.received += 1;
            match self.judge(fix, now) {
                Ok((mock, jump)) => {
                    let mut p = fix.clone();
                    p.jump = jump;
                    stats.recorded += 1;
                    stats.flagged_mock += u64::from(mock);
                    stats.flagged_jump += u64::from(jump);
                    self.last = Some(LastFix {
                        recorded_at: p.recorded_at,
                        lat: p.lat,
                        lon: p.lon,
                        accuracy: p.accuracy,
                    });
                    kept.push(p);
                    decisions.push(Decision::Recorded { mock, jump });
                }
                Err(reason) => {
                    stats.dropped += 1;
                    tracing::trace!(?reason, "fix dropped");
                    decisions.push(Decision::Dropped(reason));
                }
            }
        }
        if !kept.is_empty() {
            let state = match &self.last {
                Some(last) => Some(serde_json::to_string(last).map_err(OutboxError::from)?),
                None => None,
            };
            match self
                .outbox
                .record_points(&kept, state.as_deref().map(|s| (STATE_KEY, s)), now)
            {
                Ok(batches) => stats.batches += batches as u64,
                Err(e) => {
                    self.last = saved_last;
                    return Err(e.into());
                }
            }
        }
        self.stats = stats;
        Ok(decisions)
    }
}

fn window_contains(w: &WorkingWindow, day: Weekday, prev: Weekday, t: NaiveTime) -> bool {
    if w.start < w.end {
        w.weekday == day && t >= w.start && t < w.end
    } else {
        // Runs past midnight (or, when start == end, a full 24 hours from start).
        (w.weekday == day && t >= w.start) || (w.weekday == prev && t < w.end)
    }
}

#[cfg(test)]
mod tests;
