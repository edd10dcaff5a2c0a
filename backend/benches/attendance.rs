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
use chrono::Utc;
use faceid_face::{Descriptor, Engine};
use faceid_protocol::location::LocationPoint;
use faceid_server::face::FaceEngine;
use faceid_server::{AppState, Secrets, Settings};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgPool};
use uuid::Uuid;

#[path = "support/check_in.rs"]
mod check_in;
#[path = "../tests/common/multipart.rs"]
mod multipart;
use check_in::{
    Frames, Http, PASSWORD, engine_check_in, engine_references, enrolled_employee, env_usize,
    faces_dir, login, ms, percentile, punch,
};

const POINTS_PER_BATCH: usize = 1_000;

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
    let frames = Arc::new(check_in::frames(&dir)?);

    let mut http = Http::connect(addr).await?;
    let (_, first) = enrolled_employee(&mut http, admin, &dir, "puncher").await?;
    let mut tokens = vec![first];
    for _ in 1..clients {
        tokens.push(login(&mut http, "puncher").await?);
    }

    let (templates, device) = {
        let (engine, frames, dir) = (engine.clone(), frames.clone(), dir.clone());
        tokio::task::spawn_blocking(move || engine_references(&engine, &dir, &frames)).await??
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
        server_seq.push(
            punch(&mut conns[0], pool, &tokens[0], &frames, &device_json)
                .await?
                .took,
        );
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
                let took = punch(&mut c, &pool, &t, &frames, &device_json).await?.took;
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
            "first_name": "W", "last_name": name, "role": "user", "must_change_password": false}),
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
