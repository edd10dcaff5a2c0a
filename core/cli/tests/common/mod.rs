//! What the device-simulator tests share: a real backend (the server's own router and `run`,
//! bound to 127.0.0.1) on a fresh database of `DATABASE_URL`'s cluster, optionally with the
//! job worker and a Telegram bot, the set-up calls over HTTP, and simulator devices
//! (`faceid client …` processes with their own state directories).
#![allow(dead_code, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use chrono::{DateTime, Utc};
use faceid_server::{AppState, Secrets, Settings};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::TcpListener;
use uuid::Uuid;

pub const PASSWORD: &str = "correct-horse-battery";
pub const ENROL: [&str; 2] = [
    "face_recognition/barack_obama/obama.jpg",
    "face_recognition/barack_obama/obama_small.jpg",
];
pub const PROBE: &str = "face_recognition/barack_obama/obama-720p.jpg";
/// Seconds one simulator request may take in these tests (the proxy's delay exceeds it).
pub const CLIENT_TIMEOUT_S: f64 = 2.0;

pub fn faces() -> Option<PathBuf> {
    let d = faceid_face::model::workspace_root().join("../shared/faces");
    d.is_dir().then_some(d)
}

/// A new database named `<prefix>_<uuid>` on `url`'s cluster, migrated: (a pool on `url` to
/// drop it with, its name, a pool on it).
pub async fn fresh_database(url: &str, prefix: &str) -> (PgPool, String, PgPool) {
    let admin_pool = PgPool::connect(url).await.expect("connect DATABASE_URL");
    let db_name = format!("{prefix}_{}", Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
        .execute(&admin_pool)
        .await
        .expect("create database");
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b.to_owned(), format!("?{q}")),
        None => (url.to_owned(), String::new()),
    };
    let base = base
        .rsplit_once('/')
        .map_or(base.clone(), |(b, _)| b.to_owned());
    let pool = PgPool::connect(&format!("{base}/{db_name}{query}"))
        .await
        .expect("connect test database");
    faceid_server::db::migrate(&pool).await.expect("migrate");
    (admin_pool, db_name, pool)
}

/// The fresh database, the server state and where it listens.
pub struct Backend {
    pub pool: PgPool,
    pub admin_pool: PgPool,
    pub db_name: String,
    pub state: AppState,
    pub addr: SocketAddr,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<()>>,
    /// With a Telegram bot ([`Backend::start_with`]): the job worker and the update poller,
    /// as `faceid-server serve` runs them, and their stop switch.
    pub background: Vec<tokio::task::JoinHandle<()>>,
    pub stop_background: Option<tokio::sync::watch::Sender<bool>>,
}

impl Backend {
    /// `None` (after saying why) when something the test needs is missing.
    pub async fn start(test: &str) -> Option<Self> {
        Self::start_with(test, |_| {}).await
    }

    /// [`Backend::start`] with settings changed by `configure`. With a Telegram bot token the
    /// bot is set up (`getMe`), and the job worker and the update poller run in the
    /// background as `faceid-server serve` runs them.
    pub async fn start_with(test: &str, configure: impl FnOnce(&mut Settings)) -> Option<Self> {
        let Ok(url) = std::env::var("DATABASE_URL") else {
            eprintln!("SKIPPED {test}: DATABASE_URL is unset (tests/support/postgres.sh)");
            return None;
        };
        let engine = faceid_server::face::FaceEngine::load(None);
        if engine.get().is_err() || faces().is_none() {
            eprintln!("SKIPPED {test}: face models (models/fetch.sh) or ../shared/faces missing");
            return None;
        }
        let (admin_pool, db_name, pool) = fresh_database(&url, "faceid_cli").await;
        let mut settings = Settings {
            photo_store_url: Some("memory:".into()),
            ..Settings::default()
        };
        configure(&mut settings);
        let telegram = faceid_server::telegram::Telegram::from_settings(&settings, pool.clone())
            .await
            .expect("Telegram bot");
        let secrets = Secrets {
            jwt_secret: b"client-faults-secret-client-faults-secret-0123".to_vec(),
            descriptor_key: [9; 32],
        };
        let state = AppState::new(pool.clone(), settings, secrets)
            .expect("state")
            .with_face_engine(engine)
            .with_telegram(telegram.clone());
        let (stop_background, stopped) = tokio::sync::watch::channel(false);
        let mut background = Vec::new();
        if let Some(tg) = telegram {
            let worker = faceid_server::jobs::Worker::new(
                pool.clone(),
                faceid_server::job_registry(&state, 90),
                faceid_server::jobs::WorkerConfig {
                    poll_interval: Duration::from_millis(50),
                    ..faceid_server::jobs::WorkerConfig::default()
                },
            );
            background.push(tokio::spawn(faceid_server::telegram::updates::run(
                tg,
                stopped.clone(),
            )));
            background.push(tokio::spawn(worker.run(stopped)));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut b = Self {
            pool,
            admin_pool,
            db_name,
            state,
            addr,
            stop: None,
            task: None,
            background,
            stop_background: Some(stop_background),
        };
        b.serve(listener);
        Some(b)
    }

    pub fn serve(&mut self, listener: TcpListener) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = self.state.clone();
        self.task = Some(tokio::spawn(async move {
            let _ = faceid_server::run(listener, state, async move {
                let _ = rx.await;
            })
            .await;
        }));
        self.stop = Some(tx);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server goes away: nothing listens on its port any more.
    pub async fn down(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }

    /// The server comes back on the same port.
    pub async fn up(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind");
        self.serve(listener);
    }

    pub async fn finish(mut self) {
        self.down().await;
        if let Some(stop) = self.stop_background.take() {
            let _ = stop.send(true);
        }
        for task in self.background.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
        self.pool.close().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.db_name
        )))
        .execute(&self.admin_pool)
        .await;
    }

    pub async fn count(&self, sql: &'static str, employee: Uuid) -> i64 {
        sqlx::query_scalar(sql)
            .bind(employee)
            .fetch_one(&self.pool)
            .await
            .expect(sql)
    }

    /// Punches, distinct punch keys, location points, distinct point times, batch keys.
    pub async fn delivered(&self, employee: Uuid) -> [i64; 5] {
        [
            self.count(
                "SELECT count(*) FROM attendance_events WHERE employee_id = $1 AND kind IN ('in', 'out')",
                employee,
            )
            .await,
            self.count(
                "SELECT count(DISTINCT idempotency_key) FROM attendance_events WHERE employee_id = $1",
                employee,
            )
            .await,
            self.count(
                "SELECT count(*) FROM location_points WHERE employee_id = $1",
                employee,
            )
            .await,
            self.count(
                "SELECT count(DISTINCT recorded_at) FROM location_points WHERE employee_id = $1",
                employee,
            )
            .await,
            self.count(
                "SELECT count(*) FROM location_batch_requests WHERE employee_id = $1",
                employee,
            )
            .await,
        ]
    }
}

pub fn http() -> reqwest::Client {
    faceid_client::http::build_client(faceid_client::http::HttpConfig::default()).expect("client")
}

pub async fn call(method: reqwest::Method, url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = http().request(method, &url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

/// A token of the administrator [`employee`] created.
pub async fn admin_token(b: &Backend) -> String {
    let admin = call(
        reqwest::Method::POST,
        format!("{}/api/v1/auth/login", b.url()),
        None,
        json!({"login": "admin", "password": PASSWORD,
               "device": {"id": Uuid::new_v4(), "name": "t", "platform": "web", "app_version": "1"}}),
    )
    .await;
    admin["access_token"].as_str().expect("token").to_owned()
}

/// An administrator, consent texts, an employee `login` with tracking every 5 s at any hour.
pub async fn employee(b: &Backend, login: &str) -> Uuid {
    faceid_server::routes::employees::create_admin(
        &b.pool,
        "admin",
        "Ada",
        "Admin",
        PASSWORD.into(),
    )
    .await
    .expect("admin");
    let token = admin_token(b).await;
    for kind in ["biometric", "location"] {
        call(
            reqwest::Method::POST,
            format!("{}/api/v1/consent-texts", b.url()),
            Some(&token),
            json!({"kind": kind, "body": format!("We process your {kind} data.")}),
        )
        .await;
    }
    let e = call(
        reqwest::Method::POST,
        format!("{}/api/v1/employees", b.url()),
        Some(&token),
        json!({"login": login, "password": PASSWORD, "first_name": "Barack",
               "last_name": "Obama", "role": "user", "must_change_password": false}),
    )
    .await;
    let id: Uuid = e["id"].as_str().expect("id").parse().expect("uuid");
    call(
        reqwest::Method::PUT,
        format!("{}/api/v1/employees/{id}/tracking-policy", b.url()),
        Some(&token),
        json!({"enabled": true, "interval_s": 5, "max_accuracy_m": 50.0}),
    )
    .await;
    id
}

/// One simulator device.
pub struct Device {
    pub state: tempfile::TempDir,
    pub server: String,
}

impl Device {
    pub fn new(server: &str) -> Self {
        Self {
            state: tempfile::tempdir().expect("tempdir"),
            server: server.to_owned(),
        }
    }

    pub fn command(&self, args: &[&str], server: Option<&str>) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_faceid"));
        c.arg("client")
            .arg("--state")
            .arg(self.state.path())
            .arg("--server")
            .arg(server.unwrap_or(&self.server))
            .arg("--timeout")
            .arg(CLIENT_TIMEOUT_S.to_string())
            .arg("--json")
            .args(args)
            .env("FACEID_PASSWORD", PASSWORD)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        c
    }

    pub async fn run_via(&self, args: &[&str], server: Option<&str>) -> Output {
        self.command(args, server)
            .output()
            .await
            .expect("run faceid client")
    }

    /// Runs and expects success; the JSON it printed.
    pub async fn ok(&self, args: &[&str]) -> Value {
        self.ok_via(args, None).await
    }

    pub async fn ok_via(&self, args: &[&str], server: Option<&str>) -> Value {
        let out = self.run_via(args, server).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "faceid client {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Login, both consents and an enrolment, synced.
    pub async fn onboard(&self, login: &str) {
        self.ok(&["login", login]).await;
        self.ok(&["consent", "grant", "biometric"]).await;
        self.ok(&["consent", "grant", "location"]).await;
        let faces = faces().expect("faces");
        let photos: Vec<String> = ENROL
            .iter()
            .map(|p| faces.join(p).display().to_string())
            .collect();
        let mut args = vec!["enrol"];
        args.extend(photos.iter().map(String::as_str));
        let v = self.ok(&args).await;
        assert_eq!(v["sync"]["left"], 0, "enrolment not delivered: {v}");
        assert_eq!(v["sync"]["dead_lettered"], 0, "enrolment refused: {v}");
    }

    /// A CSV of `n` fixes 10 s apart, ending a minute ago, walking north a metre per fix.
    pub fn track_csv(&self, name: &str, n: usize, offset_s: i64) -> PathBuf {
        let start = Utc::now() - chrono::Duration::seconds(60 + 10 * n as i64 + offset_s);
        let mut s = String::from("recorded_at,lat,lon,accuracy\n");
        for i in 0..n {
            let t: DateTime<Utc> = start + chrono::Duration::seconds(10 * i as i64);
            s.push_str(&format!(
                "{},{:.7},37.61,8\n",
                t.to_rfc3339(),
                55.75 + i as f64 * 0.00001
            ));
        }
        let path = self.state.path().join(name);
        std::fs::write(&path, s).expect("write csv");
        path
    }

    pub async fn track(&self, n: usize, offset_s: i64) {
        let csv = self.track_csv(&format!("track-{offset_s}.csv"), n, offset_s);
        let v = self
            .ok(&["track", "--csv", csv.to_str().expect("utf-8")])
            .await;
        assert_eq!(v["recorded"], n as u64, "fixes dropped: {v}");
    }

    pub async fn check_in(&self, extra: &[&str]) -> Value {
        let probe = faces().expect("faces").join(PROBE);
        let mut args = vec![
            "check-in",
            "--photo",
            probe.to_str().expect("utf-8"),
            "--lat",
            "55.75",
            "--lon",
            "37.61",
            "--accuracy",
            "10",
        ];
        args.extend_from_slice(extra);
        self.ok(&args).await
    }

    pub async fn status(&self) -> Value {
        self.ok(&["status"]).await
    }
}
