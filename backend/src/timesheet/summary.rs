//! Period summaries per employee and department, and the "today" view, all derived from
//! [`DayRecord`]s only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::AbsenceKind;
use super::compute::{DayRecord, DayStatus};
use super::schedule::{DepartmentId, EmployeeId};

/// Period totals of one employee.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployeeSummary {
    pub employee: EmployeeId,
    /// Days with counted work (including work on days off and holidays).
    pub days_worked: u32,
    pub worked_minutes: i64,
    pub late_count: u32,
    pub late_minutes: i64,
    pub early_leave_count: u32,
    pub early_leave_minutes: i64,
    /// Working days with no attendance and no absence record (code НН).
    pub absences: u32,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub days_off: u32,
    pub holidays: u32,
    pub days_worked_on_day_off_or_holiday: u32,
    pub missing_checkouts: u32,
    pub pending_events: u32,
    pub leave_days: BTreeMap<AbsenceKind, u32>,
}

impl EmployeeSummary {
    pub fn worked_hours(&self) -> f64 {
        minutes_to_hours(self.worked_minutes)
    }
    pub fn night_hours(&self) -> f64 {
        minutes_to_hours(self.night_minutes)
    }
    pub fn overtime_hours(&self) -> f64 {
        minutes_to_hours(self.overtime_minutes)
    }
    pub fn leave(&self, kind: AbsenceKind) -> u32 {
        self.leave_days.get(&kind).copied().unwrap_or(0)
    }
}

/// Hours with two decimals, as shown in every export.
pub fn minutes_to_hours(m: i64) -> f64 {
    (m as f64 / 60.0 * 100.0).round() / 100.0
}

/// Summarise one employee's day records (normally one period).
pub fn summarize_employee(employee: EmployeeId, days: &[DayRecord]) -> EmployeeSummary {
    let mut s = EmployeeSummary {
        employee,
        ..Default::default()
    };
    for d in days.iter().filter(|d| d.employee == employee) {
        s.pending_events += d.pending_event_ids.len() as u32;
        if d.worked_minutes > 0 {
            s.days_worked += 1;
        }
        s.worked_minutes += d.worked_minutes;
        s.overtime_minutes += d.overtime_minutes;
        s.night_minutes += d.night_minutes;
        if d.late_minutes > 0 {
            s.late_count += 1;
            s.late_minutes += d.late_minutes;
        }
        if d.early_leave_minutes > 0 {
            s.early_leave_count += 1;
            s.early_leave_minutes += d.early_leave_minutes;
        }
        if d.missing_checkout {
            s.missing_checkouts += 1;
        }
        if d.worked_on_day_off || d.worked_on_holiday {
            s.days_worked_on_day_off_or_holiday += 1;
        }
        match d.status {
            DayStatus::Absent if d.is_final => s.absences += 1,
            DayStatus::DayOff => s.days_off += 1,
            DayStatus::Holiday => s.holidays += 1,
            DayStatus::OnLeave { kind } => *s.leave_days.entry(kind).or_default() += 1,
            _ => {}
        }
    }
    s
}

/// Totals of a department.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentSummary {
    pub department: DepartmentId,
    pub employees: u32,
    pub days_worked: u32,
    pub worked_minutes: i64,
    pub late_count: u32,
    pub late_minutes: i64,
    pub early_leave_minutes: i64,
    pub absences: u32,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub leave_days: u32,
    pub missing_checkouts: u32,
}

pub fn summarize_department(
    department: DepartmentId,
    employees: &[EmployeeSummary],
) -> DepartmentSummary {
    let mut d = DepartmentSummary {
        department,
        ..Default::default()
    };
    for e in employees {
        d.employees += 1;
        d.days_worked += e.days_worked;
        d.worked_minutes += e.worked_minutes;
        d.late_count += e.late_count;
        d.late_minutes += e.late_minutes;
        d.early_leave_minutes += e.early_leave_minutes;
        d.absences += e.absences;
        d.overtime_minutes += e.overtime_minutes;
        d.night_minutes += e.night_minutes;
        d.leave_days += e.leave_days.values().sum::<u32>();
        d.missing_checkouts += e.missing_checkouts;
    }
    d
}

/// Who is in, late, missing or not checked out, right now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodayView {
    pub at: Option<DateTime<Utc>>,
    /// Checked in and not out.
    pub in_now: Vec<EmployeeId>,
    /// Checked in after the grace period.
    pub late: Vec<(EmployeeId, i64)>,
    /// Shift started (grace over), no check-in, not on leave.
    pub missing: Vec<EmployeeId>,
    /// Shift over, still checked in.
    pub not_checked_out: Vec<EmployeeId>,
    pub on_leave: Vec<(EmployeeId, AbsenceKind)>,
    /// Events waiting for an admin's review.
    pub pending_review: Vec<EmployeeId>,
}

/// The today view from today's day records (computed with `now`).
pub fn today_view(records: &[DayRecord], now: DateTime<Utc>) -> TodayView {
    let mut v = TodayView {
        at: Some(now),
        ..Default::default()
    };
    let mut sorted: Vec<&DayRecord> = records.iter().collect();
    sorted.sort_by_key(|r| (r.employee, r.date));
    for r in sorted {
        if !r.pending_event_ids.is_empty() {
            v.pending_review.push(r.employee);
        }
        if let DayStatus::OnLeave { kind } = r.status {
            v.on_leave.push((r.employee, kind));
            continue;
        }
        if r.open_since.is_some() {
            let over = r.planned.as_ref().is_some_and(|p| now > p.end);
            if over || r.missing_checkout {
                v.not_checked_out.push(r.employee);
            } else {
                v.in_now.push(r.employee);
            }
        }
        if r.late_minutes > 0 {
            v.late.push((r.employee, r.late_minutes));
        }
        // compute_day turns a started shift without check-in into Absent only once the
        // late grace period is over.
        let no_show = r.first_in.is_none() && r.planned.is_some() && r.status == DayStatus::Absent;
        if no_show {
            v.missing.push(r.employee);
        }
    }
    v
}
