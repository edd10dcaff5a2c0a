//! The attendance policy over HTTP: the global one and a site's override.

use axum::Json;
use axum::extract::State;
use faceid_protocol::attendance::{
    ATTENDANCE_POLICY_PATH, AttendancePolicy, SITE_ATTENDANCE_POLICY_PATH,
};
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use super::site_exists;
use crate::AppState;
use crate::attendance::policy::{effective_policy, put_policy};
use crate::auth::{Admin, Staff};
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiPath};

/// The global attendance policy.
#[utoipa::path(get, path = ATTENDANCE_POLICY_PATH, tag = "attendance", security(("bearer" = [])),
    responses((status = 200, description = "policy", body = AttendancePolicy)))]
pub async fn get_global_policy(
    State(state): State<AppState>,
    Staff(_): Staff,
) -> AppResult<Json<AttendancePolicy>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(effective_policy(&mut conn, None).await?))
}

/// Replaces the global attendance policy.
#[utoipa::path(put, path = ATTENDANCE_POLICY_PATH, tag = "attendance", security(("bearer" = [])),
    request_body = AttendancePolicy,
    responses((status = 200, description = "stored", body = AttendancePolicy),
              (status = 422, description = "invalid policy", body = Problem)))]
pub async fn put_global_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(p): ApiJson<AttendancePolicy>,
) -> AppResult<Json<AttendancePolicy>> {
    put_policy(&state, &caller, "global", &p).await?;
    Ok(Json(p))
}

/// The policy in force at a site (its override, else the global policy).
#[utoipa::path(get, path = SITE_ATTENDANCE_POLICY_PATH, tag = "attendance", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "site id")),
    responses((status = 200, description = "policy", body = AttendancePolicy),
              (status = 404, description = "no such site", body = Problem)))]
pub async fn get_site_policy(
    State(state): State<AppState>,
    Staff(_): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<AttendancePolicy>> {
    site_exists(&state, id).await?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(effective_policy(&mut conn, Some(id)).await?))
}

/// Sets a site's override of the attendance policy.
#[utoipa::path(put, path = SITE_ATTENDANCE_POLICY_PATH, tag = "attendance", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "site id")),
    request_body = AttendancePolicy,
    responses((status = 200, description = "stored", body = AttendancePolicy),
              (status = 404, description = "no such site", body = Problem),
              (status = 422, description = "invalid policy", body = Problem)))]
pub async fn put_site_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(p): ApiJson<AttendancePolicy>,
) -> AppResult<Json<AttendancePolicy>> {
    site_exists(&state, id).await?;
    put_policy(&state, &caller, &id.to_string(), &p).await?;
    Ok(Json(p))
}
