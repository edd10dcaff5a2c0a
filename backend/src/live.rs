//! Live updates for the panel's today view: `GET /api/v1/reports/today/stream`
//! ([`crate::routes::live`]) is a stream of server-sent events with an `attendance` event
//! whenever attendance events are recorded, on any replica: a statement trigger on `attendance_events` runs `pg_notify('attendance_changed')`
//! (delivered at commit), and each server process keeps one `LISTEN` connection, started by its
//! first subscriber, that it fans out to every open stream. The events carry no data: the panel
//! re-reads `/reports/today`, which answers within the caller's scope.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{OnceCell, broadcast};

/// The PostgreSQL notification channel (see migration `20261210300002_attendance_notify.sql`).
pub const CHANNEL: &str = "attendance_changed";

/// This process's one listener, shared by every open stream.
#[derive(Clone, Default)]
pub struct Live(Arc<OnceCell<broadcast::Sender<()>>>);

impl Live {
    /// A receiver of change signals; the first call starts listening.
    pub async fn subscribe(&self, pool: &PgPool) -> Result<broadcast::Receiver<()>, sqlx::Error> {
        let sender = self
            .0
            .get_or_try_init(|| async {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen(CHANNEL).await?;
                let (sender, _) = broadcast::channel(16);
                let fan_out = sender.clone();
                tokio::spawn(async move {
                    loop {
                        // `recv` reconnects by itself after a lost connection; a failed
                        // reconnect is retried after a pause.
                        match listener.recv().await {
                            Ok(_) => {
                                let _ = fan_out.send(());
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "attendance change listener failed; retrying");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                });
                Ok::<_, sqlx::Error>(sender)
            })
            .await?;
        Ok(sender.subscribe())
    }
}
