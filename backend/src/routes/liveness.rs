//! Liveness challenges over HTTP (the challenges themselves: [`crate::liveness`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use faceid_protocol::liveness::LIVENESS_CHALLENGES_PATH;
use faceid_protocol::liveness::LivenessChallenge;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::AppResult;
use crate::liveness::issue;

/// Issues a liveness challenge for the caller on their device: 2–3 head movements, valid for
/// two minutes, usable once.
#[utoipa::path(post, path = LIVENESS_CHALLENGES_PATH, tag = "liveness", security(("bearer" = [])),
    responses((status = 201, description = "issued", body = LivenessChallenge)))]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<(StatusCode, Json<LivenessChallenge>)> {
    let c = issue(&state.db, caller.id, caller.device_id).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// The liveness routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create))
}
