//! Enrolled face templates, without HTTP: loading them decrypted for matching, and the checks
//! a face operation needs first (biometric consent, a registered device). Enrolment and the
//! template endpoints are in `routes::face_templates`.

use faceid_face::Descriptor;
use faceid_protocol::consent::ConsentKind;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::consent::has_consent;
use crate::error::{AppError, AppResult};

/// Requires the employee's biometric consent.
pub async fn require_biometric_consent(state: &AppState, employee: Uuid) -> AppResult<()> {
    if has_consent(&state.db, employee, ConsentKind::Biometric).await? {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "biometric_consent_required",
            "the employee has not given biometric consent",
        ))
    }
}

/// Every enrolled template of `model`, decrypted, with its owner (optionally excluding one
/// employee, or only some employees).
pub async fn load_templates(
    state: &AppState,
    conn: &mut PgConnection,
    model: &str,
    employees: Option<&[Uuid]>,
) -> AppResult<Vec<(Uuid, Uuid, Descriptor)>> {
    let rows: Vec<(Uuid, Uuid, Vec<u8>, Vec<u8>)> =
        match employees {
            Some(ids) => {
                sqlx::query_as(
                    "SELECT id, employee_id, descriptor, nonce FROM face_templates
                 WHERE model_id = $1 AND employee_id = ANY($2)",
                )
                .bind(model)
                .bind(ids)
                .fetch_all(conn)
                .await?
            }
            None => sqlx::query_as(
                "SELECT id, employee_id, descriptor, nonce FROM face_templates WHERE model_id = $1",
            )
            .bind(model)
            .fetch_all(conn)
            .await?,
        };
    rows.into_iter()
        .map(|(id, emp, ct, nonce)| {
            let d = state.cipher.open(id, emp, model, &ct, &nonce)?;
            Ok((id, emp, d))
        })
        .collect()
}

/// The caller's device is a personal device the employee may use.
pub async fn require_registered_device(state: &AppState, caller: &Caller) -> AppResult<()> {
    let ok: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM devices d WHERE d.id = $2 AND d.kind = 'personal' AND NOT d.blocked)
            AND (NOT EXISTS (SELECT 1 FROM employee_allowed_devices WHERE employee_id = $1)
                 OR EXISTS (SELECT 1 FROM employee_allowed_devices WHERE employee_id = $1 AND device_id = $2))",
    )
    .bind(caller.id)
    .bind(caller.device_id)
    .fetch_one(&state.db)
    .await?;
    if ok {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "device_not_allowed",
            "this device is not registered for this employee",
        ))
    }
}
