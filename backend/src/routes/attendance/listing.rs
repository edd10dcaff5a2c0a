//! Reading the attendance log: the caller's own events, the events within a caller's scope,
//! a punch's evidence photo, and the verification of the whole chain.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use faceid_protocol::attendance::{
    ATTENDANCE_PATH, CHAIN_VERIFY_PATH, EVENT_PHOTO_PATH, MY_ATTENDANCE_PATH,
};
use faceid_protocol::attendance::{
    AttendanceRecord, ChainVerification, EventKind, EventPage, ListQuery, MyRange, PunchKind,
    PunchStatus, ReviewDecision, Verdict,
};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::problem::Problem;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::AppState;
use crate::attendance::chain::verify_chain;
use crate::auth::{Admin, AuthUser, Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, ApiQuery, Paging};

/// An event of the attendance log as stored (text columns); answered as the protocol's
/// [`AttendanceRecord`], which owns the wire shape.
#[derive(Debug, Clone, sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    employee_id: Uuid,
    device_id: Option<Uuid>,
    site_id: Option<Uuid>,
    kind: String,
    punch_kind: Option<String>,
    occurred_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    verdict: String,
    reasons: Vec<String>,
    decision: Option<String>,
    comment: Option<String>,
    refers_to: Option<Uuid>,
    actor_id: Option<Uuid>,
    lat: Option<f64>,
    lon: Option<f64>,
    accuracy_m: Option<f64>,
    distance_m: Option<f64>,
    face_distance: Option<f32>,
    liveness_score: Option<f32>,
    has_photo: bool,
    status: Option<String>,
}

/// A stored code read back into a protocol enum (its serde name); a code the enum does not
/// know is a server fault, not a silently different record.
fn stored_code<T: serde::de::DeserializeOwned>(column: &str, code: &str) -> AppResult<T> {
    serde_json::from_value(serde_json::Value::String(code.to_owned()))
        .map_err(|_| AppError::internal(format!("attendance_events.{column}: unknown {code:?}")))
}

fn stored_opt<T: serde::de::DeserializeOwned>(
    column: &str,
    code: Option<&str>,
) -> AppResult<Option<T>> {
    code.map(|c| stored_code(column, c)).transpose()
}

impl TryFrom<EventRow> for AttendanceRecord {
    type Error = AppError;

    fn try_from(r: EventRow) -> AppResult<Self> {
        Ok(Self {
            kind: stored_code::<EventKind>("kind", &r.kind)?,
            punch_kind: stored_opt::<PunchKind>("punch_kind", r.punch_kind.as_deref())?,
            verdict: stored_code::<Verdict>("verdict", &r.verdict)?,
            decision: stored_opt::<ReviewDecision>("decision", r.decision.as_deref())?,
            status: stored_opt::<PunchStatus>("status", r.status.as_deref())?,
            id: r.id,
            employee_id: r.employee_id,
            device_id: r.device_id,
            site_id: r.site_id,
            occurred_at: r.occurred_at,
            received_at: r.received_at,
            // As stored: the protocol carries reasons as text (see `ReasonCode`).
            reasons: r.reasons,
            comment: r.comment,
            refers_to: r.refers_to,
            actor_id: r.actor_id,
            lat: r.lat,
            lon: r.lon,
            accuracy_m: r.accuracy_m,
            distance_m: r.distance_m,
            face_distance: r.face_distance,
            liveness_score: r.liveness_score,
            has_photo: r.has_photo,
        })
    }
}

fn records(rows: Vec<EventRow>) -> AppResult<Vec<AttendanceRecord>> {
    rows.into_iter().map(AttendanceRecord::try_from).collect()
}

const EVENT_SELECT: &str =
    "SELECT e.public_id AS id, e.employee_id, e.device_id, e.site_id, e.kind,
    e.punch_kind, e.occurred_at, e.received_at, e.verdict, e.reasons, e.decision, e.comment,
    r.public_id AS refers_to, e.actor_id, e.lat, e.lon, e.accuracy_m, e.distance_m,
    e.face_distance, e.liveness_score, (e.photo_key IS NOT NULL AND e.photo_erased_at IS NULL) AS has_photo, p.status
    FROM attendance_events e
    JOIN employees emp ON emp.id = e.employee_id
    LEFT JOIN attendance_events r ON r.id = e.refers_to
    LEFT JOIN attendance_punches p ON p.id = e.id
    WHERE true";

/// One event as listed.
pub(super) async fn load_event(conn: &mut PgConnection, id: Uuid) -> AppResult<AttendanceRecord> {
    let row: EventRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{EVENT_SELECT} AND e.public_id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::not_found("attendance event"))?;
    row.try_into()
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
#[utoipa::path(get, path = MY_ATTENDANCE_PATH, tag = "attendance", security(("bearer" = [])),
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
#[utoipa::path(get, path = ATTENDANCE_PATH, tag = "attendance", security(("bearer" = [])),
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
            ErrorCode::InvalidQuery,
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
#[utoipa::path(get, path = EVENT_PHOTO_PATH, tag = "attendance", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "event id")),
    responses(
        (status = 200, description = "the best frame as uploaded", content_type = "image/jpeg"),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such event, or no photo", body = Problem),
        (status = 410, description = "`photo_erased`: removed by an erasure or retention", body = Problem)))]
pub async fn photo(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let row: Option<(Uuid, Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT employee_id, photo_key, photo_erased_at FROM attendance_events WHERE public_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (employee, key, erased) = row.ok_or(AppError::not_found("attendance event"))?;
    if employee != caller.id {
        if caller.role == faceid_protocol::auth::Role::User {
            return Err(AppError::not_found("attendance event"));
        }
        check_employee_scope(&mut conn, &caller, employee).await?;
    }
    if let Some(at) = erased {
        return Err(AppError::gone(
            ErrorCode::PhotoErased,
            format!(
                "the evidence photo was erased at {} (erasure request or retention); the event itself is kept",
                at.to_rfc3339()
            ),
        ));
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

/// Verifies the whole attendance chain.
#[utoipa::path(get, path = CHAIN_VERIFY_PATH, tag = "attendance", security(("bearer" = [])),
    responses((status = 200, description = "verification", body = ChainVerification)))]
pub async fn chain_verify(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> AppResult<Json<ChainVerification>> {
    Ok(Json(verify_chain(&state.db).await?))
}
