//! Report files: the period summary, the daily detail (CSV or XLSX) and the T-13 (XLSX), built
//! by one set of functions for the synchronous downloads (`GET /api/v1/reports/…/export`,
//! `/reports/t13`) and for the background **report downloads**.
//!
//! A report download (`POST /api/v1/reports/downloads`, handlers in `routes::reports`) stores a
//! `queued` row in `report_downloads` and enqueues the `reports.download` job in one
//! transaction. The job reads the employees of the requester's scope (their role and managed
//! departments and sites as they are when it runs), then their days in chunks (about
//! [`PROGRESS_STEPS`] of them, at most [`CHUNK_EMPLOYEES`] employees each), writing
//! `employees_done` of `employees_total` after each chunk, builds the file with the same
//! functions as the synchronous endpoints and writes it whole to `data_dir/reports/<id>`
//! ([`crate::job_files`], shared with the privacy exports). The row is then `done` with the
//! file's name, type and size, downloadable by the requester until `expires_at`
//! (`export_keep_hours`, 72 h by default); the hourly `reports.download_expiry` job deletes
//! expired files and marks their rows `expired`.
//!
//! No request waits for a report, so the 100,000 employee-days bound of the synchronous
//! endpoints (`report_too_large`) does not apply; only the file formats' own bounds do
//! ([`export::MAX_EXPORT_EMPLOYEES`] employees, [`export::MAX_EXPORT_DAY_ROWS`] rows of the
//! daily detail), checked when the download is requested.

use faceid_protocol::field_code::FieldCode;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use faceid_protocol::auth::Role;
use faceid_protocol::error_code::ErrorCode;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

pub use faceid_protocol::reports::{DownloadPage, ReportDownload, ReportKind};

use crate::AppState;
use crate::auth::Scope;
use crate::error::{AppError, AppResult};
use crate::job_files;
use crate::jobs::{Job, Outcome, Registry, worker::KindConfig};
use crate::timesheet::export::{self, EmployeeInfo, ExportError, T13Header};
use crate::timesheet::store::{self, Emp, EmpFilter};
use crate::timesheet::summary::EmployeeSummary;
use crate::timesheet::{DayRecord, Period};

/// The job kind that writes a report download.
pub const DOWNLOAD_JOB: &str = "reports.download";
/// The hourly job that deletes expired report files.
pub const EXPIRY_JOB: &str = "reports.download_expiry";
/// Attempts of the download job before the download is `failed`.
pub const MAX_ATTEMPTS: i32 = 3;
/// Most employees whose days are read between two progress updates of a download.
pub const CHUNK_EMPLOYEES: usize = 100;
/// Progress updates a smaller download aims at (chunks of `total / 20` employees, at least 1).
pub const PROGRESS_STEPS: usize = 20;

/// The filters and T-13 header fields a download was asked with (stored with the row).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Params {
    pub department_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    pub organisation: Option<String>,
    pub okpo: Option<String>,
    pub document_number: Option<String>,
}

impl Params {
    pub fn filter(&self) -> EmpFilter {
        EmpFilter {
            department_id: self.department_id,
            site_id: self.site_id,
            ..EmpFilter::default()
        }
    }
}

pub const COLUMNS: &str = "id, report, format, period_from, period_to,
    (params->>'department_id')::uuid AS department_id, (params->>'site_id')::uuid AS site_id,
    state, employees_total,
    employees_done, file_name, content_type, size_bytes, error, created_at, finished_at, expires_at";

/// A download of `requested_by`, by id (another account's is `None`).
pub async fn load(
    db: &PgPool,
    id: Uuid,
    requested_by: Uuid,
) -> Result<Option<ReportDownload>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM report_downloads WHERE id = $1 AND requested_by = $2"
    )))
    .bind(id)
    .bind(requested_by)
    .fetch_optional(db)
    .await
}

/// The downloads of `requested_by`, newest first, every state (expired ones marked so);
/// `(limit, offset)` a page.
pub async fn list(
    db: &PgPool,
    requested_by: Uuid,
    (limit, offset): (u32, u32),
) -> Result<DownloadPage, sqlx::Error> {
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM report_downloads WHERE requested_by = $1")
            .bind(requested_by)
            .fetch_one(db)
            .await?;
    let items = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM report_downloads WHERE requested_by = $1
          ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    )))
    .bind(requested_by)
    .bind(i64::from(limit))
    .bind(i64::from(offset))
    .fetch_all(db)
    .await?;
    Ok(DownloadPage { total, items })
}

/// Directory of the report files.
pub fn reports_dir(settings: &crate::Settings) -> PathBuf {
    settings.data_dir.join("reports")
}

pub fn file_path(settings: &crate::Settings, id: Uuid) -> PathBuf {
    reports_dir(settings).join(id.to_string())
}

// ---------------------------------------------------------------------------------------------
// The files

/// A built report file.
pub struct ReportFile {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Where a build reports its progress: nowhere (a synchronous request), or a download's row.
#[derive(Clone, Copy)]
pub struct Progress<'a> {
    db: &'a PgPool,
    download: Option<Uuid>,
}

impl<'a> Progress<'a> {
    pub fn none(db: &'a PgPool) -> Self {
        Self { db, download: None }
    }

    fn of(db: &'a PgPool, download: Uuid) -> Self {
        Self {
            db,
            download: Some(download),
        }
    }

    async fn set(&self, done: usize, total: usize) -> AppResult<()> {
        if let Some(id) = self.download {
            sqlx::query(
                "UPDATE report_downloads SET employees_done = $2, employees_total = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(i32::try_from(done).unwrap_or(i32::MAX))
            .bind(i32::try_from(total).unwrap_or(i32::MAX))
            .execute(self.db)
            .await?;
        }
        Ok(())
    }

    /// `read` over `emps` (all at once without a download, else in chunks with progress),
    /// each item renumbered to its employee's index in `emps` + 1 by `renumber`.
    async fn chunked<T, F, Fut>(
        &self,
        emps: &[Emp],
        read: F,
        renumber: impl Fn(&mut T, i64),
    ) -> AppResult<Vec<T>>
    where
        F: Fn(&'a PgPool, Vec<Emp>) -> Fut,
        Fut: Future<Output = AppResult<Vec<T>>>,
    {
        let size = match self.download {
            Some(_) => emps
                .len()
                .div_ceil(PROGRESS_STEPS)
                .clamp(1, CHUNK_EMPLOYEES),
            None => emps.len().max(1),
        };
        let mut out: Vec<T> = Vec::with_capacity(emps.len());
        self.set(0, emps.len()).await?;
        for chunk in emps.chunks(size) {
            let base = out.len() as i64;
            let mut part = read(self.db, chunk.to_vec()).await?;
            for (i, item) in part.iter_mut().enumerate() {
                renumber(item, base + i as i64 + 1);
            }
            out.extend(part);
            self.set(out.len(), emps.len()).await?;
        }
        Ok(out)
    }
}

/// A file format's bound broken, or a month expected: the 422 of the report.
pub fn export_error(e: ExportError) -> AppError {
    match e {
        ExportError::TooLarge { .. } => {
            AppError::field("to", FieldCode::ReportTooLarge, e.to_string())
        }
        ExportError::NotAMonth { .. } => {
            AppError::field("month", FieldCode::InvalidMonth, e.to_string())
        }
        other => AppError::internal(other),
    }
}

fn table_file(
    xlsx: bool,
    stem: &str,
    bytes: Result<Vec<u8>, ExportError>,
) -> AppResult<ReportFile> {
    let bytes = bytes.map_err(export_error)?;
    Ok(if xlsx {
        ReportFile {
            name: format!("{stem}.xlsx"),
            content_type: export::XLSX_CONTENT_TYPE,
            bytes,
        }
    } else {
        ReportFile {
            name: format!("{stem}.csv"),
            content_type: export::CSV_CONTENT_TYPE,
            bytes,
        }
    })
}

/// The period summary of `emps` as CSV or XLSX.
pub async fn summary_file(
    emps: &[Emp],
    period: Period,
    xlsx: bool,
    progress: Progress<'_>,
) -> AppResult<ReportFile> {
    let now = Utc::now();
    let sums = progress
        .chunked(
            emps,
            |db, c| async move { store::summaries(db, &c, period, now).await },
            |s: &mut EmployeeSummary, i| s.employee = i,
        )
        .await?;
    let rows: Vec<(EmployeeInfo, EmployeeSummary)> = emps
        .iter()
        .enumerate()
        .zip(sums)
        .map(|((i, e), s)| (e.info(i as i64 + 1), s))
        .collect();
    let bytes = if xlsx {
        export::summary_xlsx_of(&rows)
    } else {
        export::summary_csv_of(&rows)
    };
    table_file(
        xlsx,
        &format!("summary_{}_{}", period.from(), period.to()),
        bytes,
    )
}

/// The days of `emps` over `period` as of `now`, each employee's numbered by their index in
/// `emps` + 1: the daily detail, on screen (`GET /api/v1/reports/daily`) and in its files.
pub async fn daily_days(
    emps: &[Emp],
    period: Period,
    now: DateTime<Utc>,
    progress: Progress<'_>,
) -> AppResult<Vec<Vec<DayRecord>>> {
    progress
        .chunked(
            emps,
            |db, c| async move { store::days(db, &c, period, now).await },
            |d: &mut Vec<DayRecord>, i| {
                for r in d.iter_mut() {
                    r.employee = i;
                }
            },
        )
        .await
}

/// The daily detail of `emps` as CSV or XLSX; times in the zone of `site`, else of the first
/// employee's site.
pub async fn daily_file(
    emps: &[Emp],
    period: Period,
    xlsx: bool,
    site: Option<Uuid>,
    progress: Progress<'_>,
) -> AppResult<ReportFile> {
    let days = daily_days(emps, period, Utc::now(), progress).await?;
    let tz: Tz = match site {
        Some(s) => sqlx::query_scalar::<_, String>("SELECT time_zone FROM sites WHERE id = $1")
            .bind(s)
            .fetch_optional(progress.db)
            .await?
            .and_then(|t| t.parse().ok())
            .unwrap_or(Tz::UTC),
        None => emps.first().map(Emp::tz).unwrap_or(Tz::UTC),
    };
    let rows: Vec<_> = emps
        .iter()
        .enumerate()
        .zip(days)
        .map(|((i, e), d)| (e.info(i as i64 + 1), d))
        .collect();
    let bytes = if xlsx {
        export::daily_xlsx(&rows, tz)
    } else {
        export::daily_csv(&rows, tz)
    };
    table_file(
        xlsx,
        &format!("daily_{}_{}", period.from(), period.to()),
        bytes,
    )
}

/// The name of department `id`, if it exists.
pub async fn department_name(db: &PgPool, id: Uuid) -> AppResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM departments WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// The T-13 of `emps` for `month`; the header's text fields are cut to 200 characters.
pub async fn t13_file(
    emps: &[Emp],
    month: Period,
    department: String,
    p: &Params,
    progress: Progress<'_>,
) -> AppResult<ReportFile> {
    let now = Utc::now();
    let cells = progress
        .chunked(
            emps,
            |db, c| async move { store::t13_cells(db, &c, month, now).await },
            |_, _| {},
        )
        .await?;
    let clip = |s: &Option<String>| {
        s.as_deref()
            .map(|s| s.chars().take(200).collect())
            .unwrap_or_default()
    };
    let header = T13Header {
        organisation: clip(&p.organisation),
        okpo: clip(&p.okpo),
        department,
        document_number: clip(&p.document_number),
        prepared_on: now.date_naive(),
    };
    let bytes = store::t13_file(&header, month, emps, &cells).map_err(export_error)?;
    Ok(ReportFile {
        name: format!(
            "t13_{}-{:02}.xlsx",
            month.from().year(),
            month.from().month()
        ),
        content_type: export::XLSX_CONTENT_TYPE,
        bytes,
    })
}

// ---------------------------------------------------------------------------------------------
// The job

/// Registers the download job and the hourly expiry of report files.
pub fn register_jobs(registry: &mut Registry, state: AppState) {
    let s = state.clone();
    registry.handle(
        DOWNLOAD_JOB,
        KindConfig {
            max_attempts: MAX_ATTEMPTS,
            lease: Duration::from_secs(30 * 60),
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(10 * 60),
        },
        move |job| {
            let state = s.clone();
            async move { run_job(&state, &job).await }
        },
    );
    registry
        .handle(EXPIRY_JOB, KindConfig::default(), move |_job| {
            let state = state.clone();
            async move {
                match expire(&state, Utc::now()).await {
                    Ok(_) => Outcome::Done,
                    Err(e) => Outcome::Retry(e.to_string()),
                }
            }
        })
        .every(EXPIRY_JOB, Duration::from_secs(3600));
}

/// Deletes the files of downloads past their expiry; answers how many.
pub async fn expire(state: &AppState, now: DateTime<Utc>) -> AppResult<u64> {
    job_files::expire(&state.db, "report_downloads", "done", now, |id| {
        file_path(&state.settings, id)
    })
    .await
}

async fn run_job(state: &AppState, job: &Job) -> Outcome {
    let table = ("report_downloads", "'queued', 'running'");
    job_files::run_row_job(&state.db, job, "download_id", MAX_ATTEMPTS, table, |id| {
        write_download(state, id)
    })
    .await
}

#[derive(sqlx::FromRow)]
struct Row {
    requested_by: Uuid,
    report: String,
    format: String,
    period_from: NaiveDate,
    period_to: NaiveDate,
    params: sqlx::types::Json<Params>,
    state: String,
}

#[derive(sqlx::FromRow)]
struct Requester {
    role: Role,
    status: String,
    scope_department_ids: Option<Vec<Uuid>>,
    scope_site_ids: Option<Vec<Uuid>>,
}

/// The scope of `employee` now, as their requests have it: everyone for administrators, the
/// managed departments and sites for operators. Nobody else may have a report.
async fn requester_scope(db: &PgPool, employee: Uuid) -> AppResult<Scope> {
    let r: Option<Requester> = sqlx::query_as(
        "SELECT role, status, scope_department_ids, scope_site_ids FROM employees WHERE id = $1",
    )
    .bind(employee)
    .fetch_optional(db)
    .await?;
    match r {
        Some(r) if r.status == "active" => match r.role {
            Role::Admin => Ok(Scope::All),
            Role::Operator => Ok(Scope::Within {
                department_ids: r.scope_department_ids.unwrap_or_default(),
                site_ids: r.scope_site_ids.unwrap_or_default(),
            }),
            Role::User => Err(AppError::forbidden(
                ErrorCode::Forbidden,
                "the requester may no longer have reports",
            )),
        },
        _ => Err(AppError::forbidden(
            ErrorCode::Forbidden,
            "the requester's account is no longer active",
        )),
    }
}

/// Writes download `id` (nothing when it is finished).
pub async fn write_download(state: &AppState, id: Uuid) -> AppResult<()> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT requested_by, report, format, period_from, period_to, params, state
           FROM report_downloads WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    let Some(row) = row.filter(|r| r.state == "queued" || r.state == "running") else {
        return Ok(());
    };
    let db = &state.db;
    sqlx::query("UPDATE report_downloads SET state = 'running' WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    let scope = requester_scope(db, row.requested_by).await?;
    let period = Period::new(row.period_from, row.period_to).map_err(AppError::internal)?;
    let p = &row.params.0;
    let (emps, _) = store::employees(db, &scope, &p.filter(), period.from(), None).await?;
    let progress = Progress::of(db, id);
    let xlsx = row.format == "xlsx";
    let file = match row.report.as_str() {
        "summary" => summary_file(&emps, period, xlsx, progress).await?,
        "daily" => daily_file(&emps, period, xlsx, p.site_id, progress).await?,
        _ => {
            let department = match p.department_id {
                Some(d) => department_name(db, d).await?.unwrap_or_default(),
                None => String::new(),
            };
            t13_file(&emps, period, department, p, progress).await?
        }
    };
    let size = job_files::write_whole(&file_path(&state.settings, id), &file.bytes).await?;
    let keep = f64::from(state.settings.export_keep_hours);
    sqlx::query(
        "UPDATE report_downloads SET state = 'done', file_name = $2, content_type = $3,
                size_bytes = $4, employees_done = employees_total, finished_at = now(),
                expires_at = now() + $5 * interval '1 hour'
          WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .bind(&file.name)
    .bind(file.content_type)
    .bind(i64::try_from(size).unwrap_or(i64::MAX))
    .bind(keep)
    .execute(db)
    .await?;
    tracing::info!(download = %id, report = %row.report, size, "report download written");
    Ok(())
}
