//! Check-in / check-out from the employee's own device, with server-side re-verification:
//! the handler reads the upload, checks consent and device, measures the frames, gathers the
//! evidence (challenge, face match, place, clock) and records the verdict of
//! [`judge_punch`] in the chain.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use faceid_face::detect::DetectorConfig;
use faceid_face::liveness::active::{self, ActiveConfig, HeadMovement};
use faceid_face::{Descriptor, Engine, ModelId};
use faceid_protocol::attendance::{CheckInEvidence, CheckInResponse, EVIDENCE_PART, SiteRef};
use faceid_protocol::consent::ConsentKind;
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use super::upload::Upload;
use crate::AppState;
use crate::attendance::chain::{
    ChainFields, begin_chain, insert_event, micros, punch_str, verdict_str,
};
use crate::attendance::measure::{Measured, face_match, measure};
use crate::attendance::policy::effective_policy;
use crate::attendance::replay;
use crate::attendance::sites::{employee_sites, nearest_site};
use crate::attendance::verdict::{self, Challenge, FaceMatch, Place, PunchEvidence, judge_punch};
use crate::auth::AuthUser;
use crate::consent::has_consent;
use crate::error::{AppError, AppResult};
use crate::extract::ApiMultipart;
use crate::face::blocking;
use crate::face_templates::{load_templates, require_registered_device};
use crate::idempotency;
use crate::liveness::{ChallengeError, consume_challenge};
use crate::validate::field_error;

/// The 409 detail of a key reused for another punch.
const KEY_REUSED: &str = "this idempotency key was used for a different punch";

fn parse_evidence(bytes: &[u8], now: DateTime<Utc>) -> AppResult<CheckInEvidence> {
    let ev: CheckInEvidence = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            AppError::bad_request("malformed_json", e.to_string())
        } else {
            AppError::field(EVIDENCE_PART, "invalid_body", e.to_string())
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
#[utoipa::path(post, path = "/api/v1/attendance/events", tag = "attendance", security(("bearer" = [])),
    request_body(content = inline(PunchForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "recorded, with the verdict", body = CheckInResponse),
        (status = 200, description = "the answer to an earlier request with this key", body = CheckInResponse),
        (status = 400, description = "`evidence_missing`, `best_frame_missing`, `malformed_json`, `challenge_unknown`, `challenge_expired`, `challenge_used`, `challenge_wrong_subject`", body = Problem),
        (status = 403, description = "`biometric_consent_required`, `device_not_allowed`", body = Problem),
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
    let upload = Upload::read(&mut mp).await?;
    let now = Utc::now();
    let ev = parse_evidence(&upload.evidence_bytes, now)?;
    stages.mark("upload");
    if !ev.challenge_frame_times_ms.is_empty()
        && ev.challenge_frame_times_ms.len() != upload.challenge.len()
    {
        return Err(AppError::field(
            "challenge_frame_times_ms",
            "count_mismatch",
            format!(
                "{} capture times for {} challenge frames",
                ev.challenge_frame_times_ms.len(),
                upload.challenge.len()
            ),
        ));
    }
    let req_hash = upload.request_hash();
    // Independent checks side by side: each is a database round trip.
    let (prior, device, consent) = tokio::join!(
        async {
            let mut conn = state.db.acquire().await?;
            let prior = replay::prior_of_employee(&mut conn, caller.id, ev.idempotency_key).await?;
            idempotency::replay::<CheckInResponse>(prior, &req_hash, KEY_REUSED)
        },
        require_registered_device(&state, &caller),
        has_consent(&state.db, caller.id, ConsentKind::Biometric),
    );
    stages.mark("checks");
    if let Some(r) = prior? {
        return Ok((StatusCode::OK, Json(r)).into_response());
    }
    device?;
    if !consent? {
        return Err(AppError::forbidden(
            "biometric_consent_required",
            "face check-in needs the employee's biometric consent",
        ));
    }
    let engine = state.face.get()?;
    if ev.challenge_nonce.is_some() && upload.challenge.is_empty() {
        return Err(AppError::bad_request(
            "challenge_frames_missing",
            "a challenge nonce was sent without challenge frames",
        ));
    }
    let model = engine
        .embedder(None)
        .map_err(AppError::internal)?
        .model_id();

    // Engine work (decoding included) while the read-only lookups run and the best frame is
    // written to the photo store; consent and device are checked before any face is
    // processed, and nothing is consumed or recorded before the frames are known to be usable
    // (the photo is deleted again when the punch is not recorded).
    let eng = engine.clone();
    let best = upload.best.clone();
    let challenge = upload.challenge.clone();
    let measuring = blocking(move || measure(&eng, &best, &challenge, &DetectorConfig::CHECK_IN));
    let lookups = async {
        let mut conn = state.db.acquire().await?;
        let sites = employee_sites(&mut conn, caller.id).await?;
        let nearest = ev
            .gps
            .as_ref()
            .and_then(|g| nearest_site(&sites, g.lat, g.lon, g.accuracy_m));
        let site_id = nearest.as_ref().map(|n| n.0).or(sites.first().map(|s| s.0));
        let policy = effective_policy(&mut conn, site_id).await?;
        let templates = load_templates(&state, &mut conn, &model.0, Some(&[caller.id])).await?;
        Ok::<_, AppError>((sites, nearest, policy, templates))
    };
    let photo = state.photos.put("evidence", upload.best.to_vec());
    let (measured, looked, photo_key) = tokio::join!(measuring, lookups, photo);
    stages.mark("engine");
    let photo_key = photo_key?;
    let outcome = async {
        let (sites, nearest, policy, templates) = looked?;
        if templates.is_empty() {
            return Err(AppError::conflict(
                "not_enrolled",
                "the employee has no enrolled face",
            ));
        }
        let measured = measured?;

        // The challenge, consumed only now (single use).
        let challenge = match &ev.challenge_nonce {
            Some(nonce) => check_challenge(&state, &engine, &caller, nonce, &ev, &measured).await?,
            None => Challenge::NotSent,
        };
        let (distance, threshold) =
            face_match(&engine, &measured.descriptor, &templates, &policy)?
                .ok_or_else(|| AppError::internal("no template matched the model"))?;
        let place = match (&ev.gps, &nearest) {
            (None, _) => Place::NoFix,
            (Some(g), None) => Place::NoSite {
                accuracy_m: g.accuracy_m,
                mock: g.mock,
            },
            (Some(g), Some((_, _, _, inside))) => Place::Near {
                inside: *inside,
                accuracy_m: g.accuracy_m,
                mock: g.mock,
            },
        };
        let (clock, occurred_at) = verdict::clock(&ev, now);
        let judgement = judge_punch(
            &PunchEvidence {
                challenge,
                face: FaceMatch {
                    distance,
                    threshold,
                    device_distance: device_distance(&engine, &ev, &measured)?,
                },
                live: measured.live,
                quality_problems: &measured.quality_problems,
                place,
                clock,
            },
            &policy,
        );

        let verdict = judgement.verdict();
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
            verdict,
            reasons: judgement.reasons().to_vec(),
            site: site.clone(),
            distance_m: nearest.as_ref().map(|n| n.2),
            face_distance: Some(distance),
            liveness_score: measured.liveness,
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
                punch_str(ev.kind),
                verdict_str(verdict),
                occurred_at,
                now,
            )
        };
        stages.mark("judge");
        // One transaction that holds the chain lock: the head and a concurrent request with
        // the same key (it may have won while we measured) in one round trip, then the row.
        let mut tx = begin_chain(&state.db).await?;
        let (head, prior) = replay::head_and_prior(&mut tx, caller.id, ev.idempotency_key).await?;
        if let Some(r) = idempotency::replay(prior, &req_hash, KEY_REUSED)? {
            return Ok((StatusCode::OK, r));
        }
        let body = serde_json::to_value(&response).map_err(AppError::internal)?;
        insert_event(
            &mut tx,
            ChainFields {
                prev_hash: head,
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

/// Consumes the challenge (single use) and checks the challenge frames against it: the head
/// movements, and that the challenge face is the best frame's face.
async fn check_challenge(
    state: &AppState,
    engine: &Engine,
    caller: &crate::auth::Caller,
    nonce: &str,
    ev: &CheckInEvidence,
    measured: &Measured,
) -> AppResult<Challenge> {
    let c = consume_challenge(&state.db, nonce, caller.id, caller.device_id)
        .await
        .map_err(|e| match e {
            ChallengeError::Db(e) => AppError::from(e),
            e => AppError::bad_request(e.code(), e.to_string()),
        })?;
    let issued = u64::try_from(c.created_at.timestamp_millis()).unwrap_or(0);
    let challenge = active::Challenge {
        nonce: c.nonce.clone(),
        actions: c.actions.iter().map(|&a| HeadMovement::from(a)).collect(),
        issued_at_ms: issued,
        expires_at_ms: u64::try_from(c.expires_at.timestamp_millis()).unwrap_or(0),
    };
    // Without capture times the order of the parts is the order of capture.
    let mut frames = measured.challenge_frames.clone();
    for (i, f) in frames.iter_mut().enumerate() {
        f.captured_at_ms = ev
            .challenge_frame_times_ms
            .get(i)
            .copied()
            .unwrap_or(issued + i as u64 + 1);
    }
    // The same-face rule across the challenge frames is the descriptors' model's calibrated
    // verification rule.
    let config = ActiveConfig::for_model(engine.manifest(), &measured.descriptor.model.0)
        .map_err(AppError::internal)?;
    let v = active::verify_challenge_at(
        &challenge,
        &frames,
        &config,
        u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0),
    );
    tracing::debug!(score = v.score, passed = v.passed, "challenge");
    if !v.passed {
        return Ok(Challenge::Failed);
    }
    if let Some(first) = frames.first().and_then(|f| f.descriptor.as_ref()) {
        // The challenge face must be the best frame's face.
        let same = engine
            .verify(first, &measured.descriptor)
            .map_err(AppError::internal)?;
        if !same.same {
            return Ok(Challenge::FaceMismatch);
        }
    }
    Ok(Challenge::Passed)
}

/// Distance between the descriptor the device sent (when of the server's model) and the
/// server's own.
fn device_distance(
    engine: &Engine,
    ev: &CheckInEvidence,
    measured: &Measured,
) -> AppResult<Option<f32>> {
    let Some(d) = &ev.descriptor else {
        return Ok(None);
    };
    if d.model != measured.descriptor.model.0 {
        return Ok(None);
    }
    let device = Descriptor {
        model: ModelId(d.model.clone()),
        values: d.values.clone(),
    };
    let v = engine
        .verify(&device, &measured.descriptor)
        .map_err(AppError::internal)?;
    Ok(Some(v.distance))
}
