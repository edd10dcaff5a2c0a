//! The verdict of a punch: a pure function from what was measured and checked to `verified`,
//! `flagged(reasons)` or `rejected(reasons)` under the attendance policy. No I/O: the handlers
//! gather the evidence (engine, database, challenge) and call [`judge_punch`] or
//! [`judge_kiosk`].
//!
//! A rejecting reason wins over flags; the answer lists the rejecting reasons first, then the
//! flags, each in the order the checks run (challenge, face, liveness, quality, place, time).

use chrono::{DateTime, Utc};
use faceid_protocol::attendance::{CheckInEvidence, Verdict};

use super::policy::{AttendancePolicy, LivenessMode};

/// How the active-liveness challenge went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// Passed, and the challenge face is the best frame's face.
    Passed,
    Failed,
    /// Passed by another face than the best frame's.
    FaceMismatch,
    /// No challenge was sent with the punch.
    NotSent,
}

/// The face match against the employee's templates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceMatch {
    /// Smallest distance to a template.
    pub distance: f32,
    /// Largest distance accepted as the same person.
    pub threshold: f32,
    /// Distance between the descriptor the device computed and the server's, when the device
    /// sent one of the same model.
    pub device_distance: Option<f32>,
}

/// Where the punch was made, relative to the employee's sites.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Place {
    /// No GPS fix was sent.
    NoFix,
    /// A fix, but the employee has no site with a geofence.
    NoSite { accuracy_m: f64, mock: bool },
    /// A fix relative to the nearest site.
    Near {
        inside: bool,
        accuracy_m: f64,
        mock: bool,
    },
}

/// The device clock judged against the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Sent within two minutes: the server's time counts.
    Online,
    /// An offline punch whose clock does not agree with the server's estimate.
    Implausible,
    /// An offline punch `delay_s` seconds old with a plausible clock.
    Offline { delay_s: i64 },
}

/// Everything a phone punch's verdict depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct PunchEvidence<'a> {
    pub challenge: Challenge,
    pub face: FaceMatch,
    /// Passive liveness passed.
    pub live: bool,
    /// Quality problems of the best frame (their codes).
    pub quality_problems: &'a [&'static str],
    pub place: Place,
    pub clock: Clock,
}

/// The verdict with its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Verified,
    Flagged(Vec<String>),
    Rejected(Vec<String>),
}

impl Judgement {
    pub fn verdict(&self) -> Verdict {
        match self {
            Judgement::Verified => Verdict::Verified,
            Judgement::Flagged(_) => Verdict::Flagged,
            Judgement::Rejected(_) => Verdict::Rejected,
        }
    }

    pub fn reasons(&self) -> &[String] {
        match self {
            Judgement::Verified => &[],
            Judgement::Flagged(r) | Judgement::Rejected(r) => r,
        }
    }
}

/// Collects reasons while the checks run.
#[derive(Default)]
struct Reasons {
    reject: Vec<String>,
    flag: Vec<String>,
}

impl Reasons {
    fn reject(&mut self, code: &str) {
        self.reject.push(code.to_owned());
    }

    fn flag(&mut self, code: &str) {
        self.flag.push(code.to_owned());
    }

    /// A place problem: rejected when the policy requires a geofence, else flagged.
    fn place(&mut self, rules: &AttendancePolicy, code: &str) {
        if rules.geofence_required {
            self.reject(code);
        } else {
            self.flag(code);
        }
    }

    /// Quality problems as `quality_<code>` flags, except the ignored ones.
    fn quality(&mut self, problems: &[&str], ignored: &[&str]) {
        for q in problems.iter().filter(|q| !ignored.contains(q)) {
            self.flag.push(format!("quality_{q}"));
        }
    }

    fn finish(self) -> Judgement {
        if !self.reject.is_empty() {
            Judgement::Rejected(self.reject.into_iter().chain(self.flag).collect())
        } else if !self.flag.is_empty() {
            Judgement::Flagged(self.flag)
        } else {
            Judgement::Verified
        }
    }
}

/// The verdict of a punch from the employee's own device.
pub fn judge_punch(e: &PunchEvidence<'_>, rules: &AttendancePolicy) -> Judgement {
    let mut r = Reasons::default();
    match e.challenge {
        Challenge::Passed => {}
        Challenge::Failed => r.reject("challenge_failed"),
        Challenge::FaceMismatch => r.reject("challenge_face_mismatch"),
        Challenge::NotSent => {
            if rules.liveness_mode == LivenessMode::PassiveChallenge {
                r.flag("challenge_missing");
            }
        }
    }
    if e.face.distance > e.face.threshold {
        r.reject("face_mismatch");
    }
    if e.face.device_distance.is_some_and(|d| d > e.face.threshold) {
        r.flag("device_descriptor_mismatch");
    }
    if !e.live {
        r.reject("liveness_failed");
    }
    r.quality(e.quality_problems, &["off_centre"]);
    let fix = match e.place {
        Place::NoFix => {
            r.place(rules, "no_location");
            None
        }
        Place::NoSite { accuracy_m, mock } => {
            r.place(rules, "no_site");
            Some((accuracy_m, mock))
        }
        Place::Near {
            inside,
            accuracy_m,
            mock,
        } => {
            if !inside {
                r.place(rules, "outside_geofence");
            }
            Some((accuracy_m, mock))
        }
    };
    if let Some((accuracy_m, mock)) = fix {
        if accuracy_m > rules.max_gps_accuracy_m {
            r.flag("accuracy_too_low");
        }
        if mock {
            r.flag("mock_location");
        }
    }
    match e.clock {
        Clock::Online => {}
        Clock::Implausible => r.flag("clock_implausible"),
        Clock::Offline { delay_s } => {
            if delay_s > rules.max_offline_delay_s {
                r.flag("offline_too_long");
            }
        }
    }
    r.finish()
}

/// The verdict of a kiosk punch (the person was identified 1:N; a kiosk sees several faces
/// in passing, so that is not a quality problem there).
pub fn judge_kiosk(live: bool, quality_problems: &[&'static str]) -> Judgement {
    let mut r = Reasons::default();
    if !live {
        r.reject("liveness_failed");
    }
    r.quality(quality_problems, &["off_centre", "several_faces"]);
    r.finish()
}

/// The device clock of a punch judged against the server's `now`, and the moment the punch
/// counts for: the server's time unless it is a plausible offline punch.
pub fn clock(ev: &CheckInEvidence, now: DateTime<Utc>) -> (Clock, DateTime<Utc>) {
    let device = ev.clock.device_time;
    let delay = now - device;
    if delay <= chrono::Duration::seconds(120) {
        // Online (or nearly): the server's clock is the truth.
        return (Clock::Online, now);
    }
    let plausible = ev
        .clock
        .estimated_server_time()
        .is_some_and(|est| (est - device).num_seconds().abs() <= 120 && est <= now);
    if !plausible {
        return (Clock::Implausible, now);
    }
    (
        Clock::Offline {
            delay_s: delay.num_seconds(),
        },
        device,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> PunchEvidence<'static> {
        PunchEvidence {
            challenge: Challenge::Passed,
            face: FaceMatch {
                distance: 0.3,
                threshold: 0.5,
                device_distance: Some(0.1),
            },
            live: true,
            quality_problems: &[],
            place: Place::Near {
                inside: true,
                accuracy_m: 10.0,
                mock: false,
            },
            clock: Clock::Online,
        }
    }

    fn rules(geofence_required: bool) -> AttendancePolicy {
        AttendancePolicy {
            geofence_required,
            ..AttendancePolicy::default()
        }
    }

    fn reasons(j: &Judgement) -> Vec<&str> {
        j.reasons().iter().map(String::as_str).collect()
    }

    #[test]
    fn clean_punch_is_verified() {
        assert_eq!(judge_punch(&good(), &rules(true)), Judgement::Verified);
    }

    #[test]
    fn face_above_threshold_is_rejected() {
        let e = PunchEvidence {
            face: FaceMatch {
                distance: 0.51,
                ..good().face
            },
            ..good()
        };
        assert_eq!(
            judge_punch(&e, &rules(true)),
            Judgement::Rejected(vec!["face_mismatch".into()])
        );
    }

    #[test]
    fn device_descriptor_disagreeing_is_flagged() {
        let e = PunchEvidence {
            face: FaceMatch {
                device_distance: Some(0.6),
                ..good().face
            },
            ..good()
        };
        assert_eq!(
            judge_punch(&e, &rules(true)),
            Judgement::Flagged(vec!["device_descriptor_mismatch".into()])
        );
    }

    #[test]
    fn missing_challenge_is_flagged_only_when_the_policy_wants_one() {
        let e = PunchEvidence {
            challenge: Challenge::NotSent,
            ..good()
        };
        assert_eq!(reasons(&judge_punch(&e, &rules(true))), ["challenge_missing"]);
        let passive = AttendancePolicy {
            liveness_mode: LivenessMode::Passive,
            ..rules(true)
        };
        assert_eq!(judge_punch(&e, &passive), Judgement::Verified);
    }

    #[test]
    fn failed_challenge_and_liveness_reject() {
        for (challenge, code) in [
            (Challenge::Failed, "challenge_failed"),
            (Challenge::FaceMismatch, "challenge_face_mismatch"),
        ] {
            let e = PunchEvidence {
                challenge,
                ..good()
            };
            assert_eq!(
                judge_punch(&e, &rules(true)),
                Judgement::Rejected(vec![code.into()])
            );
        }
        let e = PunchEvidence {
            live: false,
            ..good()
        };
        assert_eq!(reasons(&judge_punch(&e, &rules(true))), ["liveness_failed"]);
    }

    #[test]
    fn place_problems_reject_or_flag_by_policy() {
        let cases = [
            (Place::NoFix, "no_location"),
            (
                Place::NoSite {
                    accuracy_m: 10.0,
                    mock: false,
                },
                "no_site",
            ),
            (
                Place::Near {
                    inside: false,
                    accuracy_m: 10.0,
                    mock: false,
                },
                "outside_geofence",
            ),
        ];
        for (place, code) in cases {
            let e = PunchEvidence { place, ..good() };
            assert_eq!(
                judge_punch(&e, &rules(true)),
                Judgement::Rejected(vec![code.into()])
            );
            assert_eq!(
                judge_punch(&e, &rules(false)),
                Judgement::Flagged(vec![code.into()])
            );
        }
    }

    #[test]
    fn poor_or_mocked_fix_is_flagged() {
        let e = PunchEvidence {
            place: Place::Near {
                inside: true,
                accuracy_m: 500.0,
                mock: true,
            },
            ..good()
        };
        assert_eq!(
            reasons(&judge_punch(&e, &rules(true))),
            ["accuracy_too_low", "mock_location"]
        );
    }

    #[test]
    fn quality_flags_except_off_centre() {
        let e = PunchEvidence {
            quality_problems: &["off_centre", "face_too_small", "several_faces"],
            ..good()
        };
        assert_eq!(
            reasons(&judge_punch(&e, &rules(true))),
            ["quality_face_too_small", "quality_several_faces"]
        );
        assert_eq!(
            reasons(&judge_kiosk(true, &["off_centre", "face_too_small", "several_faces"])),
            ["quality_face_too_small"]
        );
        assert_eq!(judge_kiosk(true, &[]), Judgement::Verified);
        assert_eq!(
            judge_kiosk(false, &["blurry"]),
            Judgement::Rejected(vec!["liveness_failed".into(), "quality_blurry".into()])
        );
    }

    #[test]
    fn clock_flags() {
        let e = PunchEvidence {
            clock: Clock::Implausible,
            ..good()
        };
        assert_eq!(reasons(&judge_punch(&e, &rules(true))), ["clock_implausible"]);
        let max = rules(true).max_offline_delay_s;
        for (delay_s, flagged) in [(max, false), (max + 1, true)] {
            let e = PunchEvidence {
                clock: Clock::Offline { delay_s },
                ..good()
            };
            assert_eq!(
                judge_punch(&e, &rules(true)) != Judgement::Verified,
                flagged,
                "{delay_s}"
            );
        }
    }

    #[test]
    fn rejecting_reasons_come_first_then_flags_in_check_order() {
        let e = PunchEvidence {
            challenge: Challenge::NotSent,
            live: false,
            quality_problems: &["blurry"],
            place: Place::NoFix,
            clock: Clock::Implausible,
            ..good()
        };
        assert_eq!(
            judge_punch(&e, &rules(true)),
            Judgement::Rejected(
                [
                    "liveness_failed",
                    "no_location",
                    "challenge_missing",
                    "quality_blurry",
                    "clock_implausible"
                ]
                .map(String::from)
                .to_vec()
            )
        );
    }
}
