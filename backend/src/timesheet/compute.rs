//! One employee, one local day: pair punches into work intervals and derive the day's
//! status and minutes.
//!
//! Rules (deterministic; the same input always gives the same [`DayRecord`]):
//! - Only `verified` and `flagged_accepted` events count. `flagged_pending` events are
//!   listed in [`DayRecord::pending_event_ids`] and never counted; `flagged_rejected` and
//!   `rejected` events are listed in [`DayRecord::ignored`].
//! - Events are ordered by (time, id). An `in` opens an interval and the next `out` closes
//!   it. A second `in` while one is open, or an `out` with nothing open, is ignored and
//!   reported (`DuplicateIn`/`RepeatedIn`, `DuplicateOut`/`OutWithoutIn`); the first `in`
//!   is kept, so a missed punch never adds time.
//! - Day attribution: the boundary between local day D and D+1 is the start of D+1's
//!   check-in window when D+1 has a fixed shift, otherwise local midnight; when D has a
//!   fixed shift the boundary is pushed to at least its end + `checkout_tail_minutes` (but
//!   never past D+1's check-in window). A night shift's morning check-out so belongs to
//!   the day the shift started on.
//! - Lateness: first counted `in` after shift start; within the grace period it is 0,
//!   beyond it the whole delay counts. Early leave likewise against the last `out`.
//! - The unpaid break is deducted once the raw worked time exceeds `break_after_minutes`,
//!   less the time already spent out between intervals inside the day.
//! - Overtime = worked − planned (shift length − break, or the flexible requirement),
//!   when positive, on working days. Work on a day off or holiday is reported through
//!   `worked_on_day_off` / `worked_on_holiday` (code РВ), not as overtime.
//! - Night minutes: real minutes inside local 22:00–06:00 (DST days give 7 h or 9 h).
//! - Leave wins: on a day covered by an absence record the status is `OnLeave`, counted
//!   worked/overtime/night minutes are 0, and any punches are still shown (intervals and
//!   `punched_minutes_during_leave`) with an anomaly so HR can reconcile.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::calendar::AbsenceKind;
use super::schedule::{EmployeeId, PlannedDay, ShiftTemplate};
use faceid_protocol::reports::DayStatusCode;
use faceid_protocol::wire_text::WireText;

/// Identifier of an attendance event.
pub type EventId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PunchKind {
    In,
    Out,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventStatus {
    Verified,
    FlaggedPending,
    FlaggedAccepted,
    FlaggedRejected,
    Rejected,
}

impl EventStatus {
    pub fn counts(self) -> bool {
        matches!(self, EventStatus::Verified | EventStatus::FlaggedAccepted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendanceEvent {
    pub id: EventId,
    pub at: DateTime<Utc>,
    pub kind: PunchKind,
    pub status: EventStatus,
}

/// What to do with an `in` that has no `out` once the day is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MissingCheckoutRule {
    /// Leave the interval open: its time is not counted, the day is `MissingCheckOut`.
    #[default]
    Flag,
    /// Close it at the planned shift end (flag it when there is no shift or the `in`
    /// came after the shift end).
    CloseAtShiftEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeRules {
    pub missing_checkout: MissingCheckoutRule,
    /// Two punches of the same kind closer than this are one punch.
    pub duplicate_window_seconds: i64,
    /// How long after a fixed shift's end its check-out still belongs to that shift's day.
    pub checkout_tail_minutes: i64,
    /// Raw worked time after which the unpaid break is deducted.
    pub break_after_minutes: i64,
}

impl Default for ComputeRules {
    fn default() -> Self {
        Self {
            missing_checkout: MissingCheckoutRule::Flag,
            duplicate_window_seconds: 120,
            checkout_tail_minutes: 240,
            break_after_minutes: 240,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnomalyKind {
    DuplicateIn,
    RepeatedIn,
    DuplicateOut,
    OutWithoutIn,
    /// A rejected or rejected-after-review event.
    Rejected,
    /// The day was closed at the shift end by the missing-check-out rule.
    ClosedAtShiftEnd,
    PunchDuringLeave,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    pub event_id: EventId,
    pub kind: AnomalyKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkInterval {
    pub in_event: EventId,
    /// `None` when closed by the missing-check-out rule.
    pub out_event: Option<EventId>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DayStatus {
    Present,
    Late {
        minutes: i64,
    },
    LeftEarly {
        minutes: i64,
    },
    Absent,
    DayOff,
    Holiday,
    OnLeave {
        kind: AbsenceKind,
    },
    MissingCheckOut,
    /// Checked in and the day is not over yet (only when `now` is inside the day).
    InProgress,
    /// A working day that has not started yet, or no decision possible yet.
    Upcoming,
}

// The serde form above is the stored day record's (`timesheet_days.record`); the text of the
// status column and of the reports is the protocol's `DayStatusCode`.
impl DayStatus {
    /// The status without its figures.
    pub fn code(&self) -> DayStatusCode {
        match self {
            DayStatus::Present => DayStatusCode::Present,
            DayStatus::Late { .. } => DayStatusCode::Late,
            DayStatus::LeftEarly { .. } => DayStatusCode::LeftEarly,
            DayStatus::Absent => DayStatusCode::Absent,
            DayStatus::DayOff => DayStatusCode::DayOff,
            DayStatus::Holiday => DayStatusCode::Holiday,
            DayStatus::OnLeave { .. } => DayStatusCode::OnLeave,
            DayStatus::MissingCheckOut => DayStatusCode::MissingCheckOut,
            DayStatus::InProgress => DayStatusCode::InProgress,
            DayStatus::Upcoming => DayStatusCode::Upcoming,
        }
    }

    /// The text of the status (`present`, `left_early`, …).
    pub fn as_str(&self) -> &'static str {
        self.code().wire_text()
    }
}

/// The planned shift resolved to instants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSpan {
    pub shift_name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Real length minus the unpaid break.
    pub planned_minutes: i64,
}

/// Everything a report needs about one employee's local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRecord {
    pub employee: EmployeeId,
    pub date: NaiveDate,
    pub status: DayStatus,
    pub planned: Option<PlannedSpan>,
    /// Flexible schedules: the required minutes of the day.
    pub required_minutes: i64,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub intervals: Vec<WorkInterval>,
    pub worked_minutes: i64,
    pub break_deducted_minutes: i64,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub late_minutes: i64,
    pub early_leave_minutes: i64,
    pub first_in: Option<DateTime<Utc>>,
    pub last_out: Option<DateTime<Utc>>,
    /// An `in` with no `out` (still working, or a missing check-out).
    pub open_since: Option<DateTime<Utc>>,
    pub missing_checkout: bool,
    pub holiday: bool,
    pub day_off: bool,
    pub worked_on_day_off: bool,
    pub worked_on_holiday: bool,
    pub absence: Option<AbsenceKind>,
    pub punched_minutes_during_leave: i64,
    pub pending_event_ids: Vec<EventId>,
    pub anomalies: Vec<Anomaly>,
    /// The day is over at the time of computation (its figures will not change without
    /// new events, reviews or schedule changes).
    pub is_final: bool,
}

/// The plan and facts of one day, as the database layer loads them.
#[derive(Debug, Clone)]
pub struct DayInput<'a> {
    pub employee: EmployeeId,
    pub date: NaiveDate,
    pub tz: Tz,
    pub plan_prev: &'a PlannedDay,
    pub plan: &'a PlannedDay,
    pub plan_next: &'a PlannedDay,
    pub is_holiday: bool,
    pub absence: Option<AbsenceKind>,
    /// The employee's events; any order, any span (only this day's window is used).
    pub events: &'a [AttendanceEvent],
    pub rules: ComputeRules,
    /// `None`: compute as of after the day (historical report).
    pub now: Option<DateTime<Utc>>,
}

/// A local date-time to an instant: the earlier of an ambiguous pair, and for a time
/// inside a DST gap the first instant after the gap.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    for shift in 0..=4 {
        let t = local + Duration::minutes(30 * shift);
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) => return x.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => {}
        }
    }
    // No zone has a gap longer than two hours; fall back to reading it as UTC.
    Utc.from_utc_datetime(&local)
}

/// Local midnight at the start of `date`.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_to_utc(tz, date.and_time(NaiveTime::MIN))
}

fn shift_span(tz: Tz, date: NaiveDate, s: &ShiftTemplate) -> (DateTime<Utc>, DateTime<Utc>) {
    let (ls, le) = s.local_span(date);
    (local_to_utc(tz, ls), local_to_utc(tz, le))
}

/// Boundary between local day `d` (plan `a`) and `d + 1` (plan `b`).
fn boundary(
    tz: Tz,
    d: NaiveDate,
    a: &PlannedDay,
    b: &PlannedDay,
    rules: &ComputeRules,
) -> DateTime<Utc> {
    let next = d + Duration::days(1);
    let midnight = local_midnight(tz, next);
    let next_window = b.shift().map(|s| {
        shift_span(tz, next, s).0 - Duration::minutes(i64::from(s.checkin_window_minutes))
    });
    let tail = a
        .shift()
        .map(|s| shift_span(tz, d, s).1 + Duration::minutes(rules.checkout_tail_minutes));
    let mut bound = midnight.max(tail.unwrap_or(midnight));
    if let Some(nw) = next_window {
        bound = bound.min(nw);
    }
    bound
}

/// Minutes of `[start, end)` inside local 22:00–06:00.
pub fn night_minutes(tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    if end <= start {
        return 0;
    }
    let first = start.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = end.with_timezone(&tz).date_naive();
    let mut secs = 0;
    let mut d = first;
    while d <= last {
        let ns = local_to_utc(
            tz,
            d.and_time(NaiveTime::from_hms_opt(22, 0, 0).unwrap_or(NaiveTime::MIN)),
        );
        let ne = local_to_utc(
            tz,
            (d + Duration::days(1))
                .and_time(NaiveTime::from_hms_opt(6, 0, 0).unwrap_or(NaiveTime::MIN)),
        );
        let s = start.max(ns);
        let e = end.min(ne);
        if e > s {
            secs += (e - s).num_seconds();
        }
        d += Duration::days(1);
    }
    secs / 60
}

fn minutes(d: Duration) -> i64 {
    d.num_seconds().div_euclid(60)
}

/// Compute one day.
pub fn compute_day(input: &DayInput<'_>) -> DayRecord {
    let tz = input.tz;
    let rules = &input.rules;
    let prev = input.date - Duration::days(1);
    let window_start = boundary(tz, prev, input.plan_prev, input.plan, rules);
    let window_end = boundary(tz, input.date, input.plan, input.plan_next, rules).max(window_start);
    let now = input.now;
    let is_final = now.is_none_or(|n| n >= window_end);

    let planned = input.plan.shift().map(|s| {
        let (start, end) = shift_span(tz, input.date, s);
        PlannedSpan {
            shift_name: s.name.clone(),
            start,
            end,
            planned_minutes: (minutes(end - start) - i64::from(s.unpaid_break_minutes)).max(0),
        }
    });
    let required_minutes = match input.plan {
        PlannedDay::Flexible { required_minutes } => i64::from(*required_minutes),
        _ => planned.as_ref().map_or(0, |p| p.planned_minutes),
    };

    // This day's events, in a deterministic order.
    let mut events: Vec<AttendanceEvent> = input
        .events
        .iter()
        .filter(|e| e.at >= window_start && e.at < window_end && now.is_none_or(|n| e.at <= n))
        .copied()
        .collect();
    events.sort_by_key(|e| (e.at, e.id));

    let mut anomalies = Vec::new();
    let mut pending_event_ids = Vec::new();
    let mut intervals: Vec<WorkInterval> = Vec::new();
    let mut open: Option<AttendanceEvent> = None;
    let mut last_out: Option<AttendanceEvent> = None;
    let dup = Duration::seconds(rules.duplicate_window_seconds);
    for e in events {
        match e.status {
            EventStatus::FlaggedPending => {
                pending_event_ids.push(e.id);
                continue;
            }
            EventStatus::Rejected | EventStatus::FlaggedRejected => {
                anomalies.push(Anomaly {
                    event_id: e.id,
                    kind: AnomalyKind::Rejected,
                });
                continue;
            }
            EventStatus::Verified | EventStatus::FlaggedAccepted => {}
        }
        match (e.kind, open) {
            (PunchKind::In, None) => open = Some(e),
            (PunchKind::In, Some(o)) => anomalies.push(Anomaly {
                event_id: e.id,
                kind: if e.at - o.at <= dup {
                    AnomalyKind::DuplicateIn
                } else {
                    AnomalyKind::RepeatedIn
                },
            }),
            (PunchKind::Out, Some(o)) => {
                intervals.push(WorkInterval {
                    in_event: o.id,
                    out_event: Some(e.id),
                    start: o.at,
                    end: e.at,
                });
                open = None;
                last_out = Some(e);
            }
            (PunchKind::Out, None) => anomalies.push(Anomaly {
                event_id: e.id,
                kind: if last_out.is_some_and(|l| e.at - l.at <= dup) {
                    AnomalyKind::DuplicateOut
                } else {
                    AnomalyKind::OutWithoutIn
                },
            }),
        }
    }

    let mut open_since = None;
    let mut missing_checkout = false;
    if let Some(o) = open {
        let close_at = planned.as_ref().map(|p| p.end).filter(|end| *end > o.at);
        match (is_final, rules.missing_checkout, close_at) {
            (false, _, _) => open_since = Some(o.at),
            (true, MissingCheckoutRule::CloseAtShiftEnd, Some(end)) => {
                intervals.push(WorkInterval {
                    in_event: o.id,
                    out_event: None,
                    start: o.at,
                    end,
                });
                anomalies.push(Anomaly {
                    event_id: o.id,
                    kind: AnomalyKind::ClosedAtShiftEnd,
                });
            }
            (true, _, _) => {
                open_since = Some(o.at);
                missing_checkout = true;
            }
        }
    }

    let raw_worked: i64 = intervals.iter().map(|i| minutes(i.end - i.start)).sum();
    let gaps: i64 = intervals
        .windows(2)
        .map(|w| minutes(w[1].start - w[0].end))
        .sum();
    let break_deducted_minutes = match input.plan.shift() {
        Some(s) if raw_worked > rules.break_after_minutes => {
            (i64::from(s.unpaid_break_minutes) - gaps).clamp(0, raw_worked)
        }
        _ => 0,
    };
    let worked = raw_worked - break_deducted_minutes;
    let night: i64 = intervals
        .iter()
        .map(|i| night_minutes(tz, i.start, i.end))
        .sum();
    let first_in = intervals.first().map(|i| i.start).or(open_since);
    let last_out_at = intervals.last().map(|i| i.end);

    let mut late_minutes = 0;
    let mut early_leave_minutes = 0;
    if let (Some(p), Some(s)) = (&planned, input.plan.shift()) {
        if let Some(fi) = first_in {
            let late = minutes(fi - p.start);
            if late > i64::from(s.late_grace_minutes) {
                late_minutes = late;
            }
        }
        if open_since.is_none()
            && let Some(lo) = last_out_at
        {
            let early = minutes(p.end - lo);
            if early > i64::from(s.early_leave_grace_minutes) {
                early_leave_minutes = early;
            }
        }
    }

    let holiday = input.is_holiday;
    let day_off = matches!(
        input.plan,
        PlannedDay::DayOff | PlannedDay::Holiday | PlannedDay::Unscheduled
    );
    let has_work = !intervals.is_empty() || open_since.is_some();
    let mut record = DayRecord {
        employee: input.employee,
        date: input.date,
        status: DayStatus::Upcoming,
        planned,
        required_minutes,
        window_start,
        window_end,
        intervals,
        worked_minutes: worked,
        break_deducted_minutes,
        overtime_minutes: 0,
        night_minutes: night,
        late_minutes,
        early_leave_minutes,
        first_in,
        last_out: last_out_at,
        open_since,
        missing_checkout,
        holiday,
        day_off,
        worked_on_day_off: false,
        worked_on_holiday: false,
        absence: input.absence,
        punched_minutes_during_leave: 0,
        pending_event_ids,
        anomalies,
        is_final,
    };

    if let Some(kind) = input.absence {
        // Leave wins: status from the absence record, punches kept for display only.
        record.status = DayStatus::OnLeave { kind };
        record.punched_minutes_during_leave = raw_worked;
        for i in &record.intervals {
            record.anomalies.push(Anomaly {
                event_id: i.in_event,
                kind: AnomalyKind::PunchDuringLeave,
            });
        }
        record.worked_minutes = 0;
        record.break_deducted_minutes = 0;
        record.night_minutes = 0;
        record.late_minutes = 0;
        record.early_leave_minutes = 0;
        record.missing_checkout = false;
        return record;
    }

    if day_off || !input.plan.is_working() {
        record.late_minutes = 0;
        record.early_leave_minutes = 0;
        if has_work {
            record.worked_on_day_off = !holiday;
            record.worked_on_holiday = holiday;
        }
    } else if has_work && record.worked_minutes > required_minutes {
        record.overtime_minutes = record.worked_minutes - required_minutes;
    }
    if input.plan.is_working() && holiday && has_work {
        // A rotating or roster shift that falls on a public holiday.
        record.worked_on_holiday = true;
    }

    let started = now.is_none_or(|n| match &record.planned {
        Some(p) => n >= p.start,
        None => n >= local_midnight(tz, input.date),
    });
    record.status = if record.missing_checkout {
        DayStatus::MissingCheckOut
    } else if record.open_since.is_some() {
        DayStatus::InProgress
    } else if has_work {
        if record.late_minutes > 0 {
            DayStatus::Late {
                minutes: record.late_minutes,
            }
        } else if record.early_leave_minutes > 0 {
            DayStatus::LeftEarly {
                minutes: record.early_leave_minutes,
            }
        } else {
            DayStatus::Present
        }
    } else if holiday && !input.plan.is_working() {
        DayStatus::Holiday
    } else if day_off {
        DayStatus::DayOff
    } else if is_final {
        DayStatus::Absent
    } else if started {
        // A shift that has begun without a check-in: absent so far only once the grace
        // period is over; the "today" view reports it as missing.
        match (&record.planned, input.plan.shift(), now) {
            (Some(p), Some(s), Some(n))
                if n > p.start + Duration::minutes(i64::from(s.late_grace_minutes)) =>
            {
                DayStatus::Absent
            }
            _ => DayStatus::Upcoming,
        }
    } else {
        DayStatus::Upcoming
    };
    record
}
