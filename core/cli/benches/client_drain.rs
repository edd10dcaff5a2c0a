//! Time to drain 10,000 queued location points to a local backend.
//!
//! `cargo bench --workspace --bench client_drain --profile dev` (needs DATABASE_URL; the
//! server's own router on 127.0.0.1, a fresh database of that cluster).
//!
//! The points are recorded into a real outbox (20 batch entries of 500), then one
//! `SyncEngine::drain` of the client core sends them over HTTP with a logged-in `Session`.
//! Printed: the drain time, points/s, and the server's count afterwards. Runs are repeated
//! `FACEID_BENCH_RUNS` times (default 3), each on a fresh outbox and employee.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use chrono::Utc;
use faceid_client::clock::{Clock, ServerClock, SystemClock};
use faceid_client::outbox::Outbox;
use faceid_client::session::{Session, SessionConfig};
use faceid_client::store::MemoryStore;
use faceid_client::sync::{DrainOutcome, HttpTransport, NoopListener, SyncEngine};
use faceid_protocol::auth::{DeviceInfo, Platform};
use faceid_protocol::location::LocationPoint;
use faceid_server::{AppState, Secrets, Settings};
use serde_json::{Value, json};
use uuid::Uuid;

const POINTS: usize = 10_000;
const PASSWORD: &str = "correct-horse-battery";

async fn post(url: &str, token: Option<&str>, body: Value, put: bool) -> Value {
    let method = if put {
        reqwest::Method::PUT
    } else {
        reqwest::Method::POST
    };
    common::call(method, url.to_owned(), token, body).await
}

fn main() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("SKIPPED client_drain: DATABASE_URL is unset (tests/support/postgres.sh)");
        return;
    };
    let runs: usize = std::env::var("FACEID_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench(url, runs));
}

async fn bench(url: String, runs: usize) {
    let (admin_pool, db, pool) = common::fresh_database(&url, "faceid_drain").await;
    let state = AppState::new(
        pool.clone(),
        Settings::default(),
        Secrets {
            jwt_secret: b"client-drain-bench-secret-client-drain-bench".to_vec(),
            descriptor_key: [3; 32],
        },
    )
    .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(faceid_server::run(listener, state, async move {
        let _ = stop_rx.await;
    }));

    faceid_server::routes::employees::create_admin(&pool, "admin", "A", "Admin", PASSWORD.into())
        .await
        .expect("admin");
    let device = |name: &str| json!({"id": Uuid::new_v4(), "name": name, "platform": "web", "app_version": "1"});
    let admin = post(
        &format!("{server}/api/v1/auth/login"),
        None,
        json!({"login": "admin", "password": PASSWORD, "device": device("admin")}),
        false,
    )
    .await;
    let token = admin["access_token"].as_str().expect("token").to_owned();
    post(
        &format!("{server}/api/v1/consent-texts"),
        Some(&token),
        json!({"kind": "location", "body": "We record where you are."}),
        false,
    )
    .await;

    println!("client_drain: {POINTS} points per run, server {server}, debug build of our crates");
    for run in 0..runs {
        let login = format!("walker{run}");
        post(
            &format!("{server}/api/v1/employees"),
            Some(&token),
            json!({"login": login, "password": PASSWORD, "first_name": "W", "last_name": "K", "role": "user",
                   "must_change_password": false}),
            false,
        )
        .await;
        let device_clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
        let clock = Arc::new(ServerClock::new(device_clock.clone()));
        let session = Arc::new(
            Session::new(
                SessionConfig::new(
                    &server,
                    DeviceInfo {
                        id: Uuid::now_v7(),
                        name: "bench".into(),
                        platform: Platform::Desktop,
                        app_version: "1".into(),
                    },
                ),
                Arc::new(MemoryStore::new()),
                clock.clone(),
            )
            .expect("session"),
        );
        let user = session.login(&login, PASSWORD).await.expect("login");
        let _: Value = session
            .call_json(
                reqwest::Method::POST,
                "/api/v1/me/consents",
                Some(&json!({"kind": "location", "action": "grant"})),
            )
            .await
            .expect("consent");
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Arc::new(Outbox::open_in(dir.path(), user.id).expect("outbox"));
        let start = Utc::now() - chrono::Duration::seconds(POINTS as i64 + 60);
        let points: Vec<LocationPoint> = (0..POINTS)
            .map(|i| LocationPoint {
                recorded_at: start + chrono::Duration::seconds(i as i64),
                lat: 55.75 + i as f64 * 1e-5,
                lon: 37.61,
                accuracy: 8.0,
                speed: None,
                bearing: None,
                altitude: None,
                mock: false,
                jump: false,
                battery: None,
            })
            .collect();
        outbox
            .record_points(&points, None, Utc::now())
            .expect("record");
        let engine = SyncEngine::new(
            outbox.clone(),
            Arc::new(HttpTransport::for_session(&session)),
            session.clone(),
            Arc::new(NoopListener),
            device_clock,
        );
        let t0 = Instant::now();
        let report = engine.drain(&AtomicBool::new(false)).await.expect("drain");
        let took = t0.elapsed();
        assert_eq!(report.outcome, DrainOutcome::Empty, "{report:?}");
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM location_points WHERE employee_id = $1")
                .bind(user.id)
                .fetch_one(&pool)
                .await
                .expect("count");
        assert_eq!(stored, POINTS as i64);
        println!(
            "run {}: drained {} entries / {} points in {:.0} ms = {:.0} points/s (server holds {stored})",
            run + 1,
            report.progress.sent,
            report.progress.points_accepted,
            took.as_secs_f64() * 1e3,
            POINTS as f64 / took.as_secs_f64()
        );
    }
    let _ = stop_tx.send(());
    let _ = serving.await;
    pool.close().await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&admin_pool)
    .await;
}
