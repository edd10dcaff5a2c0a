//! The order of the on-screen tables that the server pages (the period summary and the daily
//! detail): an allow-listed column, `-` before it for descending; rows equal in it keep the
//! name order (last name, first name, then date).

use std::cmp::Ordering;

use serde::Deserialize;
use utoipa::ToSchema;

/// The order of the rows: a column, `-` before it for descending (default `name`). Rows equal
/// in it keep the name order. `date` orders the daily detail by day (the summary, having no
/// day, stays in the name order); `absences` is the summary's count of absences, the daily
/// detail's absence code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
pub enum ReportSort {
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "department")]
    Department,
    #[serde(rename = "-department")]
    DepartmentDesc,
    #[serde(rename = "date")]
    Date,
    #[serde(rename = "-date")]
    DateDesc,
    #[serde(rename = "worked")]
    Worked,
    #[serde(rename = "-worked")]
    WorkedDesc,
    #[serde(rename = "late")]
    Late,
    #[serde(rename = "-late")]
    LateDesc,
    #[serde(rename = "early_leave")]
    EarlyLeave,
    #[serde(rename = "-early_leave")]
    EarlyLeaveDesc,
    #[serde(rename = "absences")]
    Absences,
    #[serde(rename = "-absences")]
    AbsencesDesc,
    #[serde(rename = "overtime")]
    Overtime,
    #[serde(rename = "-overtime")]
    OvertimeDesc,
}

/// A column of the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Department,
    Date,
    Worked,
    Late,
    EarlyLeave,
    Absences,
    Overtime,
}

impl ReportSort {
    /// The column and whether descending.
    pub fn key(self) -> (SortKey, bool) {
        use ReportSort::*;
        match self {
            Name => (SortKey::Name, false),
            NameDesc => (SortKey::Name, true),
            Department => (SortKey::Department, false),
            DepartmentDesc => (SortKey::Department, true),
            Date => (SortKey::Date, false),
            DateDesc => (SortKey::Date, true),
            Worked => (SortKey::Worked, false),
            WorkedDesc => (SortKey::Worked, true),
            Late => (SortKey::Late, false),
            LateDesc => (SortKey::Late, true),
            EarlyLeave => (SortKey::EarlyLeave, false),
            EarlyLeaveDesc => (SortKey::EarlyLeave, true),
            Absences => (SortKey::Absences, false),
            AbsencesDesc => (SortKey::Absences, true),
            Overtime => (SortKey::Overtime, false),
            OvertimeDesc => (SortKey::Overtime, true),
        }
    }
}

/// A row's value in a column: a text (absent ones last) or a number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    Num(i64),
    Text(Option<String>),
}

/// Sorts `rows` (given in the name order) by `sort` with `value`, stable, so equal rows keep
/// the name order; a descending order reverses the column only. Absent texts stay last.
pub fn sort_rows<R>(rows: &mut [R], sort: ReportSort, value: impl Fn(&R, SortKey) -> SortValue) {
    let (key, desc) = sort.key();
    rows.sort_by(|a, b| {
        let (va, vb) = (value(a, key), value(b, key));
        match (&va, &vb) {
            (SortValue::Text(None), SortValue::Text(Some(_))) => Ordering::Greater,
            (SortValue::Text(Some(_)), SortValue::Text(None)) => Ordering::Less,
            _ if desc => vb.cmp(&va),
            _ => va.cmp(&vb),
        }
    });
}

/// The rows of one page (`(limit, offset)`) of `rows`.
pub fn page<R>(rows: Vec<R>, (limit, offset): (u32, u32)) -> Vec<R> {
    rows.into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect()
}
