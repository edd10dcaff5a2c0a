//! Records administrative writes in `audit_log`, inside the caller's transaction.

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::AppError;

pub async fn record<B: Serialize, A: Serialize>(
    conn: &mut PgConnection,
    actor: &Caller,
    action: &str,
    entity_type: &str,
    entity_id: Option<Uuid>,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<(), AppError> {
    let before = before
        .map(serde_json::to_value)
        .transpose()
        .map_err(AppError::internal)?;
    let after = after
        .map(serde_json::to_value)
        .transpose()
        .map_err(AppError::internal)?;
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor_login, action, entity_type, entity_id, before, after, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(actor.id)
    .bind(&actor.login)
    .bind(action)
    .bind(entity_type)
    .bind(entity_id)
    .bind(before)
    .bind(after)
    .bind(&actor.request_id)
    .execute(conn)
    .await?;
    tracing::info!(actor = %actor.login, action, entity_type, entity_id = ?entity_id, "audit");
    Ok(())
}

/// Records an action of the server itself (a job: retention, an erasure cascade): no actor,
/// `actor_login` `system`.
pub async fn record_system<A: Serialize>(
    conn: &mut PgConnection,
    action: &str,
    entity_type: &str,
    entity_id: Option<Uuid>,
    after: &A,
) -> Result<(), AppError> {
    record_unattended(conn, None, action, entity_type, entity_id, after).await
}

/// Records what an employee's own unauthenticated-API request caused (a device key registered
/// or refused at their login): the employee is the actor.
pub async fn record_employee<A: Serialize>(
    conn: &mut PgConnection,
    employee_id: Uuid,
    action: &str,
    entity_type: &str,
    entity_id: Option<Uuid>,
    after: &A,
) -> Result<(), AppError> {
    record_unattended(
        conn,
        Some(employee_id),
        action,
        entity_type,
        entity_id,
        after,
    )
    .await
}

async fn record_unattended<A: Serialize>(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    action: &str,
    entity_type: &str,
    entity_id: Option<Uuid>,
    after: &A,
) -> Result<(), AppError> {
    let after = serde_json::to_value(after).map_err(AppError::internal)?;
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor_login, action, entity_type, entity_id, after)
         SELECT e.id, COALESCE(e.login, 'system'), $2, $3, $4, $5
           FROM (SELECT 1) one LEFT JOIN employees e ON e.id = $1",
    )
    .bind(actor)
    .bind(action)
    .bind(entity_type)
    .bind(entity_id)
    .bind(after)
    .execute(conn)
    .await?;
    let actor = actor.map_or_else(|| "system".to_owned(), |a| a.to_string());
    tracing::info!(%actor, action, entity_type, entity_id = ?entity_id, "audit");
    Ok(())
}

/// `None` with a type, for `record` calls without a before or after state.
pub const NONE: Option<&()> = None;
