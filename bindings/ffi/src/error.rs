//! The one error type the apps see. Variants say what the user or the app can do about it;
//! the rich internal errors of the core are mapped onto them.

/// Errors crossing the FFI boundary (a Kotlin exception / Swift `Error`).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FaceIdError {
    /// The server could not be reached or did not answer in time; retrying later may help.
    #[error("network error: {reason}")]
    Network { reason: String },
    /// The credentials or the token were refused.
    #[error("unauthorized: {reason}")]
    Unauthorized { reason: String },
    /// An administrator blocked this device: every request and login from it is refused until
    /// they unblock it. Tell the user to contact them; logging in again does not help.
    #[error("device blocked: {reason}")]
    DeviceBlocked { reason: String },
    /// The session ended (refresh token revoked or expired): show the login screen.
    #[error("session expired")]
    SessionExpired,
    /// The input was refused; `reason` is safe to show to the user.
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
    /// The face engine refused the capture (no face, too dark, not live, ...).
    #[error("face: {reason}")]
    Face { reason: String },
    /// Local storage (outbox database, secure store) failed.
    #[error("storage: {reason}")]
    Storage { reason: String },
    /// A bug: report it.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for FaceIdError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FaceIdError::Internal { reason: e.reason }
    }
}

// The one place where the core's rich errors become `FaceIdError`.

use faceid_client::app::AppError;
use faceid_client::http::HttpError;
use faceid_client::location::RecorderError;
use faceid_client::outbox::OutboxError;
use faceid_client::session::SessionError;
use faceid_client::store::StoreError;
use faceid_client::sync::SyncError;
use faceid_protocol::error_code::ErrorCode;

impl From<AppError> for FaceIdError {
    fn from(e: AppError) -> Self {
        match e {
            // Nobody logged in: the app shows the login screen, as for an ended session.
            AppError::NotLoggedIn => FaceIdError::SessionExpired,
            e @ AppError::Poisoned => FaceIdError::Internal {
                reason: e.to_string(),
            },
            AppError::Session(e) => e.into(),
            AppError::Outbox(e) => e.into(),
            AppError::Recorder(e) => e.into(),
            AppError::Records(e) => e.into(),
            AppError::Enrolment(e) => e.into(),
            AppError::CheckIn(e) => e.into(),
            AppError::Sync(e) => e.into(),
        }
    }
}

impl From<SessionError> for FaceIdError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::AuthRequired => FaceIdError::SessionExpired,
            SessionError::Rejected { status, problem } => {
                let reason = problem
                    .as_ref()
                    .map(|p| match &p.detail {
                        Some(d) => format!("{}: {d}", p.code),
                        None => format!("{}: {}", p.code, p.title),
                    })
                    .unwrap_or_else(|| format!("server refused the request ({status})"));
                let code = problem.as_ref().and_then(|p| p.error_code());
                match status {
                    403 if code == Some(ErrorCode::DeviceBlocked) => {
                        FaceIdError::DeviceBlocked { reason }
                    }
                    401 | 403 => FaceIdError::Unauthorized { reason },
                    _ => FaceIdError::InvalidInput { reason },
                }
            }
            e @ (SessionError::Unavailable { .. } | SessionError::Network(_)) => {
                FaceIdError::Network {
                    reason: e.to_string(),
                }
            }
            e @ SessionError::Decode(_) => FaceIdError::Internal {
                reason: e.to_string(),
            },
            SessionError::Invalid(reason) => FaceIdError::InvalidInput {
                reason: reason.to_owned(),
            },
            SessionError::Store(e) => e.into(),
            SessionError::DeviceKey(e) => FaceIdError::Storage {
                reason: e.to_string(),
            },
            SessionError::Http(e) => e.into(),
        }
    }
}

impl From<HttpError> for FaceIdError {
    fn from(e: HttpError) -> Self {
        match e {
            e @ HttpError::BadUrl { .. } => FaceIdError::InvalidInput {
                reason: e.to_string(),
            },
            e @ HttpError::Build(_) => FaceIdError::Internal {
                reason: e.to_string(),
            },
        }
    }
}

impl From<StoreError> for FaceIdError {
    fn from(e: StoreError) -> Self {
        FaceIdError::Storage {
            reason: e.to_string(),
        }
    }
}

impl From<OutboxError> for FaceIdError {
    fn from(e: OutboxError) -> Self {
        match e {
            e @ OutboxError::Invalid(_) => FaceIdError::InvalidInput {
                reason: e.to_string(),
            },
            e => FaceIdError::Storage {
                reason: e.to_string(),
            },
        }
    }
}

impl From<RecorderError> for FaceIdError {
    fn from(e: RecorderError) -> Self {
        match e {
            RecorderError::Outbox(e) => e.into(),
            e => FaceIdError::InvalidInput {
                reason: e.to_string(),
            },
        }
    }
}

impl From<SyncError> for FaceIdError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Outbox(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use faceid_protocol::problem::Problem;

    use super::*;

    fn rejected(status: u16, code: ErrorCode) -> FaceIdError {
        SessionError::Rejected {
            status,
            problem: Some(Box::new(Problem::new(status, code, "refused"))),
        }
        .into()
    }

    #[test]
    fn a_blocked_device_is_its_own_variant_other_refusals_stay_unauthorized() {
        let e = rejected(403, ErrorCode::DeviceBlocked);
        assert!(
            matches!(&e, FaceIdError::DeviceBlocked { reason } if reason.starts_with("device_blocked")),
            "{e:?}"
        );
        for (status, code) in [
            (403, ErrorCode::Forbidden),
            (403, ErrorCode::DeviceNotAllowed),
            (401, ErrorCode::InvalidCredentials),
        ] {
            let e = rejected(status, code);
            assert!(
                matches!(&e, FaceIdError::Unauthorized { reason } if reason.starts_with(code.as_str())),
                "{e:?}"
            );
        }
        assert!(matches!(
            rejected(422, ErrorCode::DeviceBlocked),
            FaceIdError::InvalidInput { .. }
        ));
    }
}
