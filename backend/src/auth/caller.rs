//! Who is calling: the bearer token or kiosk cookie of a request resolved to an employee
//! session or a kiosk device, and the extractors that say which roles may call a handler.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use faceid_protocol::auth::Role;
use faceid_protocol::auth::{ME_PATH, PASSWORD_PATH};
use faceid_protocol::devices::KIOSK_CREDENTIAL_PREFIX;
use faceid_protocol::error_code::ErrorCode;
use uuid::Uuid;

use super::sessions::{check_csrf, kiosk_cookie_credential};
use super::tokens::token_hash;
use crate::AppState;
use crate::error::AppError;
/// An authenticated employee.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: Uuid,
    pub login: String,
    pub role: Role,
    pub session_id: Uuid,
    pub device_id: Uuid,
    /// Operators: departments and sites they manage.
    pub scope_department_ids: Vec<Uuid>,
    pub scope_site_ids: Vec<Uuid>,
    pub request_id: Option<String>,
}

/// An authenticated kiosk device.
#[derive(Debug, Clone)]
pub struct KioskCaller {
    pub device_id: Uuid,
}

enum Principal {
    Employee(Caller),
    Kiosk(KioskCaller),
}

fn bearer(parts: &Parts) -> Result<&str, AppError> {
    let header =
        parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(AppError::Unauthenticated {
                code: ErrorCode::Unauthenticated,
            })?;
    let value = header.to_str().map_err(|_| AppError::Unauthenticated {
        code: ErrorCode::InvalidToken,
    })?;
    let (scheme, token) = value.split_once(' ').ok_or(AppError::Unauthenticated {
        code: ErrorCode::InvalidToken,
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::Unauthenticated {
            code: ErrorCode::InvalidToken,
        });
    }
    Ok(token.trim())
}

pub fn request_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    login: String,
    role: Role,
    status: String,
    scope_department_ids: Option<Vec<Uuid>>,
    scope_site_ids: Option<Vec<Uuid>>,
    revoked_at: Option<DateTime<Utc>>,
    blocked: bool,
    must_change_password: bool,
}

/// What an account whose password an administrator chose may still call: its own account,
/// and the change itself (refresh and logout carry no access token). The OpenAPI document
/// documents the 403 on every other operation from this same list.
pub const ALLOWED_BEFORE_PASSWORD_CHANGE: [(&str, &str); 2] =
    [("GET", ME_PATH), ("POST", PASSWORD_PATH)];

/// 403 `password_change_required` for any other endpoint while the caller's password is the
/// one an administrator chose (`employees.must_change_password`).
fn check_password_change(parts: &Parts, due: bool) -> Result<(), AppError> {
    if !due {
        return Ok(());
    }
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.path(), |u| u.0.path());
    let method = parts.method.as_str();
    if ALLOWED_BEFORE_PASSWORD_CHANGE
        .iter()
        .any(|(m, p)| *m == method && *p == path)
    {
        return Ok(());
    }
    Err(AppError::forbidden(
        ErrorCode::PasswordChangeRequired,
        "the password was set by an administrator: change it first (POST /api/v1/me/password)",
    ))
}

/// The request's credential: the bearer token, else a kiosk tablet's kiosk-mode cookie
/// ([`super::sessions::KIOSK_COOKIE`]), which needs the CSRF header like the panel's refresh cookie.
fn credential(parts: &Parts) -> Result<std::borrow::Cow<'_, str>, AppError> {
    if !parts
        .headers
        .contains_key(axum::http::header::AUTHORIZATION)
        && let Some(c) = kiosk_cookie_credential(&parts.headers)
    {
        check_csrf(&parts.headers)?;
        return Ok(std::borrow::Cow::Owned(c));
    }
    bearer(parts).map(std::borrow::Cow::Borrowed)
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Principal, AppError> {
    let token = credential(parts)?;
    let token = token.as_ref();
    if token.starts_with(KIOSK_CREDENTIAL_PREFIX) {
        let row: Option<(Uuid, bool)> = sqlx::query_as(
            "SELECT id, blocked FROM devices WHERE kind = 'kiosk' AND credential_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(&state.db)
        .await?;
        let (device_id, blocked) = row.ok_or(AppError::Unauthenticated {
            code: ErrorCode::InvalidToken,
        })?;
        if blocked {
            return Err(AppError::forbidden(
                ErrorCode::DeviceBlocked,
                "this device is blocked",
            ));
        }
        sqlx::query("UPDATE devices SET last_seen_at = now() WHERE id = $1")
            .bind(device_id)
            .execute(&state.db)
            .await?;
        return Ok(Principal::Kiosk(KioskCaller { device_id }));
    }
    let claims = state.jwt.verify(token)?;
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT e.login, e.role, e.status, e.scope_department_ids, e.scope_site_ids,
                s.revoked_at, d.blocked, e.must_change_password
           FROM sessions s
           JOIN employees e ON e.id = s.employee_id
           JOIN devices d ON d.id = s.device_id
          WHERE s.id = $1 AND s.employee_id = $2 AND s.device_id = $3",
    )
    .bind(claims.sid)
    .bind(claims.sub)
    .bind(claims.dev)
    .fetch_optional(&state.db)
    .await?;
    let row = row.ok_or(AppError::Unauthenticated {
        code: ErrorCode::SessionRevoked,
    })?;
    if row.status != "active" {
        return Err(AppError::Unauthenticated {
            code: ErrorCode::AccountDisabled,
        });
    }
    if row.revoked_at.is_some() {
        return Err(AppError::Unauthenticated {
            code: ErrorCode::SessionRevoked,
        });
    }
    if row.blocked {
        return Err(AppError::forbidden(
            ErrorCode::DeviceBlocked,
            "this device is blocked",
        ));
    }
    check_password_change(parts, row.must_change_password)?;
    Ok(Principal::Employee(Caller {
        id: claims.sub,
        login: row.login,
        role: row.role,
        session_id: claims.sid,
        device_id: claims.dev,
        scope_department_ids: row.scope_department_ids.unwrap_or_default(),
        scope_site_ids: row.scope_site_ids.unwrap_or_default(),
        request_id: request_id(parts),
    }))
}

async fn employee(parts: &Parts, state: &AppState) -> Result<Caller, AppError> {
    match authenticate(parts, state).await? {
        Principal::Employee(c) => Ok(c),
        Principal::Kiosk(_) => Err(AppError::forbidden(
            ErrorCode::KioskNotAllowed,
            "kiosk credentials cannot call this endpoint",
        )),
    }
}

/// Any logged-in employee (admin, operator or user).
pub struct AuthUser(pub Caller);
/// An administrator or an operator; operators are limited by their [`Scope`].
pub struct Staff(pub Caller);
/// An administrator.
pub struct Admin(pub Caller);
/// A kiosk device with its credential.
pub struct Kiosk(pub KioskCaller);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        employee(parts, state).await.map(AuthUser)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let c = employee(parts, state).await?;
        match c.role {
            Role::Admin | Role::Operator => Ok(Staff(c)),
            Role::User => Err(AppError::forbidden(
                ErrorCode::Forbidden,
                "this endpoint needs an administrator or operator",
            )),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let c = employee(parts, state).await?;
        match c.role {
            Role::Admin => Ok(Admin(c)),
            _ => Err(AppError::forbidden(
                ErrorCode::Forbidden,
                "this endpoint needs an administrator",
            )),
        }
    }
}

impl FromRequestParts<AppState> for Kiosk {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match authenticate(parts, state).await? {
            Principal::Kiosk(k) => Ok(Kiosk(k)),
            Principal::Employee(_) => Err(AppError::forbidden(
                ErrorCode::Forbidden,
                "this endpoint needs a kiosk credential",
            )),
        }
    }
}
