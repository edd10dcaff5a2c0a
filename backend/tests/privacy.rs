//! Data-subject rights and retention (backend/src/privacy): the export checked file by file,
//! the erasure cascade (photo store, every table, the chain verifying after it), restriction
//! of processing, and retention at its boundaries. The data is inserted the way the server
//! stores it, so no face engine is needed.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Months, Utc};
use common::{PASSWORD, TestApp};
use faceid_server::attendance::{ChainFields, append, verify_chain};
use faceid_server::privacy::{self, Retention};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

struct World {
    app: TestApp,
    _dir: tempfile::TempDir,
    photo_dir: PathBuf,
    admin: String,
    ann: String,
    ann_id: Uuid,
    bob: String,
    bob_id: Uuid,
}

/// What [`seed`] stored for one employee.
struct Seeded {
    template: Uuid,
    punch_in: Uuid,
    punch_out: Uuid,
    review: Uuid,
    chat_id: i64,
    photo_keys: Vec<String>,
    photos: Vec<Vec<u8>>,
}

async fn world(pool: PgPool) -> World {
    let dir = tempfile::tempdir().unwrap();
    let photo_dir = dir.path().join("photos");
    let app = TestApp::with_settings(
        pool,
        faceid_server::Settings {
            photo_store_url: Some(format!("file://{}", photo_dir.display())),
            data_dir: dir.path().join("data"),
            ..common::settings()
        },
    );
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let site = app.create_site(&admin, "Main street").await;
    let mut ids = Vec::new();
    for (login, first) in [("ann", "Annabel"), ("bob", "Roberto")] {
        ids.push(
            app.create_employee(
                &admin,
                json!({"login": login, "password": PASSWORD, "first_name": first,
                       "last_name": format!("{first}son"), "role": "user", "site_ids": [site]}),
            )
            .await,
        );
    }
    let ann = app.login("ann").await.access_token;
    let bob = app.login("bob").await.access_token;
    for kind in ["biometric", "location", "telegram"] {
        let r = app
            .post(
                "/api/v1/consent-texts",
                &admin,
                json!({"kind": kind, "body": format!("We process your {kind} data.")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        for t in [&ann, &bob] {
            let r = app
                .post(
                    "/api/v1/me/consents",
                    t,
                    json!({"kind": kind, "action": "grant"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
    }
    World {
        app,
        _dir: dir,
        photo_dir,
        admin,
        ann,
        ann_id: ids[0],
        bob,
        bob_id: ids[1],
    }
}

fn jpeg(tag: &str) -> Vec<u8> {
    let mut b = b"\xff\xd8\xff\xe0 not really a photo: ".to_vec();
    b.extend_from_slice(tag.as_bytes());
    b
}

async fn event(
    app: &TestApp,
    employee: Uuid,
    kind: &str,
    verdict: &str,
    at: DateTime<Utc>,
    photo_key: Option<String>,
    refers_to: Option<i64>,
) -> (i64, Uuid) {
    let id = Uuid::now_v7();
    let mut f = ChainFields::blank(id, employee, kind, verdict, at, at);
    f.photo_key = photo_key;
    f.reasons = if verdict == "flagged" {
        vec!["low_similarity".into()]
    } else {
        vec![]
    };
    if kind == "review" {
        f.decision = Some("accept".into());
        f.refers_to = refers_to;
        f.comment = Some("looked at it".into());
    }
    let mut tx = app.pool.begin().await.unwrap();
    let row = append(&mut tx, f, None, None).await.unwrap();
    tx.commit().await.unwrap();
    (row, id)
}

/// Data of `employee` in every table the export covers.
async fn seed(w: &World, employee: Uuid, token: &str, tag: &str, chat_id: i64) -> Seeded {
    let app = &w.app;
    let photos = vec![
        jpeg(&format!("{tag} enrolment")),
        jpeg(&format!("{tag} evidence in")),
        jpeg(&format!("{tag} evidence out")),
        jpeg(&format!("{tag} profile")),
    ];
    let mut keys = Vec::new();
    for (p, prefix) in photos
        .iter()
        .zip(["enrolment", "evidence", "evidence", "profile"])
    {
        keys.push(app.state.photos.put(prefix, p.clone()).await.unwrap());
    }
    let template = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO face_templates (id, employee_id, model_id, descriptor, nonce, photo_key, quality)
         VALUES ($1, $2, 'dlib-128', $3, $4, $5, 0.93)",
    )
    .bind(template)
    .bind(employee)
    .bind(b"SECRET-DESCRIPTOR-BYTES".to_vec())
    .bind(vec![0u8; 12])
    .bind(&keys[0])
    .execute(&app.pool)
    .await
    .unwrap();
    let now = Utc::now();
    let (_, punch_in) = event(
        app,
        employee,
        "in",
        "verified",
        now - chrono::Duration::hours(9),
        Some(keys[1].clone()),
        None,
    )
    .await;
    let (out_row, punch_out) = event(
        app,
        employee,
        "out",
        "flagged",
        now - chrono::Duration::hours(1),
        Some(keys[2].clone()),
        None,
    )
    .await;
    let (_, review) = event(
        app,
        employee,
        "review",
        "verified",
        now,
        None,
        Some(out_row),
    )
    .await;
    let r = app
        .post(
            "/api/v1/me/correction-requests",
            token,
            json!({"kind": "punch", "event_id": punch_in, "punch_kind": "in",
                   "at": now - chrono::Duration::minutes(550),
                   "comment": format!("{tag} came in ten minutes earlier")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    sqlx::query("UPDATE employees SET photo_key = $2, card_number = $3 WHERE id = $1")
        .bind(employee)
        .bind(&keys[3])
        .bind(format!("card-{tag}"))
        .execute(&app.pool)
        .await
        .unwrap();
    let r = app
        .post(
            "/api/v1/locations/batch",
            token,
            json!({"points": (1..=3).map(|i| json!({
                "recorded_at": now - chrono::Duration::minutes(5 * i),
                "lat": 55.75, "lon": 37.61, "accuracy": 10.0 + f64::from(i as u8)})).collect::<Vec<_>>()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["accepted"], 3, "{}", r.body);
    sqlx::query(
        "INSERT INTO telegram_links (employee_id, chat_id, telegram_username, language)
         VALUES ($1, $2, $3, 'en')",
    )
    .bind(employee)
    .bind(chat_id)
    .bind(format!("tg_{tag}"))
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO timesheet_days (employee_id, time_zone, day, status, worked_minutes,
            late_minutes, early_leave_minutes, overtime_minutes, night_minutes, is_final, record,
            missing_checkout, pending_events, worked_on_day_off, t13_code, t13_hours)
         VALUES ($1, 'Europe/Moscow', '2026-11-02', 'worked', 480, 5, 0, 0, 0, true, '{}',
                 false, 0, false, 'Я', '8')",
    )
    .bind(employee)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO absences (id, employee_id, kind, date_from, date_to, note)
         VALUES ($1, $2, 'annual_leave', '2026-08-03', '2026-08-14', $3)",
    )
    .bind(Uuid::now_v7())
    .bind(employee)
    .bind(format!("holiday of {tag}"))
    .execute(&app.pool)
    .await
    .unwrap();
    Seeded {
        template,
        punch_in,
        punch_out,
        review,
        chat_id,
        photo_keys: keys,
        photos,
    }
}

/// A call answered as raw bytes.
async fn bytes(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
) -> (StatusCode, String, Vec<u8>) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let mut req = req;
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 1],
            40000,
        ))));
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, ct, body)
}

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut b = Vec::new();
        f.read_to_end(&mut b).unwrap();
        out.insert(f.name().to_owned(), b);
    }
    out
}

fn json_of(files: &std::collections::BTreeMap<String, Vec<u8>>, name: &str) -> Value {
    serde_json::from_slice(files.get(name).unwrap_or_else(|| panic!("{name} missing")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn csv_rows(files: &std::collections::BTreeMap<String, Vec<u8>>, name: &str) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_reader(&files[name][..]);
    let mut rows = vec![r.headers().unwrap().iter().map(str::to_owned).collect()];
    for rec in r.records() {
        rows.push(rec.unwrap().iter().map(str::to_owned).collect());
    }
    rows
}

fn stored(dir: &Path, key: &str) -> bool {
    dir.join(key).exists()
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn export_holds_every_table_of_the_employee_and_nothing_of_another(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    let ann = seed(&w, w.ann_id, &w.ann, "ann", 1_000_001).await;
    let bob = seed(&w, w.bob_id, &w.bob, "bob", 2_000_002).await;

    let r = app.post("/api/v1/me/export", &w.ann, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["state"], "queued");
    // The Telegram link's language is the default.
    assert_eq!(r.body["language"], "en");
    let id: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let jobs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'privacy.export' AND payload->>'export_id' = $1",
    )
    .bind(id.to_string())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(jobs, 1);
    let r = app.get(&format!("/api/v1/me/export/{id}"), &w.ann).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    // Another employee cannot see it.
    let r = app.get(&format!("/api/v1/me/export/{id}"), &w.bob).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    privacy::export::write_export(&app.state, id).await.unwrap();
    let r = app.get(&format!("/api/v1/me/export/{id}"), &w.ann).await;
    assert_eq!(r.status, StatusCode::OK);
    let (status, ct, zip) =
        bytes(app, Method::GET, &format!("/api/v1/me/export/{id}"), &w.ann).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/zip");
    let files = unzip(&zip);

    let mut expected: Vec<String> = ["README.txt", "profile.json", "telegram_link.json"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    for t in [
        "devices",
        "sessions",
        "consents",
        "consent_texts",
        "attendance_events",
        "corrections_and_reviews",
        "correction_requests",
        "timesheet_days",
        "absences",
        "location_points",
        "face_templates",
        "erasure_requests",
        "restrictions",
    ] {
        expected.push(format!("{t}.json"));
        expected.push(format!("{t}.csv"));
    }
    expected.push(format!("photos/enrolment/{}.jpg", ann.template));
    expected.push(format!("photos/evidence/{}.jpg", ann.punch_in));
    expected.push(format!("photos/evidence/{}.jpg", ann.punch_out));
    expected.push("photos/profile.jpg".into());
    let mut names: Vec<String> = files.keys().cloned().collect();
    names.sort();
    expected.sort();
    assert_eq!(names, expected);

    // README in English, naming every data file.
    let readme = String::from_utf8(files["README.txt"].clone()).unwrap();
    assert!(readme.starts_with("Your data in FaceID"), "{readme}");
    for f in [
        "profile.json",
        "attendance_events",
        "location_points",
        "face_templates",
        "photos/",
    ] {
        assert!(readme.contains(f), "README does not explain {f}");
    }

    let profile = json_of(&files, "profile.json");
    assert_eq!(profile["id"], json!(w.ann_id));
    assert_eq!(profile["login"], "ann");
    assert_eq!(profile["first_name"], "Annabel");
    assert_eq!(profile["card_number"], "card-ann");
    assert_eq!(profile["role"], "user");
    assert_eq!(profile["sites"], json!(["Main street"]));
    assert_eq!(profile["has_profile_photo"], true);

    let devices = json_of(&files, "devices.json");
    assert_eq!(devices.as_array().unwrap().len(), 1, "{devices}");
    assert_eq!(devices[0]["kind"], "personal");
    assert_eq!(
        json_of(&files, "sessions.json").as_array().unwrap().len(),
        1
    );

    let consents = json_of(&files, "consents.json");
    let kinds: Vec<&str> = consents
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["biometric", "location", "telegram"]);
    assert!(
        consents
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "grant")
    );
    assert_eq!(csv_rows(&files, "consents.csv").len(), 4);
    assert_eq!(
        json_of(&files, "consent_texts.json")
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let events = json_of(&files, "attendance_events.json");
    assert_eq!(events.as_array().unwrap().len(), 2, "{events}");
    assert_eq!(events[0]["event_id"], json!(ann.punch_in));
    assert_eq!(events[0]["verdict"], "verified");
    assert_eq!(events[0]["status"], "verified");
    assert_eq!(events[1]["event_id"], json!(ann.punch_out));
    assert_eq!(events[1]["verdict"], "flagged");
    assert_eq!(events[1]["reasons"], json!(["low_similarity"]));
    assert_eq!(events[1]["status"], "flagged_accepted");
    assert_eq!(events[1]["has_photo"], true);
    let rows = csv_rows(&files, "attendance_events.csv");
    assert_eq!(rows.len(), 3);
    let reasons = rows[0].iter().position(|c| c == "reasons").unwrap();
    assert_eq!(rows[2][reasons], "low_similarity");

    let reviews = json_of(&files, "corrections_and_reviews.json");
    assert_eq!(reviews.as_array().unwrap().len(), 1);
    assert_eq!(reviews[0]["event_id"], json!(ann.review));
    assert_eq!(reviews[0]["decision"], "accept");
    assert_eq!(reviews[0]["refers_to_event"], json!(ann.punch_out));

    let asked = json_of(&files, "correction_requests.json");
    assert_eq!(asked.as_array().unwrap().len(), 1, "{asked}");
    assert_eq!(asked[0]["event_id"], json!(ann.punch_in));
    assert_eq!(asked[0]["comment"], "ann came in ten minutes earlier");
    assert_eq!(asked[0]["state"], "pending");

    let days = json_of(&files, "timesheet_days.json");
    assert_eq!(days.as_array().unwrap().len(), 1);
    assert_eq!(days[0]["worked_minutes"], 480);
    assert_eq!(days[0]["t13_code"], "Я");
    assert_eq!(
        json_of(&files, "absences.json")[0]["note"],
        "holiday of ann"
    );

    let points = json_of(&files, "location_points.json");
    assert_eq!(points.as_array().unwrap().len(), 3);
    assert_eq!(csv_rows(&files, "location_points.csv").len(), 4);
    assert_eq!(points[0]["lat"], 55.75);

    let templates = json_of(&files, "face_templates.json");
    assert_eq!(templates.as_array().unwrap().len(), 1);
    assert_eq!(templates[0]["id"], json!(ann.template));
    assert_eq!(templates[0]["model_id"], "dlib-128");
    assert!(templates[0].get("descriptor").is_none());

    let tg = json_of(&files, "telegram_link.json");
    assert_eq!(tg["chat_id"], ann.chat_id);
    assert_eq!(tg["telegram_username"], "tg_ann");

    // The photos as stored.
    assert_eq!(
        files[&format!("photos/enrolment/{}.jpg", ann.template)],
        ann.photos[0]
    );
    assert_eq!(
        files[&format!("photos/evidence/{}.jpg", ann.punch_in)],
        ann.photos[1]
    );
    assert_eq!(
        files[&format!("photos/evidence/{}.jpg", ann.punch_out)],
        ann.photos[2]
    );
    assert_eq!(files["photos/profile.jpg"], ann.photos[3]);

    // Nothing of Bob, and never a descriptor.
    for (name, content) in &files {
        let text = String::from_utf8_lossy(content);
        for needle in [
            w.bob_id.to_string(),
            "Roberto".into(),
            "bob".into(),
            bob.template.to_string(),
            bob.punch_in.to_string(),
            bob.punch_out.to_string(),
            bob.chat_id.to_string(),
            "SECRET-DESCRIPTOR".into(),
        ] {
            assert!(!text.contains(&needle), "{name} contains {needle}");
        }
    }

    // Staff on the employee's behalf, in Tajik; audited, downloads too.
    let r = app
        .post(
            &format!("/api/v1/employees/{}/export", w.ann_id),
            &w.admin,
            json!({"language": "tg"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let staff_id: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    privacy::export::write_export(&app.state, staff_id)
        .await
        .unwrap();
    let (status, _, zip) = bytes(
        app,
        Method::GET,
        &format!("/api/v1/employees/{}/export/{staff_id}", w.ann_id),
        &w.admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let readme = String::from_utf8(unzip(&zip)["README.txt"].clone()).unwrap();
    assert!(readme.starts_with("Маълумоти шумо"), "{readme}");
    // The export of Ann is not reachable under Bob's id.
    let r = app
        .get(
            &format!("/api/v1/employees/{}/export/{staff_id}", w.bob_id),
            &w.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(audit_count(app, "privacy.export").await, 2);
    assert_eq!(audit_count(app, "privacy.export_download").await, 3);

    // Retention removes the file after its expiry: 410 from then on.
    let report = privacy::retention::run(
        &app.state,
        Utc::now() + chrono::Duration::hours(73),
        &Retention {
            evidence_photo_days: 36_500,
            export_keep_hours: 72,
            dismissed_years: 5,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.exports, 2);
    let r = app.get(&format!("/api/v1/me/export/{id}"), &w.ann).await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "export_expired"));
    let left = std::fs::read_dir(privacy::export::exports_dir(&app.state.settings))
        .unwrap()
        .count();
    assert_eq!(left, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn erasure_cascade_leaves_nothing_erasable_and_the_chain_verifies(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    let ann = seed(&w, w.ann_id, &w.ann, "ann", 1_000_001).await;
    let bob = seed(&w, w.bob_id, &w.bob, "bob", 2_000_002).await;
    for k in ann.photo_keys.iter().chain(&bob.photo_keys) {
        assert!(stored(&w.photo_dir, k), "{k} not in the store");
    }
    let events_before: i64 = app.count("SELECT count(*) FROM attendance_events").await;
    // A face terminal at Ann's site: the erasure queues her removal from it.
    sqlx::query(
        "WITH d AS (INSERT INTO devices (id, kind, name, platform, site_id)
                    SELECT gen_random_uuid(), 'terminal', 'Door', 'hikvision', site_id
                      FROM employee_sites WHERE employee_id = $1 LIMIT 1
                    RETURNING id, site_id)
         INSERT INTO terminals (id, device_id, name, base_url, username, password_ct,
                                password_nonce, site_id, direction, poll_interval_s, import_since)
         SELECT gen_random_uuid(), d.id, 'Door', 'http://127.0.0.1:9', 'admin', '\\x00',
                '\\x00', d.site_id, 'in', 60, now() FROM d",
    )
    .bind(w.ann_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let person_jobs = "SELECT count(*) FROM jobs WHERE kind = 'hikvision.person'";
    let queued_before = app.count(person_jobs).await;

    let r = app
        .post(
            "/api/v1/me/erasure-requests",
            &w.ann,
            json!({"scope": "everything", "comment": "I am leaving"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["state"], "pending");
    let id: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let r = app
        .post(
            "/api/v1/me/erasure-requests",
            &w.ann,
            json!({"scope": "everything"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "erasure_request_open")
    );
    let r = app
        .post(
            "/api/v1/me/erasure-requests",
            &w.ann,
            json!({"scope": "nothing"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    let r = app
        .get("/api/v1/erasure-requests?state=pending", &w.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["id"], json!(id));

    let r = app
        .post(
            &format!("/api/v1/erasure-requests/{id}/approve"),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "approved");
    let jobs: i64 = app
        .count("SELECT count(*) FROM jobs WHERE kind = 'privacy.erasure'")
        .await;
    assert_eq!(jobs, 1);
    let r = app
        .post(
            &format!("/api/v1/erasure-requests/{id}/approve"),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "erasure_request_not_pending")
    );

    privacy::erasure::cascade(&app.state, id, Utc::now())
        .await
        .unwrap();
    // A retried job does nothing more.
    privacy::erasure::cascade(&app.state, id, Utc::now())
        .await
        .unwrap();

    // Nothing of Ann's erasable data is left: photo store and each table.
    for k in &ann.photo_keys {
        assert!(!stored(&w.photo_dir, k), "{k} still in the store");
    }
    for k in &bob.photo_keys {
        assert!(stored(&w.photo_dir, k), "Bob's {k} was deleted");
    }
    for (table, sql) in [
        (
            "face_templates",
            "SELECT count(*) FROM face_templates WHERE employee_id = $1",
        ),
        (
            "location_points",
            "SELECT count(*) FROM location_points WHERE employee_id = $1",
        ),
        (
            "telegram_links",
            "SELECT count(*) FROM telegram_links WHERE employee_id = $1",
        ),
        (
            "unerased evidence photos",
            "SELECT count(*) FROM attendance_events WHERE employee_id = $1 AND photo_key IS NOT NULL AND photo_erased_at IS NULL",
        ),
        (
            "profile photo",
            "SELECT count(*) FROM employees WHERE id = $1 AND photo_key IS NOT NULL",
        ),
    ] {
        let (ann_n, bob_n): (i64, i64) = (
            sqlx::query_scalar(sql)
                .bind(w.ann_id)
                .fetch_one(&app.pool)
                .await
                .unwrap(),
            sqlx::query_scalar(sql)
                .bind(w.bob_id)
                .fetch_one(&app.pool)
                .await
                .unwrap(),
        );
        assert_eq!(ann_n, 0, "Ann's {table}");
        assert!(bob_n > 0, "Bob's {table}");
    }
    // The attendance log is kept whole and still verifies.
    assert_eq!(
        app.count("SELECT count(*) FROM attendance_events").await,
        events_before
    );
    let v = verify_chain(&app.pool).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.length, events_before);
    let r = app.get("/api/v1/attendance/chain/verify", &w.admin).await;
    assert_eq!(r.body["ok"], true, "{}", r.body);
    // The photo endpoint says the photo was erased; Bob's is still served.
    let r = app
        .get(
            &format!("/api/v1/attendance/events/{}/photo", ann.punch_in),
            &w.ann,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "photo_erased"));
    let r = app
        .get(
            &format!("/api/v1/attendance/events/{}/photo", bob.punch_in),
            &w.bob,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Processing ended with the erasure: consents withdrawn by the approving admin.
    let r = app.get("/api/v1/me/consents", &w.ann).await;
    for c in r.body["consents"].as_array().unwrap() {
        assert_eq!(c["action"], "withdraw", "{c}");
    }

    // The employee sees the outcome: what was removed, what was kept and why.
    let r = app.get("/api/v1/me/erasure-requests", &w.ann).await;
    assert_eq!(r.status, StatusCode::OK);
    let req = &r.body[0];
    assert_eq!(req["state"], "done", "{req}");
    let removed = &req["outcome"]["removed"];
    assert_eq!(removed["face_templates"], 1);
    assert_eq!(removed["enrolment_photos"], 1);
    assert_eq!(removed["evidence_photos"], 2);
    assert_eq!(removed["profile_photo"], true);
    assert_eq!(removed["location_points"], 3);
    assert_eq!(removed["telegram_link"], true);
    assert_eq!(removed["terminals"], "removal_queued_on_1_terminals");
    assert!(app.count(person_jobs).await > queued_before);
    let kept = req["outcome"]["kept"].as_array().unwrap();
    assert_eq!(kept[0]["what"], "attendance_events");
    assert_eq!(kept[0]["count"], 3);
    assert!(kept.iter().all(|k| !k["why"].as_str().unwrap().is_empty()));

    for action in [
        "erasure_request.create",
        "erasure_request.approve",
        "erasure.done",
    ] {
        assert_eq!(audit_count(app, action).await, 1, "{action}");
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn an_admin_cannot_approve_the_erasure_of_their_own_account(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    let r = app
        .post(
            "/api/v1/me/erasure-requests",
            &w.admin,
            json!({"scope": "everything"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/api/v1/erasure-requests/{id}/approve"),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "own_request"));
    assert_eq!(
        app.count("SELECT count(*) FROM jobs WHERE kind = 'privacy.erasure'")
            .await,
        0,
        "nothing queued"
    );
    let r = app.get("/api/v1/erasure-requests", &w.admin).await;
    assert_eq!(r.body[0]["state"], "pending", "{}", r.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn erasure_scopes_and_refusal(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    let ann = seed(&w, w.ann_id, &w.ann, "ann", 1_000_001).await;

    // Refused with a reason the employee sees; a refused request cannot be approved.
    let r = app
        .post(
            "/api/v1/me/erasure-requests",
            &w.ann,
            json!({"scope": "locations"}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/api/v1/erasure-requests/{id}/refuse"),
            &w.admin,
            json!({"reason": "  "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/erasure-requests/{id}/refuse"),
            &w.admin,
            json!({"reason": "the points are evidence in an open dispute"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "refused");
    let r = app
        .post(
            &format!("/api/v1/erasure-requests/{id}/approve"),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "erasure_request_not_pending");
    let r = app.get("/api/v1/me/erasure-requests", &w.ann).await;
    assert_eq!(
        r.body[0]["refusal_reason"],
        "the points are evidence in an open dispute"
    );
    assert_eq!(audit_count(app, "erasure_request.refuse").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM location_points").await,
        3,
        "a refusal removes nothing"
    );

    // Biometrics only: templates and their photos go, evidence and points stay.
    erase_approved(&w, "biometrics").await;
    assert_eq!(app.count("SELECT count(*) FROM face_templates").await, 0);
    assert!(!stored(&w.photo_dir, &ann.photo_keys[0]));
    assert!(stored(&w.photo_dir, &ann.photo_keys[1]));
    assert_eq!(app.count("SELECT count(*) FROM location_points").await, 3);
    let r = app.get("/api/v1/me/consents", &w.ann).await;
    let biometric = r.body["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "biometric")
        .unwrap()
        .clone();
    assert_eq!(biometric["action"], "withdraw");

    // Photos only: evidence photos erased, the events and points stay, the chain verifies.
    erase_approved(&w, "photos").await;
    for k in &ann.photo_keys {
        assert!(!stored(&w.photo_dir, k), "{k}");
    }
    assert_eq!(app.count("SELECT count(*) FROM location_points").await, 3);
    assert!(verify_chain(&app.pool).await.unwrap().ok);
}

/// Ann files an erasure request of `scope`, the administrator approves it and its cascade runs.
async fn erase_approved(w: &World, scope: &str) {
    let r = w
        .app
        .post(
            "/api/v1/me/erasure-requests",
            &w.ann,
            json!({"scope": scope}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let r = w
        .app
        .post(
            &format!("/api/v1/erasure-requests/{id}/approve"),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    privacy::erasure::cascade(&w.app.state, id, Utc::now())
        .await
        .unwrap();
    let r = w.app.get("/api/v1/me/erasure-requests", &w.ann).await;
    assert_eq!(r.body[0]["id"], json!(id));
    assert_eq!(r.body[0]["state"], "done", "{}", r.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn correction_requests_reach_the_queue_and_accepting_appends_or_updates(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    let ann = seed(&w, w.ann_id, &w.ann, "ann", 1_000_001).await;
    let bob = seed(&w, w.bob_id, &w.bob, "bob", 2_000_002).await;

    // Bad requests: a punch without its time, a field without a value, another's punch.
    for (body, status) in [
        (
            json!({"kind": "punch", "punch_kind": "in", "comment": "forgot"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "field", "field": "last_name", "comment": "typo"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "punch", "event_id": bob.punch_out, "punch_kind": "out",
                   "at": Utc::now(), "comment": "mine"}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let r = app
            .post("/api/v1/me/correction-requests", &w.ann, body.clone())
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }

    // A field request next to the punch request `seed` filed.
    let r = app
        .post(
            "/api/v1/me/correction-requests",
            &w.ann,
            json!({"kind": "field", "field": "last_name", "value": "Annabelova",
                   "comment": "my name changed"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let field_request = r.body["id"].as_str().unwrap().to_owned();
    let r = app.get("/api/v1/me/correction-requests", &w.ann).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2, "{}", r.body);
    let punch_request = r.body[1]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body[1]["event_id"], json!(ann.punch_in));

    // The queue: pending requests of both, oldest first.
    let r = app.get("/api/v1/correction-requests", &w.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ids: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{}", r.body);
    assert!(ids.contains(&punch_request.as_str()) && ids.contains(&field_request.as_str()));

    // Accepting the punch request appends a correction that replaces the punch.
    let events_before = app.count("SELECT count(*) FROM attendance_events").await;
    let r = app
        .post(
            &format!("/api/v1/correction-requests/{punch_request}/decide"),
            &w.admin,
            json!({"decision": "accept", "comment": "checked with the site manager"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "accepted");
    let correction: Uuid = r.body["correction_event_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        app.count("SELECT count(*) FROM attendance_events").await,
        events_before + 1
    );
    let (kind, punch_kind, refers_to, actor): (String, Option<String>, Option<Uuid>, Option<Uuid>) =
        sqlx::query_as(
            "SELECT e.kind, e.punch_kind, r.public_id, e.actor_id FROM attendance_events e
               LEFT JOIN attendance_events r ON r.id = e.refers_to WHERE e.public_id = $1",
        )
        .bind(correction)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        (kind.as_str(), punch_kind.as_deref(), refers_to),
        ("correction", Some("in"), Some(ann.punch_in))
    );
    assert!(actor.is_some());
    let status: String = sqlx::query_scalar(
        "SELECT p.status FROM attendance_punches p JOIN attendance_events e ON e.id = p.id
          WHERE e.public_id = $1",
    )
    .bind(ann.punch_in)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(status, "superseded");
    assert!(verify_chain(&app.pool).await.unwrap().ok);
    let r = app
        .post(
            &format!("/api/v1/correction-requests/{punch_request}/decide"),
            &w.admin,
            json!({"decision": "reject"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "correction_request_not_pending")
    );

    // Accepting the field request updates the profile; Bob's is rejected and changes nothing.
    let r = app
        .post(
            &format!("/api/v1/correction-requests/{field_request}/decide"),
            &w.admin,
            json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let last: String = sqlx::query_scalar("SELECT last_name FROM employees WHERE id = $1")
        .bind(w.ann_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(last, "Annabelova");
    let r = app.get("/api/v1/me/correction-requests", &w.bob).await;
    let bob_request = r.body[0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/api/v1/correction-requests/{bob_request}/decide"),
            &w.admin,
            json!({"decision": "reject", "comment": "the gate log says 09:02"}),
        )
        .await;
    assert_eq!(r.body["state"], "rejected", "{}", r.body);
    let r = app.get("/api/v1/me/correction-requests", &w.bob).await;
    assert_eq!(r.body[0]["decision_comment"], "the gate log says 09:02");
    let r = app
        .get("/api/v1/correction-requests?state=pending", &w.admin)
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 0, "{}", r.body);

    for (action, n) in [
        ("correction_request.create", 3),
        ("correction_request.accept", 2),
        ("correction_request.reject", 1),
    ] {
        assert_eq!(audit_count(app, action).await, n, "{action}");
    }
}

async fn check_in(w: &World, token: &str) -> common::Resp {
    let now = Utc::now();
    let ev = json!({
        "idempotency_key": Uuid::now_v7(),
        "kind": "in",
        "clock": {"device_time": now},
        "gps": {"lat": 55.75, "lon": 37.61, "accuracy_m": 12.0, "fix_time": now, "mock": false,
                "provider": "fused"},
        "liveness": {"passive": 0.9},
    });
    w.app
        .post_multipart(
            "/api/v1/attendance/events",
            token,
            &[
                (
                    "evidence",
                    serde_json::to_vec(&ev).unwrap(),
                    "application/json",
                ),
                ("best_frame", jpeg("frame"), "image/jpeg"),
            ],
        )
        .await
}

#[sqlx::test(migrations = "./migrations")]
async fn restriction_stops_processing_until_lifted(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    seed(&w, w.ann_id, &w.ann, "ann", 1_000_001).await;

    let r = app.get("/api/v1/me/restrictions", &w.ann).await;
    assert_eq!(r.body["biometrics"], false);
    // Without a restriction the check-in goes on to the face engine (absent here: 503).
    let r = check_in(&w, &w.ann).await;
    assert_eq!(r.code(), "face_engine_unavailable", "{}", r.body);

    let r = app
        .call(
            Method::PUT,
            "/api/v1/me/restrictions",
            Some(&w.ann),
            Some(json!({"biometrics": true, "tracking": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["biometrics"].clone(), r.body["tracking"].clone()),
        (json!(true), json!(true))
    );

    let r = check_in(&w, &w.ann).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "processing_restricted")
    );
    assert!(r.body["detail"].as_str().unwrap().contains("restricted"));
    let r = app
        .post_multipart(
            "/api/v1/me/face-templates",
            &w.ann,
            &[("photo", jpeg("enrol"), "image/jpeg")],
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "processing_restricted")
    );
    // Nor are the descriptors handed to the phone for on-device matching.
    let r = app
        .get("/api/v1/me/face-templates/descriptors", &w.ann)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "processing_restricted")
    );
    let r = app
        .post(
            "/api/v1/locations/batch",
            &w.ann,
            json!({"points": [{"recorded_at": Utc::now(), "lat": 55.75, "lon": 37.61, "accuracy": 10.0}]}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "processing_restricted")
    );
    // Nothing was deleted.
    assert_eq!(app.count("SELECT count(*) FROM face_templates").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM location_points").await, 3);
    // Another employee is not affected.
    let r = check_in(&w, &w.bob).await;
    assert_eq!(r.code(), "face_engine_unavailable", "{}", r.body);

    // The administrator sees it and lifts tracking; the employee lifts biometrics.
    let path = format!("/api/v1/employees/{}/restrictions", w.ann_id);
    let r = app.get(&path, &w.admin).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2, "{}", r.body);
    let r = app
        .call(
            Method::PUT,
            &path,
            Some(&w.admin),
            Some(json!({"tracking": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["tracking"], false);
    let r = app
        .post(
            "/api/v1/locations/batch",
            &w.ann,
            json!({"points": [{"recorded_at": Utc::now(), "lat": 55.75, "lon": 37.61, "accuracy": 10.0}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/me/restrictions",
            Some(&w.ann),
            Some(json!({"biometrics": false})),
        )
        .await;
    assert_eq!(r.body["biometrics"], false);
    let r = check_in(&w, &w.ann).await;
    assert_eq!(r.code(), "face_engine_unavailable", "{}", r.body);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/me/restrictions",
            Some(&w.ann),
            Some(json!({"everything": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Three changes, three audit entries (an unchanged state is not one).
    assert_eq!(audit_count(app, "privacy.restriction").await, 3);
}

#[sqlx::test(migrations = "./migrations")]
async fn retention_deletes_exactly_what_is_past_its_time(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    let now = Utc::now();
    let keep = Retention {
        evidence_photo_days: 90,
        export_keep_hours: 72,
        dismissed_years: 5,
    };
    let cut = now - chrono::Duration::days(90);
    let s = chrono::Duration::seconds(1);

    // Evidence photos around the cut-off, and flagged punches with and without a review.
    let mut keys = Vec::new();
    for tag in [
        "old",
        "young",
        "flagged-open",
        "flagged-reviewed",
        "disputed",
    ] {
        keys.push(app.state.photos.put("evidence", jpeg(tag)).await.unwrap());
    }
    let (_, old) = event(
        app,
        w.ann_id,
        "in",
        "verified",
        cut - s,
        Some(keys[0].clone()),
        None,
    )
    .await;
    let (_, young) = event(
        app,
        w.ann_id,
        "out",
        "verified",
        cut + s,
        Some(keys[1].clone()),
        None,
    )
    .await;
    let long_ago = now - chrono::Duration::days(200);
    let (_, open) = event(
        app,
        w.ann_id,
        "in",
        "flagged",
        long_ago,
        Some(keys[2].clone()),
        None,
    )
    .await;
    let (row, reviewed) = event(
        app,
        w.ann_id,
        "out",
        "flagged",
        long_ago,
        Some(keys[3].clone()),
        None,
    )
    .await;
    event(
        app,
        w.ann_id,
        "review",
        "verified",
        long_ago,
        None,
        Some(row),
    )
    .await;

    // An old punch the employee asked to correct: its photo stays while the request is open.
    let (_, disputed) = event(
        app,
        w.ann_id,
        "in",
        "verified",
        long_ago,
        Some(keys[4].clone()),
        None,
    )
    .await;
    sqlx::query(
        "INSERT INTO correction_requests (id, employee_id, kind, event_id, punch_kind, at, comment)
         VALUES ($1, $2, 'punch', $3, 'in', $4, 'I came earlier')",
    )
    .bind(Uuid::now_v7())
    .bind(w.ann_id)
    .bind(disputed)
    .bind(long_ago)
    .execute(&app.pool)
    .await
    .unwrap();

    // Refresh tokens either side of their expiry.
    let session: Uuid =
        sqlx::query_scalar("SELECT id FROM sessions WHERE employee_id = $1 LIMIT 1")
            .bind(w.ann_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for (hash, expires) in [
        (b"expired".to_vec(), now - s),
        (b"current".to_vec(), now + s),
    ] {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at, rotated_at)
             VALUES ($1, $2, $3, $3 - interval '1 day')",
        )
        .bind(hash)
        .bind(session)
        .bind(expires)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let tokens_before = app.count("SELECT count(*) FROM refresh_tokens").await;
    let carl_tokens: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
          WHERE s.employee_id = $1",
    )
    .bind(w.bob_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();

    // Exports either side of their expiry, with their files.
    let dir = privacy::export::exports_dir(&app.state.settings);
    std::fs::create_dir_all(&dir).unwrap();
    let mut exports = Vec::new();
    for expires in [now - s, now + s] {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO data_exports (id, employee_id, language, state, size_bytes, finished_at, expires_at)
             VALUES ($1, $2, 'ru', 'ready', 2, $3, $3)",
        )
        .bind(id)
        .bind(w.ann_id)
        .bind(expires)
        .execute(&app.pool)
        .await
        .unwrap();
        std::fs::write(dir.join(format!("{id}.zip")), b"PK").unwrap();
        exports.push(id);
    }

    // Two dismissed employees, either side of the legal period.
    let legal = now.checked_sub_months(Months::new(60)).unwrap();
    let carl = seed(&w, w.bob_id, &w.bob, "carl", 3_000_003).await;
    let carl_id = w.bob_id;
    let dave_id = app
        .create_employee(&w.admin, common::user_body("dave", None))
        .await;
    for (id, at) in [(carl_id, legal - s), (dave_id, legal + s)] {
        sqlx::query("UPDATE employees SET status = 'dismissed', dismissed_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    let events_before = app.count("SELECT count(*) FROM attendance_events").await;

    let report = privacy::retention::run(&app.state, now, &keep)
        .await
        .unwrap();
    assert_eq!(
        report,
        privacy::retention::RetentionReport {
            evidence_photos: 2,
            refresh_tokens: 1,
            exports: 1,
            pseudonymised: 1,
        }
    );

    // Photos: the old one and the reviewed flagged one went; the young one, the one still
    // waiting for its review and the one with an open correction request stayed.
    let erased: Vec<Uuid> = sqlx::query_scalar(
        "SELECT public_id FROM attendance_events WHERE employee_id = $1 AND photo_erased_at IS NOT NULL ORDER BY id",
    )
    .bind(w.ann_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(erased, [old, reviewed]);
    assert!(!stored(&w.photo_dir, &keys[0]));
    assert!(stored(&w.photo_dir, &keys[1]));
    assert!(stored(&w.photo_dir, &keys[2]));
    assert!(!stored(&w.photo_dir, &keys[3]));
    assert!(
        stored(&w.photo_dir, &keys[4]),
        "the disputed punch lost its photo"
    );
    let _ = (young, open);
    let r = app
        .get(&format!("/api/v1/attendance/events/{old}/photo"), &w.ann)
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "photo_erased"));
    let r = app
        .get(&format!("/api/v1/attendance/events/{young}/photo"), &w.ann)
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Tokens: only the expired one (and those of Carl's sessions, ended with his data).
    for (hash, left) in [(b"expired".to_vec(), 0), (b"current".to_vec(), 1)] {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM refresh_tokens WHERE token_hash = $1")
                .bind(hash)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!(n, left);
    }
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
          WHERE s.employee_id <> $1",
    )
    .bind(carl_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(others, tokens_before - 1 - carl_tokens);

    // Exports: the expired file is gone, the other stays.
    assert!(!dir.join(format!("{}.zip", exports[0])).exists());
    assert!(dir.join(format!("{}.zip", exports[1])).exists());
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM data_exports ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(states, ["expired", "ready"]);

    // Carl pseudonymised with his biometrics, photos, points and link gone; his attendance
    // kept and the chain intact. Dave untouched.
    let (login, first, card, pseudo): (String, String, Option<String>, Option<DateTime<Utc>>) =
        sqlx::query_as(
            "SELECT login, first_name, card_number, pseudonymised_at FROM employees WHERE id = $1",
        )
        .bind(carl_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(login.starts_with("erased-"), "{login}");
    assert_eq!(first, "Former");
    assert_eq!(card, None);
    assert!(pseudo.is_some());
    for sql in [
        "SELECT count(*) FROM face_templates WHERE employee_id = $1",
        "SELECT count(*) FROM location_points WHERE employee_id = $1",
        "SELECT count(*) FROM telegram_links WHERE employee_id = $1",
        "SELECT count(*) FROM sessions WHERE employee_id = $1",
        "SELECT count(*) FROM attendance_events WHERE employee_id = $1 AND photo_key IS NOT NULL AND photo_erased_at IS NULL",
    ] {
        let n: i64 = sqlx::query_scalar(sql)
            .bind(carl_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{sql}");
    }
    for k in &carl.photo_keys {
        assert!(!stored(&w.photo_dir, k), "{k}");
    }
    // The whole row but the password hash (random base64, which could spell anything).
    let text: String = sqlx::query_scalar(
        "SELECT (to_jsonb(e) - 'password_hash')::text FROM employees e WHERE id = $1",
    )
    .bind(carl_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!text.contains("Roberto") && !text.contains("bob"), "{text}");
    assert_eq!(
        app.count("SELECT count(*) FROM attendance_events").await,
        events_before
    );
    assert!(verify_chain(&app.pool).await.unwrap().ok);
    let dave: (String, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT login, pseudonymised_at FROM employees WHERE id = $1")
            .bind(dave_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(dave, ("dave".to_owned(), None));

    // Logged in the audit log; a second run finds nothing more.
    assert_eq!(audit_count(app, "retention.run").await, 1);
    assert_eq!(audit_count(app, "employee.pseudonymise").await, 1);
    let again = privacy::retention::run(&app.state, now, &keep)
        .await
        .unwrap();
    assert_eq!(again, privacy::retention::RetentionReport::default());
}

/// The retention run is a registered periodic job, and the export and erasure kinds have
/// handlers: a worker runs an approved erasure to `done`.
#[sqlx::test(migrations = "./migrations")]
async fn jobs_run_the_export_and_the_erasure(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    seed(&w, w.ann_id, &w.ann, "ann", 1_000_001).await;
    let r = app
        .post("/api/v1/me/export", &w.ann, json!({"language": "ru"}))
        .await;
    let export: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let r = app
        .post(
            "/api/v1/me/erasure-requests",
            &w.ann,
            json!({"scope": "locations"}),
        )
        .await;
    let request = r.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/erasure-requests/{request}/approve"),
        &w.admin,
        json!({}),
    )
    .await;

    let registry = faceid_server::job_registry(&app.state, 90);
    let worker = faceid_server::jobs::Worker::new(
        app.pool.clone(),
        registry,
        faceid_server::jobs::WorkerConfig::default(),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(worker.run(stopped));
    let mut done = false;
    for _ in 0..600 {
        let (e, q): (String, String) = sqlx::query_as(
            "SELECT (SELECT state FROM data_exports WHERE id = $1),
                    (SELECT state FROM erasure_requests WHERE id = $2::uuid)",
        )
        .bind(export)
        .bind(&request)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if e == "ready" && q == "done" {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    handle.await.unwrap();
    assert!(done, "the worker did not finish the export and the erasure");
    assert_eq!(app.count("SELECT count(*) FROM location_points").await, 0);
    let (status, _, zip) = bytes(
        app,
        Method::GET,
        &format!("/api/v1/me/export/{export}"),
        &w.ann,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let readme = String::from_utf8(unzip(&zip)["README.txt"].clone()).unwrap();
    assert!(readme.starts_with("Ваши данные в FaceID"), "{readme}");
}

/// A `PUT` of a multipart body with the given parts.
async fn put_photo(w: &World, path: &str, token: &str, parts: &[(&str, Vec<u8>)]) -> common::Resp {
    let parts: Vec<(&str, Vec<u8>, &str)> = parts
        .iter()
        .map(|(n, b)| (*n, b.clone(), "application/octet-stream"))
        .collect();
    w.app.send_multipart("PUT", path, token, &parts).await
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn profile_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("profile")).map_or(0, |d| d.count())
}

#[sqlx::test(migrations = "./migrations")]
async fn profile_photo_is_reencoded_scoped_replaced_and_erased(pool: PgPool) {
    let w = world(pool).await;
    let app = &w.app;
    let r = app.get("/api/v1/me", &w.ann).await;
    assert_eq!(r.body["photo_updated_at"], Value::Null, "{}", r.body);
    let r = app.get("/api/v1/me/photo", &w.ann).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["code"], "no_photo", "{}", r.body);

    // Refused uploads change nothing.
    let r = put_photo(
        &w,
        "/api/v1/me/photo",
        &w.ann,
        &[("photo", jpeg("garbage"))],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["code"], "photo_refused");
    assert_eq!(r.body["errors"][0]["field"], "photo");
    let two = [("photo", png(10, 10)), ("photo", png(10, 10))];
    let r = put_photo(&w, "/api/v1/me/photo", &w.ann, &two).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = put_photo(&w, "/api/v1/me/photo", &w.ann, &[("picture", png(10, 10))]).await;
    assert_eq!(r.body["code"], "photo_count", "{}", r.body);
    assert_eq!(profile_files(&w.photo_dir), 0);
    assert_eq!(
        app.get("/api/v1/me", &w.ann).await.body["photo_updated_at"],
        Value::Null
    );

    // The employee's own upload: re-encoded as a JPEG of at most 512 px.
    let r = put_photo(&w, "/api/v1/me/photo", &w.ann, &[("photo", png(1200, 800))]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let at = r.body["photo_updated_at"].clone();
    assert!(at.is_string(), "{}", r.body);
    assert_eq!(
        app.get("/api/v1/me", &w.ann).await.body["photo_updated_at"],
        at
    );
    let r = app
        .get(&format!("/api/v1/employees/{}", w.ann_id), &w.admin)
        .await;
    assert_eq!(r.body["photo_updated_at"], at, "{}", r.body);
    let (status, ct, body) = bytes(app, Method::GET, "/api/v1/me/photo", &w.ann).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/jpeg"));
    let img = image::load_from_memory(&body).unwrap();
    assert_eq!((img.width(), img.height()), (512, 341));
    let (status, _, same) = bytes(
        app,
        Method::GET,
        &format!("/api/v1/employees/{}/photo", w.ann_id),
        &w.admin,
    )
    .await;
    assert_eq!((status, &same), (StatusCode::OK, &body));
    // Revalidation by entity tag.
    let r = app.get("/api/v1/me/photo", &w.ann).await;
    let etag = r.headers[header::ETAG].to_str().unwrap().to_owned();
    let mut req = Request::builder()
        .uri("/api/v1/me/photo")
        .header(header::AUTHORIZATION, format!("Bearer {}", w.ann))
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 1],
            40000,
        ))));
    assert_eq!(app.raw(req).await.status, StatusCode::NOT_MODIFIED);

    // Another employee is not staff; staff replace it and the old bytes leave the store.
    let other = format!("/api/v1/employees/{}/photo", w.ann_id);
    assert_eq!(app.get(&other, &w.bob).await.status, StatusCode::FORBIDDEN);
    let r = put_photo(&w, &other, &w.bob, &[("photo", png(50, 50))]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = put_photo(&w, &other, &w.admin, &[("photo", png(300, 600))]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_ne!(r.body["photo_updated_at"], at);
    assert_eq!(profile_files(&w.photo_dir), 1);
    let (_, _, body) = bytes(app, Method::GET, "/api/v1/me/photo", &w.ann).await;
    let img = image::load_from_memory(&body).unwrap();
    assert_eq!((img.width(), img.height()), (256, 512));
    let r = app.get("/api/v1/me/photo", &w.ann).await;
    assert_ne!(r.headers[header::ETAG].to_str().unwrap(), etag);
    assert_eq!(audit_count(app, "employee.photo_set").await, 2);

    // An erasure of photos removes it, bytes included; deleting nothing is fine.
    erase_approved(&w, "photos").await;
    assert_eq!(profile_files(&w.photo_dir), 0);
    assert_eq!(
        app.get("/api/v1/me", &w.ann).await.body["photo_updated_at"],
        Value::Null
    );
    assert_eq!(
        app.get("/api/v1/me/photo", &w.ann).await.body["code"],
        "no_photo"
    );
    let r = app
        .call(Method::DELETE, "/api/v1/me/photo", Some(&w.ann), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // The employee's own removal.
    let r = put_photo(&w, "/api/v1/me/photo", &w.bob, &[("photo", png(64, 64))]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(profile_files(&w.photo_dir), 1);
    let r = app
        .call(Method::DELETE, "/api/v1/me/photo", Some(&w.bob), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(profile_files(&w.photo_dir), 0);
    assert_eq!(audit_count(app, "employee.photo_removed").await, 1);
}
