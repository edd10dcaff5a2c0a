//! The HTTP client shared by the session and the sync transport: rustls (ring provider),
//! connect and request timeouts, and helpers to read an answer (status, `Retry-After`,
//! `Date`, a bounded body, `problem+json`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use faceid_protocol::problem::Problem;

/// Default time to establish a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time for a whole request (upload of a punch with frames included).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Most bytes of an answer body read. Sized from the protocol's largest answers, so every
/// list the server may send fits (the tests below build them at their limits): a track of
/// [`MAX_TRACK_POINTS`] points (about 330 bytes each at most, ~6.6 MB) and
/// [`MAX_MY_EVENTS`] attendance events with 2,000-character comments (~17 MB in Cyrillic).
///
/// [`MAX_TRACK_POINTS`]: faceid_protocol::location::MAX_TRACK_POINTS
/// [`MAX_MY_EVENTS`]: faceid_protocol::attendance::MAX_MY_EVENTS
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid server URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("could not build the HTTP client: {0}")]
    Build(String),
}

/// Timeouts of the HTTP client.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
        }
    }
}

/// Build the client. Installs rustls' ring crypto provider as the process default if no
/// provider is installed yet.
pub fn build_client(cfg: HttpConfig) -> Result<reqwest::Client, HttpError> {
    // Err means another provider is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(cfg.connect_timeout)
        .timeout(cfg.request_timeout)
        .user_agent(concat!("faceid-client/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HttpError::Build(e.to_string()))
}

/// Normalise a base URL: `http(s)://host[:port][/prefix]`, no trailing slash.
pub fn normalise_base(url: &str) -> Result<String, HttpError> {
    let trimmed = url.trim().trim_end_matches('/');
    let bad = |reason: &str| HttpError::BadUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("no host"));
    }
    if trimmed
        .chars()
        .any(|c| c.is_whitespace() || c == '?' || c == '#')
    {
        return Err(bad("must not contain spaces, a query or a fragment"));
    }
    Ok(trimmed.to_owned())
}

/// What the server answered, read in full (bounded).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpAnswer {
    pub status: u16,
    /// `Retry-After`, as a delay from now (delta-seconds, or an HTTP date minus `Date`).
    pub retry_after: Option<Duration>,
    /// The `Date` header.
    pub date: Option<DateTime<Utc>>,
    pub body: String,
}

impl HttpAnswer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as `problem+json`, when it is one.
    pub fn problem(&self) -> Option<Problem> {
        serde_json::from_str(&self.body).ok()
    }

    /// A short reason for logs and dead letters: the problem's title and detail, else the
    /// start of the body, else the status.
    pub fn reason(&self) -> String {
        if let Some(p) = self.problem() {
            return match p.detail {
                Some(d) => format!("{}: {d}", p.title),
                None => p.title,
            };
        }
        let body: String = self.body.chars().take(300).collect();
        if body.trim().is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {}: {}", self.status, body.trim())
        }
    }
}

fn parse_retry_after(value: &str, date: Option<DateTime<Utc>>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::<Utc>::from(httpdate::parse_http_date(v).ok()?);
    let base = date.unwrap_or_else(Utc::now);
    Some((at - base).to_std().unwrap_or(Duration::ZERO))
}

/// Read a response into an [`HttpAnswer`], keeping at most [`MAX_BODY_BYTES`] of the body.
pub async fn read_answer(resp: reqwest::Response) -> Result<HttpAnswer, reqwest::Error> {
    let (status, retry_after, date, body) = read_bytes(resp).await?;
    Ok(HttpAnswer {
        status,
        retry_after,
        date,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The `Date` header of an answer.
pub fn answer_date(headers: &reqwest::header::HeaderMap) -> Option<DateTime<Utc>> {
    headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .map(DateTime::<Utc>::from)
}

/// Status, `Retry-After`, `Date` and at most [`MAX_BODY_BYTES`] of the body as bytes (photos).
pub async fn read_bytes(
    mut resp: reqwest::Response,
) -> Result<(u16, Option<Duration>, Option<DateTime<Utc>>, Vec<u8>), reqwest::Error> {
    let status = resp.status().as_u16();
    let headers = resp.headers();
    let date = answer_date(headers);
    let retry_after = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, date));
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = MAX_BODY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok((status, retry_after, date, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_both_forms() {
        assert_eq!(
            parse_retry_after("120", None),
            Some(Duration::from_secs(120))
        );
        let date = httpdate::parse_http_date("Mon, 02 Mar 2026 09:00:00 GMT")
            .ok()
            .map(DateTime::<Utc>::from);
        assert_eq!(
            parse_retry_after("Mon, 02 Mar 2026 09:01:30 GMT", date),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Mon, 02 Mar 2026 08:00:00 GMT", date),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", date), None);
    }

    /// The largest answers the protocol allows fit under [`MAX_BODY_BYTES`] (issue 17 case 10:
    /// a day at the server's maximum failed at the old 256 KiB cap).
    #[test]
    fn largest_answers_fit_the_body_limit() {
        use faceid_protocol::attendance::{
            AttendanceRecord, EventKind, MAX_MY_EVENTS, PunchKind, PunchStatus, ReviewDecision,
            Verdict,
        };
        use faceid_protocol::location::{LocationPoint, MAX_TRACK_POINTS, Track, TrackPoint};
        use uuid::Uuid;
        let t = DateTime::parse_from_rfc3339("2026-11-20T07:00:00.123456789Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        // Numbers with the longest decimal forms (17 significant digits).
        let long = |x: f64| x + 1.0 / 3.0;
        let point = TrackPoint {
            device_id: Uuid::new_v4(),
            point: LocationPoint {
                recorded_at: t,
                lat: long(-90.0),
                lon: long(-180.0),
                accuracy: long(99_999.0),
                speed: Some(long(999.0)),
                bearing: Some(long(359.0)),
                altitude: Some(long(-100_000.0)),
                mock: true,
                jump: true,
                battery: Some(100),
            },
        };
        let track = Track {
            points: vec![point; MAX_TRACK_POINTS],
            truncated: true,
        };
        let track_bytes = serde_json::to_vec(&track)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        let event = AttendanceRecord {
            id: Uuid::new_v4(),
            employee_id: Uuid::new_v4(),
            device_id: Some(Uuid::new_v4()),
            site_id: Some(Uuid::new_v4()),
            kind: EventKind::Correction,
            punch_kind: Some(PunchKind::In),
            occurred_at: t,
            received_at: t,
            verdict: Verdict::Flagged,
            reasons: vec!["outside_geofence".into(), "low_similarity".into()],
            decision: Some(ReviewDecision::Reject),
            comment: Some("ж".repeat(2000)),
            refers_to: Some(Uuid::new_v4()),
            actor_id: Some(Uuid::new_v4()),
            lat: Some(long(-90.0)),
            lon: Some(long(-180.0)),
            accuracy_m: Some(long(99_999.0)),
            distance_m: Some(long(99_999.0)),
            face_distance: Some(1.0 / 3.0),
            liveness_score: Some(1.0 / 3.0),
            has_photo: true,
            status: Some(PunchStatus::FlaggedPending),
        };
        let events = vec![event; MAX_MY_EVENTS];
        let events_bytes = serde_json::to_vec(&events)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        assert!(track_bytes <= MAX_BODY_BYTES, "{track_bytes}");
        assert!(events_bytes <= MAX_BODY_BYTES, "{events_bytes}");
        // The old cap was far too small: the test would catch a return to it.
        assert!(track_bytes > 256 * 1024);
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            normalise_base("http://127.0.0.1:8080/").ok().as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert!(normalise_base("ftp://x").is_err());
        assert!(normalise_base("http://").is_err());
        assert!(normalise_base("http://x/?a").is_err());
    }
}
