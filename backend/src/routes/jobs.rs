//! The administrators' view of the queue: list jobs (dead ones above all), retry or discard a
//! dead job. Every change is audited.

use axum::Json;
use axum::extract::State;
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::jobs::{
    JOB_DISCARD_PATH, JOB_RETRY_PATH, JOBS_PATH, JobInfo, JobPage, JobQuery,
};
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::Admin;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, ApiQuery, Paging};

const COLUMNS: &str =
    "id, kind, state, attempts, run_at, last_error, created_at, updated_at, finished_at, payload";

/// Jobs, most recently changed first (administrators).
#[utoipa::path(get, path = JOBS_PATH, tag = "jobs", security(("bearer" = [])),
    params(JobQuery),
    responses((status = 200, description = "a page of jobs", body = JobPage)))]
pub async fn list(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiQuery(q): ApiQuery<JobQuery>,
) -> AppResult<Json<JobPage>> {
    let (limit, offset) = Paging::resolve(q.limit, q.offset)?;
    let st = q.state;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE ($1::text IS NULL OR state = $1)
           AND ($2::text IS NULL OR kind = $2)",
    )
    .bind(st)
    .bind(&q.kind)
    .fetch_one(&state.db)
    .await?;
    let items = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM jobs WHERE ($1::text IS NULL OR state = $1)
           AND ($2::text IS NULL OR kind = $2)
         ORDER BY updated_at DESC, id DESC LIMIT $3 OFFSET $4"
    )))
    .bind(st)
    .bind(&q.kind)
    .bind(i64::from(limit))
    .bind(i64::from(offset))
    .fetch_all(&state.db)
    .await?;
    Ok(Json(JobPage { items, total }))
}

/// Moves a dead job to `to` (queued again, or discarded), audited.
async fn revive_or_discard(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: Uuid,
    action: &str,
) -> AppResult<Json<JobInfo>> {
    let mut tx = state.db.begin().await?;
    let before: Option<JobInfo> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let before = before.ok_or(AppError::not_found("job"))?;
    if before.state != "dead" {
        return Err(AppError::conflict(
            ErrorCode::JobNotDead,
            format!(
                "only dead jobs can be retried or discarded; this one is {}",
                before.state
            ),
        ));
    }
    let sql = if action == "job.retry" {
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = now(), updated_at = now(),
             finished_at = NULL WHERE id = $1"
    } else {
        "UPDATE jobs SET state = 'discarded', updated_at = now(), finished_at = now() WHERE id = $1"
    };
    sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    let after: JobInfo = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM jobs WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        caller,
        action,
        "job",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Queues a dead job again with its attempts reset (administrators; audited).
#[utoipa::path(post, path = JOB_RETRY_PATH, tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "job id")),
    responses(
        (status = 200, description = "the job, queued", body = JobInfo),
        (status = 404, description = "no such job", body = Problem),
        (status = 409, description = "`job_not_dead`", body = Problem)))]
pub async fn retry(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<JobInfo>> {
    revive_or_discard(&state, &caller, id, "job.retry").await
}

/// Gives up on a dead job for good (administrators; audited).
#[utoipa::path(post, path = JOB_DISCARD_PATH, tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "job id")),
    responses(
        (status = 200, description = "the job, discarded", body = JobInfo),
        (status = 404, description = "no such job", body = Problem),
        (status = 409, description = "`job_not_dead`", body = Problem)))]
pub async fn discard(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<JobInfo>> {
    revive_or_discard(&state, &caller, id, "job.discard").await
}
