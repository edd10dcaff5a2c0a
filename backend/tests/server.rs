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
    let pg = LocalPostgres::start_with(dir.path(), binaries)
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
}
