//! Report downloads, written in the background ([`crate::report_downloads`]): queue one, read
//! its progress, fetch its file.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::Problem;
use faceid_protocol::reports::{DOWNLOAD_FILE_PATH, DOWNLOAD_PATH, DOWNLOADS_PATH};
use faceid_protocol::reports::{DownloadRequest, ExportFormat};
use faceid_protocol::wire_text::WireText;
use serde::Serialize;
use uuid::Uuid;

use super::{current_month, period_error, resolve_period, t13_department};
use crate::AppState;
use crate::audit;
use crate::auth::Staff;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Check, Paging};
use crate::job_files;
use crate::jobs;
use crate::report_downloads::{
    self as downloads, COLUMNS, DOWNLOAD_JOB, DownloadPage, Params, ReportDownload, ReportKind,
};
use crate::timesheet::Period;
use crate::timesheet::export;
use crate::timesheet::store;

/// The period of a download request, with its rules (the T-13 header's texts: at most 200
/// characters, no control characters).
fn download_period(req: &DownloadRequest) -> AppResult<(Period, bool)> {
    let mut check = Check::default();
    check.opt_text("organisation", req.organisation.as_deref(), 200);
    check.opt_text("okpo", req.okpo.as_deref(), 200);
    check.opt_text("document_number", req.document_number.as_deref(), 200);
    check.finish()?;
    if req.report != ReportKind::T13 {
        let period = resolve_period(req.month.as_deref(), req.from, req.to)?;
        return Ok((period, req.format.unwrap_or_default() == ExportFormat::Xlsx));
    }
    let mut check = Check::default();
    if req.format == Some(ExportFormat::Csv) {
        check.add("format", FieldCode::Invalid, "the T-13 is an XLSX form");
    }
    if req.site_id.is_some() {
        check.add(
            "site_id",
            FieldCode::Invalid,
            "the T-13 is filtered by department only",
        );
    }
    if req.from.is_some() || req.to.is_some() {
        check.add(
            "month",
            FieldCode::InvalidPeriod,
            "the T-13 takes a month, not from and to",
        );
    }
    check.finish()?;
    let month = match req.month.as_deref() {
        Some(m) => Period::parse_month(m).map_err(period_error)?,
        None => current_month()?,
    };
    Ok((month, true))
}

/// What the audit log records of a download asked for: the report, its period and filters.
#[derive(Serialize)]
struct Requested<'a> {
    report: &'a str,
    format: &'a str,
    period_from: NaiveDate,
    period_to: NaiveDate,
    #[serde(flatten)]
    params: &'a Params,
}

/// Queues a report download: the summary, the daily detail or the T-13 written in the
/// background, for the caller's scope (administrators: everyone; operators: their
/// departments and sites), with its progress at `GET /api/v1/reports/downloads/{id}`. Not
/// bounded by `report_too_large`'s employee-days, only by the file formats (10,000
/// employees; 400,000 rows of daily detail). Audited as `reports.download` with the report,
/// its period and filters.
#[utoipa::path(post, path = DOWNLOADS_PATH, tag = "reports", security(("bearer" = [])),
    request_body = DownloadRequest,
    responses(
        (status = 202, description = "queued", body = ReportDownload),
        (status = 404, description = "no such department (T-13)", body = Problem),
        (status = 422, description = "`invalid_month`, `invalid_period`, `period_too_long`, `empty_period`, `invalid`, `too_long`, `report_too_large`", body = Problem)))]
pub async fn start_download(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(req): ApiJson<DownloadRequest>,
) -> AppResult<(StatusCode, Json<ReportDownload>)> {
    let (period, xlsx) = download_period(&req)?;
    let params = Params {
        department_id: req.department_id,
        site_id: req.site_id,
        organisation: req.organisation,
        okpo: req.okpo,
        document_number: req.document_number,
    };
    if req.report == ReportKind::T13 {
        t13_department(&state, params.department_id).await?;
    }
    let (_, total) = store::employees(
        &state.db,
        &caller.scope(),
        &params.filter(),
        period.from(),
        Some((1, 0)),
    )
    .await?;
    let too_large = |what: &str, n: i64, limit: usize| {
        AppError::field(
            "department_id",
            FieldCode::ReportTooLarge,
            format!("{n} {what} is more than {limit}; narrow the department, site or period"),
        )
    };
    if total > export::MAX_EXPORT_EMPLOYEES as i64 {
        return Err(too_large("employees", total, export::MAX_EXPORT_EMPLOYEES));
    }
    let rows = total * period.len_days();
    if req.report == ReportKind::Daily && rows > export::MAX_EXPORT_DAY_ROWS as i64 {
        return Err(too_large("rows", rows, export::MAX_EXPORT_DAY_ROWS));
    }
    let id = Uuid::now_v7();
    let mut tx = state.db.begin().await?;
    let download: ReportDownload = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO report_downloads (id, requested_by, report, format, period_from, period_to, params)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(caller.id)
    .bind(req.report.wire_text())
    .bind(if xlsx { "xlsx" } else { "csv" })
    .bind(period.from())
    .bind(period.to())
    .bind(sqlx::types::Json(&params))
    .fetch_one(&mut *tx)
    .await?;
    let requested = Requested {
        report: req.report.wire_text(),
        format: &download.format,
        period_from: download.period_from,
        period_to: download.period_to,
        params: &params,
    };
    audit::record(
        &mut tx,
        &caller,
        "reports.download",
        "report_download",
        Some(id),
        audit::NONE,
        Some(&requested),
    )
    .await?;
    jobs::enqueue(
        &mut tx,
        DOWNLOAD_JOB,
        &serde_json::json!({ "download_id": id }),
        jobs::Enqueue::default(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(download)))
}

/// The caller's report downloads, newest first: every state, those whose file was deleted
/// after its retention period marked `expired` (so the panel lists them after a reload).
/// Another account's are never listed.
#[utoipa::path(get, path = DOWNLOADS_PATH, tag = "reports", security(("bearer" = [])),
    params(Paging),
    responses(
        (status = 200, description = "one page of the caller's downloads", body = DownloadPage),
        (status = 400, description = "`invalid_query` (paging)", body = Problem)))]
pub async fn list_downloads(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<Paging>,
) -> AppResult<Json<DownloadPage>> {
    let page = Paging::resolve(q.limit, q.offset)?;
    Ok(Json(downloads::list(&state.db, caller.id, page).await?))
}

/// One of the caller's report downloads: its state and progress, and when done the file's
/// name, size and expiry. Another account's download is 404.
#[utoipa::path(get, path = DOWNLOAD_PATH, tag = "reports", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "download id")),
    responses(
        (status = 200, description = "the download", body = ReportDownload),
        (status = 404, description = "no such download of the caller", body = Problem)))]
pub async fn get_download(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ReportDownload>> {
    downloads::load(&state.db, id, caller.id)
        .await?
        .map(Json)
        .ok_or(AppError::not_found("report_download"))
}

/// The file of one of the caller's report downloads (200, streamed; audited as
/// `reports.download_file`), 202 with the state while
/// it is being written, 409 `export_failed` when it failed, 410 `export_expired` once deleted.
#[utoipa::path(get, path = DOWNLOAD_FILE_PATH, tag = "reports", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "download id")),
    responses(
        (status = 200, description = "the file: `text/csv` or XLSX"),
        (status = 202, description = "still being written", body = ReportDownload),
        (status = 404, description = "no such download of the caller", body = Problem),
        (status = 409, description = "`export_failed`", body = Problem),
        (status = 410, description = "`export_expired`", body = Problem)))]
pub async fn download_file(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    let d = downloads::load(&state.db, id, caller.id)
        .await?
        .ok_or(AppError::not_found("report_download"))?;
    let why = job_files::Unavailable {
        failed: "the report could not be written; start a new download",
        expired: "the report was deleted after its retention period; start a new download",
    };
    let st = d.state.clone();
    job_files::answer(&st, d, why, |d| async move {
        let mut conn = state.db.acquire().await?;
        audit::record(
            &mut conn,
            &caller,
            "reports.download_file",
            "report_download",
            Some(id),
            audit::NONE,
            Some(&d),
        )
        .await?;
        let path = downloads::file_path(&state.settings, id);
        let name = d.file_name.as_deref().unwrap_or("report");
        let ct = d
            .content_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        job_files::stream(&path, ct, name).await
    })
    .await
}
