//! What the check-in benches share (`attendance`, `rush`): a minimal HTTP/1.1 client, the
//! bench employee's password and site, the real photos of one person as the phone uploads them,
//! and one punch made the way the phone makes it. Included with `#[path]`; the including bench
//! declares `mod multipart` (tests/common/multipart.rs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use faceid_face::decode::{decode, encode_jpeg};
use faceid_face::detect::{self, DetectorConfig};
use faceid_face::liveness::active::{self, HeadMovement};
use faceid_face::measure::TimedFrame;
use faceid_face::{Descriptor, Engine, MeasureRules};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use uuid::Uuid;

use super::multipart::{content_type, multipart};

pub const PASSWORD: &str = "bench-password-123";
pub const SITE_LAT: f64 = 55.75;
pub const SITE_LON: f64 = 37.61;
pub const ENROL: [&str; 2] = [
    "face_recognition/barack_obama/obama.jpg",
    "face_recognition/barack_obama/obama_small.jpg",
];
/// Frontal, the face 137 px wide at 640 px (`obama-720p.jpg` would be 83 px: too small). Also
/// the first challenge frame, encoded the same way: the phone sends its best frame again as the
/// challenge's neutral reference, and the server measures those bytes once.
pub const BEST_FRAME: &str = "face_recognition/barack_obama/obama.jpg";
/// Measured yaw (`faceid face detect --json`): 0.7°, +39.7°, -0.9°, -34.6°.
pub const CHALLENGE_FRAMES: [&str; 4] = [
    "face_recognition/barack_obama/obama.jpg",
    "face_recognition/barack_obama/obama1.jpg",
    "face_recognition/barack_obama/obama-720p.jpg",
    "face_recognition/barack_obama/obama2.jpg",
];
pub const ACTIONS: [&str; 2] = ["turn_left", "turn_right"];

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// A minimal HTTP/1.1 keep-alive client: enough for our own server's answers.
pub struct Http {
    stream: BufReader<TcpStream>,
    addr: std::net::SocketAddr,
    host: String,
    /// The last answer's `Retry-After` (seconds), if it had one.
    pub retry_after: Option<u64>,
}

impl Http {
    pub async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(s),
            addr,
            host: addr.to_string(),
            retry_after: None,
        })
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        head.push_str("\r\n");
        let s = self.stream.get_mut();
        let sent = async {
            s.write_all(head.as_bytes()).await?;
            s.write_all(body).await
        };
        // A server that answers early (an error) may close before the body is sent: read
        // its answer anyway.
        let sent = sent.await;
        let mut status_line = String::new();
        self.stream
            .read_line(&mut status_line)
            .await
            .with_context(|| format!("{method} {path}: reading"))?;
        if status_line.is_empty() {
            sent.with_context(|| format!("{method} {path}: sending"))?;
            bail!("{method} {path}: connection closed without an answer");
        }
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {status_line:?}"))?;
        let mut len = 0usize;
        self.retry_after = None;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse()?;
            } else if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("retry-after")
            {
                self.retry_after = v.trim().parse().ok();
            }
        }
        let mut buf = vec![0; len];
        self.stream.read_exact(&mut buf).await?;
        Ok((status, buf))
    }

    pub async fn json(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let (status, bytes) = self
            .send(
                method,
                path,
                token,
                "application/json",
                &serde_json::to_vec(body)?,
            )
            .await?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            bail!("{method} {path}: {status} {v}");
        }
        Ok(v)
    }
}

pub fn login_body(login: &str) -> Value {
    json!({"login": login, "password": PASSWORD,
    "device": {"id": Uuid::now_v7(), "name": "Bench phone", "platform": "android", "app_version": "1.0"}})
}

pub async fn login(http: &mut Http, name: &str) -> anyhow::Result<String> {
    let t = http
        .json("POST", "/api/v1/auth/login", None, &login_body(name))
        .await?;
    Ok(t["access_token"].as_str().context("token")?.to_owned())
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank.
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// (a) Check-ins

pub fn faces_dir() -> anyhow::Result<PathBuf> {
    let shared = std::env::var_os("FACEID_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let d = shared.join("faces");
    if !d.is_dir() {
        bail!(
            "{} is missing: the check-in bench needs the real photos",
            d.display()
        );
    }
    Ok(d)
}

/// The frames as the phone uploads them.
pub struct Frames {
    pub best: Vec<u8>,
    pub challenge: Vec<Vec<u8>>,
}

pub fn phone_jpeg(dir: &std::path::Path, rel: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(dir.join(rel)).with_context(|| rel.to_owned())?;
    Ok(encode_jpeg(&decode(&bytes)?, 640, 85)?)
}

/// One punch as the phone makes it: a challenge request, then the multipart check-in. Returns
/// the latency of the check-in request.
pub async fn punch(
    http: &mut Http,
    pool: &PgPool,
    token: &str,
    frames: &Frames,
    device: &Value,
) -> anyhow::Result<Punched> {
    // No body: the handler reads none, and an unread body makes the server close the
    // keep-alive connection.
    let (status, c) = http
        .send(
            "POST",
            "/api/v1/liveness/challenges",
            Some(token),
            "application/json",
            b"",
        )
        .await?;
    let c: Value = serde_json::from_slice(&c).unwrap_or(Value::Null);
    if status != 201 {
        bail!("challenge: {status} {c}");
    }
    let nonce = c["nonce"].as_str().context("nonce")?.to_owned();
    let issued: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE liveness_challenges SET actions = $2 WHERE nonce = $1 RETURNING created_at",
    )
    .bind(&nonce)
    .bind(&ACTIONS[..])
    .fetch_one(pool)
    .await?;
    let now = Utc::now();
    // Capture times spread between the issue and now, strictly increasing.
    let t0 = u64::try_from(issued.timestamp_millis())?;
    let n = frames.challenge.len() as u64;
    let step = (u64::try_from((now - issued).num_milliseconds().max(0))? / (n + 1)).max(1);
    let times: Vec<u64> = (1..=n).map(|i| t0 + i * step).collect();
    let evidence = json!({
        "idempotency_key": Uuid::now_v7(),
        "kind": "in",
        "clock": {"device_time": now},
        "gps": {"lat": SITE_LAT, "lon": SITE_LON, "accuracy_m": 12.0, "fix_time": now,
                "mock": false, "provider": "fused"},
        "descriptor": device,
        "liveness": {"passive": 0.9, "challenge": 1.0},
        "challenge_nonce": nonce,
        "challenge_frame_times_ms": times,
    });
    let evidence = serde_json::to_vec(&evidence)?;
    let mut parts: Vec<(&str, &[u8], &str)> = vec![
        ("evidence", &evidence, "application/json"),
        ("best_frame", &frames.best, "image/jpeg"),
    ];
    parts.extend(
        frames
            .challenge
            .iter()
            .map(|f| ("challenge_frame", f.as_slice(), "image/jpeg")),
    );
    let body = multipart(&parts);
    let ct = content_type();
    let mut busy = 0;
    loop {
        let started = Instant::now();
        let (status, resp) = http
            .send("POST", "/api/v1/attendance/events", Some(token), &ct, &body)
            .await?;
        let took = started.elapsed();
        let v: Value = serde_json::from_slice(&resp).unwrap_or(Value::Null);
        if status == 503 && v["code"] == "server_busy" {
            // As the phone's outbox does (`faceid_client::sync`): the same sealed punch, with
            // the same challenge nonce, again after its backoff, never before `Retry-After`.
            busy += 1;
            tokio::time::sleep(phone_retry_delay(busy, http.retry_after)).await;
            *http = Http::connect(http.addr).await?;
            continue;
        }
        if busy > 0 && status == 400 && v["code"] == "challenge_expired" {
            // The phone dead-letters it too: its sealed frames answer that challenge only.
            bail!("check-in: 400 challenge_expired after server_busy retries");
        }
        if status != 201 || v["verdict"] != "verified" {
            bail!("check-in: {status} {v}");
        }
        return Ok(Punched { took, busy });
    }
}

/// The phone's delay before resending a punch after its `attempts`-th 503
/// (`faceid_client::outbox::next_delay`): exponential backoff from 2 s up to 15 min with equal
/// jitter (half the delay plus a random part of the other half), but never earlier than the
/// server's `Retry-After` (seconds).
pub fn phone_retry_delay(attempts: u32, retry_after: Option<u64>) -> Duration {
    const BASE: Duration = Duration::from_secs(2);
    const MAX: Duration = Duration::from_secs(15 * 60);
    let exp = attempts.saturating_sub(1).min(20);
    let full = BASE.saturating_mul(1u32 << exp).min(MAX);
    let half = full / 2;
    let jitter = rand::random_range(0..=u64::try_from(half.as_millis()).unwrap_or(u64::MAX));
    let backoff = half + Duration::from_millis(jitter);
    retry_after.map_or(backoff, |ra| backoff.max(Duration::from_secs(ra)))
}

/// One punch's answer: the last request's time, and how often the server was too busy first.
pub struct Punched {
    pub took: Duration,
    pub busy: u32,
}

/// The phone's frames of the bench's person, as uploaded.
pub fn frames(faces: &Path) -> anyhow::Result<Frames> {
    Ok(Frames {
        best: phone_jpeg(faces, BEST_FRAME)?,
        challenge: CHALLENGE_FRAMES
            .iter()
            .map(|f| phone_jpeg(faces, f))
            .collect::<anyhow::Result<_>>()?,
    })
}

/// Through the API as `admin`: a site at the bench's position, a biometric consent text, and
/// employee `login` of that site who gives biometric consent and enrols from the [`ENROL`]
/// photos. Answers the employee's id and their first phone token.
pub async fn enrolled_employee(
    http: &mut Http,
    admin: &str,
    faces: &Path,
    login_name: &str,
) -> anyhow::Result<(Uuid, String)> {
    let site = http
        .json(
            "POST",
            "/api/v1/sites",
            Some(admin),
            &json!({"name": "Bench site", "time_zone": "Europe/Moscow",
                    "geofence": {"type": "circle", "latitude": SITE_LAT, "longitude": SITE_LON,
                                 "radius_m": 150.0}}),
        )
        .await?;
    http.json(
        "POST",
        "/api/v1/consent-texts",
        Some(admin),
        &json!({"kind": "biometric", "body": "Bench"}),
    )
    .await?;
    let employee = http
        .json(
            "POST",
            "/api/v1/employees",
            Some(admin),
            &json!({"login": login_name, "password": PASSWORD, "first_name": "P",
                    "last_name": "Puncher", "role": "user", "site_ids": [site["id"]],
                    "must_change_password": false}),
        )
        .await?;
    let id: Uuid = employee["id"].as_str().context("employee id")?.parse()?;
    let token = login(http, login_name).await?;
    http.json(
        "POST",
        "/api/v1/me/consents",
        Some(&token),
        &json!({"kind": "biometric", "action": "grant"}),
    )
    .await?;
    let photos: Vec<Vec<u8>> = ENROL
        .iter()
        .map(|p| std::fs::read(faces.join(p)).with_context(|| p.to_string()))
        .collect::<anyhow::Result<_>>()?;
    let parts: Vec<(&str, &[u8], &str)> = photos
        .iter()
        .map(|b| ("photo", b.as_slice(), "image/jpeg"))
        .collect();
    let (status, resp) = http
        .send(
            "POST",
            "/api/v1/me/face-templates",
            Some(&token),
            &content_type(),
            &multipart(&parts),
        )
        .await?;
    if status != 201 {
        bail!("enrolment: {status} {}", String::from_utf8_lossy(&resp));
    }
    Ok((id, token))
}

/// What the engine alone needs for a check-in's comparisons: the enrolled descriptors
/// (computed the way enrolment does) and the device's descriptor of the best frame.
pub fn engine_references(
    engine: &Engine,
    faces: &Path,
    frames: &Frames,
) -> anyhow::Result<(Vec<Descriptor>, Descriptor)> {
    let mut templates = Vec::new();
    for p in ENROL {
        let img = decode(&std::fs::read(faces.join(p))?)?;
        let dets = engine.detect(&img, &DetectorConfig::ENROL)?;
        let f = detect::largest(&dets).context("no face")?;
        templates.push(engine.embed(&img, f, None)?);
    }
    let device = faceid_face::measure(engine, &frames.best, &[], None, &MeasureRules::check_in())?
        .descriptor;
    Ok((templates, device))
}

/// The face engine's own work for one check-in, called directly: the shared measurement the
/// server runs on the uploaded frames (`faceid_face::measure`), then the comparisons. Returns
/// whether the punch would be verified.
pub fn engine_check_in(
    engine: &Engine,
    frames: &Frames,
    templates: &[Descriptor],
    device: &Descriptor,
) -> anyhow::Result<bool> {
    let timed: Vec<TimedFrame<'_>> = frames
        .challenge
        .iter()
        .enumerate()
        .map(|(i, bytes)| TimedFrame {
            bytes,
            captured_at_ms: Some(1_000 + 400 * i as u64),
        })
        .collect();
    let challenge = active::Challenge {
        nonce: "bench".into(),
        actions: vec![HeadMovement::TurnLeft, HeadMovement::TurnRight],
        issued_at_ms: 0,
        expires_at_ms: 120_000,
    };
    let m = faceid_face::measure(
        engine,
        &frames.best,
        &timed,
        Some((&challenge, 1_000 + 400 * timed.len() as u64)),
        &MeasureRules::check_in(),
    )?;
    let score = m.challenge.as_ref().context("challenge scored")?;
    let passed = score.verdict.passed && score.same_face_as_best == Some(true);
    let mut matched = false;
    for t in templates {
        matched |= engine.verify(&m.descriptor, t)?.same;
    }
    let device_agrees = engine.verify(device, &m.descriptor)?.same;
    Ok(passed && matched && device_agrees && m.live())
}
