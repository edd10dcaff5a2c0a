//! Connection pool and migrations.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// The migrations of this crate, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A pool of at most `max_connections`; a request waits at most `acquire_timeout` for one
/// (`db_acquire_timeout_ms`), then gets 503 `unavailable`.
///
/// A connection is not pinged when it is handed out (sqlx's `test_before_acquire`): that is one
/// more round trip to PostgreSQL per acquisition, three per check-in, on the cores the face
/// engine needs. sqlx still checks every connection when it is given back, so a broken one is
/// dropped then; one that breaks while idle (PostgreSQL restarted) fails its next statement
/// with an I/O error, which answers 503 `unavailable` (the phone's outbox and the panel retry)
/// and is not returned to the pool.
pub async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, DbError> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
        .connect(url)
        .await
        .map_err(DbError::Connect)
}

/// Applies pending migrations. sqlx's PostgreSQL migrator holds `pg_advisory_lock` for the whole
/// run, so several replicas starting together apply each migration once.
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Where a JSON value is kept in one row: `value_col` of the row of `table` whose `key_col`
/// is the key (settings, tracking policies).
pub struct JsonCell<'a> {
    pub table: &'a str,
    pub key_col: &'a str,
    pub value_col: &'a str,
}

/// Replaces the JSON value of `cell` under `key` (inserting the row when missing; `updated_at`
/// set to now) and answers the value it replaces, for the audit record. The row stays locked
/// until the transaction ends, so two changes cannot both record the same "before".
pub async fn replace_json<K>(
    conn: &mut sqlx::PgConnection,
    cell: JsonCell<'_>,
    key: K,
    value: &serde_json::Value,
) -> Result<Option<serde_json::Value>, sqlx::Error>
where
    K: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Clone,
{
    let JsonCell {
        table,
        key_col,
        value_col,
    } = cell;
    let before: Option<serde_json::Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT {value_col} FROM {table} WHERE {key_col} = $1 FOR UPDATE"
    )))
    .bind(key.clone())
    .fetch_optional(&mut *conn)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} ({key_col}, {value_col}) VALUES ($1, $2)
         ON CONFLICT ({key_col}) DO UPDATE SET {value_col} = EXCLUDED.{value_col}, updated_at = now()"
    )))
    .bind(key)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(before)
}
