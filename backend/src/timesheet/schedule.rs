//! Shift templates, schedule kinds and their assignment to employees and departments.
//!
//! Everything here is plain data: the database layer fills these structs, and
//! [`ScheduleBook::planned_day`] answers "what is the planned shift of employee E on
//! local date D".

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use super::calendar::{DayOverride, HolidayCalendar};

/// Identifier of an employee (the database's primary key).
pub type EmployeeId = i64;
/// Identifier of a department.
pub type DepartmentId = i64;

/// Longest cycle a rotating pattern may have, in days.
pub const MAX_CYCLE_DAYS: usize = 366;
/// Default check-in window before the shift start, in minutes.
pub const DEFAULT_CHECKIN_WINDOW_MINUTES: u32 = 60;

/// Why a schedule, a shift or an assignment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("shift {0:?} has zero length (start equals end)")]
    ZeroLengthShift(String),
    #[error("shift {name:?}: {field} of {value} minutes is out of range (max {max})")]
    FieldOutOfRange {
        name: String,
        field: &'static str,
        value: u32,
        max: u32,
    },
    #[error(
        "shift {name:?}: unpaid break of {break_minutes} min is not shorter than the shift ({shift_minutes} min)"
    )]
    BreakTooLong {
        name: String,
        break_minutes: u32,
        shift_minutes: u32,
    },
    #[error("overlapping shifts: {first} and {second}")]
    OverlappingShifts { first: String, second: String },
    #[error("nonsensical pattern: {0}")]
    NonsensicalPattern(String),
    #[error("assignment range is empty: {from} is after {to}")]
    EmptyRange { from: NaiveDate, to: NaiveDate },
    #[error("overlapping assignments for the same {0}")]
    OverlappingAssignments(String),
}

/// A shift template, in the site's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftTemplate {
    pub name: String,
    pub start: NaiveTime,
    /// May be earlier than `start`: the shift then ends on the next local day.
    pub end: NaiveTime,
    pub unpaid_break_minutes: u32,
    pub late_grace_minutes: u32,
    pub early_leave_grace_minutes: u32,
    pub checkin_window_minutes: u32,
}

impl ShiftTemplate {
    /// A shift with no break, no grace and the default check-in window.
    pub fn new(name: &str, start: NaiveTime, end: NaiveTime) -> Self {
        Self {
            name: name.to_owned(),
            start,
            end,
            unpaid_break_minutes: 0,
            late_grace_minutes: 0,
            early_leave_grace_minutes: 0,
            checkin_window_minutes: DEFAULT_CHECKIN_WINDOW_MINUTES,
        }
    }

    /// Nominal length on the wall clock (a DST day may make the real length differ).
    pub fn nominal_minutes(&self) -> u32 {
        let s = self
            .start
            .signed_duration_since(NaiveTime::MIN)
            .num_minutes();
        let e = self.end.signed_duration_since(NaiveTime::MIN).num_minutes();
        (e - s).rem_euclid(24 * 60) as u32
    }

    pub fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }

    pub fn validate(&self) -> Result<(), ScheduleError> {
        if self.start == self.end {
            return Err(ScheduleError::ZeroLengthShift(self.name.clone()));
        }
        let len = self.nominal_minutes();
        if self.unpaid_break_minutes >= len {
            return Err(ScheduleError::BreakTooLong {
                name: self.name.clone(),
                break_minutes: self.unpaid_break_minutes,
                shift_minutes: len,
            });
        }
        for (field, value, max) in [
            ("late grace", self.late_grace_minutes, 240),
            ("early-leave grace", self.early_leave_grace_minutes, 240),
            ("check-in window", self.checkin_window_minutes, 720),
        ] {
            if value > max {
                return Err(ScheduleError::FieldOutOfRange {
                    name: self.name.clone(),
                    field,
                    value,
                    max,
                });
            }
        }
        Ok(())
    }

    /// Local start and end (as naive date-times) when the shift is worked on `date`.
    pub fn local_span(&self, date: NaiveDate) -> (chrono::NaiveDateTime, chrono::NaiveDateTime) {
        let start = date.and_time(self.start);
        let end_date = if self.crosses_midnight() {
            date + Duration::days(1)
        } else {
            date
        };
        (start, end_date.and_time(self.end))
    }
}

/// How many hours a flexible schedule requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlexRequirement {
    PerDay {
        minutes: u32,
    },
    /// Spread evenly over the work days of the week (integer minutes, remainder dropped).
    PerWeek {
        minutes: u32,
    },
}

/// The kinds of schedule.
// A weekly pattern holds its seven templates inline; schedules are few per site and
// boxing would only complicate the plain structs the database layer fills.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScheduleKind {
    /// Index 0 = Monday … 6 = Sunday; `None` is a day off.
    Weekly { days: [Option<ShiftTemplate>; 7] },
    /// A cycle of shift-or-off days starting at `anchor` (cycle day 0). "2 on / 2 off" is
    /// `[Some(s), Some(s), None, None]`; see [`ScheduleKind::on_off`].
    Rotating {
        anchor: NaiveDate,
        cycle: Vec<Option<ShiftTemplate>>,
    },
    /// Explicit shifts per date; a date not listed is a day off.
    Roster {
        days: BTreeMap<NaiveDate, ShiftTemplate>,
    },
    /// No fixed start: `work_days` (Monday first) must total the required time.
    Flexible {
        requirement: FlexRequirement,
        work_days: [bool; 7],
    },
}

impl ScheduleKind {
    /// N days on, M days off, from an anchor date.
    pub fn on_off(anchor: NaiveDate, shift: ShiftTemplate, on: u32, off: u32) -> Self {
        let mut cycle = Vec::new();
        cycle.extend((0..on).map(|_| Some(shift.clone())));
        cycle.extend((0..off).map(|_| None));
        ScheduleKind::Rotating { anchor, cycle }
    }

    pub fn validate(&self) -> Result<(), ScheduleError> {
        match self {
            ScheduleKind::Weekly { days } => {
                if days.iter().all(Option::is_none) {
                    return Err(ScheduleError::NonsensicalPattern(
                        "weekly pattern without a working day".into(),
                    ));
                }
                for s in days.iter().flatten() {
                    s.validate()?;
                }
                // Each weekday against the next one (Sunday against Monday).
                for i in 0..7 {
                    if let (Some(a), Some(b)) = (&days[i], &days[(i + 1) % 7]) {
                        check_consecutive(a, b)?;
                    }
                }
                Ok(())
            }
            ScheduleKind::Rotating { cycle, .. } => {
                if cycle.is_empty() || cycle.len() > MAX_CYCLE_DAYS {
                    return Err(ScheduleError::NonsensicalPattern(format!(
                        "rotating cycle of {} days (1..={MAX_CYCLE_DAYS})",
                        cycle.len()
                    )));
                }
                if cycle.iter().all(Option::is_none) {
                    return Err(ScheduleError::NonsensicalPattern(
                        "rotating cycle without a working day".into(),
                    ));
                }
                for s in cycle.iter().flatten() {
                    s.validate()?;
                }
                for i in 0..cycle.len() {
                    if let (Some(a), Some(b)) = (&cycle[i], &cycle[(i + 1) % cycle.len()]) {
                        check_consecutive(a, b)?;
                    }
                }
                Ok(())
            }
            ScheduleKind::Roster { days } => {
                for s in days.values() {
                    s.validate()?;
                }
                for (d, a) in days {
                    if let Some(b) = days.get(&(*d + Duration::days(1))) {
                        check_consecutive(a, b)?;
                    }
                }
                Ok(())
            }
            ScheduleKind::Flexible {
                requirement,
                work_days,
            } => {
                let n = work_days.iter().filter(|w| **w).count() as u32;
                if n == 0 {
                    return Err(ScheduleError::NonsensicalPattern(
                        "flexible schedule without a working day".into(),
                    ));
                }
                let per_day = match requirement {
                    FlexRequirement::PerDay { minutes } => *minutes,
                    FlexRequirement::PerWeek { minutes } => minutes / n,
                };
                if per_day == 0 || per_day > 24 * 60 {
                    return Err(ScheduleError::NonsensicalPattern(format!(
                        "flexible requirement of {per_day} minutes per day"
                    )));
                }
                Ok(())
            }
        }
    }
}

/// A shift on day D and one on day D+1 must not overlap on the wall clock.
fn check_consecutive(a: &ShiftTemplate, b: &ShiftTemplate) -> Result<(), ScheduleError> {
    let d = NaiveDate::MIN + Duration::days(10);
    let (_, a_end) = a.local_span(d);
    let (b_start, _) = b.local_span(d + Duration::days(1));
    if a_end > b_start {
        return Err(ScheduleError::OverlappingShifts {
            first: a.name.clone(),
            second: format!("{} (next day)", b.name),
        });
    }
    Ok(())
}

/// The plan for one employee on one local date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlannedDay {
    /// No schedule covers the date.
    Unscheduled,
    DayOff,
    /// A public holiday that replaces a working day of a calendar-based schedule.
    Holiday,
    Shift(ShiftTemplate),
    Flexible {
        required_minutes: u32,
    },
}

impl PlannedDay {
    pub fn shift(&self) -> Option<&ShiftTemplate> {
        match self {
            PlannedDay::Shift(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_working(&self) -> bool {
        matches!(self, PlannedDay::Shift(_) | PlannedDay::Flexible { .. })
    }
}

/// Who an assignment applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssignmentTarget {
    Employee(EmployeeId),
    Department(DepartmentId),
}

/// A schedule assigned for an inclusive date range (`to = None`: open-ended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub target: AssignmentTarget,
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
    pub schedule: ScheduleKind,
}

impl Assignment {
    fn covers(&self, date: NaiveDate) -> bool {
        date >= self.from && self.to.is_none_or(|t| date <= t)
    }
}

/// All assignments, validated together.
#[derive(Debug, Clone, Default)]
pub struct ScheduleBook {
    assignments: Vec<Assignment>,
}

impl ScheduleBook {
    pub fn new(assignments: Vec<Assignment>) -> Result<Self, ScheduleError> {
        for a in &assignments {
            if let Some(to) = a.to
                && a.from > to
            {
                return Err(ScheduleError::EmptyRange { from: a.from, to });
            }
            a.schedule.validate()?;
        }
        for (i, a) in assignments.iter().enumerate() {
            for b in &assignments[i + 1..] {
                if a.target == b.target
                    && a.from <= b.to.unwrap_or(NaiveDate::MAX)
                    && b.from <= a.to.unwrap_or(NaiveDate::MAX)
                {
                    let who = match a.target {
                        AssignmentTarget::Employee(e) => format!("employee {e}"),
                        AssignmentTarget::Department(d) => format!("department {d}"),
                    };
                    return Err(ScheduleError::OverlappingAssignments(who));
                }
            }
        }
        Ok(Self { assignments })
    }

    /// The assignment in force: the employee's own wins over the department's.
    pub fn assignment_for(
        &self,
        employee: EmployeeId,
        department: Option<DepartmentId>,
        date: NaiveDate,
    ) -> Option<&Assignment> {
        let own = self
            .assignments
            .iter()
            .find(|a| a.target == AssignmentTarget::Employee(employee) && a.covers(date));
        own.or_else(|| {
            let dep = department?;
            self.assignments
                .iter()
                .find(|a| a.target == AssignmentTarget::Department(dep) && a.covers(date))
        })
    }

    /// The planned shift of `employee` on local `date`, applying the holiday calendar to
    /// calendar-based schedules (weekly and flexible). Rotating and roster schedules run
    /// through holidays (work on that day is coded as holiday work).
    pub fn planned_day(
        &self,
        employee: EmployeeId,
        department: Option<DepartmentId>,
        date: NaiveDate,
        calendar: &HolidayCalendar,
    ) -> PlannedDay {
        let Some(a) = self.assignment_for(employee, department, date) else {
            return PlannedDay::Unscheduled;
        };
        plan_for(&a.schedule, date, calendar)
    }
}

/// The plan a schedule gives a date.
pub fn plan_for(
    schedule: &ScheduleKind,
    date: NaiveDate,
    calendar: &HolidayCalendar,
) -> PlannedDay {
    let weekday_of = |date: NaiveDate| -> Option<Weekday> {
        match calendar.override_for(date) {
            Some(DayOverride::Holiday { .. }) | Some(DayOverride::NonWorking) => None,
            Some(DayOverride::WorkingAs { weekday }) => Some(weekday),
            None => Some(date.weekday()),
        }
    };
    match schedule {
        ScheduleKind::Weekly { days } => match weekday_of(date) {
            None if calendar.is_holiday(date) => PlannedDay::Holiday,
            None => PlannedDay::DayOff,
            Some(w) => match &days[w.num_days_from_monday() as usize] {
                Some(s) => PlannedDay::Shift(s.clone()),
                None => PlannedDay::DayOff,
            },
        },
        ScheduleKind::Rotating { anchor, cycle } => {
            if cycle.is_empty() {
                return PlannedDay::DayOff;
            }
            let n = (date - *anchor).num_days().rem_euclid(cycle.len() as i64) as usize;
            match &cycle[n] {
                Some(s) => PlannedDay::Shift(s.clone()),
                None => PlannedDay::DayOff,
            }
        }
        ScheduleKind::Roster { days } => match days.get(&date) {
            Some(s) => PlannedDay::Shift(s.clone()),
            None => PlannedDay::DayOff,
        },
        ScheduleKind::Flexible {
            requirement,
            work_days,
        } => match weekday_of(date) {
            None if calendar.is_holiday(date) => PlannedDay::Holiday,
            None => PlannedDay::DayOff,
            Some(w) if work_days[w.num_days_from_monday() as usize] => {
                let n = work_days.iter().filter(|w| **w).count().max(1) as u32;
                let required_minutes = match requirement {
                    FlexRequirement::PerDay { minutes } => *minutes,
                    FlexRequirement::PerWeek { minutes } => minutes / n,
                };
                PlannedDay::Flexible { required_minutes }
            }
            Some(_) => PlannedDay::DayOff,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
    }

    #[test]
    fn nominal_length_across_midnight() {
        let s = ShiftTemplate::new("night", t(22, 0), t(6, 0));
        assert_eq!(s.nominal_minutes(), 480);
        assert!(s.crosses_midnight());
        let d = ShiftTemplate::new("day", t(9, 0), t(18, 0));
        assert_eq!(d.nominal_minutes(), 540);
        assert!(!d.crosses_midnight());
    }

    #[test]
    fn zero_length_and_long_break_refused() {
        let z = ShiftTemplate::new("z", t(9, 0), t(9, 0));
        assert_eq!(
            z.validate(),
            Err(ScheduleError::ZeroLengthShift("z".into()))
        );
        let mut b = ShiftTemplate::new("b", t(9, 0), t(10, 0));
        b.unpaid_break_minutes = 60;
        assert!(matches!(
            b.validate(),
            Err(ScheduleError::BreakTooLong { .. })
        ));
    }

    #[test]
    fn employee_assignment_wins_over_department() {
        let day = ShiftTemplate::new("day", t(9, 0), t(18, 0));
        let night = ShiftTemplate::new("night", t(22, 0), t(6, 0));
        let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
        let weekly = |s: &ShiftTemplate| ScheduleKind::Weekly {
            days: std::array::from_fn(|i| (i < 5).then(|| s.clone())),
        };
        let book = ScheduleBook::new(vec![
            Assignment {
                target: AssignmentTarget::Department(1),
                from,
                to: None,
                schedule: weekly(&day),
            },
            Assignment {
                target: AssignmentTarget::Employee(7),
                from: from + Duration::days(10),
                to: Some(from + Duration::days(20)),
                schedule: weekly(&night),
            },
        ])
        .expect("valid");
        let cal = HolidayCalendar::default();
        let d = NaiveDate::from_ymd_opt(2026, 1, 12).unwrap_or_default(); // Monday
        assert_eq!(book.planned_day(7, Some(1), d, &cal).shift(), Some(&night));
        assert_eq!(book.planned_day(8, Some(1), d, &cal).shift(), Some(&day));
        let later = NaiveDate::from_ymd_opt(2026, 1, 26).unwrap_or_default();
        assert_eq!(
            book.planned_day(7, Some(1), later, &cal).shift(),
            Some(&day)
        );
        assert_eq!(
            book.planned_day(7, None, later, &cal),
            PlannedDay::Unscheduled
        );
    }
}
