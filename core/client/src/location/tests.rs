use super::*;
use chrono::TimeZone;
use faceid_protocol::location::{LocationBatch, WorkingHours};
use uuid::Uuid;

// Monday 2 March 2026, 09:00 UTC = 12:00 in Moscow.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn fix(at: DateTime<Utc>, lat: f64, lon: f64, accuracy: f64) -> LocationPoint {
    LocationPoint {
        recorded_at: at,
        lat,
        lon,
        accuracy,
        speed: None,
        bearing: None,
        altitude: None,
        mock: false,
        jump: false,
        battery: Some(50),
    }
}

fn policy(interval_s: u32) -> TrackingPolicy {
    TrackingPolicy {
        enabled: true,
        interval_s,
        working_hours: None,
        max_accuracy_m: 50.0,
    }
}

fn recorder(dir: &std::path::Path) -> (Recorder, Arc<Outbox>) {
    let ob = Arc::new(Outbox::open_in(dir, Uuid::new_v4()).expect("outbox"));
    let mut r = Recorder::new(ob.clone()).expect("recorder");
    r.set_policy(policy(60)).expect("policy");
    r.set_consent(true);
    (r, ob)
}

fn sent_points(ob: &Outbox) -> Vec<LocationPoint> {
    ob.seal_points(t0()).expect("seal");
    let mut out = Vec::new();
    while let Some(c) = ob
        .claim_next(t0() + secs(86_400), crate::outbox::DEFAULT_LEASE)
        .expect("claim")
    {
        let b: LocationBatch = serde_json::from_str(&c.payload).expect("batch");
        out.extend(b.points);
        ob.complete(c.idempotency_key).expect("complete");
    }
    out
}

#[test]
fn filters_inaccurate_duplicates_too_soon_and_invalid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut r, ob) = recorder(dir.path());
    let now = t0() + secs(3600);
    let a = fix(t0(), 55.75, 37.61, 10.0);
    let decisions = r
        .record_many(
            &[
                a.clone(),
                a.clone(),                                // exact duplicate
                fix(t0(), 55.76, 37.61, 10.0),            // same time, other place
                fix(t0() - secs(60), 55.75, 37.61, 10.0), // older
                fix(t0() + secs(30), 55.75, 37.61, 10.0), // sooner than 60 s
                fix(t0() + secs(60), 55.75, 37.61, 80.0), // worse than 50 m
                fix(t0() + secs(60), 95.0, 37.61, 10.0),  // latitude out of range
                fix(t0() + secs(60), f64::NAN, 37.61, 10.0),
                fix(t0() + secs(60), 55.7501, 37.61, 10.0), // fine
            ],
            now,
        )
        .expect("record");
    assert_eq!(
        decisions[0],
        Decision::Recorded {
            mock: false,
            jump: false
        }
    );
    assert_eq!(decisions[1], Decision::Dropped(DropReason::Duplicate));
    assert_eq!(decisions[2], Decision::Dropped(DropReason::OutOfOrder));
    assert_eq!(decisions[3], Decision::Dropped(DropReason::OutOfOrder));
    assert_eq!(decisions[4], Decision::Dropped(DropReason::TooSoon));
    assert!(matches!(
        decisions[5],
        Decision::Dropped(DropReason::TooInaccurate { .. })
    ));
    assert!(matches!(
        &decisions[6],
        Decision::Dropped(DropReason::Invalid(e)) if e.code() == "out_of_range"
    ));
    assert!(matches!(
        &decisions[7],
        Decision::Dropped(DropReason::Invalid(e)) if e.code() == "not_finite"
    ));
    assert_eq!(
        decisions[8],
        Decision::Recorded {
            mock: false,
            jump: false
        }
    );
    let s = r.stats();
    assert_eq!((s.received, s.recorded, s.dropped), (9, 2, 7));
    let pts = sent_points(&ob);
    assert_eq!(pts.len(), 2);
    assert_eq!(pts[0], a);
}

#[test]
fn clock_years_off_is_a_typed_drop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut r, _ob) = recorder(dir.path());
    let old = Utc
        .with_ymd_and_hms(2003, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(t0());
    let d = r.record(fix(old, 55.0, 37.0, 5.0), t0()).expect("record");
    assert!(matches!(
        d,
        Decision::Dropped(DropReason::Invalid(ref e)) if e.code() == "time_too_old"
    ));
    let future = t0() + chrono::Duration::days(4 * 365);
    let d = r
        .record(fix(future, 55.0, 37.0, 5.0), t0())
        .expect("record");
    assert!(matches!(
        d,
        Decision::Dropped(DropReason::Invalid(ref e)) if e.code() == "time_in_future"
    ));
}

#[test]
fn flags_mock_and_implausible_jumps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut r, ob) = recorder(dir.path());
    r.set_max_speed(50.0).expect("speed");
    let now = t0() + secs(3600);
    let mut mock = fix(t0(), 55.75, 37.61, 5.0);
    mock.mock = true;
    let d = r
        .record_many(
            &[
                mock,
                // ~1.1 km in 60 s = 18.5 m/s: a car, fine.
                fix(t0() + secs(60), 55.76, 37.61, 5.0),
                // ~111 km in 60 s: a jump.
                fix(t0() + secs(120), 56.76, 37.61, 5.0),
                // 2 km in 60 s = 33 m/s: below the limit.
                fix(t0() + secs(180), 56.778, 37.61, 5.0),
            ],
            now,
        )
        .expect("record");
    assert_eq!(
        d[0],
        Decision::Recorded {
            mock: true,
            jump: false
        }
    );
    assert_eq!(
        d[1],
        Decision::Recorded {
            mock: false,
            jump: false
        }
    );
    assert_eq!(
        d[2],
        Decision::Recorded {
            mock: false,
            jump: true
        }
    );
    assert_eq!(
        d[3],
        Decision::Recorded {
            mock: false,
            jump: false
        }
    );
    // 80 m in 60 s is 1.3 m/s, above a 1 m/s limit, but within the two 45 m accuracy radii:
    // GPS noise, not a jump.
    r.set_max_speed(1.0).expect("speed");
    let mut prev = fix(t0() + secs(240), 56.778, 37.61, 45.0);
    assert!(matches!(
        r.record(prev.clone(), now).expect("record"),
        Decision::Recorded { .. }
    ));
    prev.recorded_at += secs(60);
    prev.lat += 80.0 / 111_195.0;
    assert_eq!(
        r.record(prev, now).expect("record"),
        Decision::Recorded {
            mock: false,
            jump: false
        }
    );
    let pts = sent_points(&ob);
    assert!(pts[0].mock && !pts[0].jump);
    assert!(pts[2].jump);
    assert!(r.set_max_speed(f64::NAN).is_err());
    assert!(r.set_max_speed(0.0).is_err());
}

#[test]
fn respects_enabled_consent_and_working_hours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut r, _ob) = recorder(dir.path());
    let now = t0() + secs(86_400 * 7);
    r.set_consent(false);
    assert_eq!(
        r.record(fix(t0(), 55.0, 37.0, 5.0), now).expect("record"),
        Decision::Dropped(DropReason::NoConsent)
    );
    r.set_consent(true);
    r.set_policy(TrackingPolicy {
        enabled: false,
        ..policy(60)
    })
    .expect("policy");
    assert_eq!(
        r.record(fix(t0(), 55.0, 37.0, 5.0), now).expect("record"),
        Decision::Dropped(DropReason::TrackingDisabled)
    );
    // Mon 09:00–18:00 and a Fri night shift 22:00–06:00, Moscow time (UTC+3).
    let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
    r.set_policy(TrackingPolicy {
        working_hours: Some(WorkingHours {
            time_zone: "Europe/Moscow".into(),
            windows: vec![
                WorkingWindow {
                    weekday: Weekday::Mon,
                    start: hm(9, 0),
                    end: hm(18, 0),
                },
                WorkingWindow {
                    weekday: Weekday::Fri,
                    start: hm(22, 0),
                    end: hm(6, 0),
                },
            ],
        }),
        ..policy(60)
    })
    .expect("policy");
    let at = |d, h, m| {
        Utc.with_ymd_and_hms(2026, 3, d, h, m, 0)
            .single()
            .unwrap_or(t0())
    };
    // Mon 2 March: 05:59 UTC = 08:59 MSK (out), 06:00 UTC = 09:00 (in), 15:00 UTC = 18:00 (out).
    assert!(!r.is_active_at(at(2, 5, 59)));
    assert!(r.is_active_at(at(2, 6, 0)));
    assert!(r.is_active_at(at(2, 14, 59)));
    assert!(!r.is_active_at(at(2, 15, 0)));
    // Fri 6 March 19:00 UTC = 22:00 MSK (in); Sat 7 March 02:59 UTC = 05:59 MSK (in); 03:00 out.
    assert!(!r.is_active_at(at(6, 18, 59)));
    assert!(r.is_active_at(at(6, 19, 0)));
    assert!(r.is_active_at(at(7, 2, 59)));
    assert!(!r.is_active_at(at(7, 3, 0)));
    // Tuesday: nothing.
    assert!(!r.is_active_at(at(3, 9, 0)));
    assert_eq!(
        r.record(fix(at(3, 9, 0), 55.0, 37.0, 5.0), now)
            .expect("record"),
        Decision::Dropped(DropReason::OutsideWorkingHours)
    );
    assert!(matches!(
        r.record(fix(at(2, 10, 0), 55.0, 37.0, 5.0), now)
            .expect("record"),
        Decision::Recorded { .. }
    ));
}

#[test]
fn bad_policies_are_refused_and_previous_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut r, _ob) = recorder(dir.path());
    let err = r
        .set_policy(TrackingPolicy {
            working_hours: Some(WorkingHours {
                time_zone: "Mars/Olympus_Mons".into(),
                windows: vec![],
            }),
            ..policy(60)
        })
        .expect_err("zone");
    assert!(matches!(err, RecorderError::UnknownTimeZone(_)));
    let err = r
        .set_policy(TrackingPolicy {
            max_accuracy_m: f64::NAN,
            ..policy(60)
        })
        .expect_err("accuracy");
    assert!(matches!(err, RecorderError::InvalidPolicy(_)));
    assert_eq!(r.policy(), &policy(60));
}

#[test]
fn batches_of_500_and_state_survives_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut r, ob) = recorder(dir.path());
    r.set_policy(policy(5)).expect("policy");
    let fixes: Vec<LocationPoint> = (0..1_203)
        .map(|i| fix(t0() + secs(5 * i), 55.0 + i as f64 * 1e-5, 37.0, 5.0))
        .collect();
    let now = t0() + secs(86_400);
    for chunk in fixes.chunks(100) {
        r.record_many(chunk, now).expect("record");
    }
    assert_eq!(r.stats().batches, 2);
    let s = ob.stats().expect("stats");
    assert_eq!((s.location_batch, s.staged_points), (2, 203));
    // Restart: a new recorder over the same outbox knows the last fix, so re-feeding the
    // last one is a duplicate, not a second copy.
    drop(r);
    let mut r2 = Recorder::new(ob.clone()).expect("recorder");
    r2.set_policy(policy(5)).expect("policy");
    r2.set_consent(true);
    let last = fixes.last().cloned().expect("fixes");
    assert_eq!(
        r2.record(last, now).expect("record"),
        Decision::Dropped(DropReason::Duplicate)
    );
    let pts = sent_points(&ob);
    assert_eq!(pts, fixes);
}
