//! Departments and positions: named reference data with the same CRUD.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::org::{DEPARTMENT_PATH, DEPARTMENTS_PATH, POSITION_PATH, POSITIONS_PATH};
use faceid_protocol::org::{Department, MAX_NAME_LEN, NamedInput, Position};
use faceid_protocol::problem::Problem;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, Staff};
use crate::error::{AppError, AppResult, AsDbError};
use crate::extract::ApiJson;
use crate::extract::ApiPath;
use crate::routes::Check;

#[derive(Clone, Copy)]
struct Kind {
    table: &'static str,
    entity: &'static str,
    name_key: &'static str,
    fk: &'static str,
}

const DEPARTMENT: Kind = Kind {
    table: "departments",
    entity: "department",
    name_key: "departments_name_key",
    fk: "employees_department_id_fkey",
};
const POSITION: Kind = Kind {
    table: "positions",
    entity: "position",
    name_key: "positions_name_key",
    fk: "employees_position_id_fkey",
};

#[derive(sqlx::FromRow, serde::Serialize)]
struct Named {
    id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Named> for Department {
    fn from(n: Named) -> Self {
        Department {
            id: n.id,
            name: n.name,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}
impl From<Named> for Position {
    fn from(n: Named) -> Self {
        Position {
            id: n.id,
            name: n.name,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

fn name_taken(k: Kind, e: sqlx::Error) -> AppError {
    if e.constraint() == Some(k.name_key) {
        AppError::conflict(
            ErrorCode::NameTaken,
            format!("a {} with this name exists", k.entity),
        )
    } else {
        e.into()
    }
}

fn not_found(k: Kind) -> AppError {
    AppError::not_found(if k.entity == "department" {
        "department"
    } else {
        "position"
    })
}

async fn list_named(state: &AppState, k: Kind) -> AppResult<Vec<Named>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, name, created_at, updated_at FROM {} ORDER BY lower(name)",
        k.table
    )))
    .fetch_all(&state.db)
    .await?)
}

async fn get_named(state: &AppState, k: Kind, id: Uuid) -> AppResult<Named> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, name, created_at, updated_at FROM {} WHERE id = $1",
        k.table
    )))
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| not_found(k))
}

fn valid_name(input: &NamedInput) -> AppResult<String> {
    let mut check = Check::default();
    let name = check.text("name", &input.name, MAX_NAME_LEN);
    check.finish()?;
    Ok(name)
}

async fn create_named(
    state: &AppState,
    caller: &crate::auth::Caller,
    k: Kind,
    input: NamedInput,
) -> AppResult<Named> {
    let name = valid_name(&input)?;
    let mut tx = state.db.begin().await?;
    let row: Named = sqlx::query_as(AssertSqlSafe(format!(
        "INSERT INTO {} (id, name) VALUES ($1, $2) RETURNING id, name, created_at, updated_at",
        k.table
    )))
    .bind(Uuid::now_v7())
    .bind(name)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| name_taken(k, e))?;
    audit::record(
        &mut tx,
        caller,
        &format!("{}.create", k.entity),
        k.entity,
        Some(row.id),
        audit::NONE,
        Some(&row),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

async fn update_named(
    state: &AppState,
    caller: &crate::auth::Caller,
    k: Kind,
    id: Uuid,
    input: NamedInput,
) -> AppResult<Named> {
    let name = valid_name(&input)?;
    let mut tx = state.db.begin().await?;
    let before: Named = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, name, created_at, updated_at FROM {} WHERE id = $1 FOR UPDATE",
        k.table
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| not_found(k))?;
    let row: Named = sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE {} SET name = $2, updated_at = now() WHERE id = $1 RETURNING id, name, created_at, updated_at",
        k.table
    )))
    .bind(id)
    .bind(name)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| name_taken(k, e))?;
    audit::record(
        &mut tx,
        caller,
        &format!("{}.update", k.entity),
        k.entity,
        Some(id),
        Some(&before),
        Some(&row),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

async fn delete_named(
    state: &AppState,
    caller: &crate::auth::Caller,
    k: Kind,
    id: Uuid,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let before: Named = sqlx::query_as(AssertSqlSafe(format!(
        "DELETE FROM {} WHERE id = $1 RETURNING id, name, created_at, updated_at",
        k.table
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| {
        if e.constraint() == Some(k.fk) {
            AppError::conflict(
                ErrorCode::InUse,
                format!("employees still belong to this {}", k.entity),
            )
        } else {
            e.into()
        }
    })?
    .ok_or_else(|| not_found(k))?;
    // Operators scoped to it lose that part of their scope.
    if k.entity == "department" {
        sqlx::query(
            "UPDATE employees SET scope_department_ids = array_remove(scope_department_ids, $1)
              WHERE $1 = ANY(scope_department_ids)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        caller,
        &format!("{}.delete", k.entity),
        k.entity,
        Some(id),
        Some(&before),
        audit::NONE,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists departments.
#[utoipa::path(get, path = DEPARTMENTS_PATH, tag = "organisation", security(("bearer" = [])),
    responses((status = 200, description = "all departments", body = Vec<Department>)))]
pub async fn list_departments(
    State(state): State<AppState>,
    Staff(_): Staff,
) -> AppResult<Json<Vec<Department>>> {
    Ok(Json(
        list_named(&state, DEPARTMENT)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Creates a department.
#[utoipa::path(post, path = DEPARTMENTS_PATH, tag = "organisation", security(("bearer" = [])),
    request_body = NamedInput,
    responses(
        (status = 201, description = "created", body = Department),
        (status = 409, description = "`name_taken`", body = Problem),
        (status = 422, description = "invalid name", body = Problem)))]
pub async fn create_department(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(input): ApiJson<NamedInput>,
) -> AppResult<(StatusCode, Json<Department>)> {
    let row = create_named(&state, &caller, DEPARTMENT, input).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Reads a department.
#[utoipa::path(get, path = DEPARTMENT_PATH, tag = "organisation", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "department id")),
    responses(
        (status = 200, description = "the department", body = Department),
        (status = 404, description = "no such department", body = Problem)))]
pub async fn get_department(
    State(state): State<AppState>,
    Staff(_): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Department>> {
    Ok(Json(get_named(&state, DEPARTMENT, id).await?.into()))
}

/// Renames a department.
#[utoipa::path(patch, path = DEPARTMENT_PATH, tag = "organisation", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "department id")),
    request_body = NamedInput,
    responses(
        (status = 200, description = "renamed", body = Department),
        (status = 404, description = "no such department", body = Problem),
        (status = 409, description = "`name_taken`", body = Problem)))]
pub async fn update_department(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<NamedInput>,
) -> AppResult<Json<Department>> {
    Ok(Json(
        update_named(&state, &caller, DEPARTMENT, id, input)
            .await?
            .into(),
    ))
}

/// Deletes a department that no employee belongs to.
#[utoipa::path(delete, path = DEPARTMENT_PATH, tag = "organisation", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "department id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such department", body = Problem),
        (status = 409, description = "`in_use`", body = Problem)))]
pub async fn delete_department(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    delete_named(&state, &caller, DEPARTMENT, id).await
}

/// Lists positions.
#[utoipa::path(get, path = POSITIONS_PATH, tag = "organisation", security(("bearer" = [])),
    responses((status = 200, description = "all positions", body = Vec<Position>)))]
pub async fn list_positions(
    State(state): State<AppState>,
    Staff(_): Staff,
) -> AppResult<Json<Vec<Position>>> {
    Ok(Json(
        list_named(&state, POSITION)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Creates a position.
#[utoipa::path(post, path = POSITIONS_PATH, tag = "organisation", security(("bearer" = [])),
    request_body = NamedInput,
    responses(
        (status = 201, description = "created", body = Position),
        (status = 409, description = "`name_taken`", body = Problem),
        (status = 422, description = "invalid name", body = Problem)))]
pub async fn create_position(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(input): ApiJson<NamedInput>,
) -> AppResult<(StatusCode, Json<Position>)> {
    let row = create_named(&state, &caller, POSITION, input).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Reads a position.
#[utoipa::path(get, path = POSITION_PATH, tag = "organisation", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "position id")),
    responses(
        (status = 200, description = "the position", body = Position),
        (status = 404, description = "no such position", body = Problem)))]
pub async fn get_position(
    State(state): State<AppState>,
    Staff(_): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Position>> {
    Ok(Json(get_named(&state, POSITION, id).await?.into()))
}

/// Renames a position.
#[utoipa::path(patch, path = POSITION_PATH, tag = "organisation", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "position id")),
    request_body = NamedInput,
    responses(
        (status = 200, description = "renamed", body = Position),
        (status = 404, description = "no such position", body = Problem),
        (status = 409, description = "`name_taken`", body = Problem)))]
pub async fn update_position(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<NamedInput>,
) -> AppResult<Json<Position>> {
    Ok(Json(
        update_named(&state, &caller, POSITION, id, input)
            .await?
            .into(),
    ))
}

/// Deletes a position that no employee holds.
#[utoipa::path(delete, path = POSITION_PATH, tag = "organisation", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "position id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such position", body = Problem),
        (status = 409, description = "`in_use`", body = Problem)))]
pub async fn delete_position(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    delete_named(&state, &caller, POSITION, id).await
}
