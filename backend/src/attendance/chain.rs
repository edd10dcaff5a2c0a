//! The hash-chained attendance log.
//!
//! Events are appended under `pg_advisory_xact_lock(hashtext('attendance_chain'))`, so each
//! new row reads the true last hash and the chain cannot fork. Each row stores `prev_hash`
//! (32 zero bytes for the first row) and `hash` = SHA-256 of its canonical form
//! ([`ChainFields::canonical`]): the UTF-8 text `faceid-attendance-v1` followed by one line
//! per field, `name=value`, in a fixed order, with `-` for NULL, UUIDs hyphenated lower case,
//! times as integer microseconds since the Unix epoch, floats in Rust's shortest round-trip
//! form, text fields JSON-encoded, reasons joined with `,`, and `prev_hash` in lower-case hex.
//! `request_hash` and `response` (idempotency bookkeeping) are not part of it. Changing,
//! inserting or deleting a row breaks either that row's hash or the next row's `prev_hash`.

use chrono::{DateTime, Utc};
use faceid_protocol::attendance::ChainVerification;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Postgres};
use uuid::Uuid;

use crate::error::AppResult;

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
    /// The reasons' wire texts (`ReasonCode::texts`). Text, not the enum: verification hashes
    /// what is stored, so a row written by any version (or tampered with) is checked, never
    /// refused as undecodable.
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
pub async fn begin_chain(pool: &sqlx::PgPool) -> AppResult<sqlx::Transaction<'static, Postgres>> {
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
pub async fn append_locked(
    conn: &mut PgConnection,
    mut fields: ChainFields,
    request_hash: Option<&[u8]>,
    response: Option<&serde_json::Value>,
) -> AppResult<i64> {
    fields.prev_hash = chain_head(&mut *conn).await?;
    insert_event(conn, fields, request_hash, response).await
}

/// Inserts an event whose `prev_hash` is already the chain head (chain lock held).
pub async fn insert_event(
    conn: &mut PgConnection,
    mut fields: ChainFields,
    request_hash: Option<&[u8]>,
    response: Option<&serde_json::Value>,
) -> AppResult<i64> {
    fields.occurred_at = micros(fields.occurred_at);
    fields.received_at = micros(fields.received_at);
    let hash = fields.hash();
    let f = &fields;
    // A device punch notifies (a job, so it survives a crash), enqueued by the same statement
    // as the event: one round trip.
    let notify = matches!(f.kind.as_str(), "in" | "out");
    let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH ev AS (
           INSERT INTO attendance_events (public_id, employee_id, device_id, site_id, kind, punch_kind,
            occurred_at, received_at, verdict, reasons, decision, comment, refers_to, actor_id,
            idempotency_key, request_hash, response, lat, lon, accuracy_m, distance_m, face_distance,
            liveness_score, photo_key, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                   $19, $20, $21, $22, $23, $24, $25, $26)
           RETURNING id),
         job AS (
           INSERT INTO jobs (id, kind, payload, run_at)
           SELECT $27, $28, $29, now() WHERE $30 AND {}
           RETURNING id)
         SELECT id FROM ev",
        crate::telegram::notify::PUNCH_JOB_WHEN
    )))
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
    .bind(Uuid::now_v7())
    .bind(crate::telegram::notify::PUNCH_JOB)
    .bind(crate::telegram::notify::punch_job_payload(f.public_id))
    .bind(notify)
    .fetch_one(&mut *conn)
    .await?;
    crate::metrics::punch_recorded(&f.kind, &f.verdict, &f.reasons);
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
