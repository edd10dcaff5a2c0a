//! Where a punch's idempotency key finds the earlier request: the attendance log, keyed by the
//! employee for a phone and by the device for a kiosk (which does not know whom it sees until
//! it identifies them). The decision is [`crate::idempotency::replay`].

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::AppResult;
use crate::idempotency::Prior;

/// Whose idempotency key it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner {
    /// A phone punch: the employee's key.
    Employee(Uuid),
    /// A kiosk identification: the kiosk's key.
    Device(Uuid),
}

/// What an earlier punch with this key left, if any.
pub async fn prior(
    conn: &mut PgConnection,
    owner: KeyOwner,
    key: Uuid,
) -> AppResult<Option<Prior>> {
    let (sql, id) = match owner {
        KeyOwner::Employee(id) => (
            "SELECT request_hash, response FROM attendance_events WHERE employee_id = $1 AND idempotency_key = $2",
            id,
        ),
        KeyOwner::Device(id) => (
            "SELECT request_hash, response FROM attendance_events WHERE device_id = $1 AND idempotency_key = $2",
            id,
        ),
    };
    Ok(sqlx::query_as(sql)
        .bind(id)
        .bind(key)
        .fetch_optional(conn)
        .await?)
}

/// Under the chain lock, in one round trip: the chain head and what an earlier request of the
/// employee with this key left, if any (a concurrent request may have won while this one was
/// measured).
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
        r.found.then_some(Prior {
            request_hash: r.request_hash,
            response: r.response,
        }),
    ))
}
