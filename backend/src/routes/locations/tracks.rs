//! Reading location tracks back.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use faceid_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{AuthUser, Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::locations::{MAX_RANGE_DAYS, MAX_TRACK_POINTS};


/// `?from=&to=` of track queries (RFC 3339).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// Start, inclusive; default 24 hours before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End, exclusive, at most 31 days after `from`; default now.
    pub to: Option<DateTime<Utc>>,
}

impl Range {
    fn resolve(&self) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
        let to = self.to.unwrap_or_else(Utc::now);
        let from = self.from.unwrap_or(to - chrono::Duration::days(1));
        let r = Resolved { from, to };
        r.check()?;
        Ok((from, to))
    }
}

struct Resolved {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Resolved {
    fn check(&self) -> AppResult<()> {
        if self.to <= self.from {
            return Err(AppError::bad_request(
                "invalid_range",
                "`to` must be after `from`",
            ));
        }
        if self.to - self.from > chrono::Duration::days(MAX_RANGE_DAYS) {
            return Err(AppError::bad_request(
                "range_too_long",
                format!("a query covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        Ok(())
    }
}

/// One stored point with the device that recorded it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrackPoint {
    pub device_id: Uuid,
    #[serde(flatten)]
    pub point: LocationPoint,
}

/// Points of a time range, oldest first.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Track {
    pub points: Vec<TrackPoint>,
    /// More points than the answer holds: ask again from the last `recorded_at`.
    pub truncated: bool,
}

#[derive(sqlx::FromRow)]
struct PointRow {
    device_id: Uuid,
    recorded_at: DateTime<Utc>,
    lat: f64,
    lon: f64,
    accuracy: f64,
    speed: Option<f64>,
    bearing: Option<f64>,
    altitude: Option<f64>,
    mock: bool,
    jump: bool,
    battery: Option<i16>,
}

async fn track(pool: &PgPool, employee: Uuid, range: &Range) -> AppResult<Track> {
    let (from, to) = range.resolve()?;
    let mut rows: Vec<PointRow> = sqlx::query_as(
        "SELECT device_id, recorded_at, lat, lon, accuracy, speed, bearing, altitude, mock, jump, battery
         FROM location_points WHERE employee_id = $1 AND recorded_at >= $2 AND recorded_at < $3
         ORDER BY recorded_at, device_id LIMIT $4",
    )
    .bind(employee)
    .bind(from)
    .bind(to)
    .bind(MAX_TRACK_POINTS + 1)
    .fetch_all(pool)
    .await?;
    let truncated = rows.len() as i64 > MAX_TRACK_POINTS;
    rows.truncate(usize::try_from(MAX_TRACK_POINTS).unwrap_or(usize::MAX));
    Ok(Track {
        points: rows
            .into_iter()
            .map(|r| TrackPoint {
                device_id: r.device_id,
                point: LocationPoint {
                    recorded_at: r.recorded_at,
                    lat: r.lat,
                    lon: r.lon,
                    accuracy: r.accuracy,
                    speed: r.speed,
                    bearing: r.bearing,
                    altitude: r.altitude,
                    mock: r.mock,
                    jump: r.jump,
                    battery: r.battery.and_then(|b| u8::try_from(b).ok()),
                },
            })
            .collect(),
        truncated,
    })
}

/// The caller's own points in a time range (at most 31 days).
#[utoipa::path(get, path = "/api/v1/me/locations", tag = "locations", security(("bearer" = [])),
    params(Range),
    responses(
        (status = 200, description = "the points", body = Track),
        (status = 400, description = "`invalid_query`, `invalid_range`, `range_too_long`", body = Problem)))]
pub async fn my_locations(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiQuery(range): ApiQuery<Range>,
) -> AppResult<Json<Track>> {
    Ok(Json(track(&state.db, caller.id, &range).await?))
}

/// An employee's points in a time range (administrators; operators within their scope).
#[utoipa::path(get, path = "/api/v1/employees/{id}/locations", tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id"), Range),
    responses(
        (status = 200, description = "the points", body = Track),
        (status = 400, description = "`invalid_query`, `invalid_range`, `range_too_long`", body = Problem),
        (status = 403, description = "`out_of_scope`", body = Problem),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn employee_locations(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(range): ApiQuery<Range>,
) -> AppResult<Json<Track>> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    Ok(Json(track(&state.db, id, &range).await?))
}
