//! Request extractors whose rejections are problem+json with a specific code.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use faceid_protocol::problem::FieldError;

use crate::error::AppError;

/// JSON body. Malformed JSON → 400 `malformed_json`; wrong types or missing fields → 422
/// `invalid_body`; unknown fields → 422 `unknown_field`; no JSON content type → 415; too large
/// → 413 `payload_too_large`.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// Path parameters. Invalid UUIDs → 400 `invalid_path_parameter`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// Query string. Invalid values → 400 `invalid_query`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonSyntaxError(e) => {
                AppError::bad_request("malformed_json", e.body_text())
            }
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                let code = if text.contains("unknown field") {
                    "unknown_field"
                } else {
                    "invalid_body"
                };
                // "Failed to deserialize the JSON body into the target type: field: message"
                let detail = text
                    .split_once("target type: ")
                    .map(|(_, rest)| rest.to_owned())
                    .unwrap_or(text);
                let (field, message) = match detail.split_once(": ") {
                    Some((f, m)) if !f.contains(' ') => (f.to_owned(), m.to_owned()),
                    _ => (String::new(), detail.clone()),
                };
                AppError::Validation(vec![FieldError {
                    field,
                    code: code.to_owned(),
                    message,
                }])
            }
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            other => AppError::bad_request("invalid_body", other.body_text()),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        AppError::bad_request("invalid_path_parameter", r.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::bad_request("invalid_query", r.body_text())
    }
}

/// A `multipart/form-data` body. Another content type → 415; a body over the limit → 413.
pub struct ApiMultipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = AppError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(ApiMultipart)
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::UnsupportedMediaType
                }
            })
    }
}
