//! `/api/v1/integrations/iiko`: administrators set and read the connection (the password is
//! encrypted at rest and never answered; every write audited), test it, and read the run log.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::iiko::{
    ConfirmDismissals, ExportQuery, IIKO_DISMISSALS_PATH, IIKO_EXPORT_PATH, IIKO_LOG_PATH,
    IIKO_PATH, IIKO_SCHEDULES_PATH, IIKO_SYNC_PATH, IIKO_TEST_PATH, IikoConnection, IikoRunPage,
    LogQuery, PendingDismissal, PutConnection, RunReport, SchedulesQuery, SyncFlags, SyncQuery,
    TestResult,
};
use faceid_protocol::problem::Problem;
use serde::Serialize;

use crate::AppState;
use crate::audit;
use crate::auth::Admin;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery, Check, Paging};
use crate::iiko::{Counts, IikoClient, load_connection, log_run, seal_password};

impl From<crate::iiko::ConnectionRow> for IikoConnection {
    fn from(r: crate::iiko::ConnectionRow) -> Self {
        Self {
            server_url: r.server_url,
            login: r.login,
            department_codes: r.department_codes,
            sync: SyncFlags {
                employees: r.sync_employees,
                schedules: r.sync_schedules,
                attendance: r.sync_attendance,
            },
            interval_s: r.interval_s,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Sets the iikoServer connection (created or replaced).
#[utoipa::path(put, path = IIKO_PATH, operation_id = "put_iiko_connection", tag = "iiko", security(("bearer" = [])),
    request_body = PutConnection,
    responses(
        (status = 200, description = "the connection", body = IikoConnection),
        (status = 422, description = "invalid fields; `password` is required the first time", body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<PutConnection>,
) -> AppResult<Json<IikoConnection>> {
    let mut check = Check::default();
    let server_url = check.base_url("server_url", &req.server_url);
    let login = check.text("login", &req.login, 128);
    if let Some(p) = &req.password
        && (p.is_empty() || p.len() > 256)
    {
        check.add("password", FieldCode::Invalid, "1..=256 bytes");
    }
    if req.department_codes.len() > 100
        || req
            .department_codes
            .iter()
            .any(|c| c.trim().is_empty() || c.len() > 64)
    {
        check.add(
            "department_codes",
            FieldCode::Invalid,
            "at most 100 codes of 1..=64 bytes",
        );
    }
    let interval = req.interval_s.unwrap_or(3600);
    if !(300..=86_400).contains(&interval) {
        check.add("interval_s", FieldCode::OutOfRange, "300..=86400 seconds");
    }
    let mut tx = state.db.begin().await?;
    let before = load_connection(&mut tx).await?;
    if before.is_none() && req.password.is_none() {
        check.add(
            "password",
            FieldCode::Required,
            "the first connection needs a password",
        );
    }
    check.finish()?;
    let (ct, nonce) = match (&req.password, &before) {
        (Some(p), _) => seal_password(&state.cipher, p)?,
        (None, Some(b)) => (b.password_ct.clone(), b.password_nonce.clone()),
        (None, None) => return Err(AppError::internal("checked above")),
    };
    let codes: Vec<String> = req
        .department_codes
        .iter()
        .map(|c| c.trim().to_owned())
        .collect();
    sqlx::query(
        "INSERT INTO iiko_connection (id, server_url, login, password_ct, password_nonce,
             department_codes, sync_employees, sync_schedules, sync_attendance, interval_s)
         VALUES (true, $1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO UPDATE SET server_url = $1, login = $2,
             password_ct = $3, password_nonce = $4,
             department_codes = $5, sync_employees = $6, sync_schedules = $7,
             sync_attendance = $8, interval_s = $9, updated_at = now()",
    )
    .bind(&server_url)
    .bind(&login)
    .bind(ct)
    .bind(nonce)
    .bind(&codes)
    .bind(req.sync.employees)
    .bind(req.sync.schedules)
    .bind(req.sync.attendance)
    .bind(interval)
    .execute(&mut *tx)
    .await?;
    let after: IikoConnection = load_connection(&mut tx)
        .await?
        .ok_or_else(|| AppError::internal("the iiko connection vanished"))?
        .into();
    let before: Option<IikoConnection> = before.map(Into::into);
    audit::record(
        &mut tx,
        &caller,
        "iiko.connection.put",
        "iiko_connection",
        None,
        before.as_ref(),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// The iikoServer connection.
#[utoipa::path(get, path = IIKO_PATH, operation_id = "get_iiko_connection", tag = "iiko", security(("bearer" = [])),
    responses(
        (status = 200, description = "the connection", body = IikoConnection),
        (status = 404, description = "`iiko_not_configured`", body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> AppResult<Json<IikoConnection>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(connection(&mut conn).await?.into()))
}

/// The stored connection, or 404 `iiko_not_configured`.
async fn connection(conn: &mut sqlx::PgConnection) -> AppResult<crate::iiko::ConnectionRow> {
    load_connection(conn)
        .await?
        .ok_or_else(|| AppError::Unconfigured {
            code: ErrorCode::IikoNotConfigured,
            detail: "no iiko connection is set (PUT /api/v1/integrations/iiko)".into(),
        })
}

/// Logs in to iikoServer, reads the employee and role lists, and logs out (freeing the
/// licence slot), reporting what went wrong if anything did.
#[utoipa::path(post, path = IIKO_TEST_PATH, operation_id = "test_iiko_connection", tag = "iiko", security(("bearer" = [])),
    responses(
        (status = 200, description = "the result, failures included", body = TestResult),
        (status = 404, description = "`iiko_not_configured`", body = Problem)))]
pub async fn test(State(state): State<AppState>, Admin(_): Admin) -> AppResult<Json<TestResult>> {
    let row = stored(&state).await?;
    let started = Utc::now();
    let result = IikoClient::run(&row.client_connection(&state)?, async |c| {
        let roles = c.roles().await?.len();
        let employees = c.employees().await?.len();
        Ok((employees, roles))
    })
    .await;
    let none = Counts::default();
    let run_id = log_run(
        &state.db,
        "test",
        false,
        started,
        result.as_ref().map(|_| (&none, &[][..])),
    )
    .await?;
    Ok(Json(match result {
        Ok((employees, roles)) => TestResult {
            ok: true,
            error_code: None,
            error: None,
            employees: i64::try_from(employees).ok(),
            roles: i64::try_from(roles).ok(),
            run_id,
        },
        Err(e) => TestResult {
            ok: false,
            error_code: Some(e.code().to_owned()),
            error: Some(e.to_string()),
            employees: None,
            roles: None,
            run_id,
        },
    }))
}

/// Every run, newest first (administrators).
#[utoipa::path(get, path = IIKO_LOG_PATH, operation_id = "iiko_log", tag = "iiko", security(("bearer" = [])),
    params(LogQuery),
    responses((status = 200, description = "a page of runs", body = IikoRunPage)))]
pub async fn log(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> AppResult<Json<IikoRunPage>> {
    let (limit, offset) = Paging::resolve(q.limit, q.offset)?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM iiko_runs")
        .fetch_one(&state.db)
        .await?;
    let items = sqlx::query_as(
        "SELECT id, kind, dry_run, started_at, finished_at, ok, error_code, error, created,
             updated, skipped, conflicts, errors, problems
         FROM iiko_runs ORDER BY id DESC LIMIT $1 OFFSET $2",
    )
    .bind(i64::from(limit))
    .bind(i64::from(offset))
    .fetch_all(&state.db)
    .await?;
    Ok(Json(IikoRunPage { items, total }))
}

/// The stored connection, or 404 `iiko_not_configured`.
async fn stored(state: &AppState) -> AppResult<crate::iiko::ConnectionRow> {
    let mut conn = state.db.acquire().await?;
    connection(&mut conn).await
}

/// Audits a run that wrote something.
async fn audit_run(
    state: &AppState,
    caller: &crate::auth::Caller,
    action: &str,
    detail: &impl Serialize,
) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    audit::record(
        &mut tx,
        caller,
        action,
        "iiko_connection",
        None,
        audit::NONE,
        Some(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A run that could not read or write iiko is 503 `iiko_unavailable` with the client's code.
fn answer_error(e: crate::iiko::import::ImportError) -> AppError {
    match e {
        crate::iiko::import::ImportError::App(e) => e,
        crate::iiko::import::ImportError::Iiko(e) => AppError::ServiceUnavailable {
            code: ErrorCode::IikoUnavailable,
            detail: format!("{}: {e}", e.code()),
        },
    }
}

/// Imports employees and positions from iiko now (or previews the import with `dry_run`).
#[utoipa::path(post, path = IIKO_SYNC_PATH, operation_id = "sync_iiko", tag = "iiko", security(("bearer" = [])),
    params(SyncQuery),
    responses(
        (status = 200, description = "what changed (or would change)", body = RunReport),
        (status = 404, description = "`iiko_not_configured`", body = Problem),
        (status = 409, description = "`iiko_import_running`", body = Problem),
        (status = 503, description = "`iiko_unavailable`: iiko could not be read (the log has why; `no_licence` means every API licence slot is taken)", body = Problem)))]
pub async fn sync(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiQuery(q): ApiQuery<SyncQuery>,
) -> AppResult<Json<RunReport>> {
    let row = stored(&state).await?;
    let dry_run = q.dry_run.unwrap_or(false);
    let report = crate::iiko::import::run(&state, &row, dry_run)
        .await
        .map_err(answer_error)?;
    if !dry_run {
        audit_run(&state, &caller, "iiko.sync", &report.counts).await?;
    }
    Ok(Json(report))
}

/// Employees deleted in iiko or gone from its list, still active here.
#[utoipa::path(get, path = IIKO_DISMISSALS_PATH, operation_id = "list_iiko_dismissals", tag = "iiko", security(("bearer" = [])),
    responses((status = 200, description = "waiting for confirmation, oldest first", body = Vec<PendingDismissal>)))]
pub async fn dismissals(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> AppResult<Json<Vec<PendingDismissal>>> {
    Ok(Json(
        sqlx::query_as(
            "SELECT e.id AS employee_id, l.iiko_id, e.first_name, e.last_name, l.gone_since
             FROM iiko_employees l JOIN employees e ON e.id = l.employee_id
             WHERE l.gone_since IS NOT NULL AND e.status = 'active'
             ORDER BY l.gone_since, e.id",
        )
        .fetch_all(&state.db)
        .await?,
    ))
}

/// Dismisses employees gone from iiko (each must be waiting for confirmation); audited one by
/// one, all or none.
#[utoipa::path(post, path = IIKO_DISMISSALS_PATH, operation_id = "confirm_iiko_dismissals", tag = "iiko", security(("bearer" = [])),
    request_body = ConfirmDismissals,
    responses(
        (status = 200, description = "the dismissed employees' ids", body = Vec<uuid::Uuid>),
        (status = 409, description = "`not_awaiting_dismissal`: one of them is not gone from iiko or not active", body = Problem),
        (status = 422, description = "empty or more than 1000 ids", body = Problem)))]
pub async fn confirm_dismissals(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<ConfirmDismissals>,
) -> AppResult<Json<Vec<uuid::Uuid>>> {
    if req.employee_ids.is_empty() || req.employee_ids.len() > 1000 {
        return Err(AppError::field(
            "employee_ids",
            FieldCode::Invalid,
            "1..=1000 ids",
        ));
    }
    let mut tx = state.db.begin().await?;
    let mut done = Vec::new();
    for id in &req.employee_ids {
        let row: Option<String> = sqlx::query_scalar(
            "UPDATE employees e SET status = 'dismissed', dismissed_at = now(), updated_at = now()
             FROM iiko_employees l
             WHERE e.id = $1 AND l.employee_id = e.id AND l.gone_since IS NOT NULL
               AND e.status = 'active' AND e.id <> $2
             RETURNING l.iiko_id",
        )
        .bind(id)
        .bind(caller.id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(iiko_id) = row else {
            return Err(AppError::conflict(
                ErrorCode::NotAwaitingDismissal,
                format!("employee {id} is not waiting for a dismissal from iiko"),
            ));
        };
        crate::auth::sessions::revoke_all_sessions(&mut tx, *id, None, "dismissed").await?;
        crate::hikvision::sync::employee_changed(&mut tx, *id).await?;
        audit::record(
            &mut tx,
            &caller,
            "employee.dismiss",
            "employee",
            Some(*id),
            audit::NONE,
            Some(&serde_json::json!({"status": "dismissed", "reason": "gone from iiko", "iiko_id": iiko_id})),
        )
        .await?;
        done.push(*id);
    }
    tx.commit().await?;
    Ok(Json(done))
}

/// Exports the work intervals whose check-in is in the period to iiko's attendance.
#[utoipa::path(post, path = IIKO_EXPORT_PATH, operation_id = "export_iiko_attendance", tag = "iiko", security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (status = 200, description = "what was sent (or would be), overlaps reported per record", body = RunReport),
        (status = 400, description = "`invalid_query`: `from` or `to` missing or not RFC 3339", body = Problem),
        (status = 404, description = "`iiko_not_configured`", body = Problem),
        (status = 422, description = "`to` not after `from`, or more than 62 days", body = Problem),
        (status = 503, description = "`iiko_unavailable`: what was sent before the failure is kept", body = Problem)))]
pub async fn export(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> AppResult<Json<RunReport>> {
    if q.to <= q.from || q.to - q.from > chrono::Duration::days(62) {
        return Err(AppError::field(
            "to",
            FieldCode::InvalidPeriod,
            "after `from`, at most 62 days later",
        ));
    }
    let row = stored(&state).await?;
    let dry_run = q.dry_run.unwrap_or(false);
    let report = crate::iiko::export::run(&state, &row, q.from, q.to, dry_run)
        .await
        .map_err(answer_error)?;
    if !dry_run {
        audit_run(
            &state,
            &caller,
            "iiko.export",
            &serde_json::json!({"from": q.from, "to": q.to, "counts": report.counts}),
        )
        .await?;
    }
    Ok(Json(report))
}

/// Imports iiko's shift plans of the period into each linked employee's roster schedule.
#[utoipa::path(post, path = IIKO_SCHEDULES_PATH, operation_id = "import_iiko_schedules", tag = "iiko", security(("bearer" = [])),
    params(SchedulesQuery),
    responses(
        (status = 200, description = "what changed (or would change); conflicts with schedules assigned here reported", body = RunReport),
        (status = 400, description = "`invalid_query`: `from` or `to` missing or not a date", body = Problem),
        (status = 404, description = "`iiko_not_configured`", body = Problem),
        (status = 422, description = "`to` before `from`, or more than 62 days", body = Problem),
        (status = 503, description = "`iiko_unavailable`", body = Problem)))]
pub async fn schedules(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiQuery(q): ApiQuery<SchedulesQuery>,
) -> AppResult<Json<RunReport>> {
    if q.to < q.from || q.to - q.from > chrono::Duration::days(62) {
        return Err(AppError::field(
            "to",
            FieldCode::InvalidPeriod,
            "not before `from`, at most 62 days later",
        ));
    }
    let row = stored(&state).await?;
    let dry_run = q.dry_run.unwrap_or(false);
    let report = crate::iiko::schedules::run(&state, &row, q.from, q.to, dry_run)
        .await
        .map_err(answer_error)?;
    if !dry_run {
        audit_run(
            &state,
            &caller,
            "iiko.schedules",
            &serde_json::json!({"from": q.from, "to": q.to, "counts": report.counts}),
        )
        .await?;
    }
    Ok(Json(report))
}
