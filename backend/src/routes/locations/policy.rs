//! Tracking policies: the caller's, an employee's and a department's, and their overrides.

use axum::Json;
use axum::extract::State;
use faceid_protocol::location::TrackingPolicy;
use faceid_protocol::problem::Problem;
use sqlx::PgPool;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, AuthUser, Caller, Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath};
use crate::locations::{default_policy, effective_policy, validate_policy};

/// The caller's tracking policy.
#[utoipa::path(get, path = "/api/v1/me/tracking-policy", tag = "locations", security(("bearer" = [])),
    responses((status = 200, description = "the effective policy", body = TrackingPolicy)))]
pub async fn my_policy(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<TrackingPolicy>> {
    Ok(Json(effective_policy(&state.db, caller.id).await?))
}

/// An employee's effective tracking policy (administrators; operators within their scope).
#[utoipa::path(get, path = "/api/v1/employees/{id}/tracking-policy", tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 200, description = "the effective policy", body = TrackingPolicy),
        (status = 403, description = "`out_of_scope`", body = Problem),
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

/// Whose tracking-policy override is written.
#[derive(Clone, Copy)]
enum PolicyOwner {
    Employee(Uuid),
    Department(Uuid),
}

impl PolicyOwner {
    /// (owner table, override table, its key column, audit entity / not-found name, id).
    fn parts(self) -> (&'static str, &'static str, &'static str, &'static str, Uuid) {
        match self {
            Self::Employee(id) => (
                "employees",
                "employee_tracking_policies",
                "employee_id",
                "employee",
                id,
            ),
            Self::Department(id) => (
                "departments",
                "department_tracking_policies",
                "department_id",
                "department",
                id,
            ),
        }
    }
}

/// Validates and stores an override, audited with the policy it replaces.
async fn put_policy(
    state: &AppState,
    caller: &Caller,
    owner: PolicyOwner,
    policy: TrackingPolicy,
) -> AppResult<Json<TrackingPolicy>> {
    validate_policy(&policy)?;
    let (owners, table, key, entity, id) = owner.parts();
    let value = serde_json::to_value(&policy).map_err(AppError::internal)?;
    let mut tx = state.db.begin().await?;
    let exists: bool = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT EXISTS (SELECT 1 FROM {owners} WHERE id = $1)"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if !exists {
        return Err(AppError::not_found(entity));
    }
    let before: Option<serde_json::Value> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT policy FROM {table} WHERE {key} = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {table} ({key}, policy) VALUES ($1, $2)
         ON CONFLICT ({key}) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()"
    )))
    .bind(id)
    .bind(&value)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        caller,
        "tracking_policy.set",
        entity,
        Some(id),
        before.as_ref(),
        Some(&value),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(policy))
}

/// Sets an employee's own tracking policy, which overrides the department's.
#[utoipa::path(put, path = "/api/v1/employees/{id}/tracking-policy", tag = "locations", security(("bearer" = [])),
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
    put_policy(&state, &caller, PolicyOwner::Employee(id), policy).await
}

/// A department's tracking policy (the default when it has none).
#[utoipa::path(get, path = "/api/v1/departments/{id}/tracking-policy", tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "department id")),
    responses(
        (status = 200, description = "the department's policy", body = TrackingPolicy),
        (status = 404, description = "no such department", body = Problem)))]
pub async fn department_policy(
    State(state): State<AppState>,
    Staff(_): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<TrackingPolicy>> {
    let row: Option<Option<serde_json::Value>> = sqlx::query_scalar(
        "SELECT dp.policy FROM departments d
         LEFT JOIN department_tracking_policies dp ON dp.department_id = d.id WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    match row.ok_or(AppError::not_found("department"))? {
        Some(v) => serde_json::from_value(v)
            .map(Json)
            .map_err(AppError::internal),
        None => Ok(Json(default_policy("UTC".into()))),
    }
}

/// Sets a department's tracking policy, used by its employees without their own.
#[utoipa::path(put, path = "/api/v1/departments/{id}/tracking-policy", tag = "locations", security(("bearer" = [])),
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
    put_policy(&state, &caller, PolicyOwner::Department(id), policy).await
}
