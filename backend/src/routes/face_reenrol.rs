//! Re-enrolment runs over HTTP: starting one and reading its progress (the run itself:
//! [`crate::face_reenrol`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::face::{REENROLMENT_PATH, REENROLMENTS_PATH};
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::Admin;
use crate::error::{AppError, AppResult};
use crate::extract::ApiPath;
use crate::face_reenrol::{COLUMNS, REENROL_JOB, Reenrolment, load};
use crate::jobs;

/// Starts a re-enrolment run: every employee with templates of another model than the current
/// one is re-enrolled from the stored enrolment photos, with consent (administrators; audited).
#[utoipa::path(post, path = REENROLMENTS_PATH, tag = "face", security(("bearer" = [])),
    responses(
        (status = 202, description = "the run, queued", body = Reenrolment),
        (status = 409, description = "`reenrolment_running`: a run is queued or running", body = Problem)))]
pub async fn start(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> AppResult<(StatusCode, Json<Reenrolment>)> {
    let mut tx = state.db.begin().await?;
    let id = Uuid::now_v7();
    let inserted = sqlx::query(
        "INSERT INTO face_reenrolments (id, requested_by) VALUES ($1, $2)
         ON CONFLICT ((true)) WHERE state IN ('queued', 'running') DO NOTHING",
    )
    .bind(id)
    .bind(caller.id)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AppError::conflict(
            ErrorCode::ReenrolmentRunning,
            "a re-enrolment run is already queued or running",
        ));
    }
    jobs::enqueue(
        &mut tx,
        REENROL_JOB,
        &serde_json::json!({ "reenrolment_id": id }),
        jobs::Enqueue::default(),
    )
    .await?;
    let run: Reenrolment = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM face_reenrolments WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "face.reenrolment_start",
        "face_reenrolment",
        Some(id),
        audit::NONE,
        Some(&run),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

/// A re-enrolment run's progress and the employees it could not re-enrol (administrators).
#[utoipa::path(get, path = REENROLMENT_PATH, tag = "face", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "run id")),
    responses(
        (status = 200, description = "the run", body = Reenrolment),
        (status = 404, description = "no such run", body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Reenrolment>> {
    load(&state.db, id)
        .await?
        .map(Json)
        .ok_or(AppError::not_found("face_reenrolment"))
}
