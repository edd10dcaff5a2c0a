//! Location ingestion benchmark (not a test).
//!
//! Starts the real server on 127.0.0.1:0 against a fresh database created next to
//! `DATABASE_URL`, pushes `BENCH_BATCHES` batches of 1,000 points through
//! `POST /api/v1/locations/batch` over `BENCH_CONNECTIONS` keep-alive connections, then, for
//! reference, runs the same `INSERT … SELECT FROM UNNEST … ON CONFLICT DO NOTHING` statement
//! straight into PostgreSQL with the same number of points and connections, and prints both
//! rates and their ratio. The bench database is dropped at the end.
//!
//! `DATABASE_URL=postgres://… cargo bench -p faceid-server --bench locations`
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use faceid_protocol::location::LocationPoint;
use faceid_server::{AppState, Secrets, Settings};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgPool};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use uuid::Uuid;

const POINTS_PER_BATCH: usize = 1_000;
const PASSWORD: &str = "bench-password-123";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// A minimal HTTP/1.1 keep-alive client: enough for JSON requests to our own server.
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
        body: &[u8],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        head.push_str("\r\n");
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).await?;
        s.write_all(body).await?;
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).await?;
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
            .send(method, path, token, &serde_json::to_vec(body)?)
            .await?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            bail!("{method} {path}: {status} {v}");
        }
        Ok(v)
    }
}

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
    let pool = faceid_server::db::connect(db_url, 16).await?;
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
    let settings = Settings {
        db_max_connections: 16,
        ..Settings::default()
    };
    let secrets = Secrets {
        jwt_secret: b"bench-secret-bench-secret-bench-secret-0123".to_vec(),
        descriptor_key: [1; 32],
    };
    let state =
        AppState::new(pool.clone(), settings, secrets).map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(faceid_server::run(listener, state, async move {
        let _ = stop_rx.await;
    }));

    // One employee per connection (each on its own device), with location consent.
    let mut http = Http::connect(addr).await?;
    let login = |login: &str| {
        json!({"login": login, "password": PASSWORD,
        "device": {"id": Uuid::new_v4(), "name": "Bench phone", "platform": "android", "app_version": "1.0"}})
    };
    let admin = http
        .json("POST", "/api/v1/auth/login", None, &login("bench"))
        .await?;
    let admin = admin["access_token"].as_str().context("token")?.to_owned();
    http.json(
        "POST",
        "/api/v1/consent-texts",
        Some(&admin),
        &json!({"kind": "location", "body": "Bench"}),
    )
    .await?;
    let mut tokens = Vec::new();
    for c in 0..conns {
        let name = format!("walker{c}");
        http.json(
            "POST",
            "/api/v1/employees",
            Some(&admin),
            &json!({"login": name, "password": PASSWORD,
            "first_name": "W", "last_name": name, "role": "user"}),
        )
        .await?;
        let t = http
            .json("POST", "/api/v1/auth/login", None, &login(&name))
            .await?;
        let t = t["access_token"].as_str().context("token")?.to_owned();
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
    http.send("POST", "/api/v1/locations/batch", Some(&tokens[0]), &warm)
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
                    .send("POST", "/api/v1/locations/batch", Some(&token), &body)
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
