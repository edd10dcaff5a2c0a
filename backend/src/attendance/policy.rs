//! The attendance policy: how liveness is checked, the face threshold, GPS accuracy, whether a
//! geofence is required and how late an offline punch may arrive. One global policy, which a
//! site may override.

use faceid_protocol::attendance::AttendancePolicy;
use faceid_protocol::field_code::FieldCode;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::Check;

/// The field checks of a policy to store.
pub fn validate_policy(p: &AttendancePolicy) -> AppResult<()> {
    let mut check = Check::default();
    if let Some(t) = p.face_threshold
        && !(t.is_finite() && t > 0.0 && t <= 2.0)
    {
        check.add(
            "face_threshold",
            FieldCode::OutOfRange,
            "must be within (0, 2]",
        );
    }
    if !(p.max_gps_accuracy_m.is_finite() && (1.0..=10_000.0).contains(&p.max_gps_accuracy_m)) {
        check.add(
            "max_gps_accuracy_m",
            FieldCode::OutOfRange,
            "must be within 1..=10000",
        );
    }
    if !(60..=30 * 86_400).contains(&p.max_offline_delay_s) {
        check.add(
            "max_offline_delay_s",
            FieldCode::OutOfRange,
            "must be within 60..=2592000",
        );
    }
    check.finish()
}

/// What a failed rule does to a punch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The punch is rejected.
    Reject,
    /// The punch is recorded, flagged for review.
    Flag,
}

/// A punch without a usable place (no fix, no site, outside every geofence) is rejected when
/// the policy requires a geofence, else flagged.
pub fn place_severity(p: &AttendancePolicy) -> Severity {
    if p.geofence_required {
        Severity::Reject
    } else {
        Severity::Flag
    }
}

async fn stored_policy(
    conn: &mut PgConnection,
    scope: &str,
) -> AppResult<Option<AttendancePolicy>> {
    let v: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT policy FROM attendance_policies WHERE scope = $1")
            .bind(scope)
            .fetch_optional(conn)
            .await?;
    v.map(serde_json::from_value)
        .transpose()
        .map_err(AppError::internal)
}

/// The policy in force at a site (its override, else the global one, else the default).
pub async fn effective_policy(
    conn: &mut PgConnection,
    site: Option<Uuid>,
) -> AppResult<AttendancePolicy> {
    if let Some(s) = site
        && let Some(p) = stored_policy(conn, &s.to_string()).await?
    {
        return Ok(p);
    }
    Ok(stored_policy(conn, "global").await?.unwrap_or_default())
}

/// Validates and stores the policy of `scope` (`global` or a site id), audited with the one it
/// replaces.
pub async fn put_policy(
    state: &AppState,
    caller: &Caller,
    scope: &str,
    p: &AttendancePolicy,
) -> AppResult<()> {
    validate_policy(p)?;
    let mut tx = state.db.begin().await?;
    let before = stored_policy(&mut tx, scope).await?;
    sqlx::query(
        "INSERT INTO attendance_policies (scope, policy) VALUES ($1, $2)
         ON CONFLICT (scope) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()",
    )
    .bind(scope)
    .bind(serde_json::to_value(p).map_err(AppError::internal)?)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        caller,
        "attendance_policy.put",
        "attendance_policy",
        Uuid::parse_str(scope).ok(),
        before.as_ref(),
        Some(p),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
