//! Time: the device clock (a trait, so tests can move it) and the server clock learned from
//! every response, used to seal offline punches and to decide when a token expires.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use faceid_protocol::sync::min_plausible_time;

/// Wall clock plus a monotonic clock (time since some fixed start, unaffected by the user
/// changing the date).
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
    fn monotonic(&self) -> Duration;
}

/// The real clocks.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn monotonic(&self) -> Duration {
        self.start.elapsed()
    }
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<(DateTime<Utc>, Duration)>,
}

impl ManualClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            state: Mutex::new((now, Duration::ZERO)),
        }
    }

    /// Move both clocks forward.
    pub fn advance(&self, d: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.0 += chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero());
            s.1 += d;
        }
    }

    /// Set the wall clock only (the user changed the date); the monotonic clock keeps going.
    pub fn set_wall(&self, now: DateTime<Utc>) {
        if let Ok(mut s) = self.state.lock() {
            s.0 = now;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.state
            .lock()
            .map(|s| s.0)
            .unwrap_or_else(|_| Utc::now())
    }

    fn monotonic(&self) -> Duration {
        self.state.lock().map(|s| s.1).unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClockError {
    /// The device clock is before 2024 and the server time was never learned: no trustworthy
    /// time at all.
    #[error("the device clock ({device}) is implausible and server time is unknown; connect once")]
    Implausible { device: DateTime<Utc> },
}

#[derive(Debug, Clone, Copy)]
struct SyncPoint {
    server_time: DateTime<Utc>,
    device_time: DateTime<Utc>,
    monotonic: Duration,
}

/// What the device knows about server time.
#[derive(Debug)]
pub struct ServerClock {
    clock: Arc<dyn Clock>,
    last: Mutex<Option<SyncPoint>>,
}

impl ServerClock {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            last: Mutex::new(None),
        }
    }

    pub fn device(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Learn server time from a response (its `Date` header or a `server_time` field).
    pub fn observe(&self, server_time: DateTime<Utc>) {
        let s = SyncPoint {
            server_time,
            device_time: self.clock.now(),
            monotonic: self.clock.monotonic(),
        };
        if let Ok(mut last) = self.last.lock() {
            *last = Some(s);
        }
    }

    /// Learn from an HTTP `Date` header value; ignores unparsable values.
    pub fn observe_http_date(&self, value: &str) {
        if let Ok(t) = httpdate::parse_http_date(value) {
            self.observe(DateTime::<Utc>::from(t));
        }
    }

    fn last(&self) -> Option<SyncPoint> {
        self.last.lock().ok().and_then(|l| *l)
    }

    /// Server minus device clock at the last sync.
    pub fn offset(&self) -> Option<chrono::Duration> {
        self.last().map(|s| s.server_time - s.device_time)
    }

    /// Best estimate of server time now: the last server time plus monotonic time elapsed
    /// since (immune to the user changing the date); the device clock before any sync.
    pub fn now(&self) -> DateTime<Utc> {
        match self.last() {
            Some(s) => {
                let elapsed = self.clock.monotonic().saturating_sub(s.monotonic);
                s.server_time + chrono::Duration::from_std(elapsed).unwrap_or_default()
            }
            None => self.clock.now(),
        }
    }

    /// Like [`ServerClock::now`], but refuses an implausible device clock when the server
    /// time was never learned.
    pub fn trusted_now(&self) -> Result<DateTime<Utc>, ClockError> {
        let now = self.now();
        if self.last().is_none() && now < min_plausible_time() {
            return Err(ClockError::Implausible { device: now });
        }
        Ok(now)
    }

    /// For sealing a punch: the server time of the last sync and the monotonic milliseconds
    /// since.
    pub fn since_sync(&self) -> Option<(DateTime<Utc>, u64)> {
        self.last().map(|s| {
            let ms = self
                .clock
                .monotonic()
                .saturating_sub(s.monotonic)
                .as_millis();
            (s.server_time, u64::try_from(ms).unwrap_or(u64::MAX))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn server_time_survives_a_clock_set_years_off() {
        let real = Utc
            .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .single()
            .unwrap_or_else(Utc::now);
        let wrong = Utc
            .with_ymd_and_hms(2001, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_else(Utc::now);
        let device = Arc::new(ManualClock::new(wrong));
        let sc = ServerClock::new(device.clone());
        assert_eq!(
            sc.trusted_now(),
            Err(ClockError::Implausible { device: wrong })
        );
        sc.observe_http_date("Mon, 02 Mar 2026 09:00:00 GMT");
        assert_eq!(sc.now(), real);
        assert!(
            sc.offset()
                .is_some_and(|o| o > chrono::Duration::days(9000))
        );
        device.advance(Duration::from_secs(90));
        // The user "fixes" the wall clock to something else again: monotonic time wins.
        device.set_wall(wrong + chrono::Duration::days(3));
        assert_eq!(sc.trusted_now(), Ok(real + chrono::Duration::seconds(90)));
        assert_eq!(sc.since_sync(), Some((real, 90_000)));
        sc.observe_http_date("garbage");
        assert_eq!(sc.since_sync(), Some((real, 90_000)));
    }
}
