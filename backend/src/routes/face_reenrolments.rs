//! Re-enrolment runs after a model change (administrators): start one, follow its progress.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Admin;
use crate::error::{AppError, AppResult};
use crate::extract::ApiPath;
use crate::face_reenrol::{self, Reenrolment};

/// Starts a re-enrolment run: every employee with templates of another model than the current
/// one is re-enrolled from the stored enrolment photos, with consent (administrators; audited).
#[utoipa::path(post, path = "/api/v1/face/reenrolments", tag = "face", security(("bearer" = [])),
    responses(
        (status = 202, description = "the run, queued", body = Reenrolment),
        (status = 409, description = "`reenrolment_running`: a run is queued or running", body = Problem)))]
pub async fn start(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> AppResult<(StatusCode, Json<Reenrolment>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(face_reenrol::start(&state, &caller).await?),
    ))
}

/// A re-enrolment run's progress and the employees it could not re-enrol (administrators).
#[utoipa::path(get, path = "/api/v1/face/reenrolments/{id}", tag = "face", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "run id")),
    responses(
        (status = 200, description = "the run", body = Reenrolment),
        (status = 404, description = "no such run", body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Reenrolment>> {
    face_reenrol::load(&state.db, id)
        .await?
        .map(Json)
        .ok_or(AppError::not_found("face_reenrolment"))
}
