//! Connections: the accept loop in front of [`crate::router`]. Every connection must send a
//! request head within `header_read_timeout_secs` (the same timer bounds an idle keep-alive
//! connection waiting for its next request: hyper starts it whenever the connection waits for
//! a head), and at most `max_connections` are open at once; further clients wait in the
//! kernel's backlog instead of exhausting the process's file descriptors.
//!
//! With `tls_cert` / `tls_key` every connection is HTTPS (see [`crate::tls`]; the handshake
//! shares the head timeout) and answers carry `Strict-Transport-Security`. Plain HTTP is served
//! only on a loopback address unless `allow_plain_http` says a reverse proxy terminates TLS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::STRICT_TRANSPORT_SECURITY;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::{Service, ServiceExt};

use crate::AppState;
use crate::tls::Tls;

/// `Strict-Transport-Security` on HTTPS answers: browsers keep to HTTPS for a year.
const HSTS: &str = "max-age=31536000";

/// How long in-flight requests may finish after shutdown starts.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves the API on `listener` until `shutdown` resolves, then lets open connections finish
/// their requests (up to [`DRAIN`]).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let header_timeout = Duration::from_secs(state.settings.header_read_timeout_secs);
    let max = state.settings.max_connections;
    let tls = Tls::from_settings(&state.settings)
        .map_err(std::io::Error::other)?
        .map(Arc::new);
    if tls.is_none() && !addr.ip().is_loopback() && !state.settings.allow_plain_http {
        return Err(std::io::Error::other(format!(
            "refusing plain HTTP on {addr}: set tls_cert and tls_key for HTTPS, or \
             allow_plain_http = true when a reverse proxy in front terminates TLS"
        )));
    }
    if let Some(t) = &tls {
        t.reload_on_sighup();
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, max_connections = max, ?header_timeout, "listening");
    let mut make_service = crate::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let slots = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A free slot first: at the cap, new clients wait in the backlog.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (socket, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: wait instead of spinning.
                    tracing::error!(error = %e, "accept error");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(tower_service) = make_service.call(peer).await;
        let stop = stop_rx.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let Some(tls) = tls else {
                serve_connection(socket, tower_service, false, header_timeout, stop, peer).await;
                return;
            };
            // The handshake shares the head's deadline: a silent client cannot hold a slot.
            match tokio::time::timeout(header_timeout, tls.acceptor().accept(socket)).await {
                Ok(Ok(stream)) => {
                    serve_connection(stream, tower_service, true, header_timeout, stop, peer).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing open connections");
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it ends: all slots back means all done.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}

/// Serves HTTP/1.1 on one connection until it ends or the server stops.
async fn serve_connection<I, S>(
    io: I,
    tower_service: S,
    hsts: bool,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
    peer: SocketAddr,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request, Response = axum::response::Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let call = tower_service
            .clone()
            .oneshot(req.map(axum::body::Body::new));
        async move {
            let mut response = call.await?;
            if hsts {
                response
                    .headers_mut()
                    .insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
            }
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    // The guard `wait_for` answers must not live across the await below.
    let stopping = async move {
        let _ = stop.wait_for(|s| *s).await.map(|_| ());
    };
    tokio::select! {
        r = conn.as_mut() => log_end(r, peer),
        () = stopping => {
            conn.as_mut().graceful_shutdown();
            log_end(conn.await, peer);
        }
    }
}

fn log_end(r: Result<(), hyper::Error>, peer: SocketAddr) {
    if let Err(e) = r {
        // Timeouts and clients going away are routine; keep them at debug.
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}
