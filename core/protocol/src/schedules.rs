//! Work schedules: shift templates, assignments, absences, the holiday calendar and the
//! timesheet computation's settings (`/api/v1/shift-templates`, `/schedule-assignments`,
//! `/absences`, `/holiday-calendar`, `/settings/timesheet`) and the schedules' patterns
//! (`ScheduleDef`; the server's timesheet computation resolves them).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::wire_text::WireText;

/// `GET`, `POST` — shift templates.
pub const SHIFT_TEMPLATES_PATH: &str = "/api/v1/shift-templates";
/// `DELETE` — one shift template.
pub const SHIFT_TEMPLATE_PATH: &str = "/api/v1/shift-templates/{id}";
/// `GET`, `POST` — schedules.
pub const SCHEDULES_PATH: &str = "/api/v1/schedules";
/// `DELETE` — one schedule.
pub const SCHEDULE_PATH: &str = "/api/v1/schedules/{id}";
/// `GET`, `POST` — who works which schedule, from when.
pub const SCHEDULE_ASSIGNMENTS_PATH: &str = "/api/v1/schedule-assignments";
/// `DELETE` — one assignment.
pub const SCHEDULE_ASSIGNMENT_PATH: &str = "/api/v1/schedule-assignments/{id}";
/// `GET`, `POST` — absences entered by HR.
pub const ABSENCES_PATH: &str = "/api/v1/absences";
/// `DELETE` — one absence.
pub const ABSENCE_PATH: &str = "/api/v1/absences/{id}";
/// `GET`, `PUT` — the holiday calendar of a year.
pub const HOLIDAYS_PATH: &str = "/api/v1/holidays";
/// `GET`, `PUT` — the timesheet computation's settings.
pub const TIMESHEET_SETTINGS_PATH: &str = "/api/v1/settings/timesheet";

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAbsence {
    pub employee_id: Uuid,
    /// `annual_leave`, `sick_leave`, `business_trip` or `unpaid_leave`.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(annual_leave|sick_leave|business_trip|unpaid_leave)$")
    )]
    pub kind: String,
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct AbsenceOut {
    pub id: Uuid,
    pub employee_id: Uuid,
    pub kind: String,
    #[cfg_attr(feature = "sqlx", sqlx(rename = "date_from"))]
    pub from: NaiveDate,
    #[cfg_attr(feature = "sqlx", sqlx(rename = "date_to"))]
    pub to: NaiveDate,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AbsenceQuery {
    pub employee_id: Option<Uuid>,
    /// Absences that end on or after this date.
    pub from: Option<NaiveDate>,
    /// Absences that start on or before this date.
    pub to: Option<NaiveDate>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAssignment {
    pub schedule_id: Uuid,
    /// Exactly one of `employee_id` and `department_id`.
    pub employee_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub valid_from: NaiveDate,
    /// Inclusive; absent = open-ended.
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct AssignmentOut {
    pub id: Uuid,
    pub schedule_id: Uuid,
    pub employee_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AssignmentQuery {
    pub employee_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[serde(deny_unknown_fields)]
pub struct HolidayEntry {
    #[cfg_attr(feature = "sqlx", sqlx(rename = "day"))]
    pub date: NaiveDate,
    /// `holiday`, `non_working` (a transferred day off) or `working` (a free day worked).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(holiday|non_working|working)$")
    )]
    pub kind: String,
    pub name: Option<String>,
    /// For `working`: the ISO weekday (1 = Monday) the day is worked as.
    pub working_as: Option<i16>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HolidayYear {
    #[cfg_attr(feature = "openapi", schema(minimum = 1970, maximum = 2200))]
    pub year: i32,
    pub entries: Vec<HolidayEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct YearQuery {
    /// Calendar year (default: the current one).
    #[cfg_attr(feature = "openapi", param(minimum = 1970, maximum = 2200))]
    pub year: Option<i32>,
}

/// What happens to a check-in without a check-out once its day is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum MissingCheckout {
    /// The day is `missing_check_out` and the open interval is not counted.
    Flag,
    /// The interval is closed at the planned shift end (flagged without a shift).
    CloseAtShiftEnd,
}

/// Its text in `timesheet_settings` and in a request is its serde name.
impl WireText for MissingCheckout {}

/// Settings of the timesheet computation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TimesheetSettings {
    pub missing_checkout: MissingCheckout,
}

/// The body of `PUT /api/v1/settings/timesheet` (the rule as text, so a value outside the
/// list is a field error naming the choices rather than a parse error).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTimesheetSettings {
    /// `flag` or `close_at_shift_end`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(flag|close_at_shift_end)$"))]
    pub missing_checkout: String,
}

/// A shift in the site's local time; `end` before `start` crosses midnight.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewShiftTemplate {
    pub name: String,
    /// `HH:MM`
    pub start: String,
    /// `HH:MM`; earlier than `start` for a shift that ends the next day.
    pub end: String,
    #[serde(default)]
    pub unpaid_break_minutes: u32,
    #[serde(default)]
    pub late_grace_minutes: u32,
    #[serde(default)]
    pub early_leave_grace_minutes: u32,
    /// How early before the start a check-in counts for the shift (default 60).
    pub checkin_window_minutes: Option<u32>,
    pub site_id: Option<Uuid>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShiftTemplateOut {
    pub id: Uuid,
    pub name: String,
    pub start: String,
    pub end: String,
    pub unpaid_break_minutes: i32,
    pub late_grace_minutes: i32,
    pub early_leave_grace_minutes: i32,
    pub checkin_window_minutes: i32,
    pub site_id: Option<Uuid>,
    pub crosses_midnight: bool,
    pub nominal_minutes: u32,
}

/// How a schedule is stored and sent: shift templates by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleDef {
    /// Seven entries, Monday first; `null` is a day off.
    Weekly { days: Vec<Option<Uuid>> },
    /// A cycle of shift-or-off days from `anchor` (cycle day 0).
    Rotating {
        anchor: NaiveDate,
        cycle: Vec<Option<Uuid>>,
    },
    /// Explicit shifts per date; other dates are days off.
    Roster { days: BTreeMap<NaiveDate, Uuid> },
    /// Required minutes per day or per week over the work days (seven flags, Monday first).
    Flexible {
        minutes_per_day: Option<u32>,
        minutes_per_week: Option<u32>,
        work_days: Vec<bool>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub name: String,
    pub pattern: ScheduleDef,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleOut {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub pattern: ScheduleDef,
    pub created_at: DateTime<Utc>,
}

/// The kind of a schedule pattern: the `kind` tag of a [`ScheduleDef`] and the text of the
/// `schedules.kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum PatternKind {
    Weekly,
    Rotating,
    Roster,
    Flexible,
}

impl WireText for PatternKind {}

impl ScheduleDef {
    /// Its kind (whose text is the `kind` tag of the JSON form).
    pub fn kind(&self) -> PatternKind {
        match self {
            ScheduleDef::Weekly { .. } => PatternKind::Weekly,
            ScheduleDef::Rotating { .. } => PatternKind::Rotating,
            ScheduleDef::Roster { .. } => PatternKind::Roster,
            ScheduleDef::Flexible { .. } => PatternKind::Flexible,
        }
    }

    /// The shift templates the schedule refers to.
    pub fn template_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = match self {
            ScheduleDef::Weekly { days } => days.iter().flatten().copied().collect(),
            ScheduleDef::Rotating { cycle, .. } => cycle.iter().flatten().copied().collect(),
            ScheduleDef::Roster { days } => days.values().copied().collect(),
            ScheduleDef::Flexible { .. } => Vec::new(),
        };
        ids.sort();
        ids.dedup();
        ids
    }
}

/// A kind of leave entered by HR: the text of `absences.kind`, of `timesheet_days.absence` and
/// of the reports' leave kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveKind {
    AnnualLeave,
    SickLeave,
    BusinessTrip,
    UnpaidLeave,
}

impl WireText for LeaveKind {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patterns_kind_is_its_json_tag() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let id = Uuid::nil();
        for def in [
            ScheduleDef::Weekly {
                days: vec![None; 7],
            },
            ScheduleDef::Rotating {
                anchor: day,
                cycle: vec![Some(id)],
            },
            ScheduleDef::Roster {
                days: BTreeMap::from([(day, id)]),
            },
            ScheduleDef::Flexible {
                minutes_per_day: Some(480),
                minutes_per_week: None,
                work_days: vec![true; 7],
            },
        ] {
            let json = serde_json::to_value(&def).unwrap();
            assert_eq!(json["kind"], def.kind().wire_text());
        }
        let texts: Vec<&str> = [
            PatternKind::Weekly,
            PatternKind::Rotating,
            PatternKind::Roster,
            PatternKind::Flexible,
        ]
        .map(WireText::wire_text)
        .into();
        assert_eq!(texts, ["weekly", "rotating", "roster", "flexible"]);
    }

    #[test]
    fn leave_kinds_keep_their_stored_text() {
        let all = [
            LeaveKind::AnnualLeave,
            LeaveKind::SickLeave,
            LeaveKind::BusinessTrip,
            LeaveKind::UnpaidLeave,
        ];
        let texts: Vec<&str> = all.map(WireText::wire_text).into();
        assert_eq!(
            texts,
            [
                "annual_leave",
                "sick_leave",
                "business_trip",
                "unpaid_leave"
            ]
        );
        for k in all {
            assert_eq!(LeaveKind::from_wire_text(k.wire_text()), Some(k));
        }
    }
}
