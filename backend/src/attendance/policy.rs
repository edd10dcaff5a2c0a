//! The attendance policy: how liveness is checked, the face threshold, GPS accuracy, whether a
//! geofence is required and how late an offline punch may arrive. One global policy, which a
//! site may override.

use faceid_protocol::field_code::FieldCode;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::Check;

/// How liveness is checked at check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum LivenessMode {
    #[serde(rename = "passive")]
    Passive,
    #[serde(rename = "passive+challenge")]
    PassiveChallenge,
}

/// The attendance policy (global, overridable per site).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendancePolicy {
    /// `passive+challenge` (default): a punch without a passed challenge is flagged.
    pub liveness_mode: LivenessMode,
    /// Largest face distance accepted as the same person; `null`: the model's calibrated
    /// threshold.
    #[serde(default)]
    pub face_threshold: Option<f32>,
    /// GPS accuracy worse than this is flagged, metres.
    pub max_gps_accuracy_m: f64,
    /// `true`: a punch outside every geofence (or without a fix) is rejected; `false`: flagged.
    pub geofence_required: bool,
    /// An offline punch older than this (seconds) is flagged.
    pub max_offline_delay_s: i64,
}

impl Default for AttendancePolicy {
    fn default() -> Self {
        Self {
            liveness_mode: LivenessMode::PassiveChallenge,
            face_threshold: None,
            max_gps_accuracy_m: 100.0,
            geofence_required: true,
            max_offline_delay_s: 72 * 3600,
        }
    }
}

impl AttendancePolicy {
    /// The field checks of a policy to store.
    pub fn validate(&self) -> AppResult<()> {
        let mut check = Check::default();
        if let Some(t) = self.face_threshold
            && !(t.is_finite() && t > 0.0 && t <= 2.0)
        {
            check.add(
                "face_threshold",
                FieldCode::OutOfRange,
                "must be within (0, 2]",
            );
        }
        if !(self.max_gps_accuracy_m.is_finite()
            && (1.0..=10_000.0).contains(&self.max_gps_accuracy_m))
        {
            check.add(
                "max_gps_accuracy_m",
                FieldCode::OutOfRange,
                "must be within 1..=10000",
            );
        }
        if !(60..=30 * 86_400).contains(&self.max_offline_delay_s) {
            check.add(
                "max_offline_delay_s",
                FieldCode::OutOfRange,
                "must be within 60..=2592000",
            );
        }
        check.finish()
    }
}

/// What a failed rule does to a punch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The punch is rejected.
    Reject,
    /// The punch is recorded, flagged for review.
    Flag,
}

impl AttendancePolicy {
    /// A punch without a usable place (no fix, no site, outside every geofence) is rejected
    /// when the policy requires a geofence, else flagged.
    pub fn place_severity(&self) -> Severity {
        if self.geofence_required {
            Severity::Reject
        } else {
            Severity::Flag
        }
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
    p.validate()?;
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
