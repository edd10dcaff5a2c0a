//! Face enrolment: 1–5 photos per request, each run through the engine (one face, quality,
//! passive liveness, descriptor), a 1:N duplicate search among other employees, then the
//! templates stored encrypted and the photos in the photo store. The handlers are in
//! `routes::face_templates`.

use faceid_face::{Descriptor, Engine, MeasureRules};
use faceid_protocol::consent::ConsentKind;
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::FieldError;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::consent::has_consent;
use crate::error::{AppError, AppResult};
use crate::face::{self, MAX_ENROL_PHOTOS, PhotoRefusal};
use crate::privacy::restriction::{Processing, require_unrestricted};

pub use faceid_protocol::face::{FaceTemplate, PHOTO_PART};

/// Requires the employee's biometric consent.
pub async fn require_biometric_consent(state: &AppState, employee: Uuid) -> AppResult<()> {
    if has_consent(&state.db, employee, ConsentKind::Biometric).await? {
        Ok(())
    } else {
        Err(AppError::forbidden(
            ErrorCode::BiometricConsentRequired,
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

/// Whether the employee's biometric consent stands, read after locking the employee's row, so
/// that a template written in the same transaction cannot race a consent withdrawal.
pub(crate) async fn consent_stands_locked(
    conn: &mut PgConnection,
    employee: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query("SELECT 1 FROM employees WHERE id = $1 FOR UPDATE")
        .bind(employee)
        .execute(&mut *conn)
        .await?;
    let still: Option<String> = sqlx::query_scalar(
        "SELECT action FROM consent_records WHERE employee_id = $1 AND kind = 'biometric' ORDER BY id DESC LIMIT 1",
    )
    .bind(employee)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(still.as_deref() == Some("grant"))
}

/// Enrols `employee` from 1–5 photos (parts named [`PHOTO_PART`]): each through the engine, a
/// 1:N duplicate search among other employees, then the templates stored encrypted and the
/// photos in the photo store; nothing is stored unless every photo is accepted.
pub async fn enrol(
    state: &AppState,
    caller: &Caller,
    employee: Uuid,
    photos: Vec<axum::body::Bytes>,
) -> AppResult<Vec<FaceTemplate>> {
    if photos.is_empty() || photos.len() > MAX_ENROL_PHOTOS {
        return Err(AppError::bad_request(
            ErrorCode::PhotoCount,
            format!(
                "1 to {MAX_ENROL_PHOTOS} parts named `{PHOTO_PART}` are needed, got {}",
                photos.len()
            ),
        ));
    }
    require_biometric_consent(state, employee).await?;
    require_unrestricted(&state.db, employee, Processing::Biometrics).await?;
    let engine = state.face.get()?;
    let batch = photos.clone();
    let eng = engine.clone();
    type Outcome = Result<(Descriptor, f32), PhotoRefusal>;
    let frames: Vec<&[u8]> = photos.iter().map(|b| &b[..]).collect();
    let results: Vec<Outcome> = face::measure_blocking(state, &frames, move || {
        Ok(batch
            .iter()
            .map(|b| analyse_enrolment(&eng, b))
            .collect::<Vec<_>>())
    })
    .await?;
    let refused: Vec<FieldError> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| e.field(format!("photo[{i}]"))))
        .collect();
    if !refused.is_empty() {
        return Err(AppError::Refused {
            code: ErrorCode::EnrolmentRefused,
            detail: format!(
                "{} of {} photos cannot be enrolled",
                refused.len(),
                results.len()
            ),
            errors: refused,
        });
    }
    let accepted: Vec<(Descriptor, f32)> = results.into_iter().filter_map(Result::ok).collect();
    let model = accepted[0].0.model.0.clone();

    // 1:N among other employees.
    let (_, threshold, _) = engine
        .match_params(&accepted[0].0.model)
        .map_err(AppError::internal)?;
    let mut conn = state.db.acquire().await?;
    let others: Vec<(Uuid, Uuid, Descriptor)> = load_templates(state, &mut conn, &model, None)
        .await?
        .into_iter()
        .filter(|(_, e, _)| *e != employee)
        .collect();
    drop(conn);
    let mut best: Option<(Uuid, f32)> = None;
    for (d, _) in &accepted {
        for (_, other, t) in &others {
            let v = engine.verify(d, t).map_err(AppError::internal)?;
            if v.same && best.is_none_or(|(_, b)| v.distance < b) {
                best = Some((*other, v.distance));
            }
        }
    }
    if let Some((other, distance)) = best {
        #[derive(Serialize)]
        struct Dup {
            matched_employee: Uuid,
            distance: f32,
            threshold: f32,
        }
        let mut tx = state.db.begin().await?;
        audit::record(
            &mut tx,
            caller,
            "face_template.duplicate_refused",
            "employee",
            Some(employee),
            audit::NONE,
            Some(&Dup {
                matched_employee: other,
                distance,
                threshold,
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(%employee, %other, distance, "enrolment refused: possible duplicate");
        return Err(AppError::conflict(
            ErrorCode::PossibleDuplicate,
            "these photos match another employee's enrolled face",
        ));
    }

    // Photos first (random keys); rows in one transaction; photos removed if it fails.
    let mut keys = Vec::new();
    for p in &photos {
        match state.photos.put("enrolment", p.to_vec()).await {
            Ok(k) => keys.push(k),
            Err(e) => {
                state.photos.delete_all(&keys).await;
                return Err(e);
            }
        }
    }
    let stored = async {
        let mut tx = state.db.begin().await?;
        if !consent_stands_locked(&mut tx, employee).await? {
            return Err(AppError::forbidden(
                ErrorCode::BiometricConsentRequired,
                "the employee has not given biometric consent",
            ));
        }
        let mut out = Vec::new();
        for ((d, quality), key) in accepted.iter().zip(&keys) {
            let id = Uuid::now_v7();
            let (ct, nonce) = state.cipher.seal(id, employee, d)?;
            let t: FaceTemplate = sqlx::query_as(
                "INSERT INTO face_templates (id, employee_id, model_id, descriptor, nonce, photo_key, quality)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 RETURNING id, employee_id, model_id, quality, photo_key IS NOT NULL AS has_photo, created_at",
            )
            .bind(id)
            .bind(employee)
            .bind(&d.model.0)
            .bind(ct)
            .bind(nonce)
            .bind(key)
            .bind(quality)
            .fetch_one(&mut *tx)
            .await?;
            out.push(t);
        }
        crate::hikvision::sync::employee_changed(&mut tx, employee).await?;
        audit::record(
            &mut tx,
            caller,
            "face_template.enrol",
            "employee",
            Some(employee),
            audit::NONE,
            Some(&out),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>(out)
    }
    .await;
    if stored.is_err() {
        state.photos.delete_all(&keys).await;
    }
    stored
}

/// One enrolment photo through the engine as enrolment takes it (also re-enrolment).
pub(crate) fn analyse_enrolment(
    engine: &Engine,
    bytes: &[u8],
) -> Result<(Descriptor, f32), PhotoRefusal> {
    let a = face::analyse(engine, bytes, &MeasureRules::enrol())?;
    if let Some(q) = a.quality.first() {
        return Err(PhotoRefusal {
            code: face::quality_codes(q).1,
            message: q.hint().to_owned(),
        });
    }
    if !a.live() {
        return Err(PhotoRefusal {
            code: FieldCode::LivenessFailed,
            message: format!(
                "passive liveness score {:.2} is below the threshold",
                a.passive.as_ref().map_or(0.0, |p| p.score)
            ),
        });
    }
    Ok((a.descriptor, a.face.score))
}

/// An employee's templates (metadata only).
pub async fn list(state: &AppState, employee: Uuid) -> AppResult<Vec<FaceTemplate>> {
    Ok(sqlx::query_as(
        "SELECT id, employee_id, model_id, quality, photo_key IS NOT NULL AS has_photo, created_at
         FROM face_templates WHERE employee_id = $1 ORDER BY created_at, id",
    )
    .bind(employee)
    .fetch_all(&state.db)
    .await?)
}

/// Deletes one of an employee's templates and its photo, audited.
pub async fn delete_one(
    state: &AppState,
    caller: &Caller,
    employee: Uuid,
    id: Uuid,
) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let key: Option<Option<String>> = sqlx::query_scalar(
        "DELETE FROM face_templates WHERE id = $1 AND employee_id = $2 RETURNING photo_key",
    )
    .bind(id)
    .bind(employee)
    .fetch_optional(&mut *tx)
    .await?;
    let key = key.ok_or(AppError::not_found("face template"))?;
    crate::hikvision::sync::employee_changed(&mut tx, employee).await?;
    audit::record(
        &mut tx,
        caller,
        "face_template.delete",
        "employee",
        Some(employee),
        Some(&id),
        audit::NONE,
    )
    .await?;
    tx.commit().await?;
    if let Some(k) = key {
        state.photos.delete_all(&[k]).await;
    }
    Ok(())
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
            ErrorCode::DeviceNotAllowed,
            "this device is not registered for this employee",
        ))
    }
}
