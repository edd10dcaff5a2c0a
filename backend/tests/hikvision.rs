//! Hikvision face terminals end to end against the fake terminal
//! (tests/common/fake_hikvision.rs) and the real PostgreSQL: registration through the API,
//! face passes becoming verified punches in the today view and the chain, imports exactly
//! once across a crash mid-poll and competing pollers, failures and strangers kept but not
//! punched, people and faces following dismissal and consent, a terminal down and back up,
//! faults, and the 401 lock-out.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::Utc;
use common::fake_hikvision::{
    self as fake, CARD_PASS, DOOR_OPEN, Ev, FACE_FAIL, FACE_PASS, FakeHikvision, STRANGER,
};
use common::{TestApp, user_body};
use faceid_server::hikvision::poll::poll_terminal;
use faceid_server::jobs::{Worker, WorkerConfig};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

struct Rig {
    app: TestApp,
    fake: FakeHikvision,
    worker: Worker,
    admin: String,
    site: Uuid,
}

async fn rig(pool: PgPool) -> Rig {
    let fake = FakeHikvision::start().await;
    let settings = faceid_server::Settings {
        photo_store_url: Some("memory:".into()),
        hikvision_request_timeout_secs: 2,
        ..common::settings()
    };
    let state = faceid_server::AppState::new(pool.clone(), settings, common::secrets()).unwrap();
    let worker = Worker::new(
        pool.clone(),
        faceid_server::job_registry(&state, 90),
        WorkerConfig {
            concurrency: 4,
            poll_interval: Duration::from_millis(20),
            ..WorkerConfig::default()
        },
    );
    let app = TestApp::with_state(pool, state);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let site = app.create_site(&admin, "Main entrance").await;
    Rig {
        app,
        fake,
        worker,
        admin,
        site,
    }
}

impl Rig {
    /// Registers the fake through the API.
    async fn terminal(&self, direction: &str, password: &str) -> Value {
        let r = self
            .app
            .post(
                "/api/v1/terminals",
                &self.admin,
                json!({"name": format!("Door {direction}"), "base_url": self.fake.url,
                       "username": fake::USERNAME, "password": password, "site_id": self.site,
                       "direction": direction, "poll_interval_s": 30}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    /// An active employee at the site with a personnel (terminal person) number.
    async fn employee(&self, login: &str, number: &str) -> Uuid {
        let mut b = user_body(login, None);
        b["card_number"] = json!(number);
        b["site_ids"] = json!([self.site]);
        self.app.create_employee(&self.admin, b).await
    }

    /// Runs every due job (first poll, people syncs) until none is left.
    async fn drain(&self) {
        for _ in 0..200 {
            self.worker.drain().await.unwrap();
            let left: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')
                   AND kind LIKE 'hikvision.%' AND run_at <= now()",
            )
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
            if left == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("hikvision jobs never finished");
    }

    async fn poll(&self, terminal: Uuid) -> Option<faceid_server::hikvision::poll::PollReport> {
        poll_terminal(&self.app.state, terminal, "test-poller")
            .await
            .unwrap()
    }

    /// Raw events stored for the terminal.
    async fn imported(&self, terminal: Uuid) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM terminal_events WHERE terminal_id = $1")
            .bind(terminal)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    async fn get_terminal(&self, id: Uuid) -> Value {
        let r = self
            .app
            .get(&format!("/api/v1/terminals/{id}"), &self.admin)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    async fn log_ops(&self, id: Uuid) -> Vec<(String, bool, Option<String>)> {
        let r = self
            .app
            .get(
                &format!("/api/v1/terminals/{id}/log?limit=500"),
                &self.admin,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["operation"].as_str().unwrap().to_owned(),
                    i["ok"].as_bool().unwrap(),
                    i["sub_status"].as_str().map(str::to_owned),
                )
            })
            .collect()
    }

    async fn punches(
        &self,
        device: Uuid,
    ) -> Vec<(Uuid, String, String, Vec<String>, Option<String>)> {
        sqlx::query_as(
            "SELECT employee_id, kind, verdict, reasons, photo_key FROM attendance_events
             WHERE device_id = $1 ORDER BY id",
        )
        .bind(device)
        .fetch_all(&self.app.pool)
        .await
        .unwrap()
    }

    async fn publish_biometric_text(&self) {
        let r = self
            .app
            .post(
                "/api/v1/consent-texts",
                &self.admin,
                json!({"kind": "biometric", "body": "I agree to the processing of my face."}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }

    async fn paper_consent(&self, employee: Uuid, action: &str) {
        let r = self
            .app
            .post(
                &format!("/api/v1/employees/{employee}/consents"),
                &self.admin,
                json!({"kind": "biometric", "action": action}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }

    /// An enrolment photo stored as the enrolment endpoint stores it (no face engine needed).
    async fn enrolment_photo(&self, employee: Uuid) {
        let key = self
            .app
            .state
            .photos
            .put("enrolment", fake::jpeg())
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO face_templates (id, employee_id, model_id, descriptor, nonce, photo_key, quality)
             VALUES ($1, $2, 'test', '\\x00', '\\x00', $3, 0.9)",
        )
        .bind(Uuid::now_v7())
        .bind(employee)
        .bind(key)
        .execute(&self.app.pool)
        .await
        .unwrap();
    }
}

/// Whether the log has `op` refused by the terminal with `sub_status`.
fn refused(ops: &[(String, bool, Option<String>)], op: &str, sub_status: &str) -> bool {
    ops.iter()
        .any(|o| o.0 == op && !o.1 && o.2.as_deref() == Some(sub_status))
}

fn id_of(v: &Value, key: &str) -> Uuid {
    v[key].as_str().unwrap().parse().unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn face_passes_become_verified_punches_in_today_and_the_chain(pool: PgPool) {
    let r = rig(pool).await;
    // Nonces good for two requests only: the client must renew stale ones without a failure.
    r.fake.with(|s| s.nonce_uses = 2);
    let anna = r.employee("anna", "1001").await;
    let boris = r.employee("boris", "2002").await;
    let created = r.terminal("both", fake::PASSWORD).await;
    let t = id_of(&created, "id");
    let device = id_of(&created, "device_id");
    assert!(created.get("password").is_none(), "{created}");
    assert_eq!(created["status"], "pending");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT password_ct FROM terminals WHERE id = $1")
        .bind(t)
        .fetch_one(&r.app.pool)
        .await
        .unwrap();
    assert!(
        !stored
            .windows(fake::PASSWORD.len())
            .any(|w| w == fake::PASSWORD.as_bytes())
    );

    // The first poll (health) and the people sync run as jobs.
    r.drain().await;
    let got = r.get_terminal(t).await;
    assert_eq!(got["status"], "ok", "{got}");
    assert_eq!(got["health"]["model"], "DS-K1T341AMF");
    assert_eq!(got["health"]["firmware_version"], "V3.2.30");
    assert_eq!(got["health"]["clock_skewed"], false);
    assert!(got["health"]["clock_offset_s"].as_f64().unwrap().abs() < 5.0);
    assert_eq!(got["people"], 2);
    let user = r.fake.user("1001").expect("anna is on the terminal");
    assert_eq!(user["name"], "Ivan anna");
    assert_eq!(user["Valid"]["endTime"], "2037-12-31T23:59:59");
    assert!(r.fake.user("2002").is_some());

    // Passes, a failure, a stranger, an unknown number, a card and a door event.
    let now = Utc::now();
    let at = |s: i64| now - chrono::Duration::seconds(600 - s);
    let serials = r.fake.push(&[
        Ev::new(FACE_PASS, Some("1001"), at(0)),
        Ev::new(FACE_PASS, Some("2002"), at(10)),
        Ev::new(FACE_PASS, Some("9999"), at(20)),
        Ev::new(FACE_FAIL, Some("1001"), at(30)),
        Ev::new(STRANGER, None, at(40)),
        Ev::new(CARD_PASS, Some("2002"), at(50)),
        Ev::new(DOOR_OPEN, None, at(60)),
        Ev::new(FACE_PASS, Some("1001"), at(300)),
    ]);
    // Boris's picture has rolled over on the terminal.
    r.fake.with(|s| s.missing_pictures.insert(serials[1]));
    let report = r.poll(t).await.unwrap();
    assert_eq!((report.events, report.punches), (8, 3));

    let punches = r.punches(device).await;
    let summary: Vec<(Uuid, &str, &str)> = punches
        .iter()
        .map(|p| (p.0, p.1.as_str(), p.2.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (anna, "in", "verified"),
            (boris, "in", "verified"),
            (anna, "out", "verified")
        ]
    );
    // Evidence: Anna's pictures were fetched with Digest from the configured address.
    assert!(punches[0].4.is_some() && punches[2].4.is_some());
    assert!(punches[1].4.is_none(), "the 404 picture is tolerated");
    let photo = r
        .app
        .state
        .photos
        .get(punches[0].4.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(photo, fake::jpeg());
    let sites: Vec<Option<Uuid>> =
        sqlx::query_scalar("SELECT site_id FROM attendance_events WHERE device_id = $1")
            .bind(device)
            .fetch_all(&r.app.pool)
            .await
            .unwrap();
    assert!(sites.iter().all(|s| *s == Some(r.site)));

    // The today view: Boris is in, Anna came and went.
    let today = r.app.get("/api/v1/reports/today", &r.admin).await;
    assert_eq!(today.status, StatusCode::OK, "{}", today.body);
    let in_now: Vec<Uuid> = today.body["totals"]["in_now"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| id_of(p, "employee_id"))
        .collect();
    assert_eq!(in_now, vec![boris], "{}", today.body);
    // The chain verifies.
    let chain = r.app.get("/api/v1/attendance/chain/verify", &r.admin).await;
    assert_eq!(chain.body["ok"], true, "{}", chain.body);
    assert_eq!(chain.body["length"], 3);

    // Counted, not punched: the failure, the stranger, the unknown number.
    let got = r.get_terminal(t).await;
    assert_eq!(got["today"]["imported"], 8, "{got}");
    assert_eq!(got["today"]["punched"], 3);
    assert_eq!(got["today"]["failed"], 2);
    assert_eq!(got["today"]["unknown"], 1);
    assert_eq!(got["last_serial_no"], serials[7]);

    // A re-poll imports nothing again.
    let again = r.poll(t).await.unwrap();
    assert_eq!((again.events, again.punches), (0, 0));
    assert_eq!(r.punches(device).await.len(), 3);

    // The log shows every kind of call; Digest nonces rotated without a single failure.
    let ops = r.log_ops(t).await;
    for op in [
        "System/time",
        "System/deviceInfo",
        "AcsEvent",
        "picture",
        "UserInfo/Record",
    ] {
        assert!(ops.iter().any(|o| o.0 == op), "{op} missing from {ops:?}");
    }
    assert!(
        ops.iter().any(|o| o.0 == "picture" && !o.1),
        "the 404 is logged"
    );
    let (failures, stale) = r.fake.with(|s| (s.auth_failures_total, s.stale_answers));
    assert_eq!(failures, 0);
    assert!(stale > 0, "nonces went stale and were renewed");

    // Terminal operations are audited.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'terminal.create' AND entity_id = $1",
    )
    .bind(t)
    .fetch_one(&r.app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn many_events_are_imported_exactly_once_across_a_crash_and_two_pollers(pool: PgPool) {
    let r = rig(pool).await;
    let mut numbers = Vec::new();
    for i in 0..20 {
        let no = format!("{}", 5000 + i);
        r.employee(&format!("worker{i}"), &no).await;
        numbers.push(no);
    }
    let created = r.terminal("in", fake::PASSWORD).await;
    let t = id_of(&created, "id");
    let device = id_of(&created, "device_id");
    r.drain().await;
    // The terminal caps pages at 20 whatever we ask (30): we must advance by numOfMatches.
    r.fake.with(|s| s.page_cap = 20);
    const N: usize = 10_000;
    // Five seconds apart: each of the 20 people passes every 100 s, beyond the debounce.
    let start = Utc::now() - chrono::Duration::hours(15);
    let evs: Vec<Ev> = (0..N)
        .map(|i| {
            let mut e = Ev::new(
                if i % 10 == 9 { FACE_FAIL } else { FACE_PASS },
                Some(&numbers[i % numbers.len()]),
                start + chrono::Duration::seconds(5 * i as i64),
            );
            e.picture = false;
            e
        })
        .collect();
    let passes = evs.iter().filter(|e| e.minor == FACE_PASS).count() as i64;
    r.fake.push(&evs);

    // A poller dies mid-poll (aborted between pages, or inside one).
    let state = r.app.state.clone();
    let dying = tokio::spawn(async move { poll_terminal(&state, t, "dying").await });
    let mut waited = 0;
    loop {
        let n = r.imported(t).await;
        if n >= (N / 3) as i64 {
            break;
        }
        assert!(
            !dying.is_finished() && waited < 30_000,
            "the first poller stopped at {n} events"
        );
        waited += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    dying.abort();
    let _ = dying.await;
    let at_crash = r.imported(t).await;
    assert!(at_crash < N as i64, "the crash came mid-poll ({at_crash})");
    // While its lease lasts nobody else polls; then it expires.
    assert!(
        poll_terminal(&r.app.state, t, "other")
            .await
            .unwrap()
            .is_none()
    );
    sqlx::query(
        "UPDATE terminals SET poll_lease_until = now() - interval '1 second' WHERE id = $1",
    )
    .bind(t)
    .execute(&r.app.pool)
    .await
    .unwrap();

    // Two replicas' workers each get a poll job of their own period at once.
    let other_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(5)
        .connect_with(r.app.pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let other_state = r.app.state.clone();
    let second = Worker::new(
        other_pool,
        faceid_server::job_registry(&other_state, 90),
        WorkerConfig::default(),
    );
    let mut conn = r.app.pool.acquire().await.unwrap();
    faceid_server::hikvision::poll::enqueue(&mut conn, t, "replica-a")
        .await
        .unwrap();
    faceid_server::hikvision::poll::enqueue(&mut conn, t, "replica-b")
        .await
        .unwrap();
    drop(conn);
    let (a, b) = tokio::join!(r.worker.drain(), second.drain());
    a.unwrap();
    b.unwrap();
    // Whoever lost the lease race, the next poll finishes the job.
    while r.poll(t).await.unwrap().events > 0 {}

    let (events, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT serial_no) FROM terminal_events WHERE terminal_id = $1",
    )
    .bind(t)
    .fetch_one(&r.app.pool)
    .await
    .unwrap();
    assert_eq!((events, distinct), (N as i64, N as i64));
    let punched: i64 =
        sqlx::query_scalar("SELECT count(*) FROM attendance_events WHERE device_id = $1")
            .bind(device)
            .fetch_one(&r.app.pool)
            .await
            .unwrap();
    assert_eq!(punched, passes);
    let linked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM terminal_events te JOIN attendance_events ae ON ae.public_id = te.attendance_event_id
          WHERE te.terminal_id = $1",
    )
    .bind(t)
    .fetch_one(&r.app.pool)
    .await
    .unwrap();
    assert_eq!(linked, passes, "every punch is its event's, and only once");
    assert_eq!(r.fake.with(|s| s.largest_page), 20);
    let gaps: i64 =
        sqlx::query_scalar("SELECT count(*) FROM terminal_anomalies WHERE kind = 'serial_gap'")
            .fetch_one(&r.app.pool)
            .await
            .unwrap();
    assert_eq!(gaps, 0, "no serial number was skipped");
    let chain = r.app.get("/api/v1/attendance/chain/verify", &r.admin).await;
    assert_eq!(chain.body["ok"], true, "{}", chain.body);
    assert_eq!(chain.body["length"], passes);
}

#[sqlx::test(migrations = "./migrations")]
async fn people_and_faces_follow_dismissal_and_consent(pool: PgPool) {
    let r = rig(pool).await;
    r.publish_biometric_text().await;
    let created = r.terminal("in", fake::PASSWORD).await;
    let t = id_of(&created, "id");
    r.drain().await;
    // Someone put 3003 on the terminal by hand: Record is refused, Modify takes over.
    r.fake.with(|s| {
        s.users.insert(
            "3003".into(),
            json!({"employeeNo": "3003", "name": "Old", "Valid": {"beginTime": "2020-01-01T00:00:00", "endTime": "2030-01-01T00:00:00"}}),
        )
    });
    let vera = r.employee("vera", "3003").await;
    let gleb = r.employee("gleb", "4004").await;
    r.drain().await;
    assert_eq!(r.fake.user("3003").unwrap()["name"], "Ivan vera");
    let ops = r.log_ops(t).await;
    assert!(
        refused(&ops, "UserInfo/Record", "employeeNoAlreadyExist"),
        "{ops:?}"
    );
    assert!(
        ops.iter().any(|o| o.0 == "UserInfo/Modify" && o.1),
        "{ops:?}"
    );

    // Faces only with consent.
    for e in [vera, gleb] {
        r.enrolment_photo(e).await;
    }
    r.drain().await;
    assert!(!r.fake.has_face("3003") && !r.fake.has_face("4004"));
    // A stale face of 4004 is already on the terminal: FaceDataRecord is refused as a
    // duplicate and FDSetUp (PUT) replaces it.
    r.fake
        .with(|s| s.faces.insert("4004".into(), vec![0xFF, 0xD8, 0xFF, 0xD9]));
    r.paper_consent(vera, "grant").await;
    r.paper_consent(gleb, "grant").await;
    r.drain().await;
    assert!(r.fake.has_face("3003") && r.fake.has_face("4004"));
    let face = r.fake.with(|s| s.faces["3003"].clone());
    assert_eq!(&face[..2], &[0xFF, 0xD8], "a JPEG");
    let replaced = r.fake.with(|s| s.faces["4004"].clone());
    assert_eq!(
        replaced, face,
        "the stale face was replaced by the enrolment photo"
    );
    let ops = r.log_ops(t).await;
    assert!(
        refused(&ops, "FDLib/FaceDataRecord", "deviceUserAlreadyExistFace"),
        "{ops:?}"
    );
    assert!(ops.iter().any(|o| o.0 == "FDLib/FDSetUp" && o.1), "{ops:?}");
    assert_eq!(r.get_terminal(t).await["faces"], 2);

    // A consent withdrawal removes the face; the person stays.
    r.paper_consent(vera, "withdraw").await;
    r.drain().await;
    assert!(!r.fake.has_face("3003"));
    assert!(r.fake.user("3003").is_some());

    // A dismissed employee disappears from the terminal, face and all.
    let d = r
        .app
        .post(
            &format!("/api/v1/employees/{gleb}/dismiss"),
            &r.admin,
            json!({}),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    r.drain().await;
    assert!(r.fake.user("4004").is_none());
    assert!(!r.fake.has_face("4004"), "the face is deleted explicitly");
    let ops = r.log_ops(t).await;
    for op in [
        "FDLib/FaceDataRecord",
        "FDLib/FDSearch/Delete",
        "UserInfo/Delete",
    ] {
        assert!(
            ops.iter().any(|o| o.0 == op && o.1),
            "{op} missing from {ops:?}"
        );
    }
    // A changed number moves the person.
    let p = r
        .app
        .patch(
            &format!("/api/v1/employees/{vera}"),
            &r.admin,
            json!({"external_ids": {"hikvision_employee_no": "3333"}}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    r.drain().await;
    assert!(r.fake.user("3003").is_none());
    assert!(r.fake.user("3333").is_some());
    // Two employees cannot share a terminal number.
    let mut b = user_body("dup", None);
    b["card_number"] = json!("3333");
    let dup = r.app.post("/api/v1/employees", &r.admin, b).await;
    assert_eq!(
        (dup.status, dup.code()),
        (StatusCode::CONFLICT, "terminal_person_number_taken")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_terminal_down_then_up_is_caught_up_and_faults_are_survived(pool: PgPool) {
    let r = rig(pool).await;
    let zoya = r.employee("zoya", "7007").await;
    let created = r.terminal("in", fake::PASSWORD).await;
    let t = id_of(&created, "id");
    let device = id_of(&created, "device_id");
    r.drain().await;

    // Down for an hour: events pile up on the terminal; polls fail and say so.
    r.fake.with(|s| s.down = true);
    let start = Utc::now() - chrono::Duration::minutes(70);
    let evs: Vec<Ev> = (0..60)
        .map(|i| {
            Ev::new(
                FACE_PASS,
                Some("7007"),
                start + chrono::Duration::minutes(i),
            )
        })
        .collect();
    r.fake.push(&evs);
    r.poll(t).await.unwrap();
    let got = r.get_terminal(t).await;
    assert_eq!(got["status"], "error", "{got}");
    assert!(got["last_error"].as_str().unwrap().contains("503"), "{got}");
    assert_eq!(r.punches(device).await.len(), 0);

    // Back up but too slow (over the 2 s client timeout): the poll gives up and says so.
    r.fake.with(|s| {
        s.down = false;
        s.latency = Duration::from_millis(2500);
    });
    r.poll(t).await.unwrap();
    let got = r.get_terminal(t).await;
    assert!(
        got["last_error"].as_str().unwrap().contains("in time"),
        "{got}"
    );
    assert_eq!(r.punches(device).await.len(), 0);

    // Then a 500 and a malformed page on the way: the next polls catch up.
    r.fake.with(|s| {
        s.latency = Duration::ZERO;
        s.fail_next = 1;
    });
    r.poll(t).await.unwrap();
    r.fake.with(|s| s.malformed_next = 1);
    r.poll(t).await.unwrap();
    assert!(
        r.get_terminal(t).await["last_error"]
            .as_str()
            .unwrap()
            .contains("malformed")
    );
    let report = r.poll(t).await.unwrap();
    assert_eq!(report.events, 60);
    assert_eq!(r.punches(device).await.len(), 60);
    assert_eq!(r.get_terminal(t).await["status"], "ok");

    // A terminal lying about totalMatches (and saying MORE forever) still ends.
    r.fake.with(|s| s.lying_total = true);
    let before = r.fake.calls_to("/ISAPI/AccessControl/AcsEvent");
    r.fake.push(&[Ev::new(FACE_PASS, Some("7007"), Utc::now())]);
    let report = r.poll(t).await.unwrap();
    assert_eq!(report.events, 1);
    assert!(r.fake.calls_to("/ISAPI/AccessControl/AcsEvent") - before <= 3);
    r.fake.with(|s| s.lying_total = false);

    // Lost serial numbers are recorded as a gap.
    r.fake.skip_serials(5);
    r.fake.push(&[Ev::new(FACE_FAIL, Some("7007"), Utc::now())]);
    r.poll(t).await.unwrap();
    let gap: Value = sqlx::query_scalar(
        "SELECT detail FROM terminal_anomalies WHERE terminal_id = $1 AND kind = 'serial_gap'",
    )
    .bind(t)
    .fetch_one(&r.app.pool)
    .await
    .unwrap();
    assert_eq!(gap["missing"], 5, "{gap}");

    // A clock an hour off flags the punches.
    r.fake.with(|s| s.clock_skew_s = 3600);
    r.fake.push(&[Ev::new(
        FACE_PASS,
        Some("7007"),
        Utc::now() + chrono::Duration::hours(1),
    )]);
    r.poll(t).await.unwrap();
    let last = r.punches(device).await.pop().unwrap();
    assert_eq!(last.0, zoya);
    assert_eq!(last.2, "flagged");
    assert_eq!(last.3, vec!["terminal_clock_skew".to_owned()]);
    let got = r.get_terminal(t).await;
    assert_eq!(got["health"]["clock_skewed"], true, "{got}");
    let chain = r.app.get("/api/v1/attendance/chain/verify", &r.admin).await;
    assert_eq!(chain.body["ok"], true, "{}", chain.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn refused_credentials_stop_polling_instead_of_hammering(pool: PgPool) {
    let r = rig(pool).await;
    let created = r.terminal("in", "wrong-password").await;
    let t = id_of(&created, "id");
    for _ in 0..3 {
        r.poll(t).await.unwrap();
    }
    let got = r.get_terminal(t).await;
    assert_eq!(got["status"], "locked_out", "{got}");
    assert_eq!(got["today"]["anomalies"], 1);
    let (failures, locked) = r.fake.with(|s| (s.auth_failures_total, s.locked));
    assert_eq!(failures, 3, "one refused login per poll");
    assert!(!locked, "we stopped before the terminal locked the account");
    // Locked out: no more calls, and no poll is scheduled.
    let calls = r.fake.with(|s| s.calls.len());
    assert!(r.poll(t).await.is_none());
    assert_eq!(
        faceid_server::hikvision::schedule_polls(&r.app.pool, Utc::now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(r.fake.with(|s| s.calls.len()), calls);
    let p = r
        .app
        .post(&format!("/api/v1/terminals/{t}/poll"), &r.admin, json!({}))
        .await;
    assert_eq!(
        (p.status, p.code()),
        (StatusCode::CONFLICT, "terminal_locked_out")
    );

    // New credentials end the lock-out.
    let p = r
        .app
        .patch(
            &format!("/api/v1/terminals/{t}"),
            &r.admin,
            json!({"password": fake::PASSWORD}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.get("password").is_none());
    r.drain().await;
    assert_eq!(r.get_terminal(t).await["status"], "ok");

    // Disabled, then deleted: the device row stays for the chain, blocked.
    let p = r
        .app
        .patch(
            &format!("/api/v1/terminals/{t}"),
            &r.admin,
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(p.body["status"], "disabled");
    assert!(r.poll(t).await.is_none());
    let d = r
        .app
        .call(
            Method::DELETE,
            &format!("/api/v1/terminals/{t}"),
            Some(&r.admin),
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    let blocked: bool = sqlx::query_scalar("SELECT blocked FROM devices WHERE id = $1")
        .bind(id_of(&created, "device_id"))
        .fetch_one(&r.app.pool)
        .await
        .unwrap();
    assert!(blocked);
    let gone = r.app.get(&format!("/api/v1/terminals/{t}"), &r.admin).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "./migrations")]
async fn bad_terminal_input_is_refused(pool: PgPool) {
    let r = rig(pool).await;
    for (body, field) in [
        (json!({"base_url": "ftp://x"}), "base_url"),
        (json!({"base_url": "http://u:p@x"}), "base_url"),
        (json!({"poll_interval_s": 5}), "poll_interval_s"),
        (json!({"password": ""}), "password"),
        (json!({"name": " "}), "name"),
    ] {
        let mut b = json!({"name": "Gate", "base_url": r.fake.url, "username": "admin",
                           "password": "x", "site_id": r.site, "direction": "in"});
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        let resp = r.app.post("/api/v1/terminals", &r.admin, b).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            resp.body
        );
        assert_eq!(resp.body["errors"][0]["field"], field, "{}", resp.body);
    }
    let b = json!({"name": "Gate", "base_url": r.fake.url, "username": "admin",
                   "password": "x", "site_id": Uuid::new_v4(), "direction": "in"});
    let resp = r.app.post("/api/v1/terminals", &r.admin, b).await;
    assert_eq!(
        resp.body["errors"][0]["code"], "unknown_site",
        "{}",
        resp.body
    );
    let b = json!({"name": "Gate", "base_url": r.fake.url, "username": "admin",
                   "password": "x", "site_id": r.site, "direction": "sideways"});
    let resp = r.app.post("/api/v1/terminals", &r.admin, b).await;
    assert!(resp.status.is_client_error(), "{}", resp.body);
    r.terminal("in", "x").await;
    let b = json!({"name": "door IN", "base_url": r.fake.url, "username": "admin",
                   "password": "x", "site_id": r.site, "direction": "in"});
    let resp = r.app.post("/api/v1/terminals", &r.admin, b).await;
    assert_eq!(
        (resp.status, resp.code()),
        (StatusCode::CONFLICT, "terminal_name_taken")
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM terminals")
        .fetch_one(&r.app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1, "nothing half-written");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_terminal_offering_sha256_digest_is_answered_in_sha256(pool: PgPool) {
    let r = rig(pool).await;
    r.fake.with(|s| s.algorithm = Some("SHA-256"));
    let alice = r.employee("alice", "101").await;
    let created = r.terminal("in", fake::PASSWORD).await;
    let t = id_of(&created, "id");
    r.fake.push(&[Ev::new(FACE_PASS, Some("101"), Utc::now())]);
    r.drain().await;
    r.poll(t).await.unwrap();
    let punches = r.punches(id_of(&created, "device_id")).await;
    assert_eq!(punches.len(), 1, "{punches:?}");
    assert_eq!(punches[0].0, alice);
    let by_algorithm = r.fake.with(|s| s.answers_by_algorithm.clone());
    assert!(
        by_algorithm.get("SHA-256").copied().unwrap_or(0) > 0,
        "{by_algorithm:?}"
    );
    assert!(!by_algorithm.contains_key("MD5"), "{by_algorithm:?}");
    assert_eq!(r.get_terminal(t).await["status"], "ok");
}

#[sqlx::test(migrations = "./migrations")]
async fn repeated_passes_make_one_punch_and_every_raw_event_is_kept(pool: PgPool) {
    let r = rig(pool).await;
    let ira = r.employee("ira", "3003").await;
    let created = r.terminal("both", fake::PASSWORD).await;
    let t = id_of(&created, "id");
    let device = id_of(&created, "device_id");
    r.drain().await;
    // Ira lingers in front of the camera (3 passes in 40 s), then leaves 10 minutes later
    // (2 passes in 5 s); the lingering is split across two polls.
    let start = Utc::now() - chrono::Duration::minutes(30);
    let at = |s: i64| start + chrono::Duration::seconds(s);
    r.fake.push(&[
        Ev::new(FACE_PASS, Some("3003"), at(0)),
        Ev::new(FACE_PASS, Some("3003"), at(20)),
    ]);
    let first = r.poll(t).await.unwrap();
    assert_eq!((first.events, first.punches, first.debounced), (2, 1, 1));
    r.fake.push(&[
        Ev::new(FACE_PASS, Some("3003"), at(40)),
        Ev::new(FACE_PASS, Some("3003"), at(600)),
        Ev::new(FACE_PASS, Some("3003"), at(605)),
    ]);
    let second = r.poll(t).await.unwrap();
    assert_eq!((second.events, second.punches, second.debounced), (3, 1, 2));
    let punches = r.punches(device).await;
    let kinds: Vec<(Uuid, &str)> = punches.iter().map(|p| (p.0, p.1.as_str())).collect();
    assert_eq!(kinds, vec![(ira, "in"), (ira, "out")]);
    assert_eq!(r.imported(t).await, 5, "every pass is kept raw");
    let outcomes: Vec<String> = sqlx::query_scalar(
        "SELECT outcome FROM terminal_events WHERE terminal_id = $1 ORDER BY serial_no",
    )
    .bind(t)
    .fetch_all(&r.app.pool)
    .await
    .unwrap();
    assert_eq!(
        outcomes,
        ["punched", "debounced", "debounced", "punched", "debounced"]
    );
    let today = &r.get_terminal(t).await["today"];
    assert_eq!(
        (today["punched"].as_i64(), today["debounced"].as_i64()),
        (Some(2), Some(3))
    );
    // Debounced passes carry no punch and their pictures are not kept.
    let linked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM terminal_events WHERE terminal_id = $1 AND attendance_event_id IS NOT NULL",
    )
    .bind(t)
    .fetch_one(&r.app.pool)
    .await
    .unwrap();
    assert_eq!(linked, 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn firmware_refusing_serial_windows_is_paged_by_time_exactly_once(pool: PgPool) {
    let r = rig(pool).await;
    r.employee("oleg", "4004").await;
    r.employee("vera", "4005").await;
    let created = r.terminal("in", fake::PASSWORD).await;
    let t = id_of(&created, "id");
    let device = id_of(&created, "device_id");
    r.fake.with(|s| s.refuse_serial_window = true);
    r.drain().await;
    // 95 events (more than three capped pages), two minutes apart per person.
    let start = Utc::now() - chrono::Duration::hours(2);
    let evs: Vec<Ev> = (0..95)
        .map(|i| {
            let mut e = Ev::new(
                FACE_PASS,
                Some(if i % 2 == 0 { "4004" } else { "4005" }),
                start + chrono::Duration::seconds(60 * i),
            );
            e.picture = false;
            e
        })
        .collect();
    r.fake.push(&evs);
    let first = r.poll(t).await.unwrap();
    assert_eq!((first.events, first.punches), (95, 95));
    // Refused once, remembered: later polls never send the serial window again.
    let again = r.poll(t).await.unwrap();
    assert_eq!((again.events, again.punches), (0, 0));
    r.fake.push(&[Ev::new(FACE_PASS, Some("4004"), Utc::now())]);
    let third = r.poll(t).await.unwrap();
    assert_eq!((third.events, third.punches), (1, 1));
    assert_eq!(r.fake.with(|s| s.serial_window_refusals), 1);
    assert_eq!(r.imported(t).await, 96);
    assert_eq!(r.punches(device).await.len(), 96);
    let ops = r.log_ops(t).await;
    assert!(refused(&ops, "AcsEvent", "badJsonContent"), "{ops:?}");
    assert_eq!(r.get_terminal(t).await["status"], "ok");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_alert_stream_makes_a_pass_a_punch_at_once_and_survives_a_cut(pool: PgPool) {
    let r = rig(pool).await;
    let lena = r.employee("lena", "6006").await;
    let mira = r.employee("mira", "6007").await;
    let created = r.terminal("in", fake::PASSWORD).await;
    let t = id_of(&created, "id");
    let device = id_of(&created, "device_id");
    r.drain().await;
    let polls_queued = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM jobs WHERE kind = 'hikvision.poll' AND state = 'queued'",
        )
        .fetch_one(&r.app.pool)
        .await
        .unwrap()
    };
    assert_eq!(polls_queued().await, 0);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let listener = tokio::spawn(faceid_server::hikvision::stream::listen(
        r.app.state.clone(),
        t,
        stopped,
    ));
    let wait_for = |what: &'static str, want: u32| {
        let fake = r.fake.clone();
        async move {
            for _ in 0..500 {
                if fake.with(|s| s.stream_opens == want && !s.streams.is_empty()) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("{what}");
        }
    };
    wait_for("the stream never opened", 1).await;

    // A pass arrives on the stream: the terminal is polled now, not at its next period.
    r.fake.push(&[Ev::new(FACE_PASS, Some("6006"), Utc::now())]);
    for _ in 0..500 {
        if polls_queued().await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(polls_queued().await, 1, "one poll for the pass");
    r.drain().await;
    let punches = r.punches(device).await;
    assert_eq!(punches.len(), 1);
    assert_eq!((punches[0].0, punches[0].1.as_str()), (lena, "in"));

    // Cut in the middle of a part: reopened, and the next pass is heard too; the half part
    // is never taken for an event.
    r.fake.cut_streams();
    wait_for("the stream was not reopened", 2).await;
    assert_eq!(polls_queued().await, 0, "the cut part triggered nothing");
    r.fake.push(&[Ev::new(FACE_PASS, Some("6007"), Utc::now())]);
    for _ in 0..500 {
        if polls_queued().await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    r.drain().await;
    let punches = r.punches(device).await;
    assert_eq!(punches.len(), 2);
    assert_eq!(punches[1].0, mira);
    assert_eq!(r.imported(t).await, 2, "each event imported once");
    let ops = r.log_ops(t).await;
    assert_eq!(
        ops.iter().filter(|o| o.0 == "alertStream" && o.1).count(),
        2
    );
    let _ = stop.send(true);
    listener.await.unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn the_connection_test_answers_at_once_without_touching_the_poll_state(pool: PgPool) {
    let r = rig(pool).await;
    let test = |t: Uuid| {
        let app = &r.app;
        let admin = r.admin.clone();
        async move {
            let resp = app
                .post(&format!("/api/v1/terminals/{t}/test"), &admin, json!({}))
                .await;
            assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
            resp.body
        }
    };
    let poll_state = |t: Uuid| {
        let pool = r.app.pool.clone();
        async move {
            sqlx::query_as::<
                _,
                (
                    i64,
                    i32,
                    Option<chrono::DateTime<Utc>>,
                    Option<String>,
                    Option<String>,
                ),
            >(
                "SELECT last_serial_no, auth_failures, last_poll_at, last_error, serial_number
                 FROM terminals WHERE id = $1",
            )
            .bind(t)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };

    // The right credentials: what the terminal reported, and the round trip.
    let good = id_of(&r.terminal("in", fake::PASSWORD).await, "id");
    let before = poll_state(good).await;
    let ok = test(good).await;
    assert_eq!(ok["outcome"], "ok", "{ok}");
    assert_eq!(ok["model"], "DS-K1T341AMF");
    assert_eq!(ok["serial_number"], "DS-K1T341AMF20240101V030200ENFAKE0001");
    assert_eq!(ok["firmware_version"], "V3.2.30");
    assert_eq!(ok["device_name"], "Fake door");
    assert!(ok["round_trip_ms"].as_i64().is_some(), "{ok}");
    assert!(ok["detail"].is_null(), "{ok}");
    let answered = r.fake.with(|s| {
        s.calls
            .iter()
            .filter(|c| c.1.starts_with("/ISAPI/System/deviceInfo") && c.2 == 200)
            .count()
    });
    assert_eq!(answered, 1, "one deviceInfo call answered");
    assert_eq!(
        poll_state(good).await,
        before,
        "the poll state is untouched"
    );
    assert!(
        r.log_ops(good)
            .await
            .contains(&("System/deviceInfo".to_owned(), true, None))
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'terminal.test' AND entity_id = $1
           AND after->>'outcome' = 'ok'",
    )
    .bind(good)
    .fetch_one(&r.app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // A wrong password: auth_failed, and it does not count towards the lock-out.
    let r2 = r
        .app
        .post(
            "/api/v1/terminals",
            &r.admin,
            json!({"name": "Wrong", "base_url": r.fake.url, "username": fake::USERNAME,
                   "password": "wrong-password", "site_id": r.site, "direction": "in"}),
        )
        .await;
    assert_eq!(r2.status, StatusCode::CREATED, "{}", r2.body);
    let wrong = id_of(&r2.body, "id");
    let before = poll_state(wrong).await;
    let refused = test(wrong).await;
    assert_eq!(refused["outcome"], "auth_failed", "{refused}");
    assert_eq!(refused["http_status"], 401, "{refused}");
    assert!(refused["model"].is_null());
    assert_eq!(
        poll_state(wrong).await,
        before,
        "a refused test is not a refused poll"
    );
    assert_eq!(r.get_terminal(wrong).await["status"], "pending");

    // Locked out by polling: not called again (another refused login could lock the account).
    for _ in 0..3 {
        r.poll(wrong).await.unwrap();
    }
    assert_eq!(r.get_terminal(wrong).await["status"], "locked_out");
    let calls = r.fake.with(|s| s.calls.len());
    let locked = test(wrong).await;
    assert_eq!(locked["outcome"], "locked_out", "{locked}");
    assert!(locked["round_trip_ms"].is_null());
    assert_eq!(r.fake.with(|s| s.calls.len()), calls);

    // A closed port: unreachable.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r3 = r
        .app
        .post(
            "/api/v1/terminals",
            &r.admin,
            json!({"name": "Closed", "base_url": format!("http://127.0.0.1:{port}"),
                   "username": fake::USERNAME, "password": fake::PASSWORD, "site_id": r.site,
                   "direction": "in", "enabled": false}),
        )
        .await;
    assert_eq!(r3.status, StatusCode::CREATED, "{}", r3.body);
    let closed = test(id_of(&r3.body, "id")).await;
    assert_eq!(closed["outcome"], "unreachable", "{closed}");
    assert!(closed["detail"].as_str().is_some(), "{closed}");

    // A terminal that answers garbage: bad_response.
    r.fake.with(|s| s.down = true);
    let down = test(good).await;
    assert_eq!(down["outcome"], "bad_response", "{down}");
    assert_eq!(down["http_status"], 503, "{down}");
    r.fake.with(|s| s.down = false);

    // Operators may not test; an unknown terminal is 404.
    let dept = r.app.create_department(&r.admin, "Guards").await;
    r.app
        .create_employee(
            &r.admin,
            json!({"login": "op", "password": common::PASSWORD, "first_name": "O",
                   "last_name": "P", "role": "operator",
                   "scope": {"department_ids": [dept], "site_ids": [r.site]}}),
        )
        .await;
    let op = r.app.login("op").await.access_token;
    let denied = r
        .app
        .post(&format!("/api/v1/terminals/{good}/test"), &op, json!({}))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    let unknown = r
        .app
        .post(
            &format!("/api/v1/terminals/{}/test", Uuid::now_v7()),
            &r.admin,
            json!({}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
}
