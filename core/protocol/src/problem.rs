//! Errors as `application/problem+json` (RFC 9457) with a stable machine-readable `code`.

use serde::{Deserialize, Serialize};

use crate::error_code::ErrorCode;
use crate::field_code::FieldCode;

/// Content type of every error body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An error answer. Clients branch on `code` ([`Problem::error_code`]), never on `title` or
/// `detail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// URI naming the problem type: `urn:faceid:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable code, one of [`ErrorCode`]. Text on the wire type, so a client reads problems
    /// with codes a newer server added; compare through [`Problem::error_code`].
    #[cfg_attr(feature = "openapi", schema(value_type = ErrorCode))]
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Field-level validation errors, when the problem is about the request body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Why one field of a request was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// JSON pointer-like path of the offending field, e.g. `geofence.radius_m`.
    pub field: String,
    /// Stable code, one of [`FieldCode`]. Text on the wire type, like [`Problem::code`], so a
    /// client reads codes a newer server added; compare through [`FieldError::field_code`].
    #[cfg_attr(feature = "openapi", schema(value_type = FieldCode))]
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: FieldCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.as_str().to_owned(),
            message: message.into(),
        }
    }

    /// The code, when this build knows it (`None` for a code a newer server added).
    pub fn field_code(&self) -> Option<FieldCode> {
        FieldCode::parse(&self.code)
    }
}

impl Problem {
    pub fn new(status: u16, code: ErrorCode, title: &str) -> Self {
        Self {
            kind: code.type_uri(),
            title: title.to_owned(),
            status,
            code: code.as_str().to_owned(),
            detail: None,
            errors: Vec::new(),
        }
    }

    /// The code, when this build knows it (`None` for a code a newer server added).
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::parse(&self.code)
    }
}
