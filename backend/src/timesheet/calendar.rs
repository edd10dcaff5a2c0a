//! Holiday calendar (per year, with CIS-style transferred working days) and absences.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use faceid_protocol::schedules::LeaveKind;
use faceid_protocol::wire_text::WireText;
use serde::{Deserialize, Serialize};

use super::schedule::EmployeeId;

/// Longest single absence record, in days.
pub const MAX_ABSENCE_DAYS: i64 = 366;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar entry for {0} is listed twice")]
    DuplicateEntry(NaiveDate),
    #[error("date {date} does not belong to calendar year {year}")]
    WrongYear { date: NaiveDate, year: i32 },
    #[error("calendar year {0} is listed twice")]
    DuplicateYear(i32),
    #[error("absence range is empty: {from} is after {to}")]
    EmptyRange { from: NaiveDate, to: NaiveDate },
    #[error("absence of {days} days is longer than the limit of {MAX_ABSENCE_DAYS}")]
    RangeTooLong { days: i64 },
    #[error("absences of employee {employee} overlap on {date}")]
    OverlappingAbsences {
        employee: EmployeeId,
        date: NaiveDate,
    },
}

/// What the calendar says about one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DayOverride {
    /// A public holiday (non-working).
    Holiday { name: String },
    /// A weekday made a day off by a transfer (the other side of a transferred working day).
    NonWorking,
    /// A normally free day (e.g. a Saturday) made a working day, worked as `weekday`.
    WorkingAs { weekday: Weekday },
}

/// One entry of a year's calendar, as an admin edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEntry {
    pub date: NaiveDate,
    pub kind: DayOverride,
}

/// The calendar of one year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearCalendar {
    pub year: i32,
    entries: BTreeMap<NaiveDate, DayOverride>,
}

impl YearCalendar {
    pub fn new(year: i32, entries: Vec<CalendarEntry>) -> Result<Self, CalendarError> {
        let mut map = BTreeMap::new();
        for e in entries {
            if e.date.year() != year {
                return Err(CalendarError::WrongYear { date: e.date, year });
            }
            if map.insert(e.date, e.kind).is_some() {
                return Err(CalendarError::DuplicateEntry(e.date));
            }
        }
        Ok(Self { year, entries: map })
    }
}

/// Several years of calendars; a year that is not present has no overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    years: BTreeMap<i32, YearCalendar>,
}

impl HolidayCalendar {
    pub fn new(years: Vec<YearCalendar>) -> Result<Self, CalendarError> {
        let mut map = BTreeMap::new();
        for y in years {
            let year = y.year;
            if map.insert(year, y).is_some() {
                return Err(CalendarError::DuplicateYear(year));
            }
        }
        Ok(Self { years: map })
    }

    pub fn override_for(&self, date: NaiveDate) -> Option<DayOverride> {
        self.years
            .get(&date.year())
            .and_then(|y| y.entries.get(&date))
            .cloned()
    }

    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        matches!(self.override_for(date), Some(DayOverride::Holiday { .. }))
    }
}

/// Kinds of absence entered by HR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AbsenceKind {
    AnnualLeave,
    SickLeave,
    BusinessTrip,
    UnpaidLeave,
}

// The serde form above is the stored day record's (`timesheet_days.record`); the text of the
// columns, the API and the reports is the protocol's `LeaveKind`, one variant for each.
impl From<AbsenceKind> for LeaveKind {
    fn from(k: AbsenceKind) -> Self {
        match k {
            AbsenceKind::AnnualLeave => LeaveKind::AnnualLeave,
            AbsenceKind::SickLeave => LeaveKind::SickLeave,
            AbsenceKind::BusinessTrip => LeaveKind::BusinessTrip,
            AbsenceKind::UnpaidLeave => LeaveKind::UnpaidLeave,
        }
    }
}

impl From<LeaveKind> for AbsenceKind {
    fn from(k: LeaveKind) -> Self {
        match k {
            LeaveKind::AnnualLeave => AbsenceKind::AnnualLeave,
            LeaveKind::SickLeave => AbsenceKind::SickLeave,
            LeaveKind::BusinessTrip => AbsenceKind::BusinessTrip,
            LeaveKind::UnpaidLeave => AbsenceKind::UnpaidLeave,
        }
    }
}

impl AbsenceKind {
    /// The text of the kind (`annual_leave`, …): the protocol's [`LeaveKind`].
    pub fn as_str(self) -> &'static str {
        LeaveKind::from(self).wire_text()
    }

    /// The kind named `text`; `None` for any other text.
    pub fn parse(text: &str) -> Option<AbsenceKind> {
        LeaveKind::from_wire_text(text).map(AbsenceKind::from)
    }
}

/// An absence over an inclusive range of local dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Absence {
    pub employee: EmployeeId,
    pub kind: AbsenceKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// All absence records, validated (no empty, huge or overlapping ranges).
#[derive(Debug, Clone, Default)]
pub struct Absences {
    by_employee: BTreeMap<EmployeeId, Vec<Absence>>,
}

impl Absences {
    pub fn new(records: Vec<Absence>) -> Result<Self, CalendarError> {
        let mut by_employee: BTreeMap<EmployeeId, Vec<Absence>> = BTreeMap::new();
        for a in records {
            if a.from > a.to {
                return Err(CalendarError::EmptyRange {
                    from: a.from,
                    to: a.to,
                });
            }
            let days = (a.to - a.from).num_days() + 1;
            if days > MAX_ABSENCE_DAYS {
                return Err(CalendarError::RangeTooLong { days });
            }
            by_employee.entry(a.employee).or_default().push(a);
        }
        for (employee, list) in by_employee.iter_mut() {
            list.sort_by_key(|a| (a.from, a.to));
            for w in list.windows(2) {
                if w[1].from <= w[0].to {
                    return Err(CalendarError::OverlappingAbsences {
                        employee: *employee,
                        date: w[1].from,
                    });
                }
            }
        }
        Ok(Self { by_employee })
    }

    pub fn find(&self, employee: EmployeeId, date: NaiveDate) -> Option<AbsenceKind> {
        let list = self.by_employee.get(&employee)?;
        let i = list.partition_point(|a| a.from <= date);
        let a = list.get(i.checked_sub(1)?)?;
        (date <= a.to).then_some(a.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn duplicate_holiday_refused() {
        let e = |date| CalendarEntry {
            date,
            kind: DayOverride::Holiday {
                name: "Navruz".into(),
            },
        };
        assert_eq!(
            YearCalendar::new(2026, vec![e(d(2026, 3, 21)), e(d(2026, 3, 21))]),
            Err(CalendarError::DuplicateEntry(d(2026, 3, 21)))
        );
        assert!(matches!(
            YearCalendar::new(2026, vec![e(d(2025, 3, 21))]),
            Err(CalendarError::WrongYear { .. })
        ));
    }

    #[test]
    fn absences_lookup_and_overlap() {
        let a = |from, to| Absence {
            employee: 1,
            kind: AbsenceKind::SickLeave,
            from,
            to,
        };
        let abs = Absences::new(vec![
            a(d(2026, 3, 2), d(2026, 3, 4)),
            a(d(2026, 3, 10), d(2026, 3, 10)),
        ])
        .expect("valid");
        assert_eq!(abs.find(1, d(2026, 3, 1)), None);
        assert_eq!(abs.find(1, d(2026, 3, 2)), Some(AbsenceKind::SickLeave));
        assert_eq!(abs.find(1, d(2026, 3, 4)), Some(AbsenceKind::SickLeave));
        assert_eq!(abs.find(1, d(2026, 3, 5)), None);
        assert_eq!(abs.find(1, d(2026, 3, 10)), Some(AbsenceKind::SickLeave));
        assert_eq!(abs.find(2, d(2026, 3, 10)), None);
        assert!(matches!(
            Absences::new(vec![
                a(d(2026, 3, 2), d(2026, 3, 4)),
                a(d(2026, 3, 4), d(2026, 3, 5))
            ]),
            Err(CalendarError::OverlappingAbsences { .. })
        ));
        assert!(matches!(
            Absences::new(vec![a(d(2026, 1, 1), d(2036, 1, 1))]),
            Err(CalendarError::RangeTooLong { .. })
        ));
    }
}
