//! The iikoServer `/resto/api` client (integrations.md §2.1–2.4).
//!
//! Auth: `POST /resto/api/auth` with the login and the lower-case hex SHA-1 of the password,
//! sent in the form body **and** the query string (one 9.4 stand refused query-only auth with
//! a 500 `@FormParam`). The token is sent as `?key=` on every call. Each token holds one of the
//! customer's API licence slots, so every run goes through [`IikoClient::run`], which logs out
//! at the end whatever the work answered. A 401 during a run (idle timeout, a server restart)
//! is answered by one fresh login and one retry.
//!
//! Errors are `text/plain` (409 carries text meant for the user); a `text/html` body is a proxy
//! or configuration problem, not an API answer. "No connections available" (a 403 while every
//! licence slot is taken) is [`IikoError::NoLicence`], a state that is retried later.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use reqwest::header;
use sha1::{Digest, Sha1};

/// Largest answer read (300 employees are ~1 MB of XML).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IikoError {
    #[error("iikoServer unreachable: {0}")]
    Network(String),
    #[error("iikoServer did not answer in time")]
    Timeout,
    /// The login or password was refused, or a fresh token was refused at once.
    #[error("iikoServer refused the credentials: {0}")]
    Unauthorized(String),
    /// Every API licence slot is taken (403 "no connections available"): retried later.
    #[error("no iikoServer licence slot free: {0}")]
    NoLicence(String),
    /// Another 403: the module is blocked by the licence or the user lacks a permission.
    #[error("iikoServer forbids this: {0}")]
    Forbidden(String),
    /// 400, 404 and other 4xx with iiko's text.
    #[error("iikoServer refused the request (HTTP {status}): {text}")]
    Refused { status: u16, text: String },
    /// 409: a business rule (an overlapping attendance), with text meant for the user.
    #[error("iikoServer conflict: {0}")]
    Conflict(String),
    /// 5xx with iiko's text.
    #[error("iikoServer failed (HTTP {status}): {text}")]
    Server { status: u16, text: String },
    /// A `text/html` page: a proxy, a wrong URL or an empty Tomcat, not iiko.
    #[error("not an iikoServer answer (HTTP {status}, an HTML page): check the server URL")]
    Html { status: u16 },
    #[error("malformed iikoServer answer: {0}")]
    Malformed(String),
}

impl IikoError {
    /// Worth trying again later (the server, the network or the licence slots may recover).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::Network(_)
                | Self::Timeout
                | Self::NoLicence(_)
                | Self::Server { .. }
                | Self::Html { .. }
        )
    }

    /// A short stable name for the log and the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Network(_) => "network",
            Self::Timeout => "timeout",
            Self::Unauthorized(_) => "unauthorized",
            Self::NoLicence(_) => "no_licence",
            Self::Forbidden(_) => "forbidden",
            Self::Refused { .. } => "refused",
            Self::Conflict(_) => "conflict",
            Self::Server { .. } => "server_error",
            Self::Html { .. } => "html_page",
            Self::Malformed(_) => "malformed",
        }
    }
}

/// The lower-case hex SHA-1 of the UTF-8 password, as `/resto/api/auth` expects.
pub fn password_hash(password: &str) -> String {
    hex::encode(Sha1::digest(password.as_bytes()))
}

/// One element of a list answer: each child element's text, by the child's name. A child
/// that repeats (`<roleCodes>A</roleCodes><roleCodes>B</roleCodes>`) or nests its values
/// (`<roleCodes><string>A</string><string>B</string></roleCodes>`) gives several values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record(pub BTreeMap<String, Vec<String>>);

impl Record {
    /// The first value of a field, if not empty.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .get(field)
            .and_then(|v| v.first())
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
    pub fn all(&self, field: &str) -> &[String] {
        self.0.get(field).map(Vec::as_slice).unwrap_or_default()
    }
    /// `true`/`false` fields; absent is `None`.
    pub fn flag(&self, field: &str) -> Option<bool> {
        self.get(field).map(|v| v.eq_ignore_ascii_case("true"))
    }
    /// An iiko datetime (`2017-09-21T09:02:00+03:00`, milliseconds optional); one without an
    /// offset is read at `default_offset`.
    pub fn time(&self, field: &str, default_offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
        parse_time(self.get(field)?, default_offset)
    }
}

pub fn parse_time(s: &str, default_offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()?
            .and_local_timezone(default_offset)
            .single()
    })
}

/// Every `<tag>` element of `xml`, wherever it is, as a [`Record`].
pub fn records(xml: &str, tag: &str) -> Result<Vec<Record>, IikoError> {
    use quick_xml::events::Event;
    // Not trimmed by the reader: `a &amp; b` comes as three events; each value is trimmed.
    let mut reader = quick_xml::Reader::from_str(xml);
    let bad = |e: &dyn std::fmt::Display| IikoError::Malformed(format!("XML: {e}"));
    let mut out = Vec::new();
    let mut depth = 0usize;
    // (the record, its depth)
    let mut current: Option<(Record, usize)> = None;
    let mut field: Option<String> = None;
    let mut text = String::new();
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Event::Start(e) => {
                depth += 1;
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                match &current {
                    None if name == tag => current = Some((Record::default(), depth)),
                    Some((_, d)) if depth == d + 1 => {
                        field = Some(name);
                        text.clear();
                    }
                    _ => text.clear(),
                }
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if current.is_none() && name == tag {
                    out.push(Record::default());
                }
            }
            Event::Text(t) => text.push_str(&t.xml_content().map_err(|e| bad(&e))?),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| bad(&e))? {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| bad(&e))?;
                    text.push_str(
                        quick_xml::escape::resolve_predefined_entity(&name).unwrap_or_default(),
                    );
                }
            }
            Event::End(_) => {
                if let Some((rec, d)) = &mut current {
                    if depth == *d {
                        let (rec, _) = current.take().unwrap_or_default();
                        out.push(rec);
                    } else if let Some(f) = &field {
                        let value = text.trim();
                        if !value.is_empty() {
                            rec.0.entry(f.clone()).or_default().push(value.to_owned());
                        } else if depth == *d + 1 {
                            rec.0.entry(f.clone()).or_default();
                        }
                        text.clear();
                        if depth == *d + 1 {
                            field = None;
                        }
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Connection {
    /// `https://host:port` (without `/resto`).
    pub server_url: String,
    pub login: String,
    pub password: String,
    pub timeout: Duration,
}

/// One session with iikoServer. Use [`IikoClient::run`]: it logs out whatever happens.
pub struct IikoClient {
    http: reqwest::Client,
    base: String,
    login: String,
    pass_hash: String,
    token: Option<String>,
    /// Logins made in this run (for the log; more than one means a 401 was recovered).
    pub logins: u32,
}

impl IikoClient {
    pub fn new(conn: &Connection) -> Result<Self, IikoError> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(conn.timeout)
            .connect_timeout(conn.timeout)
            .build()
            .map_err(|e| IikoError::Network(e.to_string()))?;
        Ok(Self {
            http,
            base: conn.server_url.trim_end_matches('/').to_owned(),
            login: conn.login.clone(),
            pass_hash: password_hash(&conn.password),
            token: None,
            logins: 0,
        })
    }

    /// Logs in, runs `work`, and logs out, also when `work` failed, so the customer's
    /// licence slot is freed. A failed logout is logged and does not hide `work`'s answer.
    pub async fn run<T>(
        conn: &Connection,
        work: impl AsyncFnOnce(&mut IikoClient) -> Result<T, IikoError>,
    ) -> Result<T, IikoError> {
        let mut client = Self::new(conn)?;
        let result = match client.login().await {
            Ok(()) => work(&mut client).await,
            Err(e) => Err(e),
        };
        if let Err(e) = client.logout().await {
            tracing::warn!(error = %e, "iikoServer logout failed");
        }
        result
    }

    async fn login(&mut self) -> Result<(), IikoError> {
        let form = encode(&[("login", &self.login), ("pass", &self.pass_hash)]);
        let resp = self
            .http
            .post(format!("{}/resto/api/auth?{form}", self.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(transport)?;
        let token = match answer(resp).await {
            Ok(t) => t.trim().to_owned(),
            Err(IikoError::Refused { status: 401, text }) => {
                return Err(IikoError::Unauthorized(text));
            }
            Err(e) => return Err(e),
        };
        if token.is_empty() || token.len() > 200 || token.contains(char::is_whitespace) {
            return Err(IikoError::Malformed(
                "the auth answer is not a token".into(),
            ));
        }
        self.token = Some(token);
        self.logins += 1;
        Ok(())
    }

    /// Frees the licence slot (no-op without a token).
    async fn logout(&mut self) -> Result<(), IikoError> {
        let Some(token) = self.token.take() else {
            return Ok(());
        };
        let resp = self
            .http
            .get(format!(
                "{}/resto/api/logout?{}",
                self.base,
                encode(&[("key", &token)])
            ))
            .send()
            .await
            .map_err(transport)?;
        answer(resp).await.map(drop)
    }

    /// One call with the token; a 401 is answered by one fresh login and one retry.
    async fn call(
        &mut self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        xml_body: Option<&str>,
    ) -> Result<String, IikoError> {
        for attempt in 0..2 {
            if self.token.is_none() {
                self.login().await?;
            }
            let token = self.token.clone().unwrap_or_default();
            let mut pairs = query.to_vec();
            pairs.push(("key", &token));
            let url = format!("{}/resto/api{path}?{}", self.base, encode(&pairs));
            let mut req = self.http.request(method.clone(), url);
            if let Some(body) = xml_body {
                req = req
                    .header(header::CONTENT_TYPE, "application/xml; charset=utf-8")
                    .body(body.to_owned());
            }
            match answer(req.send().await.map_err(transport)?).await {
                Err(IikoError::Refused { status: 401, text }) => {
                    // The token expired or the server restarted: it holds no slot any more.
                    self.token = None;
                    if attempt == 1 {
                        return Err(IikoError::Unauthorized(text));
                    }
                }
                other => return other,
            }
        }
        unreachable!("the loop returns")
    }

    pub async fn get(&mut self, path: &str, query: &[(&str, &str)]) -> Result<String, IikoError> {
        self.call(reqwest::Method::GET, path, query, None).await
    }

    pub async fn post_xml(&mut self, path: &str, body: &str) -> Result<String, IikoError> {
        self.call(reqwest::Method::POST, path, &[], Some(body))
            .await
    }

    pub async fn delete(&mut self, path: &str) -> Result<String, IikoError> {
        self.call(reqwest::Method::DELETE, path, &[], None).await
    }

    /// `GET /employees?includeDeleted=true`: every account, system ones and deleted ones too.
    pub async fn employees(&mut self) -> Result<Vec<Record>, IikoError> {
        let xml = self
            .get("/employees", &[("includeDeleted", "true")])
            .await?;
        records(&xml, "employee")
    }

    /// `GET /employees/roles`.
    pub async fn roles(&mut self) -> Result<Vec<Record>, IikoError> {
        let xml = self.get("/employees/roles", &[]).await?;
        records(&xml, "role")
    }
}

/// `a=1&b=2`, form-encoded.
fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn transport(e: reqwest::Error) -> IikoError {
    if e.is_timeout() {
        IikoError::Timeout
    } else {
        IikoError::Network(e.to_string())
    }
}

/// The body of a 2xx answer, or the error its status and text mean.
async fn answer(resp: reqwest::Response) -> Result<String, IikoError> {
    let status = resp.status().as_u16();
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    let bytes = resp.bytes().await.map_err(transport)?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(IikoError::Malformed(format!(
            "answer of {} bytes",
            bytes.len()
        )));
    }
    if html {
        return Err(IikoError::Html { status });
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let short: String = text.trim().chars().take(500).collect();
    match status {
        200..=299 => Ok(text),
        403 if short
            .to_ascii_lowercase()
            .contains("no connections available") =>
        {
            Err(IikoError::NoLicence(short))
        }
        403 => Err(IikoError::Forbidden(short)),
        409 => Err(IikoError::Conflict(short)),
        400..=499 => Err(IikoError::Refused {
            status,
            text: short,
        }),
        _ => Err(IikoError::Server {
            status,
            text: short,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_is_the_documented_sha1() {
        assert_eq!(
            password_hash("resto#test"),
            "2155245b2c002a1986d3f384af93be813537a476"
        );
    }

    #[test]
    fn records_read_both_list_shapes_entities_and_empty_fields() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><employees>
          <employee><id>a</id><name>Ivanov &amp; Co</name><roleCodes>BAR</roleCodes>
            <roleCodes>COOK</roleCodes><comment/><deleted>false</deleted></employee>
          <employee><id>b</id><roleCodes><string>WAIT</string><string>BAR</string></roleCodes>
            <publicExternalData><entry><key>k</key><value>v</value></entry></publicExternalData>
          </employee></employees>"#;
        let r = records(xml, "employee").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].get("name"), Some("Ivanov & Co"));
        assert_eq!(r[0].all("roleCodes"), ["BAR", "COOK"]);
        assert_eq!(r[0].get("comment"), None);
        assert_eq!(r[0].flag("deleted"), Some(false));
        assert_eq!(r[1].all("roleCodes"), ["WAIT", "BAR"]);
        assert_eq!(r[1].all("publicExternalData"), ["k", "v"]);
    }

    #[test]
    fn times_with_and_without_offsets() {
        let msk = FixedOffset::east_opt(3 * 3600).unwrap();
        let a = parse_time("2017-09-21T10:27:53.987+03:00", msk).unwrap();
        let b = parse_time("2017-09-21T10:27:53.987", msk).unwrap();
        assert_eq!(a, b);
        assert!(parse_time("21.09.2017", msk).is_none());
    }
}
