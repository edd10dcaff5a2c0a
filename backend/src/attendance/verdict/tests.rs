//! The verdict case by case.

use chrono::{DateTime, Duration, Utc};
use faceid_protocol::attendance::Verdict;

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("time")
}

/// A phone punch that passes every rule.
fn phone() -> Evidence {
    Evidence {
        station: Station::Phone,
        challenge: Challenge::Passed,
        face: Some(FaceMatch {
            distance: 0.3,
            threshold: 0.5,
            device_distance: Some(0.2),
        }),
        live: true,
        quality: vec![],
        place: Some(Place {
            fix: Some(Fix {
                accuracy_m: 10.0,
                mock: false,
            }),
            inside_site: Some(true),
        }),
        clock: Some(Clock {
            device_time: now() - Duration::seconds(5),
            estimated_server_time: None,
        }),
        now: now(),
    }
}

/// A kiosk punch that passes every rule.
fn kiosk() -> Evidence {
    Evidence {
        station: Station::Kiosk,
        face: None,
        place: None,
        clock: None,
        ..phone()
    }
}

fn policy() -> AttendancePolicy {
    AttendancePolicy::default()
}

fn lenient() -> AttendancePolicy {
    AttendancePolicy {
        geofence_required: false,
        ..AttendancePolicy::default()
    }
}

/// The verdict and its reasons' wire texts (what the answer and the log hold).
fn verdict(e: &Evidence, p: &AttendancePolicy) -> (Verdict, Vec<String>) {
    let j = judge(e, p);
    (j.verdict, ReasonCode::texts(&j.reasons))
}

fn reasons(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_clean_punch_is_verified_at_the_server_time() {
    let j = judge(&phone(), &policy());
    assert_eq!(j.verdict, Verdict::Verified);
    assert!(j.reasons.is_empty());
    assert_eq!(j.occurred_at, now());
    let j = judge(&kiosk(), &policy());
    assert_eq!(j.verdict, Verdict::Verified);
    assert_eq!(j.occurred_at, now());
}

#[test]
fn a_failed_challenge_rejects_on_a_phone_and_flags_at_a_kiosk() {
    let e = Evidence {
        challenge: Challenge::Failed(ReasonCode::ChallengeFailed),
        ..phone()
    };
    assert_eq!(
        verdict(&e, &policy()),
        (Verdict::Rejected, reasons(&["challenge_failed"]))
    );
    let e = Evidence {
        challenge: Challenge::Failed(ReasonCode::ChallengeFaceMismatch),
        ..kiosk()
    };
    assert_eq!(
        verdict(&e, &policy()),
        (Verdict::Flagged, reasons(&["challenge_face_mismatch"]))
    );
}

#[test]
fn a_missing_challenge_is_flagged_only_when_the_policy_asks_for_one() {
    for e in [phone(), kiosk()] {
        let e = Evidence {
            challenge: Challenge::NotSent,
            ..e
        };
        assert_eq!(
            verdict(&e, &policy()),
            (Verdict::Flagged, reasons(&["challenge_missing"]))
        );
        let passive = AttendancePolicy {
            liveness_mode: LivenessMode::Passive,
            ..policy()
        };
        assert_eq!(verdict(&e, &passive), (Verdict::Verified, vec![]));
    }
}

#[test]
fn another_face_is_rejected_and_a_disagreeing_device_descriptor_flagged() {
    let mismatch = Evidence {
        face: Some(FaceMatch {
            distance: 0.51,
            threshold: 0.5,
            device_distance: None,
        }),
        ..phone()
    };
    assert_eq!(
        verdict(&mismatch, &policy()),
        (Verdict::Rejected, reasons(&["face_mismatch"]))
    );
    let at_threshold = Evidence {
        face: Some(FaceMatch {
            distance: 0.5,
            threshold: 0.5,
            device_distance: Some(0.6),
        }),
        ..phone()
    };
    assert_eq!(
        verdict(&at_threshold, &policy()),
        (Verdict::Flagged, reasons(&["device_descriptor_mismatch"]))
    );
}

#[test]
fn failed_passive_liveness_rejects_everywhere() {
    for e in [phone(), kiosk()] {
        let e = Evidence { live: false, ..e };
        assert_eq!(
            verdict(&e, &policy()),
            (Verdict::Rejected, reasons(&["liveness_failed"]))
        );
    }
}

#[test]
fn image_quality_flags_except_what_the_station_expects() {
    let e = Evidence {
        quality: vec![
            ReasonCode::QualityOffCentre,
            ReasonCode::QualityTooBlurry,
            ReasonCode::QualitySeveralFaces,
        ],
        ..phone()
    };
    assert_eq!(
        verdict(&e, &policy()),
        (
            Verdict::Flagged,
            reasons(&["quality_too_blurry", "quality_several_faces"])
        )
    );
    let e = Evidence {
        quality: vec![
            ReasonCode::QualityOffCentre,
            ReasonCode::QualityTooBlurry,
            ReasonCode::QualitySeveralFaces,
        ],
        ..kiosk()
    };
    assert_eq!(
        verdict(&e, &policy()),
        (Verdict::Flagged, reasons(&["quality_too_blurry"]))
    );
}

#[test]
fn a_missing_place_is_rejected_when_a_geofence_is_required_else_flagged() {
    let fix = Some(Fix {
        accuracy_m: 10.0,
        mock: false,
    });
    let cases = [
        (None, Some(true), "no_location"),
        (fix, None, "no_site"),
        (fix, Some(false), "outside_geofence"),
    ];
    for (fix, inside_site, reason) in cases {
        let e = Evidence {
            place: Some(Place { fix, inside_site }),
            ..phone()
        };
        assert_eq!(
            verdict(&e, &policy()),
            (Verdict::Rejected, reasons(&[reason])),
            "{reason}"
        );
        assert_eq!(
            verdict(&e, &lenient()),
            (Verdict::Flagged, reasons(&[reason])),
            "{reason}"
        );
    }
}

#[test]
fn a_poor_or_mock_fix_is_flagged() {
    let e = Evidence {
        place: Some(Place {
            fix: Some(Fix {
                accuracy_m: 150.0,
                mock: true,
            }),
            inside_site: Some(true),
        }),
        ..phone()
    };
    assert_eq!(
        verdict(&e, &policy()),
        (
            Verdict::Flagged,
            reasons(&["accuracy_too_low", "mock_location"])
        )
    );
}

#[test]
fn an_offline_punch_counts_at_its_device_time_when_the_clock_is_plausible() {
    let device_time = now() - Duration::hours(2);
    let e = Evidence {
        clock: Some(Clock {
            device_time,
            estimated_server_time: Some(device_time + Duration::seconds(30)),
        }),
        ..phone()
    };
    let j = judge(&e, &policy());
    assert_eq!(j.verdict, Verdict::Verified);
    assert_eq!(j.occurred_at, device_time);

    let short = AttendancePolicy {
        max_offline_delay_s: 3600,
        ..policy()
    };
    let j = judge(&e, &short);
    assert_eq!(
        (j.verdict, ReasonCode::texts(&j.reasons)),
        (Verdict::Flagged, reasons(&["offline_too_long"]))
    );
    assert_eq!(j.occurred_at, device_time);
}

#[test]
fn an_implausible_clock_is_flagged_and_the_server_time_kept() {
    let device_time = now() - Duration::hours(2);
    for estimated in [
        None,
        Some(device_time + Duration::seconds(600)),
        Some(now() + Duration::seconds(60)),
    ] {
        let e = Evidence {
            clock: Some(Clock {
                device_time,
                estimated_server_time: estimated,
            }),
            ..phone()
        };
        let j = judge(&e, &policy());
        assert_eq!(
            (j.verdict, ReasonCode::texts(&j.reasons)),
            (Verdict::Flagged, reasons(&["clock_implausible"])),
            "{estimated:?}"
        );
        assert_eq!(j.occurred_at, now());
    }
}

#[test]
fn rejecting_reasons_come_first_and_win_over_flags() {
    let e = Evidence {
        challenge: Challenge::NotSent,
        live: false,
        quality: vec![ReasonCode::QualityTooDark],
        place: Some(Place {
            fix: None,
            inside_site: None,
        }),
        ..phone()
    };
    assert_eq!(
        verdict(&e, &policy()),
        (
            Verdict::Rejected,
            reasons(&[
                "liveness_failed",
                "no_location",
                "challenge_missing",
                "quality_too_dark"
            ])
        )
    );
}
