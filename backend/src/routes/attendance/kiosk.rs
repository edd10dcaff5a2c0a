//! Kiosk identification: 1:N among the employees of the kiosk's site, then the punch.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use faceid_face::detect::DetectorConfig;
use faceid_protocol::attendance::{
    CHALLENGE_FRAME_PART, CheckInResponse, EVIDENCE_PART, PunchKind, SiteRef,
};
use faceid_protocol::consent::ConsentKind;
use faceid_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, PgConnection};
use uuid::Uuid;

use super::upload::Upload;
use crate::AppState;
use crate::attendance::chain::{
    ChainFields, append_locked, begin_chain, micros, punch_str, verdict_str,
};
use crate::attendance::measure::measure;
use crate::attendance::policy::effective_policy;
use crate::attendance::replay;
use crate::attendance::verdict::judge_kiosk;
use crate::auth::Kiosk;
use crate::consent;
use crate::error::{AppError, AppResult};
use crate::extract::ApiMultipart;
use crate::face::blocking;
use crate::face_templates::load_templates;
use crate::idempotency;

/// JSON part of a kiosk identification.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskEvidence {
    pub idempotency_key: Uuid,
    /// `in` or `out` as chosen on the kiosk; absent: toggled from the employee's last punch.
    #[serde(default)]
    pub kind: Option<PunchKind>,
}

/// Answer of a kiosk identification.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KioskAnswer {
    /// `match` or `unknown`.
    pub decision: String,
    /// Why unknown: `empty_gallery`, `above_threshold`, `ambiguous`.
    pub reason: Option<String>,
    pub employee_id: Option<Uuid>,
    pub employee_name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub event: Option<CheckInResponse>,
}

/// Multipart form of a kiosk identification.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct KioskForm {
    /// JSON `KioskEvidence`.
    evidence: String,
    #[schema(value_type = String, format = Binary)]
    best_frame: Vec<u8>,
}

/// Identifies the person in front of a kiosk 1:N among the employees of the kiosk's site and
/// records their punch; "unknown" below the threshold or without margin over the second best.
#[utoipa::path(post, path = "/api/v1/kiosk/identify", tag = "attendance", security(("bearer" = [])),
    request_body(content = inline(KioskForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "identified (with the event) or unknown", body = KioskAnswer),
        (status = 409, description = "`kiosk_without_site`", body = Problem),
        (status = 422, description = "an unusable frame (`no_face`, `not_an_image`, ...), or `challenge_frames_not_accepted`", body = Problem),
        (status = 503, description = "`face_engine_unavailable`", body = Problem)))]
pub async fn kiosk_identify(
    State(state): State<AppState>,
    Kiosk(kiosk): Kiosk,
    ApiMultipart(mut mp): ApiMultipart,
) -> AppResult<Json<KioskAnswer>> {
    let upload = Upload::read(&mut mp).await?;
    let ev: KioskEvidence = serde_json::from_slice(&upload.evidence_bytes)
        .map_err(|e| AppError::field(EVIDENCE_PART, "invalid_body", e.to_string()))?;
    // A kiosk has no challenge to check frames against (challenges are issued to an
    // employee's own device before the punch, and the kiosk learns who it is only by
    // identifying): frames that would be ignored are refused rather than silently accepted.
    if !upload.challenge.is_empty() {
        let message =
            "a kiosk identification takes one best frame; challenge frames are for phone punches";
        return Err(AppError::Refused {
            code: "challenge_frames_not_accepted",
            detail: message.into(),
            errors: vec![faceid_protocol::problem::FieldError {
                field: CHALLENGE_FRAME_PART.into(),
                code: "challenge_frames_not_accepted".into(),
                message: message.into(),
            }],
        });
    }
    let engine = state.face.get()?;
    let mut conn = state.db.acquire().await?;
    let site: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT s.id, s.name FROM devices d JOIN sites s ON s.id = d.site_id WHERE d.id = $1",
    )
    .bind(kiosk.device_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (site_id, site_name) = site.ok_or_else(|| {
        AppError::conflict("kiosk_without_site", "this kiosk is not assigned to a site")
    })?;
    let req_hash = upload.request_hash();
    // A retry: the same answer.
    let prior = replay::prior_of_device(&mut conn, kiosk.device_id, ev.idempotency_key).await?;
    if let Some(answer) = idempotency::replay(
        prior,
        &req_hash,
        "this idempotency key was used for a different request",
    )? {
        return Ok(Json(answer));
    }
    let employees = site_employees_with_consent(&mut conn, site_id).await?;
    let names: HashMap<Uuid, String> = employees.iter().cloned().collect();
    let ids: Vec<Uuid> = employees.iter().map(|e| e.0).collect();
    let model = engine
        .embedder(None)
        .map_err(AppError::internal)?
        .model_id();
    let templates = load_templates(&state, &mut conn, &model.0, Some(&ids)).await?;
    let policy = effective_policy(&mut conn, Some(site_id)).await?;
    drop(conn);
    let eng = engine.clone();
    let best = upload.best.clone();
    let measuring = blocking(move || measure(&eng, &best, &[], &DetectorConfig::ENROL));
    let (measured, photo_key) = tokio::join!(
        measuring,
        state.photos.put("evidence", upload.best.to_vec())
    );
    let photo_key = photo_key?;
    let answer = async {
        let measured = measured?;
        let (metric, model_threshold, margin) =
            engine.match_params(&model).map_err(AppError::internal)?;
        let threshold = policy.face_threshold.unwrap_or(model_threshold);
        let mut gallery = faceid_face::Gallery::with_capacity(
            model.clone(),
            metric,
            measured.descriptor.values.len(),
            templates.len(),
        );
        for (_, emp, d) in &templates {
            gallery
                .add(&emp.to_string(), d)
                .map_err(AppError::internal)?;
        }
        let id = gallery
            .identify(&measured.descriptor, threshold, margin)
            .map_err(AppError::internal)?;
        let person = match &id.decision {
            faceid_face::Decision::Unknown { reason } => {
                let reason = serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned));
                return Ok((
                    KioskAnswer {
                        decision: "unknown".into(),
                        reason,
                        employee_id: None,
                        employee_name: None,
                        event: None,
                    },
                    false,
                ));
            }
            faceid_face::Decision::Match { person } => {
                Uuid::parse_str(person).map_err(AppError::internal)?
            }
        };
        let judgement = judge_kiosk(measured.live, &measured.quality_problems);
        let now = Utc::now();
        let verdict = judgement.verdict();
        let face_distance = id.best.as_ref().map(|b| b.distance);
        let event = CheckInResponse {
            event_id: Uuid::now_v7(),
            verdict,
            reasons: judgement.reasons().to_vec(),
            site: Some(SiteRef {
                id: site_id,
                name: site_name.clone(),
            }),
            distance_m: None,
            face_distance,
            liveness_score: measured.liveness,
            server_time: micros(now),
        };
        let answer = KioskAnswer {
            decision: "match".into(),
            reason: None,
            employee_id: Some(person),
            employee_name: names.get(&person).cloned(),
            event: Some(event.clone()),
        };
        let mut tx = begin_chain(&state.db).await?;
        let kind = match ev.kind {
            Some(k) => k,
            None => toggled_kind(&mut tx, person).await?,
        };
        let body = serde_json::to_value(&answer).map_err(AppError::internal)?;
        append_locked(
            &mut tx,
            ChainFields {
                device_id: Some(kiosk.device_id),
                site_id: Some(site_id),
                reasons: event.reasons.clone(),
                idempotency_key: Some(ev.idempotency_key),
                face_distance,
                liveness_score: measured.liveness,
                photo_key: Some(photo_key.clone()),
                ..ChainFields::blank(
                    event.event_id,
                    person,
                    punch_str(kind),
                    verdict_str(verdict),
                    now,
                    now,
                )
            },
            Some(req_hash.as_slice()),
            Some(&body),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>((answer, true))
    }
    .await;
    // The photo stays only with a recorded event.
    if !matches!(answer, Ok((_, true))) {
        state.photos.delete_all(&[photo_key]).await;
    }
    Ok(Json(answer?.0))
}

/// Active employees of the site with biometric consent: (id, full name).
async fn site_employees_with_consent(
    conn: &mut PgConnection,
    site: Uuid,
) -> AppResult<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT e.id, e.first_name || ' ' || e.last_name FROM employees e
         JOIN employee_sites es ON es.employee_id = e.id AND es.site_id = $1
         WHERE e.status = 'active' AND {}",
        consent::granted("e.id", ConsentKind::Biometric)
    )))
    .bind(site)
    .fetch_all(conn)
    .await?)
}

/// Without a chosen kind: `out` after an `in` that still counts, else `in`.
async fn toggled_kind(conn: &mut PgConnection, employee: Uuid) -> AppResult<PunchKind> {
    let last: Option<String> = sqlx::query_scalar(
        "SELECT kind FROM attendance_punches WHERE employee_id = $1
         AND status NOT IN ('rejected', 'flagged_rejected', 'superseded')
         ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(employee)
    .fetch_optional(conn)
    .await?;
    Ok(if last.as_deref() == Some("in") {
        PunchKind::Out
    } else {
        PunchKind::In
    })
}
