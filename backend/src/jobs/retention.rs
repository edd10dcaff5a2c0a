//! Retention of location points: the hourly run that drops the monthly partitions past the
//! retention period and deletes older rows from the partition holding the cutoff.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgPool};

use super::worker::KindConfig;
use super::{Outcome, Registry};
use crate::locations::{PARTITION_LOCK, month_bounds, parse_partition_name};

/// Default retention of location points, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// How long a location batch's idempotency answer is kept.
pub const IDEMPOTENCY_KEEP_DAYS: i64 = 7;

/// What one retention run removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Purge {
    pub dropped_partitions: Vec<String>,
    pub deleted_points: u64,
}

/// Removes points recorded before `now − retention_days`: whole monthly partitions that end
/// before the cutoff are dropped, the partition holding the cutoff (and the default partition)
/// lose their older rows. Old idempotency answers go too.
pub async fn purge(
    pool: &PgPool,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<Purge, sqlx::Error> {
    let cutoff = now - chrono::Duration::days(i64::from(retention_days));
    let mut out = Purge::default();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PARTITION_LOCK)
        .execute(&mut *tx)
        .await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'location_points'::regclass ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await?;
    for name in names {
        let Some((y, m)) = parse_partition_name(&name) else {
            continue;
        };
        let (start, end) = month_bounds(y, m);
        if end <= cutoff {
            sqlx::query(AssertSqlSafe(format!("DROP TABLE {name}")))
                .execute(&mut *tx)
                .await?;
            out.dropped_partitions.push(name);
        } else if start < cutoff {
            let done = sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {name} WHERE recorded_at < $1"
            )))
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
            out.deleted_points += done.rows_affected();
        }
    }
    let done = sqlx::query("DELETE FROM location_points_default WHERE recorded_at < $1")
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
    out.deleted_points += done.rows_affected();
    sqlx::query("DELETE FROM location_batch_requests WHERE created_at < $1")
        .bind(now - chrono::Duration::days(IDEMPOTENCY_KEEP_DAYS))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(out)
}

/// Retention period from `FACEID_LOCATION_RETENTION_DAYS` (default 90).
pub fn retention_days_from_env() -> u32 {
    std::env::var("FACEID_LOCATION_RETENTION_DAYS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&d: &u32| d > 0)
        .unwrap_or(DEFAULT_RETENTION_DAYS)
}

/// The job kind of the retention run.
pub const RETENTION_JOB: &str = "locations.retention";

/// Registers the hourly retention run ([`purge`]) as a periodic job: scheduled once per hour
/// across replicas, retried on failure (the advisory lock in [`purge`] also keeps a manual
/// run and a job from overlapping).
pub fn register(registry: &mut Registry, pool: PgPool, retention_days: u32) {
    registry
        .handle(
            RETENTION_JOB,
            KindConfig {
                max_attempts: 5,
                lease: Duration::from_secs(30 * 60),
                backoff_base: Duration::from_secs(60),
                backoff_max: Duration::from_secs(30 * 60),
            },
            move |_job| {
                let pool = pool.clone();
                async move {
                    match purge(&pool, Utc::now(), retention_days).await {
                        Ok(p) => {
                            tracing::info!(
                                dropped = ?p.dropped_partitions,
                                deleted = p.deleted_points,
                                retention_days,
                                "location retention run"
                            );
                            Outcome::Done
                        }
                        Err(e) => Outcome::Retry(e.to_string()),
                    }
                }
            },
        )
        .every(RETENTION_JOB, Duration::from_secs(3600));
}
