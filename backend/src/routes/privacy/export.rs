//! Handlers of data exports; the domain is [`crate::privacy::export`].

use crate::AppState;
use crate::audit;
use crate::auth::{AuthUser, Caller, Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath};
use crate::job_files;
use crate::jobs::{self};
use crate::telegram::texts::Lang;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use faceid_protocol::privacy::{
    EMPLOYEE_EXPORT_PATH, EMPLOYEE_EXPORT_STATUS_PATH, MY_EXPORT_STATUS_PATH,
};
use faceid_protocol::problem::Problem;
use faceid_protocol::wire_text::WireText;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use crate::privacy::export::*;

async fn start(
    state: &AppState,
    caller: &Caller,
    employee: Uuid,
    req: ExportRequest,
) -> AppResult<ExportStatus> {
    let mut tx = state.db.begin().await?;
    let language = match req.language {
        Some(l) => l,
        None => {
            let l: Option<String> =
                sqlx::query_scalar("SELECT language FROM telegram_links WHERE employee_id = $1")
                    .bind(employee)
                    .fetch_optional(&mut *tx)
                    .await?;
            Lang::parse(l.as_deref())
        }
    };
    let id = Uuid::now_v7();
    let status: ExportStatus = sqlx::query_as(AssertSqlSafe(format!(
        "INSERT INTO data_exports (id, employee_id, requested_by, language) VALUES ($1, $2, $3, $4)
         RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(employee)
    .bind(caller.id)
    .bind(language.wire_text())
    .fetch_one(&mut *tx)
    .await?;
    jobs::enqueue(
        &mut tx,
        crate::privacy::EXPORT_JOB,
        &serde_json::json!({ "export_id": id }),
        jobs::Enqueue {
            unique_key: Some(format!("{}:{id}", crate::privacy::EXPORT_JOB)),
            ..Default::default()
        },
    )
    .await?;
    audit::record(
        &mut tx,
        caller,
        "privacy.export",
        "employee",
        Some(employee),
        audit::NONE,
        Some(&status),
    )
    .await?;
    tx.commit().await?;
    Ok(status)
}

/// The state (202), the ZIP (200), or why there is none.
async fn answer(
    state: &AppState,
    caller: &Caller,
    employee: Uuid,
    id: Uuid,
) -> AppResult<Response> {
    let status: Option<ExportStatus> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM data_exports WHERE id = $1 AND employee_id = $2"
    )))
    .bind(id)
    .bind(employee)
    .fetch_optional(&state.db)
    .await?;
    let status = status.ok_or(AppError::not_found("export"))?;
    let why = job_files::Unavailable {
        failed: "the export could not be written; start a new one",
        expired: "the export was deleted after its retention period; start a new one",
    };
    let st = status.state.clone();
    job_files::answer(&st, status, why, |status| async move {
        let mut conn = state.db.acquire().await?;
        audit::record(
            &mut conn,
            caller,
            "privacy.export_download",
            "employee",
            Some(employee),
            audit::NONE,
            Some(&status),
        )
        .await?;
        let name = format!("faceid-export-{}.zip", status.created_at.format("%Y-%m-%d"));
        job_files::stream(&file_path(&state.settings, id), "application/zip", &name).await
    })
    .await
}

/// Starts an export of everything the server holds about the caller.
#[utoipa::path(post, path = MY_EXPORT_PATH, tag = "privacy", security(("bearer" = [])),
    request_body = ExportRequest,
    responses(
        (status = 202, description = "queued; poll `GET /api/v1/me/export/{id}`", body = ExportStatus),
        (status = 422, description = "invalid body", body = Problem)))]
pub async fn start_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiJson(req): ApiJson<ExportRequest>,
) -> AppResult<(StatusCode, Json<ExportStatus>)> {
    let s = start(&state, &caller, caller.id, req).await?;
    Ok((StatusCode::ACCEPTED, Json(s)))
}

/// One of the caller's exports: 202 with its state while it is being written, then the ZIP.
#[utoipa::path(get, path = MY_EXPORT_STATUS_PATH, tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "export id")),
    responses(
        (status = 200, description = "the ZIP", content_type = "application/zip"),
        (status = 202, description = "still being written", body = ExportStatus),
        (status = 404, description = "no such export of the caller", body = Problem),
        (status = 409, description = "`export_failed`", body = Problem),
        (status = 410, description = "`export_expired`", body = Problem)))]
pub async fn get_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    answer(&state, &caller, caller.id, id).await
}

/// Starts an export of an employee's data on their behalf (administrators; operators within
/// their scope; audited).
#[utoipa::path(post, path = EMPLOYEE_EXPORT_PATH, tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    request_body = ExportRequest,
    responses(
        (status = 202, description = "queued", body = ExportStatus),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn start_employee(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ExportRequest>,
) -> AppResult<(StatusCode, Json<ExportStatus>)> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    let s = start(&state, &caller, id, req).await?;
    Ok((StatusCode::ACCEPTED, Json(s)))
}

/// An export of an employee's data: its state, then the ZIP (audited download).
#[utoipa::path(get, path = EMPLOYEE_EXPORT_STATUS_PATH, tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id"),
           ("export_id" = Uuid, Path, description = "export id")),
    responses(
        (status = 200, description = "the ZIP", content_type = "application/zip"),
        (status = 202, description = "still being written", body = ExportStatus),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee, or no such export of theirs", body = Problem),
        (status = 409, description = "`export_failed`", body = Problem),
        (status = 410, description = "`export_expired`", body = Problem)))]
pub async fn get_employee(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath((id, export_id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    answer(&state, &caller, id, export_id).await
}
