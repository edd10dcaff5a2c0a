//! The optional alert stream (integrations.md §1.5, `hikvision_alert_stream`): each replica
//! keeps `GET /ISAPI/Event/notification/alertStream` open to every enabled terminal. Polling
//! stays the source of truth: an access event arriving on the stream only makes the terminal
//! be polled now (a `hikvision.poll` job keyed by the event's serial number, so replicas that
//! all heard it enqueue it once), and that poll imports it exactly once like any other. A
//! dropped stream is reopened with backoff; whatever it missed, the periodic poll reads.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{load_terminal, log_call, poll};
use crate::AppState;

/// Heartbeats come every few seconds; this long without a byte ends the connection.
pub const IDLE: Duration = Duration::from_secs(60);
/// How often the set of terminals to listen to is read again.
const RESCAN: Duration = Duration::from_secs(30);

/// Listens to every enabled terminal until `shutdown`.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut listeners: HashMap<Uuid, JoinHandle<()>> = HashMap::new();
    while !*shutdown.borrow() {
        listeners.retain(|_, h| !h.is_finished());
        match sqlx::query_scalar::<_, Uuid>(
            "SELECT id FROM terminals WHERE enabled AND locked_out_at IS NULL",
        )
        .fetch_all(&state.db)
        .await
        {
            Ok(ids) => {
                for id in ids {
                    listeners.entry(id).or_insert_with(|| {
                        tokio::spawn(listen(state.clone(), id, shutdown.clone()))
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "alert streams: terminals not read"),
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(RESCAN) => {}
        }
    }
    for (_, h) in listeners {
        let _ = h.await;
    }
}

/// Keeps one terminal's stream open until `shutdown`, or until the terminal is deleted,
/// disabled or locked out.
pub async fn listen(state: AppState, terminal: Uuid, mut shutdown: watch::Receiver<bool>) {
    let mut failures = 0u32;
    while !*shutdown.borrow() {
        let once = tokio::select! {
            _ = shutdown.changed() => break,
            r = listen_once(&state, terminal) => r,
        };
        match once {
            Ok(None) => return,
            Ok(Some(_)) => failures = 0,
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(terminal = %terminal, error = %e, "alert stream interrupted");
            }
        }
        let wait = Duration::from_millis(250)
            .saturating_mul(1 << failures.min(8))
            .min(Duration::from_secs(60));
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One connection: answers how many events it passed on before the terminal ended it, or
/// `None` when the terminal is not to be listened to.
async fn listen_once(state: &AppState, terminal: Uuid) -> Result<Option<u64>, String> {
    let t = {
        let mut conn = state.db.acquire().await.map_err(|e| e.to_string())?;
        load_terminal(&mut conn, terminal)
            .await
            .map_err(|e| e.to_string())?
    };
    let Some(t) = t.filter(|t| t.enabled && t.locked_out_at.is_none()) else {
        return Ok(None);
    };
    let client = t.client(state).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let opened = client.alert_stream().await;
    log_call(&state.db, t.id, "alertStream", &opened, None, started).await;
    let mut stream = opened.map_err(|e| e.to_string())?;
    let mut events = 0;
    while let Some(part) = stream.next_json(IDLE).await.map_err(|e| e.to_string())? {
        // Heartbeats and other event types carry no access event.
        let ev = &part["AccessControllerEvent"];
        if !ev.is_object() {
            continue;
        }
        let slot = match ev["serialNo"].as_i64() {
            Some(serial) => format!("push:{serial}"),
            None => format!("push:{}", chrono::Utc::now().timestamp_millis()),
        };
        let mut conn = state.db.acquire().await.map_err(|e| e.to_string())?;
        poll::enqueue(&mut conn, t.id, &slot)
            .await
            .map_err(|e| e.to_string())?;
        events += 1;
        tracing::debug!(terminal = %t.id, "alert stream event: poll now");
    }
    Ok(Some(events))
}
