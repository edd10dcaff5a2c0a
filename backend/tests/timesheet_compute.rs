//! Hand-computed day computations (issue 7).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use faceid_server::timesheet::compute::AnomalyKind;
use faceid_server::timesheet::schedule::ScheduleError;
use faceid_server::timesheet::*;

const DUSHANBE: Tz = chrono_tz::Asia::Dushanbe; // UTC+5, no DST
const BERLIN: Tz = chrono_tz::Europe::Berlin;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}
fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("time")
}
fn at(tz: Tz, date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    tz.from_local_datetime(&date.and_time(t(h, m)))
        .earliest()
        .expect("local time")
        .with_timezone(&Utc)
}
fn ev(id: i64, at: DateTime<Utc>, kind: PunchKind, status: EventStatus) -> AttendanceEvent {
    AttendanceEvent {
        id,
        at,
        kind,
        status,
    }
}
fn vin(id: i64, at: DateTime<Utc>) -> AttendanceEvent {
    ev(id, at, PunchKind::In, EventStatus::Verified)
}
fn vout(id: i64, at: DateTime<Utc>) -> AttendanceEvent {
    ev(id, at, PunchKind::Out, EventStatus::Verified)
}
fn every_day(s: &ShiftTemplate) -> ScheduleKind {
    ScheduleKind::Weekly {
        days: std::array::from_fn(|_| Some(s.clone())),
    }
}
fn weekdays(s: &ShiftTemplate) -> ScheduleKind {
    ScheduleKind::Weekly {
        days: std::array::from_fn(|i| (i < 5).then(|| s.clone())),
    }
}
fn office() -> ShiftTemplate {
    let mut s = ShiftTemplate::new("office", t(9, 0), t(18, 0));
    s.unpaid_break_minutes = 60;
    s.late_grace_minutes = 10;
    s.early_leave_grace_minutes = 5;
    s
}
fn book(schedule: ScheduleKind) -> ScheduleBook {
    ScheduleBook::new(vec![Assignment {
        target: AssignmentTarget::Employee(1),
        from: d(2026, 1, 1),
        to: None,
        schedule,
    }])
    .expect("valid book")
}

struct Case {
    tz: Tz,
    book: ScheduleBook,
    calendar: HolidayCalendar,
    absences: Absences,
    rules: ComputeRules,
}

impl Case {
    fn new(tz: Tz, schedule: ScheduleKind) -> Self {
        Self {
            tz,
            book: book(schedule),
            calendar: HolidayCalendar::default(),
            absences: Absences::default(),
            rules: ComputeRules::default(),
        }
    }
    fn days(
        &self,
        events: &[AttendanceEvent],
        from: NaiveDate,
        to: NaiveDate,
        now: Option<DateTime<Utc>>,
    ) -> Vec<DayRecord> {
        let facts = EmployeeFacts {
            employee: 1,
            department: None,
            tz: self.tz,
            book: &self.book,
            calendar: &self.calendar,
            absences: &self.absences,
            events,
            rules: self.rules,
            now,
        };
        compute_period(&facts, Period::new(from, to).expect("period"))
    }
    fn day(&self, events: &[AttendanceEvent], date: NaiveDate) -> DayRecord {
        self.days(events, date, date, None).remove(0)
    }
}

#[test]
fn night_shift_across_midnight() {
    let mut night = ShiftTemplate::new("night", t(22, 0), t(6, 0));
    night.unpaid_break_minutes = 30;
    let case = Case::new(DUSHANBE, every_day(&night));
    let events = [
        vin(1, at(DUSHANBE, d(2026, 3, 10), 21, 50)),
        vout(2, at(DUSHANBE, d(2026, 3, 11), 6, 10)),
    ];
    let r = case.day(&events, d(2026, 3, 10));
    // 21:50 → 06:10 = 500 min; break 30 → 470; night 22:00–06:00 = 480;
    // planned 480 − 30 = 450 → overtime 20.
    assert_eq!(r.status, DayStatus::Present);
    assert_eq!(r.intervals.len(), 1);
    assert_eq!(r.worked_minutes, 470);
    assert_eq!(r.break_deducted_minutes, 30);
    assert_eq!(r.night_minutes, 480);
    assert_eq!(r.overtime_minutes, 20);
    assert_eq!((r.late_minutes, r.early_leave_minutes), (0, 0));
    // The morning check-out belongs to the 10th, so the 11th has no events.
    let next = case.day(&events, d(2026, 3, 11));
    assert!(next.intervals.is_empty());
    assert_eq!(next.status, DayStatus::Absent);
}

#[test]
fn dst_spring_forward_night_shift_is_seven_hours() {
    let night = ShiftTemplate::new("night", t(22, 0), t(6, 0));
    let case = Case::new(BERLIN, every_day(&night));
    // 2026-03-28 22:00 CET = 21:00 UTC; 2026-03-29 06:00 CEST = 04:00 UTC.
    let events = [
        vin(1, at(BERLIN, d(2026, 3, 28), 22, 0)),
        vout(2, at(BERLIN, d(2026, 3, 29), 6, 0)),
    ];
    assert_eq!(
        events[0].at,
        Utc.with_ymd_and_hms(2026, 3, 28, 21, 0, 0)
            .single()
            .expect("utc")
    );
    assert_eq!(
        events[1].at,
        Utc.with_ymd_and_hms(2026, 3, 29, 4, 0, 0)
            .single()
            .expect("utc")
    );
    let r = case.day(&events, d(2026, 3, 28));
    assert_eq!(r.planned.as_ref().map(|p| p.planned_minutes), Some(420));
    assert_eq!(r.worked_minutes, 420);
    assert_eq!(r.night_minutes, 420);
    assert_eq!(r.overtime_minutes, 0);
    assert_eq!(r.status, DayStatus::Present);
}

#[test]
fn dst_fall_back_night_shift_is_nine_hours_and_days_are_23_and_25_hours() {
    let night = ShiftTemplate::new("night", t(22, 0), t(6, 0));
    let case = Case::new(BERLIN, every_day(&night));
    // 2026-10-24 22:00 CEST = 20:00 UTC; 2026-10-25 06:00 CET = 05:00 UTC.
    let events = [
        vin(1, at(BERLIN, d(2026, 10, 24), 22, 0)),
        vout(2, at(BERLIN, d(2026, 10, 25), 6, 0)),
    ];
    let r = case.day(&events, d(2026, 10, 24));
    assert_eq!(r.worked_minutes, 540);
    assert_eq!(r.night_minutes, 540);
    assert_eq!(r.planned.as_ref().map(|p| p.planned_minutes), Some(540));
    assert_eq!(r.overtime_minutes, 0);

    // Days off on both sides: the day's window is local midnight to midnight.
    let off = Case::new(BERLIN, weekdays(&office()));
    let spring = off.day(&[], d(2026, 3, 29)); // Sunday
    assert_eq!(spring.status, DayStatus::DayOff);
    assert_eq!(spring.window_end - spring.window_start, Duration::hours(23));
    let autumn = off.day(&[], d(2026, 10, 25)); // Sunday
    assert_eq!(autumn.window_end - autumn.window_start, Duration::hours(25));
    // Work on that Sunday from 01:00 to 04:00 local is 4 real hours (02:00–03:00 twice).
    let sunday = [
        vin(5, at(BERLIN, d(2026, 10, 25), 1, 0)),
        vout(
            6,
            Utc.with_ymd_and_hms(2026, 10, 25, 3, 0, 0)
                .single()
                .expect("utc"),
        ),
    ];
    let w = off.day(&sunday, d(2026, 10, 25));
    assert_eq!(w.worked_minutes, 240);
    assert_eq!(w.night_minutes, 240);
    assert!(w.worked_on_day_off);
}

#[test]
fn late_inside_and_beyond_grace_and_early_leave() {
    let case = Case::new(DUSHANBE, weekdays(&office()));
    let day = d(2026, 3, 10); // Tuesday
    let inside = case.day(
        &[
            vin(1, at(DUSHANBE, day, 9, 7)),
            vout(2, at(DUSHANBE, day, 18, 0)),
        ],
        day,
    );
    assert_eq!(inside.status, DayStatus::Present);
    assert_eq!(inside.late_minutes, 0);
    assert_eq!(inside.worked_minutes, 533 - 60);

    let beyond = case.day(
        &[
            vin(1, at(DUSHANBE, day, 9, 25)),
            vout(2, at(DUSHANBE, day, 18, 0)),
        ],
        day,
    );
    assert_eq!(beyond.status, DayStatus::Late { minutes: 25 });
    assert_eq!(beyond.late_minutes, 25);
    assert_eq!(beyond.worked_minutes, 515 - 60);

    let early = case.day(
        &[
            vin(1, at(DUSHANBE, day, 9, 0)),
            vout(2, at(DUSHANBE, day, 17, 40)),
        ],
        day,
    );
    assert_eq!(early.status, DayStatus::LeftEarly { minutes: 20 });
    assert_eq!(early.worked_minutes, 520 - 60);
    let within = case.day(
        &[
            vin(1, at(DUSHANBE, day, 9, 0)),
            vout(2, at(DUSHANBE, day, 17, 56)),
        ],
        day,
    );
    assert_eq!(within.status, DayStatus::Present);
}

#[test]
fn missing_checkout_under_both_rules() {
    let mut case = Case::new(DUSHANBE, weekdays(&office()));
    let day = d(2026, 3, 10);
    let events = [vin(1, at(DUSHANBE, day, 8, 55))];
    let flagged = case.day(&events, day);
    assert_eq!(flagged.status, DayStatus::MissingCheckOut);
    assert!(flagged.missing_checkout);
    assert_eq!(flagged.worked_minutes, 0);
    assert_eq!(flagged.open_since, Some(events[0].at));

    // During the day it is simply "in".
    let live = case
        .days(&events, day, day, Some(at(DUSHANBE, day, 12, 0)))
        .remove(0);
    assert_eq!(live.status, DayStatus::InProgress);
    assert!(!live.is_final);

    case.rules.missing_checkout = MissingCheckoutRule::CloseAtShiftEnd;
    let closed = case.day(&events, day);
    // 08:55 → 18:00 = 545 − 60 break = 485; planned 480 → 5 overtime.
    assert_eq!(closed.status, DayStatus::Present);
    assert_eq!(closed.worked_minutes, 485);
    assert_eq!(closed.overtime_minutes, 5);
    assert!(
        closed
            .anomalies
            .iter()
            .any(|a| a.kind == AnomalyKind::ClosedAtShiftEnd)
    );
    assert_eq!(closed.intervals[0].out_event, None);
}

#[test]
fn rotating_two_on_two_off_over_a_month() {
    let shift = ShiftTemplate::new("12h", t(8, 0), t(20, 0));
    let case = Case::new(DUSHANBE, ScheduleKind::on_off(d(2026, 3, 1), shift, 2, 2));
    let days = case.days(&[], d(2026, 3, 1), d(2026, 3, 31), None);
    let working: Vec<u32> = days
        .iter()
        .filter(|r| r.planned.is_some())
        .map(|r| chrono::Datelike::day(&r.date))
        .collect();
    assert_eq!(
        working,
        vec![1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22, 25, 26, 29, 30]
    );
    assert!(
        days.iter()
            .filter(|r| r.planned.is_some())
            .all(|r| r.status == DayStatus::Absent)
    );
    assert_eq!(
        days.iter()
            .filter(|r| r.status == DayStatus::DayOff)
            .count(),
        15
    );
    // Before the anchor the cycle runs backwards: Feb 27, 28 are off, Feb 25, 26 on.
    let cal = HolidayCalendar::default();
    assert!(
        case.book
            .planned_day(1, None, d(2026, 2, 26), &cal)
            .shift()
            .is_some()
    );
    assert!(
        case.book
            .planned_day(1, None, d(2026, 2, 28), &cal)
            .shift()
            .is_none()
    );
}

#[test]
fn sick_leave_wins_but_punches_are_shown() {
    let mut case = Case::new(DUSHANBE, weekdays(&office()));
    case.absences = Absences::new(vec![Absence {
        employee: 1,
        kind: AbsenceKind::SickLeave,
        from: d(2026, 3, 10),
        to: d(2026, 3, 12),
    }])
    .expect("absences");
    let day = d(2026, 3, 11);
    let r = case.day(
        &[
            vin(1, at(DUSHANBE, day, 9, 0)),
            vout(2, at(DUSHANBE, day, 18, 0)),
        ],
        day,
    );
    assert_eq!(
        r.status,
        DayStatus::OnLeave {
            kind: AbsenceKind::SickLeave
        }
    );
    assert_eq!(r.worked_minutes, 0);
    assert_eq!(r.overtime_minutes, 0);
    assert_eq!(r.punched_minutes_during_leave, 540);
    assert_eq!(r.intervals.len(), 1);
    assert!(
        r.anomalies
            .iter()
            .any(|a| a.kind == AnomalyKind::PunchDuringLeave)
    );
    assert_eq!(export::t13_day(&r).code_text(), "Б");
}

#[test]
fn rejected_punch_does_not_count() {
    let case = Case::new(DUSHANBE, weekdays(&office()));
    let day = d(2026, 3, 10);
    let events = [
        ev(
            1,
            at(DUSHANBE, day, 8, 58),
            PunchKind::In,
            EventStatus::Rejected,
        ),
        ev(
            2,
            at(DUSHANBE, day, 9, 0),
            PunchKind::In,
            EventStatus::FlaggedRejected,
        ),
        vin(3, at(DUSHANBE, day, 9, 30)),
        vout(4, at(DUSHANBE, day, 18, 0)),
    ];
    let r = case.day(&events, day);
    assert_eq!(r.status, DayStatus::Late { minutes: 30 });
    assert_eq!(r.worked_minutes, 510 - 60);
    let rejected: Vec<i64> = r
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::Rejected)
        .map(|a| a.event_id)
        .collect();
    assert_eq!(rejected, vec![1, 2]);
}

#[test]
fn pending_flagged_punch_is_shown_not_counted_and_accepted_counts() {
    let case = Case::new(DUSHANBE, weekdays(&office()));
    let day = d(2026, 3, 10);
    let pending = [
        ev(
            1,
            at(DUSHANBE, day, 9, 0),
            PunchKind::In,
            EventStatus::FlaggedPending,
        ),
        vout(2, at(DUSHANBE, day, 18, 0)),
    ];
    let r = case.day(&pending, day);
    assert_eq!(r.pending_event_ids, vec![1]);
    assert_eq!(r.worked_minutes, 0);
    assert!(r.intervals.is_empty());
    assert_eq!(r.status, DayStatus::Absent);
    assert!(
        r.anomalies
            .iter()
            .any(|a| a.event_id == 2 && a.kind == AnomalyKind::OutWithoutIn)
    );

    let accepted = [
        ev(
            1,
            at(DUSHANBE, day, 9, 0),
            PunchKind::In,
            EventStatus::FlaggedAccepted,
        ),
        vout(2, at(DUSHANBE, day, 18, 0)),
    ];
    let r = case.day(&accepted, day);
    assert!(r.pending_event_ids.is_empty());
    assert_eq!(r.worked_minutes, 480);
    assert_eq!(r.status, DayStatus::Present);
}

#[test]
fn duplicates_and_in_in_are_deterministic() {
    let case = Case::new(DUSHANBE, weekdays(&office()));
    let day = d(2026, 3, 10);
    let mut events = vec![
        vin(1, at(DUSHANBE, day, 9, 0)),
        vin(2, at(DUSHANBE, day, 9, 1)), // duplicate (< 2 min)
        vout(3, at(DUSHANBE, day, 13, 0)),
        vout(4, at(DUSHANBE, day, 13, 1)), // duplicate out
        vin(5, at(DUSHANBE, day, 14, 0)),
        vin(6, at(DUSHANBE, day, 15, 0)), // in while in: ignored
        vout(7, at(DUSHANBE, day, 18, 0)),
    ];
    let r = case.day(&events, day);
    // 09:00–13:00 (240) + 14:00–18:00 (240) = 480; the 60 min out already is the break.
    assert_eq!(r.worked_minutes, 480);
    assert_eq!(r.break_deducted_minutes, 0);
    let kinds: Vec<(i64, AnomalyKind)> = r.anomalies.iter().map(|a| (a.event_id, a.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (2, AnomalyKind::DuplicateIn),
            (4, AnomalyKind::DuplicateOut),
            (6, AnomalyKind::RepeatedIn)
        ]
    );
    events.reverse();
    assert_eq!(case.day(&events, day), r);
}

#[test]
fn holiday_and_transferred_working_day() {
    let mut case = Case::new(DUSHANBE, weekdays(&office()));
    case.calendar = HolidayCalendar::new(vec![
        YearCalendar::new(
            2026,
            vec![
                CalendarEntry {
                    date: d(2026, 3, 23),
                    kind: DayOverride::Holiday {
                        name: "Navruz".into(),
                    },
                },
                CalendarEntry {
                    date: d(2026, 3, 28),
                    kind: DayOverride::WorkingAs {
                        weekday: chrono::Weekday::Mon,
                    },
                },
                CalendarEntry {
                    date: d(2026, 3, 27),
                    kind: DayOverride::NonWorking,
                },
            ],
        )
        .expect("year"),
    ])
    .expect("calendar");
    let days = case.days(
        &[
            vin(1, at(DUSHANBE, d(2026, 3, 23), 10, 0)),
            vout(2, at(DUSHANBE, d(2026, 3, 23), 12, 0)),
        ],
        d(2026, 3, 23),
        d(2026, 3, 28),
        None,
    );
    assert_eq!(days[0].status, DayStatus::Present);
    assert!(days[0].worked_on_holiday);
    assert_eq!(days[0].worked_minutes, 120);
    assert_eq!(export::t13_day(&days[0]).code_text(), "РВ");
    assert_eq!(days[4].status, DayStatus::DayOff); // Friday made a day off
    assert_eq!(days[5].status, DayStatus::Absent); // Saturday worked as Monday
}

#[test]
fn overlapping_and_bad_schedules_refused() {
    let long = ShiftTemplate::new("long", t(20, 0), t(10, 0));
    let next = ShiftTemplate::new("day", t(8, 0), t(17, 0));
    let weekly = ScheduleKind::Weekly {
        days: [
            Some(long.clone()),
            Some(next.clone()),
            None,
            None,
            None,
            None,
            None,
        ],
    };
    assert!(matches!(
        weekly.validate(),
        Err(ScheduleError::OverlappingShifts { .. })
    ));
    let roster = ScheduleKind::Roster {
        days: [(d(2026, 3, 1), long), (d(2026, 3, 2), next)]
            .into_iter()
            .collect(),
    };
    assert!(matches!(
        roster.validate(),
        Err(ScheduleError::OverlappingShifts { .. })
    ));
    let zero = ShiftTemplate::new("zero", t(9, 0), t(9, 0));
    assert!(matches!(
        weekdays(&zero).validate(),
        Err(ScheduleError::ZeroLengthShift(_))
    ));
    let empty = ScheduleKind::Rotating {
        anchor: d(2026, 1, 1),
        cycle: vec![None, None],
    };
    assert!(matches!(
        empty.validate(),
        Err(ScheduleError::NonsensicalPattern(_))
    ));
    let flex = ScheduleKind::Flexible {
        requirement: schedule::FlexRequirement::PerWeek { minutes: 0 },
        work_days: [true; 7],
    };
    assert!(matches!(
        flex.validate(),
        Err(ScheduleError::NonsensicalPattern(_))
    ));
    let a = |from, to| Assignment {
        target: AssignmentTarget::Department(3),
        from,
        to,
        schedule: weekdays(&office()),
    };
    assert!(matches!(
        ScheduleBook::new(vec![
            a(d(2026, 1, 1), Some(d(2026, 6, 30))),
            a(d(2026, 6, 1), None)
        ]),
        Err(ScheduleError::OverlappingAssignments(_))
    ));
    assert!(matches!(
        ScheduleBook::new(vec![a(d(2026, 2, 1), Some(d(2026, 1, 1)))]),
        Err(ScheduleError::EmptyRange { .. })
    ));
}

#[test]
fn flexible_day_overtime_against_requirement() {
    let flex = ScheduleKind::Flexible {
        requirement: schedule::FlexRequirement::PerWeek { minutes: 40 * 60 },
        work_days: [true, true, true, true, true, false, false],
    };
    let case = Case::new(DUSHANBE, flex);
    let day = d(2026, 3, 10);
    let r = case.day(
        &[
            vin(1, at(DUSHANBE, day, 11, 0)),
            vout(2, at(DUSHANBE, day, 20, 30)),
        ],
        day,
    );
    // 9.5 h against 8 h required; no break (no fixed shift), no lateness.
    assert_eq!(r.required_minutes, 480);
    assert_eq!(r.worked_minutes, 570);
    assert_eq!(r.overtime_minutes, 90);
    assert_eq!(r.status, DayStatus::Present);
}

#[test]
fn today_view_lists_in_late_missing_and_not_checked_out() {
    let case = Case::new(DUSHANBE, weekdays(&office()));
    let day = d(2026, 3, 10);
    let now = at(DUSHANBE, day, 10, 0);
    let on_time = case
        .days(&[vin(1, at(DUSHANBE, day, 8, 55))], day, day, Some(now))
        .remove(0);
    let late = case
        .days(&[vin(2, at(DUSHANBE, day, 9, 40))], day, day, Some(now))
        .remove(0);
    let mut missing = case.days(&[], day, day, Some(now)).remove(0);
    missing.employee = 3;
    let mut late = late;
    late.employee = 2;
    let view = summary::today_view(&[on_time.clone(), late, missing], now);
    assert_eq!(view.in_now, vec![1, 2]);
    assert_eq!(view.late, vec![(2, 40)]);
    assert_eq!(view.missing, vec![3]);
    assert!(view.not_checked_out.is_empty());
    // At 19:00 the shift is over and employee 1 is still in.
    let evening = at(DUSHANBE, day, 19, 0);
    let still = case
        .days(&[vin(1, at(DUSHANBE, day, 8, 55))], day, day, Some(evening))
        .remove(0);
    let view = summary::today_view(&[still], evening);
    assert_eq!(view.not_checked_out, vec![1]);
    // Before the grace period is over nobody is missing yet.
    let early = at(DUSHANBE, day, 9, 5);
    let not_yet = case.days(&[], day, day, Some(early)).remove(0);
    assert!(summary::today_view(&[not_yet], early).missing.is_empty());
}
