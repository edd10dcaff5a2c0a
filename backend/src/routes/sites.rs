//! Sites (workplaces) with a time zone and a geofence.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::org::MAX_NAME_LEN;
use faceid_protocol::problem::Problem;
use faceid_protocol::sites::{CreateSite, Geofence, Site, UpdateSite};
use faceid_protocol::sites::{SITE_PATH, SITES_PATH};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, Staff};
use crate::error::{AppError, AppResult, AsDbError};
use crate::extract::{ApiJson, ApiPath};
use crate::geofence;
use crate::routes::Check;

pub const SITE_SELECT: &str =
    "SELECT id, name, address, time_zone, geofence, active, created_at, updated_at FROM sites";

#[derive(sqlx::FromRow)]
pub struct SiteRow {
    id: Uuid,
    name: String,
    address: Option<String>,
    time_zone: String,
    geofence: serde_json::Value,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl SiteRow {
    pub fn into_site(self) -> AppResult<Site> {
        let geofence: Geofence =
            serde_json::from_value(self.geofence).map_err(AppError::internal)?;
        Ok(Site {
            id: self.id,
            name: self.name,
            address: self.address,
            time_zone: self.time_zone,
            geofence,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

async fn load(conn: &mut sqlx::PgConnection, id: Uuid, lock: bool) -> AppResult<Site> {
    let sql = format!(
        "{SITE_SELECT} WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row: Option<SiteRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.ok_or(AppError::not_found("site"))?.into_site()
}

fn name_taken(e: sqlx::Error) -> AppError {
    if e.constraint() == Some("sites_name_key") {
        AppError::conflict(ErrorCode::NameTaken, "a site with this name exists")
    } else {
        e.into()
    }
}

/// Lists sites.
#[utoipa::path(get, path = SITES_PATH, tag = "sites", security(("bearer" = [])),
    responses((status = 200, description = "all sites", body = Vec<Site>)))]
pub async fn list(State(state): State<AppState>, Staff(_): Staff) -> AppResult<Json<Vec<Site>>> {
    let rows: Vec<SiteRow> =
        sqlx::query_as(AssertSqlSafe(format!("{SITE_SELECT} ORDER BY lower(name)")))
            .fetch_all(&state.db)
            .await?;
    rows.into_iter()
        .map(SiteRow::into_site)
        .collect::<AppResult<_>>()
        .map(Json)
}

/// Creates a site. The geofence is validated: coordinates finite and in range, radius between
/// 10 m and 50 km, polygon ring closed and without self-intersection.
#[utoipa::path(post, path = SITES_PATH, tag = "sites", security(("bearer" = [])),
    request_body = CreateSite,
    responses(
        (status = 201, description = "created", body = Site),
        (status = 409, description = "`name_taken`", body = Problem),
        (status = 422, description = "invalid fields, e.g. `self_intersection`, `out_of_range`, `invalid_time_zone`", body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<CreateSite>,
) -> AppResult<(StatusCode, Json<Site>)> {
    let mut check = Check::default();
    let name = check.text("name", &req.name, MAX_NAME_LEN);
    let address = check.opt_text("address", req.address.as_deref(), 500);
    if let Err(e) = geofence::validate_time_zone("time_zone", req.time_zone.trim()) {
        check.push(e);
    }
    if let Err(e) = geofence::validate("geofence", &req.geofence) {
        check.push(e);
    }
    check.finish()?;
    let id = Uuid::now_v7();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO sites (id, name, address, time_zone, geofence, active) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(name)
    .bind(address)
    .bind(req.time_zone.trim())
    .bind(serde_json::to_value(&req.geofence).map_err(AppError::internal)?)
    .bind(req.active)
    .execute(&mut *tx)
    .await
    .map_err(name_taken)?;
    let site = load(&mut tx, id, false).await?;
    audit::record(
        &mut tx,
        &caller,
        "site.create",
        "site",
        Some(id),
        audit::NONE,
        Some(&site),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(site)))
}

/// Reads a site.
#[utoipa::path(get, path = SITE_PATH, tag = "sites", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "site id")),
    responses(
        (status = 200, description = "the site", body = Site),
        (status = 404, description = "no such site", body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Staff(_): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Site>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(load(&mut conn, id, false).await?))
}

/// Updates a site; absent fields stay.
#[utoipa::path(patch, path = SITE_PATH, tag = "sites", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "site id")),
    request_body = UpdateSite,
    responses(
        (status = 200, description = "updated", body = Site),
        (status = 404, description = "no such site", body = Problem),
        (status = 409, description = "`name_taken`", body = Problem),
        (status = 422, description = "invalid fields", body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UpdateSite>,
) -> AppResult<Json<Site>> {
    let mut check = Check::default();
    let name = req
        .name
        .as_deref()
        .map(|n| check.text("name", n, MAX_NAME_LEN));
    let address = req
        .address
        .as_ref()
        .map(|a| check.opt_text("address", a.as_deref(), 500));
    if let Some(tz) = &req.time_zone
        && let Err(e) = geofence::validate_time_zone("time_zone", tz.trim())
    {
        check.push(e);
    }
    if let Some(g) = &req.geofence
        && let Err(e) = geofence::validate("geofence", g)
    {
        check.push(e);
    }
    check.finish()?;
    let mut tx = state.db.begin().await?;
    let before = load(&mut tx, id, true).await?;
    let geofence = req
        .geofence
        .clone()
        .unwrap_or_else(|| before.geofence.clone());
    sqlx::query(
        "UPDATE sites SET name = $2, address = $3, time_zone = $4, geofence = $5, active = $6,
                updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(name.unwrap_or_else(|| before.name.clone()))
    .bind(address.unwrap_or_else(|| before.address.clone()))
    .bind(
        req.time_zone
            .as_deref()
            .map(str::trim)
            .unwrap_or(&before.time_zone),
    )
    .bind(serde_json::to_value(&geofence).map_err(AppError::internal)?)
    .bind(req.active.unwrap_or(before.active))
    .execute(&mut *tx)
    .await
    .map_err(name_taken)?;
    let after = load(&mut tx, id, false).await?;
    audit::record(
        &mut tx,
        &caller,
        "site.update",
        "site",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Deletes a site that no employee or kiosk uses (deactivate it otherwise).
#[utoipa::path(delete, path = SITE_PATH, tag = "sites", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "site id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such site", body = Problem),
        (status = 409, description = "`in_use`", body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let before = load(&mut tx, id, true).await?;
    sqlx::query("DELETE FROM sites WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| match e.constraint() {
            Some("employee_sites_site_id_fkey" | "devices_site_id_fkey") => AppError::conflict(
                ErrorCode::InUse,
                "employees or kiosks use this site; deactivate it instead",
            ),
            _ => e.into(),
        })?;
    sqlx::query(
        "UPDATE employees SET scope_site_ids = array_remove(scope_site_ids, $1) WHERE $1 = ANY(scope_site_ids)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "site.delete",
        "site",
        Some(id),
        Some(&before),
        audit::NONE,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
