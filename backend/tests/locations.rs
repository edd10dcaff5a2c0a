//! Location ingestion, tracking policy and retention against the real router and PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, TimeZone, Utc};
use common::TestApp;
use faceid_server::jobs::retention;
use faceid_server::locations;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

struct Setup {
    app: TestApp,
    admin: String,
    user: String,
    user_id: Uuid,
    dept: Uuid,
}

async fn setup(pool: PgPool) -> Setup {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let dept = app.create_department(&admin, "Field").await;
    let user_id = app
        .create_employee(&admin, common::user_body("walker", Some(dept)))
        .await;
    let user = app.login("walker").await.access_token;
    let r = app
        .post(
            "/api/v1/consent-texts",
            &admin,
            json!({"kind": "location", "body": "We record where you are."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    Setup {
        app,
        admin,
        user,
        user_id,
        dept,
    }
}

async fn grant(app: &TestApp, token: &str, kind: &str, action: &str) {
    let r = app
        .post(
            "/api/v1/me/consents",
            token,
            json!({"kind": kind, "action": action}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

fn point(t: chrono::DateTime<Utc>) -> Value {
    json!({"recorded_at": t, "lat": 55.75, "lon": 37.61, "accuracy": 12.0, "speed": 1.5,
           "bearing": 90.0, "altitude": 150.0, "mock": false, "battery": 77})
}

fn points(n: usize, start: chrono::DateTime<Utc>) -> Vec<Value> {
    (0..n)
        .map(|i| point(start + Duration::seconds(i as i64)))
        .collect()
}

async fn send(app: &TestApp, token: &str, body: Value, key: Option<Uuid>) -> common::Resp {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/locations/batch")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        b = b.header("Idempotency-Key", k.to_string());
    }
    let mut req = b
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        "10.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
    ));
    app.raw(req).await
}

async fn stored(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM location_points").await
}

#[sqlx::test(migrations = "./migrations")]
async fn thousand_points_twice_store_a_thousand(pool: PgPool) {
    let s = setup(pool).await;
    grant(&s.app, &s.user, "location", "grant").await;
    let start = Utc::now() - Duration::hours(2);
    let body = json!({"points": points(1_000, start)});
    let r = send(&s.app, &s.user, body.clone(), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"accepted": 1000, "duplicates": 0, "rejected": []})
    );
    let r = send(&s.app, &s.user, body, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"accepted": 0, "duplicates": 1000, "rejected": []})
    );
    assert_eq!(stored(&s.app).await, 1000);
    // Stored in the month's partition, not the default one.
    let name = format!("location_points_p{}", start.format("%Y%m"));
    let in_default = s
        .app
        .count("SELECT count(*) FROM location_points_default")
        .await;
    assert_eq!(in_default, 0);
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(&name)
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert!(exists, "{name}");

    // Read back, own and as administrator.
    let from = (start - Duration::minutes(1)).to_rfc3339();
    let to = (start + Duration::hours(1)).to_rfc3339();
    let q = format!("from={}&to={}", urlenc(&from), urlenc(&to));
    let r = s
        .app
        .get(&format!("/api/v1/me/locations?{q}"), &s.user)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["points"].as_array().unwrap().len(), 1000);
    assert_eq!(r.body["truncated"], false);
    assert_eq!(r.body["points"][0]["battery"], 77);
    let r = s
        .app
        .get(
            &format!("/api/v1/employees/{}/locations?{q}", s.user_id),
            &s.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["points"].as_array().unwrap().len(), 1000);
    // The administrator has no points of their own.
    let r = s
        .app
        .get(&format!("/api/v1/me/locations?{q}"), &s.admin)
        .await;
    assert_eq!(r.body["points"].as_array().unwrap().len(), 0);
}

fn urlenc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[sqlx::test(migrations = "./migrations")]
async fn bad_points_are_rejected_per_index_and_not_stored(pool: PgPool) {
    let s = setup(pool).await;
    grant(&s.app, &s.user, "location", "grant").await;
    let now = Utc::now();
    let mut pts = vec![point(now - Duration::minutes(5))];
    let mut p = point(now - Duration::minutes(4));
    p["lat"] = json!(91.0);
    pts.push(p);
    let mut p = point(now - Duration::minutes(3));
    p["lon"] = json!(-180.5);
    pts.push(p);
    let pts_future = point(now + Duration::hours(1));
    pts.push(pts_future);
    pts.push(point(Utc.with_ymd_and_hms(2019, 5, 1, 0, 0, 0).unwrap()));
    let mut p = point(now - Duration::minutes(2));
    p["accuracy"] = json!(-1.0);
    pts.push(p);
    let r = send(&s.app, &s.user, json!({"points": pts}), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["accepted"], 1);
    let reasons: Vec<(u64, String)> = r.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["index"].as_u64().unwrap(),
                x["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (1, "lat:out_of_range".into()),
            (2, "lon:out_of_range".into()),
            (3, "recorded_at:time_in_future".into()),
            (4, "recorded_at:time_too_old".into()),
            (5, "accuracy:out_of_range".into()),
        ]
    );
    assert_eq!(stored(&s.app).await, 1);

    // NaN cannot be written in JSON; a non-number where a number belongs is refused whole.
    let raw = format!(
        r#"{{"points":[{{"recorded_at":"{}","lat":NaN,"lon":1,"accuracy":1}}]}}"#,
        now.to_rfc3339()
    );
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/locations/batch")
        .header(header::AUTHORIZATION, format!("Bearer {}", s.user))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(raw))
        .unwrap();
    let r = s.app.raw(req).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "malformed_json"),
        "{}",
        r.body
    );

    // 1,001 points: the whole batch is refused.
    let r = send(
        &s.app,
        &s.user,
        json!({"points": points(1_001, now - Duration::hours(3))}),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "points");
    assert_eq!(r.body["errors"][0]["code"], "count");
    // Empty batch.
    let r = send(&s.app, &s.user, json!({"points": []}), None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Unknown fields, at the top and in a point.
    let r = send(
        &s.app,
        &s.user,
        json!({"points": points(1, now), "extra": 1}),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.body["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_field"))
    );
    let mut p = point(now);
    p["altitude_ft"] = json!(3);
    let r = send(&s.app, &s.user, json!({"points": [p]}), None).await;
    assert_eq!(
        (r.status, r.body["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_field"))
    );
    assert_eq!(stored(&s.app).await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn no_consent_or_withdrawn_consent_refuses_points(pool: PgPool) {
    let s = setup(pool).await;
    let body = json!({"points": points(10, Utc::now() - Duration::hours(1))});
    let r = send(&s.app, &s.user, body.clone(), None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "location_consent_required"),
        "{}",
        r.body
    );
    assert_eq!(stored(&s.app).await, 0);
    grant(&s.app, &s.user, "location", "grant").await;
    let r = send(&s.app, &s.user, body.clone(), None).await;
    assert_eq!(r.body["accepted"], 10, "{}", r.body);
    grant(&s.app, &s.user, "location", "withdraw").await;
    let later = json!({"points": points(10, Utc::now() - Duration::minutes(30))});
    let r = send(&s.app, &s.user, later, None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "location_consent_required")
    );
    assert_eq!(stored(&s.app).await, 10);
}

#[sqlx::test(migrations = "./migrations")]
async fn idempotency_key_replays_and_refuses_another_body(pool: PgPool) {
    let s = setup(pool).await;
    grant(&s.app, &s.user, "location", "grant").await;
    let key = Uuid::now_v7();
    let body = json!({"points": points(5, Utc::now() - Duration::hours(1))});
    let first = send(&s.app, &s.user, body.clone(), Some(key)).await;
    assert_eq!(first.body["accepted"], 5, "{}", first.body);
    let again = send(&s.app, &s.user, body, Some(key)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, first.body, "the first answer is replayed");
    let other = json!({"points": points(3, Utc::now() - Duration::hours(2))});
    let r = send(&s.app, &s.user, other.clone(), Some(key)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "idempotency_key_reused")
    );
    let r = send(&s.app, &s.user, other, Some(Uuid::new_v4())).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_idempotency_key")
    );
    assert_eq!(stored(&s.app).await, 5);
}

#[sqlx::test(migrations = "./migrations")]
async fn concurrent_batches_create_each_partition_once(pool: PgPool) {
    let s = setup(pool).await;
    grant(&s.app, &s.user, "location", "grant").await;
    // Points spread over three months, sent by 8 concurrent requests.
    let now = Utc::now();
    let mut tasks = Vec::new();
    for k in 0..8i64 {
        let app_router = s.app.router.clone();
        let token = s.user.clone();
        let pts: Vec<Value> = (0..3)
            .map(|m| point(now - Duration::days(31 * m) - Duration::seconds(k + 10)))
            .collect();
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let mut req = Request::builder()
                .method(Method::POST)
                .uri("/api/v1/locations/batch")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    serde_json::to_vec(&json!({"points": pts})).unwrap(),
                ))
                .unwrap();
            req.extensions_mut().insert(axum::extract::ConnectInfo(
                "10.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
            ));
            app_router.oneshot(req).await.unwrap().status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(stored(&s.app).await, 24);
    assert_eq!(
        s.app
            .count("SELECT count(*) FROM location_points_default")
            .await,
        0
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn rows_in_the_default_partition_move_into_a_new_month(pool: PgPool) {
    let s = setup(pool).await;
    grant(&s.app, &s.user, "location", "grant").await;
    let t = Utc::now() - Duration::hours(1);
    sqlx::query(
        "INSERT INTO location_points (employee_id, device_id, recorded_at, lat, lon, accuracy)
         VALUES ($1, $1, $2, 1, 2, 3)",
    )
    .bind(s.user_id)
    .bind(t - Duration::seconds(7))
    .execute(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(
        s.app
            .count("SELECT count(*) FROM location_points_default")
            .await,
        1
    );
    let r = send(&s.app, &s.user, json!({"points": [point(t)]}), None).await;
    assert_eq!(r.body["accepted"], 1, "{}", r.body);
    assert_eq!(
        s.app
            .count("SELECT count(*) FROM location_points_default")
            .await,
        0
    );
    assert_eq!(stored(&s.app).await, 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn retention_drops_old_months_and_trims_the_boundary(pool: PgPool) {
    let s = setup(pool).await;
    let now = Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap();
    let times = [
        Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 2, 10, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap(), // before the cutoff (Mar 17)
        Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).unwrap(), // after it
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
    ];
    locations::ensure_partitions(&s.app.pool, times)
        .await
        .unwrap();
    for t in times {
        sqlx::query(
            "INSERT INTO location_points (employee_id, device_id, recorded_at, lat, lon, accuracy)
             VALUES ($1, $1, $2, 1, 2, 3)",
        )
        .bind(s.user_id)
        .bind(t)
        .execute(&s.app.pool)
        .await
        .unwrap();
    }
    let purge = retention::purge(&s.app.pool, now, 90).await.unwrap();
    assert_eq!(
        purge.dropped_partitions,
        vec![
            "location_points_p202601".to_owned(),
            "location_points_p202602".to_owned()
        ]
    );
    assert_eq!(purge.deleted_points, 1);
    assert_eq!(stored(&s.app).await, 2);
    let left: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('location_points_p202601')::text")
            .fetch_one(&s.app.pool)
            .await
            .unwrap();
    assert_eq!(left, None);
    // A second run has nothing left to do.
    let again = retention::purge(&s.app.pool, now, 90).await.unwrap();
    assert_eq!(again, retention::Purge::default());
}

#[sqlx::test(migrations = "./migrations")]
async fn tracking_policy_employee_over_department_over_default(pool: PgPool) {
    let s = setup(pool).await;
    let r = s.app.get("/api/v1/me/tracking-policy", &s.user).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["enabled"], true);
    assert_eq!(r.body["interval_s"], 300);
    assert_eq!(
        r.body["working_hours"]["windows"].as_array().unwrap().len(),
        5
    );

    let dept_policy = json!({"enabled": true, "interval_s": 600, "max_accuracy_m": 80.0,
        "working_hours": {"time_zone": "Europe/Moscow", "windows": [{"weekday": "sat", "start": "22:00:00", "end": "06:00:00"}]}});
    let r = s
        .app
        .call(
            Method::PUT,
            &format!("/api/v1/departments/{}/tracking-policy", s.dept),
            Some(&s.admin),
            Some(dept_policy.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = s.app.get("/api/v1/me/tracking-policy", &s.user).await;
    assert_eq!(r.body, dept_policy);

    let own = json!({"enabled": false, "interval_s": 60, "max_accuracy_m": 30.0});
    let r = s
        .app
        .call(
            Method::PUT,
            &format!("/api/v1/employees/{}/tracking-policy", s.user_id),
            Some(&s.admin),
            Some(own.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = s.app.get("/api/v1/me/tracking-policy", &s.user).await;
    assert_eq!(r.body, own);
    let audits = s
        .app
        .count("SELECT count(*) FROM audit_log WHERE action = 'tracking_policy.set'")
        .await;
    assert_eq!(audits, 2);

    // Bad policies: a 422 and nothing changed.
    for bad in [
        json!({"enabled": true, "interval_s": 0, "max_accuracy_m": 30.0}),
        json!({"enabled": true, "max_accuracy_m": f64::MAX}),
        json!({"enabled": true, "max_accuracy_m": 30.0, "working_hours": {"time_zone": "Mars/Olympus", "windows": []}}),
        json!({"enabled": true, "max_accuracy_m": 30.0, "colour": "red"}),
    ] {
        let r = s
            .app
            .call(
                Method::PUT,
                &format!("/api/v1/employees/{}/tracking-policy", s.user_id),
                Some(&s.admin),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
    }
    let r = s.app.get("/api/v1/me/tracking-policy", &s.user).await;
    assert_eq!(r.body, own);
    let r = s
        .app
        .call(
            Method::PUT,
            &format!("/api/v1/employees/{}/tracking-policy", Uuid::now_v7()),
            Some(&s.admin),
            Some(own),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "./migrations")]
async fn removing_an_override_falls_back_and_is_audited(pool: PgPool) {
    let s = setup(pool).await;
    let default = s.app.get("/api/v1/me/tracking-policy", &s.user).await.body;
    let dept_path = format!("/api/v1/departments/{}/tracking-policy", s.dept);
    let own_path = format!("/api/v1/employees/{}/tracking-policy", s.user_id);
    let dept_policy = json!({"enabled": true, "interval_s": 600, "max_accuracy_m": 80.0});
    let own = json!({"enabled": false, "interval_s": 60, "max_accuracy_m": 30.0});
    for (path, body) in [(&dept_path, &dept_policy), (&own_path, &own)] {
        let r = s
            .app
            .call(Method::PUT, path, Some(&s.admin), Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(
        s.app.get("/api/v1/me/tracking-policy", &s.user).await.body,
        own
    );

    // The employee's own goes: the department's applies again.
    let r = s
        .app
        .call(Method::DELETE, &own_path, Some(&s.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        s.app.get("/api/v1/me/tracking-policy", &s.user).await.body,
        dept_policy
    );
    assert_eq!(s.app.get(&own_path, &s.admin).await.body, dept_policy);

    // The department's goes: the company default applies to both.
    let r = s
        .app
        .call(Method::DELETE, &dept_path, Some(&s.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        s.app.get("/api/v1/me/tracking-policy", &s.user).await.body,
        default
    );
    assert_eq!(
        s.app.get(&dept_path, &s.admin).await.body["interval_s"],
        300
    );

    // Each removal audited with the policy removed; removing nothing is a 204 and no record.
    for path in [&own_path, &dept_path] {
        let r = s.app.call(Method::DELETE, path, Some(&s.admin), None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
    let audit: Vec<(String, Uuid, Option<Value>, Option<Value>)> = sqlx::query_as(
        "SELECT entity_type, entity_id, before, after FROM audit_log
         WHERE action = 'tracking_policy.remove' ORDER BY id",
    )
    .fetch_all(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(
        audit,
        vec![
            ("employee".into(), s.user_id, Some(own), None),
            ("department".into(), s.dept, Some(dept_policy), None),
        ]
    );

    // Unknown employee or department: 404; a user may not remove anything.
    for path in [
        format!("/api/v1/employees/{}/tracking-policy", Uuid::now_v7()),
        format!("/api/v1/departments/{}/tracking-policy", Uuid::now_v7()),
    ] {
        let r = s
            .app
            .call(Method::DELETE, &path, Some(&s.admin), None)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    let r = s
        .app
        .call(Method::DELETE, &own_path, Some(&s.user), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn track_queries_are_range_limited_and_scoped(pool: PgPool) {
    let s = setup(pool).await;
    let r = s
        .app
        .get(
            "/api/v1/me/locations?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z",
            &s.user,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "range_too_long")
    );
    let r = s
        .app
        .get(
            "/api/v1/me/locations?from=2026-03-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            &s.user,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_range")
    );
    let r = s
        .app
        .get("/api/v1/me/locations?from=yesterday", &s.user)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    // An operator of another department cannot read this employee's track.
    let other = s.app.create_department(&s.admin, "Office").await;
    s.app
        .create_employee(
            &s.admin,
            json!({"login": "op2", "password": common::PASSWORD, "first_name": "O", "last_name": "P",
                   "role": "operator", "scope": {"department_ids": [other], "site_ids": []}}),
        )
        .await;
    let op = s.app.login("op2").await.access_token;
    let r = s
        .app
        .get(&format!("/api/v1/employees/{}/locations", s.user_id), &op)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "out_of_scope")
    );
    let r = s
        .app
        .get(
            &format!("/api/v1/employees/{}/locations", Uuid::now_v7()),
            &s.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_default_tracking_policy_applies_without_overrides_and_the_map_style_is_a_setting(
    pool: PgPool,
) {
    let s = setup(pool).await;
    let default = json!({"enabled": false, "interval_s": 900, "max_accuracy_m": 40.0});
    let r = s
        .app
        .call(
            Method::PUT,
            "/api/v1/settings/tracking-policy",
            Some(&s.admin),
            Some(default.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = s
        .app
        .get("/api/v1/settings/tracking-policy", &s.admin)
        .await;
    assert_eq!(r.body, default);
    // The employee has no own or department policy: the default is theirs.
    let r = s.app.get("/api/v1/me/tracking-policy", &s.user).await;
    assert_eq!(r.body, default);
    let bad = json!({"enabled": true, "interval_s": 0, "max_accuracy_m": 30.0});
    let r = s
        .app
        .call(
            Method::PUT,
            "/api/v1/settings/tracking-policy",
            Some(&s.admin),
            Some(bad),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = s.app.get("/api/v1/me/tracking-policy", &s.user).await;
    assert_eq!(r.body, default);

    // The basemap: none by default, an https URL stored, anything else refused on its field.
    let r = s.app.get("/api/v1/settings/map", &s.user).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::OK, json!({"style_url": null}))
    );
    let style = json!({"style_url": "https://tiles.example.org/styles/basic/style.json"});
    let r = s
        .app
        .call(
            Method::PUT,
            "/api/v1/settings/map",
            Some(&s.admin),
            Some(style.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for bad in [
        "javascript:alert(1)",
        "https://",
        "ftp://x/style.json",
        "https://a b/",
    ] {
        let r = s
            .app
            .call(
                Method::PUT,
                "/api/v1/settings/map",
                Some(&s.admin),
                Some(json!({ "style_url": bad })),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert_eq!(r.body["errors"][0]["field"], "style_url");
    }
    let r = s.app.get("/api/v1/settings/map", &s.user).await;
    assert_eq!(r.body, style);
    // An empty URL clears it.
    let r = s
        .app
        .call(
            Method::PUT,
            "/api/v1/settings/map",
            Some(&s.admin),
            Some(json!({"style_url": " "})),
        )
        .await;
    assert_eq!(r.body, json!({"style_url": null}));
    let audits = s
        .app
        .count("SELECT count(*) FROM audit_log WHERE action IN ('settings.map', 'settings.tracking_default')")
        .await;
    assert_eq!(audits, 3);
}
