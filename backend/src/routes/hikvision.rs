//! `/api/v1/terminals`: administrators register, list, read, edit, disable and delete
//! terminals (every write audited), ask for a poll now, test the connection at once, and read
//! each terminal's call log.
//! The password is encrypted at rest and never answered.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::org::MAX_NAME_LEN;
use faceid_protocol::problem::Problem;
use faceid_protocol::terminals::{
    CreateTerminal, Direction, LogQuery, Terminal, TerminalHealth, TerminalLogPage, TerminalToday,
    UpdateTerminal,
};
use faceid_protocol::terminals::{
    TERMINAL_LOG_PATH, TERMINAL_PATH, TERMINAL_POLL_PATH, TERMINAL_TEST_PATH, TERMINALS_PATH,
};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Check, Paging};
use crate::AppState;
use crate::audit;
use crate::auth::Admin;
use crate::error::{AppError, AppResult, AsDbError};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::hikvision::probe::{self, TerminalTest};
use crate::hikvision::{load_terminal, poll, seal_password, sync};

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    name: String,
    base_url: String,
    username: String,
    site_id: Uuid,
    direction: Direction,
    poll_interval_s: i32,
    enabled: bool,
    device_id: Uuid,
    device_name: Option<String>,
    model: Option<String>,
    serial_number: Option<String>,
    firmware_version: Option<String>,
    clock_offset_s: Option<f64>,
    checked_at: Option<DateTime<Utc>>,
    last_poll_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    last_error_at: Option<DateTime<Utc>>,
    locked_out_at: Option<DateTime<Utc>>,
    last_serial_no: i64,
    last_event_at: Option<DateTime<Utc>>,
    import_since: DateTime<Utc>,
    imported: i64,
    punched: i64,
    failed: i64,
    unknown: i64,
    debounced: i64,
    anomalies: i64,
    people: i64,
    faces: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const SELECT: &str = "WITH day AS (
        SELECT t.id, (date_trunc('day', now() AT TIME ZONE s.time_zone) AT TIME ZONE s.time_zone) AS start
        FROM terminals t JOIN sites s ON s.id = t.site_id)
    SELECT t.id, t.name, t.base_url, t.username, t.site_id, t.direction, t.poll_interval_s,
        t.enabled, t.device_id, t.device_name, t.model, t.serial_number, t.firmware_version,
        t.clock_offset_s, t.checked_at, t.last_poll_at, t.last_error, t.last_error_at,
        t.locked_out_at, t.last_serial_no, t.last_event_at, t.import_since,
        count(e.id) AS imported,
        count(e.id) FILTER (WHERE e.outcome IN ('punched', 'flagged')) AS punched,
        count(e.id) FILTER (WHERE e.class IN ('face_fail', 'stranger')) AS failed,
        count(e.id) FILTER (WHERE e.outcome = 'unknown_person') AS unknown,
        count(e.id) FILTER (WHERE e.outcome = 'debounced') AS debounced,
        (SELECT count(*) FROM terminal_anomalies a WHERE a.terminal_id = t.id AND a.at >= day.start) AS anomalies,
        (SELECT count(*) FROM terminal_people p WHERE p.terminal_id = t.id) AS people,
        (SELECT count(*) FROM terminal_people p WHERE p.terminal_id = t.id AND p.face_photo_key IS NOT NULL) AS faces,
        t.created_at, t.updated_at
    FROM terminals t JOIN day ON day.id = t.id
    LEFT JOIN terminal_events e ON e.terminal_id = t.id AND e.received_at >= day.start";
const GROUP: &str = " GROUP BY t.id, day.start";

impl Row {
    fn into_terminal(self, skew_limit: f64) -> Terminal {
        let status = if !self.enabled {
            "disabled"
        } else if self.locked_out_at.is_some() {
            "locked_out"
        } else if self.last_error_at.is_some() && self.last_error_at > self.last_poll_at {
            "error"
        } else if self.last_poll_at.is_some() {
            "ok"
        } else {
            "pending"
        };
        Terminal {
            id: self.id,
            name: self.name,
            base_url: self.base_url,
            username: self.username,
            site_id: self.site_id,
            direction: self.direction,
            poll_interval_s: self.poll_interval_s,
            enabled: self.enabled,
            device_id: self.device_id,
            status: status.to_owned(),
            health: TerminalHealth {
                device_name: self.device_name,
                model: self.model,
                serial_number: self.serial_number,
                firmware_version: self.firmware_version,
                clock_offset_s: self.clock_offset_s,
                clock_skewed: self.clock_offset_s.is_some_and(|o| o.abs() > skew_limit),
                checked_at: self.checked_at,
            },
            last_poll_at: self.last_poll_at,
            last_error: self.last_error,
            last_error_at: self.last_error_at,
            locked_out_at: self.locked_out_at,
            last_serial_no: self.last_serial_no,
            last_event_at: self.last_event_at,
            import_since: self.import_since,
            today: TerminalToday {
                imported: self.imported,
                punched: self.punched,
                failed: self.failed,
                unknown: self.unknown,
                debounced: self.debounced,
                anomalies: self.anomalies,
            },
            people: self.people,
            faces: self.faces,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

async fn load(state: &AppState, conn: &mut PgConnection, id: Uuid) -> AppResult<Terminal> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE t.id = $1{GROUP}"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.into_terminal(state.settings.hikvision_max_clock_skew_secs as f64))
        .ok_or(AppError::not_found("terminal"))
}

fn valid_interval(check: &mut Check, v: i32) -> i32 {
    if !(10..=3600).contains(&v) {
        check.add(
            "poll_interval_s",
            FieldCode::OutOfRange,
            "10..=3600 seconds",
        );
    }
    v
}

fn valid_password(check: &mut Check, p: &str) {
    if p.is_empty() || p.len() > 128 {
        check.add("password", FieldCode::Invalid, "1..=128 bytes");
    }
}

fn on_write_error(e: sqlx::Error) -> AppError {
    match e.constraint() {
        Some("terminals_name_key") => AppError::conflict(
            ErrorCode::TerminalNameTaken,
            "another terminal has this name",
        ),
        Some("terminals_site_id_fkey") => {
            AppError::field("site_id", FieldCode::UnknownSite, "no such site")
        }
        _ => e.into(),
    }
}

/// Registers a terminal; its first poll and its people sync are queued at once.
#[utoipa::path(post, path = TERMINALS_PATH, operation_id = "create_terminal", tag = "terminals", security(("bearer" = [])),
    request_body = CreateTerminal,
    responses(
        (status = 201, description = "registered", body = Terminal),
        (status = 409, description = "`terminal_name_taken`", body = Problem),
        (status = 422, description = "invalid fields, `unknown_site`", body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<CreateTerminal>,
) -> AppResult<(StatusCode, Json<Terminal>)> {
    let mut check = Check::default();
    let name = check.text("name", &req.name, MAX_NAME_LEN);
    let base_url = check.base_url("base_url", &req.base_url);
    let username = check.text("username", &req.username, 64);
    valid_password(&mut check, &req.password);
    let interval = valid_interval(&mut check, req.poll_interval_s.unwrap_or(30));
    check.finish()?;
    let id = Uuid::now_v7();
    let device_id = Uuid::now_v7();
    let (ct, nonce) = seal_password(&state.cipher, id, &req.password)?;
    let since = req
        .import_since
        .unwrap_or_else(|| Utc::now() - chrono::Duration::hours(24));
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO devices (id, kind, name, platform, site_id) VALUES ($1, 'terminal', $2, 'hikvision', $3)",
    )
    .bind(device_id)
    .bind(&name)
    .bind(req.site_id)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if e.constraint() == Some("devices_site_id_fkey") {
            AppError::field("site_id", FieldCode::UnknownSite, "no such site")
        } else {
            e.into()
        }
    })?;
    sqlx::query(
        "INSERT INTO terminals (id, device_id, name, base_url, username, password_ct, password_nonce,
             site_id, direction, poll_interval_s, enabled, import_since)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id)
    .bind(device_id)
    .bind(&name)
    .bind(&base_url)
    .bind(&username)
    .bind(ct)
    .bind(nonce)
    .bind(req.site_id)
    .bind(req.direction)
    .bind(interval)
    .bind(req.enabled.unwrap_or(true))
    .bind(since)
    .execute(&mut *tx)
    .await
    .map_err(on_write_error)?;
    let created = load(&state, &mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller,
        "terminal.create",
        "terminal",
        Some(id),
        audit::NONE,
        Some(&created),
    )
    .await?;
    if created.enabled {
        poll::enqueue(&mut tx, id, "created").await?;
        sync::enqueue_sync_all(&mut tx, id).await?;
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Every terminal with its health.
#[utoipa::path(get, path = TERMINALS_PATH, operation_id = "list_terminals", tag = "terminals", security(("bearer" = [])),
    responses((status = 200, description = "the terminals, by name", body = Vec<Terminal>)))]
pub async fn list(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> AppResult<Json<Vec<Terminal>>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT}{GROUP} ORDER BY lower(t.name), t.id"
    )))
    .fetch_all(&state.db)
    .await?;
    let limit = state.settings.hikvision_max_clock_skew_secs as f64;
    Ok(Json(
        rows.into_iter().map(|r| r.into_terminal(limit)).collect(),
    ))
}

/// A terminal with its health: identity from `deviceInfo`, clock offset, last poll, last
/// error and today's events.
#[utoipa::path(get, path = TERMINAL_PATH, operation_id = "get_terminal", tag = "terminals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "terminal id")),
    responses(
        (status = 200, description = "the terminal", body = Terminal),
        (status = 404, description = "no such terminal", body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Terminal>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(load(&state, &mut conn, id).await?))
}

/// Edits a terminal. New credentials or `enabled: true` end a lock-out; a new site, address
/// or re-enabling syncs its people again.
#[utoipa::path(patch, path = TERMINAL_PATH, operation_id = "update_terminal", tag = "terminals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "terminal id")),
    request_body = UpdateTerminal,
    responses(
        (status = 200, description = "updated", body = Terminal),
        (status = 404, description = "no such terminal", body = Problem),
        (status = 409, description = "`terminal_name_taken`", body = Problem),
        (status = 422, description = "invalid fields, `unknown_site`", body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UpdateTerminal>,
) -> AppResult<Json<Terminal>> {
    let mut check = Check::default();
    let name = req
        .name
        .as_deref()
        .map(|n| check.text("name", n, MAX_NAME_LEN));
    let base_url = req
        .base_url
        .as_deref()
        .map(|u| check.base_url("base_url", u));
    let username = req
        .username
        .as_deref()
        .map(|u| check.text("username", u, 64));
    if let Some(p) = &req.password {
        valid_password(&mut check, p);
    }
    let interval = req.poll_interval_s.map(|v| valid_interval(&mut check, v));
    check.finish()?;
    let mut tx = state.db.begin().await?;
    sqlx::query("SELECT 1 FROM terminals WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let before = load(&state, &mut tx, id).await?;
    let sealed = req
        .password
        .as_deref()
        .map(|p| seal_password(&state.cipher, id, p))
        .transpose()?;
    let unlock = req.password.is_some() || req.username.is_some() || req.enabled == Some(true);
    let enabled = req.enabled.unwrap_or(before.enabled);
    sqlx::query(
        "UPDATE terminals SET name = $2, base_url = $3, username = $4,
             password_ct = COALESCE($5, password_ct), password_nonce = COALESCE($6, password_nonce),
             site_id = $7, direction = $8, poll_interval_s = $9, enabled = $10,
             auth_failures = CASE WHEN $11 THEN 0 ELSE auth_failures END,
             locked_out_at = CASE WHEN $11 THEN NULL ELSE locked_out_at END,
             updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(name.unwrap_or_else(|| before.name.clone()))
    .bind(base_url.clone().unwrap_or_else(|| before.base_url.clone()))
    .bind(username.unwrap_or_else(|| before.username.clone()))
    .bind(sealed.as_ref().map(|s| s.0.clone()))
    .bind(sealed.as_ref().map(|s| s.1.clone()))
    .bind(req.site_id.unwrap_or(before.site_id))
    .bind(req.direction.unwrap_or(before.direction))
    .bind(interval.unwrap_or(before.poll_interval_s))
    .bind(enabled)
    .bind(unlock)
    .execute(&mut *tx)
    .await
    .map_err(on_write_error)?;
    sqlx::query("UPDATE devices SET name = $2, site_id = $3 WHERE id = $1")
        .bind(before.device_id)
        .bind(req.name.as_deref().map_or(before.name.as_str(), str::trim))
        .bind(req.site_id.unwrap_or(before.site_id))
        .execute(&mut *tx)
        .await?;
    let after = load(&state, &mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller,
        "terminal.update",
        "terminal",
        Some(id),
        Some(&before),
        Some(&serde_json::json!({"terminal": &after, "password_changed": req.password.is_some()})),
    )
    .await?;
    let resync = after.enabled
        && (!before.enabled
            || after.site_id != before.site_id
            || after.base_url != before.base_url);
    if resync {
        sync::enqueue_sync_all(&mut tx, id).await?;
    }
    if after.enabled && (unlock || resync) {
        poll::enqueue(&mut tx, id, &format!("update-{}", Uuid::now_v7())).await?;
    }
    tx.commit().await?;
    Ok(Json(after))
}

/// Deletes a terminal: its configuration, raw events and log. Its punches stay in the chain
/// with its device row (blocked), which is kept for them.
#[utoipa::path(delete, path = TERMINAL_PATH, operation_id = "delete_terminal", tag = "terminals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "terminal id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such terminal", body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let before = load(&state, &mut tx, id).await?;
    sqlx::query("DELETE FROM terminals WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE devices SET blocked = true WHERE id = $1")
        .bind(before.device_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &caller,
        "terminal.delete",
        "terminal",
        Some(id),
        Some(&before),
        audit::NONE,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a poll of the terminal now (besides its schedule).
#[utoipa::path(post, path = TERMINAL_POLL_PATH, operation_id = "poll_terminal_now", tag = "terminals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "terminal id")),
    responses(
        (status = 202, description = "queued"),
        (status = 404, description = "no such terminal", body = Problem),
        (status = 409, description = "`terminal_disabled`, `terminal_locked_out`", body = Problem)))]
pub async fn poll_now(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let t = load(&state, &mut tx, id).await?;
    if !t.enabled {
        return Err(AppError::conflict(
            ErrorCode::TerminalDisabled,
            "the terminal is disabled",
        ));
    }
    if t.locked_out_at.is_some() {
        return Err(AppError::conflict(
            ErrorCode::TerminalLockedOut,
            "the terminal refused our credentials; change them first",
        ));
    }
    poll::enqueue(&mut tx, id, &format!("now-{}", Uuid::now_v7())).await?;
    audit::record(
        &mut tx,
        &caller,
        "terminal.poll",
        "terminal",
        Some(id),
        audit::NONE,
        audit::NONE,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::ACCEPTED)
}

/// Tests the connection now: one `System/deviceInfo` call with the stored credentials and a
/// short timeout (at most 5 s). Answers 200 with the outcome whatever it is; the terminal's
/// poll state and cursor do not change. A terminal whose polling is locked out is not called
/// (`locked_out`). Disabled terminals are tested too. Audited (`terminal.test`).
#[utoipa::path(post, path = TERMINAL_TEST_PATH, operation_id = "test_terminal_connection", tag = "terminals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "terminal id")),
    responses(
        (status = 200, description = "the outcome: `ok` (with what the terminal reported), `unreachable`, `auth_failed`, `locked_out` or `bad_response`", body = TerminalTest),
        (status = 404, description = "no such terminal", body = Problem)))]
pub async fn test_connection(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<TerminalTest>> {
    let t = {
        let mut conn = state.db.acquire().await?;
        load_terminal(&mut conn, id)
            .await?
            .ok_or(AppError::not_found("terminal"))?
    };
    let result = probe::test_connection(&state, &t).await?;
    let mut conn = state.db.acquire().await?;
    audit::record(
        &mut conn,
        &caller,
        "terminal.test",
        "terminal",
        Some(id),
        audit::NONE,
        Some(&result),
    )
    .await?;
    Ok(Json(result))
}

/// The terminal's synchronisation log: every call, newest first.
#[utoipa::path(get, path = TERMINAL_LOG_PATH, operation_id = "terminal_log", tag = "terminals", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "terminal id"), LogQuery),
    responses(
        (status = 200, description = "a page of calls", body = TerminalLogPage),
        (status = 404, description = "no such terminal", body = Problem)))]
pub async fn log(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> AppResult<Json<TerminalLogPage>> {
    let (limit, offset) = Paging::resolve(q.limit, q.offset)?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM terminals WHERE id = $1)")
        .bind(id)
        .fetch_one(&state.db)
        .await?;
    if !exists {
        return Err(AppError::not_found("terminal"));
    }
    let errors_only = q.errors_only.unwrap_or(false);
    const WHERE: &str =
        "WHERE terminal_id = $1 AND NOT ($2 AND ok) AND ($3::text IS NULL OR operation = $3)";
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM terminal_log {WHERE}"
    )))
    .bind(id)
    .bind(errors_only)
    .bind(&q.operation)
    .fetch_one(&state.db)
    .await?;
    let items = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, at, operation, ok, http_status, status_code, sub_status, error, count,
                duration_ms
         FROM terminal_log {WHERE} ORDER BY id DESC LIMIT $4 OFFSET $5"
    )))
    .bind(id)
    .bind(errors_only)
    .bind(&q.operation)
    .bind(i64::from(limit))
    .bind(i64::from(offset))
    .fetch_all(&state.db)
    .await?;
    Ok(Json(TerminalLogPage { items, total }))
}
