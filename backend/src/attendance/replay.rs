//! Where the attendance log keeps what an idempotency key left (the request hash and the
//! answer of the event it recorded); the rule itself is [`crate::idempotency::replay`].

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::AppResult;
use crate::idempotency::Prior;

/// What an earlier punch of `employee` with `key` left.
pub async fn prior_of_employee(
    conn: &mut PgConnection,
    employee: Uuid,
    key: Uuid,
) -> AppResult<Option<Prior>> {
    Ok(sqlx::query_as(
        "SELECT request_hash, response FROM attendance_events WHERE employee_id = $1 AND idempotency_key = $2",
    )
    .bind(employee)
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

/// What an earlier identification on kiosk `device` with `key` left.
pub async fn prior_of_device(
    conn: &mut PgConnection,
    device: Uuid,
    key: Uuid,
) -> AppResult<Option<Prior>> {
    Ok(sqlx::query_as(
        "SELECT request_hash, response FROM attendance_events WHERE device_id = $1 AND idempotency_key = $2",
    )
    .bind(device)
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

/// Under the chain lock, in one round trip: the chain head and what an earlier request with
/// this key left, if any.
pub async fn head_and_prior(
    conn: &mut PgConnection,
    employee: Uuid,
    key: Uuid,
) -> AppResult<(Vec<u8>, Option<Prior>)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        head: Option<Vec<u8>>,
        found: bool,
        request_hash: Option<Vec<u8>>,
        response: Option<serde_json::Value>,
    }
    let r: Row = sqlx::query_as(
        "SELECT (SELECT hash FROM attendance_events ORDER BY id DESC LIMIT 1) AS head,
                r.found IS NOT NULL AS found, r.request_hash, r.response
           FROM (SELECT 1) one
           LEFT JOIN (SELECT true AS found, request_hash, response FROM attendance_events
                       WHERE employee_id = $1 AND idempotency_key = $2) r ON true",
    )
    .bind(employee)
    .bind(key)
    .fetch_one(conn)
    .await?;
    Ok((
        r.head.unwrap_or_else(|| vec![0; 32]),
        r.found.then_some((r.request_hash, r.response)),
    ))
}
