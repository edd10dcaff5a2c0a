//! The morning rush (benchmark, not a test): every employee of a large company checks in with
//! real evidence frames within a few minutes, most of them at the end, against the real server
//! binary run as one process or as several replicas on one database.
//!
//! Set-up (untimed): a fresh database next to `DATABASE_URL`; one employee made through the
//! API (site with a geofence, biometric consent, enrolment from real photos in
//! `../shared/faces`, a login from a phone), then copied in SQL to `RUSH_EMPLOYEES` employees,
//! each with their own device, session and face templates sealed for them; access tokens
//! minted with the servers' JWT secret. Then `RUSH_REPLICAS` servers (`faceid-server serve`,
//! the binary of this build) share the database, the secrets and a photo directory.
//!
//! The rush: employee *i* arrives at a time drawn (fixed seed) so that `1 − RUSH_PEAK_SHARE`
//! of them arrive over the first two thirds of `RUSH_MINUTES` and the rest in the last third,
//! opens a connection to replica *i mod replicas*, asks for a liveness challenge and sends the
//! phone's multipart check-in (a 640 px best frame and four challenge frames, the first of them
//! the best frame's bytes as the phone sends its neutral reference, see
//! `support/check_in.rs`). Every answer must be `verified`. Latency is measured from the
//! arrival time, so queueing inside the server shows; per minute and over the whole rush.
//! A 503 `server_busy` is retried as the phone's outbox retries it: the same sealed punch (the
//! same challenge nonce) after the outbox's backoff, never before `Retry-After`
//! (`support/check_in.rs`, `phone_retry_delay`).
//!
//! Beside it: the servers' CPU (from `/proc/<pid>/stat`) and peak memory (`VmHWM`), and the
//! face engine alone on the same frames in this process (thread CPU), which gives the server's
//! CPU overhead over the engine per check-in. With `RUSH_RAMP=10,15,20,…` (check-ins/s) a
//! ramp of `RUSH_RAMP_SECS` per step follows (a second punch of employees not yet used in the
//! ramp), to find where it saturates. With `RUSH_ALTERNATE_ROUNDS=N` the overhead at saturation
//! is measured last, in `N` alternating rounds of `RUSH_ALTERNATE_CHECKINS` check-ins a side:
//! the engine alone, then the servers under a closed loop of callers (see [`alternate`]).
//!
//! `DATABASE_URL=postgres://… cargo bench --workspace --bench rush` (release build; models
//! from `FACEID_MODEL_DIR` or `models/cache`, photos from `FACEID_SHARED_DIR`/faces or
//! `../shared/faces`). A short run: `RUSH_EMPLOYEES=600 RUSH_MINUTES=1.5`. Figures: docs/operations.md.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use faceid_face::{Descriptor, Engine};
use faceid_server::auth::JwtKeys;
use faceid_server::descriptor_cipher::DescriptorCipher;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

#[path = "support/check_in.rs"]
mod check_in;
#[path = "../tests/common/multipart.rs"]
mod multipart;
mod support;

use check_in::{
    Frames, Http, PASSWORD, engine_check_in, engine_references, enrolled_employee, faces_dir,
    login, ms, percentile, punch,
};

const DB: &str = "faceid_bench_rush";
const TOKEN_TTL_SECS: u64 = 6 * 3600;
/// The target of the issue: p99 under a second at the rush.
const TARGET_P99: Duration = Duration::from_secs(1);
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

struct Config {
    employees: usize,
    minutes: f64,
    peak_share: f64,
    replicas: usize,
    /// Each replica's `face_workers`: by default the machine's cores shared out among the
    /// replicas, so that together they measure as many at once as there are cores.
    face_workers: usize,
    ramp: Vec<f64>,
    ramp_secs: f64,
    /// Rounds of the overhead comparison at saturation (0: none).
    alternate_rounds: usize,
    /// Check-ins per side of a round of that comparison.
    alternate_checkins: usize,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let num = |name: &str, default: f64| -> anyhow::Result<f64> {
            match std::env::var(name) {
                Ok(v) => v.parse().with_context(|| format!("{name}={v}")),
                Err(_) => Ok(default),
            }
        };
        let ramp = match std::env::var("RUSH_RAMP") {
            Ok(v) if !v.trim().is_empty() => v
                .split(',')
                .map(|r| {
                    r.trim()
                        .parse::<f64>()
                        .with_context(|| format!("RUSH_RAMP {r}"))
                })
                .collect::<anyhow::Result<_>>()?,
            _ => Vec::new(),
        };
        let replicas = num("RUSH_REPLICAS", 1.0)? as usize;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let c = Self {
            face_workers: num("RUSH_FACE_WORKERS", (cores / replicas.max(1)).max(1) as f64)?
                as usize,
            employees: num("RUSH_EMPLOYEES", 10_000.0)? as usize,
            minutes: num("RUSH_MINUTES", 15.0)?,
            peak_share: num("RUSH_PEAK_SHARE", 0.7)?,
            replicas,
            ramp,
            ramp_secs: num("RUSH_RAMP_SECS", 30.0)?,
            alternate_rounds: num("RUSH_ALTERNATE_ROUNDS", 0.0)? as usize,
            alternate_checkins: num("RUSH_ALTERNATE_CHECKINS", 120.0)? as usize,
        };
        if c.employees < 2 || c.minutes <= 0.0 || !(0.0..=1.0).contains(&c.peak_share) {
            bail!("RUSH_EMPLOYEES ≥ 2, RUSH_MINUTES > 0, RUSH_PEAK_SHARE in 0..=1");
        }
        if c.replicas == 0 || c.face_workers == 0 || c.ramp.iter().any(|r| *r <= 0.0) {
            bail!("RUSH_REPLICAS ≥ 1, RUSH_FACE_WORKERS ≥ 1 and ramp rates > 0");
        }
        if c.alternate_rounds > 0 && c.alternate_checkins < 2 * c.face_workers * c.replicas {
            bail!("RUSH_ALTERNATE_CHECKINS must be at least two per face worker");
        }
        Ok(c)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        println!("rush: DATABASE_URL is not set; nothing measured");
        return Ok(());
    };
    let config = Config::from_env()?;
    let result = run(&url, &config).await;
    support::drop_database(&url, DB).await;
    result
}

/// One server process.
struct Replica {
    addr: SocketAddr,
    child: tokio::process::Child,
    pid: u32,
}

impl Replica {
    fn cpu_ticks(&self) -> u64 {
        proc_cpu_ticks(&self.pid.to_string()).unwrap_or(0)
    }
    fn peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.pid, "VmHWM:").unwrap_or(0)
    }
}

/// CPU time (utime + stime, in clock ticks) of `/proc/<pid>` (`thread-self` for this thread).
fn proc_cpu_ticks(pid: &str) -> Option<u64> {
    let f = proc_stat_fields(pid)?;
    Some(f.get(10)? + f.get(11)?)
}

/// The numeric fields of a `/proc/<pid>/stat` file after the command name and the state.
fn proc_stat_fields(pid: &str) -> Option<Vec<u64>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    // The state is a letter; the numbers after it.
    Some(
        rest.split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// The PostgreSQL server process behind `pool` (the parent of its backends).
async fn postmaster_pid(pool: &PgPool) -> anyhow::Result<u64> {
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await?;
    let f = proc_stat_fields(&backend.to_string()).context("a backend's /proc stat")?;
    Ok(f[0])
}

/// CPU (clock ticks) of the PostgreSQL cluster whose server process is `postmaster`: its own,
/// that of the children it has reaped, and every live child's (backends, WAL writer, …).
fn postgres_cpu_ticks(postmaster: u64) -> u64 {
    // After the state: ppid 0, …, utime 10, stime 11, cutime 12, cstime 13.
    let own =
        proc_stat_fields(&postmaster.to_string()).map_or(0, |f| f[10] + f[11] + f[12] + f[13]);
    let children: u64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.bytes().all(|b| b.is_ascii_digit()).then_some(name)
        })
        .filter_map(|pid| proc_stat_fields(&pid))
        .filter(|f| f.first() == Some(&postmaster))
        .map(|f| f[10] + f[11])
        .sum();
    own + children
}

fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn model_dir() -> PathBuf {
    std::env::var_os("FACEID_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/cache"))
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

async fn start_replica(
    db_url: &str,
    jwt_secret: &str,
    descriptor_key: &str,
    work: &Path,
    name: &str,
    face_workers: usize,
) -> anyhow::Result<Replica> {
    let addr = free_port()?;
    let log = std::fs::File::create(work.join(format!("{name}.log")))?;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_faceid-server"))
        .args(["serve", "--data-dir"])
        .arg(work.join(name))
        .args(["--listen", &addr.to_string()])
        .env("FACEID_DATABASE_URL", db_url)
        .env("FACEID_JWT_SECRET", jwt_secret)
        .env("FACEID_DESCRIPTOR_KEY", descriptor_key)
        .env(
            "FACEID_PHOTO_STORE_URL",
            format!("file://{}", work.join("photos").display()),
        )
        .env("FACEID_MODEL_DIR", model_dir())
        .env("FACEID_MODEL_FETCH", "false")
        .env("FACEID_FACE_WORKERS", face_workers.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("starting faceid-server")?;
    let pid = child.id().context("server pid")?;
    for _ in 0..300 {
        if let Ok(mut h) = Http::connect(addr).await
            && let Ok((200, _)) = h.send("GET", "/healthz", None, "text/plain", b"").await
        {
            return Ok(Replica { addr, child, pid });
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "{name} exited with {status}: see {}",
                work.join(format!("{name}.log")).display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{name} did not answer /healthz")
}

/// Columns of `table` that an INSERT names: all but those filled by a sequence.
async fn insert_columns(pool: &PgPool, table: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = $1
            AND is_identity = 'NO' AND coalesce(column_default, '') NOT LIKE 'nextval(%'
            AND is_generated = 'NEVER'
          ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(pool)
    .await?)
}

/// Copies the row(s) of `table` where `key = value` once per object of `overrides`, each copy
/// with that object's columns replaced. Whatever columns the table has are copied, so the
/// bench follows the schema.
async fn clone_rows(
    pool: &PgPool,
    table: &str,
    key: &str,
    value: Uuid,
    overrides: Vec<Value>,
) -> anyhow::Result<u64> {
    let cols = insert_columns(pool, table).await?;
    let names = cols
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let picked = cols
        .iter()
        .map(|c| format!("r.\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO {table} ({names})
         SELECT {picked} FROM {table} t, UNNEST($2::jsonb[]) AS o(v),
                LATERAL jsonb_populate_record(NULL::{table}, to_jsonb(t) || o.v) AS r
          WHERE t.{key} = $1"
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .bind(overrides)
        .execute(pool)
        .await
        .with_context(|| format!("copying {table}"))?
        .rows_affected())
}

/// The ids of one copy of the template employee.
struct Copied {
    employee: Uuid,
    device: Uuid,
    session: Uuid,
}

/// One employee with a phone session, ready to punch.
struct Person {
    token: String,
}

/// Makes the template employee through the API and copies it `n − 1` times in SQL.
async fn people(
    pool: &PgPool,
    replica: SocketAddr,
    faces: &Path,
    jwt: &JwtKeys,
    cipher: &DescriptorCipher,
    n: usize,
) -> anyhow::Result<Vec<Person>> {
    faceid_server::routes::employees::create_admin(
        pool,
        "rush.admin",
        "Rush",
        "Admin",
        PASSWORD.into(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("admin: {e}"))?;
    let mut http = Http::connect(replica).await?;
    let admin = login(&mut http, "rush.admin").await?;
    let (first, token) = enrolled_employee(&mut http, &admin, faces, "rush.0").await?;
    let (session, device): (Uuid, Uuid) = sqlx::query_as(
        "SELECT id, device_id FROM sessions WHERE employee_id = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(first)
    .fetch_one(pool)
    .await?;

    let ids: Vec<Copied> = (1..n)
        .map(|_| Copied {
            employee: Uuid::now_v7(),
            device: Uuid::now_v7(),
            session: Uuid::now_v7(),
        })
        .collect();
    let each = |f: &dyn Fn(usize, &Copied) -> Value| -> Vec<Value> {
        ids.iter().enumerate().map(|(i, t)| f(i + 1, t)).collect()
    };
    clone_rows(
        pool,
        "employees",
        "id",
        first,
        each(&|i, Copied { employee: e, .. }| {
            json!({"id": e, "login": format!("rush.{i}"), "last_name": format!("Number {i}"),
                   "card_number": null, "iiko_id": null, "hikvision_employee_no": null})
        }),
    )
    .await?;
    clone_rows(
        pool,
        "employee_sites",
        "employee_id",
        first,
        each(&|_, Copied { employee: e, .. }| json!({"employee_id": e})),
    )
    .await?;
    clone_rows(
        pool,
        "consent_records",
        "employee_id",
        first,
        each(&|_, Copied { employee: e, .. }| json!({"employee_id": e, "device_id": null, "actor_id": null})),
    )
    .await?;
    clone_rows(
        pool,
        "devices",
        "id",
        device,
        each(&|_,
               Copied {
                   employee: e,
                   device: d,
                   ..
               }| json!({"id": d, "last_employee_id": e})),
    )
    .await?;
    clone_rows(
        pool,
        "sessions",
        "id",
        session,
        each(&|_,
               Copied {
                   employee: e,
                   device: d,
                   session: s,
               }| json!({"id": s, "employee_id": e, "device_id": d})),
    )
    .await?;
    let templates: Vec<(Uuid, String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT id, model_id, descriptor, nonce FROM face_templates WHERE employee_id = $1",
    )
    .bind(first)
    .fetch_all(pool)
    .await?;
    for (id, model, ct, nonce) in &templates {
        let d = cipher
            .open(*id, first, model, ct, nonce)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut copies = Vec::with_capacity(ids.len());
        for Copied { employee: e, .. } in &ids {
            let t = Uuid::now_v7();
            let (ct, nonce) = cipher.seal(t, *e, &d).map_err(|e| anyhow::anyhow!("{e}"))?;
            copies.push(json!({"id": t, "employee_id": e,
                               "descriptor": format!("\\x{}", hex::encode(ct)),
                               "nonce": format!("\\x{}", hex::encode(nonce))}));
        }
        clone_rows(pool, "face_templates", "id", *id, copies).await?;
    }
    let now = chrono::Utc::now();
    let mut out = vec![Person { token }];
    for Copied {
        employee: e,
        device: d,
        session: s,
    } in &ids
    {
        let (token, _) = jwt
            .issue(*e, *s, *d, now, TOKEN_TTL_SECS)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        out.push(Person { token });
    }
    Ok(out)
}

/// The engine's CPU time for one check-in on these frames, alone on one thread of this
/// process: the reference the servers' CPU per check-in is compared with.
fn engine_cpu_per_check_in(
    engine: &Engine,
    frames: &Frames,
    templates: &[Descriptor],
    device: &Descriptor,
    rounds: usize,
) -> anyhow::Result<Duration> {
    let before = proc_cpu_ticks("thread-self").context("thread CPU")?;
    for _ in 0..rounds {
        if !engine_check_in(engine, frames, templates, device)? {
            bail!("the engine alone does not verify the rush's frames");
        }
    }
    let after = proc_cpu_ticks("thread-self").context("thread CPU")?;
    Ok(Duration::from_secs_f64(
        (after - before) as f64 / CLOCK_TICKS_PER_SEC / rounds as f64,
    ))
}

/// What the engine alone is measured on: the engine, the frames, the employee's templates and
/// the phone's descriptor.
type Reference = Arc<(Arc<Engine>, Arc<Frames>, Vec<Descriptor>, Descriptor)>;

/// The engine alone on `threads` threads at once (they compete for the same caches and memory
/// bandwidth as the servers' workers), `per_thread` check-ins each.
struct EngineAlone {
    /// On-CPU time per check-in (mean of the threads).
    cpu: Duration,
    /// Check-ins per second of wall time, all threads together.
    per_second: f64,
}

async fn engine_alone(
    reference: Reference,
    threads: usize,
    per_thread: usize,
) -> anyhow::Result<EngineAlone> {
    let wall = Instant::now();
    let runs: Vec<_> = (0..threads)
        .map(|_| {
            let reference = reference.clone();
            tokio::task::spawn_blocking(move || {
                let (engine, frames, templates, device) = &*reference;
                engine_cpu_per_check_in(engine, frames, templates, device, per_thread)
            })
        })
        .collect();
    let mut sum = Duration::ZERO;
    for r in runs {
        sum += r.await??;
    }
    Ok(EngineAlone {
        cpu: sum / threads as u32,
        per_second: (threads * per_thread) as f64 / wall.elapsed().as_secs_f64(),
    })
}

/// What one arrival gave.
struct Outcome {
    /// Seconds after the start at which the employee arrived.
    arrived: f64,
    /// From the arrival to the check-in's answer (the challenge request included).
    latency: Duration,
    /// How often the server answered 503 `server_busy` before taking the punch.
    busy: u32,
    failure: Option<String>,
}

/// What every arrival shares.
#[derive(Clone)]
struct Crowd {
    people: Arc<Vec<Person>>,
    replicas: Arc<Vec<SocketAddr>>,
    pool: PgPool,
    frames: Arc<Frames>,
    device: Arc<Value>,
}

/// One employee's punch on a connection of its own, as its outcome.
async fn attempt(crowd: &Crowd, who: usize, arrived: f64, at: tokio::time::Instant) -> Outcome {
    let addr = crowd.replicas[who % crowd.replicas.len()];
    let result = async {
        let mut http = Http::connect(addr).await?;
        let token = &crowd.people[who].token;
        punch(&mut http, &crowd.pool, token, &crowd.frames, &crowd.device).await
    }
    .await;
    let latency = at.elapsed();
    match result {
        Ok(p) => Outcome {
            arrived,
            latency,
            busy: p.busy,
            failure: None,
        },
        Err(e) => Outcome {
            arrived,
            latency,
            busy: 0,
            failure: Some(format!("{e:#}")),
        },
    }
}

fn task_failure(e: tokio::task::JoinError) -> Outcome {
    Outcome {
        arrived: 0.0,
        latency: Duration::ZERO,
        busy: 0,
        failure: Some(format!("task: {e}")),
    }
}

/// Sends one punch per `(offset, person)` at its offset from now; each on its own connection.
async fn drive(crowd: &Crowd, arrivals: Vec<(f64, usize)>) -> Vec<Outcome> {
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(arrivals.len());
    for (offset, who) in arrivals {
        let crowd = crowd.clone();
        tasks.push(tokio::spawn(async move {
            let at = start + Duration::from_secs_f64(offset);
            tokio::time::sleep_until(at).await;
            attempt(&crowd, who, offset, at).await
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap_or_else(task_failure));
    }
    out
}

/// `n` punches from `clients` callers at once, each sending its next punch as soon as the
/// last is answered, so the servers always have work queued (saturation without refusals):
/// employees `first..` in turn, starting over when they run out.
async fn drive_closed(crowd: &Crowd, clients: usize, first: usize, n: usize) -> Vec<Outcome> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = tokio::time::Instant::now();
    let span = crowd.people.len() - first;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (crowd, next) = (crowd.clone(), next.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= n {
                        return out;
                    }
                    let at = tokio::time::Instant::now();
                    let arrived = (at - start).as_secs_f64();
                    out.push(attempt(&crowd, first + k % span, arrived, at).await);
                }
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        match t.await {
            Ok(o) => out.extend(o),
            Err(e) => out.push(task_failure(e)),
        }
    }
    out
}

/// The arrival offsets (seconds) of the rush, fixed seed: the early share spread over the first
/// two thirds, the rest over the last third.
fn rush_arrivals(c: &Config) -> Vec<(f64, usize)> {
    let total = c.minutes * 60.0;
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_207);
    let early = ((1.0 - c.peak_share) * c.employees as f64).round() as usize;
    let mut v: Vec<(f64, usize)> = (0..c.employees)
        .map(|i| {
            let t = if i < early {
                rng.random_range(0.0..total * 2.0 / 3.0)
            } else {
                rng.random_range(total * 2.0 / 3.0..total)
            };
            (t, i)
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

struct Summary {
    done: usize,
    failed: usize,
    /// Punches that were answered 503 `server_busy` at least once before being taken.
    delayed: usize,
    /// All 503 `server_busy` answers.
    busy_answers: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

fn summarise(o: &[&Outcome]) -> Summary {
    let mut lat: Vec<Duration> = o
        .iter()
        .filter(|o| o.failure.is_none())
        .map(|o| o.latency)
        .collect();
    lat.sort();
    let p = |q| {
        if lat.is_empty() {
            f64::NAN
        } else {
            ms(percentile(&lat, q))
        }
    };
    Summary {
        done: lat.len(),
        failed: o.len() - lat.len(),
        delayed: o.iter().filter(|o| o.busy > 0).count(),
        busy_answers: o.iter().map(|o| o.busy as usize).sum(),
        p50: p(50.0),
        p90: p(90.0),
        p99: p(99.0),
        max: lat.last().map_or(f64::NAN, |d| ms(*d)),
    }
}

async fn run(url: &str, c: &Config) -> anyhow::Result<()> {
    let faces = faces_dir()?;
    let pool = support::fresh_database(url, DB, 8).await;
    let db_url = {
        let base = url.split('?').next().unwrap_or(url);
        let query = &url[base.len()..];
        format!(
            "{}/{DB}{query}",
            &base[..base.rfind('/').context("DATABASE_URL path")?]
        )
    };
    let work = tempfile::tempdir()?;
    let jwt_secret = hex::encode(rand::random::<[u8; 32]>());
    let key = rand::random::<[u8; 32]>();
    let mut replicas = Vec::new();
    for r in 0..c.replicas {
        replicas.push(
            start_replica(
                &db_url,
                &jwt_secret,
                &hex::encode(key),
                work.path(),
                &format!("replica{r}"),
                c.face_workers,
            )
            .await?,
        );
    }
    let addrs: Arc<Vec<SocketAddr>> = Arc::new(replicas.iter().map(|r| r.addr).collect());

    let started = Instant::now();
    let people = people(
        &pool,
        addrs[0],
        &faces,
        &JwtKeys::new(jwt_secret.as_bytes()),
        &DescriptorCipher::new(&key),
        c.employees,
    )
    .await?;
    let setup = started.elapsed();

    let frames = Arc::new(check_in::frames(&faces)?);
    let client_pool = client_pool(&db_url).await?;
    let engine = faceid_server::face::FaceEngine::load(Some(&model_dir()))
        .get()
        .map_err(|_| {
            anyhow::anyhow!("face models missing: bash models/fetch.sh (or FACEID_MODEL_DIR)")
        })?;
    let (templates, device) = engine_references(&engine, &faces, &frames)?;
    let crowd = Crowd {
        people: Arc::new(people),
        replicas: addrs.clone(),
        pool: client_pool.clone(),
        frames: frames.clone(),
        device: Arc::new(json!({"model": device.model.0, "values": device.values})),
    };
    // Warm-up (untimed): each replica's first inferences.
    for (r, addr) in addrs.iter().enumerate() {
        let mut h = Http::connect(*addr).await?;
        punch(
            &mut h,
            &pool,
            &crowd.people[r].token,
            &frames,
            &crowd.device,
        )
        .await?;
    }
    // The engine alone, on as many threads at once as the servers measure (they compete for
    // the same caches and memory bandwidth), before the rush and again after it.
    let threads = c.face_workers * c.replicas;
    let reference: Reference = Arc::new((engine.clone(), frames.clone(), templates, device));
    let engine_round = || engine_alone(reference.clone(), threads, 10);
    let engine_before = engine_round().await?.cpu;
    // Those who punched in the warm-up do not arrive again.
    let arrivals: Vec<(f64, usize)> = rush_arrivals(c)
        .into_iter()
        .filter(|(_, who)| *who >= addrs.len())
        .collect();

    let postmaster = postmaster_pid(&pool).await?;
    let cpu_before: Vec<u64> = replicas.iter().map(Replica::cpu_ticks).collect();
    let pg_before = servers_pg_ticks(postmaster, &client_pool).await?;
    let wall = Instant::now();
    let outcomes = drive(&crowd, arrivals).await;
    let rush_wall = wall.elapsed();
    let pg_cpu = (servers_pg_ticks(postmaster, &client_pool)
        .await?
        .saturating_sub(pg_before)) as f64
        / CLOCK_TICKS_PER_SEC;
    let engine_after = engine_round().await?.cpu;
    let engine_cpu = (engine_before + engine_after) / 2;
    let cpu: Vec<f64> = replicas
        .iter()
        .zip(&cpu_before)
        .map(|(r, b)| (r.cpu_ticks() - b) as f64 / CLOCK_TICKS_PER_SEC)
        .collect();

    let total = c.minutes * 60.0;
    println!(
        "rush: {} employees, {:.1} min ({:.0}% in the last third), {} replica(s) with face_workers = {}, {} build; set-up {:.1} s",
        c.employees,
        c.minutes,
        c.peak_share * 100.0,
        c.replicas,
        c.face_workers,
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        },
        setup.as_secs_f64()
    );
    println!("  minute  arrivals/s  verified  failed  delayed   p50 ms   p99 ms   max ms");
    let minutes = total / 60.0;
    for m in 0..minutes.ceil() as usize {
        let (lo, hi) = (m as f64 * 60.0, ((m + 1) as f64 * 60.0).min(total));
        let slice: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.arrived >= lo && o.arrived < hi)
            .collect();
        let s = summarise(&slice);
        println!(
            "  {:>6}  {:>10.1}  {:>8}  {:>6}  {:>7}  {:>7.0}  {:>7.0}  {:>7.0}",
            m + 1,
            slice.len() as f64 / (hi - lo),
            s.done,
            s.failed,
            s.delayed,
            s.p50,
            s.p99,
            s.max
        );
    }
    let peak_from = total * 2.0 / 3.0;
    let all: Vec<&Outcome> = outcomes.iter().collect();
    let peak: Vec<&Outcome> = outcomes.iter().filter(|o| o.arrived >= peak_from).collect();
    for (name, set, secs) in [
        ("whole rush", &all, total),
        ("last third", &peak, total - peak_from),
    ] {
        let s = summarise(set);
        println!(
            "  {name}: {} arrivals ({:.1}/s), {} verified, {} failed, {} delayed by 503 server_busy; latency p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            set.len(),
            set.len() as f64 / secs,
            s.done,
            s.failed,
            s.delayed,
            s.p50,
            s.p90,
            s.p99,
            s.max
        );
    }
    let s = summarise(&peak);
    println!(
        "  target p99 < {} ms in the last third: {}",
        TARGET_P99.as_millis(),
        if s.failed == 0 && s.p99 < ms(TARGET_P99) {
            "met"
        } else {
            "NOT met"
        }
    );
    let whole = summarise(&all);
    let verified = whole.done.max(1) as f64;
    // Every check-in request answered: the verified, the refused as busy, the failed.
    let answered = (whole.done + whole.busy_answers + whole.failed).max(1) as f64;
    let server_cpu: f64 = cpu.iter().sum();
    println!(
        "  servers' CPU {:.1} s over {:.1} s ({:.2} cores); per verified check-in {:.1} ms (per request answered {:.1} ms, {} of them 503 server_busy) against the engine alone {:.1} ms: overhead {:+.1}%",
        server_cpu,
        rush_wall.as_secs_f64(),
        server_cpu / rush_wall.as_secs_f64(),
        server_cpu * 1000.0 / verified,
        server_cpu * 1000.0 / answered,
        whole.busy_answers,
        ms(engine_cpu),
        (server_cpu / verified / engine_cpu.as_secs_f64() - 1.0) * 100.0
    );
    println!(
        "  the engine alone on {threads} thread(s): {:.1} ms before the rush, {:.1} ms after",
        ms(engine_before),
        ms(engine_after)
    );
    println!(
        "  PostgreSQL's CPU {:.1} s ({:.1} ms per verified check-in); servers and PostgreSQL together: overhead {:+.1}% over the engine",
        pg_cpu,
        pg_cpu * 1000.0 / verified,
        ((server_cpu + pg_cpu) / verified / engine_cpu.as_secs_f64() - 1.0) * 100.0
    );
    for (i, r) in replicas.iter().enumerate() {
        println!(
            "  replica{i}: CPU {:.1} s, peak memory {:.0} MiB",
            cpu[i],
            r.peak_rss_kib() as f64 / 1024.0
        );
    }
    let mut failures: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o.failure.as_deref())
        .collect();
    failures.sort_unstable();
    failures.dedup();
    for f in failures.iter().take(5) {
        println!("  failure: {f}");
    }

    if !c.ramp.is_empty() {
        println!(
            "  ramp (a second punch of other employees, {:.0} s per step):",
            c.ramp_secs
        );
        let workers = (c.face_workers * c.replicas) as f64;
        println!(
            "    (the engine alone on {workers} threads would do {:.1}/s at {:.1} ms of CPU each)",
            workers / engine_cpu.as_secs_f64(),
            ms(engine_cpu)
        );
        println!(
            "    offered/s  verified/s  failed  delayed   p50 ms   p99 ms  server ms/check-in  PostgreSQL ms/check-in"
        );
        let mut next = addrs.len();
        for rate in &c.ramp {
            let n = (rate * c.ramp_secs).round() as usize;
            if next + n > crowd.people.len() {
                println!("    {rate:>9.1}  (not enough employees left for this step)");
                break;
            }
            let arrivals: Vec<(f64, usize)> = (0..n).map(|k| (k as f64 / rate, next + k)).collect();
            next += n;
            let cpu_before: u64 = replicas.iter().map(Replica::cpu_ticks).sum();
            let pg_before = servers_pg_ticks(postmaster, &client_pool).await?;
            let t = Instant::now();
            let o = drive(&crowd, arrivals).await;
            let secs = t.elapsed().as_secs_f64();
            let server_ms = (replicas.iter().map(Replica::cpu_ticks).sum::<u64>() - cpu_before)
                as f64
                / CLOCK_TICKS_PER_SEC
                * 1000.0;
            let pg_ms = (servers_pg_ticks(postmaster, &client_pool)
                .await?
                .saturating_sub(pg_before)) as f64
                / CLOCK_TICKS_PER_SEC
                * 1000.0;
            let s = summarise(&o.iter().collect::<Vec<_>>());
            let per = s.done.max(1) as f64;
            println!(
                "    {:>9.1}  {:>10.1}  {:>6}  {:>7}  {:>7.0}  {:>7.0}  {:>18.1}  {:>22.1}{}",
                rate,
                s.done as f64 / secs,
                s.failed,
                s.delayed,
                s.p50,
                s.p99,
                server_ms / per,
                pg_ms / per,
                if s.p99 > ms(TARGET_P99) || s.failed > 0 || s.delayed > 0 {
                    "  ← saturated"
                } else {
                    ""
                }
            );
        }
    }
    if c.alternate_rounds > 0 {
        let first = addrs.len();
        alternate(
            c,
            &crowd,
            &replicas,
            postmaster,
            &client_pool,
            first,
            || engine_alone(reference.clone(), threads, c.alternate_checkins / threads),
        )
        .await?;
    }
    for mut r in replicas {
        r.child.kill().await.ok();
    }
    Ok(())
}

/// The servers' overhead over the engine at saturation, in alternating rounds (the machine's
/// speed drifts by tens of percent over minutes, so only neighbours compare): each round runs
/// the engine alone on as many threads as the servers have face workers, then the servers
/// saturated by a closed loop of callers, the same number of check-ins each. Per round: the
/// servers' CPU and PostgreSQL's (its backends serving the bench's own statements left out)
/// per verified check-in against the engine's, and verified check-ins per second against the
/// engine's (which also charges the callers' own CPU to the servers). Medians of the rounds.
async fn alternate<F, Fut>(
    c: &Config,
    crowd: &Crowd,
    replicas: &[Replica],
    postmaster: u64,
    client_pool: &PgPool,
    first: usize,
    engine_round: F,
) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<EngineAlone>>,
{
    let workers = c.face_workers * c.replicas;
    let clients = 2 * workers + 2;
    println!(
        "  overhead at saturation, {} alternating rounds of {} check-ins each side ({clients} callers, {workers} engine threads):",
        c.alternate_rounds, c.alternate_checkins
    );
    println!(
        "    round  engine ms  engine/s  server ms  PostgreSQL ms  verified/s  failed  CPU overhead  rate overhead"
    );
    let (mut cpu_over, mut rate_over, mut pg_share) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=c.alternate_rounds {
        let engine = engine_round().await?;
        let cpu_before: u64 = replicas.iter().map(Replica::cpu_ticks).sum();
        let pg_before = servers_pg_ticks(postmaster, client_pool).await?;
        let t = Instant::now();
        let o = drive_closed(crowd, clients, first, c.alternate_checkins).await;
        let secs = t.elapsed().as_secs_f64();
        let server_ticks = replicas.iter().map(Replica::cpu_ticks).sum::<u64>() - cpu_before;
        let pg_ticks = servers_pg_ticks(postmaster, client_pool)
            .await?
            .saturating_sub(pg_before);
        let s = summarise(&o.iter().collect::<Vec<_>>());
        let per = s.done.max(1) as f64;
        let server_ms = server_ticks as f64 / CLOCK_TICKS_PER_SEC * 1000.0 / per;
        let pg_ms = pg_ticks as f64 / CLOCK_TICKS_PER_SEC * 1000.0 / per;
        let engine_ms = ms(engine.cpu);
        let rate = s.done as f64 / secs;
        let over_cpu = (server_ms + pg_ms) / engine_ms - 1.0;
        let over_rate = engine.per_second / rate - 1.0;
        println!(
            "    {round:>5}  {engine_ms:>9.1}  {:>8.1}  {server_ms:>9.1}  {pg_ms:>13.1}  {rate:>10.1}  {:>6}  {:>+11.1}%  {:>+12.1}%",
            engine.per_second,
            s.failed,
            over_cpu * 100.0,
            over_rate * 100.0
        );
        cpu_over.push(over_cpu);
        rate_over.push(over_rate);
        pg_share.push(pg_ms / engine_ms);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2] * 100.0
    };
    println!(
        "    median: servers + PostgreSQL {:+.1}% CPU per verified check-in over the engine (PostgreSQL {:.1}% of it), {:+.1}% in check-ins per second",
        median(&mut cpu_over),
        median(&mut pg_share),
        median(&mut rate_over)
    );
    Ok(())
}

/// The application name of the bench's own database connections (it fixes each challenge's
/// head movements to match its recorded frames), so that their CPU can be left out of what
/// PostgreSQL spends for the servers.
const CLIENT_APP: &str = "faceid-rush-client";

/// The bench's own connections: a fixed set, so the backends whose CPU is left out stay the same.
async fn client_pool(db_url: &str) -> anyhow::Result<PgPool> {
    let opts: PgConnectOptions = db_url.parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(4)
        .min_connections(4)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(opts.application_name(CLIENT_APP))
        .await?)
}

/// CPU (clock ticks) PostgreSQL has spent for the servers: all of the cluster's but the
/// backends serving the bench's own connections.
async fn servers_pg_ticks(postmaster: u64, client_pool: &PgPool) -> anyhow::Result<u64> {
    let clients = client_backend_ticks(client_pool).await?;
    Ok(postgres_cpu_ticks(postmaster).saturating_sub(clients))
}

/// CPU (clock ticks) of the PostgreSQL backends serving the bench's own connections.
async fn client_backend_ticks(pool: &PgPool) -> anyhow::Result<u64> {
    let pids: Vec<i32> =
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE application_name = $1")
            .bind(CLIENT_APP)
            .fetch_all(pool)
            .await?;
    Ok(pids
        .iter()
        .filter_map(|p| proc_cpu_ticks(&p.to_string()))
        .sum())
}
