//! iiko end to end against the fake iikoServer (tests/common/fake_iiko.rs) and the real
//! PostgreSQL: the connection through the API (the password encrypted and never answered),
//! the production client's SHA-1 auth with its licence slot freed after every run (failed ones
//! included), "no connections available" as a clear state, a 401 mid-run recovered by one
//! fresh login, HTML proxy pages and slowness.

mod common;

use std::collections::HashMap;
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

impl Rig {
    async fn sync(&self, dry_run: bool) -> Value {
        let r = self
            .app
            .post(
                &format!("/api/v1/integrations/iiko/sync?dry_run={dry_run}"),
                &self.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    /// (employees, positions, employee links, position links, max employee updated_at).
    async fn snapshot(&self) -> (i64, i64, i64, i64, String) {
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM employees), (SELECT count(*) FROM positions),
                    (SELECT count(*) FROM iiko_employees), (SELECT count(*) FROM iiko_positions),
                    (SELECT max(updated_at)::text FROM employees)",
        )
        .fetch_one(&self.app.pool)
        .await
        .unwrap()
    }
}

fn counts(report: &Value) -> (i64, i64, i64, i64) {
    let c = &report["counts"];
    (
        c["created"].as_i64().unwrap(),
        c["updated"].as_i64().unwrap(),
        c["skipped"].as_i64().unwrap(),
        c["conflicts"].as_i64().unwrap(),
    )
}

fn kinds(report: &Value, kind: &str) -> usize {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .count()
}

#[sqlx::test(migrations = "./migrations")]
async fn first_import_of_300_previewed_then_run_then_nothing_to_do(pool: PgPool) {
    let rig = rig(pool, 300).await;
    rig.connect(fake::PASSWORD).await;
    // Someone already here with personnel number 2: linked, not duplicated.
    let mut body = common::user_body("already.here", None);
    body["card_number"] = json!("2");
    let existing = rig.app.create_employee(&rig.admin, body).await;

    let before = rig.snapshot().await;
    let preview = rig.sync(true).await;
    assert_eq!(preview["dry_run"], true);
    // 299 employees and 3 positions created, one existing employee linked (and renamed),
    // the system account skipped; the deleted employee not imported.
    assert_eq!(counts(&preview), (302, 1, 1, 0), "{}", preview["counts"]);
    assert_eq!(kinds(&preview, "employee_linked"), 1);
    assert_eq!(kinds(&preview, "skipped_system"), 1);
    assert_eq!(rig.snapshot().await, before, "a dry run writes nothing");

    let run = rig.sync(false).await;
    assert_eq!(counts(&run), counts(&preview));
    assert_eq!(run["changes"], preview["changes"]);
    let (employees, positions, links, position_links, _) = rig.snapshot().await;
    assert_eq!(
        (employees, positions, links, position_links),
        (301, 3, 300, 3)
    );
    rig.fake.with(|s| {
        assert_eq!(s.logins, s.logouts);
        assert!(s.tokens.is_empty());
    });

    // New people: no password, flagged, with their position; the existing one kept.
    let (login, position, review): (String, String, bool) = sqlx::query_as(
        "SELECT e.login, p.name, l.needs_review FROM employees e
         JOIN positions p ON p.id = e.position_id JOIN iiko_employees l ON l.employee_id = e.id
         WHERE e.card_number = '3'",
    )
    .fetch_one(&rig.app.pool)
    .await
    .unwrap();
    assert_eq!(
        (login.as_str(), position.as_str(), review),
        ("staff3", "Cook", true)
    );
    let r = rig
        .app
        .login_on("staff3", "!iiko-no-password", uuid::Uuid::now_v7())
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let (first, review): (String, bool) = sqlx::query_as(
        "SELECT e.first_name, l.needs_review FROM employees e
         JOIN iiko_employees l ON l.employee_id = e.id WHERE e.id = $1",
    )
    .bind(existing)
    .fetch_one(&rig.app.pool)
    .await
    .unwrap();
    assert_eq!((first.as_str(), review), ("First2", false));

    // A second run changes nothing.
    let snap = rig.snapshot().await;
    let again = rig.sync(false).await;
    assert_eq!(counts(&again), (0, 0, 1, 0), "{}", again["changes"]);
    assert_eq!(rig.snapshot().await, snap);

    // The log has the three runs.
    let log = rig
        .app
        .get("/api/v1/integrations/iiko/log", &rig.admin)
        .await;
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[2]["dry_run"], true);
    assert_eq!(items[1]["created"], 302);
    assert_eq!(items[0]["created"], 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn renames_moves_and_deletions_follow_iiko_dismissal_waits_for_confirmation(pool: PgPool) {
    let rig = rig(pool, 12).await;
    rig.connect(fake::PASSWORD).await;
    rig.sync(false).await;
    rig.fake
        .employee_mut("5", |e| e.last_name = "Married".into());
    rig.fake.employee_mut("7", |e| {
        e.main_role_code = Some("BAR".into());
        e.role_codes = vec!["BAR".into()];
    });
    rig.fake.employee_mut("10", |e| e.deleted = true);
    // Moved out of the imported departments: gone too.
    rig.fake
        .employee_mut("11", |e| e.department_codes = vec!["D2".into()]);
    rig.fake.with(|s| s.roles[0].name = "Server".into());

    let preview = rig.sync(true).await;
    let run = rig.sync(false).await;
    assert_eq!(run["changes"], preview["changes"]);
    // Renamed position, two employees updated, two marked gone.
    assert_eq!(counts(&run), (0, 5, 1, 0), "{}", run["changes"]);
    assert_eq!(kinds(&run, "awaiting_dismissal"), 2);
    let row = |code: &'static str| {
        let pool = rig.app.pool.clone();
        async move {
            sqlx::query_as::<_, (String, String, String)>(
                "SELECT e.last_name, p.name, e.status FROM employees e
                 JOIN positions p ON p.id = e.position_id WHERE e.card_number = $1",
            )
            .bind(code)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        row("5").await,
        ("Married".into(), "Server".into(), "active".into())
    );
    assert_eq!(
        row("7").await,
        ("Last7".into(), "Barista".into(), "active".into())
    );
    assert_eq!(
        row("10").await.2,
        "active",
        "not dismissed without confirmation"
    );

    // A second run reports them again but changes nothing.
    let again = rig.sync(false).await;
    assert_eq!(counts(&again), (0, 0, 1, 0));
    assert_eq!(kinds(&again, "awaiting_dismissal"), 2);

    let pending = rig
        .app
        .get("/api/v1/integrations/iiko/dismissals", &rig.admin)
        .await;
    let ids: Vec<Value> = pending
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["employee_id"].clone())
        .collect();
    assert_eq!(ids.len(), 2);
    let active: Value =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM employees WHERE card_number = '4'")
            .fetch_one(&rig.app.pool)
            .await
            .map(|id| json!(id))
            .unwrap();
    let r = rig
        .app
        .post(
            "/api/v1/integrations/iiko/dismissals",
            &rig.admin,
            json!({"employee_ids": [ids[0], active]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "not_awaiting_dismissal");
    assert_eq!(row("10").await.2, "active", "all or none");
    let r = rig
        .app
        .post(
            "/api/v1/integrations/iiko/dismissals",
            &rig.admin,
            json!({"employee_ids": ids}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(row("10").await.2, "dismissed");
    assert_eq!(row("11").await.2, "dismissed");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'employee.dismiss'")
            .fetch_one(&rig.app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 2);
    let pending = rig
        .app
        .get("/api/v1/integrations/iiko/dismissals", &rig.admin)
        .await;
    assert_eq!(pending.body, json!([]));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_failed_import_frees_the_slot_and_the_job_retries_it(pool: PgPool) {
    let rig = rig(pool, 4).await;
    rig.connect(fake::PASSWORD).await;
    rig.fake.with(|s| s.fail_next = 1);
    let r = rig
        .app
        .post("/api/v1/integrations/iiko/sync", &rig.admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.code(), "iiko_unavailable");
    rig.fake.with(|s| {
        assert_eq!((s.logins, s.logouts), (1, 1));
        assert!(s.tokens.is_empty());
    });
    assert_eq!(rig.snapshot().await.2, 0);

    // The periodic job: one import per interval, a full licence retried, then done.
    let now = chrono::Utc::now();
    assert!(
        faceid_server::iiko::schedule_import(&rig.app.pool, now)
            .await
            .unwrap()
    );
    assert!(
        !faceid_server::iiko::schedule_import(&rig.app.pool, now)
            .await
            .unwrap()
    );
    let other = rig.fake.occupy_slot();
    let worker = faceid_server::jobs::Worker::new(
        rig.app.pool.clone(),
        faceid_server::job_registry(&rig.app.state, 90),
        faceid_server::jobs::WorkerConfig::default(),
    );
    worker.drain().await.unwrap();
    let (state, error): (String, Option<String>) =
        sqlx::query_as("SELECT state, last_error FROM jobs WHERE kind = 'iiko.import'")
            .fetch_one(&rig.app.pool)
            .await
            .unwrap();
    assert_eq!(state, "queued", "retried later");
    assert!(error.unwrap().contains("no iikoServer licence slot free"));
    rig.fake.with(|s| s.tokens.remove(&other));
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'iiko.import'")
        .execute(&rig.app.pool)
        .await
        .unwrap();
    worker.drain().await.unwrap();
    let state: String = sqlx::query_scalar("SELECT state FROM jobs WHERE kind = 'iiko.import'")
        .fetch_one(&rig.app.pool)
        .await
        .unwrap();
    assert_eq!(state, "done");
    assert_eq!(rig.snapshot().await.2, 4);
    assert_eq!(rig.fake.live_tokens(), 0);
}

/// Inserts an attendance event as the attendance module stores it (the hash chain is not
/// this test's concern: unique bytes). Answers its id.
async fn event(
    pool: &PgPool,
    employee: uuid::Uuid,
    kind: &str,
    punch_kind: Option<&str>,
    at: chrono::DateTime<chrono::FixedOffset>,
    verdict: &str,
    refers_to: Option<i64>,
) -> i64 {
    let mut hash = uuid::Uuid::new_v4().as_bytes().to_vec();
    hash.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    sqlx::query_scalar(
        "INSERT INTO attendance_events (public_id, employee_id, kind, punch_kind, occurred_at,
                verdict, refers_to, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(employee)
    .bind(kind)
    .bind(punch_kind)
    .bind(at)
    .bind(verdict)
    .bind(refers_to)
    .bind(vec![0u8; 32])
    .bind(hash)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// November 2026 in the restaurant's zone (UTC+3).
fn nov(day: u32, h: u32, m: u32, s: u32) -> chrono::DateTime<chrono::FixedOffset> {
    use chrono::TimeZone;
    fake::tz().with_ymd_and_hms(2026, 11, day, h, m, s).unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_month_of_attendance_exported_corrected_and_overlaps_reported(pool: PgPool) {
    let rig = rig(pool, 3).await;
    rig.connect(fake::PASSWORD).await;
    rig.sync(false).await;
    let pool = rig.app.pool.clone();
    let emp = |code: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM employees WHERE card_number = $1")
                .bind(code)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (e1, e2, e3) = (emp("1").await, emp("2").await, emp("3").await);
    let mut outs = HashMap::new();
    let mut ins = HashMap::new();
    for day in 1..=20 {
        for e in [e1, e2] {
            ins.insert(
                (e, day),
                event(&pool, e, "in", None, nov(day, 9, 0, 30), "verified", None).await,
            );
            outs.insert(
                (e, day),
                event(&pool, e, "out", None, nov(day, 18, 0, 45), "verified", None).await,
            );
        }
    }
    // Never exported: a pending flagged pair, a rejected check-in, an open interval.
    event(&pool, e1, "in", None, nov(21, 9, 0, 0), "flagged", None).await;
    event(&pool, e1, "out", None, nov(21, 18, 0, 0), "flagged", None).await;
    event(&pool, e2, "in", None, nov(21, 9, 0, 0), "rejected", None).await;
    event(&pool, e2, "out", None, nov(21, 18, 0, 0), "verified", None).await;
    event(&pool, e2, "in", None, nov(22, 9, 0, 0), "verified", None).await;
    // Employee 3 worked on the 3rd and the 4th, and someone entered overlapping records in
    // iiko: the 3rd's is seen by the pre-check, the 4th's only by the write's 409 (entered
    // after our read: the fake leaves it out of its lists).
    for day in [3, 4] {
        event(&pool, e3, "in", None, nov(day, 9, 0, 0), "verified", None).await;
        event(&pool, e3, "out", None, nov(day, 18, 0, 0), "verified", None).await;
    }
    let iiko3 = rig.fake.employee_mut("3", |e| e.id.clone());
    rig.fake.with(|s| {
        s.attendances
            .push(record("manual", &iiko3, nov(3, 10, 0, 0), 2, "W"));
        s.attendances
            .push(record("late-entry", &iiko3, nov(4, 11, 0, 0), 2, "W"));
        s.unlisted.insert("late-entry".into());
    });
    let refused = || {
        rig.fake
            .with(|s| s.calls.iter().filter(|c| c.2 == 409).count())
    };

    let export = |dry_run: bool| {
        let app = &rig.app;
        let admin = rig.admin.clone();
        async move {
            let r = app
                .post(
                    &format!(
                        "/api/v1/integrations/iiko/export?from={}&to={}&dry_run={dry_run}",
                        "2026-11-01T00:00:00%2B03:00", "2026-12-01T00:00:00%2B03:00"
                    ),
                    &admin,
                    json!({}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body
        }
    };
    let preview = export(true).await;
    // The preview reads iiko's records: it foresees the overlap iiko lists, not the other.
    assert_eq!(counts(&preview), (41, 0, 1, 1), "{}", preview["changes"]);
    assert_eq!(kinds(&preview, "attendance_overlap"), 1);
    assert_eq!(
        rig.fake.with(|s| s.attendances.len()),
        2,
        "a dry run sends nothing"
    );

    let run = export(false).await;
    // 40 pairs, both overlaps reported (one found before sending, one refused with 409),
    // the open interval skipped.
    assert_eq!(counts(&run), (40, 0, 1, 2), "{}", run["changes"]);
    assert_eq!(kinds(&run, "attendance_overlap"), 2);
    assert_eq!(refused(), 1, "the overlap iiko listed was not sent");
    assert!(
        run["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "attendance_overlap"
                && c["detail"]
                    .as_str()
                    .unwrap()
                    .contains("overlaps iiko's own record manual (2026-11-03 10:00 – 12:00)")),
        "{}",
        run["changes"]
    );
    assert_eq!(kinds(&run, "open_interval"), 1);
    let iiko1 = rig.fake.employee_mut("1", |e| e.id.clone());
    rig.fake.with(|s| {
        assert_eq!(s.attendances.len(), 42);
        let mine: Vec<&fake::Record> = s
            .attendances
            .iter()
            .filter(|r| r.employee_id == iiko1)
            .collect();
        assert_eq!(mine.len(), 20);
        let first = mine
            .iter()
            .find(|r| r.from.date_naive().to_string() == "2026-11-01")
            .unwrap();
        // Rounded to the minute, in the restaurant's zone, the "worked" type.
        assert_eq!(
            (first.from, first.to),
            (nov(1, 9, 0, 0), Some(nov(1, 18, 0, 0)))
        );
        assert_eq!(first.type_code, "W");
        assert!(
            first.role_id.is_some(),
            "the role of the employee's position"
        );
        assert_eq!(s.logins, s.logouts);
        assert!(s.tokens.is_empty());
    });

    // A closed period exports idempotently: nothing sent.
    let writes = || {
        rig.fake.with(|s| {
            s.calls
                .iter()
                .filter(|(m, p, _)| m != "GET" && !p.ends_with("/auth"))
                .count()
        })
    };
    let before = writes();
    let again = export(false).await;
    assert_eq!(counts(&again), (0, 0, 1, 2));
    assert_eq!(
        writes() - before,
        1,
        "only the record iiko's list does not show is tried again"
    );

    // A corrected check-out updates the record, whose id iiko changes.
    let old_id: String =
        sqlx::query_scalar("SELECT iiko_id FROM iiko_attendance WHERE in_punch_id = $1")
            .bind(ins[&(e1, 5)])
            .fetch_one(&pool)
            .await
            .unwrap();
    event(
        &pool,
        e1,
        "correction",
        Some("out"),
        nov(5, 19, 30, 0),
        "verified",
        Some(outs[&(e1, 5)]),
    )
    .await;
    // A corrected check-in (a new punch replacing the old) takes the old record over.
    event(
        &pool,
        e1,
        "correction",
        Some("in"),
        nov(6, 8, 0, 0),
        "verified",
        Some(ins[&(e1, 6)]),
    )
    .await;
    let fixed = export(false).await;
    assert_eq!(counts(&fixed), (0, 2, 1, 2), "{}", fixed["changes"]);
    let new_id: String =
        sqlx::query_scalar("SELECT iiko_id FROM iiko_attendance WHERE in_punch_id = $1")
            .bind(ins[&(e1, 5)])
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_ne!(new_id, old_id);
    rig.fake.with(|s| {
        assert_eq!(s.attendances.len(), 42, "updated, not added");
        let r = s.attendances.iter().find(|r| r.id == new_id).unwrap();
        assert_eq!(r.to, Some(nov(5, 19, 30, 0)));
        assert!(!s.attendances.iter().any(|r| r.id == old_id));
        assert!(
            s.attendances
                .iter()
                .any(|r| r.employee_id == iiko1 && r.from == nov(6, 8, 0, 0))
        );
    });
    let mapped: i64 = sqlx::query_scalar("SELECT count(*) FROM iiko_attendance")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mapped, 40);
    assert_eq!(counts(&export(false).await), (0, 0, 1, 2));
}

fn shift(employee: &str, from: chrono::DateTime<chrono::FixedOffset>, hours: i64) -> fake::Record {
    record(
        &uuid::Uuid::new_v4().to_string(),
        employee,
        from,
        hours,
        "D",
    )
}

/// An iiko attendance or shift of `hours` from `from`.
fn record(
    id: &str,
    employee: &str,
    from: chrono::DateTime<chrono::FixedOffset>,
    hours: i64,
    type_code: &str,
) -> fake::Record {
    fake::Record {
        id: id.to_owned(),
        employee_id: employee.to_owned(),
        role_id: None,
        from,
        to: Some(from + chrono::Duration::hours(hours)),
        type_code: type_code.into(),
        department_id: None,
        comment: None,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn shift_plans_become_rosters_overnight_on_their_start_day_conflicts_reported(pool: PgPool) {
    let rig = rig(pool, 4).await;
    rig.connect(fake::PASSWORD).await;
    rig.sync(false).await;
    let (i1, i2, i3) = (
        rig.fake.employee_mut("1", |e| e.id.clone()),
        rig.fake.employee_mut("2", |e| e.id.clone()),
        rig.fake.employee_mut("3", |e| e.id.clone()),
    );
    let i4 = rig.fake.employee_mut("4", |e| e.id.clone());
    rig.fake.with(|s| {
        for day in 2..=6 {
            s.schedules.push(shift(&i1, nov(day, 9, 0, 0), 9));
        }
        // Overnight: on the 3rd. The one from October 31 is listed (it overlaps the 1st) but
        // is not in the period.
        s.schedules.push(shift(&i2, nov(3, 22, 0, 0), 8));
        let oct31 = nov(1, 22, 0, 0) - chrono::Duration::days(1);
        s.schedules.push(shift(&i2, oct31, 8));
        s.schedules.push(shift(&i3, nov(4, 9, 0, 0), 8));
        s.schedules.push(shift(&i4, nov(5, 9, 0, 0), 8));
    });
    // Employee 3 has a schedule edited here.
    let e3: uuid::Uuid = sqlx::query_scalar("SELECT id FROM employees WHERE card_number = '3'")
        .fetch_one(&rig.app.pool)
        .await
        .unwrap();
    let r = rig
        .app
        .post(
            "/api/v1/schedules",
            &rig.admin,
            json!({"name": "Office", "pattern": {"kind": "flexible", "minutes_per_day": 480,
                   "work_days": [true, true, true, true, true, false, false]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let office = r.body["id"].clone();
    let r = rig
        .app
        .post(
            "/api/v1/schedule-assignments",
            &rig.admin,
            json!({"schedule_id": office, "employee_id": e3, "valid_from": "2026-10-01"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Employee 4's department has a schedule edited here.
    let bar = rig.app.create_department(&rig.admin, "Bar").await;
    sqlx::query("UPDATE employees SET department_id = $1 WHERE card_number = '4'")
        .bind(bar)
        .execute(&rig.app.pool)
        .await
        .unwrap();
    let r = rig
        .app
        .post(
            "/api/v1/schedule-assignments",
            &rig.admin,
            json!({"schedule_id": office, "department_id": bar, "valid_from": "2026-10-01"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let import = |dry_run: bool| {
        let app = &rig.app;
        let admin = rig.admin.clone();
        async move {
            let r = app
                .post(
                    &format!("/api/v1/integrations/iiko/schedules?from=2026-11-01&to=2026-11-30&dry_run={dry_run}"),
                    &admin,
                    json!({}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body
        }
    };
    let ours = "SELECT count(*) FROM schedules WHERE name LIKE 'iiko %'";
    let preview = import(true).await;
    assert_eq!(counts(&preview), (2, 0, 0, 2), "{}", preview["changes"]);
    assert_eq!(kinds(&preview, "schedule_conflict"), 1);
    assert_eq!(kinds(&preview, "department_schedule_conflict"), 1);
    assert_eq!(rig.app.count(ours).await, 0, "a dry run writes nothing");

    let run = import(false).await;
    assert_eq!(counts(&run), (2, 0, 0, 2), "{}", run["changes"]);
    let roster = |code: &'static str| {
        let pool = rig.app.pool.clone();
        async move {
            sqlx::query_as::<_, (Value, chrono::NaiveDate, Option<chrono::NaiveDate>)>(
                "SELECT s.definition, a.valid_from, a.valid_to FROM iiko_schedules m
                 JOIN schedules s ON s.id = m.schedule_id
                 JOIN schedule_assignments a ON a.schedule_id = s.id
                 JOIN employees e ON e.id = m.employee_id WHERE e.card_number = $1",
            )
            .bind(code)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let template = |id: &Value| {
        let pool = rig.app.pool.clone();
        let id: uuid::Uuid = id.as_str().unwrap().parse().unwrap();
        async move {
            sqlx::query_scalar::<_, String>("SELECT name FROM shift_templates WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (def, from, to) = roster("1").await;
    assert_eq!(def["kind"], "roster");
    assert_eq!(def["days"].as_object().unwrap().len(), 5);
    assert_eq!(
        template(&def["days"]["2026-11-02"]).await,
        "iiko 09:00–18:00"
    );
    assert_eq!(
        (from.to_string(), to.map(|t| t.to_string())),
        ("2026-11-02".into(), Some("2026-11-06".into()))
    );
    let (def, _, _) = roster("2").await;
    let days: Vec<&String> = def["days"].as_object().unwrap().keys().collect();
    assert_eq!(
        days,
        ["2026-11-03"],
        "overnight on its start day, October left out"
    );
    assert_eq!(
        template(&def["days"]["2026-11-03"]).await,
        "iiko 22:00–06:00"
    );
    let mine: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM iiko_schedules m JOIN employees e ON e.id = m.employee_id
         WHERE e.card_number = '3'",
    )
    .fetch_one(&rig.app.pool)
    .await
    .unwrap();
    assert_eq!(mine, 0, "the schedule edited here is not overwritten");
    let theirs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM iiko_schedules m JOIN employees e ON e.id = m.employee_id
         WHERE e.card_number = '4'",
    )
    .fetch_one(&rig.app.pool)
    .await
    .unwrap();
    assert_eq!(theirs, 0, "nor is the department's");

    // Again: nothing changes. A moved shift: one roster updated.
    assert_eq!(counts(&import(false).await), (0, 0, 0, 2));
    rig.fake.with(|s| {
        let r = s
            .schedules
            .iter_mut()
            .find(|r| r.employee_id == i1 && r.from == nov(4, 9, 0, 0))
            .unwrap();
        r.from = nov(4, 10, 0, 0);
        r.to = Some(nov(4, 19, 0, 0));
    });
    assert_eq!(counts(&import(false).await), (0, 1, 0, 2));
    let (def, _, _) = roster("1").await;
    assert_eq!(
        template(&def["days"]["2026-11-04"]).await,
        "iiko 10:00–19:00"
    );
    assert_eq!(
        template(&def["days"]["2026-11-05"]).await,
        "iiko 09:00–18:00"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_periodic_sync_runs_what_the_connection_turns_on(pool: PgPool) {
    use chrono::Timelike;
    let rig = rig(pool, 2).await;
    let r = rig
        .put(json!({"server_url": rig.fake.url, "login": fake::LOGIN,
                    "password": fake::PASSWORD, "department_codes": ["D1"],
                    "sync": {"employees": true, "schedules": true, "attendance": true}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Tomorrow's shift of employee 1 is planned in iiko.
    let i1 = rig.fake.employee_mut("1", |e| e.id.clone());
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .with_timezone(&fake::tz())
        .with_hour(9)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .unwrap();
    rig.fake.with(|s| s.schedules.push(shift(&i1, tomorrow, 9)));
    let worker = faceid_server::jobs::Worker::new(
        rig.app.pool.clone(),
        faceid_server::job_registry(&rig.app.state, 90),
        faceid_server::jobs::WorkerConfig::default(),
    );
    let now = chrono::Utc::now();
    let runs = || async {
        sqlx::query_as::<_, (String, bool, i32)>(
            "SELECT kind, ok, created FROM iiko_runs ORDER BY id",
        )
        .fetch_all(&rig.app.pool)
        .await
        .unwrap()
    };

    // One job per interval: employees, then the shift plan, then the (empty) export.
    assert!(
        faceid_server::iiko::schedule_import(&rig.app.pool, now)
            .await
            .unwrap()
    );
    worker.drain().await.unwrap();
    let first = runs().await;
    assert_eq!(
        first[1..],
        [("schedules".into(), true, 1), ("export".into(), true, 0)]
    );
    assert_eq!((first[0].0.as_str(), first[0].1), ("import", true));
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM iiko_employees")
        .fetch_one(&rig.app.pool)
        .await
        .unwrap();
    assert_eq!(linked, 2);
    let rosters: i64 = sqlx::query_scalar("SELECT count(*) FROM iiko_schedules")
        .fetch_one(&rig.app.pool)
        .await
        .unwrap();
    assert_eq!(rosters, 1);

    // Employee 1 worked yesterday: the next interval's job exports it.
    let e1: uuid::Uuid = sqlx::query_scalar("SELECT id FROM employees WHERE card_number = '1'")
        .fetch_one(&rig.app.pool)
        .await
        .unwrap();
    let start = (now - chrono::Duration::hours(30))
        .with_timezone(&fake::tz())
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap();
    let end = start + chrono::Duration::hours(8);
    event(&rig.app.pool, e1, "in", None, start, "verified", None).await;
    event(&rig.app.pool, e1, "out", None, end, "verified", None).await;
    let next = now + chrono::Duration::seconds(3600);
    assert!(
        faceid_server::iiko::schedule_import(&rig.app.pool, next)
            .await
            .unwrap()
    );
    worker.drain().await.unwrap();
    let all = runs().await;
    assert_eq!(
        all[3..],
        [
            ("import".into(), true, 0),
            ("schedules".into(), true, 0),
            ("export".into(), true, 1)
        ]
    );
    rig.fake.with(|s| {
        assert_eq!(s.attendances.len(), 1);
        let a = &s.attendances[0];
        assert_eq!(
            (a.employee_id.as_str(), a.from, a.to),
            (i1.as_str(), start, Some(end))
        );
        assert_eq!(s.logins, s.logouts, "every run logged out");
    });

    // With every switch off nothing is scheduled.
    let r = rig
        .put(json!({"server_url": rig.fake.url, "login": fake::LOGIN,
                    "department_codes": ["D1"],
                    "sync": {"employees": false, "schedules": false, "attendance": false}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        !faceid_server::iiko::schedule_import(
            &rig.app.pool,
            next + chrono::Duration::seconds(3600)
        )
        .await
        .unwrap()
    );
}
