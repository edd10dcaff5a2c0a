//! A fake Hikvision face terminal (integrations.md §1.7), served by axum on a loopback port so
//! the production ISAPI client talks to it over HTTP exactly as to a DS-K1T:
//!
//! * Digest auth (MD5, `qop="auth"`, `opaque=""`, realm `DS-FAKE0001`) on every `/ISAPI/*`
//!   route and on pictures, checked with the `digest_auth` crate; nonces rotate (each is good
//!   for [`Inner::nonce_uses`] requests, then it is answered `stale="true"`); bad hashes are
//!   counted and after [`Inner::lockout_after`] in a row every request gets 401 (lock-out).
//!   The 401 body is XML `userCheck`, as real terminals send.
//! * `System/deviceInfo` and `System/time` (XML; the clock can be skewed, the zone is +03:00).
//! * `AccessControl/AcsEvent`: filters on major/minor (0 = all), start/end time (instants,
//!   with a `strict` switch refusing a time without an offset), employeeNoString and
//!   begin/endSerialNo; a hard page cap whatever `maxResults` says; `MORE` / `OK` /
//!   `NO MATCH` (no `InfoList` then); 400 `MessageParametersLack` without `major`.
//! * Events appended by the tests ([`FakeHikvision::push`] or `POST /fake/events`), with
//!   `pictureURL` on an address nobody can reach (the client must use its configured one);
//!   `GET /LOCALS/pic/<serial>.jpg` answers a JPEG or an injected 404.
//! * `UserInfo/Record|Modify|SetUp|Search|Delete|Count` with `employeeNoAlreadyExist`;
//!   `FDLib/FaceDataRecord` (multipart: JSON part + JPEG part; no user → error, duplicate
//!   face → error), `FDSetUp` (PUT upserts, POST → `methodNotAllowed`), `FDSearch`,
//!   `FDSearch/Delete`. `UserInfo/Delete` leaves the face behind (the worst case).
//! * `AccessControl` and `Intelligent` endpoints without `?format=json` answer an XML
//!   `badXmlFormat` (they speak XML unless asked for JSON).
//! * Faults: down (503), the next N answers 500 or malformed JSON, latency, a lying
//!   `totalMatches` (and `MORE` forever), a skewed clock.
#![allow(dead_code, clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use chrono::{DateTime, FixedOffset, NaiveDateTime, SubsecRound, Utc};
use serde_json::{Value, json};

pub const USERNAME: &str = "admin";
pub const PASSWORD: &str = "Terminal-pass1";
pub const REALM: &str = "DS-FAKE0001";
/// The terminal's time zone (UTC+3).
pub const TZ_OFFSET_S: i32 = 3 * 3600;

/// Test faces: face pass, face fail, stranger, card pass, door opened.
pub const FACE_PASS: i64 = 75;
pub const FACE_FAIL: i64 = 76;
pub const STRANGER: i64 = 80;
pub const CARD_PASS: i64 = 1;
pub const DOOR_OPEN: i64 = 21;

pub struct Inner {
    pub nonces: HashMap<String, u32>,
    /// Requests one nonce is good for before it is stale.
    pub nonce_uses: u32,
    pub consecutive_failures: u32,
    pub auth_failures_total: u32,
    pub stale_answers: u32,
    pub lockout_after: u32,
    pub locked: bool,
    /// The `algorithm` the challenge offers (`None`: left out, which means MD5; or
    /// `"SHA-256"` as some firmware offers, integrations.md §1.0); answers must use it.
    pub algorithm: Option<&'static str>,
    /// Answers accepted per algorithm they used (e.g. `"SHA-256"`).
    pub answers_by_algorithm: HashMap<String, u32>,
    pub events: Vec<Value>,
    /// What a search filters on, one per event (so a search does not re-read every JSON item).
    pub event_keys: Vec<EvKey>,
    pub next_serial: i64,
    pub page_cap: usize,
    pub strict_time: bool,
    /// Firmware that refuses `beginSerialNo`/`endSerialNo` (`badJsonContent`), so only time
    /// windows page; refusals counted.
    pub refuse_serial_window: bool,
    pub serial_window_refusals: u32,
    pub users: BTreeMap<String, Value>,
    pub faces: BTreeMap<String, Vec<u8>>,
    pub missing_pictures: HashSet<i64>,
    pub down: bool,
    pub fail_next: u32,
    pub malformed_next: u32,
    pub lying_total: bool,
    pub latency: Duration,
    pub clock_skew_s: i64,
    /// Open alert streams (each part is sent to all; cut by dropping them).
    pub streams: Vec<tokio::sync::mpsc::UnboundedSender<Bytes>>,
    pub stream_opens: u32,
    /// Every request: (method, path, status).
    pub calls: Vec<(String, String, u16)>,
    /// The largest `InfoList` answered.
    pub largest_page: usize,
}

/// The searchable fields of one stored event (`major` is always 5).
#[derive(Debug, Clone)]
pub struct EvKey {
    pub serial: i64,
    pub minor: i64,
    pub employee_no: Option<String>,
    pub time: DateTime<Utc>,
}

/// The running fake; clone freely.
#[derive(Clone)]
pub struct FakeHikvision {
    pub inner: Arc<Mutex<Inner>>,
    pub url: String,
}

/// One event to append.
#[derive(Debug, Clone)]
pub struct Ev {
    pub minor: i64,
    pub employee_no: Option<String>,
    pub time: DateTime<Utc>,
    pub picture: bool,
}

impl Ev {
    pub fn new(minor: i64, employee_no: Option<&str>, time: DateTime<Utc>) -> Self {
        Self {
            minor,
            employee_no: employee_no.map(str::to_owned),
            time,
            picture: true,
        }
    }
}

/// A small JPEG, the picture of every event.
pub fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 128]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    out
}

fn tz() -> FixedOffset {
    FixedOffset::east_opt(TZ_OFFSET_S).unwrap()
}

fn envelope(http: StatusCode, code: i64, status: &str, sub: &str, msg: Option<&str>) -> Response {
    let mut body = json!({"statusCode": code, "statusString": status, "subStatusCode": sub});
    if let Some(m) = msg {
        body["errorMsg"] = json!(m);
    }
    (
        http,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok() -> Response {
    envelope(StatusCode::OK, 1, "OK", "ok", None)
}

fn json_answer(v: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

impl FakeHikvision {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            nonces: HashMap::new(),
            nonce_uses: 7,
            consecutive_failures: 0,
            auth_failures_total: 0,
            stale_answers: 0,
            lockout_after: 5,
            locked: false,
            algorithm: None,
            answers_by_algorithm: HashMap::new(),
            events: Vec::new(),
            event_keys: Vec::new(),
            next_serial: 1,
            page_cap: 30,
            strict_time: true,
            refuse_serial_window: false,
            serial_window_refusals: 0,
            users: BTreeMap::new(),
            faces: BTreeMap::new(),
            missing_pictures: HashSet::new(),
            down: false,
            fail_next: 0,
            malformed_next: 0,
            lying_total: false,
            latency: Duration::ZERO,
            clock_skew_s: 0,
            streams: Vec::new(),
            stream_opens: 0,
            calls: Vec::new(),
            largest_page: 0,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeHikvision { inner, url };
        let app = Router::new().fallback(any(handle)).with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        fake
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap())
    }

    /// Appends events with rising serial numbers; answers their serials.
    pub fn push(&self, evs: &[Ev]) -> Vec<i64> {
        self.with(|s| {
            evs.iter()
                .map(|e| {
                    let serial = s.next_serial;
                    s.next_serial += 1;
                    let mut v = json!({
                        "major": 5, "minor": e.minor,
                        "time": e.time.with_timezone(&tz()).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                        "cardType": 1, "cardReaderNo": 1, "doorNo": 1, "serialNo": serial,
                        "type": 0, "mask": "unknown",
                        "currentVerifyMode": if e.employee_no.is_some() { "cardOrFace" } else { "invalid" },
                    });
                    if let Some(n) = &e.employee_no {
                        v["employeeNoString"] = json!(n);
                        v["name"] = json!(format!("Person {n}"));
                        v["userType"] = json!("normal");
                    }
                    if e.picture && e.employee_no.is_some() {
                        v["pictureURL"] = json!(format!("http://192.0.2.10/LOCALS/pic/{serial}.jpg"));
                    }
                    // The alert stream's push form of the same event (§1.5: other names).
                    let mut pushed = json!({"majorEventType": 5, "subEventType": e.minor,
                        "serialNo": serial, "currentVerifyMode": v["currentVerifyMode"]});
                    if let Some(n) = &e.employee_no {
                        pushed["employeeNoString"] = json!(n);
                    }
                    let part = stream_part(&json!({"ipAddress": "192.0.2.10", "dateTime": v["time"],
                        "activePostCount": 1, "eventType": "AccessControllerEvent",
                        "eventState": "active", "AccessControllerEvent": pushed}));
                    s.streams.retain(|tx| tx.send(part.clone()).is_ok());
                    s.events.push(v);
                    s.event_keys.push(EvKey {
                        serial,
                        minor: e.minor,
                        employee_no: e.employee_no.clone(),
                        // The item's time has whole seconds; the search compares that.
                        time: e.time.trunc_subsecs(0),
                    });
                    serial
                })
                .collect()
        })
    }

    /// Cuts every open alert stream in the middle of a part.
    pub fn cut_streams(&self) {
        self.with(|s| {
            for tx in s.streams.drain(..) {
                let _ = tx.send(Bytes::from_static(
                    b"--MIME_boundary\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"AccessControllerEvent\": {\"serialNo\"",
                ));
            }
        })
    }

    /// Skips `n` serial numbers (events the terminal lost).
    pub fn skip_serials(&self, n: i64) {
        self.with(|s| s.next_serial += n);
    }

    pub fn calls_to(&self, path_prefix: &str) -> usize {
        self.with(|s| {
            s.calls
                .iter()
                .filter(|(_, p, _)| p.starts_with(path_prefix))
                .count()
        })
    }

    pub fn user(&self, no: &str) -> Option<Value> {
        self.with(|s| s.users.get(no).cloned())
    }

    pub fn has_face(&self, no: &str) -> bool {
        self.with(|s| s.faces.contains_key(no))
    }
}

/// Checks the Digest answer; `Err` is the 401 to send.
fn authenticate(s: &mut Inner, method: &Method, headers: &HeaderMap) -> Result<(), Response> {
    let challenge = |s: &mut Inner, stale: bool| {
        let nonce = format!("{:032x}", rand::random::<u128>());
        s.nonces.insert(nonce.clone(), 0);
        let algorithm = s
            .algorithm
            .map(|a| format!(", algorithm={a}"))
            .unwrap_or_default();
        let www = format!(
            "Digest qop=\"auth\", realm=\"{REALM}\", nonce=\"{nonce}\", stale=\"{stale}\", opaque=\"\", domain=\"::\"{algorithm}"
        );
        (
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, www),
                (header::CONTENT_TYPE, "application/xml".to_owned()),
            ],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<userCheck>\n<statusValue>401</statusValue>\n<statusString>Unauthorized</statusString>\n</userCheck>",
        )
            .into_response()
    };
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(challenge(s, false));
    };
    if s.locked {
        return Err(challenge(s, false));
    }
    let Ok(answer) = digest_auth::AuthorizationHeader::parse(auth) else {
        return Err(challenge(s, false));
    };
    let ctx = digest_auth::AuthContext::new_with_method(
        USERNAME,
        PASSWORD,
        answer.uri.as_str(),
        None::<&[u8]>,
        digest_auth::HttpMethod::from(method.as_str().to_owned()),
    );
    let mut expected = answer.clone();
    expected.digest(&ctx);
    let used = answer.algorithm.to_string();
    let good = answer.username == USERNAME
        && answer.realm == REALM
        && used == s.algorithm.unwrap_or("MD5")
        && expected.response == answer.response;
    if !good {
        s.consecutive_failures += 1;
        s.auth_failures_total += 1;
        if s.consecutive_failures >= s.lockout_after {
            s.locked = true;
        }
        return Err(challenge(s, false));
    }
    let uses = s.nonce_uses;
    match s.nonces.get_mut(&answer.nonce) {
        Some(n) if *n < uses => {
            *n += 1;
            s.consecutive_failures = 0;
            *s.answers_by_algorithm.entry(used).or_default() += 1;
            Ok(())
        }
        _ => {
            s.nonces.remove(&answer.nonce);
            s.stale_answers += 1;
            Err(challenge(s, true))
        }
    }
}

/// One `multipart/mixed` part of the alert stream.
fn stream_part(v: &Value) -> Bytes {
    let body = v.to_string();
    Bytes::from(format!(
        "--MIME_boundary\r\nContent-Type: application/json; charset=\"UTF-8\"\r\nContent-Length: {}\r\n\r\n{body}\r\n",
        body.len()
    ))
}

/// `GET /ISAPI/Event/notification/alertStream`: Digest-checked, then an endless
/// `multipart/mixed` answer: a heartbeat at once and every second, and each event appended.
fn alert_stream(fake: &FakeHikvision, method: &Method, headers: &HeaderMap) -> Response {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    {
        let mut s = fake.inner.lock().unwrap();
        if s.down {
            return (StatusCode::SERVICE_UNAVAILABLE, "terminal down").into_response();
        }
        if let Err(r) = authenticate(&mut s, method, headers) {
            return r;
        }
        s.stream_opens += 1;
        s.streams.push(tx.clone());
    }
    let heartbeat = stream_part(&json!({"ipAddress": "192.0.2.10", "eventType": "heartBeat",
        "eventState": "active", "activePostCount": 0}));
    let _ = tx.send(heartbeat.clone());
    // The heartbeat task holds the channel only weakly: a cut (the fake dropping its
    // senders) ends the answer.
    let weak = tx.downgrade();
    drop(tx);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            match weak.upgrade() {
                Some(tx) if tx.send(heartbeat.clone()).is_ok() => {}
                _ => return,
            }
        }
    });
    let body =
        axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|b| (Ok::<Bytes, std::io::Error>(b), rx))
        }));
    (
        [(
            header::CONTENT_TYPE,
            "multipart/mixed; boundary=MIME_boundary",
        )],
        body,
    )
        .into_response()
}

async fn handle(
    State(fake): State<FakeHikvision>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if path == "/ISAPI/Event/notification/alertStream" && method == Method::GET {
        let resp = alert_stream(&fake, &method, &headers);
        let status = resp.status().as_u16();
        fake.with(|s| s.calls.push((method.to_string(), path, status)));
        return resp;
    }
    let latency = fake.with(|s| s.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let resp = route(&fake, &method, &uri, &path, &headers, &body);
    let status = resp.status().as_u16();
    fake.with(|s| s.calls.push((method.to_string(), path, status)));
    resp
}

fn route(
    fake: &FakeHikvision,
    method: &Method,
    uri: &axum::http::Uri,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut s = fake.inner.lock().unwrap();
    if path == "/fake/events" && method == Method::POST {
        drop(s);
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let evs: Vec<Ev> = v
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| Ev {
                minor: e["minor"].as_i64().unwrap_or(FACE_PASS),
                employee_no: e["employeeNoString"].as_str().map(str::to_owned),
                time: e["time"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map_or_else(Utc::now, |t| t.with_timezone(&Utc)),
                picture: e["picture"].as_bool().unwrap_or(true),
            })
            .collect();
        return json_answer(json!({"serials": fake.push(&evs)}));
    }
    if s.down {
        return (StatusCode::SERVICE_UNAVAILABLE, "terminal down").into_response();
    }
    if !(path.starts_with("/ISAPI/") || path.starts_with("/LOCALS/")) {
        return StatusCode::NOT_FOUND.into_response();
    }
    if let Err(r) = authenticate(&mut s, method, headers) {
        return r;
    }
    if s.fail_next > 0 {
        s.fail_next -= 1;
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>500 Internal Server Error</body></html>",
        )
            .into_response();
    }
    if s.malformed_next > 0 && path.starts_with("/ISAPI/AccessControl") {
        s.malformed_next -= 1;
        return (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"AcsEvent\": {\"searchID\": ",
        )
            .into_response();
    }
    let query = uri.query().unwrap_or("");
    // The JSON endpoints speak XML unless asked for JSON (integrations.md §1.0): a JSON body
    // without `format=json` is a bad XML document to them.
    let json_api =
        path.starts_with("/ISAPI/AccessControl/") || path.starts_with("/ISAPI/Intelligent/");
    if json_api && !query.split('&').any(|p| p == "format=json") {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/xml")],
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ResponseStatus version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\">\n\
                 <requestURL>{path}</requestURL>\n<statusCode>5</statusCode>\n<statusString>Invalid XML Format</statusString>\n\
                 <subStatusCode>badXmlFormat</subStatusCode>\n</ResponseStatus>\n"
            ),
        )
            .into_response();
    }
    let json_body = || serde_json::from_slice::<Value>(body).ok();
    match (method.as_str(), path) {
        ("GET", "/ISAPI/System/deviceInfo") => xml(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeviceInfo version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\">\n\
             <deviceName>Fake door</deviceName>\n<deviceID>fake-0001</deviceID>\n<model>DS-K1T341AMF</model>\n\
             <serialNumber>DS-K1T341AMF20240101V030200ENFAKE0001</serialNumber>\n<macAddress>44:47:cc:00:00:01</macAddress>\n\
             <firmwareVersion>V3.2.30</firmwareVersion>\n<firmwareReleasedDate>build 240101</firmwareReleasedDate>\n\
             <deviceType>ACS</deviceType>\n</DeviceInfo>\n"
                .to_owned(),
        ),
        ("GET", "/ISAPI/System/time") => {
            let now = Utc::now() + chrono::Duration::seconds(s.clock_skew_s);
            xml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Time version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\">\n\
                 <timeMode>manual</timeMode>\n<localTime>{}</localTime>\n<timeZone>CST-3:00:00</timeZone>\n</Time>\n",
                now.with_timezone(&tz()).format("%Y-%m-%dT%H:%M:%S%:z")
            ))
        }
        ("POST", "/ISAPI/AccessControl/AcsEvent") => acs_event(&mut s, json_body()),
        ("POST", "/ISAPI/AccessControl/UserInfo/Record") => {
            user_write(&mut s, json_body(), "record")
        }
        ("PUT", "/ISAPI/AccessControl/UserInfo/Modify") => {
            user_write(&mut s, json_body(), "modify")
        }
        ("PUT", "/ISAPI/AccessControl/UserInfo/SetUp") => user_write(&mut s, json_body(), "setup"),
        ("PUT", "/ISAPI/AccessControl/UserInfo/Delete") => {
            let b = json_body().unwrap_or(Value::Null);
            let Some(list) = b["UserInfoDelCond"]["EmployeeNoList"].as_array() else {
                return envelope(
                    StatusCode::BAD_REQUEST,
                    6,
                    "Invalid Content",
                    "MessageParametersLack",
                    Some("EmployeeNoList"),
                );
            };
            for e in list {
                if let Some(n) = e["employeeNo"].as_str() {
                    s.users.remove(n);
                }
            }
            ok()
        }
        ("GET", "/ISAPI/AccessControl/UserInfo/Count") => {
            json_answer(json!({"UserInfoCount": {"userNumber": s.users.len()}}))
        }
        ("POST", "/ISAPI/AccessControl/UserInfo/Search") => {
            let b = json_body().unwrap_or(Value::Null);
            let c = &b["UserInfoSearchCond"];
            let wanted: Option<Vec<String>> = c["EmployeeNoList"].as_array().map(|l| {
                l.iter()
                    .filter_map(|e| e["employeeNo"].as_str().map(str::to_owned))
                    .collect()
            });
            let all: Vec<Value> = s
                .users
                .iter()
                .filter(|(k, _)| wanted.as_ref().is_none_or(|w| w.contains(k)))
                .map(|(k, v)| {
                    let mut v = v.clone();
                    v["numOfFace"] = json!(u8::from(s.faces.contains_key(k)));
                    v
                })
                .collect();
            let pos = c["searchResultPosition"].as_u64().unwrap_or(0) as usize;
            let max = (c["maxResults"].as_u64().unwrap_or(30) as usize).min(s.page_cap);
            let page: Vec<Value> = all.iter().skip(pos).take(max).cloned().collect();
            let mut out = json!({"searchID": c["searchID"], "numOfMatches": page.len(), "totalMatches": all.len(),
                "responseStatusStrg": if all.is_empty() { "NO MATCH" } else if pos + page.len() < all.len() { "MORE" } else { "OK" }});
            if !page.is_empty() {
                out["UserInfo"] = json!(page);
            }
            json_answer(json!({ "UserInfoSearch": out }))
        }
        ("POST", "/ISAPI/Intelligent/FDLib/FaceDataRecord") => {
            face_write(&mut s, headers, body, false)
        }
        ("PUT", "/ISAPI/Intelligent/FDLib/FDSetUp") => face_write(&mut s, headers, body, true),
        ("POST", "/ISAPI/Intelligent/FDLib/FDSetUp") => envelope(
            StatusCode::OK,
            4,
            "Invalid Operation",
            "methodNotAllowed",
            None,
        ),
        ("POST", "/ISAPI/Intelligent/FDLib/FDSearch") => {
            let b = json_body().unwrap_or(Value::Null);
            let fpid = b["FPID"].as_str().map(str::to_owned);
            let matches: Vec<Value> = s
                .faces
                .keys()
                .filter(|k| fpid.as_ref().is_none_or(|f| f == *k))
                .map(|k| json!({"FPID": k, "faceURL": format!("http://192.0.2.10/LOCALS/face/{k}.jpg")}))
                .collect();
            json_answer(
                json!({"statusCode": 1, "statusString": "OK", "subStatusCode": "ok",
                "responseStatusStrg": if matches.is_empty() { "NO MATCH" } else { "OK" },
                "numOfMatches": matches.len(), "totalMatches": matches.len(), "MatchList": matches}),
            )
        }
        ("PUT", "/ISAPI/Intelligent/FDLib/FDSearch/Delete") => {
            if !(query.contains("FDID=1") && query.contains("faceLibType=blackFD")) {
                return envelope(
                    StatusCode::BAD_REQUEST,
                    6,
                    "Invalid Content",
                    "badParameters",
                    Some("FDID"),
                );
            }
            let b = json_body().unwrap_or(Value::Null);
            let mut ids: Vec<String> = b["FPID"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v["value"].as_str().map(str::to_owned))
                .collect();
            ids.extend(
                b["FaceModeList"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v["faceMode"]["FPID"].as_str().map(str::to_owned)),
            );
            if ids.is_empty() {
                return envelope(
                    StatusCode::BAD_REQUEST,
                    6,
                    "Invalid Content",
                    "MessageParametersLack",
                    Some("FPID"),
                );
            }
            for id in ids {
                s.faces.remove(&id);
            }
            ok()
        }
        ("GET", p) if p.starts_with("/LOCALS/pic/") => {
            let serial: Option<i64> = p
                .trim_start_matches("/LOCALS/pic/")
                .trim_end_matches(".jpg")
                .parse()
                .ok();
            match serial {
                Some(n) if !s.missing_pictures.contains(&n) && n < s.next_serial => {
                    ([(header::CONTENT_TYPE, "image/jpeg")], jpeg()).into_response()
                }
                _ => (StatusCode::NOT_FOUND, "Not Found").into_response(),
            }
        }
        _ => envelope(
            StatusCode::NOT_FOUND,
            4,
            "Invalid Operation",
            "notSupport",
            None,
        ),
    }
}

fn parse_instant(v: &Value, strict: bool) -> Result<Option<DateTime<Utc>>, ()> {
    let Some(t) = v.as_str() else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(t) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    if strict {
        return Err(());
    }
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
        .map(|n| Some((n - chrono::Duration::seconds(i64::from(TZ_OFFSET_S))).and_utc()))
        .map_err(|_| ())
}

fn acs_event(s: &mut Inner, body: Option<Value>) -> Response {
    let Some(b) = body else {
        return envelope(
            StatusCode::BAD_REQUEST,
            5,
            "Invalid Format",
            "badJsonFormat",
            None,
        );
    };
    let c = &b["AcsEventCond"];
    if c.get("major").is_none() {
        return envelope(
            StatusCode::BAD_REQUEST,
            6,
            "Invalid Content",
            "MessageParametersLack",
            Some("major"),
        );
    }
    if c.get("minor").is_none() {
        return envelope(
            StatusCode::BAD_REQUEST,
            6,
            "Invalid Content",
            "MessageParametersLack",
            Some("minor"),
        );
    }
    if s.refuse_serial_window
        && (c.get("beginSerialNo").is_some() || c.get("endSerialNo").is_some())
    {
        s.serial_window_refusals += 1;
        return envelope(
            StatusCode::BAD_REQUEST,
            6,
            "Invalid Content",
            "badJsonContent",
            Some("beginSerialNo"),
        );
    }
    let Ok(start) = parse_instant(&c["startTime"], s.strict_time) else {
        return envelope(
            StatusCode::BAD_REQUEST,
            6,
            "Invalid Content",
            "badJsonContent",
            Some("startTime"),
        );
    };
    let Ok(end) = parse_instant(&c["endTime"], s.strict_time) else {
        return envelope(
            StatusCode::BAD_REQUEST,
            6,
            "Invalid Content",
            "badJsonContent",
            Some("endTime"),
        );
    };
    if c.get("beginSerialNo").is_some() && c.get("endSerialNo").is_none() {
        return envelope(
            StatusCode::BAD_REQUEST,
            6,
            "Invalid Content",
            "badJsonContent",
            Some("endSerialNo"),
        );
    }
    let major = c["major"].as_i64().unwrap_or(0);
    let minor = c["minor"].as_i64().unwrap_or(0);
    let employee = c["employeeNoString"].as_str();
    let begin = c["beginSerialNo"].as_i64();
    let end_serial = c["endSerialNo"].as_i64();
    let mut matches: Vec<&Value> = s
        .events
        .iter()
        .zip(&s.event_keys)
        .filter(|(_, k)| {
            begin.is_none_or(|b| k.serial >= b) && end_serial.is_none_or(|en| k.serial <= en)
        })
        .filter(|_| major == 0 || major == 5)
        .filter(|(_, k)| minor == 0 || k.minor == minor)
        .filter(|(_, k)| employee.is_none_or(|n| k.employee_no.as_deref() == Some(n)))
        .filter(|(_, k)| start.is_none_or(|st| k.time >= st) && end.is_none_or(|en| k.time <= en))
        .map(|(e, _)| e)
        .collect();
    if c["timeReverseOrder"].as_bool() == Some(true) {
        matches.reverse();
    }
    let pos = c["searchResultPosition"].as_u64().unwrap_or(0) as usize;
    let asked = c["maxResults"].as_u64().unwrap_or(10) as usize;
    let page: Vec<Value> = matches
        .iter()
        .skip(pos)
        .take(asked.min(s.page_cap))
        .map(|v| (*v).clone())
        .collect();
    s.largest_page = s.largest_page.max(page.len());
    let total = matches.len();
    let status = if s.lying_total {
        "MORE"
    } else if total == 0 {
        "NO MATCH"
    } else if pos + page.len() < total {
        "MORE"
    } else {
        "OK"
    };
    let mut out = json!({
        "searchID": c["searchID"],
        "responseStatusStrg": status,
        "numOfMatches": page.len(),
        "totalMatches": if s.lying_total { total + 1000 } else { total },
    });
    if status != "NO MATCH" && !page.is_empty() {
        out["InfoList"] = json!(page);
    }
    json_answer(json!({ "AcsEvent": out }))
}

fn user_write(s: &mut Inner, body: Option<Value>, op: &str) -> Response {
    let Some(u) = body
        .as_ref()
        .map(|b| b["UserInfo"].clone())
        .filter(Value::is_object)
    else {
        return envelope(
            StatusCode::BAD_REQUEST,
            6,
            "Invalid Content",
            "MessageParametersLack",
            Some("UserInfo"),
        );
    };
    let Some(no) = u["employeeNo"].as_str().map(str::to_owned) else {
        return envelope(
            StatusCode::OK,
            6,
            "Invalid Content",
            "MessageParametersLack",
            Some("employeeNo"),
        );
    };
    if no.is_empty() || no.len() > 32 || !no.chars().all(|c| c.is_ascii_alphanumeric()) {
        return envelope(
            StatusCode::OK,
            6,
            "Invalid Content",
            "badJsonContent",
            Some("employeeNo"),
        );
    }
    let valid = &u["Valid"];
    let times_ok = ["beginTime", "endTime"].iter().all(|k| {
        valid[*k]
            .as_str()
            .is_some_and(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").is_ok())
    });
    if !times_ok {
        return envelope(
            StatusCode::OK,
            6,
            "Invalid Content",
            "badJsonContent",
            Some("beginTime and endTime"),
        );
    }
    let exists = s.users.contains_key(&no);
    match op {
        "record" if exists => envelope(
            StatusCode::OK,
            6,
            "Invalid Content",
            "employeeNoAlreadyExist",
            Some("employeeNo"),
        ),
        "modify" if !exists => envelope(
            StatusCode::OK,
            6,
            "Invalid Content",
            "employeeNoNotExist",
            Some("employeeNo"),
        ),
        _ => {
            s.users.insert(no, u);
            ok()
        }
    }
}

/// The JSON part and the first JPEG part of a multipart body.
fn multipart_parts(headers: &HeaderMap, body: &[u8]) -> Option<(Value, Vec<u8>)> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let boundary = ct.split("boundary=").nth(1)?.trim_matches('"');
    let delim = format!("--{boundary}");
    let text = body;
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(i) = find(rest, delim.as_bytes()) {
        rest = &rest[i + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let end = find(rest, delim.as_bytes())?;
        let part = &rest[..end];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let split = find(part, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        parts.push((head, part[split + 4..].to_vec()));
    }
    let meta = parts
        .iter()
        .find(|(h, _)| h.contains("name=\"FaceDataRecord\""))
        .and_then(|(_, b)| serde_json::from_slice(b).ok())?;
    let image = parts
        .iter()
        .find(|(h, b)| {
            h.to_ascii_lowercase().contains("image/jpeg") && b.starts_with(&[0xFF, 0xD8])
        })
        .map(|(_, b)| b.clone())?;
    Some((meta, image))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn face_write(s: &mut Inner, headers: &HeaderMap, body: &[u8], upsert: bool) -> Response {
    let Some((meta, image)) = multipart_parts(headers, body) else {
        return envelope(
            StatusCode::BAD_REQUEST,
            6,
            "Invalid Content",
            "badParameters",
            Some("FaceDataRecord"),
        );
    };
    if meta["faceLibType"] != "blackFD" || meta["FDID"] != "1" {
        return envelope(
            StatusCode::OK,
            6,
            "Invalid Content",
            "badParameters",
            Some("FDID"),
        );
    }
    let Some(fpid) = meta["FPID"].as_str().map(str::to_owned) else {
        return envelope(
            StatusCode::OK,
            6,
            "Invalid Content",
            "MessageParametersLack",
            Some("FPID"),
        );
    };
    if !s.users.contains_key(&fpid) {
        return envelope(
            StatusCode::OK,
            6,
            "Invalid Content",
            "employeeNoNotExist",
            Some("FPID"),
        );
    }
    if image.len() > 200 * 1024 {
        return envelope(StatusCode::OK, 6, "Invalid Content", "imageTooLarge", None);
    }
    if s.faces.contains_key(&fpid) && !upsert {
        return envelope(
            StatusCode::OK,
            6,
            "Invalid Content",
            "deviceUserAlreadyExistFace",
            Some("FPID"),
        );
    }
    s.faces.insert(fpid.clone(), image);
    json_answer(
        json!({"requestURL": "/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json",
        "statusCode": 1, "statusString": "OK", "subStatusCode": "ok", "FPID": fpid}),
    )
}
