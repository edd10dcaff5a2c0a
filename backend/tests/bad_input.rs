//! Bad input gets a specific 4xx problem+json and changes nothing.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use serde_json::json;
use sqlx::PgPool;

async fn setup(pool: PgPool) -> (TestApp, String) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    (app, admin)
}

fn raw_post(path: &str, token: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn malformed_and_mistyped_bodies(pool: PgPool) {
    let (app, admin) = setup(pool).await;
    let before = app.count("SELECT count(*) FROM employees").await;

    let r = app
        .raw(raw_post(
            "/api/v1/employees",
            &admin,
            "application/json",
            "{\"login\": ",
        ))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    assert_eq!(r.content_type(), "application/problem+json");

    let r = app
        .raw(raw_post("/api/v1/employees", &admin, "text/plain", "{}"))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );

    let mut body = common::user_body("x1", None);
    body["first_name"] = json!(42);
    let r = app.post("/api/v1/employees", &admin, body).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert_eq!(r.body["errors"][0]["code"], "invalid_body");
    assert_eq!(r.body["errors"][0]["field"], "first_name", "{}", r.body);
    // serde_json reports a number where an enum name belongs as a syntax error.
    let mut body = common::user_body("x1", None);
    body["role"] = json!(42);
    let r = app.post("/api/v1/employees", &admin, body).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    let mut body = common::user_body("x1", None);
    body["role"] = json!("superuser");
    let r = app.post("/api/v1/employees", &admin, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    let mut body = common::user_body("x2", None);
    body["is_superuser"] = json!(true);
    let r = app.post("/api/v1/employees", &admin, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["code"], "unknown_field", "{}", r.body);

    let mut body = common::user_body("x3", None);
    body["department_id"] = json!("not-a-uuid");
    let r = app.post("/api/v1/employees", &admin, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let mut body = common::user_body("x4", None);
    body["first_name"] = json!("  ");
    body["password"] = json!("short");
    let r = app.post("/api/v1/employees", &admin, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["first_name", "password"]);

    // A struct's fields as an array (serde accepts that form; the document does not).
    let me = app.get("/api/v1/me", &admin).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/employees/{me}"),
            Some(&admin),
            Some(json!([null, null])),
        )
        .await;
    assert_eq!(
        (r.status, r.body["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")),
        "{}",
        r.body
    );

    // Oversized: the test server limits bodies to 64 KiB.
    let mut body = common::user_body("x5", None);
    body["first_name"] = json!("a".repeat(100 * 1024));
    let r = app.post("/api/v1/employees", &admin, body).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    assert_eq!(app.count("SELECT count(*) FROM employees").await, before);
}

#[sqlx::test(migrations = "./migrations")]
async fn bad_ids_and_queries(pool: PgPool) {
    let (app, admin) = setup(pool).await;
    let r = app.get("/api/v1/employees/12345", &admin).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_path_parameter")
    );
    let r = app
        .get(
            &format!("/api/v1/employees/{}", uuid::Uuid::new_v4()),
            &admin,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app.get("/api/v1/employees?limit=100000", &admin).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    // Paging and format rules hold on every report that takes them, used or not.
    for q in [
        "/api/v1/reports/summary?offset=2147483648",
        "/api/v1/reports/summary/export?offset=2147483648",
        "/api/v1/reports/departments?limit=0",
    ] {
        let r = app.get(q, &admin).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "{q}"
        );
    }
    // Enumerations are typed: an unknown value is refused like any other bad query value.
    for q in [
        "/api/v1/reports/summary?format=pdf",
        "/api/v1/erasure-requests?state=lost",
        "/api/v1/correction-requests?state=maybe",
    ] {
        let r = app.get(q, &admin).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "{q}: {}",
            r.body
        );
    }
    let r = app
        .get("/api/v1/employees?department_id=nope", &admin)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let r = app.get("/api/v1/employees?colour=red", &admin).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let r = app
        .call(Method::PUT, "/api/v1/employees", Some(&admin), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    // The methods the path has, as RFC 9110 asks of a 405.
    let allow = r
        .headers
        .get(header::ALLOW)
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(allow.as_deref(), Some("GET,HEAD,POST"));
    let r = app
        .call(Method::GET, "/api/v1/me", Some("garbage"), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn duplicates_and_unknown_references(pool: PgPool) {
    let (app, admin) = setup(pool).await;
    app.create_employee(
        &admin,
        json!({"login": "ivan", "password": common::PASSWORD,
        "first_name": "I", "last_name": "V", "role": "user", "card_number": "0042"}),
    )
    .await;
    let before = app.count("SELECT count(*) FROM employees").await;
    let r = app
        .post("/api/v1/employees", &admin, common::user_body("IVAN", None))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "login_taken"));
    let mut b = common::user_body("petr", None);
    b["card_number"] = json!("0042");
    let r = app.post("/api/v1/employees", &admin, b).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "card_number_taken")
    );
    let r = app
        .post(
            "/api/v1/employees",
            &admin,
            common::user_body("petr", Some(uuid::Uuid::new_v4())),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["code"], "unknown_department");
    let mut b = common::user_body("petr", None);
    b["site_ids"] = json!([uuid::Uuid::new_v4()]);
    let r = app.post("/api/v1/employees", &admin, b).await;
    assert_eq!(r.body["errors"][0]["code"], "unknown_site", "{}", r.body);
    let mut b = common::user_body("petr", None);
    b["role"] = json!("operator");
    let r = app.post("/api/v1/employees", &admin, b).await;
    assert_eq!(r.body["errors"][0]["field"], "scope");
    assert_eq!(app.count("SELECT count(*) FROM employees").await, before);
    assert_eq!(app.count("SELECT count(*) FROM employee_sites").await, 0);

    app.create_department(&admin, "Sales").await;
    let r = app
        .post("/api/v1/departments", &admin, json!({"name": "sales"}))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "name_taken"));
    // A department in use cannot be deleted.
    let d = app.create_department(&admin, "Bar").await;
    app.create_employee(&admin, common::user_body("barman", Some(d)))
        .await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/departments/{d}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "in_use"));
    // The last administrator cannot be demoted or dismissed.
    let root: String = sqlx::query_scalar("SELECT id::text FROM employees WHERE login = 'root'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = app
        .patch(
            &format!("/api/v1/employees/{root}"),
            &admin,
            json!({"role": "user"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "last_admin"));
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/employees/{root}/dismiss"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "cannot_dismiss_self")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn site_geometry_is_validated(pool: PgPool) {
    let (app, admin) = setup(pool).await;
    let site = |geofence: serde_json::Value| json!({"name": "Depot", "time_zone": "Europe/Moscow", "geofence": geofence});
    let cases = [
        (
            json!({"type": "circle", "latitude": 95.0, "longitude": 37.6, "radius_m": 100.0}),
            "out_of_range",
        ),
        (
            json!({"type": "circle", "latitude": 55.0, "longitude": 37.6, "radius_m": 0.5}),
            "out_of_range",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[37.600, 55.750], [37.603, 55.752], [37.603, 55.750], [37.600, 55.752], [37.600, 55.750]]]}),
            "self_intersection",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[37.600, 55.750], [37.603, 55.750], [37.603, 55.752], [37.600, 55.752]]]}),
            "ring_not_closed",
        ),
    ];
    for (g, code) in cases {
        let r = app.post("/api/v1/sites", &admin, site(g.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{g}");
        assert_eq!(r.body["errors"][0]["code"], code, "{g}: {}", r.body);
    }
    // NaN cannot be written in JSON; a huge exponent is refused as a bad number.
    let r = app
        .raw(raw_post("/api/v1/sites", &admin, "application/json",
            r#"{"name":"X","time_zone":"UTC","geofence":{"type":"circle","latitude":NaN,"longitude":1,"radius_m":100}}"#))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    let r = app
        .raw(raw_post("/api/v1/sites", &admin, "application/json",
            r#"{"name":"X","time_zone":"UTC","geofence":{"type":"circle","latitude":1e999,"longitude":1,"radius_m":100}}"#))
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    let r = app
        .post(
            "/api/v1/sites",
            &admin,
            json!({"name": "X", "time_zone": "Moon/Base",
        "geofence": {"type": "circle", "latitude": 1.0, "longitude": 1.0, "radius_m": 100.0}}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["code"], "invalid_time_zone");
    let r = app
        .post(
            "/api/v1/sites",
            &admin,
            json!({"name": "X", "time_zone": "UTC",
        "geofence": {"type": "square", "side": 3}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT count(*) FROM sites").await, 0);

    // A valid polygon is stored and read back as GeoJSON.
    let poly = json!({"type": "Polygon", "coordinates": [[[37.600, 55.750], [37.603, 55.750], [37.603, 55.752], [37.600, 55.752], [37.600, 55.750]]]});
    let r = app.post("/api/v1/sites", &admin, site(poly.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["geofence"], poly);
    let id = r.body["id"].as_str().unwrap().to_owned();
    // An invalid update changes nothing.
    let r = app
        .patch(&format!("/api/v1/sites/{id}"), &admin,
            json!({"name": "Renamed", "geofence": {"type": "circle", "latitude": 0.0, "longitude": 200.0, "radius_m": 50.0}}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.get(&format!("/api/v1/sites/{id}"), &admin).await;
    assert_eq!(r.body["name"], "Depot");
    assert_eq!(r.body["geofence"], poly);
}

/// Asserts a 422 `validation_failed` naming `field` with `code` (issue 17, case 2: each of
/// these answered 500 when the value reached PostgreSQL).
fn assert_field(r: &common::Resp, field: &str, code: &str) {
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        "{}",
        r.body
    );
    assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
    assert_eq!(r.body["errors"][0]["code"], code, "{}", r.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn nul_bytes_are_refused_with_the_field(pool: PgPool) {
    let (app, admin) = setup(pool).await;
    let r = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"login": "a\u{0}b", "password": "whatever-password",
                "device": {"id": uuid::Uuid::new_v4(), "name": "P", "platform": "android",
                           "app_version": "1.0.0"}})),
        )
        .await;
    assert_field(&r, "login", "nul_character");
    let r = app.get("/api/v1/employees?q=%00", &admin).await;
    assert_field(&r, "q", "nul_character");
    let r = app.get("/api/v1/audit?entity_type=%00", &admin).await;
    assert_field(&r, "entity_type", "nul_character");
    let before = app.count("SELECT count(*) FROM consent_texts").await;
    let r = app
        .post(
            "/api/v1/consent-texts",
            &admin,
            json!({"kind": "telegram", "body": "I agree\u{0}"}),
        )
        .await;
    assert_field(&r, "body", "nul_character");
    assert_eq!(
        app.count("SELECT count(*) FROM consent_texts").await,
        before
    );
    let r = app
        .post(
            "/api/v1/holidays",
            &admin,
            json!({"date": "2040-01-07", "kind": "holiday", "name": "Day\u{0}"}),
        )
        .await;
    assert_field(&r, "name", "nul_character");
    // An escaped backslash followed by `u0000` is six ordinary characters, not a NUL.
    let r = app
        .post(
            "/api/v1/holidays",
            &admin,
            json!({"date": "2040-01-08", "kind": "holiday", "name": "Day \\u0000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Bounded length: a query value over the limit.
    let r = app
        .get(
            &format!("/api/v1/employees?q={}", "a".repeat(1_001)),
            &admin,
        )
        .await;
    assert_field(&r, "q", "too_long");
}

#[sqlx::test(migrations = "./migrations")]
async fn dates_out_of_range_are_refused_with_the_field(pool: PgPool) {
    let (app, admin) = setup(pool).await;
    let user_id = app
        .create_employee(&admin, common::user_body("dated", None))
        .await;
    let user = app.login("dated").await.access_token;
    let before = app.count("SELECT count(*) FROM attendance_events").await;
    for at in [
        "-200000-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "+200000-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
    ] {
        let r = app
            .post(
                "/api/v1/attendance/corrections",
                &admin,
                json!({"employee_id": user_id, "kind": "in", "at": at,
                       "comment": "forgot to punch"}),
            )
            .await;
        assert_field(&r, "at", "date_out_of_range");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM attendance_events").await,
        before
    );
    // In range it is accepted (the rule does not refuse ordinary corrections).
    let r = app
        .post(
            "/api/v1/attendance/corrections",
            &admin,
            json!({"employee_id": user_id, "kind": "in", "at": "2030-01-01T09:00:00Z",
                   "comment": "forgot to punch"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let far = "-200000-01-01T00:00:00Z";
    let r = app
        .get(&format!("/api/v1/attendance?from={far}"), &admin)
        .await;
    assert_field(&r, "from", "date_out_of_range");
    let r = app
        .get(&format!("/api/v1/me/attendance?from={far}"), &user)
        .await;
    assert_field(&r, "from", "date_out_of_range");
    let r = app
        .get(&format!("/api/v1/me/locations?from={far}"), &user)
        .await;
    assert_field(&r, "from", "date_out_of_range");
    let r = app
        .get(
            &format!("/api/v1/employees/{user_id}/locations?to=%2B200000-01-01T00:00:00Z"),
            &admin,
        )
        .await;
    assert_field(&r, "to", "date_out_of_range");
    // A date without a time may be older than 2000 (a holiday of a past year), not year 0.
    let r = app
        .post(
            "/api/v1/holidays",
            &admin,
            json!({"date": "1995-01-07", "kind": "holiday", "name": "Old"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .post(
            "/api/v1/holidays",
            &admin,
            json!({"date": "0000-01-07", "kind": "holiday", "name": "Day"}),
        )
        .await;
    assert_field(&r, "date", "date_out_of_range");
}
