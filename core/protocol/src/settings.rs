//! Panel settings (`/api/v1/settings/…`) the server keeps for every panel.

use serde::{Deserialize, Serialize};

/// `GET` — the maps' basemap (every signed-in account: the maps are on employees' screens
/// too); `PUT` — sets or clears the maps' basemap style URL (administrators; audited).
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
