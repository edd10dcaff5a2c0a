//! Restriction of processing: while an employee's biometrics or tracking are restricted,
//! nothing is deleted, but face check-in, enrolment and the on-device descriptors
//! (biometrics) or location batches (tracking) are refused with 403 `processing_restricted`,
//! and kiosks leave the employee out of their gallery. The employee or an administrator sets
//! and lifts it; every change is audited.

use faceid_protocol::error_code::ErrorCode;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};

pub use faceid_protocol::privacy::{
    MY_RESTRICTIONS_PATH, Processing, Restriction, RestrictionChange, Restrictions,
};

/// The refusal while `kind` is restricted.
pub fn restricted(kind: Processing) -> AppError {
    AppError::forbidden(
        ErrorCode::ProcessingRestricted,
        match kind {
            Processing::Biometrics => {
                "biometric processing of this employee is restricted until the restriction is lifted"
            }
            Processing::Tracking => {
                "location tracking of this employee is restricted until the restriction is lifted"
            }
        },
    )
}

/// Whether `kind` is restricted for `employee`.
pub async fn is_restricted(
    pool: &PgPool,
    employee: Uuid,
    kind: Processing,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM processing_restrictions WHERE employee_id = $1 AND kind = $2)",
    )
    .bind(employee)
    .bind(kind)
    .fetch_one(pool)
    .await
}

/// 403 `processing_restricted` when `kind` is restricted for `employee`.
pub async fn require_unrestricted(
    pool: &PgPool,
    employee: Uuid,
    kind: Processing,
) -> AppResult<()> {
    if is_restricted(pool, employee, kind).await? {
        Err(restricted(kind))
    } else {
        Ok(())
    }
}

pub(crate) async fn load(
    conn: &mut PgConnection,
    employee: Uuid,
) -> Result<Restrictions, sqlx::Error> {
    let items: Vec<Restriction> = sqlx::query_as(
        "SELECT kind, restricted_at, restricted_by FROM processing_restrictions
         WHERE employee_id = $1 ORDER BY kind",
    )
    .bind(employee)
    .fetch_all(conn)
    .await?;
    Ok(Restrictions {
        biometrics: items.iter().any(|r| r.kind == "biometrics"),
        tracking: items.iter().any(|r| r.kind == "tracking"),
        items,
    })
}

/// [`load`] for an employee named in a path: 404 when there is no such employee. Locks the
/// employee's row, so concurrent changes of one employee's restrictions come one after the
/// other.
pub(crate) async fn load_existing(
    conn: &mut PgConnection,
    employee: Uuid,
) -> AppResult<Restrictions> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM employees WHERE id = $1 FOR UPDATE")
        .bind(employee)
        .fetch_optional(&mut *conn)
        .await?;
    if found.is_none() {
        return Err(AppError::not_found("employee"));
    }
    Ok(load(conn, employee).await?)
}

/// Applies a change for `employee` by `caller`, audited as `privacy.restriction` when
/// anything changed.
pub(crate) async fn change(
    state: &AppState,
    caller: &Caller,
    employee: Uuid,
    req: &RestrictionChange,
) -> AppResult<Restrictions> {
    let mut tx = state.db.begin().await?;
    let before = load_existing(&mut tx, employee).await?;
    for (kind, want) in [
        (Processing::Biometrics, req.biometrics),
        (Processing::Tracking, req.tracking),
    ] {
        match want {
            Some(true) => {
                sqlx::query(
                    "INSERT INTO processing_restrictions (employee_id, kind, restricted_by)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(employee)
                .bind(kind)
                .bind(caller.id)
                .execute(&mut *tx)
                .await?;
            }
            Some(false) => {
                sqlx::query(
                    "DELETE FROM processing_restrictions WHERE employee_id = $1 AND kind = $2",
                )
                .bind(employee)
                .bind(kind)
                .execute(&mut *tx)
                .await?;
            }
            None => {}
        }
    }
    let after = load(&mut tx, employee).await?;
    if (before.biometrics, before.tracking) != (after.biometrics, after.tracking) {
        audit::record(
            &mut tx,
            caller,
            "privacy.restriction",
            "employee",
            Some(employee),
            Some(&before),
            Some(&after),
        )
        .await?;
        tracing::info!(%employee, biometrics = after.biometrics, tracking = after.tracking, "processing restriction changed");
    }
    tx.commit().await?;
    Ok(after)
}
