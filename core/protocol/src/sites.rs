//! Sites (workplaces) and their geofences.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET` — lists sites; `POST` — creates a site.
pub const SITES_PATH: &str = "/api/v1/sites";
/// `GET` — reads a site; `PATCH` — updates a site; absent fields stay; `DELETE` — deletes a
/// site that no employee or kiosk uses (deactivate it otherwise).
pub const SITE_PATH: &str = "/api/v1/sites/{id}";

/// Smallest geofence radius accepted, in metres (GPS accuracy makes smaller circles useless).
pub const MIN_RADIUS_M: f64 = 10.0;
/// Largest geofence radius accepted, in metres.
pub const MAX_RADIUS_M: f64 = 50_000.0;
/// Most vertices accepted in a polygon ring.
pub const MAX_POLYGON_VERTICES: usize = 1_000;

/// Where employees may check in: a circle, or a GeoJSON polygon (one outer ring,
/// `[longitude, latitude]` positions, first position repeated at the end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Geofence {
    /// A circle around a centre.
    #[serde(rename = "circle")]
    Circle {
        latitude: f64,
        longitude: f64,
        radius_m: f64,
    },
    /// A GeoJSON `Polygon` geometry with exactly one ring.
    #[serde(rename = "Polygon")]
    Polygon {
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<Vec<f64>>>))]
        coordinates: Vec<Vec<[f64; 2]>>,
    },
}

/// A site as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Site {
    pub id: Uuid,
    pub name: String,
    pub address: Option<String>,
    /// IANA time zone, e.g. `Europe/Moscow`.
    pub time_zone: String,
    pub geofence: Geofence,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/sites`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    pub time_zone: String,
    pub geofence: Geofence,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// `PATCH /api/v1/sites/{id}`: absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateSite {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub address: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geofence: Option<Geofence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}
