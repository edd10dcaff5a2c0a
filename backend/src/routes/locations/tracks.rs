//! Reading location tracks back: the caller's own, and an employee's within the caller's scope.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::location::Range;
use faceid_protocol::location::{EMPLOYEE_LOCATIONS_PATH, MY_LOCATIONS_PATH};
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{AuthUser, Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::locations::{MAX_RANGE_DAYS, Track, track};

/// The range asked for, defaults filled in and checked.
fn resolve(range: &Range) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
    let to = range.to.unwrap_or_else(Utc::now);
    let from = range.from.unwrap_or(to - chrono::Duration::days(1));
    let r = Resolved { from, to };
    r.check()?;
    Ok((from, to))
}

struct Resolved {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Resolved {
    fn check(&self) -> AppResult<()> {
        if self.to <= self.from {
            return Err(AppError::bad_request(
                ErrorCode::InvalidRange,
                "`to` must be after `from`",
            ));
        }
        if self.to - self.from > chrono::Duration::days(MAX_RANGE_DAYS) {
            return Err(AppError::bad_request(
                ErrorCode::RangeTooLong,
                format!("a query covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        Ok(())
    }
}

/// The caller's own points in a time range (at most 31 days).
#[utoipa::path(get, path = MY_LOCATIONS_PATH, tag = "locations", security(("bearer" = [])),
    params(Range),
    responses(
        (status = 200, description = "the points", body = Track),
        (status = 400, description = "`invalid_query`, `invalid_range`, `range_too_long`", body = Problem)))]
pub async fn my_locations(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiQuery(range): ApiQuery<Range>,
) -> AppResult<Json<Track>> {
    let (from, to) = resolve(&range)?;
    Ok(Json(track(&state.db, caller.id, from, to).await?))
}

/// An employee's points in a time range (administrators; operators within their scope).
#[utoipa::path(get, path = EMPLOYEE_LOCATIONS_PATH, tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id"), Range),
    responses(
        (status = 200, description = "the points", body = Track),
        (status = 400, description = "`invalid_query`, `invalid_range`, `range_too_long`", body = Problem),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
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
    let (from, to) = resolve(&range)?;
    Ok(Json(track(&state.db, id, from, to).await?))
}
