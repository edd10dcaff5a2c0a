//! Background jobs on PostgreSQL: the one place that enqueues, claims, retries and buries work
//! that runs outside a request (notifications, retention, and the integrations to come).
//!
//! * [`enqueue`] takes the caller's connection, so a job commits (or rolls back) with the event
//!   that causes it: a punch and its notification are one transaction.
//! * [`Worker`](worker::Worker) claims due jobs with `FOR UPDATE SKIP LOCKED` for a lease; a
//!   worker that dies leaves the lease to expire and another worker claims the job again.
//! * A failed attempt is retried after an exponential backoff with jitter ([`backoff`]); after
//!   the kind's attempt limit the job is `dead`, listed for administrators
//!   (`GET /api/v1/jobs?state=dead`), who retry or discard it ([`crate::routes::jobs`]).
//! * Periodic jobs are enqueued with the unique key `kind@period-start`, so however many
//!   replicas schedule them, each period runs once.
//!
//! No crate was used: the maintained PostgreSQL job crates (apalis-postgres 1.0, underway,
//! sqlxmq) are built on sqlx 0.7/0.8 while this workspace is on sqlx 0.9, so each would add a
//! second sqlx and driver stack (sqlxmq also native-tls). The queue is a few statements.

pub mod retention;
pub mod worker;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

pub use worker::{Outcome, Registry, Worker, WorkerConfig};

/// A claimed job, as a handler sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Attempts so far, this one included (1 on the first run).
    pub attempts: i32,
}

impl Job {
    /// The UUID stored under `key` in the payload (the row a job works on).
    pub fn uuid(&self, key: &str) -> Option<Uuid> {
        self.payload.get(key)?.as_str()?.parse().ok()
    }
}

/// The outcome of an attempt of a job that works on one row: done; retried while attempts are
/// left; after the last one, failed, with `mark_failed` first recording the error on the row
/// (if that fails, the job is retried, so the row never stays without a final state).
pub async fn settle<F, Fut>(
    job: &Job,
    max_attempts: i32,
    result: Result<(), crate::error::AppError>,
    mark_failed: F,
) -> Outcome
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), sqlx::Error>>,
{
    match result {
        Ok(()) => Outcome::Done,
        Err(e) if job.attempts >= max_attempts => {
            tracing::error!(job = %job.id, kind = %job.kind, error = %e, "job failed after its last attempt");
            match mark_failed(e.to_string()).await {
                Ok(()) => Outcome::Fail(e.to_string()),
                Err(m) => Outcome::Retry(m.to_string()),
            }
        }
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// Options of [`enqueue`].
#[derive(Debug, Clone, Default)]
pub struct Enqueue {
    /// An enqueue with a key that is already stored (in any state) does nothing.
    pub unique_key: Option<String>,
    /// Not before this time (default: now).
    pub run_at: Option<DateTime<Utc>>,
    /// A constant SQL condition (no parameters) checked in the same statement: the job is
    /// added only when it holds. Saves the caller a round trip inside a hot transaction.
    pub only_if: Option<&'static str>,
}

/// Adds a job inside the caller's transaction. Answers the new job's id, or `None` when a job
/// with the same unique key exists.
pub async fn enqueue(
    conn: &mut PgConnection,
    kind: &str,
    payload: &impl Serialize,
    opts: Enqueue,
) -> Result<Option<Uuid>, sqlx::Error> {
    let payload = serde_json::to_value(payload).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let condition = opts.only_if.unwrap_or("true");
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO jobs (id, kind, payload, unique_key, run_at)
         SELECT $1, $2, $3, $4, COALESCE($5, now()) WHERE {condition}
         ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING
         RETURNING id"
    )))
    .bind(Uuid::now_v7())
    .bind(kind)
    .bind(payload)
    .bind(opts.unique_key)
    .bind(opts.run_at)
    .fetch_optional(conn)
    .await
}

/// The job kind that deletes finished jobs.
pub const PRUNE_JOB: &str = "jobs.prune";
/// Finished (`done`, `discarded`) jobs are kept this long for the administrators' view.
pub const KEEP_FINISHED_DAYS: i64 = 14;

/// Registers the hourly pruning of old finished jobs. Dead jobs stay until an administrator
/// retries or discards them.
pub fn register_maintenance(registry: &mut Registry, pool: sqlx::PgPool) {
    registry
        .handle(PRUNE_JOB, worker::KindConfig::default(), move |_job| {
            let pool = pool.clone();
            async move {
                match sqlx::query(
                    "DELETE FROM jobs WHERE state IN ('done', 'discarded')
                       AND finished_at < now() - $1 * interval '1 day'",
                )
                .bind(KEEP_FINISHED_DAYS as f64)
                .execute(&pool)
                .await
                {
                    Ok(_) => Outcome::Done,
                    Err(e) => Outcome::Retry(e.to_string()),
                }
            }
        })
        .every(PRUNE_JOB, Duration::from_secs(3600));
}

/// Delay before attempt `attempts + 1`: `base · 2^(attempts−1)`, capped at `max`, then "equal
/// jitter" (a uniformly random point in the upper half), so failures of many jobs at once do
/// not come back at the same instant.
pub fn backoff(attempts: i32, base: Duration, max: Duration) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let full = base.saturating_mul(1u32 << exp).min(max);
    let half = full / 2;
    let jitter = rand::random_range(0.0..=1.0);
    half + half.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let base = Duration::from_secs(2);
        let max = Duration::from_secs(60);
        for _ in 0..200 {
            let d1 = backoff(1, base, max);
            assert!(
                d1 >= Duration::from_secs(1) && d1 <= Duration::from_secs(2),
                "{d1:?}"
            );
            let d3 = backoff(3, base, max);
            assert!(
                d3 >= Duration::from_secs(4) && d3 <= Duration::from_secs(8),
                "{d3:?}"
            );
            let d20 = backoff(20, base, max);
            assert!(d20 >= Duration::from_secs(30) && d20 <= max, "{d20:?}");
        }
        // Jitter: not every delay is the same.
        let samples: std::collections::BTreeSet<_> =
            (0..20).map(|_| backoff(4, base, max).as_millis()).collect();
        assert!(samples.len() > 1);
    }
}
