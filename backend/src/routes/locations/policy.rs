//! Tracking policies over HTTP: the caller's, an employee's and a department's, with their
//! overrides set and removed by administrators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use faceid_protocol::location::TrackingPolicy;
use faceid_protocol::location::{
    DEPARTMENT_TRACKING_POLICY_PATH, EMPLOYEE_TRACKING_POLICY_PATH, TRACKING_POLICY_PATH,
};
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Admin, AuthUser, Staff, check_employee_scope};
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiPath};
use crate::locations::{self, PolicyOwner, delete_policy, effective_policy, put_policy};

/// The caller's tracking policy.
#[utoipa::path(get, path = TRACKING_POLICY_PATH, tag = "locations", security(("bearer" = [])),
    responses((status = 200, description = "the effective policy", body = TrackingPolicy)))]
pub async fn my_policy(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<TrackingPolicy>> {
    Ok(Json(effective_policy(&state.db, caller.id).await?))
}

/// An employee's effective tracking policy (administrators; operators within their scope).
#[utoipa::path(get, path = EMPLOYEE_TRACKING_POLICY_PATH, tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 200, description = "the effective policy", body = TrackingPolicy),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn employee_policy(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<TrackingPolicy>> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    Ok(Json(effective_policy(&state.db, id).await?))
}

/// Sets an employee's own tracking policy, which overrides the department's.
#[utoipa::path(put, path = EMPLOYEE_TRACKING_POLICY_PATH, tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    request_body = TrackingPolicy,
    responses(
        (status = 200, description = "stored", body = TrackingPolicy),
        (status = 404, description = "no such employee", body = Problem),
        (status = 422, description = "invalid fields", body = Problem)))]
pub async fn put_employee_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(policy): ApiJson<TrackingPolicy>,
) -> AppResult<Json<TrackingPolicy>> {
    put_policy(&state, &caller, PolicyOwner::Employee(id), policy)
        .await
        .map(Json)
}

/// A department's tracking policy (the default when it has none).
#[utoipa::path(get, path = DEPARTMENT_TRACKING_POLICY_PATH, tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "department id")),
    responses(
        (status = 200, description = "the department's policy", body = TrackingPolicy),
        (status = 404, description = "no such department", body = Problem)))]
pub async fn department_policy(
    State(state): State<AppState>,
    Staff(_): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<TrackingPolicy>> {
    Ok(Json(locations::department_policy(&state.db, id).await?))
}

/// Sets a department's tracking policy, used by its employees without their own.
#[utoipa::path(put, path = DEPARTMENT_TRACKING_POLICY_PATH, tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "department id")),
    request_body = TrackingPolicy,
    responses(
        (status = 200, description = "stored", body = TrackingPolicy),
        (status = 404, description = "no such department", body = Problem),
        (status = 422, description = "invalid fields", body = Problem)))]
pub async fn put_department_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(policy): ApiJson<TrackingPolicy>,
) -> AppResult<Json<TrackingPolicy>> {
    put_policy(&state, &caller, PolicyOwner::Department(id), policy)
        .await
        .map(Json)
}

/// Removes an employee's own tracking policy: they follow their department's again (or the
/// company default). Removing when there is none is a 204 too.
#[utoipa::path(delete, path = EMPLOYEE_TRACKING_POLICY_PATH, tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn delete_employee_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    delete_policy(&state, &caller, PolicyOwner::Employee(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a department's tracking policy: its employees without their own follow the company
/// default again. Removing when there is none is a 204 too.
#[utoipa::path(delete, path = DEPARTMENT_TRACKING_POLICY_PATH, tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "department id")),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such department", body = Problem)))]
pub async fn delete_department_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    delete_policy(&state, &caller, PolicyOwner::Department(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
