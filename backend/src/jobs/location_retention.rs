//! Location retention: drops or trims old location points and old idempotency answers.

use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use sqlx::{AssertSqlSafe, PgPool};

use crate::locations::{
    DEFAULT_RETENTION_DAYS, IDEMPOTENCY_KEEP_DAYS, PARTITION_LOCK, PARTITION_PREFIX,
    month_bounds, parse_partition_name, partition_name,
};

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

/// Runs [`purge`] now and then every `every`, until the task is aborted. Several replicas
/// may run it: the advisory lock makes their runs take turns.
pub fn spawn_retention(
    pool: PgPool,
    retention_days: u32,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match purge(&pool, Utc::now(), retention_days).await {
                Ok(p) => tracing::info!(
                    dropped = ?p.dropped_partitions,
                    deleted = p.deleted_points,
                    retention_days,
                    "location retention run"
                ),
                Err(e) => tracing::error!(error = %e, "location retention run failed"),
            }
        }
    })
}

