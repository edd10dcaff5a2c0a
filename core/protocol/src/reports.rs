//! Timesheet reports as the server sends them and the client reads them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET` — the employee's own timesheet of a month (`?month=YYYY-MM`, default: this month).
pub const MY_TIMESHEET_PATH: &str = "/api/v1/me/timesheet";
/// `GET` — the daily detail over a period: one row per employee and day, with the plan, the
/// first check-in and last check-out, the minutes worked, late, left early, overtime and at
/// night, the absence and the T-13 code; the numbers of the daily XLSX / CSV. Paged by
/// rows, in the name order then by date unless `sort` says otherwise; `q` keeps the
/// employees whose name contains it.
pub const DAILY_PATH: &str = "/api/v1/reports/daily";
/// `GET` — the daily detail as a file (`format=csv`, the default, or `xlsx`); times in the
/// zone of the requested site, else of the first employee's site.
pub const DAILY_EXPORT_PATH: &str = "/api/v1/reports/daily/export";
/// `GET` — totals per department over a period.
pub const DEPARTMENT_SUMMARY_PATH: &str = "/api/v1/reports/departments";
/// `GET` — the caller's report downloads, newest first: every state, those whose file was
/// deleted after its retention period marked `expired` (so the panel lists them after a
/// reload); `POST` — queues a report download: the summary, the daily detail or the T-13
/// written in the background, for the caller's scope (administrators: everyone; operators:
/// their departments and sites), with its progress at `GET /api/v1/reports/downloads/{id}`.
pub const DOWNLOADS_PATH: &str = "/api/v1/reports/downloads";
/// `GET` — one of the caller's report downloads: its state and progress, and when done the
/// file's name, size and expiry.
pub const DOWNLOAD_PATH: &str = "/api/v1/reports/downloads/{id}";
/// `GET` — the file of one of the caller's report downloads (200, streamed; audited as
/// `reports.download_file`), 202 with the state while it is being written, 409
/// `export_failed` when it failed, 410 `export_expired` once deleted.
pub const DOWNLOAD_FILE_PATH: &str = "/api/v1/reports/downloads/{id}/file";
/// `GET` — period summary per employee (paged by employees), in the name order unless
/// `sort` says otherwise (another order reads every employee first, so it is bounded by
/// `report_too_large` like the department summary); `q` keeps the employees whose name
/// contains it.
pub const SUMMARY_PATH: &str = "/api/v1/reports/summary";
/// `GET` — the period summary as a file (`format=csv`, the default, or `xlsx`).
pub const SUMMARY_EXPORT_PATH: &str = "/api/v1/reports/summary/export";
/// `GET` — the unified form T-13 (OKUD 0301008) for a month and a department, as XLSX.
pub const T13_PATH: &str = "/api/v1/reports/t13";
/// `GET` — the today view's changes as server-sent events: `ready` once listening, then
/// `attendance` after each committed batch of attendance events (staff; the stream says
/// only that something changed).
pub const TODAY_STREAM_PATH: &str = "/api/v1/reports/today/stream";

/// `GET` — who is in, late, missing and not checked out now (`?department_id=&site_id=&at=`).
pub const TODAY_PATH: &str = "/api/v1/reports/today";

/// What a day was: the text of `DayOut::status` and of `timesheet_days.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayStatusCode {
    Present,
    Late,
    LeftEarly,
    Absent,
    DayOff,
    Holiday,
    OnLeave,
    MissingCheckOut,
    InProgress,
    Upcoming,
}

impl crate::wire_text::WireText for DayStatusCode {}

/// An employee named in a report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRef {
    pub employee_id: Uuid,
    pub name: String,
}

/// A late employee and by how many minutes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LateRef {
    pub employee_id: Uuid,
    pub name: String,
    pub minutes: i64,
}

/// An employee on leave and its kind.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaveRef {
    pub employee_id: Uuid,
    pub name: String,
    /// `annual_leave`, `sick_leave`, `business_trip` or `unpaid_leave`.
    pub kind: String,
}

/// Who is in, late, missing or not checked out, for the totals, a department or a site.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TodayGroup {
    /// Department or site id; absent for the totals and for employees without one.
    pub id: Option<Uuid>,
    pub name: Option<String>,
    pub employees: u64,
    pub in_now: Vec<PersonRef>,
    pub late: Vec<LateRef>,
    pub missing: Vec<PersonRef>,
    pub not_checked_out: Vec<PersonRef>,
    pub on_leave: Vec<LeaveRef>,
    pub pending_review: Vec<PersonRef>,
}

/// `GET /api/v1/reports/today`; an employee with several sites is listed under each.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TodayReport {
    pub at: DateTime<Utc>,
    pub totals: TodayGroup,
    pub by_department: Vec<TodayGroup>,
    pub by_site: Vec<TodayGroup>,
}

/// `?month=YYYY-MM` or `?from=&to=` (inclusive, at most 366 days); default the current month.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ReportQuery {
    /// `YYYY-MM`; instead of `from` and `to`.
    #[cfg_attr(feature = "openapi", param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"))]
    pub month: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub department_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    /// Page size of the JSON summary (employees) and daily detail (employee-days) (1..=500,
    /// default 50).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    /// Export format (default `csv`).
    #[cfg_attr(feature = "openapi", param(inline))]
    pub format: Option<ExportFormat>,
    /// Employees whose name ("last first" or "first last") contains this text, any case; blank
    /// is no search (at most 100 characters: `too_long`; no control characters:
    /// `invalid_characters`).
    #[cfg_attr(feature = "openapi", param(max_length = 100))]
    pub q: Option<String>,
    /// Order of the rows of the period summary and the daily detail (the other reports have
    /// their own order): a column, `-` before it for descending; default `name`.
    #[cfg_attr(feature = "openapi", param(inline))]
    pub sort: Option<ReportSort>,
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

/// The order of the rows: a column, `-` before it for descending (default `name`). Rows equal
/// in it keep the name order. `date` orders the daily detail by day (the summary, having no
/// day, stays in the name order); `absences` is the summary's count of absences, the daily
/// detail's absence code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryOut {
    pub employee_id: Uuid,
    pub name: String,
    pub department_id: Option<Uuid>,
    pub department: Option<String>,
    pub days_worked: u32,
    pub worked_minutes: i64,
    pub worked_hours: f64,
    pub late_count: u32,
    pub late_minutes: i64,
    pub early_leave_count: u32,
    pub early_leave_minutes: i64,
    /// Working days without attendance or a recorded reason.
    pub absences: u32,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub night_hours: f64,
    pub days_off: u32,
    pub holidays: u32,
    /// Days of leave by kind (`annual_leave`, `sick_leave`, `business_trip`, `unpaid_leave`).
    pub leave_days: BTreeMap<String, u32>,
    pub missing_checkouts: u32,
    pub pending_events: u32,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryPage {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Employees matching the filter (all pages).
    pub total: i64,
    pub items: Vec<SummaryOut>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepartmentSummaryOut {
    pub department_id: Option<Uuid>,
    pub department: Option<String>,
    pub employees: u32,
    pub days_worked: u32,
    pub worked_minutes: i64,
    pub worked_hours: f64,
    pub late_count: u32,
    pub late_minutes: i64,
    pub early_leave_minutes: i64,
    pub absences: u32,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub leave_days: u32,
    pub missing_checkouts: u32,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayOut {
    pub date: NaiveDate,
    /// present, late, left_early, absent, day_off, holiday, on_leave, missing_check_out,
    /// in_progress, upcoming
    pub status: String,
    /// The T-13 letter code(s) of the day, e.g. `Я` or `Я/Н`.
    pub t13_code: String,
    pub planned_start: Option<DateTime<Utc>>,
    pub planned_end: Option<DateTime<Utc>>,
    pub first_in: Option<DateTime<Utc>>,
    pub last_out: Option<DateTime<Utc>>,
    pub worked_minutes: i64,
    pub late_minutes: i64,
    pub early_leave_minutes: i64,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub absence: Option<String>,
    pub missing_checkout: bool,
    pub holiday: bool,
    pub pending_events: usize,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyTimesheet {
    pub month: String,
    pub days: Vec<DayOut>,
    pub summary: SummaryOut,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct T13Query {
    /// `YYYY-MM` (default: the current month).
    #[cfg_attr(feature = "openapi", param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"))]
    pub month: Option<String>,
    /// The department of the form; without it, every employee in the caller's scope.
    pub department_id: Option<Uuid>,
    /// Header fields of the form.
    pub organisation: Option<String>,
    pub okpo: Option<String>,
    pub document_number: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct MonthQuery {
    /// `YYYY-MM` (default: the current month).
    #[cfg_attr(feature = "openapi", param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"))]
    pub month: Option<String>,
}

/// One employee's day in the daily detail.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyRow {
    pub employee_id: Uuid,
    /// Last name, first name.
    pub name: String,
    /// The card number, else the login (as in the files).
    pub personnel_number: String,
    pub department: Option<String>,
    #[serde(flatten)]
    pub day: DayOut,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyPage {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Rows (employee-days) matching the filter (all pages).
    pub total: i64,
    pub items: Vec<DailyRow>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct TodayQuery {
    pub department_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    /// Evaluate at this instant instead of now (e.g. to look back at a morning).
    pub at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/reports/downloads` body: which report, in which format, over which period
/// and employees (the parameters of the synchronous endpoints).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DownloadRequest {
    pub report: ReportKind,
    /// `csv` (default) or `xlsx` for the summary and the daily detail; the T-13 is XLSX
    /// (`csv` is refused with `invalid` on `format`).
    #[serde(default)]
    pub format: Option<ExportFormat>,
    /// `YYYY-MM`; instead of `from` and `to` (default: the current month). The T-13 takes only
    /// a month (`from` / `to` are refused with `invalid_period`).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"))]
    pub month: Option<String>,
    /// First day (inclusive) with `to`, at most 366 days.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub department_id: Option<Uuid>,
    /// Summary and daily detail only (`invalid` on `site_id` for a T-13).
    pub site_id: Option<Uuid>,
    /// T-13 header fields (at most 200 characters each; `too_long`, `invalid_characters`).
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub organisation: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub okpo: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub document_number: Option<String>,
}

/// Which report a download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// The period summary per employee (CSV or XLSX).
    Summary,
    /// The daily detail (CSV or XLSX).
    Daily,
    /// The unified form T-13 of a month (XLSX only).
    T13,
}

impl crate::wire_text::WireText for ReportKind {}

/// A report download and its progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportDownload {
    pub id: Uuid,
    /// `summary`, `daily` or `t13`.
    pub report: String,
    /// `csv` or `xlsx`.
    pub format: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    /// The filters it was asked with.
    pub department_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    /// `queued`, `running`, `done`, `failed` or `expired`.
    pub state: String,
    /// Employees the report covers (known once the job runs).
    pub employees_total: i32,
    /// Of those, employees read so far; equals the total when done.
    pub employees_done: i32,
    /// When done: the file's name, type and size.
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When done: the file is deleted after this.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A page of an account's report downloads, newest first.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadPage {
    /// The account's downloads (all pages).
    pub total: i64,
    pub items: Vec<ReportDownload>,
}
