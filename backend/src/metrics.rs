//! Prometheus metrics at `GET /metrics`, in the text exposition format.
//!
//! The `metrics` facade records from anywhere in the server (`metrics::counter!` and friends);
//! `metrics-exporter-prometheus` renders them. Gauges that describe shared state (the job
//! queue, the connection pool) are read when scraped, so every replica reports the same queue.
//! Open to loopback clients; from any other address only with `Authorization: Bearer
//! <metrics_token>`.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `faceid_http_requests_total` | method, route, status | answered requests (route = the matched pattern, `fallback` for the panel's files) |
//! | `faceid_http_request_duration_seconds` | method, route | latency histogram |
//! | `faceid_punches_total` | kind, verdict | attendance events recorded (`in`/`out` punches from phones, kiosks and terminals, reviews, corrections) |
//! | `faceid_punch_reasons_total` | reason | reasons given with recorded punches (flags and rejections) |
//! | `faceid_face_measure_seconds` | | face-engine time per measured request (decode, detection, quality, liveness, embedding) |
//! | `faceid_jobs_finished_total` | kind, outcome | job runs by outcome (`done`, `retry`, `dead`, `snooze`) |
//! | `faceid_jobs` | kind, state | jobs in the queue now |
//! | `faceid_integration_calls_total` | integration, method, outcome | calls to external systems |
//! | `faceid_db_pool_connections` | state | open and idle pooled connections |

use faceid_protocol::error_code::ErrorCode;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::AppError;

/// Latency buckets (seconds) for the request and face-engine histograms.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The job queue's (kind, state) series reported so far.
static QUEUE_SERIES: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

/// The process-wide recorder, installed on first use (every state in one process shares it).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "metrics buckets refused; using summaries");
                PrometheusBuilder::new().build_recorder()
            });
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only its own");
        }
        handle
    })
}

/// Middleware counting and timing every request by its route pattern (bounded labels).
pub async fn track_requests(req: Request, next: Next) -> Response {
    handle();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "fallback".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("faceid_http_request_duration_seconds",
        "method" => method.clone(), "route" => route.clone())
    .record(started.elapsed().as_secs_f64());
    metrics::counter!("faceid_http_requests_total",
        "method" => method, "route" => route, "status" => status)
    .increment(1);
    response
}

/// A recorded attendance event.
pub fn punch_recorded(kind: &str, verdict: &str, reasons: &[String]) {
    metrics::counter!("faceid_punches_total",
        "kind" => kind.to_owned(), "verdict" => verdict.to_owned())
    .increment(1);
    for r in reasons {
        metrics::counter!("faceid_punch_reasons_total", "reason" => r.clone()).increment(1);
    }
}

/// Face-engine time of one measured request.
pub fn face_measured(seconds: f64) {
    metrics::histogram!("faceid_face_measure_seconds").record(seconds);
}

/// Time a measurement waited for its turn at the engine (`face_workers`).
pub fn face_queued(seconds: f64) {
    metrics::histogram!("faceid_face_queue_seconds").record(seconds);
}

/// A measurement refused with 503 `server_busy` (`expected_wait` on arrival or
/// `waited_too_long` in the queue).
pub fn face_refused(why: &'static str) {
    metrics::counter!("faceid_face_refused_total", "why" => why).increment(1);
}

/// A finished job run.
pub fn job_finished(kind: &str, outcome: &'static str) {
    metrics::counter!("faceid_jobs_finished_total", "kind" => kind.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// A call to an external system (`ok`, `error`, `network`).
pub fn integration_call(integration: &'static str, method: &str, outcome: &'static str) {
    metrics::counter!("faceid_integration_calls_total", "integration" => integration,
        "method" => method.to_owned(), "outcome" => outcome)
    .increment(1);
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>, req: Request) -> Result<Response, AppError> {
    authorise(&state, req.headers(), req.extensions().get())?;
    let queue: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT kind, state, count(*) FROM jobs GROUP BY kind, state")
            .fetch_all(&state.db)
            .await?;
    {
        // A (kind, state) that has emptied since the last scrape reads 0, not its old count.
        let mut seen = QUEUE_SERIES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (kind, job_state) in seen.iter() {
            if !queue.iter().any(|(k, s, _)| k == kind && s == job_state) {
                metrics::gauge!("faceid_jobs", "kind" => kind.clone(), "state" => job_state.clone())
                    .set(0.0);
            }
        }
        for (kind, job_state, n) in queue {
            seen.insert((kind.clone(), job_state.clone()));
            metrics::gauge!("faceid_jobs", "kind" => kind, "state" => job_state).set(n as f64);
        }
    }
    let size = f64::from(state.db.size());
    let idle = state.db.num_idle() as f64;
    metrics::gauge!("faceid_db_pool_connections", "state" => "open").set(size);
    metrics::gauge!("faceid_db_pool_connections", "state" => "idle").set(idle);
    let body = handle().render();
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response())
}

/// Loopback clients (not relayed by a trusted proxy) pass; others need the token.
fn authorise(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<&ConnectInfo<SocketAddr>>,
) -> Result<(), AppError> {
    let relayed = state.settings.trust_forwarded_for && headers.contains_key("x-forwarded-for");
    if !relayed && peer.is_some_and(|p| p.0.ip().is_loopback()) {
        return Ok(());
    }
    let Some(token) = state.settings.metrics_token.as_deref() else {
        return Err(AppError::forbidden(
            ErrorCode::MetricsLoopbackOnly,
            "/metrics answers loopback clients; set metrics_token to scrape from elsewhere",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compare digests, so the comparison takes the same time whatever matches.
    if Sha256::digest(given.as_bytes()) == Sha256::digest(token.as_bytes()) {
        Ok(())
    } else {
        Err(AppError::Unauthenticated {
            code: ErrorCode::MetricsTokenRequired,
        })
    }
}
