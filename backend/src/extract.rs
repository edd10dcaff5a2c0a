//! Request extractors whose rejections are problem+json with a specific code, and the input
//! rules every text and time value of a request obeys (see [`check_json`]); paging
//! parameters ([`Paging`]) and the field checks of a body ([`Check`]).

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::FieldError;
use faceid_protocol::sync::ValidationError;
use faceid_protocol::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// JSON body. Malformed JSON → 400 `malformed_json`; wrong types or missing fields → 422
/// `invalid_body`; unknown fields → 422 `unknown_field`; no JSON content type → 415; too large
/// → 413 `payload_too_large`; a string breaking the input rules ([`check_json`]) → 422
/// `validation_failed` naming the field.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        if !json_content_type(req.headers()) {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::bad_request(ErrorCode::InvalidBody, r.body_text())
            }
        })?;
        // The input rules first (chrono parses some years PostgreSQL cannot store, and a
        // typed error would hide which rule broke); malformed JSON passes them to the parser.
        check_json(&bytes, "")?;
        refuse_non_object(&bytes)?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(ApiJson(value))
    }
}

/// Every JSON body of this API is an object. serde would also fill a struct from an array of
/// its fields in order (`[null, null]`), which the document does not allow.
fn refuse_non_object(bytes: &[u8]) -> Result<(), AppError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let well_formed = || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
    if first != Some(&b'{') && well_formed() {
        return Err(AppError::field(
            "",
            FieldCode::InvalidBody,
            "the body must be a JSON object",
        ));
    }
    Ok(())
}

/// `application/json` or `application/*+json`, as `axum::Json` accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Path parameters. Invalid UUIDs → 400 `invalid_path_parameter`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// Query string. Invalid values → 400 `invalid_query`; a value breaking the input rules
/// ([`check_text`]) → 422 `validation_failed` naming the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or("");
        for (name, text) in form_urlencoded::parse(query.as_bytes()) {
            if let Err(e) = check_text(&text, MAX_QUERY_VALUE_BYTES) {
                return Err(e.into_error(&name));
            }
        }
        let axum::extract::Query(value) = axum::extract::Query::<T>::try_from_uri(&parts.uri)?;
        Ok(ApiQuery(value))
    }
}

/// Longest string anywhere in a JSON body, in bytes: the longest legitimate one, a consent
/// text of 50,000 characters (`consent::MAX_CONSENT_TEXT_LEN`), fits at 4 bytes a character.
/// Fields with a tighter limit check it themselves.
pub const MAX_STRING_BYTES: usize = 200_000;
/// Longest query-string value, in bytes (search terms, ids, dates).
pub const MAX_QUERY_VALUE_BYTES: usize = 1_000;
/// Timestamps (a date followed by a time) must fall in these years: everything the system
/// records or is asked about happens now-ish, and PostgreSQL refuses years chrono accepts.
pub const TIMESTAMP_YEARS: std::ops::RangeInclusive<i64> = 2000..=2100;
/// Dates without a time may be older (a hire date, a holiday calendar of past years).
pub const DATE_YEARS: std::ops::RangeInclusive<i64> = 1900..=2100;

/// Why a string breaks the input rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// A NUL character, which PostgreSQL text cannot store.
    Nul,
    TooLong(usize),
    /// A date or timestamp whose year is outside [`DATE_YEARS`] / [`TIMESTAMP_YEARS`].
    DateOutOfRange,
}

impl TextError {
    /// The 422 naming `field`.
    pub fn into_error(self, field: &str) -> AppError {
        let (code, message) = match self {
            Self::Nul => (
                FieldCode::NulCharacter,
                "must not contain a NUL character".to_owned(),
            ),
            Self::TooLong(max) => (FieldCode::TooLong, format!("must be at most {max} bytes")),
            Self::DateOutOfRange => (
                FieldCode::DateOutOfRange,
                format!(
                    "timestamps must lie in the years {}–{}, dates in {}–{}",
                    TIMESTAMP_YEARS.start(),
                    TIMESTAMP_YEARS.end(),
                    DATE_YEARS.start(),
                    DATE_YEARS.end()
                ),
            ),
        };
        AppError::field(field, code, message)
    }
}

/// The input rule for one decoded string: no NUL, at most `max` bytes, and if it reads as a
/// date (`[+-]YYYY…-MM-DD`, optionally followed by a time) its year within range.
pub fn check_text(s: &str, max: usize) -> Result<(), TextError> {
    if s.len() > max {
        return Err(TextError::TooLong(max));
    }
    if s.as_bytes().contains(&0) {
        return Err(TextError::Nul);
    }
    check_date_like(s.as_bytes())
}

/// A string shaped like an ISO date (optional sign, four or more digits, `-MM-DD`) must have
/// its year in range; anything else passes (it is not a date, and the typed field rejects it
/// if one was expected).
fn check_date_like(s: &[u8]) -> Result<(), TextError> {
    let (negative, rest) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(b'0'..=b'9') => (false, s),
        _ => return Ok(()),
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits < 4 {
        return Ok(());
    }
    let tail = &rest[digits..];
    let date_shaped = tail.len() >= 6
        && tail[0] == b'-'
        && tail[1..3].iter().all(u8::is_ascii_digit)
        && tail[3] == b'-'
        && tail[4..6].iter().all(u8::is_ascii_digit);
    if !date_shaped {
        return Ok(());
    }
    let years = if tail.len() == 6 {
        DATE_YEARS
    } else {
        TIMESTAMP_YEARS
    };
    // More than 9 digits cannot be in range and would overflow.
    let year = std::str::from_utf8(&rest[..digits])
        .ok()
        .filter(|_| digits <= 9)
        .and_then(|d| d.parse::<i64>().ok())
        .map(|y| if negative { -y } else { y });
    match year {
        Some(y) if years.contains(&y) => Ok(()),
        _ => Err(TextError::DateOutOfRange),
    }
}

/// The input rules over every string (keys and values) of a JSON document, `field_prefix`
/// naming where it came from (`""` for a body, the part name for a multipart JSON part).
///
/// One pass over the raw bytes (a location batch carries up to 20,000 points) looks at each
/// string literal; only when one breaks a rule, or carries a `\u` escape the byte scan cannot
/// judge, is the document parsed again and walked to name the field. Bytes that are not JSON
/// pass: the caller's own parse reports them.
pub fn check_json(bytes: &[u8], field_prefix: &str) -> Result<(), AppError> {
    if !raw_scan_suspects(bytes) {
        return Ok(());
    }
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(()); // not JSON: the caller's own parse reports it
    };
    let mut path = field_prefix.to_owned();
    walk(&doc, &mut path)
}

/// Whether any string literal in `bytes` may break a rule.
fn raw_scan_suspects(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut j = start;
        let mut escaped_unicode = false;
        while j < bytes.len() && bytes[j] != b'"' {
            if bytes[j] == b'\\' {
                if bytes.get(j + 1) == Some(&b'u') {
                    escaped_unicode = true;
                }
                j += 2;
            } else {
                j += 1;
            }
        }
        let literal = &bytes[start..j.min(bytes.len())];
        if escaped_unicode
            || literal.len() > MAX_STRING_BYTES
            || literal.contains(&0)
            || check_date_like(literal).is_err()
        {
            return true;
        }
        i = j + 1;
    }
    false
}

fn walk(v: &serde_json::Value, path: &mut String) -> Result<(), AppError> {
    use serde_json::Value;
    let here = path.len();
    match v {
        Value::String(s) => {
            check_text(s, MAX_STRING_BYTES).map_err(|e| e.into_error(path.as_str()))?;
        }
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                path.push_str(&format!("[{n}]"));
                walk(item, path)?;
                path.truncate(here);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                check_text(key, MAX_STRING_BYTES).map_err(|e| e.into_error(path.as_str()))?;
                walk(item, path)?;
                path.truncate(here);
            }
        }
        _ => {}
    }
    Ok(())
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonSyntaxError(e) => {
                AppError::bad_request(ErrorCode::MalformedJson, e.body_text())
            }
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                let code = if text.contains("unknown field") {
                    FieldCode::UnknownField
                } else {
                    FieldCode::InvalidBody
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
                AppError::Validation(vec![FieldError::new(field, code, message)])
            }
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            other => AppError::bad_request(ErrorCode::InvalidBody, other.body_text()),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        AppError::bad_request(ErrorCode::InvalidPathParameter, r.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::bad_request(ErrorCode::InvalidQuery, r.body_text())
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

/// The largest `offset` of a list: the document declares 32-bit integers.
pub const MAX_PAGE_OFFSET: u32 = i32::MAX as u32;

/// `?limit=&offset=` of list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items per page (1..=500, default 50).
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u32>,
}

impl Paging {
    pub fn resolve(limit: Option<u32>, offset: Option<u32>) -> Result<(u32, u32), AppError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(AppError::bad_request(
                ErrorCode::InvalidQuery,
                format!("limit must be within 1..={MAX_PAGE_LIMIT}"),
            ));
        }
        let offset = offset.unwrap_or(0);
        if offset > MAX_PAGE_OFFSET {
            return Err(AppError::bad_request(
                ErrorCode::InvalidQuery,
                format!("offset must be within 0..={MAX_PAGE_OFFSET}"),
            ));
        }
        Ok((limit, offset))
    }
}

/// Collects field errors and turns them into one 422.
#[derive(Default)]
pub struct Check(Vec<FieldError>);

impl Check {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn add(&mut self, field: &str, code: FieldCode, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }
    /// A trimmed, non-empty text of at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let t = value.trim();
        if t.is_empty() {
            self.add(field, FieldCode::Required, "must not be empty");
        } else if t.chars().count() > max {
            self.add(
                field,
                FieldCode::TooLong,
                format!("must be at most {max} characters"),
            );
        } else if t.chars().any(char::is_control) {
            self.add(
                field,
                FieldCode::InvalidCharacters,
                "must not contain control characters",
            );
        }
        t.to_owned()
    }
    /// The base URL of a device or server we call: `http://` or `https://` and a host (and
    /// port), without credentials, a query or a fragment; trailing slashes dropped.
    pub fn base_url(&mut self, field: &str, url: &str) -> String {
        let u = url.trim().trim_end_matches('/').to_owned();
        let rest = u
            .strip_prefix("http://")
            .or_else(|| u.strip_prefix("https://"));
        match rest {
            Some(host)
                if !host.is_empty() && !host.contains(['?', '#', ' ', '@']) && u.len() <= 200 => {}
            _ => self.add(
                field,
                FieldCode::InvalidUrl,
                "http:// or https:// and a host (and port), without credentials",
            ),
        }
        u
    }
    /// Like [`Check::text`], but empty means `None`.
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        match value.map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(self.text(field, v, max)),
        }
    }
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// A protocol validation error as the field error of a 422.
pub fn field_error(e: &ValidationError) -> FieldError {
    FieldError::new(e.field(), e.field_code(), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_are_bounded_and_other_text_passes() {
        for ok in [
            "2024-05-01",
            "1950-01-01",
            "2024-05-01T09:00:00Z",
            "2100-12-31T23:59:59+03:00",
            "Ivan",
            "12345",
            "2024-05",
            "-5",
        ] {
            assert_eq!(check_text(ok, 100), Ok(()), "{ok}");
        }
        for bad in [
            "-200000-01-01T00:00:00Z",
            "+200000-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "1999-12-31T23:59:59Z",
            "2101-01-01T00:00:00Z",
            "1899-12-31",
            "99999999999999999999-01-01",
        ] {
            assert_eq!(
                check_text(bad, 100),
                Err(TextError::DateOutOfRange),
                "{bad}"
            );
        }
        assert_eq!(check_text("a\0b", 100), Err(TextError::Nul));
        assert_eq!(check_text("abc", 2), Err(TextError::TooLong(2)));
    }

    #[test]
    fn the_raw_scan_names_the_field_only_when_something_is_found() {
        let clean = br#"{"points": [{"recorded_at": "2024-05-01T09:00:00Z", "lat": 1.0}]}"#;
        assert!(!raw_scan_suspects(clean));
        assert!(check_json(clean, "").is_ok());
        let bad = br#"{"points": [{"recorded_at": "2024-05-01T09:00:00Z"},
                                  {"recorded_at": "0000-05-01T09:00:00Z"}]}"#;
        let e = check_json(bad, "").unwrap_err();
        let AppError::Validation(errors) = e else {
            panic!("not a validation error")
        };
        assert_eq!(errors[0].field, "points[1].recorded_at");
        assert_eq!(errors[0].code, "date_out_of_range");
        let nul = br#"{"a": {"b": "x\u0000"}}"#;
        let AppError::Validation(errors) = check_json(nul, "evidence").unwrap_err() else {
            panic!()
        };
        assert_eq!(errors[0].field, "evidence.a.b");
        // An escaped backslash before `u0000` is text, and a `\u` escape of a letter is fine.
        assert!(check_json(br#"{"a": "\\u0000", "b": "\u0041"}"#, "").is_ok());
        // Not JSON: left to the parser.
        assert!(check_json(b"{\"a\": \"\\u0000", "").is_ok());
    }
}
