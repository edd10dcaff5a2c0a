//! CSV and XLSX exports of the period summary and daily detail, and the T-13 timesheet.
//!
//! Every figure comes from [`DayRecord`]s (through [`summarize_employee`] for totals), so
//! the summary, CSV, XLSX and T-13 agree for the same input. The T-13 form is [`t13`].

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::{Deserialize, Serialize};

use super::calendar::AbsenceKind;
use super::compute::DayRecord;
use super::schedule::EmployeeId;
use super::summary::{EmployeeSummary, minutes_to_hours, summarize_employee};

mod t13;

pub use t13::{
    T13_ABSENCE_COL, T13_FIRST_DAY_COL, T13_FIRST_ROW, T13_HALF_COL, T13_LAST_COL,
    T13_MONTH_DAYS_COL, T13_MONTH_HOURS_COL, T13Code, T13Day, T13Header, T13Line, T13Row,
    fmt_hours, t13_day, t13_rows, t13_xlsx, t13_xlsx_lines,
};

/// Most employees one export may hold (larger requests are paged by the caller).
pub const MAX_EXPORT_EMPLOYEES: usize = 10_000;
/// Most day rows one daily-detail export may hold.
pub const MAX_EXPORT_DAY_ROWS: usize = 400_000;

pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("xlsx: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("csv buffer: {0}")]
    CsvBuffer(String),
    #[error("the T-13 timesheet covers one calendar month, not {from}..{to}")]
    NotAMonth { from: NaiveDate, to: NaiveDate },
    #[error("{what}: {count} rows exceed the limit of {limit}")]
    TooLarge {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("day record of employee {employee} for {date} is outside the period")]
    OutsidePeriod {
        employee: EmployeeId,
        date: NaiveDate,
    },
}

/// Who a row is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployeeInfo {
    pub id: EmployeeId,
    pub full_name: String,
    pub position: String,
    pub personnel_number: String,
}

fn check_len(what: &'static str, count: usize, limit: usize) -> Result<(), ExportError> {
    if count > limit {
        return Err(ExportError::TooLarge { what, count, limit });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Period summary and daily detail: one column set shared by CSV and XLSX.

/// Column titles of the period summary.
pub const SUMMARY_COLUMNS: [&str; 19] = [
    "employee_id",
    "personnel_number",
    "full_name",
    "position",
    "days_worked",
    "worked_hours",
    "late_count",
    "late_minutes",
    "early_leave_count",
    "early_leave_minutes",
    "absences",
    "overtime_hours",
    "night_hours",
    "annual_leave_days",
    "sick_leave_days",
    "business_trip_days",
    "unpaid_leave_days",
    "missing_checkouts",
    "pending_events",
];

/// Column titles of the daily detail.
pub const DAILY_COLUMNS: [&str; 16] = [
    "employee_id",
    "personnel_number",
    "full_name",
    "date",
    "status",
    "t13_code",
    "first_in",
    "last_out",
    "worked_minutes",
    "worked_hours",
    "late_minutes",
    "early_leave_minutes",
    "overtime_minutes",
    "night_minutes",
    "absence",
    "pending_events",
];

enum Cell {
    Text(String),
    Num(f64),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num(n) => format!("{n}"),
        }
    }
}

fn summary_cells(info: &EmployeeInfo, s: &EmployeeSummary) -> Vec<Cell> {
    use Cell::{Num, Text};
    vec![
        Num(info.id as f64),
        Text(info.personnel_number.clone()),
        Text(info.full_name.clone()),
        Text(info.position.clone()),
        Num(f64::from(s.days_worked)),
        Num(s.worked_hours()),
        Num(f64::from(s.late_count)),
        Num(s.late_minutes as f64),
        Num(f64::from(s.early_leave_count)),
        Num(s.early_leave_minutes as f64),
        Num(f64::from(s.absences)),
        Num(s.overtime_hours()),
        Num(s.night_hours()),
        Num(f64::from(s.leave(AbsenceKind::AnnualLeave))),
        Num(f64::from(s.leave(AbsenceKind::SickLeave))),
        Num(f64::from(s.leave(AbsenceKind::BusinessTrip))),
        Num(f64::from(s.leave(AbsenceKind::UnpaidLeave))),
        Num(f64::from(s.missing_checkouts)),
        Num(f64::from(s.pending_events)),
    ]
}

fn daily_cells(info: &EmployeeInfo, r: &DayRecord, tz: Tz) -> Vec<Cell> {
    use Cell::{Num, Text};
    let local = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    vec![
        Num(info.id as f64),
        Text(info.personnel_number.clone()),
        Text(info.full_name.clone()),
        Text(r.date.format("%Y-%m-%d").to_string()),
        Text(r.status.as_str().to_owned()),
        Text(t13_day(r).code_text()),
        Text(local(r.first_in)),
        Text(local(r.last_out)),
        Num(r.worked_minutes as f64),
        Num(minutes_to_hours(r.worked_minutes)),
        Num(r.late_minutes as f64),
        Num(r.early_leave_minutes as f64),
        Num(r.overtime_minutes as f64),
        Num(r.night_minutes as f64),
        Text(r.absence.map(|a| a.as_str().to_owned()).unwrap_or_default()),
        Num(r.pending_event_ids.len() as f64),
    ]
}

fn summary_table(
    employees: &[(EmployeeInfo, Vec<DayRecord>)],
) -> Result<Vec<Vec<Cell>>, ExportError> {
    check_len("summary employees", employees.len(), MAX_EXPORT_EMPLOYEES)?;
    Ok(employees
        .iter()
        .map(|(info, days)| summary_cells(info, &summarize_employee(info.id, days)))
        .collect())
}

fn summary_table_of(
    employees: &[(EmployeeInfo, EmployeeSummary)],
) -> Result<Vec<Vec<Cell>>, ExportError> {
    check_len("summary employees", employees.len(), MAX_EXPORT_EMPLOYEES)?;
    Ok(employees
        .iter()
        .map(|(info, s)| summary_cells(info, s))
        .collect())
}

fn daily_table(
    employees: &[(EmployeeInfo, Vec<DayRecord>)],
    tz: Tz,
) -> Result<Vec<Vec<Cell>>, ExportError> {
    check_len("daily employees", employees.len(), MAX_EXPORT_EMPLOYEES)?;
    let rows: usize = employees.iter().map(|(_, d)| d.len()).sum();
    check_len("daily rows", rows, MAX_EXPORT_DAY_ROWS)?;
    let mut out = Vec::with_capacity(rows);
    for (info, days) in employees {
        let mut days: Vec<&DayRecord> = days.iter().collect();
        days.sort_by_key(|d| d.date);
        out.extend(days.into_iter().map(|d| daily_cells(info, d, tz)));
    }
    Ok(out)
}

fn to_csv(header: &[&str], rows: &[Vec<Cell>]) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(BOM.to_vec());
    w.write_record(header)?;
    for r in rows {
        w.write_record(r.iter().map(Cell::text))?;
    }
    w.into_inner()
        .map_err(|e| ExportError::CsvBuffer(e.to_string()))
}

fn to_xlsx(sheet_name: &str, header: &[&str], rows: &[Vec<Cell>]) -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name)?;
    let bold = Format::new().set_bold();
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = (i + 1) as u32;
        for (c, cell) in r.iter().enumerate() {
            match cell {
                Cell::Text(s) => ws.write_string(row, c as u16, s)?,
                Cell::Num(n) => ws.write_number(row, c as u16, *n)?,
            };
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(wb.save_to_buffer()?)
}

/// Period summary as CSV (UTF-8 with BOM).
pub fn summary_csv(employees: &[(EmployeeInfo, Vec<DayRecord>)]) -> Result<Vec<u8>, ExportError> {
    to_csv(&SUMMARY_COLUMNS, &summary_table(employees)?)
}

/// Period summary as XLSX.
pub fn summary_xlsx(employees: &[(EmployeeInfo, Vec<DayRecord>)]) -> Result<Vec<u8>, ExportError> {
    to_xlsx("Summary", &SUMMARY_COLUMNS, &summary_table(employees)?)
}

/// Period summary as CSV from totals already summed (e.g. by the database).
pub fn summary_csv_of(
    employees: &[(EmployeeInfo, EmployeeSummary)],
) -> Result<Vec<u8>, ExportError> {
    to_csv(&SUMMARY_COLUMNS, &summary_table_of(employees)?)
}

/// Period summary as XLSX from totals already summed.
pub fn summary_xlsx_of(
    employees: &[(EmployeeInfo, EmployeeSummary)],
) -> Result<Vec<u8>, ExportError> {
    to_xlsx("Summary", &SUMMARY_COLUMNS, &summary_table_of(employees)?)
}

/// Daily detail as CSV (UTF-8 with BOM); times in the site's zone.
pub fn daily_csv(
    employees: &[(EmployeeInfo, Vec<DayRecord>)],
    tz: Tz,
) -> Result<Vec<u8>, ExportError> {
    to_csv(&DAILY_COLUMNS, &daily_table(employees, tz)?)
}

/// Daily detail as XLSX; times in the site's zone.
pub fn daily_xlsx(
    employees: &[(EmployeeInfo, Vec<DayRecord>)],
    tz: Tz,
) -> Result<Vec<u8>, ExportError> {
    to_xlsx("Daily", &DAILY_COLUMNS, &daily_table(employees, tz)?)
}
