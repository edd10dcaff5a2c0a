//! iiko end to end against the fake iikoServer (tests/common/fake_iiko.rs) and the real
//! PostgreSQL: the connection through the API (the password encrypted and never answered),
//! the production client's SHA-1 auth with its licence slot freed after every run (failed ones
//! included), "no connections available" as a clear state, a 401 mid-run recovered by one
//! fresh login, HTML proxy pages and slowness.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::TestApp;
use common::fake_iiko::{self as fake, FakeIiko};
use faceid_server::iiko::{Connection, IikoClient, IikoError};
use serde_json::{Value, json};
use sqlx::PgPool;

struct Rig {
    app: TestApp,
    fake: FakeIiko,
    admin: String,
}

async fn rig(pool: PgPool, staff: usize) -> Rig {
    let fake = FakeIiko::start(staff).await;
    let settings = faceid_server::Settings {
        iiko_request_timeout_secs: 1,
        ..common::settings()
    };
    let state = faceid_server::AppState::new(pool.clone(), settings, common::secrets()).unwrap();
    let app = TestApp::with_state(pool, state);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    Rig { app, fake, admin }
}

impl Rig {
    async fn put(&self, body: Value) -> common::Resp {
        self.app
            .call(
                Method::PUT,
                "/api/v1/integrations/iiko",
                Some(&self.admin),
                Some(body),
            )
            .await
    }

    /// Connects the fake through the API with `password`.
    async fn connect(&self, password: &str) {
        let r = self
            .put(json!({"server_url": self.fake.url, "login": fake::LOGIN,
                        "password": password, "department_codes": ["D1"],
                        "sync": {"employees": true, "schedules": false, "attendance": false}}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }

    async fn test(&self) -> Value {
        let r = self
            .app
            .post("/api/v1/integrations/iiko/test", &self.admin, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    fn connection(&self, timeout: Duration) -> Connection {
        Connection {
            server_url: self.fake.url.clone(),
            login: fake::LOGIN.into(),
            password: fake::PASSWORD.into(),
            timeout,
        }
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn connection_is_stored_encrypted_and_its_password_never_answered(pool: PgPool) {
    let rig = rig(pool, 3).await;
    let r = rig.app.get("/api/v1/integrations/iiko", &rig.admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "iiko_not_configured");

    // The first connection needs a password.
    let r = rig
        .put(json!({"server_url": rig.fake.url, "login": "api",
                    "sync": {"employees": true, "schedules": false, "attendance": false}}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = rig
        .put(json!({"server_url": "ftp://x", "login": "api", "password": "p",
                    "sync": {"employees": true, "schedules": false, "attendance": false}, "interval_s": 5}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["server_url", "interval_s"]);

    rig.connect(fake::PASSWORD).await;
    let r = rig.app.get("/api/v1/integrations/iiko", &rig.admin).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["login"], "api");
    assert_eq!(r.body["department_codes"], json!(["D1"]));
    assert_eq!(r.body["interval_s"], 3600);
    assert!(!r.body.to_string().contains(fake::PASSWORD));
    let stored: Vec<u8> = sqlx::query_scalar("SELECT password_ct FROM iiko_connection")
        .fetch_one(&rig.app.pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(fake::PASSWORD));

    // A PUT without a password keeps the stored one.
    let r = rig
        .put(json!({"server_url": rig.fake.url, "login": fake::LOGIN,
                    "sync": {"employees": true, "schedules": true, "attendance": false}, "interval_s": 900}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sync"]["schedules"], true);
    assert_eq!(rig.test().await["ok"], true);

    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'iiko.connection.put'
           AND NOT (after::text LIKE '%' || $1 || '%')",
    )
    .bind(fake::PASSWORD)
    .fetch_one(&rig.app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_test_logs_in_with_sha1_reads_and_always_logs_out(pool: PgPool) {
    let rig = rig(pool, 5).await;
    rig.connect(fake::PASSWORD).await;
    // Query-only logins are refused by this server: the client sends the form body too.
    rig.fake.with(|s| s.strict_form = true);
    let t = rig.test().await;
    assert_eq!(t["ok"], true, "{t}");
    // Five staff, the system account and the deleted one.
    assert_eq!(t["employees"], 7);
    assert_eq!(t["roles"], 3);
    rig.fake.with(|s| {
        assert_eq!((s.logins, s.logouts), (1, 1));
        assert!(s.tokens.is_empty());
    });

    // Wrong password: refused, no slot taken.
    rig.connect("wrong").await;
    let t = rig.test().await;
    assert_eq!(t["ok"], false);
    assert_eq!(t["error_code"], "unauthorized");
    assert_eq!(rig.fake.live_tokens(), 0);

    // A 500 after login: the run fails and the slot is still freed.
    rig.connect(fake::PASSWORD).await;
    rig.fake.with(|s| s.fail_next = 1);
    let t = rig.test().await;
    assert_eq!(t["error_code"], "server_error", "{t}");
    assert!(
        t["error"]
            .as_str()
            .unwrap()
            .contains("NullPointerException")
    );
    rig.fake.with(|s| {
        assert_eq!((s.logins, s.logouts), (2, 2));
        assert!(s.tokens.is_empty());
        assert_eq!(s.peak_tokens, 1);
    });

    // A proxy's HTML page is not an iiko answer.
    rig.fake.with(|s| s.html_next = 1);
    let t = rig.test().await;
    assert_eq!(t["error_code"], "html_page", "{t}");

    // Every run is in the log, newest first.
    let r = rig
        .app
        .get("/api/v1/integrations/iiko/log", &rig.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["total"], 4);
    let codes: Vec<Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["error_code"].clone())
        .collect();
    assert_eq!(
        codes,
        [
            json!("html_page"),
            json!("server_error"),
            json!("unauthorized"),
            Value::Null
        ]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn no_free_licence_slot_is_a_clear_retryable_state(pool: PgPool) {
    let rig = rig(pool, 2).await;
    rig.connect(fake::PASSWORD).await;
    let other = rig.fake.occupy_slot();
    let t = rig.test().await;
    assert_eq!(t["ok"], false);
    assert_eq!(t["error_code"], "no_licence");
    assert!(
        t["error"]
            .as_str()
            .unwrap()
            .contains("no connections available")
    );
    let err = IikoClient::run(&rig.connection(Duration::from_secs(2)), async |c| {
        c.roles().await
    })
    .await
    .unwrap_err();
    assert!(matches!(err, IikoError::NoLicence(_)) && err.retryable());
    rig.fake.with(|s| {
        assert_eq!(s.refused_no_licence, 2);
        // Only the other client's token is alive.
        assert_eq!(s.tokens.keys().collect::<Vec<_>>(), [&other]);
    });
    // The other client logs out: the next run gets the slot.
    rig.fake.with(|s| s.tokens.clear());
    assert_eq!(rig.test().await["ok"], true);
    assert_eq!(rig.fake.live_tokens(), 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_restart_mid_run_costs_one_fresh_login_and_still_one_logout(pool: PgPool) {
    let rig = rig(pool, 2).await;
    let fake = rig.fake.clone();
    let (roles, employees) = IikoClient::run(&rig.connection(Duration::from_secs(2)), async |c| {
        let roles = c.roles().await?;
        fake.restart();
        let employees = c.employees().await?;
        Ok((roles.len(), employees.len()))
    })
    .await
    .unwrap();
    assert_eq!((roles, employees), (3, 4));
    rig.fake.with(|s| {
        assert_eq!((s.logins, s.logouts), (2, 1));
        assert!(s.tokens.is_empty());
        // The calls after the restart: one 401, a login, the retried list.
        let tail: Vec<(&str, u16)> = s.calls[s.calls.len() - 4..]
            .iter()
            .map(|(_, p, st)| (p.as_str(), *st))
            .collect();
        assert_eq!(
            tail,
            [
                ("/resto/api/employees", 401),
                ("/resto/api/auth", 200),
                ("/resto/api/employees", 200),
                ("/resto/api/logout", 200)
            ]
        );
    });
    // An idle token expires the same way.
    rig.fake.with(|s| s.ttl = Duration::from_millis(200));
    let fake = rig.fake.clone();
    IikoClient::run(&rig.connection(Duration::from_secs(2)), async |c| {
        c.roles().await?;
        tokio::time::sleep(Duration::from_millis(400)).await;
        c.roles().await
    })
    .await
    .unwrap();
    fake.with(|s| assert_eq!((s.logins, s.logouts), (4, 2)));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_slow_server_times_out(pool: PgPool) {
    let rig = rig(pool, 1).await;
    rig.connect(fake::PASSWORD).await;
    rig.fake.with(|s| s.latency = Duration::from_millis(1500));
    let t = rig.test().await;
    assert_eq!(t["error_code"], "timeout", "{t}");
    // The server still completes the login we gave up on: that token holds the only slot
    // until it idles out (docs/iiko.md), and the next run says so.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(rig.fake.live_tokens(), 1);
    rig.fake.with(|s| s.latency = Duration::ZERO);
    assert_eq!(rig.test().await["error_code"], "no_licence");
    rig.fake.restart();
    assert_eq!(rig.test().await["ok"], true);
}
