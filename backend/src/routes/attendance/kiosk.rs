//! The kiosk at the door: its liveness challenge, and 1:N identification among the employees
//! of its site with the punch recorded (see [`crate::kiosk`] for why a kiosk's challenge
//! flags rather than rejects).

use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::kiosk::{
    KIOSK_CHALLENGES_PATH, KIOSK_IDENTIFY_PATH, KioskAnswer, KioskEvidence,
};
use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use faceid_face::MeasureRules;
use faceid_protocol::attendance::{CheckInResponse, EVIDENCE_PART, PunchKind, SiteRef};
use faceid_protocol::liveness::LivenessChallenge;
use faceid_protocol::problem::Problem;
use faceid_protocol::reason_code::ReasonCode;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{measure_upload, read_upload, request_hash};
use crate::AppState;
use crate::attendance::chain::{ChainFields, append_locked, begin_chain, micros};
use crate::attendance::measure::{answer_challenge, quality_reason};
use crate::attendance::policy::effective_policy;
use crate::attendance::replay::{self, KeyOwner};
use crate::attendance::verdict::{self, Evidence, Station};
use crate::auth::Kiosk;
use crate::error::{AppError, AppResult};
use crate::extract::ApiMultipart;
use crate::face_templates::load_templates;
use crate::idempotency;
use crate::kiosk::check_challenge_parts;
use crate::liveness;
use faceid_protocol::wire_text::WireText;

/// The detail of a 409 `idempotency_key_reused`.
const REUSED: &str = "this idempotency key was used for a different request";

/// Issues a head-movement challenge to the calling kiosk: 2–3 movements, valid for two
/// minutes, usable once, and only by this kiosk's `/kiosk/identify`.
#[utoipa::path(post, path = KIOSK_CHALLENGES_PATH, tag = "attendance", security(("bearer" = [])),
    responses(
        (status = 201, description = "issued", body = LivenessChallenge),
        (status = 403, description = "`forbidden`: not a kiosk credential", body = Problem)))]
pub async fn create_challenge(
    State(state): State<AppState>,
    Kiosk(kiosk): Kiosk,
) -> AppResult<(StatusCode, Json<LivenessChallenge>)> {
    let c = liveness::issue_kiosk(&state.db, kiosk.device_id).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Multipart form of a kiosk identification.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct KioskForm {
    /// JSON `KioskEvidence`.
    evidence: String,
    #[schema(value_type = String, format = Binary)]
    best_frame: Vec<u8>,
    /// The frames of the kiosk challenge, in capture order.
    #[schema(value_type = Vec<String>, format = Binary)]
    challenge_frame: Vec<Vec<u8>>,
}

/// Identifies the person in front of a kiosk 1:N among the employees of the kiosk's site and
/// records their punch; "unknown" below the threshold or without margin over the second best.
/// The kiosk's head-movement challenge is scored like a phone's; a missing (under the
/// `passive+challenge` policy) or failed one flags the punch for review rather than
/// rejecting it (see `crate::kiosk`).
#[utoipa::path(post, path = KIOSK_IDENTIFY_PATH, tag = "attendance", security(("bearer" = [])),
    request_body(content = inline(KioskForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "identified (with the event) or unknown", body = KioskAnswer),
        (status = 400, description = "`challenge_unknown`, `challenge_expired`, `challenge_used`, `challenge_wrong_subject` (another kiosk's or an employee's challenge), `challenge_frames_missing`", body = Problem),
        (status = 409, description = "`kiosk_without_site`", body = Problem),
        (status = 422, description = "an unusable frame (`no_face`, `not_an_image`, ...), `challenge_nonce_missing`, or capture times that do not match the frames", body = Problem),
        (status = 503, description = "`face_engine_unavailable`", body = Problem)))]
pub async fn kiosk_identify(
    State(state): State<AppState>,
    Kiosk(kiosk): Kiosk,
    ApiMultipart(mut mp): ApiMultipart,
) -> AppResult<Json<KioskAnswer>> {
    let upload = read_upload(&mut mp).await?;
    let ev: KioskEvidence = serde_json::from_slice(&upload.evidence_bytes)
        .map_err(|e| AppError::field(EVIDENCE_PART, FieldCode::InvalidBody, e.to_string()))?;
    check_challenge_parts(
        ev.challenge_nonce.as_deref(),
        &ev.challenge_frame_times_ms,
        upload.challenge.len(),
    )?;
    let engine = state.face.get()?;
    let mut conn = state.db.acquire().await?;
    let site: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT s.id, s.name FROM devices d JOIN sites s ON s.id = d.site_id WHERE d.id = $1",
    )
    .bind(kiosk.device_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (site_id, site_name) = site.ok_or_else(|| {
        AppError::conflict(
            ErrorCode::KioskWithoutSite,
            "this kiosk is not assigned to a site",
        )
    })?;
    let req_hash = request_hash(&upload);
    // A retry: the same answer.
    let owner = KeyOwner::Device(kiosk.device_id);
    let prior = replay::prior(&mut conn, owner, ev.idempotency_key).await?;
    if let Some(answer) = idempotency::replay(prior, &req_hash, REUSED)? {
        return Ok(Json(answer));
    }
    // Employees of the site with biometric consent.
    let employees: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT e.id, e.first_name || ' ' || e.last_name FROM employees e
         JOIN employee_sites es ON es.employee_id = e.id AND es.site_id = $1
         WHERE e.status = 'active'
           AND (SELECT action FROM consent_records c WHERE c.employee_id = e.id AND c.kind = 'biometric'
                ORDER BY c.id DESC LIMIT 1) = 'grant'
           AND NOT EXISTS (SELECT 1 FROM processing_restrictions r
                            WHERE r.employee_id = e.id AND r.kind = 'biometrics')",
    )
    .bind(site_id)
    .fetch_all(&mut *conn)
    .await?;
    let names: HashMap<Uuid, String> = employees.iter().cloned().collect();
    let ids: Vec<Uuid> = employees.iter().map(|e| e.0).collect();
    let model = engine
        .embedder(None)
        .map_err(AppError::internal)?
        .model_id();
    let templates = load_templates(&state, &mut conn, &model.0, Some(&ids)).await?;
    let policy = effective_policy(&mut conn, Some(site_id)).await?;
    drop(conn);
    let measuring = measure_upload(
        &state,
        &engine,
        &upload,
        &ev.challenge_frame_times_ms,
        MeasureRules::enrol(),
    );
    let (measured, photo_key) = tokio::join!(
        measuring,
        state.photos.put("evidence", upload.best.to_vec())
    );
    let photo_key = photo_key?;
    let answer = async {
        let mut measured = measured?;
        // The challenge, consumed once the frames are known to be usable (single use).
        let challenge = answer_challenge(
            &state.db,
            &engine,
            &mut measured,
            ev.challenge_nonce.as_deref(),
            None,
            kiosk.device_id,
        )
        .await?;
        let (metric, model_threshold, margin) =
            engine.match_params(&model).map_err(AppError::internal)?;
        let threshold =
            crate::attendance::measure::face_threshold(&policy, metric, model_threshold);
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
        let face_distance = id.best.as_ref().map(|b| b.distance);
        let now = Utc::now();
        let judged = verdict::judge(
            &Evidence {
                station: Station::Kiosk,
                challenge,
                face: None,
                live: measured.live(),
                quality: measured.quality.iter().map(quality_reason).collect(),
                place: None,
                clock: None,
                now,
            },
            &policy,
        );
        let stored = async {
            let mut tx = begin_chain(&state.db).await?;
            let kind = match ev.kind {
                Some(k) => k,
                None => toggled_kind(&mut tx, person).await?,
            };
            let event = CheckInResponse {
                event_id: Uuid::now_v7(),
                verdict: judged.verdict,
                reasons: ReasonCode::texts(&judged.reasons),
                site: Some(SiteRef {
                    id: site_id,
                    name: site_name.clone(),
                }),
                distance_m: None,
                face_distance,
                liveness_score: measured.passive.as_ref().map(|p| p.score),
                server_time: micros(now),
            };
            let answer = KioskAnswer {
                decision: "match".into(),
                reason: None,
                employee_id: Some(person),
                employee_name: names.get(&person).cloned(),
                event: Some(event.clone()),
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
                    liveness_score: measured.passive.as_ref().map(|p| p.score),
                    photo_key: Some(photo_key.clone()),
                    ..ChainFields::blank(
                        event.event_id,
                        person,
                        kind.wire_text(),
                        judged.verdict.wire_text(),
                        judged.occurred_at,
                        now,
                    )
                },
                Some(req_hash.as_slice()),
                Some(&body),
            )
            .await?;
            tx.commit().await?;
            Ok::<_, AppError>(answer)
        }
        .await?;
        Ok::<_, AppError>((stored, true))
    }
    .await;
    // The photo stays only with a recorded event.
    if !matches!(answer, Ok((_, true))) {
        state.photos.delete_all(&[photo_key]).await;
    }
    Ok(Json(answer?.0))
}

/// The kind of a kiosk punch that did not choose one: `out` after the employee's last standing
/// `in`, else `in`.
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
