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
