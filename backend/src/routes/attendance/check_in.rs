//! Check-in / check-out from an employee's phone, re-verified on the server: the upload is
//! read, the employee's consent and device checked, the frames measured, the verdict judged
//! ([`crate::attendance::verdict`]) and the punch appended to the chain, once per idempotency
//! key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use faceid_face::{Descriptor, MeasureRules, ModelId};
use faceid_protocol::attendance::{
    ATTENDANCE_EVENTS_PATH, CheckInEvidence, CheckInResponse, EVIDENCE_PART, SiteRef,
};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::Problem;
use faceid_protocol::reason_code::ReasonCode;
use faceid_protocol::wire_text::WireText;
use uuid::Uuid;

use super::{measure_upload, read_upload, request_hash};
use crate::AppState;
use crate::attendance::chain::{ChainFields, begin_chain, insert_event, micros};
use crate::attendance::context::punch_context;
use crate::attendance::measure::{challenge_error, face_match, quality_reason, score_challenge};
use crate::attendance::place::nearest_site;
use crate::attendance::replay;
use crate::attendance::verdict::{
    self, Challenge, Clock, Evidence, FaceMatch, Fix, Place, Station,
};
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiMultipart, field_error};
use crate::idempotency;
use crate::liveness::why_unusable;
use crate::privacy::restriction::{self, Processing};

/// The detail of a 409 `idempotency_key_reused`.
const REUSED: &str = "this idempotency key was used for a different punch";

/// 403 `device_not_allowed`: the caller's device is not a personal device the employee may use
/// (as `face_templates::require_registered_device` answers).
fn device_not_allowed() -> AppError {
    AppError::forbidden(
        ErrorCode::DeviceNotAllowed,
        "this device is not registered for this employee",
    )
}

/// The evidence JSON of a punch, checked against the server's clock.
fn parse_evidence(bytes: &[u8], now: DateTime<Utc>) -> AppResult<CheckInEvidence> {
    let ev: CheckInEvidence = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            AppError::bad_request(ErrorCode::MalformedJson, e.to_string())
        } else {
            AppError::field(EVIDENCE_PART, FieldCode::InvalidBody, e.to_string())
        }
    })?;
    ev.validate(now)
        .map_err(|e| AppError::Validation(vec![field_error(&e)]))?;
    Ok(ev)
}

/// Time spent per stage of a request, logged at debug level (`RUST_LOG=faceid_server=debug`):
/// where a punch's latency goes.
struct Stages {
    start: std::time::Instant,
    last: std::time::Instant,
    marks: Vec<(&'static str, f64)>,
}

impl Stages {
    fn start() -> Self {
        let now = std::time::Instant::now();
        Self {
            start: now,
            last: now,
            marks: Vec::with_capacity(6),
        }
    }

    /// Ends the stage `name` now.
    fn mark(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.marks
            .push((name, (now - self.last).as_secs_f64() * 1000.0));
        self.last = now;
    }

    fn log(&self, what: &str) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let stages: Vec<String> = self
            .marks
            .iter()
            .map(|(n, ms)| format!("{n}={ms:.1}"))
            .collect();
        tracing::debug!(
            total_ms = self.start.elapsed().as_secs_f64() * 1000.0,
            stages = %stages.join(" "),
            "{what} timings (ms)"
        );
    }
}

/// `POST /api/v1/attendance/events`: form of the multipart body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PunchForm {
    /// JSON `CheckInEvidence`.
    evidence: String,
    #[schema(value_type = String, format = Binary)]
    best_frame: Vec<u8>,
    #[schema(value_type = Vec<String>, format = Binary)]
    challenge_frame: Vec<Vec<u8>>,
}

/// Check-in / check-out with server-side re-verification. The same idempotency key again
/// returns the same answer (200) and creates nothing; with a different payload it is 409.
#[utoipa::path(post, path = ATTENDANCE_EVENTS_PATH, tag = "attendance", security(("bearer" = [])),
    request_body(content = inline(PunchForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "recorded, with the verdict", body = CheckInResponse),
        (status = 200, description = "the answer to an earlier request with this key", body = CheckInResponse),
        (status = 400, description = "`evidence_missing`, `best_frame_missing`, `malformed_json`, `challenge_unknown`, `challenge_expired`, `challenge_used`, `challenge_wrong_subject`", body = Problem),
        (status = 403, description = "`biometric_consent_required`, `device_not_allowed`, `processing_restricted`", body = Problem),
        (status = 409, description = "`idempotency_key_reused`, `not_enrolled`", body = Problem),
        (status = 413, description = "`payload_too_large`", body = Problem),
        (status = 422, description = "invalid evidence fields, or an unusable frame (`not_an_image`, `image_corrupt`, `no_face`, `several_faces`, ...)", body = Problem),
        (status = 503, description = "`face_engine_unavailable`", body = Problem)))]
pub async fn check_in(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiMultipart(mut mp): ApiMultipart,
) -> AppResult<Response> {
    let mut stages = Stages::start();
    let upload = read_upload(&mut mp).await?;
    let now = Utc::now();
    let ev = parse_evidence(&upload.evidence_bytes, now)?;
    stages.mark("upload");
    if !ev.challenge_frame_times_ms.is_empty()
        && ev.challenge_frame_times_ms.len() != upload.challenge.len()
    {
        return Err(AppError::field(
            "challenge_frame_times_ms",
            FieldCode::CountMismatch,
            format!(
                "{} capture times for {} challenge frames",
                ev.challenge_frame_times_ms.len(),
                upload.challenge.len()
            ),
        ));
    }
    let req_hash = request_hash(&upload);
    // The engine's model decides which templates are read; without an engine the checks
    // below still answer first, as they always have.
    let engine = state.face.get();
    let model = engine
        .as_ref()
        .ok()
        .and_then(|e| e.embedder(None).ok())
        .map(|e| e.model_id());
    // Everything the punch reads before measuring, in one round trip.
    let ctx = punch_context(
        &state.db,
        caller.id,
        caller.device_id,
        ev.idempotency_key,
        model.as_ref().map(|m| m.0.as_str()),
    )
    .await?;
    stages.mark("checks");
    if let Some(r) = idempotency::replay::<CheckInResponse>(ctx.prior.clone(), &req_hash, REUSED)? {
        return Ok((StatusCode::OK, Json(r)).into_response());
    }
    if !ctx.device_allowed {
        return Err(device_not_allowed());
    }
    if !ctx.consent {
        return Err(AppError::forbidden(
            ErrorCode::BiometricConsentRequired,
            "face check-in needs the employee's biometric consent",
        ));
    }
    if ctx.restricted {
        return Err(restriction::restricted(Processing::Biometrics));
    }
    let engine = engine?;
    let model = engine
        .embedder(None)
        .map_err(AppError::internal)?
        .model_id();
    if ev.challenge_nonce.is_some() && upload.challenge.is_empty() {
        return Err(AppError::bad_request(
            ErrorCode::ChallengeFramesMissing,
            "a challenge nonce was sent without challenge frames",
        ));
    }

    // Engine work (decoding included) while the best frame is written to the photo store;
    // consent and device are checked before any face is processed, and nothing is consumed
    // or recorded before the frames are known to be usable (the photo is deleted again when
    // the punch is not recorded).
    let measuring = measure_upload(
        &state,
        &engine,
        &upload,
        &ev.challenge_frame_times_ms,
        MeasureRules::check_in(),
    );
    let photo = state.photos.put("evidence", upload.best.to_vec());
    let (measured, photo_key) = tokio::join!(measuring, photo);
    stages.mark("engine");
    let photo_key = photo_key?;
    let outcome = async {
        let sites = &ctx.sites;
        let nearest = ev
            .gps
            .as_ref()
            .and_then(|g| nearest_site(sites, g.lat, g.lon, g.accuracy_m));
        let site_id = nearest.as_ref().map(|n| n.0).or(sites.first().map(|s| s.0));
        let policy = ctx.policy(site_id)?;
        let templates = ctx.templates(&state, caller.id, &model.0)?;
        if templates.is_empty() {
            return Err(AppError::conflict(
                ErrorCode::NotEnrolled,
                "the employee has no enrolled face",
            ));
        }
        let mut measured = measured?;

        // One transaction that holds the chain lock: the head, a concurrent request with the
        // same key (it may have won while we measured) and the challenge, consumed only now
        // (single use), in one round trip; then the row.
        let mut tx = begin_chain(&state.db).await?;
        let nonce = ev.challenge_nonce.as_deref();
        let locked = replay::head_prior_and_challenge(
            &mut tx,
            caller.id,
            ev.idempotency_key,
            nonce,
            caller.device_id,
        )
        .await?;
        let challenge = match (nonce, &locked.challenge) {
            (None, _) => Challenge::NotSent,
            (Some(_), Some(c)) => score_challenge(&engine, &mut measured, c)?,
            (Some(n), None) => {
                let why = why_unusable(&mut *tx, n, Some(caller.id), caller.device_id).await;
                return Err(challenge_error(why));
            }
        };
        if let Some(r) = idempotency::replay(locked.prior, &req_hash, REUSED)? {
            return Ok((StatusCode::OK, r));
        }
        let (face_distance, threshold) =
            face_match(&engine, &measured.descriptor, &templates, &policy)?
                .ok_or_else(|| AppError::internal("no template matched the model"))?;
        let device_distance = match &ev.descriptor {
            Some(d) if d.model == measured.descriptor.model.0 => {
                let device = Descriptor {
                    model: ModelId(d.model.clone()),
                    values: d.values.clone(),
                };
                let v = engine
                    .verify(&device, &measured.descriptor)
                    .map_err(AppError::internal)?;
                Some(v.distance)
            }
            _ => None,
        };
        let judged = verdict::judge(
            &Evidence {
                station: Station::Phone,
                challenge,
                face: Some(FaceMatch {
                    distance: face_distance,
                    threshold,
                    device_distance,
                }),
                live: measured.live(),
                quality: measured.quality.iter().map(quality_reason).collect(),
                place: Some(Place {
                    fix: ev.gps.as_ref().map(|g| Fix {
                        accuracy_m: g.accuracy_m,
                        mock: g.mock,
                    }),
                    inside_site: nearest.as_ref().map(|n| n.3),
                }),
                clock: Some(Clock {
                    device_time: ev.clock.device_time,
                    estimated_server_time: ev.clock.estimated_server_time(),
                }),
                now,
            },
            &policy,
        );

        let site = nearest
            .as_ref()
            .map(|(id, name, _, _)| SiteRef {
                id: *id,
                name: name.clone(),
            })
            .or_else(|| {
                sites.first().map(|(id, name, _)| SiteRef {
                    id: *id,
                    name: name.clone(),
                })
            });
        let response = CheckInResponse {
            event_id: Uuid::now_v7(),
            verdict: judged.verdict,
            reasons: ReasonCode::texts(&judged.reasons),
            site: site.clone(),
            distance_m: nearest.as_ref().map(|n| n.2),
            face_distance: Some(face_distance),
            liveness_score: measured.passive.as_ref().map(|p| p.score),
            server_time: micros(now),
        };
        let fields = ChainFields {
            device_id: Some(caller.device_id),
            site_id: site.as_ref().map(|s| s.id),
            reasons: response.reasons.clone(),
            idempotency_key: Some(ev.idempotency_key),
            lat: ev.gps.as_ref().map(|g| g.lat),
            lon: ev.gps.as_ref().map(|g| g.lon),
            accuracy_m: ev.gps.as_ref().map(|g| g.accuracy_m),
            distance_m: response.distance_m,
            face_distance: response.face_distance,
            liveness_score: response.liveness_score,
            photo_key: Some(photo_key.clone()),
            ..ChainFields::blank(
                response.event_id,
                caller.id,
                ev.kind.wire_text(),
                judged.verdict.wire_text(),
                judged.occurred_at,
                now,
            )
        };
        stages.mark("judge");
        let body = serde_json::to_value(&response).map_err(AppError::internal)?;
        insert_event(
            &mut tx,
            ChainFields {
                prev_hash: locked.head,
                ..fields
            },
            Some(req_hash.as_slice()),
            Some(&body),
        )
        .await?;
        tx.commit().await?;
        stages.mark("store");
        Ok((StatusCode::CREATED, response))
    }
    .await;
    stages.log("check-in");
    match outcome {
        Ok((status, r)) => {
            if status == StatusCode::OK {
                state.photos.delete_all(&[photo_key]).await;
            }
            tracing::info!(employee = %caller.id, verdict = ?r.verdict, reasons = ?r.reasons, "punch");
            Ok((status, Json(r)).into_response())
        }
        Err(e) => {
            state.photos.delete_all(&[photo_key]).await;
            Err(e)
        }
    }
}
