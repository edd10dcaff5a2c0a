//! Settings with no other home, one JSON value each in `panel_settings` (the maps' basemap, the
//! default tracking policy); every change is audited with the value it replaces. The handlers
//! are in `routes::settings`.

use serde::{Serialize, de::DeserializeOwned};
use sqlx::PgConnection;

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};

/// Key of the maps' basemap.
pub const MAP: &str = "map";
/// Key of the default tracking policy.
pub const TRACKING_DEFAULT: &str = "tracking_default";

/// The value stored under `key`, if any.
pub async fn stored<T: DeserializeOwned>(
    conn: &mut PgConnection,
    key: &str,
) -> AppResult<Option<T>> {
    let v: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT value FROM panel_settings WHERE key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await?;
    v.map(serde_json::from_value)
        .transpose()
        .map_err(AppError::internal)
}

/// Stores `value` under `key`, audited as `settings.<key>` with the value it replaces.
pub async fn store<T: Serialize>(
    state: &AppState,
    caller: &Caller,
    key: &str,
    value: &T,
) -> AppResult<()> {
    let value = serde_json::to_value(value).map_err(AppError::internal)?;
    let mut tx = state.db.begin().await?;
    let cell = crate::db::JsonCell {
        table: "panel_settings",
        key_col: "key",
        value_col: "value",
    };
    let before = crate::db::replace_json(&mut tx, cell, key, &value).await?;
    audit::record(
        &mut tx,
        caller,
        &format!("settings.{key}"),
        "settings",
        None,
        before.as_ref(),
        Some(&value),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
