//! The ISAPI client of one terminal (integrations.md §1): HTTP Digest on reqwest with the
//! `digest_auth` crate, JSON endpoints with `?format=json`, the `statusCode` error envelope,
//! and the few XML answers (`deviceInfo`, `System/time`) read namespace-agnostically.
//!
//! Digest: the last challenge is kept and answered preemptively (the crate counts `nc`); a 401
//! to an unauthenticated request or one with `stale=true` is answered once more with the new
//! challenge; any other 401 is [`IsapiError::Unauthorized`] at once, so a wrong password costs
//! the terminal one failed login per call and never a burst (terminals lock accounts after a
//! few). Bodies are in-memory bytes (multipart built here), so a request can be re-sent.

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};
use reqwest::Method;
use reqwest::header::{self, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

/// Largest answer read (an event page is a few kB; a picture well under a megabyte).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IsapiError {
    /// No connection, or the connection broke.
    #[error("terminal unreachable: {0}")]
    Network(String),
    #[error("the terminal did not answer in time")]
    Timeout,
    /// The credentials were refused (a 401 that is not a fresh or stale challenge).
    #[error("the terminal refused the credentials (401)")]
    Unauthorized,
    /// The ISAPI envelope with `statusCode != 1` (the HTTP status is often 200).
    #[error("ISAPI statusCode {status_code} ({sub_status}): {message}")]
    Isapi {
        http: u16,
        status_code: i64,
        sub_status: String,
        message: String,
    },
    /// A non-2xx answer without an ISAPI envelope (a proxy page, a 404, a 500).
    #[error("HTTP {status}")]
    Http { status: u16 },
    /// A 2xx answer that is not what the endpoint returns.
    #[error("malformed answer: {0}")]
    Malformed(String),
}

impl IsapiError {
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Isapi { http, .. } => Some(*http),
            Self::Http { status } => Some(*status),
            Self::Unauthorized => Some(401),
            _ => None,
        }
    }
    pub fn status_code(&self) -> Option<i64> {
        match self {
            Self::Isapi { status_code, .. } => Some(*status_code),
            _ => None,
        }
    }
    pub fn sub_status(&self) -> Option<&str> {
        match self {
            Self::Isapi { sub_status, .. } => Some(sub_status),
            _ => None,
        }
    }
}

/// The ISAPI status envelope (`statusCode == 1` is success; the rest is kept for the log).
#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(rename = "statusCode")]
    status_code: Option<i64>,
    #[serde(rename = "subStatusCode")]
    sub_status: Option<String>,
    #[serde(rename = "statusString")]
    status_string: Option<String>,
    #[serde(rename = "errorMsg")]
    error_msg: Option<String>,
}

impl Envelope {
    fn error(self, http: u16) -> Option<IsapiError> {
        let code = self.status_code?;
        (code != 1).then(|| IsapiError::Isapi {
            http,
            status_code: code,
            sub_status: self.sub_status.unwrap_or_default(),
            message: self.error_msg.or(self.status_string).unwrap_or_default(),
        })
    }
}

/// `GET /ISAPI/System/deviceInfo`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceInfo {
    pub device_name: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
}

/// `POST /ISAPI/AccessControl/AcsEvent` condition.
#[derive(Debug, Clone, Serialize)]
pub struct AcsEventCond {
    #[serde(rename = "searchID")]
    pub search_id: String,
    #[serde(rename = "searchResultPosition")]
    pub position: u32,
    #[serde(rename = "maxResults")]
    pub max_results: u32,
    pub major: u32,
    pub minor: u32,
    #[serde(rename = "startTime")]
    pub start_time: String,
    #[serde(rename = "endTime")]
    pub end_time: String,
    #[serde(rename = "beginSerialNo", skip_serializing_if = "Option::is_none")]
    pub begin_serial_no: Option<i64>,
    #[serde(rename = "endSerialNo", skip_serializing_if = "Option::is_none")]
    pub end_serial_no: Option<i64>,
    #[serde(rename = "timeReverseOrder")]
    pub time_reverse_order: bool,
}

/// One page of `AcsEvent` (items kept raw: every field but four is optional).
#[derive(Debug, Clone, Deserialize)]
pub struct AcsEventPage {
    /// `MORE`, `OK` or `NO MATCH`.
    #[serde(rename = "responseStatusStrg", default)]
    pub status: String,
    #[serde(rename = "numOfMatches", default)]
    pub num_of_matches: u32,
    #[serde(rename = "totalMatches", default)]
    pub total_matches: u64,
    /// Absent on `NO MATCH`.
    #[serde(rename = "InfoList", default)]
    pub info_list: Option<Vec<Value>>,
}

/// The user record pushed with `UserInfo/Record|Modify`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserInfo {
    #[serde(rename = "employeeNo")]
    pub employee_no: String,
    pub name: String,
    #[serde(rename = "userType")]
    pub user_type: &'static str,
    #[serde(rename = "Valid")]
    pub valid: Validity,
    #[serde(rename = "doorRight")]
    pub door_right: &'static str,
    #[serde(rename = "RightPlan")]
    pub right_plan: Vec<RightPlan>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Validity {
    pub enable: bool,
    /// Local time without an offset (`2026-01-01T00:00:00`).
    #[serde(rename = "beginTime")]
    pub begin_time: String,
    #[serde(rename = "endTime")]
    pub end_time: String,
    #[serde(rename = "timeType")]
    pub time_type: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RightPlan {
    #[serde(rename = "doorNo")]
    pub door_no: u32,
    #[serde(rename = "planTemplateNo")]
    pub plan_template_no: &'static str,
}

/// A raw answer.
struct Raw {
    status: u16,
    bytes: Vec<u8>,
}

struct Payload {
    content_type: String,
    bytes: Vec<u8>,
}

/// The client of one terminal. Cheap to build; keep one per job run so the Digest challenge
/// is reused across its calls.
pub struct IsapiClient {
    http: reqwest::Client,
    base: String,
    username: String,
    password: String,
    challenge: Mutex<Option<WwwAuthenticateHeader>>,
}

impl std::fmt::Debug for IsapiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IsapiClient")
            .field("base", &self.base)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn method_of(m: &Method) -> HttpMethod<'static> {
    HttpMethod::from(m.as_str().to_owned())
}

fn net_error(e: reqwest::Error) -> IsapiError {
    if e.is_timeout() {
        IsapiError::Timeout
    } else {
        IsapiError::Network(e.without_url().to_string())
    }
}

impl IsapiClient {
    /// A client of the terminal at `base_url` (`http://192.168.1.64`, no path needed).
    pub fn new(
        base_url: &str,
        username: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<Self, IsapiError> {
        // Err means a crypto provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .user_agent(concat!("faceid-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| IsapiError::Network(e.without_url().to_string()))?;
        Ok(Self {
            http,
            base: base_url.trim().trim_end_matches('/').to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            challenge: Mutex::new(None),
        })
    }

    /// The answer to the kept challenge for this request, if there is one.
    async fn authorization(&self, method: &Method, uri: &str) -> Option<String> {
        let mut guard = self.challenge.lock().await;
        let ch = guard.as_mut()?;
        let ctx = AuthContext::new_with_method(
            self.username.as_str(),
            self.password.as_str(),
            uri,
            None::<&[u8]>,
            method_of(method),
        );
        ch.respond(&ctx).ok().map(|h| h.to_header_string())
    }

    /// Sends a request with Digest auth; answers any status but 401.
    async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Payload>,
    ) -> Result<Raw, IsapiError> {
        let resp = self.respond(method, uri, body, None).await?;
        let status = resp.status().as_u16();
        let bytes = read_limited(resp).await?;
        Ok(Raw { status, bytes })
    }

    /// The alert stream (`GET /ISAPI/Event/notification/alertStream`, integrations.md §1.5):
    /// the open answer, read part by part with [`AlertStream::next_json`]. The client's
    /// request timeout does not apply (the answer never ends); `idle` bounds each read.
    pub async fn alert_stream(&self) -> Result<AlertStream, IsapiError> {
        let resp = self
            .respond(
                Method::GET,
                "/ISAPI/Event/notification/alertStream",
                None,
                Some(Duration::from_secs(7 * 86_400)),
            )
            .await?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(IsapiError::Http { status });
        }
        let boundary = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| {
                ct.split(';')
                    .filter_map(|p| p.trim().strip_prefix("boundary="))
                    .next()
                    .map(|b| b.trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| "MIME_boundary".to_owned());
        Ok(AlertStream {
            resp,
            delimiter: format!("--{boundary}").into_bytes(),
            buf: Vec::new(),
        })
    }

    /// Sends a request with Digest auth; answers the response of any status but 401, its
    /// body unread. `timeout` replaces the client's for this request.
    async fn respond(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Payload>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, IsapiError> {
        for _ in 0..3 {
            let auth = self.authorization(&method, uri).await;
            let mut req = self
                .http
                .request(method.clone(), format!("{}{uri}", self.base));
            if let Some(t) = timeout {
                req = req.timeout(t);
            }
            if let Some(a) = &auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            if let Some(b) = body {
                req = req
                    .header(header::CONTENT_TYPE, &b.content_type)
                    .body(b.bytes.clone());
            }
            let resp = req.send().await.map_err(net_error)?;
            if resp.status().as_u16() != 401 {
                return Ok(resp);
            }
            // The 401 body is XML whatever was asked: never decoded.
            let challenge = resp
                .headers()
                .get_all(header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v: &HeaderValue| v.to_str().ok())
                .find(|v| v.trim_start().to_ascii_lowercase().starts_with("digest"))
                .and_then(|v| digest_auth::parse(v).ok());
            let Some(challenge) = challenge else {
                return Err(IsapiError::Unauthorized);
            };
            let retry = auth.is_none() || challenge.stale;
            *self.challenge.lock().await = Some(challenge);
            if !retry {
                return Err(IsapiError::Unauthorized);
            }
        }
        Err(IsapiError::Unauthorized)
    }

    /// A JSON call: success only for a 2xx answer whose envelope (if any) says `statusCode 1`.
    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        uri: &str,
        body: Option<Payload>,
    ) -> Result<T, IsapiError> {
        let raw = self.send(method, uri, body.as_ref()).await?;
        let value: Result<Value, _> = serde_json::from_slice(&raw.bytes);
        if !(200..300).contains(&raw.status) {
            let env = value
                .ok()
                .and_then(|v| serde_json::from_value::<Envelope>(v).ok())
                .unwrap_or_default();
            return Err(env
                .error(raw.status)
                .unwrap_or(IsapiError::Http { status: raw.status }));
        }
        let value = value.map_err(|e| IsapiError::Malformed(format!("not JSON: {e}")))?;
        if let Some(err) = serde_json::from_value::<Envelope>(value.clone())
            .ok()
            .and_then(|env| env.error(raw.status))
        {
            return Err(err);
        }
        serde_json::from_value(value).map_err(|e| IsapiError::Malformed(e.to_string()))
    }

    fn json_body(v: &impl Serialize) -> Payload {
        Payload {
            content_type: "application/json".into(),
            bytes: serde_json::to_vec(v).unwrap_or_default(),
        }
    }

    /// An XML call (`deviceInfo`, `System/time`).
    async fn xml(&self, uri: &str) -> Result<String, IsapiError> {
        let raw = self.send(Method::GET, uri, None).await?;
        if !(200..300).contains(&raw.status) {
            return Err(IsapiError::Http { status: raw.status });
        }
        String::from_utf8(raw.bytes).map_err(|_| IsapiError::Malformed("not UTF-8".into()))
    }

    pub async fn device_info(&self) -> Result<DeviceInfo, IsapiError> {
        let xml = self.xml("/ISAPI/System/deviceInfo").await?;
        let info = DeviceInfo {
            device_name: xml_text(&xml, "deviceName"),
            model: xml_text(&xml, "model"),
            serial_number: xml_text(&xml, "serialNumber"),
            firmware_version: xml_text(&xml, "firmwareVersion"),
        };
        if info == DeviceInfo::default() {
            return Err(IsapiError::Malformed("deviceInfo without fields".into()));
        }
        Ok(info)
    }

    /// The terminal's clock (`localTime`, with its offset), and how long the call took (the
    /// clock was read somewhere within it).
    pub async fn local_time(&self) -> Result<(DateTime<FixedOffset>, Duration), IsapiError> {
        let started = Instant::now();
        let xml = self.xml("/ISAPI/System/time").await?;
        let rtt = started.elapsed();
        let text = xml_text(&xml, "localTime")
            .ok_or_else(|| IsapiError::Malformed("System/time without localTime".into()))?;
        let t = DateTime::parse_from_rfc3339(&text)
            .map_err(|_| IsapiError::Malformed(format!("localTime {text:?}")))?;
        Ok((t, rtt))
    }

    pub async fn acs_events(&self, cond: &AcsEventCond) -> Result<AcsEventPage, IsapiError> {
        #[derive(Deserialize)]
        struct Wrapper {
            #[serde(rename = "AcsEvent")]
            acs_event: AcsEventPage,
        }
        let w: Wrapper = self
            .json(
                Method::POST,
                "/ISAPI/AccessControl/AcsEvent?format=json",
                Some(Self::json_body(
                    &serde_json::json!({ "AcsEventCond": cond }),
                )),
            )
            .await?;
        Ok(w.acs_event)
    }

    pub async fn user_record(&self, user: &UserInfo) -> Result<(), IsapiError> {
        self.json::<Value>(
            Method::POST,
            "/ISAPI/AccessControl/UserInfo/Record?format=json",
            Some(Self::json_body(&serde_json::json!({ "UserInfo": user }))),
        )
        .await
        .map(drop)
    }

    pub async fn user_modify(&self, user: &UserInfo) -> Result<(), IsapiError> {
        self.json::<Value>(
            Method::PUT,
            "/ISAPI/AccessControl/UserInfo/Modify?format=json",
            Some(Self::json_body(&serde_json::json!({ "UserInfo": user }))),
        )
        .await
        .map(drop)
    }

    pub async fn user_delete(&self, employee_no: &str) -> Result<(), IsapiError> {
        self.json::<Value>(
            Method::PUT,
            "/ISAPI/AccessControl/UserInfo/Delete?format=json",
            Some(Self::json_body(&serde_json::json!({
                "UserInfoDelCond": {"EmployeeNoList": [{"employeeNo": employee_no}]}
            }))),
        )
        .await
        .map(drop)
    }

    fn face_form(employee_no: &str, jpeg: &[u8]) -> Payload {
        let boundary = format!("faceid{}", uuid::Uuid::new_v4().simple());
        let meta = serde_json::json!({"faceLibType": "blackFD", "FDID": "1", "FPID": employee_no});
        let mut body = Vec::with_capacity(jpeg.len() + 512);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"FaceDataRecord\"\r\n\
                 Content-Type: application/json\r\n\r\n{meta}\r\n--{boundary}\r\n\
                 Content-Disposition: form-data; name=\"FaceImage\"; filename=\"face.jpg\"\r\n\
                 Content-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(jpeg);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Payload {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            bytes: body,
        }
    }

    /// Adds the face of `employee_no` (the user must exist).
    pub async fn face_record(&self, employee_no: &str, jpeg: &[u8]) -> Result<(), IsapiError> {
        self.json::<Value>(
            Method::POST,
            "/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json",
            Some(Self::face_form(employee_no, jpeg)),
        )
        .await
        .map(drop)
    }

    /// Adds or replaces the face of `employee_no` (PUT: some models refuse POST).
    pub async fn face_setup(&self, employee_no: &str, jpeg: &[u8]) -> Result<(), IsapiError> {
        self.json::<Value>(
            Method::PUT,
            "/ISAPI/Intelligent/FDLib/FDSetUp?format=json",
            Some(Self::face_form(employee_no, jpeg)),
        )
        .await
        .map(drop)
    }

    /// Deletes the face of `employee_no` from library 1.
    pub async fn face_delete(&self, employee_no: &str) -> Result<(), IsapiError> {
        self.json::<Value>(
            Method::PUT,
            "/ISAPI/Intelligent/FDLib/FDSearch/Delete?format=json&FDID=1&faceLibType=blackFD",
            Some(Self::json_body(
                &serde_json::json!({"FPID": [{"value": employee_no}]}),
            )),
        )
        .await
        .map(drop)
    }

    /// An event picture. The URL's path is fetched from the configured address (the terminal
    /// may report an address we cannot reach, and nothing else is ever fetched); `None` when
    /// the terminal no longer has it (404).
    pub async fn picture(&self, picture_url: &str) -> Result<Option<Vec<u8>>, IsapiError> {
        let path = picture_path(picture_url)
            .ok_or_else(|| IsapiError::Malformed(format!("pictureURL {picture_url:?}")))?;
        let raw = self.send(Method::GET, &path, None).await?;
        match raw.status {
            404 => Ok(None),
            200..=299 if !raw.bytes.is_empty() => Ok(Some(raw.bytes)),
            200..=299 => Ok(None),
            s => Err(IsapiError::Http { status: s }),
        }
    }
}

/// An open alert stream: `multipart/mixed` parts, each with its headers and usually a
/// `Content-Length`, separated by `--<boundary>`.
pub struct AlertStream {
    resp: reqwest::Response,
    delimiter: Vec<u8>,
    buf: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

impl AlertStream {
    /// The next JSON part (pictures and other parts are skipped); `None` when the terminal
    /// ends the stream. A read that waits longer than `idle` (heartbeats stopped) is a
    /// [`IsapiError::Timeout`]; a part cut off by a dropped connection is never answered.
    pub async fn next_json(&mut self, idle: Duration) -> Result<Option<Value>, IsapiError> {
        loop {
            if let Some((content_type, body, used)) = self.complete_part() {
                self.buf.drain(..used);
                let is_json = content_type.contains("json") || body.first() == Some(&b'{');
                if is_json && let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    return Ok(Some(v));
                }
                continue;
            }
            match tokio::time::timeout(idle, self.resp.chunk()).await {
                Err(_) => return Err(IsapiError::Timeout),
                Ok(Err(e)) => return Err(net_error(e)),
                Ok(Ok(None)) => return Ok(None),
                Ok(Ok(Some(chunk))) => {
                    if self.buf.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(IsapiError::Malformed("alert stream part too large".into()));
                    }
                    self.buf.extend_from_slice(&chunk);
                }
            }
        }
    }

    /// The first complete part in the buffer: (content type, body, bytes it used).
    fn complete_part(&self) -> Option<(String, Vec<u8>, usize)> {
        let start = find(&self.buf, &self.delimiter, 0)?;
        let headers_at = start + self.delimiter.len();
        let headers_end = find(&self.buf, b"\r\n\r\n", headers_at)?;
        let headers = String::from_utf8_lossy(&self.buf[headers_at..headers_end]).to_string();
        let mut content_type = String::new();
        let mut length: Option<usize> = None;
        for line in headers.lines() {
            if let Some((k, v)) = line.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-type" => content_type = v.trim().to_ascii_lowercase(),
                    "content-length" => length = v.trim().parse().ok(),
                    _ => {}
                }
            }
        }
        let body_at = headers_end + 4;
        let body_end = match length {
            Some(n) => (self.buf.len() >= body_at + n).then_some(body_at + n)?,
            None => find(&self.buf, &self.delimiter, body_at)?,
        };
        let body = self.buf[body_at..body_end].trim_ascii().to_vec();
        Some((content_type, body, body_end))
    }
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, IsapiError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(net_error)? {
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(IsapiError::Malformed("answer too large".into()));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The path and query of a picture URL, absolute (`http://10.0.0.5/LOCALS/pic/1.jpg`) or
/// relative (`/LOCALS/pic/1.jpg`).
pub fn picture_path(url: &str) -> Option<String> {
    let url = url.trim();
    let path = if let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    {
        &rest[rest.find('/')?..]
    } else if url.starts_with('/') {
        url
    } else {
        return None;
    };
    (!path.contains(['\r', '\n', ' ', '#']) && !path.starts_with("//")).then(|| path.to_owned())
}

/// The text of the first element named `tag`, whatever its namespace prefix.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>')?;
        let head = &rest[..end];
        let name = head.split_whitespace().next().unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        if local == tag && !head.ends_with('/') && !name.starts_with('/') {
            let body = &rest[end + 1..];
            let close = body.find("</")?;
            return Some(unescape(body[..close].trim()));
        }
        rest = &rest[end + 1..];
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_fields_are_read_whatever_the_namespace() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<deviceName>Door &amp; gate</deviceName><hik:model>DS-K1T341AM</hik:model>
<serialNumber>DS-K1T341AM20210101AAWR</serialNumber><firmwareVersion>V3.2.30</firmwareVersion>
<empty/></DeviceInfo>"#;
        assert_eq!(xml_text(xml, "deviceName").as_deref(), Some("Door & gate"));
        assert_eq!(xml_text(xml, "model").as_deref(), Some("DS-K1T341AM"));
        assert_eq!(xml_text(xml, "firmwareVersion").as_deref(), Some("V3.2.30"));
        assert_eq!(xml_text(xml, "macAddress"), None);
        assert_eq!(xml_text(xml, "empty"), None);
    }

    #[test]
    fn picture_paths_keep_only_the_path() {
        assert_eq!(
            picture_path("http://192.168.1.101/LOCALS/pic/acsLinkCap/1.jpg?x=1").as_deref(),
            Some("/LOCALS/pic/acsLinkCap/1.jpg?x=1")
        );
        assert_eq!(
            picture_path("/LOCALS/pic/2.jpg").as_deref(),
            Some("/LOCALS/pic/2.jpg")
        );
        assert_eq!(picture_path("ftp://x/y"), None);
        assert_eq!(picture_path("http://evil.example"), None);
        assert_eq!(picture_path("//evil.example/x"), None);
    }

    #[test]
    fn the_envelope_is_an_error_only_when_status_code_is_not_one() {
        let ok: Envelope =
            serde_json::from_str(r#"{"statusCode":1,"statusString":"OK","subStatusCode":"ok"}"#)
                .unwrap();
        assert_eq!(ok.error(200), None);
        let bad: Envelope = serde_json::from_str(
            r#"{"statusCode":6,"statusString":"Invalid Content","subStatusCode":"MessageParametersLack","errorMsg":"major"}"#,
        )
        .unwrap();
        assert_eq!(
            bad.error(400),
            Some(IsapiError::Isapi {
                http: 400,
                status_code: 6,
                sub_status: "MessageParametersLack".into(),
                message: "major".into()
            })
        );
        assert_eq!(Envelope::default().error(200), None);
    }
}
