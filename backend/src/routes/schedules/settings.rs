//! The rules of the timesheet computation (what a missing check-out counts as).

use axum::Json;
use axum::extract::State;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::Problem;
use faceid_protocol::schedules::{
    MissingCheckout, NewTimesheetSettings, TIMESHEET_SETTINGS_PATH, TimesheetSettings,
};
use faceid_protocol::wire_text::WireText;
use sqlx::PgConnection;

use crate::AppState;
use crate::audit;
use crate::auth::Admin;
use crate::error::{AppError, AppResult};
use crate::extract::ApiJson;
use crate::timesheet::store;

async fn stored_settings(conn: &mut PgConnection) -> AppResult<TimesheetSettings> {
    let rule = store::rules(conn).await?;
    Ok(TimesheetSettings {
        missing_checkout: match rule.missing_checkout {
            crate::timesheet::MissingCheckoutRule::Flag => MissingCheckout::Flag,
            crate::timesheet::MissingCheckoutRule::CloseAtShiftEnd => {
                MissingCheckout::CloseAtShiftEnd
            }
        },
    })
}

/// The rules of the timesheet computation (administrators).
#[utoipa::path(get, path = TIMESHEET_SETTINGS_PATH, tag = "schedules", security(("bearer" = [])),
    responses(
        (status = 200, description = "the settings", body = TimesheetSettings),
        (status = 403, description = "not an administrator", body = Problem)))]
pub async fn get_settings(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> AppResult<Json<TimesheetSettings>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(stored_settings(&mut conn).await?))
}

/// Replaces the rules of the timesheet computation; every computed day is recomputed at
/// its next report.
#[utoipa::path(put, path = TIMESHEET_SETTINGS_PATH, tag = "schedules", security(("bearer" = [])),
    request_body = NewTimesheetSettings,
    responses(
        (status = 200, description = "stored", body = TimesheetSettings),
        (status = 403, description = "not an administrator", body = Problem),
        (status = 422, description = "`invalid_value`, `invalid_body`, `unknown_field`", body = Problem)))]
pub async fn put_settings(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<NewTimesheetSettings>,
) -> AppResult<Json<TimesheetSettings>> {
    let Some(missing_checkout) = MissingCheckout::from_wire_text(&req.missing_checkout) else {
        return Err(AppError::field(
            "missing_checkout",
            FieldCode::InvalidValue,
            "flag or close_at_shift_end",
        ));
    };
    let settings = TimesheetSettings { missing_checkout };
    let mut tx = state.db.begin().await?;
    // Serialises concurrent changes; the row always exists (inserted by the migration).
    sqlx::query("SELECT 1 FROM timesheet_settings WHERE id = 1 FOR UPDATE")
        .execute(&mut *tx)
        .await?;
    let before = stored_settings(&mut tx).await?;
    sqlx::query(
        "INSERT INTO timesheet_settings (id, missing_checkout) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET missing_checkout = EXCLUDED.missing_checkout",
    )
    .bind(settings.missing_checkout)
    .execute(&mut *tx)
    .await?;
    if before != settings {
        // The rule can change any past day with an open interval.
        sqlx::query("DELETE FROM timesheet_days")
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        &caller,
        "timesheet_settings.put",
        "timesheet_settings",
        None,
        Some(&before),
        Some(&settings),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(settings))
}
