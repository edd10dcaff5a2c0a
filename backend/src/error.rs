//! The one error type every handler returns, answered as `application/problem+json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::{FieldError, PROBLEM_CONTENT_TYPE, Problem};

/// Errors of the HTTP layer. Each has a stable `code` that clients branch on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{detail}")]
    BadRequest { code: ErrorCode, detail: String },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("authentication required")]
    Unauthenticated { code: ErrorCode },
    #[error("{detail}")]
    Forbidden { code: ErrorCode, detail: String },
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// 404 with its own code: a feature this server is not set up for, or an absent
    /// optional resource (`telegram_not_configured`, `telegram_not_linked`).
    #[error("{detail}")]
    Unconfigured { code: ErrorCode, detail: String },
    #[error("{detail}")]
    Conflict { code: ErrorCode, detail: String },
    /// 410: the resource existed and was removed on purpose (an erased photo, an expired
    /// export).
    #[error("{detail}")]
    Gone { code: ErrorCode, detail: String },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 405: the path exists, the method does not (axum adds the `Allow` header).
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    #[error("database unavailable")]
    Unavailable,
    /// The face engine's queue is too long to wait in (see `face_queue`); retry later.
    #[error("the server is busy measuring faces; retry in {retry_after_secs} s")]
    ServerBusy { retry_after_secs: u64 },
    /// A request that is well formed but refused, with a specific code and, when several
    /// items were judged (e.g. enrolment photos), one entry per refused item.
    #[error("{detail}")]
    Refused {
        code: ErrorCode,
        detail: String,
        errors: Vec<FieldError>,
    },
    /// A dependency of this endpoint is not available (e.g. the face models are missing).
    #[error("{detail}")]
    ServiceUnavailable { code: ErrorCode, detail: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }
    pub fn forbidden(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            detail: detail.into(),
        }
    }
    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }
    pub fn gone(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Gone {
            code,
            detail: detail.into(),
        }
    }
    pub fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }
    pub fn field(field: &str, code: FieldCode, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } | Self::Unconfigured { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Gone { .. } => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::ServiceUnavailable { .. } | Self::ServerBusy { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthenticated { code }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Gone { code, .. }
            | Self::Refused { code, .. }
            | Self::Unconfigured { code, .. }
            | Self::ServiceUnavailable { code, .. } => *code,
            Self::Validation(_) => ErrorCode::ValidationFailed,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unavailable => ErrorCode::Unavailable,
            Self::ServerBusy { .. } => ErrorCode::ServerBusy,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        let mut p = Problem::new(
            status.as_u16(),
            self.code(),
            status.canonical_reason().unwrap_or("Error"),
        );
        match self {
            // Never leak internals to the client; they are logged instead.
            Self::Internal(_) | Self::Unavailable => {}
            Self::Validation(errors) => {
                p.detail = Some("the request body has invalid fields".into());
                p.errors = errors.clone();
            }
            Self::Unauthenticated { code } => {
                p.detail = Some(
                    match *code {
                        ErrorCode::InvalidCredentials => "wrong login or password",
                        ErrorCode::TokenExpired => "the access token has expired",
                        ErrorCode::InvalidRefreshToken => "the refresh token is not valid",
                        ErrorCode::RefreshTokenReused => {
                            "the refresh token was already used; every session of this login on this device was ended"
                        }
                        ErrorCode::SessionRevoked => "the session was ended",
                        _ => "a valid access token is required",
                    }
                    .into(),
                );
            }
            Self::Refused { detail, errors, .. } => {
                p.detail = Some(detail.clone());
                p.errors = errors.clone();
            }
            Self::RateLimited { retry_after_secs } => {
                p.detail = Some(format!(
                    "too many failed attempts; retry in {retry_after_secs} s"
                ));
            }
            other => p.detail = Some(other.to_string()),
        }
        p
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        let sqlstate = match &e {
            sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
            _ => None,
        };
        match (&e, sqlstate.as_deref()) {
            // The database is gone or going: the pool, the socket, or the server saying so
            // (class 08 connection exception; 57P01–57P03 shutdown / cannot connect now).
            (sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_), _) => {
                tracing::error!(error = %e, "database unavailable");
                Self::Unavailable
            }
            (_, Some(code)) if code.starts_with("08") || code.starts_with("57P") => {
                tracing::error!(error = %e, sqlstate = code, "database unavailable");
                Self::Unavailable
            }
            // Class 22 (data exception: a NUL byte, a date out of range, a number too large)
            // is a value the client sent that slipped past the input rules: a safety net.
            (_, Some(code)) if code.starts_with("22") => {
                tracing::warn!(error = %e, sqlstate = code, "database refused a value");
                Self::Refused {
                    code: ErrorCode::InvalidValue,
                    detail: "a value is outside what can be stored".into(),
                    errors: Vec::new(),
                }
            }
            _ => Self::Internal(format!("database: {e}")),
        }
    }
}

/// Seconds a client should wait before retrying while the database is unavailable.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, code = self.code().as_str(), "request failed");
        } else {
            tracing::debug!(error = %self, code = self.code().as_str(), "request refused");
        }
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut resp = (status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        match self {
            Self::RateLimited { retry_after_secs } | Self::ServerBusy { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Self::Unavailable => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
                );
            }
            Self::Unauthenticated { .. } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"faceid\""),
                );
            }
            _ => {}
        }
        resp
    }
}

/// Maps a unique or foreign-key violation on a named constraint to a client error.
pub trait ResultExt<T> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> AppError) -> Result<T, AppError>;
}

impl<T, E: Into<AppError>> ResultExt<T> for Result<T, E>
where
    E: AsDbError,
{
    fn on_constraint(self, name: &str, f: impl FnOnce() -> AppError) -> Result<T, AppError> {
        self.map_err(|e| {
            if e.constraint() == Some(name) {
                f()
            } else {
                e.into()
            }
        })
    }
}

/// Errors that may carry a violated database constraint.
pub trait AsDbError {
    fn constraint(&self) -> Option<&str>;
}

impl AsDbError for sqlx::Error {
    fn constraint(&self) -> Option<&str> {
        match self {
            sqlx::Error::Database(db) => db.constraint(),
            _ => None,
        }
    }
}

impl AsDbError for AppError {
    fn constraint(&self) -> Option<&str> {
        None
    }
}

pub type AppResult<T> = Result<T, AppError>;
