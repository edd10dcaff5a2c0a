//! `/metrics`: the Prometheus text with request, queue and pool figures, open to loopback and
//! to others only with the token.

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn http_get(addr: std::net::SocketAddr, path: &str, extra: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// The value of the sample line starting with `series` (name and labels as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l[series.len()..].trim().parse().ok())
}

#[sqlx::test(migrations = "./migrations")]
async fn loopback_scrape_shows_requests_jobs_and_the_pool(pool: PgPool) {
    let app = common::TestApp::new(pool.clone());
    let mut tx = pool.begin().await.unwrap();
    faceid_server::jobs::enqueue(
        &mut tx,
        "metrics.test",
        &serde_json::json!({}),
        Default::default(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(faceid_server::run(listener, app.state.clone(), async {
        stopped.await.ok();
    }));
    let before = http_get(addr, "/metrics", "").await;
    assert!(before.starts_with("HTTP/1.1 200"), "{before}");
    let healthz = "faceid_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}";
    let count_before = sample(&before, healthz).unwrap_or(0.0);
    for _ in 0..3 {
        assert!(
            http_get(addr, "/healthz", "")
                .await
                .starts_with("HTTP/1.1 200")
        );
    }
    let missing = http_get(addr, "/api/v1/employees/not-a-uuid", "").await;
    assert!(missing.starts_with("HTTP/1.1 401"), "{missing}");

    let text = http_get(addr, "/metrics", "").await;
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{text}"
    );
    assert_eq!(sample(&text, healthz), Some(count_before + 3.0), "{text}");
    // Routes are labelled by pattern, never by the concrete path.
    assert!(
        text.contains("route=\"/api/v1/employees/{id}\",status=\"401\""),
        "{text}"
    );
    assert!(!text.contains("not-a-uuid"));
    assert!(
        text.contains("faceid_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",le=\"0.005\"}"),
        "{text}"
    );
    assert_eq!(
        sample(&text, "faceid_jobs{kind=\"metrics.test\",state=\"queued\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(sample(&text, "faceid_db_pool_connections{state=\"open\"}").unwrap() >= 1.0);

    // Relayed by a trusted proxy, a loopback peer is not a local client.
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let mut settings = common::settings();
    settings.trust_forwarded_for = true;
    let app = common::TestApp::with_settings(pool, settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(faceid_server::run(listener, app.state.clone(), async {
        stopped.await.ok();
    }));
    let relayed = http_get(addr, "/metrics", "X-Forwarded-For: 203.0.113.7\r\n").await;
    assert!(relayed.starts_with("HTTP/1.1 403"), "{relayed}");
    assert!(relayed.contains("metrics_loopback_only"), "{relayed}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

fn scrape(token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(Method::GET).uri("/metrics");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn other_addresses_need_the_configured_token(pool: PgPool) {
    // In-process requests carry no loopback peer address: they stand for remote clients.
    let app = common::TestApp::new(pool.clone());
    let r = app.raw(scrape(None)).await;
    assert_eq!(r.status.as_u16(), 403);
    assert_eq!(r.code(), "metrics_loopback_only");

    let mut settings = common::settings();
    settings.metrics_token = Some("s3cret-metrics-token".into());
    let app = common::TestApp::with_settings(pool, settings);
    let r = app.raw(scrape(None)).await;
    assert_eq!(r.status.as_u16(), 401);
    assert_eq!(r.code(), "metrics_token_required");
    let r = app.raw(scrape(Some("wrong"))).await;
    assert_eq!(r.status.as_u16(), 401);
    let r = app.raw(scrape(Some("s3cret-metrics-token"))).await;
    assert_eq!(r.status.as_u16(), 200);
}
