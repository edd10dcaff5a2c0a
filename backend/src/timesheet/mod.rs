//! Schedules, attendance computation, summaries and exports (issue 7): the pure,
//! database-free core. The database layer loads plain structs (schedules, calendar,
//! absences, events) and calls [`compute_period`]; reports are built from the resulting
//! [`DayRecord`]s, so the summary, the CSV/XLSX exports and the T-13 file agree.

pub mod calendar;
pub mod compute;
pub mod export;
pub mod schedule;
pub mod store;
pub mod summary;

use chrono::{Datelike, Duration, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use calendar::{
    Absence, AbsenceKind, Absences, CalendarEntry, DayOverride, HolidayCalendar, YearCalendar,
};
pub use compute::{
    AttendanceEvent, ComputeRules, DayInput, DayRecord, DayStatus, EventStatus,
    MissingCheckoutRule, PunchKind, compute_day,
};
pub use schedule::{
    Assignment, AssignmentTarget, DepartmentId, EmployeeId, PlannedDay, ScheduleBook, ScheduleKind,
    ShiftTemplate,
};

/// Longest period a report may cover, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// Supported calendar years (keeps every date arithmetic far from chrono's limits).
pub const MIN_YEAR: i32 = 1970;
pub const MAX_YEAR: i32 = 2200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("period is empty: {from} is after {to}")]
    Empty { from: NaiveDate, to: NaiveDate },
    #[error("period of {days} days is longer than the limit of {MAX_PERIOD_DAYS} days")]
    TooLong { days: i64 },
    #[error("date {0} is outside the supported years {MIN_YEAR}..={MAX_YEAR}")]
    OutOfRange(NaiveDate),
    #[error("{0:?} is not a month (expected YYYY-MM)")]
    BadMonth(String),
}

/// An inclusive range of local dates, at most [`MAX_PERIOD_DAYS`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        for d in [from, to] {
            if !(MIN_YEAR..=MAX_YEAR).contains(&d.year()) {
                return Err(PeriodError::OutOfRange(d));
            }
        }
        if from > to {
            return Err(PeriodError::Empty { from, to });
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong { days });
        }
        Ok(Self { from, to })
    }

    /// A calendar month from `"YYYY-MM"`.
    pub fn parse_month(s: &str) -> Result<Self, PeriodError> {
        let bad = || PeriodError::BadMonth(s.chars().take(32).collect());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        let p = Self::month(year, month).ok_or_else(bad)?;
        Self::new(p.from, p.to)
    }

    /// A calendar month; `None` for a month that does not exist.
    pub fn month(year: i32, month: u32) -> Option<Self> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return None;
        }
        let from = NaiveDate::from_ymd_opt(year, month, 1)?;
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        Some(Self {
            from,
            to: next - Duration::days(1),
        })
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }
    pub fn to(&self) -> NaiveDate {
        self.to
    }
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let (from, to) = (self.from, self.to);
        from.iter_days().take_while(move |d| *d <= to)
    }
    pub fn len_days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
    /// Whether the period is exactly one calendar month.
    pub fn is_month(&self) -> bool {
        Self::month(self.from.year(), self.from.month()) == Some(*self)
    }
}

/// One employee's schedule context and raw facts, as the database layer loads them.
#[derive(Debug, Clone)]
pub struct EmployeeFacts<'a> {
    pub employee: EmployeeId,
    pub department: Option<DepartmentId>,
    pub tz: Tz,
    pub book: &'a ScheduleBook,
    pub calendar: &'a HolidayCalendar,
    pub absences: &'a Absences,
    /// All the employee's events around the period (any order).
    pub events: &'a [AttendanceEvent],
    pub rules: ComputeRules,
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

/// Day records of one employee over a period (one per date, in date order).
pub fn compute_period(facts: &EmployeeFacts<'_>, period: Period) -> Vec<DayRecord> {
    let plan = |d: NaiveDate| {
        facts
            .book
            .planned_day(facts.employee, facts.department, d, facts.calendar)
    };
    let mut events = facts.events.to_vec();
    events.sort_by_key(|e| (e.at, e.id));
    let mut out = Vec::with_capacity(period.len_days() as usize);
    let mut prev = plan(period.from - Duration::days(1));
    let mut cur = plan(period.from);
    for date in period.days() {
        let next = plan(date + Duration::days(1));
        let lo = compute::local_midnight(facts.tz, date - Duration::days(1));
        let hi = compute::local_midnight(facts.tz, date + Duration::days(3));
        let a = events.partition_point(|e| e.at < lo);
        let b = events.partition_point(|e| e.at < hi);
        let input = DayInput {
            employee: facts.employee,
            date,
            tz: facts.tz,
            plan_prev: &prev,
            plan: &cur,
            plan_next: &next,
            is_holiday: facts.calendar.is_holiday(date),
            absence: facts.absences.find(facts.employee, date),
            events: &events[a..b],
            rules: facts.rules,
            now: facts.now,
        };
        out.push(compute_day(&input));
        prev = std::mem::replace(&mut cur, next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_limits() {
        let p = Period::parse_month("2026-02").expect("valid");
        assert_eq!(p.len_days(), 28);
        assert!(p.is_month());
        assert_eq!(Period::parse_month("2024-02").map(|p| p.len_days()), Ok(29));
        assert!(matches!(
            Period::parse_month("2026-13"),
            Err(PeriodError::BadMonth(_))
        ));
        assert!(matches!(
            Period::parse_month("2026-1"),
            Err(PeriodError::BadMonth(_))
        ));
        assert!(matches!(
            Period::parse_month("x"),
            Err(PeriodError::BadMonth(_))
        ));
        let a = NaiveDate::from_ymd_opt(2016, 1, 1).unwrap_or_default();
        let b = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
        assert!(matches!(
            Period::new(a, b),
            Err(PeriodError::TooLong { .. })
        ));
        assert!(matches!(Period::new(b, a), Err(PeriodError::Empty { .. })));
        assert!(matches!(
            Period::new(NaiveDate::MIN, NaiveDate::MIN),
            Err(PeriodError::OutOfRange(_))
        ));
        assert!(Period::month(i32::MAX, 12).is_none());
        assert!(matches!(
            Period::parse_month("9999-12"),
            Err(PeriodError::BadMonth(_))
        ));
    }
}
