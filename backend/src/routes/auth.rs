//! Login, refresh, logout and the caller's own account.

use faceid_protocol::auth::{
    LOGIN_PATH, LOGOUT_PATH, ME_PATH, MY_SITES_PATH, NONCE_PATH, PASSWORD_PATH, REFRESH_PATH,
};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use sqlx::AssertSqlSafe;
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use faceid_protocol::auth::{
    ChangePasswordRequest, CurrentUser, DeviceNonce, LoginRequest, MAX_LOGIN_LEN, MAX_PASSWORD_LEN,
    Platform, RefreshRequest, TokenPair,
};
use faceid_protocol::problem::Problem;
use faceid_protocol::sites::Site;
use faceid_protocol::wire_text::WireText;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::auth::password::{self, Verified};
use crate::auth::sessions::{revoke_all_sessions, revoke_session};
use crate::auth::{AuthUser, new_opaque_token, token_hash};
use crate::device_keys::{self, Binding, ProvenKey};
use crate::error::{AppError, AppResult};
use crate::extract::ApiJson;
use crate::routes::{Check, employees, sites};

/// The client's address for rate limiting: the peer address, or the first `X-Forwarded-For`
/// entry when `trust_forwarded_for` is set.
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        if state.settings.trust_forwarded_for
            && let Some(first) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        {
            return Ok(ClientAddr(first.to_owned()));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(ClientAddr(peer))
    }
}

/// A device's stored platform, leniently: a text this version does not know reads as `web`
/// (as it always has), so an old server lists devices a newer one registered.
pub fn parse_platform(s: &str) -> Platform {
    Platform::from_wire_text(s).unwrap_or(Platform::Web)
}

/// Seconds until a login may be tried again, when it has used up its failures (from any
/// address).
async fn login_limited(state: &AppState, login_key: &str) -> AppResult<Option<u64>> {
    let s = &state.settings;
    let until: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT at + make_interval(secs => $2) FROM login_failures
          WHERE login_key = $1 AND at > now() - make_interval(secs => $2)
          ORDER BY at DESC OFFSET $3 LIMIT 1",
    )
    .bind(login_key)
    .bind(window_secs(state))
    .bind(i64::from(s.login_max_failures) - 1)
    .fetch_optional(&state.db)
    .await?;
    Ok(until.map(retry_after))
}

/// Seconds until an address is below its limit again, when it has failed with too many
/// distinct logins. Typos of one person count once, however many there are.
async fn address_limited(state: &AppState, addr: &str) -> AppResult<Option<u64>> {
    let s = &state.settings;
    let until: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT last + make_interval(secs => $2) FROM (
            SELECT login_key, max(at) AS last FROM login_failures
             WHERE client_addr = $1 AND at > now() - make_interval(secs => $2)
             GROUP BY login_key) per_login
          ORDER BY last DESC OFFSET $3 LIMIT 1",
    )
    .bind(addr)
    .bind(window_secs(state))
    .bind(i64::from(s.login_max_accounts_per_address) - 1)
    .fetch_optional(&state.db)
    .await?;
    Ok(until.map(retry_after))
}

fn window_secs(state: &AppState) -> f64 {
    i64::try_from(state.settings.login_window_secs).unwrap_or(900) as f64
}

fn retry_after(until: DateTime<Utc>) -> u64 {
    let secs = (until - Utc::now()).num_seconds().max(1);
    u64::try_from(secs).unwrap_or(1)
}

async fn record_failure(state: &AppState, login_key: &str, addr: &str) -> AppResult<()> {
    let window = i64::try_from(state.settings.login_window_secs).unwrap_or(900);
    sqlx::query("INSERT INTO login_failures (login_key, client_addr) VALUES ($1, $2)")
        .bind(login_key)
        .bind(addr)
        .execute(&state.db)
        .await?;
    // Keep the table small: forget failures older than twice the window.
    sqlx::query("DELETE FROM login_failures WHERE at < now() - make_interval(secs => $1)")
        .bind((window * 2) as f64)
        .execute(&state.db)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    id: Uuid,
    password_hash: String,
    status: String,
}

fn invalid_credentials() -> AppError {
    AppError::Unauthenticated {
        code: ErrorCode::InvalidCredentials,
    }
}

/// Creates a session and its first refresh token, and answers the token pair.
async fn issue_pair(
    state: &AppState,
    conn: &mut PgConnection,
    employee_id: Uuid,
    session_id: Uuid,
    device_id: Uuid,
) -> AppResult<TokenPair> {
    let now = Utc::now();
    let refresh = new_opaque_token();
    let refresh_expires_at =
        now + Duration::days(i64::try_from(state.settings.refresh_token_ttl_days).unwrap_or(30));
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash(&refresh))
    .bind(session_id)
    .bind(refresh_expires_at)
    .execute(&mut *conn)
    .await?;
    let (access_token, access_expires_at) = state.jwt.issue(
        employee_id,
        session_id,
        device_id,
        now,
        state.settings.access_token_ttl_secs,
    )?;
    let user = employees::load(&mut *conn, employee_id)
        .await?
        .ok_or_else(|| AppError::internal("employee vanished during login"))?;
    Ok(TokenPair {
        access_token,
        access_expires_at,
        refresh_token: refresh,
        refresh_expires_at,
        user: employees::current_user(&mut *conn, &user, Some(device_id)).await?,
        server_time: now,
    })
}

/// Whether the employee may use this device: it is not blocked, not a kiosk, and its key
/// passes [`device_keys::bind`] (on the employee's allowed list, with the approved key, when
/// there is a list).
async fn check_device(
    conn: &mut PgConnection,
    employee_id: Uuid,
    device_id: Uuid,
    proven: Option<&ProvenKey>,
) -> AppResult<Binding> {
    let (kind, blocked): (String, bool) =
        sqlx::query_as("SELECT kind, blocked FROM devices WHERE id = $1")
            .bind(device_id)
            .fetch_one(&mut *conn)
            .await?;
    if kind != "personal" {
        return Err(AppError::forbidden(
            ErrorCode::DeviceNotAllowed,
            "kiosks and terminals are not phones: no employee signs in on them",
        ));
    }
    if blocked {
        return Err(AppError::forbidden(
            ErrorCode::DeviceBlocked,
            "this device is blocked",
        ));
    }
    device_keys::bind(conn, employee_id, device_id, proven).await
}

/// A single-use nonce for a device proof (`docs/device-keys.md`), valid for two minutes.
#[utoipa::path(post, path = NONCE_PATH, tag = "auth",
    responses((status = 200, description = "a fresh nonce", body = DeviceNonce)))]
pub async fn nonce(State(state): State<AppState>) -> AppResult<Json<DeviceNonce>> {
    Ok(Json(device_keys::issue_nonce(&state.db).await?))
}

/// Logs in with a login and password from a device.
#[utoipa::path(post, path = LOGIN_PATH, tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "logged in", body = TokenPair),
        (status = 401, description = "`invalid_credentials`", body = Problem),
        (status = 403, description = "`device_not_allowed`, `device_blocked`, `account_disabled`, `device_proof_invalid`, `device_key_mismatch`, `device_key_required`, `device_key_not_approved` (docs/device-keys.md)", body = Problem),
        (status = 422, description = "invalid body", body = Problem),
        (status = 429, description = "`rate_limited`, see `Retry-After`", body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<Json<TokenPair>> {
    let mut check = Check::default();
    if req.login.trim().is_empty() || req.login.chars().count() > MAX_LOGIN_LEN {
        check.add(
            "login",
            FieldCode::Invalid,
            format!("1..={MAX_LOGIN_LEN} characters"),
        );
    }
    if req.password.is_empty() || req.password.len() > MAX_PASSWORD_LEN {
        check.add(
            "password",
            FieldCode::Invalid,
            format!("1..={MAX_PASSWORD_LEN} bytes"),
        );
    }
    let device_name = check.text("device.name", &req.device.name, 200);
    let app_version = check.text("device.app_version", &req.device.app_version, 64);
    check.finish()?;

    let login_key = req.login.trim().to_lowercase();
    if let Some(retry_after_secs) = login_limited(&state, &login_key).await? {
        tracing::warn!(login = %login_key, %addr, "login throttled");
        return Err(AppError::RateLimited { retry_after_secs });
    }
    // An address over its limit is not refused outright: behind it may be a whole office.
    // Its wrong passwords are answered 429 below; a correct one still logs in.
    let address_limit = address_limited(&state, &addr).await?;
    let row: Option<LoginRow> =
        sqlx::query_as("SELECT id, password_hash, status FROM employees WHERE lower(login) = $1")
            .bind(&login_key)
            .fetch_optional(&state.db)
            .await?;
    // Unknown logins verify against a dummy hash so both failures take the same time.
    let stored = row
        .as_ref()
        .map_or_else(|| state.dummy_hash.to_string(), |r| r.password_hash.clone());
    let verified = password::verify(req.password.clone(), stored)
        .await
        .map_err(AppError::internal)?;
    let row = match (row, verified) {
        (Some(row), Verified::Yes | Verified::YesRehash) => row,
        _ => {
            record_failure(&state, &login_key, &addr).await?;
            if let Some(retry_after_secs) = address_limit {
                tracing::warn!(login = %login_key, %addr, "login failed from a limited address");
                return Err(AppError::RateLimited { retry_after_secs });
            }
            tracing::info!(login = %login_key, %addr, "login failed");
            return Err(invalid_credentials());
        }
    };
    if row.status != "active" {
        return Err(AppError::forbidden(
            ErrorCode::AccountDisabled,
            "this account is no longer active",
        ));
    }

    let proven = match &req.device_proof {
        Some(proof) => Some(device_keys::verify(&state.db, req.device.id, proof).await?),
        None => None,
    };
    let mut tx = state.db.begin().await?;
    // Register the device, or refresh what we know about it.
    sqlx::query(
        "INSERT INTO devices (id, kind, name, platform, app_version, last_employee_id, last_seen_at)
         VALUES ($1, 'personal', $2, $3, $4, $5, now())
         ON CONFLICT (id) DO UPDATE SET
            app_version = EXCLUDED.app_version,
            last_employee_id = EXCLUDED.last_employee_id,
            last_seen_at = now()
          WHERE devices.kind = 'personal'",
    )
    .bind(req.device.id)
    .bind(&device_name)
    .bind(req.device.platform)
    .bind(&app_version)
    .bind(row.id)
    .execute(&mut *tx)
    .await?;
    let refused = match check_device(&mut tx, row.id, req.device.id, proven.as_ref()).await {
        Ok(Binding::Allowed) => None,
        Ok(Binding::Refused(e)) | Err(e) => Some(e),
    };
    if let Some(e) = refused {
        // Keep the registration (and its key) so an administrator can see and allow the device.
        tx.commit().await?;
        tracing::info!(login = %login_key, device = %req.device.id, "login refused for device");
        return Err(e);
    }
    if verified == Verified::YesRehash {
        let new_hash = password::hash(req.password)
            .await
            .map_err(AppError::internal)?;
        sqlx::query("UPDATE employees SET password_hash = $2 WHERE id = $1")
            .bind(row.id)
            .bind(new_hash)
            .execute(&mut *tx)
            .await?;
        tracing::info!(login = %login_key, "password hash upgraded to argon2id");
    }
    sqlx::query("DELETE FROM login_failures WHERE login_key = $1")
        .bind(&login_key)
        .execute(&mut *tx)
        .await?;
    let session_id = Uuid::now_v7();
    sqlx::query("INSERT INTO sessions (id, employee_id, device_id) VALUES ($1, $2, $3)")
        .bind(session_id)
        .bind(row.id)
        .bind(req.device.id)
        .execute(&mut *tx)
        .await?;
    let pair = issue_pair(&state, &mut tx, row.id, session_id, req.device.id).await?;
    tx.commit().await?;
    tracing::info!(login = %login_key, device = %req.device.id, "logged in");
    Ok(Json(pair))
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    session_id: Uuid,
    expires_at: DateTime<Utc>,
    rotated_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    employee_id: Uuid,
    device_id: Uuid,
    status: String,
}

/// Exchanges a refresh token for a new pair. Each refresh token works once; presenting one that
/// was already exchanged ends the whole session (every token of that login).
#[utoipa::path(post, path = REFRESH_PATH, tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "new tokens", body = TokenPair),
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_reused`, `session_revoked`, `account_disabled`", body = Problem),
        (status = 403, description = "`device_blocked`, `device_not_allowed`, `device_proof_invalid`, `device_key_mismatch`, `device_key_required`, `device_key_not_approved` (docs/device-keys.md)", body = Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> AppResult<Json<TokenPair>> {
    let mut tx = state.db.begin().await?;
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT t.session_id, t.expires_at, t.rotated_at, s.revoked_at, s.employee_id, s.device_id, e.status
           FROM refresh_tokens t
           JOIN sessions s ON s.id = t.session_id
           JOIN employees e ON e.id = s.employee_id
          WHERE t.token_hash = $1
          FOR UPDATE OF t, s",
    )
    .bind(token_hash(&req.refresh_token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(AppError::Unauthenticated {
            code: ErrorCode::InvalidRefreshToken,
        });
    };
    if row.revoked_at.is_some() {
        return Err(AppError::Unauthenticated {
            code: ErrorCode::SessionRevoked,
        });
    }
    if row.rotated_at.is_some() {
        revoke_session(&mut tx, row.session_id, "refresh_token_reused").await?;
        tx.commit().await?;
        tracing::warn!(session = %row.session_id, employee = %row.employee_id,
            "refresh token reused: session revoked");
        return Err(AppError::Unauthenticated {
            code: ErrorCode::RefreshTokenReused,
        });
    }
    if row.expires_at <= Utc::now() {
        return Err(AppError::Unauthenticated {
            code: ErrorCode::InvalidRefreshToken,
        });
    }
    if row.status != "active" {
        return Err(AppError::Unauthenticated {
            code: ErrorCode::AccountDisabled,
        });
    }
    let proven = match &req.device_proof {
        Some(proof) => Some(device_keys::verify(&state.db, row.device_id, proof).await?),
        None => None,
    };
    if let Binding::Refused(e) =
        check_device(&mut tx, row.employee_id, row.device_id, proven.as_ref()).await?
    {
        // Keep the audit of a mismatch; the token stays unused.
        tx.commit().await?;
        return Err(e);
    }
    sqlx::query("UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1")
        .bind(token_hash(&req.refresh_token))
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sessions SET last_used_at = now() WHERE id = $1")
        .bind(row.session_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE devices SET last_seen_at = now() WHERE id = $1")
        .bind(row.device_id)
        .execute(&mut *tx)
        .await?;
    let pair = issue_pair(
        &state,
        &mut tx,
        row.employee_id,
        row.session_id,
        row.device_id,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(pair))
}

/// Ends the session the refresh token belongs to. Unknown tokens are accepted silently.
#[utoipa::path(post, path = LOGOUT_PATH, tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "logged out")))]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let session: Option<Uuid> =
        sqlx::query_scalar("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash(&req.refresh_token))
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(session) = session {
        revoke_session(&mut tx, session, "logout").await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
#[utoipa::path(get, path = ME_PATH, tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "the caller", body = CurrentUser),
        (status = 401, description = "not logged in", body = Problem)))]
pub async fn me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<CurrentUser>> {
    let mut conn = state.db.acquire().await?;
    let e = employees::load(&mut conn, caller.id)
        .await?
        .ok_or(AppError::not_found("employee"))?;
    Ok(Json(
        employees::current_user(&mut conn, &e, Some(caller.device_id)).await?,
    ))
}

/// Changes the caller's password. Every other session of the caller ends.
#[utoipa::path(post, path = PASSWORD_PATH, tag = "auth", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "changed"),
        (status = 403, description = "`wrong_password`", body = Problem),
        (status = 422, description = "new password too weak", body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> AppResult<StatusCode> {
    if let Some(msg) = password::check_new_password(&req.new_password) {
        return Err(AppError::field(
            "new_password",
            FieldCode::WeakPassword,
            msg,
        ));
    }
    if req.current_password.len() > MAX_PASSWORD_LEN {
        return Err(AppError::forbidden(
            ErrorCode::WrongPassword,
            "the current password is wrong",
        ));
    }
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM employees WHERE id = $1")
        .bind(caller.id)
        .fetch_one(&state.db)
        .await?;
    let ok = password::verify(req.current_password, stored)
        .await
        .map_err(AppError::internal)?;
    if ok == Verified::No {
        return Err(AppError::forbidden(
            ErrorCode::WrongPassword,
            "the current password is wrong",
        ));
    }
    let new_hash = password::hash(req.new_password)
        .await
        .map_err(AppError::internal)?;
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE employees SET password_hash = $2, must_change_password = false, updated_at = now()
         WHERE id = $1",
    )
    .bind(caller.id)
    .bind(new_hash)
    .execute(&mut *tx)
    .await?;
    revoke_all_sessions(
        &mut tx,
        caller.id,
        Some(caller.session_id),
        "password_changed",
    )
    .await?;
    tx.commit().await?;
    tracing::info!(login = %caller.login, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// The sites the caller is assigned to, with their geofences.
#[utoipa::path(get, path = MY_SITES_PATH, tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "assigned sites", body = Vec<Site>)))]
pub async fn my_sites(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<Vec<Site>>> {
    let rows: Vec<sites::SiteRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{} WHERE id IN (SELECT site_id FROM employee_sites WHERE employee_id = $1) ORDER BY name",
        sites::SITE_SELECT
    )))
    .bind(caller.id)
    .fetch_all(&state.db)
    .await?;
    rows.into_iter()
        .map(sites::SiteRow::into_site)
        .collect::<AppResult<_>>()
        .map(Json)
}
