//! Settings with no other home: the maps' basemap style (`map_style_url`) and the default
//! tracking policy (for employees with neither their own nor a department override). Each is
//! one JSON value in `panel_settings`; every change is audited with the value it replaces.

use axum::Json;
use axum::extract::State;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::location::DEFAULT_TRACKING_POLICY_PATH;
use faceid_protocol::location::TrackingPolicy;
use faceid_protocol::problem::Problem;
use faceid_protocol::settings::MAP_SETTINGS_PATH;
pub use faceid_protocol::settings::MapSettings;

use crate::AppState;
use crate::auth::{Admin, AuthUser, Staff};
use crate::error::{AppError, AppResult};
use crate::extract::ApiJson;
use crate::locations;
use crate::panel_settings::{MAP, TRACKING_DEFAULT, store, stored};

/// Longest style URL accepted.
pub const MAX_STYLE_URL_LEN: usize = 2000;

/// `http(s)://host…` with no whitespace.
fn is_web_url(u: &str) -> bool {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && !u.chars().any(char::is_whitespace)
    })
}

/// The maps' basemap (every signed-in account: the maps are on employees' screens too).
#[utoipa::path(get, path = MAP_SETTINGS_PATH, tag = "settings", security(("bearer" = [])),
    responses((status = 200, description = "the basemap setting", body = MapSettings)))]
pub async fn get_map(
    State(state): State<AppState>,
    AuthUser(_): AuthUser,
) -> AppResult<Json<MapSettings>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(stored(&mut conn, MAP).await?.unwrap_or_default()))
}

/// Sets or clears the maps' basemap style URL (administrators; audited).
#[utoipa::path(put, path = MAP_SETTINGS_PATH, tag = "settings", security(("bearer" = [])),
    request_body = MapSettings,
    responses(
        (status = 200, description = "stored", body = MapSettings),
        (status = 422, description = "`invalid_url`: not an http(s) URL, or too long", body = Problem)))]
pub async fn put_map(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<MapSettings>,
) -> AppResult<Json<MapSettings>> {
    let style_url = req
        .style_url
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    if let Some(u) = &style_url
        && (!is_web_url(u) || u.len() > MAX_STYLE_URL_LEN)
    {
        return Err(AppError::field(
            "style_url",
            FieldCode::InvalidUrl,
            format!("an http(s) URL of at most {MAX_STYLE_URL_LEN} characters"),
        ));
    }
    let settings = MapSettings { style_url };
    store(&state, &caller, MAP, &settings).await?;
    Ok(Json(settings))
}

/// The default tracking policy: employees with neither their own nor a department policy
/// follow it.
#[utoipa::path(get, path = DEFAULT_TRACKING_POLICY_PATH, tag = "settings", security(("bearer" = [])),
    responses((status = 200, description = "the default policy", body = TrackingPolicy)))]
pub async fn get_tracking_default(
    State(state): State<AppState>,
    Staff(_): Staff,
) -> AppResult<Json<TrackingPolicy>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(
        locations::default_tracking_policy(&mut conn, "UTC".into()).await?,
    ))
}

/// Replaces the default tracking policy (administrators; audited).
#[utoipa::path(put, path = DEFAULT_TRACKING_POLICY_PATH, tag = "settings", security(("bearer" = [])),
    request_body = TrackingPolicy,
    responses(
        (status = 200, description = "stored", body = TrackingPolicy),
        (status = 422, description = "invalid fields", body = Problem)))]
pub async fn put_tracking_default(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(policy): ApiJson<TrackingPolicy>,
) -> AppResult<Json<TrackingPolicy>> {
    locations::validate_policy(&policy)?;
    store(&state, &caller, TRACKING_DEFAULT, &policy).await?;
    Ok(Json(policy))
}
