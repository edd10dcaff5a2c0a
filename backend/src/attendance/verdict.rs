//! The verdict of a punch: a pure function ([`judge`]) from what was measured (the
//! [`Evidence`]) and the [`AttendancePolicy`] to `verified`, `flagged` with reasons, or
//! `rejected` with reasons. No database, no engine, no HTTP: the handlers measure, this module
//! decides.
//!
//! A rejecting reason wins over flags. The reasons are listed rejecting ones first, each group
//! in the order the rules are applied: the challenge, the face, liveness, image quality, the
//! place, the time.

use chrono::{DateTime, Duration, Utc};
use faceid_protocol::attendance::{AttendancePolicy, LivenessMode, Verdict};
use faceid_protocol::reason_code::ReasonCode;

use super::policy::{Severity, place_severity};

/// Where the punch was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Station {
    /// The employee's own phone: a failed challenge rejects the punch.
    Phone,
    /// A kiosk at the door, a fixed and supervised device: a failed challenge flags the punch
    /// (a still camera, or a person who does not follow the prompts, always fails one), and
    /// several faces in the frame are expected (a queue).
    Kiosk,
}

/// The head-movement challenge of a punch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// None was answered.
    NotSent,
    /// Answered and passed.
    Passed,
    /// Answered and failed, with the reason ([`ReasonCode::ChallengeFailed`],
    /// [`ReasonCode::ChallengeFaceMismatch`]).
    Failed(ReasonCode),
}

/// The 1:1 face match of a phone punch against the employee's templates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceMatch {
    /// Smallest distance to the employee's templates.
    pub distance: f32,
    /// Largest distance accepted as the same person.
    pub threshold: f32,
    /// Distance between the descriptor the device computed and the server's, when the device
    /// sent one of the same model.
    pub device_distance: Option<f32>,
}

/// A GPS fix of a phone punch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub accuracy_m: f64,
    /// The device reported a mock location.
    pub mock: bool,
}

/// The place of a phone punch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// `None`: the punch came without a fix.
    pub fix: Option<Fix>,
    /// Whether the fix is inside the nearest of the employee's sites (allowing for its
    /// accuracy); `None`: no site to compare with.
    pub inside_site: Option<bool>,
}

/// The clock of a phone punch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// When the device says the punch happened.
    pub device_time: DateTime<Utc>,
    /// The server time the device estimates from its last sync, when it has one.
    pub estimated_server_time: Option<DateTime<Utc>>,
}

/// Everything the verdict looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub station: Station,
    pub challenge: Challenge,
    /// The 1:1 match of a phone punch; `None` at a kiosk (identified 1:N before judging).
    pub face: Option<FaceMatch>,
    /// Passive liveness passed.
    pub live: bool,
    /// Image-quality reasons of the best frame (`quality_too_blurry`, `quality_off_centre`, ...).
    pub quality: Vec<ReasonCode>,
    /// The place of a phone punch; `None` at a kiosk (it stands at its site).
    pub place: Option<Place>,
    /// The device clock of a phone punch; `None` at a kiosk (the server's clock is the truth).
    pub clock: Option<Clock>,
    /// The server's clock when the punch arrived.
    pub now: DateTime<Utc>,
}

/// The verdict, its reasons and the moment the punch counts for.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub reasons: Vec<ReasonCode>,
    /// The server's clock, or the device's for a plausible offline punch.
    pub occurred_at: DateTime<Utc>,
}

/// An offline punch is one whose device time is more than this behind the server's clock.
const ONLINE_SLACK_S: i64 = 120;

#[derive(Default)]
struct Reasons {
    reject: Vec<ReasonCode>,
    flag: Vec<ReasonCode>,
}

impl Reasons {
    fn push(&mut self, severity: Severity, reason: ReasonCode) {
        match severity {
            Severity::Reject => self.reject.push(reason),
            Severity::Flag => self.flag.push(reason),
        }
    }
}

/// Judges a punch (see the module docs).
pub fn judge(e: &Evidence, policy: &AttendancePolicy) -> Judgement {
    let mut r = Reasons::default();

    match e.challenge {
        Challenge::Passed => {}
        Challenge::Failed(reason) => r.push(
            match e.station {
                Station::Phone => Severity::Reject,
                Station::Kiosk => Severity::Flag,
            },
            reason,
        ),
        Challenge::NotSent => {
            if policy.liveness_mode == LivenessMode::PassiveChallenge {
                r.push(Severity::Flag, ReasonCode::ChallengeMissing);
            }
        }
    }

    if let Some(face) = &e.face {
        if face.distance > face.threshold {
            r.push(Severity::Reject, ReasonCode::FaceMismatch);
        }
        if face.device_distance.is_some_and(|d| d > face.threshold) {
            r.push(Severity::Flag, ReasonCode::DeviceDescriptorMismatch);
        }
    }

    if !e.live {
        r.push(Severity::Reject, ReasonCode::LivenessFailed);
    }
    for &q in &e.quality {
        let expected = q == ReasonCode::QualityOffCentre
            || (e.station == Station::Kiosk && q == ReasonCode::QualitySeveralFaces);
        if !expected {
            r.push(Severity::Flag, q);
        }
    }

    if let Some(place) = &e.place {
        let missing = match (place.fix, place.inside_site) {
            (None, _) => Some(ReasonCode::NoLocation),
            (Some(_), None) => Some(ReasonCode::NoSite),
            (Some(_), Some(false)) => Some(ReasonCode::OutsideGeofence),
            (Some(_), Some(true)) => None,
        };
        if let Some(reason) = missing {
            r.push(place_severity(policy), reason);
        }
        if let Some(fix) = place.fix {
            if fix.accuracy_m > policy.max_gps_accuracy_m {
                r.push(Severity::Flag, ReasonCode::AccuracyTooLow);
            }
            if fix.mock {
                r.push(Severity::Flag, ReasonCode::MockLocation);
            }
        }
    }

    let occurred_at = match &e.clock {
        Some(clock) => judge_time(clock, e.now, policy, &mut r),
        None => e.now,
    };

    let verdict = if !r.reject.is_empty() {
        Verdict::Rejected
    } else if !r.flag.is_empty() {
        Verdict::Flagged
    } else {
        Verdict::Verified
    };
    Judgement {
        verdict,
        reasons: r.reject.into_iter().chain(r.flag).collect(),
        occurred_at,
    }
}

/// Time plausibility: the moment the punch counts for, and a flag when implausible.
fn judge_time(
    clock: &Clock,
    now: DateTime<Utc>,
    policy: &AttendancePolicy,
    r: &mut Reasons,
) -> DateTime<Utc> {
    let device = clock.device_time;
    let delay = now - device;
    if delay <= Duration::seconds(ONLINE_SLACK_S) {
        // Online (or nearly): the server's clock is the truth.
        return now;
    }
    let plausible = clock
        .estimated_server_time
        .is_some_and(|est| (est - device).num_seconds().abs() <= ONLINE_SLACK_S && est <= now);
    if !plausible {
        r.push(Severity::Flag, ReasonCode::ClockImplausible);
        return now;
    }
    if delay.num_seconds() > policy.max_offline_delay_s {
        r.push(Severity::Flag, ReasonCode::OfflineTooLong);
    }
    device
}

#[cfg(test)]
mod tests;
