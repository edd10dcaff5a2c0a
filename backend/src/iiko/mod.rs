//! iiko (iikoServer `/resto/api`, integrations.md §2, docs/iiko.md): one connection set by
//! administrators, its password encrypted at rest, and a log of every run.
//!
//! * [`client`]: the iikoServer client (SHA-1 auth, a token per run that is always logged
//!   out, text/plain errors, "no connections available" as a retried state, XML lists).
//! * [`import`]: employees and positions from iiko (`POST …/iiko/sync`, with a dry run).
//! * [`schedules`]: iiko shift plans to roster schedules (`POST …/iiko/schedules`).
//! * [`export`]: work intervals to iiko attendance records (`POST …/iiko/export`).
//! * The `iiko.import` job, enqueued once per `interval_s`, runs the parts the connection's
//!   `sync` switches turn on, in that order: employees, schedules (yesterday to
//!   [`SCHEDULE_DAYS_AHEAD`] days ahead), attendance (check-ins of the last
//!   [`EXPORT_DAYS_BACK`] days).
//!
//! The handlers (`/api/v1/integrations/iiko`, administrators, audited: the connection test, the
//! import, the dismissals waiting for confirmation and the run log) are in `routes::iiko`.

pub mod client;
pub mod export;
pub mod import;
pub mod schedules;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::AppState;
use crate::descriptor_cipher::DescriptorCipher;
use crate::error::{AppError, AppResult};
use crate::jobs::{self, Enqueue, Outcome};
pub use client::{Connection, IikoClient, IikoError};

const PASSWORD_AAD: &[u8] = b"iiko-password";

/// The periodic schedules import reads shifts from yesterday to this many days ahead.
pub const SCHEDULE_DAYS_AHEAD: i64 = 31;
/// The periodic export sends the intervals whose check-in is in the last this many days, so
/// a correction made within a week reaches iiko.
pub const EXPORT_DAYS_BACK: i64 = 7;

/// The stored connection.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectionRow {
    pub server_url: String,
    pub login: String,
    pub password_ct: Vec<u8>,
    pub password_nonce: Vec<u8>,
    pub department_codes: Vec<String>,
    pub sync_employees: bool,
    pub sync_schedules: bool,
    pub sync_attendance: bool,
    pub interval_s: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn load_connection(conn: &mut PgConnection) -> AppResult<Option<ConnectionRow>> {
    Ok(sqlx::query_as(
        "SELECT server_url, login, password_ct, password_nonce, department_codes, sync_employees,
             sync_schedules, sync_attendance, interval_s, created_at, updated_at
         FROM iiko_connection",
    )
    .fetch_optional(conn)
    .await?)
}

pub fn seal_password(cipher: &DescriptorCipher, password: &str) -> AppResult<(Vec<u8>, Vec<u8>)> {
    cipher.seal_secret(PASSWORD_AAD, password.as_bytes())
}

impl ConnectionRow {
    /// What the client needs, with the password decrypted.
    pub fn client_connection(&self, state: &AppState) -> AppResult<Connection> {
        let plain =
            state
                .cipher
                .open_secret(PASSWORD_AAD, &self.password_ct, &self.password_nonce)?;
        Ok(Connection {
            server_url: self.server_url.clone(),
            login: self.login.clone(),
            password: String::from_utf8(plain).map_err(AppError::internal)?,
            timeout: Duration::from_secs(state.settings.iiko_request_timeout_secs),
        })
    }
}

pub use faceid_protocol::iiko::Counts;

/// Records a finished run; answers its id.
pub async fn log_run(
    db: &PgPool,
    kind: &str,
    dry_run: bool,
    started: DateTime<Utc>,
    result: Result<(&Counts, &[Value]), &IikoError>,
) -> AppResult<i64> {
    let (counts, problems, err) = match result {
        Ok((c, p)) => (c.clone(), Value::Array(p.to_vec()), None),
        Err(e) => (Counts::default(), Value::Array(vec![]), Some(e)),
    };
    Ok(sqlx::query_scalar(
        "INSERT INTO iiko_runs (kind, dry_run, started_at, finished_at, ok, error_code, error,
             created, updated, skipped, conflicts, errors, problems)
         VALUES ($1, $2, $3, now(), $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(kind)
    .bind(dry_run)
    .bind(started)
    .bind(err.is_none())
    .bind(err.map(IikoError::code))
    .bind(err.map(ToString::to_string))
    .bind(counts.created)
    .bind(counts.updated)
    .bind(counts.skipped)
    .bind(counts.conflicts)
    .bind(counts.errors)
    .bind(problems)
    .fetch_one(db)
    .await?)
}

/// Enqueues the periodic sync once per `interval_s` (unique key `iiko.import@<interval
/// start>`) when a connection with any of its `sync` switches on exists.
pub async fn schedule_import(db: &PgPool, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let every: Option<i32> = sqlx::query_scalar(
        "SELECT interval_s FROM iiko_connection
         WHERE sync_employees OR sync_schedules OR sync_attendance",
    )
    .fetch_optional(db)
    .await?;
    let Some(every) = every else {
        return Ok(false);
    };
    let every = i64::from(every.max(1));
    let start = now.timestamp().div_euclid(every) * every;
    let mut conn = db.acquire().await?;
    Ok(jobs::enqueue(
        &mut conn,
        import::IMPORT_JOB,
        &serde_json::json!({}),
        Enqueue {
            unique_key: Some(format!("{}@{start}", import::IMPORT_JOB)),
            ..Enqueue::default()
        },
    )
    .await?
    .is_some())
}

/// Registers the iiko jobs.
pub fn register_jobs(registry: &mut jobs::Registry, state: &AppState) {
    use crate::jobs::worker::KindConfig;
    let db = state.db.clone();
    registry
        .handle(import::SCHEDULE_JOB, KindConfig::default(), move |_job| {
            let db = db.clone();
            async move {
                match schedule_import(&db, Utc::now()).await {
                    Ok(_) => Outcome::Done,
                    Err(e) => Outcome::Retry(e.to_string()),
                }
            }
        })
        .every(import::SCHEDULE_JOB, Duration::from_secs(60));
    let s = state.clone();
    registry.handle(
        import::IMPORT_JOB,
        KindConfig {
            max_attempts: 5,
            lease: Duration::from_secs(600),
            backoff_base: Duration::from_secs(60),
            backoff_max: Duration::from_secs(1800),
        },
        move |_job| {
            let s = s.clone();
            async move { run_import_job(&s).await }
        },
    );
}

/// The restaurant's zone: that of the first site (every report uses the site's zone), UTC
/// without sites.
async fn restaurant_zone(db: &PgPool) -> sqlx::Result<chrono_tz::Tz> {
    let zone: Option<String> =
        sqlx::query_scalar("SELECT time_zone FROM sites ORDER BY created_at, id LIMIT 1")
            .fetch_optional(db)
            .await?;
    Ok(zone
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::Tz::UTC))
}

/// One periodic sync: the parts the connection turns on, each its own run in the log. The
/// first failure ends it (the job retries; a part already done finds nothing to change).
async fn sync_parts(
    state: &AppState,
    row: &ConnectionRow,
    now: DateTime<Utc>,
) -> Result<(), import::ImportError> {
    if row.sync_employees {
        import::run(state, row, false).await?;
    }
    if !(row.sync_schedules || row.sync_attendance) {
        return Ok(());
    }
    let local = now.with_timezone(&restaurant_zone(&state.db).await?);
    if row.sync_schedules {
        let today = local.date_naive();
        schedules::run(
            state,
            row,
            today - chrono::Duration::days(1),
            today + chrono::Duration::days(SCHEDULE_DAYS_AHEAD),
            false,
        )
        .await?;
    }
    if row.sync_attendance {
        let to = local.fixed_offset();
        export::run(
            state,
            row,
            to - chrono::Duration::days(EXPORT_DAYS_BACK),
            to,
            false,
        )
        .await?;
    }
    Ok(())
}

async fn run_import_job(state: &AppState) -> Outcome {
    let row = match state.db.acquire().await {
        Ok(mut c) => load_connection(&mut c).await,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let row = match row {
        Ok(Some(r)) => r,
        Ok(None) => return Outcome::Done,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    match sync_parts(state, &row, Utc::now()).await {
        Ok(()) => Outcome::Done,
        // A full licence, a restarting server, a proxy page: later.
        Err(import::ImportError::Iiko(e)) if e.retryable() => Outcome::Retry(e.to_string()),
        Err(import::ImportError::Iiko(e)) => Outcome::Fail(e.to_string()),
        Err(import::ImportError::App(e)) => Outcome::Retry(e.to_string()),
    }
}
