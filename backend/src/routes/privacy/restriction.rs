//! Handlers of restrictions of processing; the domain is [`crate::privacy::restriction`].

use crate::AppState;
use crate::auth::{Admin, AuthUser};
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use faceid_protocol::privacy::EMPLOYEE_RESTRICTIONS_PATH;
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use crate::privacy::restriction::*;

/// What processing of the caller is restricted.
#[utoipa::path(get, path = MY_RESTRICTIONS_PATH, tag = "privacy", security(("bearer" = [])),
    responses((status = 200, description = "restrictions in force", body = Restrictions)))]
pub async fn get_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<Restrictions>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(load(&mut conn, caller.id).await?))
}

/// Restricts or lifts the restriction of the caller's biometric processing or tracking.
/// Nothing is deleted; while restricted, face check-in, enrolment and kiosk identification
/// (biometrics) or location batches (tracking) stop with `processing_restricted`.
#[utoipa::path(put, path = MY_RESTRICTIONS_PATH, tag = "privacy", security(("bearer" = [])),
    request_body = RestrictionChange,
    responses(
        (status = 200, description = "restrictions now in force", body = Restrictions),
        (status = 422, description = "invalid body", body = Problem)))]
pub async fn put_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiJson(req): ApiJson<RestrictionChange>,
) -> AppResult<Json<Restrictions>> {
    Ok(Json(change(&state, &caller, caller.id, &req).await?))
}

/// An employee's restrictions (administrators).
#[utoipa::path(get, path = EMPLOYEE_RESTRICTIONS_PATH, tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 200, description = "restrictions in force", body = Restrictions),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn get_employee(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Restrictions>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(load_existing(&mut conn, id).await?))
}

/// Restricts or lifts an employee's biometric processing or tracking (administrators;
/// audited).
#[utoipa::path(put, path = EMPLOYEE_RESTRICTIONS_PATH, tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    request_body = RestrictionChange,
    responses(
        (status = 200, description = "restrictions now in force", body = Restrictions),
        (status = 404, description = "no such employee", body = Problem),
        (status = 422, description = "invalid body", body = Problem)))]
pub async fn put_employee(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<RestrictionChange>,
) -> AppResult<Json<Restrictions>> {
    Ok(Json(change(&state, &caller, id, &req).await?))
}
