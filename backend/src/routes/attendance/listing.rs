//! Attendance listings: the caller's own events, the staff listing, and evidence photos.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use faceid_protocol::attendance::AttendanceRecord;
use faceid_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::AppState;
use crate::attendance::records::{EVENT_SELECT, records};
use crate::auth::{AuthUser, Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::Paging;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub employee: Option<Uuid>,
    pub site: Option<Uuid>,
    /// `verified`, `flagged` or `rejected`.
    pub verdict: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventPage {
    pub items: Vec<AttendanceRecord>,
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
}

fn push_range(
    qb: &mut QueryBuilder<Postgres>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) {
    if let Some(f) = from {
        qb.push(" AND e.occurred_at >= ").push_bind(f);
    }
    if let Some(t) = to {
        qb.push(" AND e.occurred_at < ").push_bind(t);
    }
}

/// The caller's own attendance events in `[from, to)`.
#[utoipa::path(get, path = "/api/v1/me/attendance", tag = "attendance", security(("bearer" = [])),
    params(MyRange),
    responses((status = 200, description = "events, oldest first (at most 5000)", body = Vec<AttendanceRecord>)))]
pub async fn my_attendance(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiQuery(q): ApiQuery<MyRange>,
) -> AppResult<Json<Vec<AttendanceRecord>>> {
    let mut qb = QueryBuilder::<Postgres>::new(EVENT_SELECT);
    qb.push(" AND e.employee_id = ").push_bind(caller.id);
    push_range(&mut qb, q.from, q.to);
    qb.push(" ORDER BY e.occurred_at, e.id LIMIT 5000");
    Ok(Json(records(
        qb.build_query_as().fetch_all(&state.db).await?,
    )?))
}

/// Attendance events of the employees within the caller's scope, filtered and paged.
#[utoipa::path(get, path = "/api/v1/attendance", tag = "attendance", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "a page of events, oldest first", body = EventPage),
              (status = 400, description = "`invalid_query`", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<EventPage>> {
    let (limit, offset) = Paging::resolve(q.limit, q.offset)?;
    if let Some(v) = &q.verdict
        && !matches!(v.as_str(), "verified" | "flagged" | "rejected")
    {
        return Err(AppError::bad_request(
            "invalid_query",
            "verdict must be verified, flagged or rejected",
        ));
    }
    let filter = |qb: &mut QueryBuilder<Postgres>| {
        let scope = caller.scope();
        // The scope filter refers to the employee as `e`.
        qb.push(" AND EXISTS (SELECT 1 FROM employees e WHERE e.id = emp.id");
        scope.push_filter(qb);
        qb.push(")");
        push_range(qb, q.from, q.to);
        if let Some(emp) = q.employee {
            qb.push(" AND e.employee_id = ").push_bind(emp);
        }
        if let Some(s) = q.site {
            qb.push(" AND e.site_id = ").push_bind(s);
        }
        if let Some(v) = &q.verdict {
            qb.push(" AND e.verdict = ").push_bind(v.clone());
        }
    };
    let mut qb = QueryBuilder::<Postgres>::new(EVENT_SELECT);
    filter(&mut qb);
    qb.push(" ORDER BY e.occurred_at, e.id LIMIT ")
        .push_bind(i64::from(limit))
        .push(" OFFSET ")
        .push_bind(i64::from(offset));
    let items = records(qb.build_query_as().fetch_all(&state.db).await?)?;
    let mut qb = QueryBuilder::<Postgres>::new(
        "SELECT count(*) FROM attendance_events e JOIN employees emp ON emp.id = e.employee_id WHERE true",
    );
    filter(&mut qb);
    let total: i64 = qb.build_query_scalar().fetch_one(&state.db).await?;
    Ok(Json(EventPage {
        items,
        total,
        limit,
        offset,
    }))
}

/// The evidence photo of a punch: to the employee themself, and to administrators and
/// operators within their scope.
#[utoipa::path(get, path = "/api/v1/attendance/events/{id}/photo", tag = "attendance", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "event id")),
    responses(
        (status = 200, description = "the best frame as uploaded", content_type = "image/jpeg"),
        (status = 403, description = "`out_of_scope`", body = Problem),
        (status = 404, description = "no such event, or no photo", body = Problem)))]
pub async fn photo(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let row: Option<(Uuid, Option<String>)> =
        sqlx::query_as("SELECT employee_id, photo_key FROM attendance_events WHERE public_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let (employee, key) = row.ok_or(AppError::not_found("attendance event"))?;
    if employee != caller.id {
        if caller.role == faceid_protocol::auth::Role::User {
            return Err(AppError::not_found("attendance event"));
        }
        check_employee_scope(&mut conn, &caller, employee).await?;
    }
    let key = key.ok_or(AppError::not_found("photo"))?;
    let bytes = state.photos.get(&key).await?;
    let ct = match faceid_face::decode::sniff_format(&bytes) {
        Ok(image::ImageFormat::Png) => "image/png",
        Ok(image::ImageFormat::WebP) => "image/webp",
        _ => "image/jpeg",
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        Body::from(bytes),
    )
        .into_response())
}
