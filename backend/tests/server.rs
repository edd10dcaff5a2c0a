//! The server on a real socket, graceful shutdown, and migrations under concurrency.

mod common;

use std::time::Duration;

use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[sqlx::test(migrations = "./migrations")]
async fn serves_on_port_zero_and_shuts_down_gracefully(pool: PgPool) {
    let app = common::TestApp::new(pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(faceid_server::run(listener, app.state.clone(), async {
        rx.await.ok();
    }));
    let health = http_get(addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        health.to_ascii_lowercase().contains("x-request-id:"),
        "{health}"
    );
    let ready = http_get(addr, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let missing = http_get(addr, "/api/v1/employees").await;
    assert!(missing.starts_with("HTTP/1.1 401"), "{missing}");
    assert!(missing.contains("application/problem+json"), "{missing}");
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server did not stop")
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[sqlx::test(migrations = "./migrations")]
async fn readyz_fails_when_the_database_is_gone(pool: PgPool) {
    let app = common::TestApp::new(pool.clone());
    pool.close().await;
    let r = app
        .call(axum::http::Method::GET, "/readyz", None, None)
        .await;
    assert_eq!(r.status.as_u16(), 503);
    assert_eq!(r.code(), "unavailable");
    let r = app
        .call(axum::http::Method::GET, "/healthz", None, None)
        .await;
    assert_eq!(r.status.as_u16(), 200);
}

/// sqlx's PostgreSQL migrator takes `pg_advisory_lock`, so replicas starting together apply
/// every migration exactly once.
#[sqlx::test(migrations = false)]
async fn concurrent_migrations_apply_once(pool: PgPool) {
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            faceid_server::db::migrate(&pool).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, faceid_server::db::MIGRATOR.iter().count() as i64);
    faceid_server::db::migrate(&pool).await.unwrap();
}

/// Issue 17, case 6: with PostgreSQL gone, requests were answered 500 `internal`, then hung
/// 10 s for a 503 without `Retry-After`. Now every request gets 503 `unavailable` with
/// `Retry-After`, after at most the pool's acquire timeout (1 s by default).
#[tokio::test]
async fn a_database_outage_answers_503_with_retry_after() {
    use faceid_server::local_pg::{LocalPostgres, PgBinaries};
    use std::os::unix::fs::PermissionsExt;
    let Ok(binaries) = PgBinaries::discover() else {
        eprintln!("SKIPPED: no PostgreSQL installation here");
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("faceid-outage")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let pg = LocalPostgres::start_with(dir.path(), binaries.clone())
        .await
        .unwrap();
    let pool = faceid_server::db::connect(&pg.database_url(), 4, Duration::from_secs(1))
        .await
        .unwrap();
    faceid_server::db::migrate(&pool).await.unwrap();
    let app = common::TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    assert_eq!(
        app.get("/api/v1/employees", &admin).await.status.as_u16(),
        200
    );

    pg.stop().await.unwrap();
    for _ in 0..3 {
        for (method, path, token, body) in [
            (
                axum::http::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(
                    serde_json::json!({"login": "root", "password": "x-password-123",
                    "device": {"id": uuid::Uuid::new_v4(), "name": "P", "platform": "android",
                               "app_version": "1.0.0"}}),
                ),
            ),
            (
                axum::http::Method::GET,
                "/api/v1/employees",
                Some(&admin),
                None,
            ),
            (axum::http::Method::GET, "/readyz", None, None),
        ] {
            let started = std::time::Instant::now();
            let r = app
                .call(method, path, token.map(String::as_str), body)
                .await;
            let waited = started.elapsed();
            assert_eq!(r.status.as_u16(), 503, "{path}: {}", r.body);
            assert_eq!(r.code(), "unavailable", "{path}");
            assert!(
                r.headers.contains_key(axum::http::header::RETRY_AFTER),
                "{path}: no Retry-After"
            );
            // Bounded by the acquire timeout, not the old 10 s (generous for a busy machine).
            assert!(waited < Duration::from_secs(6), "{path} took {waited:?}");
        }
    }

    // PostgreSQL back, and then every connection of the pool killed under it: connections are
    // not pinged when handed out (`db::connect`), so a dead one fails its statement once with
    // 503, is dropped when given back, and the pool opens a new one: at most one 503 per
    // pooled connection, never a 500, no restart of the server.
    let pg = LocalPostgres::start_with(dir.path(), binaries)
        .await
        .unwrap();
    let answers = until_ok(&app, &admin).await;
    assert_eq!(answers.last(), Some(&200), "after the restart: {answers:?}");
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&app.state.db)
    .await
    .unwrap();
    assert!(!killed.is_empty());
    let answers = until_ok(&app, &admin).await;
    assert_eq!(answers.last(), Some(&200), "after the kill: {answers:?}");
    assert!(
        answers.iter().all(|s| *s == 200 || *s == 503),
        "{answers:?}"
    );
    assert!(
        answers.len() <= 5,
        "more 503s than pooled connections: {answers:?}"
    );
    pg.stop().await.unwrap();
}

/// Asks for the employee list until it is answered 200 (at most 10 times); the statuses.
async fn until_ok(app: &common::TestApp, token: &str) -> Vec<u16> {
    let mut answers = Vec::new();
    for _ in 0..10 {
        let status = app.get("/api/v1/employees", token).await.status.as_u16();
        answers.push(status);
        if status == 200 {
            break;
        }
    }
    answers
}

/// Starts the server with these connection limits; the address and the stop switch.
async fn serve_with(
    pool: PgPool,
    header_read_timeout_secs: u64,
    max_connections: usize,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let mut settings = common::settings();
    settings.header_read_timeout_secs = header_read_timeout_secs;
    settings.max_connections = max_connections;
    let app = common::TestApp::with_settings(pool, settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(faceid_server::run(listener, app.state.clone(), async {
        rx.await.ok();
    }));
    (addr, tx, server)
}

/// Reads until the server closes the connection; what it sent. Panics if it is still open
/// after `bound` (far longer than the configured timeouts: no timing is asserted).
async fn until_closed(s: &mut tokio::net::TcpStream, bound: Duration) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(bound, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server kept the connection open");
    String::from_utf8_lossy(&out).into_owned()
}

/// Issue 17 case 5: a client that never finishes its request head is cut after the header
/// timeout, and so is an idle keep-alive connection; normal requests are served meanwhile.
#[sqlx::test(migrations = "./migrations")]
async fn slow_header_and_idle_clients_are_cut(pool: PgPool) {
    let (addr, stop, server) = serve_with(pool, 1, 64).await;
    // Half a request head, then silence.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        .await
        .unwrap();
    // Normal requests are answered while it hangs.
    for _ in 0..5 {
        let r = http_get(addr, "/healthz").await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    let cut = until_closed(&mut slow, Duration::from_secs(60)).await;
    assert!(
        !cut.contains("200 OK"),
        "the half request was answered: {cut}"
    );
    // A keep-alive connection that goes quiet after one answered request is closed too.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut idle, Duration::from_secs(60)).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("server did not stop")
        .unwrap()
        .unwrap();
}

/// Issue 17 case 5: at `max_connections` a new client waits (it is not accepted) until a slot
/// frees; the process never holds more connections than that.
#[sqlx::test(migrations = "./migrations")]
async fn connections_beyond_the_cap_wait_for_a_free_slot(pool: PgPool) {
    // A header timeout far beyond the test, so only the cap decides.
    let (addr, stop, server) = serve_with(pool, 3600, 2).await;
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
            .await
            .unwrap();
        holders.push(s);
    }
    let third = tokio::spawn(http_get(addr, "/healthz"));
    // While both slots are held, the third request is not served (if the cap did not work it
    // would be answered at once; waiting longer could only hide that, never fail wrongly).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!third.is_finished(), "served beyond the connection cap");
    // One holder goes away: the waiting client gets its answer.
    drop(holders.pop());
    let r = tokio::time::timeout(Duration::from_secs(60), third)
        .await
        .expect("not served after a slot freed")
        .unwrap();
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    stop.send(()).unwrap();
    drop(holders);
    tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("server did not stop")
        .unwrap()
        .unwrap();
}

/// The protocol's enums are stored as the same text they have on the wire: one derive
/// (`sqlx::Type`, snake_case) instead of hand-written functions, checked here value by value
/// against serde's names, in both directions, against the real server.
#[sqlx::test(migrations = false)]
async fn wire_enums_are_stored_as_their_serde_names(pool: PgPool) {
    use faceid_protocol::attendance::{PunchKind, Verdict};
    use faceid_protocol::auth::Role;
    use faceid_protocol::consent::{ConsentAction, ConsentKind};

    async fn round_trip<T>(pool: &PgPool, values: &[T])
    where
        T: serde::Serialize
            + for<'r> sqlx::Decode<'r, sqlx::Postgres>
            + for<'q> sqlx::Encode<'q, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>
            + std::fmt::Debug
            + PartialEq
            + Copy
            + Send
            + Sync
            + Unpin
            + 'static,
    {
        for &v in values {
            let wire = serde_json::to_value(v).unwrap();
            let stored: String = sqlx::query_scalar("SELECT $1::text")
                .bind(v)
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(serde_json::Value::String(stored.clone()), wire, "{v:?}");
            let read: T = sqlx::query_scalar("SELECT $1::text")
                .bind(stored)
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(read, v);
        }
    }
    round_trip(&pool, &[Role::Admin, Role::Operator, Role::User]).await;
    round_trip(
        &pool,
        &[
            ConsentKind::Biometric,
            ConsentKind::Location,
            ConsentKind::Telegram,
        ],
    )
    .await;
    round_trip(&pool, &[ConsentAction::Grant, ConsentAction::Withdraw]).await;
    round_trip(&pool, &[PunchKind::In, PunchKind::Out]).await;
    round_trip(
        &pool,
        &[Verdict::Verified, Verdict::Flagged, Verdict::Rejected],
    )
    .await;
    // The server's own stored enums bind through the same derive.
    use faceid_protocol::jobs::JobState;
    use faceid_protocol::schedules::MissingCheckout;
    use faceid_protocol::terminals::Direction;
    round_trip(&pool, &[Direction::In, Direction::Out, Direction::Both]).await;
    round_trip(
        &pool,
        &[
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Dead,
            JobState::Discarded,
        ],
    )
    .await;
    round_trip(
        &pool,
        &[MissingCheckout::Flag, MissingCheckout::CloseAtShiftEnd],
    )
    .await;
    use faceid_protocol::privacy::ErasureState;
    use faceid_protocol::schedules::PatternKind;
    round_trip(
        &pool,
        &[
            PatternKind::Weekly,
            PatternKind::Rotating,
            PatternKind::Roster,
            PatternKind::Flexible,
        ],
    )
    .await;
    round_trip(
        &pool,
        &[
            ErasureState::Pending,
            ErasureState::Approved,
            ErasureState::Done,
            ErasureState::Refused,
        ],
    )
    .await;
}

/// The OpenAPI document's `Problem.code` is the protocol's one list of codes, exactly: the
/// panel's generated types, the server's errors and the clients' comparisons share it.
#[test]
fn openapi_problem_codes_are_exactly_the_protocol_error_codes() {
    use faceid_protocol::error_code::ErrorCode;

    let doc = serde_json::to_value(faceid_server::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Problem"]["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode",
        "Problem.code names the ErrorCode schema"
    );
    let listed: Vec<&str> = schemas["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode is an enum of strings")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, codes);
}

/// The OpenAPI document's verdict reasons and field-error codes are the protocol's lists,
/// exactly (`ReasonCode`, `FieldCode`).
#[test]
fn openapi_reasons_and_field_codes_are_exactly_the_protocol_lists() {
    use faceid_protocol::field_code::FieldCode;
    use faceid_protocol::reason_code::ReasonCode;

    let doc = serde_json::to_value(faceid_server::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let listed = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is an enum of strings"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    for record in ["CheckInResponse", "AttendanceRecord"] {
        assert_eq!(
            schemas[record]["properties"]["reasons"]["items"]["$ref"],
            "#/components/schemas/ReasonCode",
            "{record}.reasons"
        );
    }
    let reasons: Vec<&str> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed("ReasonCode"), reasons);
    assert_eq!(
        schemas["FieldError"]["properties"]["code"]["$ref"],
        "#/components/schemas/FieldCode"
    );
    let fields: Vec<&str> = FieldCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed("FieldCode"), fields);
}
