//! Events of the attendance log read back as the protocol's [`AttendanceRecord`].

use chrono::{DateTime, Utc};
use faceid_protocol::attendance::{
    AttendanceRecord, EventKind, PunchKind, PunchStatus, ReviewDecision, Verdict,
};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// An event of the attendance log as stored (text columns); answered as the protocol's
/// [`AttendanceRecord`], which owns the wire shape.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
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

pub fn records(rows: Vec<EventRow>) -> AppResult<Vec<AttendanceRecord>> {
    rows.into_iter().map(AttendanceRecord::try_from).collect()
}

pub const EVENT_SELECT: &str =
    "SELECT e.public_id AS id, e.employee_id, e.device_id, e.site_id, e.kind,
    e.punch_kind, e.occurred_at, e.received_at, e.verdict, e.reasons, e.decision, e.comment,
    r.public_id AS refers_to, e.actor_id, e.lat, e.lon, e.accuracy_m, e.distance_m,
    e.face_distance, e.liveness_score, e.photo_key IS NOT NULL AS has_photo, p.status
    FROM attendance_events e
    JOIN employees emp ON emp.id = e.employee_id
    LEFT JOIN attendance_events r ON r.id = e.refers_to
    LEFT JOIN attendance_punches p ON p.id = e.id
    WHERE true";

pub async fn load_event(conn: &mut PgConnection, id: Uuid) -> AppResult<AttendanceRecord> {
    let row: EventRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{EVENT_SELECT} AND e.public_id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::not_found("attendance event"))?;
    row.try_into()
}
