//! Panel settings (`/api/v1/settings/…`) the server keeps for every panel.

use serde::{Deserialize, Serialize};

/// `GET`, `PUT`.
pub const MAP_SETTINGS_PATH: &str = "/api/v1/settings/map";

/// The maps' basemap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MapSettings {
    /// A MapLibre style URL (`https://…/style.json`); absent: a plain background, no tile
    /// server needed.
    #[serde(default)]
    pub style_url: Option<String>,
}
