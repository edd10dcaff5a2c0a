//! Devices: phones registered at login and kiosks with their own credential. The device rows
//! of Hikvision terminals are managed at `/api/v1/terminals` and are not listed here.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use faceid_protocol::devices::ListQuery;
use faceid_protocol::devices::{
    CreateKiosk, Device, DeviceKind, DevicePage, KIOSK_CREDENTIAL_PREFIX, KioskCredential,
    UpdateDevice,
};
use faceid_protocol::devices::{
    DEVICE_BLOCK_PATH, DEVICE_CREDENTIAL_PATH, DEVICE_PATH, DEVICE_UNBLOCK_PATH, DEVICES_PATH,
    KIOSK_ME_PATH,
};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::org::MAX_NAME_LEN;
use faceid_protocol::problem::Problem;
use sqlx::AssertSqlSafe;
use sqlx::{PgConnection, QueryBuilder};
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, Caller, Kiosk, new_opaque_token, token_hash};
use crate::device_keys;
use crate::error::{AppError, AppResult, AsDbError};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::auth::parse_platform;
use crate::routes::{Check, Paging};

const SELECT: &str = "SELECT d.id, d.kind, d.name, d.platform, d.app_version, d.blocked, d.site_id,
    d.last_employee_id, d.last_seen_at, d.created_at, d.public_key, d.public_key_registered_at,
    d.kiosk_pin_hash IS NOT NULL AS kiosk_pin_set
    FROM devices d WHERE d.kind <> 'terminal'";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    kind: String,
    name: String,
    platform: String,
    app_version: Option<String>,
    blocked: bool,
    site_id: Option<Uuid>,
    last_employee_id: Option<Uuid>,
    last_seen_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    public_key: Option<Vec<u8>>,
    public_key_registered_at: Option<DateTime<Utc>>,
    kiosk_pin_set: bool,
}

impl From<Row> for Device {
    fn from(r: Row) -> Self {
        Device {
            id: r.id,
            kind: if r.kind == "kiosk" {
                DeviceKind::Kiosk
            } else {
                DeviceKind::Personal
            },
            name: r.name,
            platform: parse_platform(&r.platform),
            app_version: r.app_version,
            blocked: r.blocked,
            site_id: r.site_id,
            last_employee_id: r.last_employee_id,
            last_seen_at: r.last_seen_at,
            created_at: r.created_at,
            key_fingerprint: r.public_key.as_deref().map(device_keys::fingerprint),
            key_registered_at: r.public_key_registered_at,
            kiosk_pin_set: r.kiosk_pin_set,
        }
    }
}

async fn load(conn: &mut PgConnection, id: Uuid) -> AppResult<Device> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!("{SELECT} AND d.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(Into::into).ok_or(AppError::not_found("device"))
}

fn unknown_site(e: sqlx::Error) -> AppError {
    if e.constraint() == Some("devices_site_id_fkey") {
        AppError::field("site_id", FieldCode::UnknownSite, "no such site")
    } else {
        e.into()
    }
}

fn new_credential() -> String {
    format!("{KIOSK_CREDENTIAL_PREFIX}{}", new_opaque_token())
}

fn push_filters(qb: &mut QueryBuilder<sqlx::Postgres>, q: &ListQuery) {
    if let Some(k) = q.kind {
        qb.push(" AND d.kind = ").push_bind(match k {
            DeviceKind::Kiosk => "kiosk",
            DeviceKind::Personal => "personal",
        });
    }
    if let Some(b) = q.blocked {
        qb.push(" AND d.blocked = ").push_bind(b);
    }
    if let Some(e) = q.employee_id {
        qb.push(
            " AND EXISTS (SELECT 1 FROM sessions s WHERE s.device_id = d.id AND s.employee_id = ",
        )
        .push_bind(e)
        .push(")");
    }
}

/// Lists devices.
#[utoipa::path(get, path = DEVICES_PATH, tag = "devices", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "a page of devices", body = DevicePage)))]
pub async fn list(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<DevicePage>> {
    let (limit, offset) = Paging::resolve(q.limit, q.offset)?;
    let mut count = QueryBuilder::new("SELECT count(*) FROM devices d WHERE d.kind <> 'terminal'");
    push_filters(&mut count, &q);
    let total: i64 = count.build_query_scalar().fetch_one(&state.db).await?;
    let mut qb = QueryBuilder::new(SELECT);
    push_filters(&mut qb, &q);
    qb.push(" ORDER BY d.last_seen_at DESC NULLS LAST, d.created_at DESC, d.id LIMIT ")
        .push_bind(i64::from(limit))
        .push(" OFFSET ")
        .push_bind(i64::from(offset));
    let rows: Vec<Row> = qb.build_query_as().fetch_all(&state.db).await?;
    Ok(Json(DevicePage {
        items: rows.into_iter().map(Into::into).collect(),
        total,
        limit,
        offset,
    }))
}

/// Creates a kiosk and answers its credential, shown only this once.
#[utoipa::path(post, path = DEVICES_PATH, tag = "devices", security(("bearer" = [])),
    request_body = CreateKiosk,
    responses(
        (status = 201, description = "kiosk created", body = KioskCredential),
        (status = 422, description = "invalid fields", body = Problem)))]
pub async fn create_kiosk(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<CreateKiosk>,
) -> AppResult<(StatusCode, Json<KioskCredential>)> {
    let mut check = Check::default();
    let name = check.text("name", &req.name, MAX_NAME_LEN);
    check.finish()?;
    let id = Uuid::now_v7();
    let credential = new_credential();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO devices (id, kind, name, platform, site_id, credential_hash)
         VALUES ($1, 'kiosk', $2, 'kiosk', $3, $4)",
    )
    .bind(id)
    .bind(name)
    .bind(req.site_id)
    .bind(token_hash(&credential))
    .execute(&mut *tx)
    .await
    .map_err(unknown_site)?;
    let device = load(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller,
        "device.create_kiosk",
        "device",
        Some(id),
        audit::NONE,
        Some(&device),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(KioskCredential { device, credential }),
    ))
}

/// Reads a device.
#[utoipa::path(get, path = DEVICE_PATH, tag = "devices", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "device id")),
    responses(
        (status = 200, description = "the device", body = Device),
        (status = 404, description = "no such device", body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Device>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(load(&mut conn, id).await?))
}

/// Renames a device, or moves a kiosk to another site.
#[utoipa::path(patch, path = DEVICE_PATH, tag = "devices", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "device id")),
    request_body = UpdateDevice,
    responses(
        (status = 200, description = "updated", body = Device),
        (status = 404, description = "no such device", body = Problem),
        (status = 422, description = "invalid fields; `not_a_kiosk` for a site on a phone", body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UpdateDevice>,
) -> AppResult<Json<Device>> {
    let mut check = Check::default();
    let name = req
        .name
        .as_deref()
        .map(|n| check.text("name", n, MAX_NAME_LEN));
    check.finish()?;
    let mut tx = state.db.begin().await?;
    let before = load(&mut tx, id).await?;
    if matches!(req.site_id, Some(Some(_))) && before.kind != DeviceKind::Kiosk {
        return Err(AppError::field(
            "site_id",
            FieldCode::NotAKiosk,
            "only kiosks stand at a site",
        ));
    }
    sqlx::query("UPDATE devices SET name = $2, site_id = $3 WHERE id = $1")
        .bind(id)
        .bind(name.unwrap_or_else(|| before.name.clone()))
        .bind(req.site_id.unwrap_or(before.site_id))
        .execute(&mut *tx)
        .await
        .map_err(unknown_site)?;
    let after = load(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller,
        "device.update",
        "device",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

async fn set_blocked(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    blocked: bool,
) -> AppResult<Device> {
    // Blocking the device of this very request would lock the administrator out mid-session.
    if blocked && id == caller.device_id {
        return Err(AppError::conflict(
            ErrorCode::OwnDevice,
            "this is the device you are signed in from; block it from another device",
        ));
    }
    let mut tx = state.db.begin().await?;
    let before = load(&mut tx, id).await?;
    sqlx::query("UPDATE devices SET blocked = $2 WHERE id = $1")
        .bind(id)
        .bind(blocked)
        .execute(&mut *tx)
        .await?;
    let after = load(&mut tx, id).await?;
    let action = if blocked {
        "device.block"
    } else {
        "device.unblock"
    };
    audit::record(
        &mut tx,
        caller,
        action,
        "device",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Blocks a device: every request and login from it is refused with `device_blocked`.
#[utoipa::path(post, path = DEVICE_BLOCK_PATH, tag = "devices", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "device id")),
    responses(
        (status = 200, description = "blocked", body = Device),
        (status = 404, description = "no such device", body = Problem),
        (status = 409, description = "`own_device`: the caller's own device", body = Problem)))]
pub async fn block(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Device>> {
    Ok(Json(set_blocked(&state, &caller, id, true).await?))
}

/// Unblocks a device.
#[utoipa::path(post, path = DEVICE_UNBLOCK_PATH, tag = "devices", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "device id")),
    responses(
        (status = 200, description = "unblocked", body = Device),
        (status = 404, description = "no such device", body = Problem)))]
pub async fn unblock(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Device>> {
    Ok(Json(set_blocked(&state, &caller, id, false).await?))
}

/// Replaces a kiosk's credential; the old one stops working at once.
#[utoipa::path(post, path = DEVICE_CREDENTIAL_PATH, tag = "devices", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "kiosk id")),
    responses(
        (status = 200, description = "new credential", body = KioskCredential),
        (status = 404, description = "no such device", body = Problem),
        (status = 409, description = "`not_a_kiosk`", body = Problem)))]
pub async fn rotate_credential(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<KioskCredential>> {
    let mut tx = state.db.begin().await?;
    let device = load(&mut tx, id).await?;
    if device.kind != DeviceKind::Kiosk {
        return Err(AppError::conflict(
            ErrorCode::NotAKiosk,
            "only kiosks have a credential",
        ));
    }
    let credential = new_credential();
    sqlx::query("UPDATE devices SET credential_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(token_hash(&credential))
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &caller,
        "device.rotate_credential",
        "device",
        Some(id),
        audit::NONE,
        Some(&device),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(KioskCredential { device, credential }))
}

/// The calling kiosk (authenticated by its credential).
#[utoipa::path(get, path = KIOSK_ME_PATH, tag = "devices", security(("bearer" = [])),
    responses(
        (status = 200, description = "this kiosk", body = Device),
        (status = 401, description = "no or bad credential", body = Problem),
        (status = 403, description = "`device_blocked`, or not a kiosk credential", body = Problem)))]
pub async fn kiosk_me(State(state): State<AppState>, Kiosk(k): Kiosk) -> AppResult<Json<Device>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(load(&mut conn, k.device_id).await?))
}
