//! Check-in / check-out with server-side re-verification, the hash-chained attendance log,
//! reviews and corrections, listings, the attendance policy and kiosk identification.
//!
//! # Hash chain
//! Events are appended under `pg_advisory_xact_lock(hashtext('attendance_chain'))`, so each
//! new row reads the true last hash and the chain cannot fork. Each row stores `prev_hash`
//! (32 zero bytes for the first row) and `hash` = SHA-256 of its canonical form
//! ([`ChainFields::canonical`]): the UTF-8 text `faceid-attendance-v1` followed by one line
//! per field, `name=value`, in a fixed order, with `-` for NULL, UUIDs hyphenated lower case,
//! times as integer microseconds since the Unix epoch, floats in Rust's shortest round-trip
//! form, text fields JSON-encoded, reasons joined with `,`, and `prev_hash` in lower-case hex.
//! `request_hash` and `response` (idempotency bookkeeping) are not part of it. Changing,
//! inserting or deleting a row breaks either that row's hash or the next row's `prev_hash`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use faceid_face::measure::{FrameRole, TimedFrame};
use faceid_face::{Descriptor, Engine, MeasureRules, Measurement, ModelId};
use faceid_protocol::attendance::{
    AttendanceRecord, BEST_FRAME_PART, CHALLENGE_FRAME_PART, CheckInEvidence, CheckInResponse,
    EVIDENCE_PART, EventKind, MAX_CHALLENGE_FRAMES, PunchKind, PunchStatus, ReviewDecision,
    SiteRef, Verdict,
};
use faceid_protocol::consent::ConsentKind;
use faceid_protocol::problem::Problem;
use faceid_protocol::sites::Geofence;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::check_employee_scope;
use crate::auth::{Admin, AuthUser, Caller, Kiosk, Staff};
use crate::consent::has_consent;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiMultipart, ApiPath, ApiQuery};
use crate::face::{self, PhotoRefusal};
use crate::face_templates::{load_templates, require_registered_device};
use crate::liveness::{ChallengeError, consume_challenge};
use crate::privacy::restriction::{self, Processing};
use crate::routes::Paging;

// ---------------------------------------------------------------------------------------------
// Policy

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
    fn validate(&self) -> AppResult<()> {
        let mut check = crate::routes::Check::default();
        if let Some(t) = self.face_threshold
            && !(t.is_finite() && t > 0.0 && t <= 2.0)
        {
            check.add("face_threshold", "out_of_range", "must be within (0, 2]");
        }
        if !(self.max_gps_accuracy_m.is_finite()
            && (1.0..=10_000.0).contains(&self.max_gps_accuracy_m))
        {
            check.add(
                "max_gps_accuracy_m",
                "out_of_range",
                "must be within 1..=10000",
            );
        }
        if !(60..=30 * 86_400).contains(&self.max_offline_delay_s) {
            check.add(
                "max_offline_delay_s",
                "out_of_range",
                "must be within 60..=2592000",
            );
        }
        check.finish()
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

async fn put_policy(
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

/// The global attendance policy.
#[utoipa::path(get, path = "/api/v1/settings/attendance-policy", tag = "attendance", security(("bearer" = [])),
    responses((status = 200, description = "policy", body = AttendancePolicy)))]
pub async fn get_global_policy(
    State(state): State<AppState>,
    Staff(_): Staff,
) -> AppResult<Json<AttendancePolicy>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(effective_policy(&mut conn, None).await?))
}

/// Replaces the global attendance policy.
#[utoipa::path(put, path = "/api/v1/settings/attendance-policy", tag = "attendance", security(("bearer" = [])),
    request_body = AttendancePolicy,
    responses((status = 200, description = "stored", body = AttendancePolicy),
              (status = 422, description = "invalid policy", body = Problem)))]
pub async fn put_global_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(p): ApiJson<AttendancePolicy>,
) -> AppResult<Json<AttendancePolicy>> {
    put_policy(&state, &caller, "global", &p).await?;
    Ok(Json(p))
}

async fn site_exists(state: &AppState, id: Uuid) -> AppResult<()> {
    let ok: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sites WHERE id = $1)")
        .bind(id)
        .fetch_one(&state.db)
        .await?;
    if ok {
        Ok(())
    } else {
        Err(AppError::not_found("site"))
    }
}

/// The policy in force at a site (its override, else the global policy).
#[utoipa::path(get, path = "/api/v1/sites/{id}/attendance-policy", tag = "attendance", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "site id")),
    responses((status = 200, description = "policy", body = AttendancePolicy),
              (status = 404, description = "no such site", body = Problem)))]
pub async fn get_site_policy(
    State(state): State<AppState>,
    Staff(_): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<AttendancePolicy>> {
    site_exists(&state, id).await?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(effective_policy(&mut conn, Some(id)).await?))
}

/// Sets a site's override of the attendance policy.
#[utoipa::path(put, path = "/api/v1/sites/{id}/attendance-policy", tag = "attendance", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "site id")),
    request_body = AttendancePolicy,
    responses((status = 200, description = "stored", body = AttendancePolicy),
              (status = 404, description = "no such site", body = Problem),
              (status = 422, description = "invalid policy", body = Problem)))]
pub async fn put_site_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(p): ApiJson<AttendancePolicy>,
) -> AppResult<Json<AttendancePolicy>> {
    site_exists(&state, id).await?;
    put_policy(&state, &caller, &id.to_string(), &p).await?;
    Ok(Json(p))
}

// ---------------------------------------------------------------------------------------------
// Hash chain

/// Every hashed field of an event row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChainFields {
    pub public_id: Uuid,
    pub employee_id: Uuid,
    pub device_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    pub kind: String,
    pub punch_kind: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub verdict: String,
    pub reasons: Vec<String>,
    pub decision: Option<String>,
    pub comment: Option<String>,
    pub refers_to: Option<i64>,
    pub actor_id: Option<Uuid>,
    pub idempotency_key: Option<Uuid>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub distance_m: Option<f64>,
    pub face_distance: Option<f32>,
    pub liveness_score: Option<f32>,
    pub photo_key: Option<String>,
    pub prev_hash: Vec<u8>,
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

fn json_text(v: &Option<String>) -> String {
    v.as_ref().map_or_else(
        || "-".to_owned(),
        |s| serde_json::to_string(s).unwrap_or_default(),
    )
}

impl ChainFields {
    /// An event with only its identity, kind, verdict and times; every other field empty.
    pub fn blank(
        public_id: Uuid,
        employee_id: Uuid,
        kind: &str,
        verdict: &str,
        occurred_at: DateTime<Utc>,
        received_at: DateTime<Utc>,
    ) -> Self {
        Self {
            public_id,
            employee_id,
            device_id: None,
            site_id: None,
            kind: kind.to_owned(),
            punch_kind: None,
            occurred_at,
            received_at,
            verdict: verdict.to_owned(),
            reasons: Vec::new(),
            decision: None,
            comment: None,
            refers_to: None,
            actor_id: None,
            idempotency_key: None,
            lat: None,
            lon: None,
            accuracy_m: None,
            distance_m: None,
            face_distance: None,
            liveness_score: None,
            photo_key: None,
            prev_hash: Vec::new(),
        }
    }

    /// The canonical form that is hashed (see the module docs).
    pub fn canonical(&self) -> String {
        let lines = [
            "faceid-attendance-v1".to_owned(),
            format!("public_id={}", self.public_id),
            format!("employee_id={}", self.employee_id),
            format!("device_id={}", opt(&self.device_id)),
            format!("site_id={}", opt(&self.site_id)),
            format!("kind={}", self.kind),
            format!("punch_kind={}", opt(&self.punch_kind)),
            format!("occurred_at={}", self.occurred_at.timestamp_micros()),
            format!("received_at={}", self.received_at.timestamp_micros()),
            format!("verdict={}", self.verdict),
            format!("reasons={}", self.reasons.join(",")),
            format!("decision={}", opt(&self.decision)),
            format!("comment={}", json_text(&self.comment)),
            format!("refers_to={}", opt(&self.refers_to)),
            format!("actor_id={}", opt(&self.actor_id)),
            format!("idempotency_key={}", opt(&self.idempotency_key)),
            format!("lat={}", opt(&self.lat)),
            format!("lon={}", opt(&self.lon)),
            format!("accuracy_m={}", opt(&self.accuracy_m)),
            format!("distance_m={}", opt(&self.distance_m)),
            format!("face_distance={}", opt(&self.face_distance)),
            format!("liveness_score={}", opt(&self.liveness_score)),
            format!("photo_key={}", json_text(&self.photo_key)),
            format!("prev_hash={}", hex::encode(&self.prev_hash)),
        ];
        lines.join("\n")
    }

    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.canonical().as_bytes()).to_vec()
    }
}

/// Rounds to what PostgreSQL stores (microseconds).
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

const CHAIN_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('attendance_chain'))";

/// Takes the chain lock for the rest of `conn`'s transaction.
async fn lock_chain(conn: &mut PgConnection) -> AppResult<()> {
    sqlx::query(CHAIN_LOCK).execute(conn).await?;
    Ok(())
}

/// A transaction that holds the chain lock: `BEGIN` and the lock in one round trip (one
/// simple-protocol message), since a punch pays every round trip after the engine.
async fn begin_chain(pool: &sqlx::PgPool) -> AppResult<sqlx::Transaction<'static, Postgres>> {
    const BEGIN_AND_LOCK: &str =
        "BEGIN; SELECT pg_advisory_xact_lock(hashtext('attendance_chain'))";
    Ok(pool.begin_with(BEGIN_AND_LOCK).await?)
}

/// The hash of the last event (32 zero bytes for an empty chain).
async fn chain_head(conn: &mut PgConnection) -> AppResult<Vec<u8>> {
    let prev: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT hash FROM attendance_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(conn)
            .await?;
    Ok(prev.unwrap_or_else(|| vec![0; 32]))
}

/// Appends an event to the chain inside `conn`'s transaction; returns its row id.
/// `prev_hash` of `fields` is filled in here, under the chain lock.
pub async fn append(
    conn: &mut PgConnection,
    fields: ChainFields,
    request_hash: Option<&[u8]>,
    response: Option<&serde_json::Value>,
) -> AppResult<i64> {
    lock_chain(conn).await?;
    append_locked(conn, fields, request_hash, response).await
}

/// [`append`] for a transaction that already holds the chain lock.
async fn append_locked(
    conn: &mut PgConnection,
    mut fields: ChainFields,
    request_hash: Option<&[u8]>,
    response: Option<&serde_json::Value>,
) -> AppResult<i64> {
    fields.prev_hash = chain_head(&mut *conn).await?;
    insert_event(conn, fields, request_hash, response).await
}

/// Inserts an event whose `prev_hash` is already the chain head (chain lock held).
async fn insert_event(
    conn: &mut PgConnection,
    mut fields: ChainFields,
    request_hash: Option<&[u8]>,
    response: Option<&serde_json::Value>,
) -> AppResult<i64> {
    fields.occurred_at = micros(fields.occurred_at);
    fields.received_at = micros(fields.received_at);
    let hash = fields.hash();
    let f = &fields;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO attendance_events (public_id, employee_id, device_id, site_id, kind, punch_kind,
            occurred_at, received_at, verdict, reasons, decision, comment, refers_to, actor_id,
            idempotency_key, request_hash, response, lat, lon, accuracy_m, distance_m, face_distance,
            liveness_score, photo_key, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21, $22, $23, $24, $25, $26)
         RETURNING id",
    )
    .bind(f.public_id)
    .bind(f.employee_id)
    .bind(f.device_id)
    .bind(f.site_id)
    .bind(&f.kind)
    .bind(&f.punch_kind)
    .bind(f.occurred_at)
    .bind(f.received_at)
    .bind(&f.verdict)
    .bind(&f.reasons)
    .bind(&f.decision)
    .bind(&f.comment)
    .bind(f.refers_to)
    .bind(f.actor_id)
    .bind(f.idempotency_key)
    .bind(request_hash)
    .bind(response)
    .bind(f.lat)
    .bind(f.lon)
    .bind(f.accuracy_m)
    .bind(f.distance_m)
    .bind(f.face_distance)
    .bind(f.liveness_score)
    .bind(&f.photo_key)
    .bind(&f.prev_hash)
    .bind(&hash)
    .fetch_one(&mut *conn)
    .await?;
    crate::metrics::punch_recorded(&f.kind, &f.verdict, &f.reasons);
    // A device punch notifies in the same transaction (a job, so it survives a crash).
    if matches!(f.kind.as_str(), "in" | "out") {
        crate::telegram::notify::punch_recorded(conn, f.public_id).await?;
    }
    Ok(id)
}

/// Appends several events in order within one transaction: the chain lock and the head are
/// read once, and each event links to the one appended before it (a terminal's page of
/// passes, where per-event locking would cost two round trips a punch).
pub struct ChainAppender {
    head: Vec<u8>,
}

impl ChainAppender {
    /// Takes the chain lock for the rest of `conn`'s transaction and reads the head.
    pub async fn lock(conn: &mut PgConnection) -> AppResult<Self> {
        lock_chain(&mut *conn).await?;
        Ok(Self {
            head: chain_head(conn).await?,
        })
    }

    /// Appends an event after the last one; returns its row id.
    pub async fn append(&mut self, conn: &mut PgConnection, fields: ChainFields) -> AppResult<i64> {
        let fields = ChainFields {
            prev_hash: std::mem::take(&mut self.head),
            ..fields
        };
        // The hash covers microseconds only, so it is the stored row's hash.
        let next = fields.hash();
        let id = insert_event(conn, fields, None, None).await?;
        self.head = next;
        Ok(id)
    }
}

/// Answer of the chain verification.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainVerification {
    pub ok: bool,
    /// Events in the chain.
    pub length: i64,
    /// The first event whose hash or link does not match.
    pub first_broken_event: Option<Uuid>,
}

const CHAIN_COLUMNS: &str = "public_id, employee_id, device_id, site_id, kind, punch_kind,
    occurred_at, received_at, verdict, reasons, decision, comment, refers_to, actor_id,
    idempotency_key, lat, lon, accuracy_m, distance_m, face_distance, liveness_score, photo_key,
    prev_hash";

/// Recomputes every hash and link of the chain, in order, in pages.
pub async fn verify_chain(pool: &sqlx::PgPool) -> AppResult<ChainVerification> {
    let mut last_id = 0i64;
    let mut prev = vec![0u8; 32];
    let mut length = 0i64;
    loop {
        let page: Vec<ChainRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, hash, {CHAIN_COLUMNS} FROM attendance_events WHERE id > $1 ORDER BY id LIMIT 5000"
        )))
        .bind(last_id)
        .fetch_all(pool)
        .await?;
        if page.is_empty() {
            break;
        }
        for r in page {
            length += 1;
            last_id = r.id;
            if r.fields.prev_hash != prev || r.fields.hash() != r.hash {
                return Ok(ChainVerification {
                    ok: false,
                    length: count_events(pool).await?,
                    first_broken_event: Some(r.fields.public_id),
                });
            }
            prev = r.hash;
        }
    }
    Ok(ChainVerification {
        ok: true,
        length,
        first_broken_event: None,
    })
}

async fn count_events(pool: &sqlx::PgPool) -> AppResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM attendance_events")
        .fetch_one(pool)
        .await?)
}

#[derive(sqlx::FromRow)]
struct ChainRow {
    id: i64,
    hash: Vec<u8>,
    #[sqlx(flatten)]
    fields: ChainFields,
}

/// Verifies the whole attendance chain.
#[utoipa::path(get, path = "/api/v1/attendance/chain/verify", tag = "attendance", security(("bearer" = [])),
    responses((status = 200, description = "verification", body = ChainVerification)))]
pub async fn chain_verify(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> AppResult<Json<ChainVerification>> {
    Ok(Json(verify_chain(&state.db).await?))
}

// ---------------------------------------------------------------------------------------------
// Re-verification

fn refusal_error(part: &str, r: PhotoRefusal) -> AppError {
    AppError::Refused {
        code: r.code,
        detail: format!("{part}: {}", r.message),
        errors: vec![r.field(part.to_owned())],
    }
}

/// Runs the shared check-in measurement (the phone's, see `faceid_face::measure`) on the best
/// frame and the challenge frames; the challenge is scored once consumed
/// ([`Measurement::score_challenge`]).
pub fn measure(
    engine: &Engine,
    best: &[u8],
    challenge: &[axum::body::Bytes],
    times_ms: &[u64],
    rules: &MeasureRules,
) -> AppResult<Measurement> {
    let frames: Vec<TimedFrame<'_>> = challenge
        .iter()
        .enumerate()
        .map(|(i, bytes)| TimedFrame {
            bytes,
            captured_at_ms: times_ms.get(i).copied(),
        })
        .collect();
    faceid_face::measure(engine, best, &frames, None, rules).map_err(|e| {
        let part = match e.frame() {
            Some(FrameRole::Challenge(i)) => format!("{CHALLENGE_FRAME_PART}[{i}]"),
            _ => BEST_FRAME_PART.to_owned(),
        };
        refusal_error(&part, face::refusal(&e))
    })
}

/// The nearest site of the employee for a fix: (site, distance from the site in metres,
/// inside allowing for accuracy). Circle: distance to the centre, inside when
/// distance − accuracy ≤ radius. Polygon: distance to the polygon (0 inside), inside when
/// distance − accuracy ≤ 0.
pub fn nearest_site(
    sites: &[(Uuid, String, Geofence)],
    lat: f64,
    lon: f64,
    accuracy: f64,
) -> Option<(Uuid, String, f64, bool)> {
    use geo::{Contains, Distance, Euclidean, Haversine, Point, Polygon};
    let mut best: Option<(Uuid, String, f64, bool, f64)> = None;
    for (id, name, g) in sites {
        let (distance, excess) = match g {
            Geofence::Circle {
                latitude,
                longitude,
                radius_m,
            } => {
                let d = Haversine.distance(Point::new(lon, lat), Point::new(*longitude, *latitude));
                (d, d - accuracy - radius_m)
            }
            Geofence::Polygon { coordinates } => {
                let Some(ring) = coordinates.first() else {
                    continue;
                };
                // Local equirectangular projection around the fix, in metres.
                let k = lat.to_radians().cos() * 111_320.0;
                let proj = |lo: f64, la: f64| ((lo - lon) * k, (la - lat) * 110_540.0);
                let poly =
                    Polygon::new(ring.iter().map(|[lo, la]| proj(*lo, *la)).collect(), vec![]);
                let p = Point::new(0.0, 0.0);
                let d = if poly.contains(&p) {
                    0.0
                } else {
                    Euclidean.distance(&p, &poly)
                };
                (d, d - accuracy)
            }
        };
        if best.as_ref().is_none_or(|b| excess < b.4) {
            best = Some((*id, name.clone(), distance, excess <= 0.0, excess));
        }
    }
    best.map(|(id, name, d, inside, _)| (id, name, d, inside))
}

async fn employee_sites(
    conn: &mut PgConnection,
    employee: Uuid,
) -> AppResult<Vec<(Uuid, String, Geofence)>> {
    let rows: Vec<(Uuid, String, serde_json::Value)> = sqlx::query_as(
        "SELECT s.id, s.name, s.geofence FROM sites s JOIN employee_sites es ON es.site_id = s.id
         WHERE es.employee_id = $1 AND s.active ORDER BY s.name",
    )
    .bind(employee)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, name, g)| {
            let g: Geofence = serde_json::from_value(g).map_err(AppError::internal)?;
            Ok((id, name, g))
        })
        .collect()
}

/// Collects reasons; a rejecting reason wins over flags.
#[derive(Default)]
struct Judgement {
    reject: Vec<String>,
    flag: Vec<String>,
}

impl Judgement {
    fn verdict(&self) -> Verdict {
        if !self.reject.is_empty() {
            Verdict::Rejected
        } else if !self.flag.is_empty() {
            Verdict::Flagged
        } else {
            Verdict::Verified
        }
    }
    fn reasons(&self) -> Vec<String> {
        self.reject.iter().chain(&self.flag).cloned().collect()
    }
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Verified => "verified",
        Verdict::Flagged => "flagged",
        Verdict::Rejected => "rejected",
    }
}

fn punch_str(k: PunchKind) -> &'static str {
    match k {
        PunchKind::In => "in",
        PunchKind::Out => "out",
    }
}

/// The multipart parts of a punch.
struct Upload {
    evidence_bytes: Vec<u8>,
    best: axum::body::Bytes,
    challenge: Vec<axum::body::Bytes>,
}

async fn read_upload(mp: &mut axum::extract::Multipart) -> AppResult<Upload> {
    let parts = face::read_parts(mp, MAX_CHALLENGE_FRAMES + 2).await?;
    let mut evidence = None;
    let mut best = None;
    let mut challenge = Vec::new();
    for p in parts {
        match p.name.as_str() {
            EVIDENCE_PART if evidence.is_none() => evidence = Some(p.bytes.to_vec()),
            BEST_FRAME_PART if best.is_none() => best = Some(p.bytes),
            CHALLENGE_FRAME_PART => challenge.push(p.bytes),
            other => {
                return Err(AppError::bad_request(
                    "unexpected_part",
                    format!("unexpected or repeated part {other:?}"),
                ));
            }
        }
    }
    if let Some(bytes) = &evidence {
        crate::extract::check_json(bytes, EVIDENCE_PART)?;
    }
    Ok(Upload {
        evidence_bytes: evidence.ok_or_else(|| {
            AppError::bad_request("evidence_missing", "the `evidence` JSON part is missing")
        })?,
        best: best.ok_or_else(|| {
            AppError::bad_request("best_frame_missing", "the `best_frame` part is missing")
        })?,
        challenge,
    })
}

fn parse_evidence(bytes: &[u8], now: DateTime<Utc>) -> AppResult<CheckInEvidence> {
    let ev: CheckInEvidence = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            AppError::bad_request("malformed_json", e.to_string())
        } else {
            AppError::field(EVIDENCE_PART, "invalid_body", e.to_string())
        }
    })?;
    ev.validate(now)
        .map_err(|e| AppError::Validation(vec![crate::locations::field_error(&e)]))?;
    Ok(ev)
}

/// SHA-256 over the evidence JSON and every image part (length-prefixed), to tell a retry
/// from a different request with the same idempotency key.
fn request_hash(u: &Upload) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in std::iter::once(&u.evidence_bytes[..])
        .chain(std::iter::once(&u.best[..]))
        .chain(u.challenge.iter().map(|b| &b[..]))
    {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().to_vec()
}

/// What an earlier request with the same idempotency key left: its request hash and answer.
type PriorRow = (Option<Vec<u8>>, Option<serde_json::Value>);

/// The stored answer for an idempotency key: `Some` when it exists with the same payload,
/// 409 with a different one.
fn replay_answer(row: Option<PriorRow>, hash: &[u8]) -> AppResult<Option<CheckInResponse>> {
    match row {
        None => Ok(None),
        Some((Some(h), Some(resp))) if h == hash => Ok(Some(
            serde_json::from_value(resp).map_err(AppError::internal)?,
        )),
        Some(_) => Err(AppError::conflict(
            "idempotency_key_reused",
            "this idempotency key was used for a different punch",
        )),
    }
}

/// [`replay_answer`] for the employee's key, read from the log.
async fn replay(
    conn: &mut PgConnection,
    employee: Uuid,
    key: Uuid,
    hash: &[u8],
) -> AppResult<Option<CheckInResponse>> {
    let row: Option<PriorRow> = sqlx::query_as(
        "SELECT request_hash, response FROM attendance_events WHERE employee_id = $1 AND idempotency_key = $2",
    )
    .bind(employee)
    .bind(key)
    .fetch_optional(conn)
    .await?;
    replay_answer(row, hash)
}

/// Under the chain lock, in one round trip: the chain head and what an earlier request with
/// this key left, if any.
async fn head_and_prior(
    conn: &mut PgConnection,
    employee: Uuid,
    key: Uuid,
) -> AppResult<(Vec<u8>, Option<PriorRow>)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        head: Option<Vec<u8>>,
        found: bool,
        request_hash: Option<Vec<u8>>,
        response: Option<serde_json::Value>,
    }
    let r: Row = sqlx::query_as(
        "SELECT (SELECT hash FROM attendance_events ORDER BY id DESC LIMIT 1) AS head,
                r.found IS NOT NULL AS found, r.request_hash, r.response
           FROM (SELECT 1) one
           LEFT JOIN (SELECT true AS found, request_hash, response FROM attendance_events
                       WHERE employee_id = $1 AND idempotency_key = $2) r ON true",
    )
    .bind(employee)
    .bind(key)
    .fetch_one(conn)
    .await?;
    Ok((
        r.head.unwrap_or_else(|| vec![0; 32]),
        r.found.then_some((r.request_hash, r.response)),
    ))
}

/// Face match of a measured descriptor against the employee's templates: the smallest
/// distance, and the threshold used.
fn face_match(
    engine: &Engine,
    probe: &Descriptor,
    templates: &[(Uuid, Uuid, Descriptor)],
    policy: &AttendancePolicy,
) -> AppResult<Option<(f32, f32)>> {
    let (_, model_threshold, _) = engine
        .match_params(&probe.model)
        .map_err(AppError::internal)?;
    let threshold = policy.face_threshold.unwrap_or(model_threshold);
    let mut best: Option<f32> = None;
    for (_, _, t) in templates {
        let v = engine.verify(probe, t).map_err(AppError::internal)?;
        best = Some(best.map_or(v.distance, |b: f32| b.min(v.distance)));
    }
    Ok(best.map(|d| (d, threshold)))
}

/// Time plausibility: the moment the punch counts for, and a flag when implausible.
fn judge_time(
    ev: &CheckInEvidence,
    now: DateTime<Utc>,
    policy: &AttendancePolicy,
    j: &mut Judgement,
) -> DateTime<Utc> {
    let device = ev.clock.device_time;
    let delay = now - device;
    if delay <= chrono::Duration::seconds(120) {
        // Online (or nearly): the server's clock is the truth.
        return now;
    }
    let plausible = ev
        .clock
        .estimated_server_time()
        .is_some_and(|est| (est - device).num_seconds().abs() <= 120 && est <= now);
    if !plausible {
        j.flag.push("clock_implausible".into());
        return now;
    }
    if delay.num_seconds() > policy.max_offline_delay_s {
        j.flag.push("offline_too_long".into());
    }
    device
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
            "count_mismatch",
            format!(
                "{} capture times for {} challenge frames",
                ev.challenge_frame_times_ms.len(),
                upload.challenge.len()
            ),
        ));
    }
    let req_hash = request_hash(&upload);
    // Independent checks side by side: each is a database round trip.
    let (prior, device, consent, restricted) = tokio::join!(
        async {
            let mut conn = state.db.acquire().await?;
            replay(&mut conn, caller.id, ev.idempotency_key, &req_hash).await
        },
        require_registered_device(&state, &caller),
        has_consent(&state.db, caller.id, ConsentKind::Biometric),
        restriction::is_restricted(&state.db, caller.id, Processing::Biometrics),
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
    if restricted? {
        return Err(restriction::restricted(Processing::Biometrics));
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
    let times = ev.challenge_frame_times_ms.clone();
    let frames: Vec<&[u8]> = std::iter::once(&upload.best[..])
        .chain(upload.challenge.iter().map(|b| &b[..]))
        .collect();
    let measuring = face::measure_blocking(&state, &frames, move || {
        measure(&eng, &best, &challenge, &times, &MeasureRules::check_in())
    });
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
        let mut measured = measured?;

        // The challenge, consumed only now (single use).
        let mut j = Judgement::default();
        match &ev.challenge_nonce {
            Some(nonce) => {
                let c = consume_challenge(&state.db, nonce, caller.id, caller.device_id)
                    .await
                    .map_err(|e| match e {
                        ChallengeError::Db(e) => AppError::from(e),
                        e => AppError::bad_request(e.code(), e.to_string()),
                    })?;
                if let Some(reason) = crate::liveness::score(&engine, &mut measured, &c)
                    .map_err(AppError::internal)?
                {
                    j.reject.push(reason.into());
                }
            }
            None => {
                if policy.liveness_mode == LivenessMode::PassiveChallenge {
                    j.flag.push("challenge_missing".into());
                }
            }
        }

        // Face.
        let (face_distance, threshold) =
            face_match(&engine, &measured.descriptor, &templates, &policy)?
                .ok_or_else(|| AppError::internal("no template matched the model"))?;
        if face_distance > threshold {
            j.reject.push("face_mismatch".into());
        }
        if let Some(d) = &ev.descriptor
            && d.model == measured.descriptor.model.0
        {
            let device = Descriptor {
                model: ModelId(d.model.clone()),
                values: d.values.clone(),
            };
            let v = engine
                .verify(&device, &measured.descriptor)
                .map_err(AppError::internal)?;
            if v.distance > threshold {
                j.flag.push("device_descriptor_mismatch".into());
            }
        }
        if !measured.live() {
            j.reject.push("liveness_failed".into());
        }
        for q in measured.quality.iter().map(|q| q.code()) {
            if q != "off_centre" {
                j.flag.push(format!("quality_{q}"));
            }
        }

        // Place.
        match (&ev.gps, &nearest) {
            (None, _) => {
                if policy.geofence_required {
                    j.reject.push("no_location".into());
                } else {
                    j.flag.push("no_location".into());
                }
            }
            (Some(_), None) => {
                if policy.geofence_required {
                    j.reject.push("no_site".into());
                } else {
                    j.flag.push("no_site".into());
                }
            }
            (Some(_), Some((_, _, _, inside))) => {
                if !inside {
                    if policy.geofence_required {
                        j.reject.push("outside_geofence".into());
                    } else {
                        j.flag.push("outside_geofence".into());
                    }
                }
            }
        }
        if let Some(g) = &ev.gps {
            if g.accuracy_m > policy.max_gps_accuracy_m {
                j.flag.push("accuracy_too_low".into());
            }
            if g.mock {
                j.flag.push("mock_location".into());
            }
        }

        // Time.
        let occurred_at = judge_time(&ev, now, &policy, &mut j);

        let verdict = j.verdict();
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
            reasons: j.reasons(),
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
        let (head, prior) = head_and_prior(&mut tx, caller.id, ev.idempotency_key).await?;
        if let Some(r) = replay_answer(prior, &req_hash)? {
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

// ---------------------------------------------------------------------------------------------
// Review and correction

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `accept` or `reject` of a flagged punch.
    pub decision: ReviewDecision,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A punch entered by an administrator or operator: replaces `replaces` when given, or adds a
/// missing punch.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    pub employee_id: Uuid,
    pub kind: PunchKind,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub site_id: Option<Uuid>,
    #[serde(default)]
    pub replaces: Option<Uuid>,
    pub comment: String,
}

/// An event of the attendance log as stored (text columns); answered as the protocol's
/// [`AttendanceRecord`], which owns the wire shape.
#[derive(Debug, Clone, sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    employee_id: Uuid,
    device_id: Option<Uuid>,
    site_id: Option<Uuid>,
    kind: String,
    punch_kind: Option<String>,
    occurred_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    verdict: String,
    reasons: Vec<String>,
    decision: Option<String>,
    comment: Option<String>,
    refers_to: Option<Uuid>,
    actor_id: Option<Uuid>,
    lat: Option<f64>,
    lon: Option<f64>,
    accuracy_m: Option<f64>,
    distance_m: Option<f64>,
    face_distance: Option<f32>,
    liveness_score: Option<f32>,
    has_photo: bool,
    status: Option<String>,
}

/// A stored code read back into a protocol enum (its serde name); a code the enum does not
/// know is a server fault, not a silently different record.
fn stored_code<T: serde::de::DeserializeOwned>(column: &str, code: &str) -> AppResult<T> {
    serde_json::from_value(serde_json::Value::String(code.to_owned()))
        .map_err(|_| AppError::internal(format!("attendance_events.{column}: unknown {code:?}")))
}

fn stored_opt<T: serde::de::DeserializeOwned>(
    column: &str,
    code: Option<&str>,
) -> AppResult<Option<T>> {
    code.map(|c| stored_code(column, c)).transpose()
}

impl TryFrom<EventRow> for AttendanceRecord {
    type Error = AppError;

    fn try_from(r: EventRow) -> AppResult<Self> {
        Ok(Self {
            kind: stored_code::<EventKind>("kind", &r.kind)?,
            punch_kind: stored_opt::<PunchKind>("punch_kind", r.punch_kind.as_deref())?,
            verdict: stored_code::<Verdict>("verdict", &r.verdict)?,
            decision: stored_opt::<ReviewDecision>("decision", r.decision.as_deref())?,
            status: stored_opt::<PunchStatus>("status", r.status.as_deref())?,
            id: r.id,
            employee_id: r.employee_id,
            device_id: r.device_id,
            site_id: r.site_id,
            occurred_at: r.occurred_at,
            received_at: r.received_at,
            reasons: r.reasons,
            comment: r.comment,
            refers_to: r.refers_to,
            actor_id: r.actor_id,
            lat: r.lat,
            lon: r.lon,
            accuracy_m: r.accuracy_m,
            distance_m: r.distance_m,
            face_distance: r.face_distance,
            liveness_score: r.liveness_score,
            has_photo: r.has_photo,
        })
    }
}

fn records(rows: Vec<EventRow>) -> AppResult<Vec<AttendanceRecord>> {
    rows.into_iter().map(AttendanceRecord::try_from).collect()
}

const EVENT_SELECT: &str =
    "SELECT e.public_id AS id, e.employee_id, e.device_id, e.site_id, e.kind,
    e.punch_kind, e.occurred_at, e.received_at, e.verdict, e.reasons, e.decision, e.comment,
    r.public_id AS refers_to, e.actor_id, e.lat, e.lon, e.accuracy_m, e.distance_m,
    e.face_distance, e.liveness_score, (e.photo_key IS NOT NULL AND e.photo_erased_at IS NULL) AS has_photo, p.status
    FROM attendance_events e
    JOIN employees emp ON emp.id = e.employee_id
    LEFT JOIN attendance_events r ON r.id = e.refers_to
    LEFT JOIN attendance_punches p ON p.id = e.id
    WHERE true";

async fn load_event(conn: &mut PgConnection, id: Uuid) -> AppResult<AttendanceRecord> {
    let row: EventRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{EVENT_SELECT} AND e.public_id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::not_found("attendance event"))?;
    row.try_into()
}

fn check_comment(c: Option<&str>) -> AppResult<Option<String>> {
    let mut check = crate::routes::Check::default();
    let c = check.opt_text("comment", c, 2000);
    check.finish()?;
    Ok(c)
}

/// Accepts or rejects a flagged punch; the review is a new event referring to it.
#[utoipa::path(post, path = "/api/v1/attendance/events/{id}/review", tag = "attendance", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "event id")),
    request_body = ReviewRequest,
    responses(
        (status = 201, description = "the review event", body = AttendanceRecord),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such event", body = Problem),
        (status = 409, description = "`not_flagged`: only flagged punches are reviewed", body = Problem)))]
pub async fn review(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> AppResult<(StatusCode, Json<AttendanceRecord>)> {
    let comment = check_comment(req.comment.as_deref())?;
    let mut tx = state.db.begin().await?;
    let row: Option<(i64, Uuid, Option<Uuid>, String, String)> = sqlx::query_as(
        "SELECT id, employee_id, site_id, kind, verdict FROM attendance_events WHERE public_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (row_id, employee, site, kind, verdict) =
        row.ok_or(AppError::not_found("attendance event"))?;
    check_employee_scope(&mut tx, &caller, employee).await?;
    if !matches!(kind.as_str(), "in" | "out") || verdict != "flagged" {
        return Err(AppError::conflict(
            "not_flagged",
            "only flagged punches can be reviewed",
        ));
    }
    let decision = match req.decision {
        ReviewDecision::Accept => "accept",
        ReviewDecision::Reject => "reject",
    };
    let now = Utc::now();
    let fields = ChainFields {
        site_id: site,
        decision: Some(decision.into()),
        comment,
        refers_to: Some(row_id),
        ..ChainFields::blank(
            Uuid::now_v7(),
            employee,
            "review",
            if decision == "accept" {
                "verified"
            } else {
                "rejected"
            },
            now,
            now,
        )
    };
    append_staff_event(
        tx,
        &caller,
        fields,
        "attendance.review",
        "attendance_event",
        id,
    )
    .await
}

/// Appends an event entered by staff (a review or a correction) as `caller`, audits it
/// against `entity`, commits, and answers 201 with the event as listed.
async fn append_staff_event(
    mut tx: sqlx::Transaction<'_, Postgres>,
    caller: &Caller,
    mut fields: ChainFields,
    action: &str,
    entity: &str,
    entity_id: Uuid,
) -> AppResult<(StatusCode, Json<AttendanceRecord>)> {
    fields.actor_id = Some(caller.id);
    let public_id = fields.public_id;
    append(&mut tx, fields, None, None).await?;
    let ev = load_event(&mut tx, public_id).await?;
    audit::record(
        &mut tx,
        caller,
        action,
        entity,
        Some(entity_id),
        audit::NONE,
        Some(&ev),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(ev)))
}

/// Enters a punch by hand (replacing one, or adding a missing one). A new event; nothing is
/// changed.
#[utoipa::path(post, path = "/api/v1/attendance/corrections", tag = "attendance", security(("bearer" = [])),
    request_body = CorrectionRequest,
    responses(
        (status = 201, description = "the correction event", body = AttendanceRecord),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee or event", body = Problem),
        (status = 409, description = "`wrong_employee`: the replaced punch is another employee's", body = Problem)))]
pub async fn correct(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(req): ApiJson<CorrectionRequest>,
) -> AppResult<(StatusCode, Json<AttendanceRecord>)> {
    let comment = check_comment(Some(&req.comment))?
        .ok_or_else(|| AppError::field("comment", "required", "a correction needs a comment"))?;
    let mut tx = state.db.begin().await?;
    check_employee_scope(&mut tx, &caller, req.employee_id).await?;
    let refers_to = match req.replaces {
        None => None,
        Some(pid) => {
            let (rid, emp): (i64, Uuid) = sqlx::query_as(
                "SELECT id, employee_id FROM attendance_events WHERE public_id = $1 AND kind IN ('in','out','correction')",
            )
            .bind(pid)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AppError::not_found("attendance event"))?;
            if emp != req.employee_id {
                return Err(AppError::conflict(
                    "wrong_employee",
                    "the replaced punch belongs to another employee",
                ));
            }
            Some(rid)
        }
    };
    if let Some(s) = req.site_id {
        site_exists(&state, s).await?;
    }
    let fields = ChainFields {
        site_id: req.site_id,
        punch_kind: Some(punch_str(req.kind).into()),
        comment: Some(comment),
        refers_to,
        ..ChainFields::blank(
            Uuid::now_v7(),
            req.employee_id,
            "correction",
            "verified",
            req.at,
            Utc::now(),
        )
    };
    append_staff_event(
        tx,
        &caller,
        fields,
        "attendance.correction",
        "employee",
        req.employee_id,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Listing

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub employee: Option<Uuid>,
    pub site: Option<Uuid>,
    /// `verified`, `flagged` or `rejected`.
    pub verdict: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventPage {
    pub items: Vec<AttendanceRecord>,
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
}

fn push_range(
    qb: &mut QueryBuilder<Postgres>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) {
    if let Some(f) = from {
        qb.push(" AND e.occurred_at >= ").push_bind(f);
    }
    if let Some(t) = to {
        qb.push(" AND e.occurred_at < ").push_bind(t);
    }
}

/// The caller's own attendance events in `[from, to)`.
#[utoipa::path(get, path = "/api/v1/me/attendance", tag = "attendance", security(("bearer" = [])),
    params(MyRange),
    responses((status = 200, description = "events, oldest first (at most 5000)", body = Vec<AttendanceRecord>)))]
pub async fn my_attendance(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiQuery(q): ApiQuery<MyRange>,
) -> AppResult<Json<Vec<AttendanceRecord>>> {
    let mut qb = QueryBuilder::<Postgres>::new(EVENT_SELECT);
    qb.push(" AND e.employee_id = ").push_bind(caller.id);
    push_range(&mut qb, q.from, q.to);
    qb.push(" ORDER BY e.occurred_at, e.id LIMIT 5000");
    Ok(Json(records(
        qb.build_query_as().fetch_all(&state.db).await?,
    )?))
}

/// Attendance events of the employees within the caller's scope, filtered and paged.
#[utoipa::path(get, path = "/api/v1/attendance", tag = "attendance", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "a page of events, oldest first", body = EventPage),
              (status = 400, description = "`invalid_query`", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<EventPage>> {
    let (limit, offset) = Paging::resolve(q.limit, q.offset)?;
    if let Some(v) = &q.verdict
        && !matches!(v.as_str(), "verified" | "flagged" | "rejected")
    {
        return Err(AppError::bad_request(
            "invalid_query",
            "verdict must be verified, flagged or rejected",
        ));
    }
    let filter = |qb: &mut QueryBuilder<Postgres>| {
        let scope = caller.scope();
        // The scope filter refers to the employee as `e`.
        qb.push(" AND EXISTS (SELECT 1 FROM employees e WHERE e.id = emp.id");
        scope.push_filter(qb);
        qb.push(")");
        push_range(qb, q.from, q.to);
        if let Some(emp) = q.employee {
            qb.push(" AND e.employee_id = ").push_bind(emp);
        }
        if let Some(s) = q.site {
            qb.push(" AND e.site_id = ").push_bind(s);
        }
        if let Some(v) = &q.verdict {
            qb.push(" AND e.verdict = ").push_bind(v.clone());
        }
    };
    let mut qb = QueryBuilder::<Postgres>::new(EVENT_SELECT);
    filter(&mut qb);
    qb.push(" ORDER BY e.occurred_at, e.id LIMIT ")
        .push_bind(i64::from(limit))
        .push(" OFFSET ")
        .push_bind(i64::from(offset));
    let items = records(qb.build_query_as().fetch_all(&state.db).await?)?;
    let mut qb = QueryBuilder::<Postgres>::new(
        "SELECT count(*) FROM attendance_events e JOIN employees emp ON emp.id = e.employee_id WHERE true",
    );
    filter(&mut qb);
    let total: i64 = qb.build_query_scalar().fetch_one(&state.db).await?;
    Ok(Json(EventPage {
        items,
        total,
        limit,
        offset,
    }))
}

/// The evidence photo of a punch: to the employee themself, and to administrators and
/// operators within their scope.
#[utoipa::path(get, path = "/api/v1/attendance/events/{id}/photo", tag = "attendance", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "event id")),
    responses(
        (status = 200, description = "the best frame as uploaded", content_type = "image/jpeg"),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such event, or no photo", body = Problem),
        (status = 410, description = "`photo_erased`: removed by an erasure or retention", body = Problem)))]
pub async fn photo(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let row: Option<(Uuid, Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT employee_id, photo_key, photo_erased_at FROM attendance_events WHERE public_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (employee, key, erased) = row.ok_or(AppError::not_found("attendance event"))?;
    if employee != caller.id {
        if caller.role == faceid_protocol::auth::Role::User {
            return Err(AppError::not_found("attendance event"));
        }
        check_employee_scope(&mut conn, &caller, employee).await?;
    }
    if let Some(at) = erased {
        return Err(AppError::gone(
            "photo_erased",
            format!(
                "the evidence photo was erased at {} (erasure request or retention); the event itself is kept",
                at.to_rfc3339()
            ),
        ));
    }
    let key = key.ok_or(AppError::not_found("photo"))?;
    let bytes = state.photos.get(&key).await?;
    let ct = match faceid_face::decode::sniff_format(&bytes) {
        Ok(image::ImageFormat::Png) => "image/png",
        Ok(image::ImageFormat::WebP) => "image/webp",
        _ => "image/jpeg",
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        Body::from(bytes),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Kiosk

/// JSON part of a kiosk identification.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskEvidence {
    pub idempotency_key: Uuid,
    /// `in` or `out` as chosen on the kiosk; absent: toggled from the employee's last punch.
    #[serde(default)]
    pub kind: Option<PunchKind>,
    /// Nonce of a challenge from `POST /api/v1/kiosk/challenges`, sent with its
    /// `challenge_frame` parts. Missing or failed: the punch is flagged, not rejected.
    #[serde(default)]
    pub challenge_nonce: Option<String>,
    /// Capture time of each challenge frame (server clock, Unix ms), in order.
    #[serde(default)]
    pub challenge_frame_times_ms: Vec<u64>,
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
    /// The frames of the kiosk challenge, in capture order.
    #[schema(value_type = Vec<String>, format = Binary)]
    challenge_frame: Vec<Vec<u8>>,
}

/// Identifies the person in front of a kiosk 1:N among the employees of the kiosk's site and
/// records their punch; "unknown" below the threshold or without margin over the second best.
/// The kiosk's head-movement challenge is scored like a phone's; a missing (under the
/// `passive+challenge` policy) or failed one flags the punch for review rather than
/// rejecting it (see `crate::kiosk`).
#[utoipa::path(post, path = "/api/v1/kiosk/identify", tag = "attendance", security(("bearer" = [])),
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
        .map_err(|e| AppError::field(EVIDENCE_PART, "invalid_body", e.to_string()))?;
    crate::kiosk::check_challenge_parts(
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
        AppError::conflict("kiosk_without_site", "this kiosk is not assigned to a site")
    })?;
    let req_hash = request_hash(&upload);
    // A retry: the same answer.
    let prior: Option<(Uuid, Option<Vec<u8>>, Option<serde_json::Value>)> = sqlx::query_as(
        "SELECT employee_id, request_hash, response FROM attendance_events WHERE device_id = $1 AND idempotency_key = $2",
    )
    .bind(kiosk.device_id)
    .bind(ev.idempotency_key)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((_, h, Some(resp))) = prior {
        if h.as_deref() != Some(&req_hash[..]) {
            return Err(AppError::conflict(
                "idempotency_key_reused",
                "this idempotency key was used for a different request",
            ));
        }
        return Ok(Json(
            serde_json::from_value(resp).map_err(AppError::internal)?,
        ));
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
    let eng = engine.clone();
    let best = upload.best.clone();
    let challenge = upload.challenge.clone();
    let times = ev.challenge_frame_times_ms.clone();
    let frames: Vec<&[u8]> = std::iter::once(&upload.best[..])
        .chain(upload.challenge.iter().map(|b| &b[..]))
        .collect();
    let measuring = face::measure_blocking(&state, &frames, move || {
        measure(&eng, &best, &challenge, &times, &MeasureRules::enrol())
    });
    let (measured, photo_key) = tokio::join!(
        measuring,
        state.photos.put("evidence", upload.best.to_vec())
    );
    let photo_key = photo_key?;
    let answer = async {
        let mut measured = measured?;
        // The challenge, consumed once the frames are known to be usable (single use).
        let challenge_flag = crate::kiosk::judge_challenge(
            &state.db,
            &engine,
            &mut measured,
            ev.challenge_nonce.as_deref(),
            kiosk.device_id,
            policy.liveness_mode,
        )
        .await?;
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
        let face_distance = id.best.as_ref().map(|b| b.distance);
        let mut j = Judgement::default();
        j.flag.extend(challenge_flag.map(str::to_owned));
        if !measured.live() {
            j.reject.push("liveness_failed".into());
        }
        for q in measured.quality.iter().map(|q| q.code()) {
            if q != "off_centre" && q != "several_faces" {
                j.flag.push(format!("quality_{q}"));
            }
        }
        let now = Utc::now();
        let stored = async {
            let mut tx = begin_chain(&state.db).await?;
            let kind = match ev.kind {
                Some(k) => k,
                None => {
                    let last: Option<String> = sqlx::query_scalar(
                        "SELECT kind FROM attendance_punches WHERE employee_id = $1
                     AND status NOT IN ('rejected', 'flagged_rejected', 'superseded')
                     ORDER BY at DESC, id DESC LIMIT 1",
                    )
                    .bind(person)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if last.as_deref() == Some("in") {
                        PunchKind::Out
                    } else {
                        PunchKind::In
                    }
                }
            };
            let verdict = j.verdict();
            let event = CheckInResponse {
                event_id: Uuid::now_v7(),
                verdict,
                reasons: j.reasons(),
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
