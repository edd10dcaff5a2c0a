//! Hikvision face terminals (DS-K1T series) over ISAPI (docs/hikvision.md,
//! integrations.md §1): registered by administrators, polled for passage events that become
//! attendance punches in the hash chain, and kept in step with the employee list.
//!
//! * [`client`]: the ISAPI client (Digest auth, the status envelope, XML health answers).
//! * [`poll`]: the `hikvision.poll` job: health, `AcsEvent` paging by serial number with a
//!   persisted cursor, raw events stored first, face passes mapped to punches.
//! * [`probe`]: the synchronous connection test (one `deviceInfo` call, poll state untouched).
//! * [`sync`]: the `hikvision.person` job: people and faces pushed and removed;
//!   [`sync::employee_changed`] is the one hook every employee or consent change calls.
//! * [`routes`]: `/api/v1/terminals` (administrators, audited) and the call log.
//!
//! A terminal's punches carry the terminal's own `devices` row (kind `terminal`) as their
//! `device_id`: the source of a punch is part of its hashed chain fields.

pub mod client;
pub mod poll;
pub mod probe;
pub mod stream;
pub mod sync;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::AppState;
use crate::descriptor_cipher::DescriptorCipher;
use crate::error::{AppError, AppResult};
use crate::jobs::{self, Enqueue, Outcome};
pub use client::{IsapiClient, IsapiError};

/// The job that schedules every terminal's polls (each worker schedules it every 10 s).
pub const SCHEDULE_JOB: &str = "hikvision.schedule";

/// A terminal as the jobs need it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TerminalRow {
    pub id: Uuid,
    pub device_id: Uuid,
    pub name: String,
    pub base_url: String,
    pub username: String,
    pub password_ct: Vec<u8>,
    pub password_nonce: Vec<u8>,
    pub site_id: Uuid,
    pub direction: String,
    pub poll_interval_s: i32,
    pub enabled: bool,
    pub import_since: DateTime<Utc>,
    pub last_serial_no: i64,
    pub last_event_at: Option<DateTime<Utc>>,
    pub serial_number: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub clock_offset_s: Option<f64>,
    pub utc_offset_s: Option<i32>,
    pub auth_failures: i32,
    pub locked_out_at: Option<DateTime<Utc>>,
    /// False once the terminal refused the serial-number window: time windows only.
    pub serial_paging: bool,
}

pub const TERMINAL_COLUMNS: &str = "id, device_id, name, base_url, username, password_ct,
    password_nonce, site_id, direction, poll_interval_s, enabled, import_since, last_serial_no,
    last_event_at, serial_number, checked_at, clock_offset_s, utc_offset_s, auth_failures,
    locked_out_at, serial_paging";

pub async fn load_terminal(conn: &mut PgConnection, id: Uuid) -> AppResult<Option<TerminalRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TERMINAL_COLUMNS} FROM terminals WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Encrypts a terminal password, bound to the terminal's id.
pub fn seal_password(
    cipher: &DescriptorCipher,
    terminal: Uuid,
    password: &str,
) -> AppResult<(Vec<u8>, Vec<u8>)> {
    cipher.seal_secret(&password_aad(terminal), password.as_bytes())
}

fn password_aad(terminal: Uuid) -> Vec<u8> {
    let mut aad = b"hikvision-password:".to_vec();
    aad.extend_from_slice(terminal.as_bytes());
    aad
}

impl TerminalRow {
    pub fn password(&self, cipher: &DescriptorCipher) -> AppResult<String> {
        let plain = cipher.open_secret(
            &password_aad(self.id),
            &self.password_ct,
            &self.password_nonce,
        )?;
        String::from_utf8(plain).map_err(AppError::internal)
    }

    /// The ISAPI client of this terminal.
    pub fn client(&self, state: &AppState) -> AppResult<IsapiClient> {
        IsapiClient::new(
            &self.base_url,
            &self.username,
            &self.password(&state.cipher)?,
            Duration::from_secs(state.settings.hikvision_request_timeout_secs),
        )
        .map_err(AppError::internal)
    }
}

/// Records one ISAPI call for administrators (never the password or the body).
pub async fn log_call<T>(
    db: &PgPool,
    terminal: Uuid,
    operation: &str,
    result: &Result<T, IsapiError>,
    count: Option<i64>,
    started: Instant,
) {
    let err = result.as_ref().err();
    let ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    if let Err(e) = sqlx::query(
        "INSERT INTO terminal_log (terminal_id, operation, ok, http_status, status_code,
             sub_status, error, count, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(terminal)
    .bind(operation)
    .bind(err.is_none())
    .bind(err.and_then(IsapiError::http_status).map(i32::from))
    .bind(
        err.and_then(IsapiError::status_code)
            .and_then(|c| i32::try_from(c).ok()),
    )
    .bind(err.and_then(IsapiError::sub_status))
    .bind(err.map(ToString::to_string))
    .bind(count.and_then(|c| i32::try_from(c).ok()))
    .bind(ms)
    .execute(db)
    .await
    {
        tracing::warn!(error = %e, "writing the terminal log failed");
    }
}

/// Enqueues a poll of every enabled terminal that is not locked out, once per its interval
/// (unique key `hikvision.poll:<terminal>@<interval start>`): replicas never double-poll.
pub async fn schedule_polls(db: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let due: Vec<(Uuid, i32)> = sqlx::query_as(
        "SELECT id, poll_interval_s FROM terminals WHERE enabled AND locked_out_at IS NULL",
    )
    .fetch_all(db)
    .await?;
    let mut conn = db.acquire().await?;
    let mut added = 0;
    for (id, every) in due {
        let every = i64::from(every.max(1));
        let start = now.timestamp().div_euclid(every) * every;
        added += usize::from(
            poll::enqueue(&mut conn, id, &format!("{start}"))
                .await?
                .is_some(),
        );
    }
    Ok(added)
}

/// Registers the terminal jobs.
pub fn register_jobs(registry: &mut jobs::Registry, state: &AppState) {
    use crate::jobs::worker::KindConfig;
    let s = state.clone();
    registry
        .handle(SCHEDULE_JOB, KindConfig::default(), move |_job| {
            let db = s.db.clone();
            async move {
                match schedule_polls(&db, Utc::now()).await {
                    Ok(_) => Outcome::Done,
                    Err(e) => Outcome::Retry(e.to_string()),
                }
            }
        })
        .every(SCHEDULE_JOB, Duration::from_secs(10));
    let s = state.clone();
    registry.handle(
        poll::POLL_JOB,
        KindConfig {
            max_attempts: 3,
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(60),
        },
        move |job| {
            let s = s.clone();
            async move { poll::run_job(&s, job).await }
        },
    );
    let s = state.clone();
    registry.handle(
        sync::PERSON_JOB,
        KindConfig {
            max_attempts: 10,
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(1800),
        },
        move |job| {
            let s = s.clone();
            async move { sync::run_person_job(&s, job).await }
        },
    );
    let s = state.clone();
    registry.handle(sync::SYNC_ALL_JOB, KindConfig::default(), move |job| {
        let s = s.clone();
        async move { sync::run_sync_all_job(&s, job).await }
    });
}

/// The payload `{"terminal_id"}` of a terminal job.
pub fn terminal_of(job: &jobs::Job) -> Option<Uuid> {
    job.payload["terminal_id"].as_str()?.parse().ok()
}

/// Enqueue options with a unique key.
fn unique(key: String) -> Enqueue {
    Enqueue {
        unique_key: Some(key),
        ..Enqueue::default()
    }
}
