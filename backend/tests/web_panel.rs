//! The web panel's server side: cookie sessions with CSRF protection, the embedded single-page
//! app with its cache headers and fallback, and the OpenAPI document the panel's types are
//! generated from (committed at backend/web/src/api/openapi.json).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{PASSWORD, Resp, TestApp};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

fn login_request(login: &str, password: &str) -> Request<Body> {
    let body = json!({
        "login": login, "password": password,
        "device": {"id": Uuid::new_v4(), "name": "Chromium", "platform": "web", "app_version": "panel"}
    });
    Request::post("/api/v1/auth/web/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// `faceid_refresh=…` from the response's `Set-Cookie`, with its attributes.
fn set_cookie(r: &Resp) -> String {
    r.headers
        .get(header::SET_COOKIE)
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap()
        .to_owned()
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("faceid_refresh=")
        .to_owned()
}

fn cookie_post(
    path: &str,
    cookie: Option<&str>,
    csrf: bool,
    origin: Option<&str>,
) -> Request<Body> {
    let mut b = Request::post(path).header(header::HOST, "panel.example:8080");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, format!("theme=dark; faceid_refresh={c}"));
    }
    if csrf {
        b = b.header("x-faceid-csrf", "1");
    }
    if let Some(o) = origin {
        b = b.header(header::ORIGIN, o);
    }
    b.body(Body::empty()).unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn web_session_keeps_the_refresh_token_in_a_strict_cookie(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;

    let r = app.raw(login_request("root", "wrong password")).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    assert!(r.headers.get(header::SET_COOKIE).is_none());

    let r = app.raw(login_request("root", PASSWORD)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.get("refresh_token").is_none(),
        "no refresh token in the body"
    );
    let access = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(r.body["user"]["login"], "root");
    let sc = set_cookie(&r);
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/v1/auth/web",
    ] {
        assert!(sc.contains(attr), "{sc} lacks {attr}");
    }
    let first = cookie_value(&sc);
    assert!(first.len() > 20);
    assert_eq!(app.get("/api/v1/me", &access).await.status, StatusCode::OK);

    // Without the CSRF header, or from a foreign origin, the cookie is not honoured.
    let r = app
        .raw(cookie_post(
            "/api/v1/auth/web/refresh",
            Some(&first),
            false,
            None,
        ))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "csrf_check_failed")
    );
    let r = app
        .raw(cookie_post(
            "/api/v1/auth/web/refresh",
            Some(&first),
            true,
            Some("https://evil.example"),
        ))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "csrf_check_failed")
    );
    // No cookie: not logged in.
    let r = app
        .raw(cookie_post("/api/v1/auth/web/refresh", None, true, None))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_refresh_token")
    );

    // A same-origin refresh (what a reload does) answers a new access token and rotates the cookie.
    let r = app
        .raw(cookie_post(
            "/api/v1/auth/web/refresh",
            Some(&first),
            true,
            Some("http://panel.example:8080"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = cookie_value(&set_cookie(&r));
    assert_ne!(second, first);
    let access2 = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me", &access2).await.status, StatusCode::OK);

    // Logout clears the cookie and ends the session: the rotated token no longer refreshes.
    let r = app
        .raw(cookie_post(
            "/api/v1/auth/web/logout",
            Some(&second),
            true,
            None,
        ))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(set_cookie(&r).contains("Max-Age=0"));
    let r = app
        .raw(cookie_post(
            "/api/v1/auth/web/refresh",
            Some(&second),
            true,
            None,
        ))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "session_revoked")
    );
}

async fn get(app: &TestApp, path: &str) -> axum::response::Response {
    use tower::ServiceExt;
    app.router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn header_of(r: &axum::response::Response, name: header::HeaderName) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[sqlx::test(migrations = "./migrations")]
async fn panel_is_served_with_cache_headers_csp_and_fallback(pool: PgPool) {
    use http_body_util::BodyExt;
    let app = TestApp::new(pool);
    let r = get(&app, "/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-cache");
    let csp = header_of(&r, header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    let html =
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(html.contains("<div id=\"root\">"), "{html}");
    assert!(!html.contains("<script>"), "no inline script: {html}");
    // The hashed entry script is cached forever.
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("an entry script");
    assert!(script.starts_with("/assets/"), "{script}");
    let r = get(&app, script).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header_of(&r, header::CONTENT_TYPE).contains("javascript"));
    assert_eq!(
        header_of(&r, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    let plain_len = r.into_body().collect().await.unwrap().to_bytes().len();
    // Gzipped at build time, for clients that accept it.
    let r = {
        use tower::ServiceExt;
        let req = Request::get(script)
            .header(header::ACCEPT_ENCODING, "br, gzip")
            .body(Body::empty())
            .unwrap();
        app.router.clone().oneshot(req).await.unwrap()
    };
    assert_eq!(header_of(&r, header::CONTENT_ENCODING), "gzip");
    let gz_len = r.into_body().collect().await.unwrap().to_bytes().len();
    assert!(gz_len < plain_len / 2, "{gz_len} of {plain_len}");
    // Client-side routes fall back to the app; API paths and missing assets do not.
    let r = get(&app, "/employees/123").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-cache");
    assert!(header_of(&r, header::CONTENT_TYPE).starts_with("text/html"));
    let r = app.call(Method::GET, "/api/v1/nowhere", None, None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(
        get(&app, "/assets/gone-1234.js").await.status(),
        StatusCode::NOT_FOUND
    );
}

/// The panel's API types come from backend/web/src/api/openapi.json; it must be this server's
/// document. After an API change, regenerate it with
/// `FACEID_UPDATE_OPENAPI=1 cargo test -p faceid-server --test web_panel openapi` (then
/// `npm run gen:api` in backend/web, and fix what `tsc --noEmit` reports).
#[test]
fn committed_openapi_document_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/web/src/api/openapi.json");
    let current = serde_json::to_string_pretty(&faceid_server::openapi()).unwrap() + "\n";
    if std::env::var_os("FACEID_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == current,
        "{path} is not this server's OpenAPI document; regenerate it (see this test's comment)"
    );
}

/// The generated client keys operations by id: two operations with one id would give one of them
/// the other's types.
#[test]
fn operation_ids_are_unique() {
    let doc = serde_json::to_value(faceid_server::openapi()).unwrap();
    let mut seen = std::collections::HashMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(id) = op.get("operationId").and_then(|v| v.as_str()) else {
                continue;
            };
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operation id {id} is used by {other} and {method} {path}");
            }
        }
    }
    assert!(seen.contains_key("list_devices"), "{:?}", seen.keys());
}

/// Every `$ref` of the document points at a schema it defines (a query parameter's enum is not
/// collected into the components by itself, and the panel's type generator refuses a dangling one).
#[test]
fn every_schema_reference_resolves() {
    let doc = serde_json::to_string(&faceid_server::openapi()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let schemas = value["components"]["schemas"].as_object().unwrap();
    let prefix = "\"#/components/schemas/";
    for (i, _) in doc.match_indices(prefix) {
        let rest = &doc[i + prefix.len()..];
        let name = &rest[..rest.find('"').unwrap()];
        assert!(
            schemas.contains_key(name),
            "dangling reference to schema {name}"
        );
    }
}

/// Errors are documented as the server sends them (`routes::document`): every 4xx/5xx as
/// problem+json, the shared ones on every operation of their kind, and page bounds from the
/// paging rule. schemathesis checks the answers against this in tests/run.d/schemathesis.sh.
#[test]
fn every_error_is_documented_as_problem_json() {
    let doc = serde_json::to_value(faceid_server::openapi()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object().unwrap();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        ["application/problem+json"],
                        "{method} {path} {status}"
                    );
                }
            }
            let secured = op
                .get("security")
                .is_some_and(|s| s != &serde_json::json!([]));
            if secured {
                for status in ["401", "403", "503"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "query" && param["name"] == "limit" {
                    assert_eq!(param["schema"]["minimum"], 1, "{method} {path}");
                    assert_eq!(param["schema"]["maximum"], 500, "{method} {path}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} operations");
}

/// An account whose password an administrator set gets 403 `password_change_required` from
/// every operation taking an access token but `GET /api/v1/me` and `POST /api/v1/me/password`
/// (`auth::check_password_change`); the document says so on each of them, and only on them.
#[test]
fn password_change_required_is_documented_where_it_applies() {
    let doc = serde_json::to_value(faceid_server::openapi()).unwrap();
    let mut documented = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op
                .get("security")
                .is_some_and(|s| s != &serde_json::json!([]));
            let exempt = matches!(
                (method.as_str(), path.as_str()),
                ("get", "/api/v1/me") | ("post", "/api/v1/me/password")
            );
            let says = op["responses"]["403"]["description"]
                .as_str()
                .is_some_and(|d| d.contains("password_change_required"));
            assert_eq!(says, secured && !exempt, "{method} {path}");
            documented += usize::from(says);
        }
    }
    assert!(documented > 100, "only {documented} operations");
}

/// The next server-sent event's name, skipping keep-alive comments (a hung stream fails the
/// test after a minute rather than blocking it).
async fn next_event(body: &mut Body) -> String {
    use http_body_util::BodyExt;
    let mut text = String::new();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(60), body.frame())
            .await
            .expect("an event within a minute")
            .expect("the stream is open")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            text.push_str(std::str::from_utf8(&data).unwrap());
        }
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            if let Some(name) = block.lines().find_map(|l| l.strip_prefix("event: ")) {
                return name.to_owned();
            }
        }
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn today_stream_sends_an_event_per_recorded_punch(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let employee = app
        .create_employee(&admin, common::user_body("walker", None))
        .await;
    let user = app.login("walker").await.access_token;
    // Staff only.
    let r = app.get("/api/v1/reports/today/stream", &user).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let mut req = Request::get("/api/v1/reports/today/stream")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 1],
            40000,
        ))));
    let resp = tower::ServiceExt::oneshot(app.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE].to_str().unwrap(),
        "text/event-stream"
    );
    let mut body = resp.into_body();
    assert_eq!(next_event(&mut body).await, "ready");
    // A punch recorded (here an operator's correction) is told to the open stream.
    let r = app
        .post(
            "/api/v1/attendance/corrections",
            &admin,
            json!({"employee_id": employee, "kind": "in", "at": chrono::Utc::now(),
                   "comment": "forgot to punch"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(next_event(&mut body).await, "attendance");
}
