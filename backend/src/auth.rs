//! Who is calling, and what they may touch. Every role and scope decision of the API is made
//! here: the extractors below say which roles may call a handler, and [`Scope`] gives the
//! employee filter every employee query uses.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use faceid_protocol::auth::Role;
use faceid_protocol::devices::KIOSK_CREDENTIAL_PREFIX;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::AppState;
use crate::error::AppError;

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Employee id.
    pub sub: Uuid,
    /// Session (refresh-token family) id.
    pub sid: Uuid,
    /// Device id.
    pub dev: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

/// Signing keys for access tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(
        &self,
        employee: Uuid,
        session: Uuid,
        device: Uuid,
        now: DateTime<Utc>,
        ttl_secs: u64,
    ) -> Result<(String, DateTime<Utc>), AppError> {
        let exp = now + chrono::Duration::seconds(i64::try_from(ttl_secs).unwrap_or(900));
        let claims = Claims {
            sub: employee,
            sid: session,
            dev: device,
            iat: now.timestamp(),
            exp: exp.timestamp(),
            jti: Uuid::new_v4(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok((token, exp))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AppError::Unauthenticated {
                    code: "token_expired",
                },
                _ => AppError::Unauthenticated {
                    code: "invalid_token",
                },
            })
    }
}

/// SHA-256 of an opaque token (refresh tokens, kiosk credentials). These carry 256 bits of
/// randomness, so a fast hash is enough.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A new random opaque token: 32 random bytes, hex.
pub fn new_opaque_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

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
                code: "unauthenticated",
            })?;
    let value = header.to_str().map_err(|_| AppError::Unauthenticated {
        code: "invalid_token",
    })?;
    let (scheme, token) = value.split_once(' ').ok_or(AppError::Unauthenticated {
        code: "invalid_token",
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::Unauthenticated {
            code: "invalid_token",
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
    role: String,
    status: String,
    scope_department_ids: Option<Vec<Uuid>>,
    scope_site_ids: Option<Vec<Uuid>>,
    revoked_at: Option<DateTime<Utc>>,
    blocked: bool,
    must_change_password: bool,
}

/// What an account whose password an administrator chose may still call: its own account,
/// and the change itself (refresh and logout carry no access token).
const ALLOWED_BEFORE_PASSWORD_CHANGE: [(&str, &str); 2] =
    [("GET", "/api/v1/me"), ("POST", "/api/v1/me/password")];

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
        "password_change_required",
        "the password was set by an administrator: change it first (POST /api/v1/me/password)",
    ))
}

pub fn parse_role(s: &str) -> Result<Role, AppError> {
    match s {
        "admin" => Ok(Role::Admin),
        "operator" => Ok(Role::Operator),
        "user" => Ok(Role::User),
        other => Err(AppError::internal(format!("unknown role {other:?}"))),
    }
}

pub fn role_str(r: Role) -> &'static str {
    match r {
        Role::Admin => "admin",
        Role::Operator => "operator",
        Role::User => "user",
    }
}

/// The request's credential: the bearer token, else a kiosk tablet's kiosk-mode cookie
/// ([`crate::kiosk_mode`]), which needs the CSRF header like the panel's refresh cookie.
fn credential(parts: &Parts) -> Result<std::borrow::Cow<'_, str>, AppError> {
    if !parts
        .headers
        .contains_key(axum::http::header::AUTHORIZATION)
        && let Some(c) = crate::kiosk_mode::cookie_credential(&parts.headers)
    {
        crate::routes::web_session::check_csrf(&parts.headers)?;
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
            code: "invalid_token",
        })?;
        if blocked {
            return Err(AppError::forbidden(
                "device_blocked",
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
        code: "session_revoked",
    })?;
    if row.status != "active" {
        return Err(AppError::Unauthenticated {
            code: "account_disabled",
        });
    }
    if row.revoked_at.is_some() {
        return Err(AppError::Unauthenticated {
            code: "session_revoked",
        });
    }
    if row.blocked {
        return Err(AppError::forbidden(
            "device_blocked",
            "this device is blocked",
        ));
    }
    check_password_change(parts, row.must_change_password)?;
    Ok(Principal::Employee(Caller {
        id: claims.sub,
        login: row.login,
        role: parse_role(&row.role)?,
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
            "kiosk_not_allowed",
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
                "forbidden",
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
                "forbidden",
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
                "forbidden",
                "this endpoint needs a kiosk credential",
            )),
        }
    }
}

/// Which employees a caller may see and manage.
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    Within {
        department_ids: Vec<Uuid>,
        site_ids: Vec<Uuid>,
    },
    OnlySelf(Uuid),
}

impl Caller {
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Admin => Scope::All,
            Role::Operator => Scope::Within {
                department_ids: self.scope_department_ids.clone(),
                site_ids: self.scope_site_ids.clone(),
            },
            Role::User => Scope::OnlySelf(self.id),
        }
    }
}

/// An employee as the scope decision sees them.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub id: Uuid,
    pub role: Role,
    pub department_id: Option<Uuid>,
    pub site_ids: &'a [Uuid],
}

impl Scope {
    /// Appends ` AND <condition on employee alias e>` to a query: the same decision as
    /// [`Scope::check`], for lists.
    pub fn push_filter(&self, qb: &mut QueryBuilder<Postgres>) {
        match self {
            Scope::All => {}
            Scope::Within {
                department_ids,
                site_ids,
            } => {
                qb.push(" AND e.role = 'user' AND (e.department_id = ANY(")
                    .push_bind(department_ids.clone())
                    .push(") OR EXISTS (SELECT 1 FROM employee_sites es WHERE es.employee_id = e.id AND es.site_id = ANY(")
                    .push_bind(site_ids.clone())
                    .push(")))");
            }
            Scope::OnlySelf(id) => {
                qb.push(" AND e.id = ").push_bind(*id);
            }
        }
    }

    /// The one decision whether a caller may see and manage an employee: administrators
    /// everyone; operators only `user` employees of their departments and sites (never an
    /// administrator, another operator or themselves: 403 `role_not_allowed`, else
    /// `out_of_scope`); users only themselves.
    pub fn check(&self, subject: &Subject) -> Result<(), AppError> {
        match self {
            Scope::All => Ok(()),
            Scope::Within {
                department_ids,
                site_ids,
            } => {
                if subject.role != Role::User {
                    return Err(role_not_allowed());
                }
                let covered = subject
                    .department_id
                    .is_some_and(|d| department_ids.contains(&d))
                    || subject.site_ids.iter().any(|s| site_ids.contains(s));
                if covered { Ok(()) } else { Err(out_of_scope()) }
            }
            Scope::OnlySelf(id) if *id == subject.id => Ok(()),
            Scope::OnlySelf(_) => Err(out_of_scope()),
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }
}

/// Loads an employee's role, department and sites and applies [`Scope::check`]: 404 when
/// absent, 403 `role_not_allowed` or `out_of_scope` when the caller may not manage them.
pub async fn check_employee_scope(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<(), AppError> {
    let row: Option<(String, Option<Uuid>, Vec<Uuid>)> = sqlx::query_as(
        "SELECT e.role, e.department_id,
                COALESCE(ARRAY(SELECT site_id FROM employee_sites WHERE employee_id = e.id), '{}')
         FROM employees e WHERE e.id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let (role, department_id, site_ids) = row.ok_or(AppError::not_found("employee"))?;
    caller.scope().check(&Subject {
        id,
        role: parse_role(&role)?,
        department_id,
        site_ids: &site_ids,
    })
}

/// The refusal for an operator targeting an administrator, another operator or themselves.
pub fn role_not_allowed() -> AppError {
    AppError::forbidden(
        "role_not_allowed",
        "operators manage only employees with the `user` role",
    )
}

/// The refusal for an operator acting outside their scope.
pub fn out_of_scope() -> AppError {
    AppError::forbidden(
        "out_of_scope",
        "the employee is outside the departments and sites you manage",
    )
}
