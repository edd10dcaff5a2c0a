//! Where a punch's idempotency key finds the earlier request: the attendance log, keyed by the
//! employee for a phone and by the device for a kiosk (which does not know whom it sees until
//! it identifies them). The decision is [`crate::idempotency::replay`].

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::AppResult;
use crate::idempotency::Prior;
use crate::liveness::{Challenge, into_challenge};

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

/// What a phone punch reads under the chain lock, in one statement.
pub struct Locked {
    /// The hash of the last event (32 zero bytes for an empty chain).
    pub head: Vec<u8>,
    /// What an earlier request of the employee with this key left, if any (a concurrent
    /// request may have won while this one was measured).
    pub prior: Option<Prior>,
    /// The challenge the punch answers, consumed here (`None`: no nonce was sent, or it could
    /// not be consumed: unknown, expired, used or someone else's).
    pub challenge: Option<Challenge>,
}

/// Under the chain lock, in one round trip: the chain head, what an earlier request of the
/// employee with this key left, and the consumption of the punch's challenge `nonce` (issued
/// to the employee on `device`, live and unused; single use, as
/// `liveness::consume_challenge`). Rolling the transaction back gives the challenge back.
pub async fn head_prior_and_challenge(
    conn: &mut PgConnection,
    employee: Uuid,
    key: Uuid,
    nonce: Option<&str>,
    device: Uuid,
) -> AppResult<Locked> {
    #[derive(sqlx::FromRow)]
    struct Row {
        head: Option<Vec<u8>>,
        found: bool,
        request_hash: Option<Vec<u8>>,
        response: Option<serde_json::Value>,
        nonce: Option<String>,
        c_employee: Option<Uuid>,
        c_device: Option<Uuid>,
        actions: Option<Vec<String>>,
        created_at: Option<DateTime<Utc>>,
        expires_at: Option<DateTime<Utc>>,
    }
    let r: Row = sqlx::query_as(
        "WITH used AS (
              UPDATE liveness_challenges SET used_at = now()
               WHERE nonce = $3 AND employee_id = $1 AND device_id = $4
                 AND used_at IS NULL AND expires_at > now()
           RETURNING nonce, employee_id, device_id, actions, created_at, expires_at)
         SELECT (SELECT hash FROM attendance_events ORDER BY id DESC LIMIT 1) AS head,
                r.found IS NOT NULL AS found, r.request_hash, r.response,
                u.nonce, u.employee_id AS c_employee, u.device_id AS c_device, u.actions,
                u.created_at, u.expires_at
           FROM (SELECT 1) one
           LEFT JOIN (SELECT true AS found, request_hash, response FROM attendance_events
                       WHERE employee_id = $1 AND idempotency_key = $2 LIMIT 1) r ON true
           LEFT JOIN used u ON true",
    )
    .bind(employee)
    .bind(key)
    .bind(nonce)
    .bind(device)
    .fetch_one(conn)
    .await?;
    let challenge = match (r.nonce, r.c_device, r.actions, r.created_at, r.expires_at) {
        (Some(nonce), Some(device), Some(actions), Some(created), Some(expires)) => Some(
            into_challenge((nonce, r.c_employee, device, actions, created, expires)),
        ),
        _ => None,
    };
    Ok(Locked {
        head: r.head.unwrap_or_else(|| vec![0; 32]),
        prior: r.found.then_some(Prior {
            request_hash: r.request_hash,
            response: r.response,
        }),
        challenge,
    })
}
