//! The one list of problem codes (`Problem::code`, `urn:faceid:problem:<code>`) the server
//! answers. The backend's errors take an [`ErrorCode`], the OpenAPI document lists them as the
//! `Problem.code` enum, and clients compare with them instead of string literals.
//!
//! To add a code: one line in the `error_codes!` list below (doc comment, variant, wire name).

use serde::{Deserialize, Serialize};

// The wire name is the variant's snake_case name (serde); the list spells it out once more for
// `ErrorCode::as_str`, and a test checks both agree.
macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal, )*) => {
        /// A stable, machine-readable problem code. Clients branch on it, never on a problem's
        /// `title` or `detail`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the order of the list.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The wire name (the serde name), e.g. `invalid_credentials`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

error_codes! {
    // 400: the request cannot be read.
    /// The query string does not parse or a query value is out of range.
    InvalidQuery = "invalid_query",
    /// A path parameter (e.g. an id) does not parse.
    InvalidPathParameter = "invalid_path_parameter",
    /// The body is not valid JSON.
    MalformedJson = "malformed_json",
    /// The body cannot be read as the endpoint's request type (wrong content type, wrong shape).
    InvalidBody = "invalid_body",
    /// The multipart body cannot be read.
    InvalidMultipart = "invalid_multipart",
    /// A multipart body has more parts than the endpoint accepts.
    TooManyParts = "too_many_parts",
    /// A multipart body has a part the endpoint does not know, or a part twice.
    UnexpectedPart = "unexpected_part",
    /// An enrolment sent no photo part or more than the allowed number.
    PhotoCount = "photo_count",
    /// A check-in lacks its `evidence` JSON part.
    EvidenceMissing = "evidence_missing",
    /// A check-in or kiosk identification lacks its best frame.
    BestFrameMissing = "best_frame_missing",
    /// A challenge nonce was sent without challenge frames.
    ChallengeFramesMissing = "challenge_frames_missing",
    /// The answered liveness challenge is not known to the server.
    ChallengeUnknown = "challenge_unknown",
    /// The answered liveness challenge has expired.
    ChallengeExpired = "challenge_expired",
    /// The answered liveness challenge was already used.
    ChallengeUsed = "challenge_used",
    /// The answered liveness challenge was issued to another employee or device.
    ChallengeWrongSubject = "challenge_wrong_subject",
    /// The `Idempotency-Key` header is not a UUIDv7.
    InvalidIdempotencyKey = "invalid_idempotency_key",
    /// A time range ends before it starts.
    InvalidRange = "invalid_range",
    /// A time range is longer than the endpoint allows.
    RangeTooLong = "range_too_long",
    /// The Telegram webhook body is not a Telegram update.
    TelegramBadUpdate = "telegram_bad_update",

    // 401: no valid credential.
    /// The request needs an access token and has none.
    Unauthenticated = "unauthenticated",
    /// The access token (or the kiosk credential) is malformed, forged or unknown.
    InvalidToken = "invalid_token",
    /// The access token has expired: refresh it.
    TokenExpired = "token_expired",
    /// Wrong login or password.
    InvalidCredentials = "invalid_credentials",
    /// The refresh token is not valid (unknown, expired, or missing cookie).
    InvalidRefreshToken = "invalid_refresh_token",
    /// The refresh token was already used: every session of this login on this device ended.
    RefreshTokenReused = "refresh_token_reused",
    /// The session was ended (logout, revocation, password change).
    SessionRevoked = "session_revoked",
    /// `/metrics` needs its bearer token.
    MetricsTokenRequired = "metrics_token_required",
    /// The Telegram webhook's secret header is missing or wrong.
    TelegramWebhookSecret = "telegram_webhook_secret",

    // 403: authenticated, but not allowed.
    /// The account is dismissed or disabled (401 on token use, 403 on login).
    AccountDisabled = "account_disabled",
    /// The caller's role may not call this endpoint.
    Forbidden = "forbidden",
    /// Kiosk credentials cannot call this endpoint.
    KioskNotAllowed = "kiosk_not_allowed",
    /// The caller's password was set by an administrator and must be changed first.
    PasswordChangeRequired = "password_change_required",
    /// The current password given to change it is wrong.
    WrongPassword = "wrong_password",
    /// The kiosk PIN is wrong.
    WrongPin = "wrong_pin",
    /// The employee is outside the departments and sites the operator manages.
    OutOfScope = "out_of_scope",
    /// Operators manage only employees with the `user` role.
    RoleNotAllowed = "role_not_allowed",
    /// This account may not sign in from this device (not on its allow list).
    DeviceNotAllowed = "device_not_allowed",
    /// The device is blocked by an administrator.
    DeviceBlocked = "device_blocked",
    /// The device must prove its key (signed request) and did not.
    DeviceKeyRequired = "device_key_required",
    /// The device's key proof does not verify.
    DeviceProofInvalid = "device_proof_invalid",
    /// The device id is bound to another key.
    DeviceKeyMismatch = "device_key_mismatch",
    /// The device's key was registered after it was allowed and awaits approval.
    DeviceKeyNotApproved = "device_key_not_approved",
    /// A cookie-authenticated request lacks the CSRF header or a same-origin `Origin`.
    CsrfCheckFailed = "csrf_check_failed",
    /// The employee has not given biometric consent.
    BiometricConsentRequired = "biometric_consent_required",
    /// The employee has not granted location consent.
    LocationConsentRequired = "location_consent_required",
    /// The employee has not granted the Telegram consent.
    TelegramConsentRequired = "telegram_consent_required",
    /// Processing of this employee's data is restricted.
    ProcessingRestricted = "processing_restricted",
    /// An administrator cannot decide on their own erasure request.
    OwnRequest = "own_request",
    /// `/metrics` answers loopback clients only.
    MetricsLoopbackOnly = "metrics_loopback_only",

    // 404: absent.
    /// The resource does not exist (or is outside what the caller may see).
    NotFound = "not_found",
    /// The employee has no profile photo.
    NoPhoto = "no_photo",
    /// Telegram is not configured on this server.
    TelegramNotConfigured = "telegram_not_configured",
    /// The caller has not linked a Telegram chat.
    TelegramNotLinked = "telegram_not_linked",
    /// The Telegram webhook is not enabled on this server.
    TelegramWebhookOff = "telegram_webhook_off",
    /// The iiko connection is not configured.
    IikoNotConfigured = "iiko_not_configured",

    // 405.
    /// The path exists, the method does not.
    MethodNotAllowed = "method_not_allowed",

    // 409: the state of the resource refuses the request.
    /// Another entity of this kind has this name.
    NameTaken = "name_taken",
    /// Another employee has this login.
    LoginTaken = "login_taken",
    /// Another employee has this card number.
    CardNumberTaken = "card_number_taken",
    /// Another employee has this terminal person number.
    TerminalPersonNumberTaken = "terminal_person_number_taken",
    /// Another terminal has this name.
    TerminalNameTaken = "terminal_name_taken",
    /// Employees still belong to the department or site being deleted.
    InUse = "in_use",
    /// The last active administrator cannot lose the role or be dismissed.
    LastAdmin = "last_admin",
    /// An administrator cannot dismiss themselves.
    CannotDismissSelf = "cannot_dismiss_self",
    /// The employee is already dismissed.
    AlreadyDismissed = "already_dismissed",
    /// The employee is active (not dismissed).
    NotDismissed = "not_dismissed",
    /// The employee is not waiting for a dismissal from iiko.
    NotAwaitingDismissal = "not_awaiting_dismissal",
    /// An iiko import is already running.
    IikoImportRunning = "iiko_import_running",
    /// The employee has no enrolled face.
    NotEnrolled = "not_enrolled",
    /// The enrolment photos match another employee's enrolled face.
    PossibleDuplicate = "possible_duplicate",
    /// A face re-enrolment run is already queued or running.
    ReenrolmentRunning = "reenrolment_running",
    /// Only flagged punches can be reviewed.
    NotFlagged = "not_flagged",
    /// The replaced punch belongs to another employee.
    WrongEmployee = "wrong_employee",
    /// The `Idempotency-Key` was used before with another request body.
    IdempotencyKeyReused = "idempotency_key_reused",
    /// Only kiosks have a credential.
    NotAKiosk = "not_a_kiosk",
    /// The kiosk is not assigned to a site.
    KioskWithoutSite = "kiosk_without_site",
    /// The kiosk has no PIN set.
    KioskPinNotSet = "kiosk_pin_not_set",
    /// An administrator cannot block the device they are signed in from.
    OwnDevice = "own_device",
    /// Another schedule is assigned to the same target in this date range.
    OverlappingAssignment = "overlapping_assignment",
    /// The employee already has an absence in this date range.
    OverlappingAbsence = "overlapping_absence",
    /// The production calendar already has an entry for this date.
    HolidayExists = "holiday_exists",
    /// Only dead jobs can be retried or discarded.
    JobNotDead = "job_not_dead",
    /// No consent text of this kind has been published.
    ConsentTextMissing = "consent_text_missing",
    /// The consent text version granted is not the current one.
    ConsentTextOutdated = "consent_text_outdated",
    /// An erasure request of this scope is already open.
    ErasureRequestOpen = "erasure_request_open",
    /// The erasure request is not pending any more.
    ErasureRequestNotPending = "erasure_request_not_pending",
    /// The correction request is not pending any more.
    CorrectionRequestNotPending = "correction_request_not_pending",
    /// The personal-data export could not be written.
    ExportFailed = "export_failed",
    /// The Hikvision terminal is disabled.
    TerminalDisabled = "terminal_disabled",
    /// The Hikvision terminal refused the server's credentials and locked it out.
    TerminalLockedOut = "terminal_locked_out",

    // 410: removed on purpose.
    /// The evidence photo was erased (erasure request or retention).
    PhotoErased = "photo_erased",
    /// The export was deleted after its retention period.
    ExportExpired = "export_expired",

    // 413, 415.
    /// The body is larger than the endpoint accepts.
    PayloadTooLarge = "payload_too_large",
    /// The body's content type is not accepted.
    UnsupportedMediaType = "unsupported_media_type",

    // 422: well formed, but refused.
    /// Fields of the body are invalid; `errors` lists them.
    ValidationFailed = "validation_failed",
    /// A value is outside what can be stored.
    InvalidValue = "invalid_value",
    /// Some enrolment photos are unusable; `errors` has one entry per refused photo.
    EnrolmentRefused = "enrolment_refused",
    /// The profile photo is unusable; `errors` says why.
    PhotoRefused = "photo_refused",
    /// Challenge frames were sent without the `challenge_nonce` they answer.
    ChallengeNonceMissing = "challenge_nonce_missing",
    /// A frame is empty or not an image format the server reads.
    NotAnImage = "not_an_image",
    /// A frame is larger (in bytes) than accepted.
    ImageTooLarge = "image_too_large",
    /// A frame's dimensions or pixel count are larger than accepted.
    ImageDimensionsTooLarge = "image_dimensions_too_large",
    /// A frame is corrupt.
    ImageCorrupt = "image_corrupt",
    /// A frame is truncated.
    ImageTruncated = "image_truncated",
    /// No face was found in a frame.
    NoFace = "no_face",
    /// Several faces were found in a frame where one is needed.
    SeveralFaces = "several_faces",
    /// The face engine failed on a frame.
    FaceEngineError = "face_engine_error",

    // 429.
    /// Too many failed attempts; retry after `Retry-After` seconds.
    RateLimited = "rate_limited",

    // 500, 503.
    /// An internal error; details are logged, not answered.
    Internal = "internal",
    /// The database is unavailable; retry after `Retry-After` seconds.
    Unavailable = "unavailable",
    /// The face engine's queue is too long; retry after `Retry-After` seconds.
    ServerBusy = "server_busy",
    /// The face models are not installed on this server.
    FaceEngineUnavailable = "face_engine_unavailable",
    /// The iiko server cannot be reached or answered an error.
    IikoUnavailable = "iiko_unavailable",
    /// The Telegram Bot API cannot be reached.
    TelegramUnavailable = "telegram_unavailable",
}

impl ErrorCode {
    /// The code named `text`, if it is one this build knows (a newer server may send others).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == text)
    }

    /// The problem type URI: `urn:faceid:problem:<code>`.
    pub fn type_uri(self) -> String {
        format!("urn:faceid:problem:{}", self.as_str())
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<ErrorCode> for str {
    fn eq(&self, other: &ErrorCode) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ErrorCode> for String {
    fn eq(&self, other: &ErrorCode) -> bool {
        self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_as_str_is_its_serde_name() {
        let mut seen = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()), "{code:?}");
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert!(seen.insert(code.as_str()), "{code:?} named twice");
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{code:?} is not snake_case"
            );
        }
        assert_eq!(ErrorCode::parse("a_code_from_a_newer_server"), None);
    }

    #[test]
    fn a_problem_with_an_unknown_code_still_reads() {
        let p: crate::problem::Problem = serde_json::from_str(
            r#"{"type":"urn:faceid:problem:new_thing","title":"x","status":409,"code":"new_thing"}"#,
        )
        .unwrap();
        assert_eq!(p.error_code(), None);
        let known = crate::problem::Problem::new(403, ErrorCode::DeviceBlocked, "blocked");
        assert_eq!(known.error_code(), Some(ErrorCode::DeviceBlocked));
        assert_eq!(known.kind, "urn:faceid:problem:device_blocked");
        assert_eq!(known.code, "device_blocked");
    }
}
