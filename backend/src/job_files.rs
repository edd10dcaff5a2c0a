//! Files a background job writes for a later download: the privacy data exports
//! ([`crate::privacy::export`]) and the report downloads ([`crate::report_downloads`]). Each
//! lives under `data_dir/<dir>/<id>.<ext>` for its row in a table with the columns `id`,
//! `state` and `expires_at`; it is written whole or not at all (a `.part` file renamed),
//! streamed back with its type and name, and removed by retention when the row expires. The
//! job writing it, like the face re-enrolment's, settles its row with [`run_row_job`].

use std::path::{Path, PathBuf};

use axum::Json;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use faceid_protocol::error_code::ErrorCode;
use serde::Serialize;
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::jobs::{self, Job, Outcome};

/// Deletes `path`; a file already gone is not an error.
pub async fn remove_file(path: &Path) -> AppResult<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(AppError::internal(format!("{}: {e}", path.display()))),
    }
}

/// Writes `bytes` to `path` through `path.part` and a rename, creating the directory; answers
/// the size.
pub async fn write_whole(path: &Path, bytes: &[u8]) -> AppResult<u64> {
    let io = |p: &Path, e: std::io::Error| AppError::internal(format!("{}: {e}", p.display()));
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io(dir, e))?;
    }
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    if let Err(e) = tokio::fs::write(&part, bytes).await {
        remove_file(&part).await?;
        return Err(io(&part, e));
    }
    tokio::fs::rename(&part, path)
        .await
        .map_err(|e| io(&part, e))?;
    Ok(bytes.len() as u64)
}

/// The file at `path` as a private, uncached attachment named `name`, streamed from disk.
pub async fn stream(path: &Path, content_type: &str, name: &str) -> AppResult<Response> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| AppError::internal(format!("{}: {e}", path.display())))?;
    let stream = tokio_util::io::ReaderStream::new(file);
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Why a job's file cannot be fetched, in the words of its endpoint.
pub struct Unavailable {
    /// The detail of 409 `export_failed`.
    pub failed: &'static str,
    /// The detail of 410 `export_expired`.
    pub expired: &'static str,
}

/// The answer to a request for the file of `row`, whose state is `state`: 202 with the row
/// while it is `queued` or `running`, 409 `export_failed` when it failed, 410
/// `export_expired` once retention deleted it, else (written) what `ready` answers, usually
/// [`stream`].
pub async fn answer<T, F, Fut>(
    state: &str,
    row: T,
    why: Unavailable,
    ready: F,
) -> AppResult<Response>
where
    T: Serialize,
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = AppResult<Response>>,
{
    match state {
        "queued" | "running" => Ok((StatusCode::ACCEPTED, Json(row)).into_response()),
        "failed" => Err(AppError::conflict(ErrorCode::ExportFailed, why.failed)),
        "expired" => Err(AppError::gone(ErrorCode::ExportExpired, why.expired)),
        _ => ready(row).await,
    }
}

/// Marks the rows of `table` in state `ready` whose `expires_at` is before `now` as
/// `expired` and deletes their files (`path` of each id), in one transaction; answers how many.
/// `table` and `ready` are constants of the caller.
pub async fn expire(
    db: &PgPool,
    table: &'static str,
    ready: &'static str,
    now: DateTime<Utc>,
    path: impl Fn(Uuid) -> PathBuf,
) -> AppResult<u64> {
    let mut tx = db.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(AssertSqlSafe(format!(
        "UPDATE {table} SET state = 'expired'
          WHERE id IN (SELECT id FROM {table} WHERE state = '{ready}' AND expires_at < $1
                        FOR UPDATE SKIP LOCKED)
          RETURNING id"
    )))
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    for id in &ids {
        remove_file(&path(*id)).await?;
    }
    tx.commit().await?;
    Ok(ids.len() as u64)
}

/// Runs a job that works on one row of `table`, the UUID under `key` in its payload: `work`
/// on that id, settled by [`jobs::settle`]; after the last attempt the row, while still in
/// one of the `unfinished` states (an SQL list such as `'queued', 'running'`), becomes
/// `failed` with the error and `finished_at`. `table` and `unfinished` are constants.
pub async fn run_row_job<F, Fut>(
    db: &PgPool,
    job: &Job,
    key: &str,
    max_attempts: i32,
    (table, unfinished): (&'static str, &'static str),
    work: F,
) -> Outcome
where
    F: FnOnce(Uuid) -> Fut,
    Fut: Future<Output = AppResult<()>>,
{
    let Some(id) = job.uuid(key) else {
        return Outcome::Fail(format!("payload without {key}"));
    };
    let result = work(id).await;
    jobs::settle(job, max_attempts, result, |error| async move {
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE {table} SET state = 'failed', error = $2, finished_at = now()
              WHERE id = $1 AND state IN ({unfinished})"
        )))
        .bind(id)
        .bind(error)
        .execute(db)
        .await
        .map(drop)
    })
    .await
}
