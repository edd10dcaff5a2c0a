//! Attendance benchmark in one go (not a test).
//!
//! Starts the real server on 127.0.0.1:0, with the face engine and a photo store in a
//! temporary directory, against a fresh database created next to `DATABASE_URL` (dropped at
//! the end), and measures in one run:
//!
//! (a) **Check-ins with full server-side re-verification.** One employee enrolled through the
//!     API with real photos from `../shared/faces`; every punch is what the phone sends: a
//!     challenge request, then a multipart `POST /api/v1/attendance/events` with the evidence
//!     JSON (GPS fix at the site, the device's descriptor, the nonce and capture times), a
//!     640 px JPEG best frame and four challenge frames (real photos of the same person:
//!     frontal, turned to his left, frontal, turned to his right), each re-encoded as the phone
//!     does (`encode_jpeg`, 640 px, quality 85). Every answer must be `verified`. First one
//!     client in sequence (latency), then `BENCH_CHECKIN_CLIENTS` concurrent clients (each on
//!     its own device) for throughput and p50/p99. In the same run, the face engine's own work
//!     on the same frames, called directly (`core/face`: decode, detect, quality, align +
//!     embed and passive liveness of the best frame; decode, detect, align + embed of each
//!     challenge frame; the challenge trajectory; the 1:1 comparisons), in sequence and on as
//!     many threads, interleaved with the server's punches (one engine check-in, one punch, …)
//!     so both see the same background load, and the server's overhead over it. The photos show one fixed sequence of
//!     movements, so after each challenge request the bench sets that challenge's movements to
//!     turn left, turn right in SQL (outside the timed punch).
//! (b) **Location points** through `POST /api/v1/locations/batch`: `BENCH_BATCHES` batches of
//!     1,000 points over `BENCH_CONNECTIONS` keep-alive connections.
//! (c) **Reference**: the same `INSERT … SELECT FROM UNNEST … ON CONFLICT DO NOTHING` straight
//!     into the same database with the same points and connections, and the ratio.
//!
//! `DATABASE_URL=postgres://… cargo bench --workspace --bench attendance` (models from
//! `FACEID_MODEL_DIR` or `models/cache`, photos from `FACEID_SHARED_DIR`/faces or
//! `../shared/faces`); see README "Attendance" for the build used for the recorded figures.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use faceid_face::decode::{decode, encode_jpeg};
use faceid_face::detect::{self, DetectorConfig};
use faceid_face::liveness::active::{self, HeadMovement};
use faceid_face::measure::TimedFrame;
use faceid_face::{Descriptor, Engine, MeasureRules};
use faceid_protocol::location::LocationPoint;
use faceid_server::face::FaceEngine;
use faceid_server::{AppState, Secrets, Settings};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgPool};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use uuid::Uuid;

#[path = "../tests/common/multipart.rs"]
mod multipart;
use multipart::{content_type, multipart};

const POINTS_PER_BATCH: usize = 1_000;
const PASSWORD: &str = "bench-password-123";
const SITE_LAT: f64 = 55.75;
const SITE_LON: f64 = 37.61;
const ENROL: [&str; 2] = [
    "face_recognition/barack_obama/obama.jpg",
    "face_recognition/barack_obama/obama_small.jpg",
];
/// Frontal, the face 137 px wide at 640 px (`obama-720p.jpg` would be 83 px: too small).
const BEST_FRAME: &str = "face_recognition/barack_obama/obama.jpg";
/// Measured yaw (`faceid face detect --json`): 0.7°, +39.7°, -0.9°, -34.6°.
const CHALLENGE_FRAMES: [&str; 4] = [
    "face_recognition/barack_obama/obama.jpg",
    "face_recognition/barack_obama/obama1.jpg",
    "face_recognition/barack_obama/obama-720p.jpg",
    "face_recognition/barack_obama/obama2.jpg",
];
const ACTIONS: [&str; 2] = ["turn_left", "turn_right"];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// A minimal HTTP/1.1 keep-alive client: enough for our own server's answers.
struct Http {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Http {
    async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(s),
            host: addr.to_string(),
        })
    }

    async fn send(
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
            }
        }
        let mut buf = vec![0; len];
        self.stream.read_exact(&mut buf).await?;
        Ok((status, buf))
    }

    async fn json(
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

fn login_body(login: &str) -> Value {
    json!({"login": login, "password": PASSWORD,
    "device": {"id": Uuid::now_v7(), "name": "Bench phone", "platform": "android", "app_version": "1.0"}})
}

async fn login(http: &mut Http, name: &str) -> anyhow::Result<String> {
    let t = http
        .json("POST", "/api/v1/auth/login", None, &login_body(name))
        .await?;
    Ok(t["access_token"].as_str().context("token")?.to_owned())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank.
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// (a) Check-ins

fn faces_dir() -> anyhow::Result<PathBuf> {
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
struct Frames {
    best: Vec<u8>,
    challenge: Vec<Vec<u8>>,
}

fn phone_jpeg(dir: &std::path::Path, rel: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(dir.join(rel)).with_context(|| rel.to_owned())?;
    Ok(encode_jpeg(&decode(&bytes)?, 640, 85)?)
}

/// The face engine's own work for one check-in, called directly: the shared measurement the
/// server runs on the uploaded frames (`faceid_face::measure`), then the comparisons. Returns
/// whether the punch would be verified.
fn engine_check_in(
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

fn engine_sequential(
    engine: &Engine,
    frames: &Frames,
    templates: &[Descriptor],
    device: &Descriptor,
    n: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        if !engine_check_in(engine, frames, templates, device)? {
            bail!("the engine alone does not verify the bench's frames");
        }
        out.push(t.elapsed());
    }
    Ok(out)
}

/// `threads` threads doing `n` check-ins each; the wall time.
fn engine_concurrent(
    engine: &Engine,
    frames: &Frames,
    templates: &[Descriptor],
    device: &Descriptor,
    threads: usize,
    n: usize,
) -> anyhow::Result<Duration> {
    let t = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| engine_sequential(engine, frames, templates, device, n)))
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("engine thread panicked"))??;
        }
        anyhow::Ok(())
    })?;
    Ok(t.elapsed())
}

/// One punch as the phone makes it: a challenge request, then the multipart check-in. Returns
/// the latency of the check-in request.
async fn punch(
    http: &mut Http,
    pool: &PgPool,
    token: &str,
    frames: &Frames,
    device: &Value,
) -> anyhow::Result<Duration> {
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
    let started = Instant::now();
    let (status, resp) = http
        .send("POST", "/api/v1/attendance/events", Some(token), &ct, &body)
        .await?;
    let took = started.elapsed();
    let v: Value = serde_json::from_slice(&resp).unwrap_or(Value::Null);
    if status != 201 || v["verdict"] != "verified" {
        bail!("check-in: {status} {v}");
    }
    Ok(took)
}

struct CheckInFigures {
    frames: usize,
    frame_bytes: usize,
    engine_seq: Vec<Duration>,
    server_seq: Vec<Duration>,
    clients: usize,
    per_client: usize,
    engine_conc_wall: Duration,
    server_conc_wall: Duration,
    server_conc: Vec<Duration>,
}

async fn check_ins(
    addr: std::net::SocketAddr,
    pool: &PgPool,
    engine: Arc<Engine>,
    admin: &str,
) -> anyhow::Result<CheckInFigures> {
    let dir = faces_dir()?;
    let per_client = env_usize("BENCH_CHECKINS", 8);
    let clients = env_usize("BENCH_CHECKIN_CLIENTS", 2);
    let frames = Arc::new(Frames {
        best: phone_jpeg(&dir, BEST_FRAME)?,
        challenge: CHALLENGE_FRAMES
            .iter()
            .map(|f| phone_jpeg(&dir, f))
            .collect::<anyhow::Result<_>>()?,
    });

    let mut http = Http::connect(addr).await?;
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
    http.json(
        "POST",
        "/api/v1/employees",
        Some(admin),
        &json!({"login": "puncher", "password": PASSWORD, "first_name": "P",
                "last_name": "Puncher", "role": "user", "site_ids": [site["id"]]}),
    )
    .await?;
    let tokens = {
        let mut t = Vec::new();
        for _ in 0..clients {
            t.push(login(&mut http, "puncher").await?);
        }
        t
    };
    http.json(
        "POST",
        "/api/v1/me/consents",
        Some(&tokens[0]),
        &json!({"kind": "biometric", "action": "grant"}),
    )
    .await?;
    let enrol: Vec<Vec<u8>> = ENROL
        .iter()
        .map(|p| std::fs::read(dir.join(p)).with_context(|| p.to_string()))
        .collect::<anyhow::Result<_>>()?;
    let parts: Vec<(&str, &[u8], &str)> = enrol
        .iter()
        .map(|b| ("photo", b.as_slice(), "image/jpeg"))
        .collect();
    let (status, resp) = http
        .send(
            "POST",
            "/api/v1/me/face-templates",
            Some(&tokens[0]),
            &content_type(),
            &multipart(&parts),
        )
        .await?;
    if status != 201 {
        bail!("enrolment: {status} {}", String::from_utf8_lossy(&resp));
    }

    // What the engine needs for the same comparisons: the enrolled descriptors (computed the
    // way enrolment does) and the device's descriptor of the best frame.
    let (templates, device) = {
        let engine = engine.clone();
        let frames = frames.clone();
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            let mut templates = Vec::new();
            for p in ENROL {
                let img = decode(&std::fs::read(dir.join(p))?)?;
                let dets = engine.detect(&img, &DetectorConfig::ENROL)?;
                let f = detect::largest(&dets).context("no face")?;
                templates.push(engine.embed(&img, f, None)?);
            }
            let device = faceid_face::measure(
                &engine,
                &frames.best,
                &[],
                None,
                &faceid_face::MeasureRules::check_in(),
            )?
            .descriptor;
            anyhow::Ok((templates, device))
        })
        .await??
    };
    let device_json = json!({"model": device.model.0, "values": device.values});

    // Warm-up (untimed): every connection, the pool, the engine's first inferences.
    let mut conns = Vec::new();
    for t in &tokens {
        let mut c = Http::connect(addr).await?;
        punch(&mut c, pool, t, &frames, &device_json).await?;
        conns.push(c);
    }

    // Engine alone and server interleaved, one check-in (or one round) each in turn, so both
    // see the same background load on a shared machine (phases of several seconds apart
    // differed by ±25% here with other builds running).
    let work = Arc::new((templates, device));
    let engine_run = |threads: usize| {
        let (engine, frames, work) = (engine.clone(), frames.clone(), work.clone());
        tokio::task::spawn_blocking(move || {
            let (templates, device) = &*work;
            if threads == 1 {
                engine_sequential(&engine, &frames, templates, device, 1)
            } else {
                engine_concurrent(&engine, &frames, templates, device, threads, 1)
                    .map(|wall| vec![wall])
            }
        })
    };

    // Sequential: one check-in of the engine alone, then one punch of one client; repeated.
    let n_seq = per_client * clients;
    let mut engine_seq = Vec::with_capacity(n_seq);
    let mut server_seq = Vec::with_capacity(n_seq);
    for _ in 0..n_seq {
        engine_seq.extend(engine_run(1).await??);
        server_seq.push(punch(&mut conns[0], pool, &tokens[0], &frames, &device_json).await?);
    }

    // Concurrent, in rounds: the engine alone on `clients` threads (one check-in each), then
    // `clients` concurrent clients (one punch each); the walls summed.
    let mut engine_conc_wall = Duration::ZERO;
    let mut server_conc_wall = Duration::ZERO;
    let mut server_conc = Vec::with_capacity(n_seq);
    for _ in 0..per_client {
        engine_conc_wall += engine_run(clients).await??.iter().sum::<Duration>();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (mut c, t) in conns.drain(..).zip(tokens.iter().cloned()) {
            let (pool, frames, device_json) = (pool.clone(), frames.clone(), device_json.clone());
            tasks.push(tokio::spawn(async move {
                let took = punch(&mut c, &pool, &t, &frames, &device_json).await?;
                anyhow::Ok((c, took))
            }));
        }
        for t in tasks {
            let (c, took) = t.await??;
            conns.push(c);
            server_conc.push(took);
        }
        server_conc_wall += started.elapsed();
    }
    Ok(CheckInFigures {
        frames: 1 + frames.challenge.len(),
        frame_bytes: frames.best.len() + frames.challenge.iter().map(Vec::len).sum::<usize>(),
        engine_seq,
        server_seq,
        clients,
        per_client,
        engine_conc_wall,
        server_conc_wall,
        server_conc,
    })
}

fn print_check_ins(f: &mut CheckInFigures) {
    for v in [&mut f.engine_seq, &mut f.server_seq, &mut f.server_conc] {
        v.sort();
    }
    let total = f.clients * f.per_client;
    let e50 = percentile(&f.engine_seq, 50.0);
    let s50 = percentile(&f.server_seq, 50.0);
    let engine_rate = total as f64 / f.engine_conc_wall.as_secs_f64();
    let server_rate = total as f64 / f.server_conc_wall.as_secs_f64();
    println!(
        "check-in with full re-verification: {} frames per punch ({} KB as uploaded), every answer `verified`",
        f.frames,
        f.frame_bytes / 1024
    );
    println!(
        "  sequential, {} punches: engine alone p50 {:.0} ms (p99 {:.0}); server p50 {:.0} ms (p99 {:.0}); overhead {:+.1}%",
        f.server_seq.len(),
        ms(e50),
        ms(percentile(&f.engine_seq, 99.0)),
        ms(s50),
        ms(percentile(&f.server_seq, 99.0)),
        (ms(s50) / ms(e50) - 1.0) * 100.0
    );
    println!(
        "  {} concurrent clients x {}: server {:.2} check-ins/s, p50 {:.0} ms, p99 {:.0} ms; engine alone on {} threads {:.2}/s; overhead {:+.1}%",
        f.clients,
        f.per_client,
        server_rate,
        ms(percentile(&f.server_conc, 50.0)),
        ms(percentile(&f.server_conc, 99.0)),
        f.clients,
        engine_rate,
        (engine_rate / server_rate - 1.0) * 100.0
    );
}

// ---------------------------------------------------------------------------------------------
// (b), (c) Locations

fn batch_points(batch: usize, base: chrono::DateTime<Utc>) -> Vec<LocationPoint> {
    (0..POINTS_PER_BATCH)
        .map(|i| {
            let n = (batch * POINTS_PER_BATCH + i) as i64;
            LocationPoint {
                recorded_at: base + chrono::Duration::milliseconds(n * 50),
                lat: 55.75 + (n % 1000) as f64 * 1e-5,
                lon: 37.61 + (n % 997) as f64 * 1e-5,
                accuracy: 8.0 + (n % 20) as f64,
                speed: Some(1.4),
                bearing: Some((n % 360) as f64),
                altitude: Some(150.0),
                mock: false,
                jump: false,
                battery: Some(80),
            }
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `RUST_LOG=faceid_server::attendance=debug` shows the server's time per stage of each
    // punch (stderr), to see where the time beyond the engine goes.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let url = std::env::var("DATABASE_URL")
        .context("set DATABASE_URL to a PostgreSQL the bench may create a database in")?;
    let batches = env_usize("BENCH_BATCHES", 60);
    let conns = env_usize("BENCH_CONNECTIONS", 4);
    let db_name = format!("faceid_bench_{}", Uuid::new_v4().simple());
    let mut admin_conn = sqlx::PgConnection::connect(&url).await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
        .execute(&mut admin_conn)
        .await?;
    let db_url = match url.rsplit_once('/') {
        Some((base, last)) if !last.contains('@') => {
            let query = last
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{base}/{db_name}{query}")
        }
        _ => format!("{url}/{db_name}"),
    };
    let result = run(&db_url, batches, conns).await;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"
    )))
    .execute(&mut admin_conn)
    .await?;
    result
}

async fn run(db_url: &str, batches: usize, conns: usize) -> anyhow::Result<()> {
    let pool = faceid_server::db::connect(db_url, 16, Duration::from_secs(10)).await?;
    faceid_server::db::migrate(&pool).await?;
    faceid_server::routes::employees::create_admin(
        &pool,
        "bench",
        "Bench",
        "Admin",
        PASSWORD.into(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let photos = tempfile::tempdir()?;
    let settings = Settings {
        db_max_connections: 16,
        photo_store_url: Some(format!("file://{}", photos.path().display())),
        ..Settings::default()
    };
    let secrets = Secrets {
        jwt_secret: b"bench-secret-bench-secret-bench-secret-0123".to_vec(),
        descriptor_key: [1; 32],
    };
    let face = FaceEngine::load(
        std::env::var_os("FACEID_MODEL_DIR")
            .map(PathBuf::from)
            .as_deref(),
    );
    let engine = face.get().map_err(|_| {
        anyhow::anyhow!("face models missing: bash models/fetch.sh (or FACEID_MODEL_DIR)")
    })?;
    let state = AppState::new(pool.clone(), settings, secrets)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_face_engine(face);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(faceid_server::run(listener, state, async move {
        let _ = stop_rx.await;
    }));
    let mut http = Http::connect(addr).await?;
    let admin = login(&mut http, "bench").await?;

    let mut punches = check_ins(addr, &pool, engine, &admin).await?;
    let (http_rate, sql_rate, http_secs, sql_secs) =
        locations(addr, &pool, &admin, batches, conns).await?;
    let total = batches * POINTS_PER_BATCH;

    println!(
        "attendance bench, {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    print_check_ins(&mut punches);
    println!(
        "location ingestion: {batches} batches x {POINTS_PER_BATCH} points, {conns} connections"
    );
    println!(
        "  HTTP  POST /api/v1/locations/batch : {total} points in {http_secs:.2} s = {http_rate:.0} points/s"
    );
    println!(
        "  SQL   INSERT ... UNNEST (reference) : {total} points in {sql_secs:.2} s = {sql_rate:.0} points/s"
    );
    println!(
        "  ratio HTTP / SQL                    : {:.2}",
        http_rate / sql_rate
    );

    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    pool.close().await;
    Ok(())
}

/// (b) and (c): points/s through the endpoint and straight into PostgreSQL, and the seconds.
async fn locations(
    addr: std::net::SocketAddr,
    pool: &PgPool,
    admin: &str,
    batches: usize,
    conns: usize,
) -> anyhow::Result<(f64, f64, f64, f64)> {
    let mut http = Http::connect(addr).await?;
    // One employee per connection (each on its own device), with location consent.
    http.json(
        "POST",
        "/api/v1/consent-texts",
        Some(admin),
        &json!({"kind": "location", "body": "Bench"}),
    )
    .await?;
    let mut tokens = Vec::new();
    for c in 0..conns {
        let name = format!("walker{c}");
        http.json(
            "POST",
            "/api/v1/employees",
            Some(admin),
            &json!({"login": name, "password": PASSWORD,
            "first_name": "W", "last_name": name, "role": "user"}),
        )
        .await?;
        let t = login(&mut http, &name).await?;
        http.json(
            "POST",
            "/api/v1/me/consents",
            Some(&t),
            &json!({"kind": "location", "action": "grant"}),
        )
        .await?;
        tokens.push(t);
    }

    // Bodies prepared ahead, so the timing is the server's.
    let base = Utc::now() - chrono::Duration::days(2);
    let bodies: Vec<Vec<u8>> = (0..batches)
        .map(|b| serde_json::to_vec(&json!({"points": batch_points(b, base)})))
        .collect::<Result<_, _>>()?;
    // Warm up: partitions created, connections open.
    let warm = serde_json::to_vec(&json!({"points": batch_points(batches + 1, base)}))?;
    http.send(
        "POST",
        "/api/v1/locations/batch",
        Some(&tokens[0]),
        "application/json",
        &warm,
    )
    .await?;

    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, token) in tokens.iter().enumerate() {
        let mine: Vec<Vec<u8>> = bodies.iter().skip(c).step_by(conns).cloned().collect();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut http = Http::connect(addr).await?;
            let mut accepted = 0u64;
            for body in mine {
                let (status, resp) = http
                    .send(
                        "POST",
                        "/api/v1/locations/batch",
                        Some(&token),
                        "application/json",
                        &body,
                    )
                    .await?;
                if status != 200 {
                    bail!("batch: {status} {}", String::from_utf8_lossy(&resp));
                }
                let v: Value = serde_json::from_slice(&resp)?;
                accepted += v["accepted"].as_u64().unwrap_or(0);
            }
            anyhow::Ok(accepted)
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await??;
    }
    let http_secs = started.elapsed().as_secs_f64();
    let total = (batches * POINTS_PER_BATCH) as u64;
    if accepted != total {
        bail!("accepted {accepted} of {total} points");
    }
    let http_rate = total as f64 / http_secs;

    // Reference: the same statement straight into PostgreSQL.
    let points: Vec<Vec<LocationPoint>> = (0..batches).map(|b| batch_points(b, base)).collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..conns {
        let mine: Vec<Vec<LocationPoint>> = points.iter().skip(c).step_by(conns).cloned().collect();
        let pool: PgPool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let employee = Uuid::now_v7();
            let device = Uuid::now_v7();
            let mut n = 0;
            for batch in mine {
                let refs: Vec<&LocationPoint> = batch.iter().collect();
                let mut conn = pool.acquire().await?;
                n += faceid_server::locations::insert_points(&mut conn, employee, device, &refs)
                    .await?;
            }
            anyhow::Ok(n)
        }));
    }
    let mut direct = 0;
    for t in tasks {
        direct += t.await??;
    }
    let sql_secs = started.elapsed().as_secs_f64();
    if direct != total {
        bail!("direct insert stored {direct} of {total}");
    }
    let sql_rate = total as f64 / sql_secs;

    Ok((http_rate, sql_rate, http_secs, sql_secs))
}
