//! iiko (iikoServer `/resto/api`, integrations.md §2, docs/iiko.md): one connection set by
//! administrators, its password encrypted at rest, and a log of every run.
//!
//! * [`client`]: the iikoServer client (SHA-1 auth, a token per run that is always logged
//!   out, text/plain errors, "no connections available" as a retried state, XML lists).
//! * [`routes`]: `/api/v1/integrations/iiko` (administrators, audited), the connection test
//!   and the run log.

pub mod client;
pub mod routes;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::face::DescriptorCipher;
pub use client::{Connection, IikoClient, IikoError};

const PASSWORD_AAD: &[u8] = b"iiko-password";

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

/// What one run did, written to `iiko_runs`.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub conflicts: i32,
    pub errors: i32,
}

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
