//! Location points: batch ingestion into a monthly-partitioned table, reading tracks back, the
//! tracking policy (default ← department ← employee) and the retention job.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc};
use faceid_protocol::consent::ConsentKind;
use faceid_protocol::location::{
    LocationBatch, LocationBatchResponse, LocationPoint, TrackingPolicy, Weekday, WorkingHours,
    WorkingWindow,
};
use faceid_protocol::problem::{FieldError, Problem};
use faceid_protocol::sync::{IDEMPOTENCY_KEY_HEADER, ValidationError, check_uuid_v7};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::check_employee_scope;
use crate::auth::{Admin, AuthUser, Caller, Staff};
use crate::consent::kind_str;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::geofence;

/// Largest body of `POST /api/v1/locations/batch` (1,000 points of about 250 bytes each, with
/// room for whitespace).
pub const MAX_BATCH_BODY_BYTES: usize = 1024 * 1024;
/// Longest time range of one track query.
pub const MAX_RANGE_DAYS: i64 = 31;
/// Most points one track query answers; `truncated` says there were more.
pub const MAX_TRACK_POINTS: i64 = faceid_protocol::location::MAX_TRACK_POINTS as i64;
/// Default retention of location points, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// How long an idempotency key's answer is kept.
pub const IDEMPOTENCY_KEEP_DAYS: i64 = 7;
/// Key of the advisory lock that serialises partition creation and dropping.
const PARTITION_LOCK: i64 = 0x6c6f_6361_7469_6f6e; // "location"
const PARTITION_PREFIX: &str = "location_points_p";

pub fn field_error(e: &ValidationError) -> FieldError {
    FieldError {
        field: e.field().to_owned(),
        code: e.code().to_owned(),
        message: e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Partitions

/// First instant of the month of `t`, and of the next month.
fn month_bounds(year: i32, month: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc
        .with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH);
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let end = Utc
        .with_ymd_and_hms(ny, nm, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH);
    (start, end)
}

fn partition_name(year: i32, month: u32) -> String {
    format!("{PARTITION_PREFIX}{year:04}{month:02}")
}

fn parse_partition_name(name: &str) -> Option<(i32, u32)> {
    let digits = name.strip_prefix(PARTITION_PREFIX)?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = digits[..4].parse().ok()?;
    let month = digits[4..].parse().ok()?;
    (1..=12).contains(&month).then_some((year, month))
}

/// Makes sure the monthly partitions covering `times` exist. Creation happens under an
/// advisory lock with `CREATE TABLE IF NOT EXISTS`, so concurrent batches and replicas are safe;
/// rows that landed in the default partition for that month are moved into the new one.
pub async fn ensure_partitions(
    pool: &PgPool,
    times: impl IntoIterator<Item = DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    let names = partition_names(times);
    if names.is_empty() {
        return Ok(());
    }
    let missing: Vec<String> = sqlx::query_scalar(MISSING_PARTITIONS)
        .bind(&names)
        .fetch_all(pool)
        .await?;
    create_partitions(pool, missing).await
}

/// The monthly partitions `times` fall in.
fn partition_names(times: impl IntoIterator<Item = DateTime<Utc>>) -> Vec<String> {
    let months: BTreeSet<(i32, u32)> = times.into_iter().map(|t| (t.year(), t.month())).collect();
    months.iter().map(|&(y, m)| partition_name(y, m)).collect()
}

/// Which of the partitions named in `$1` do not exist yet.
const MISSING_PARTITIONS: &str = "SELECT n FROM unnest($1::text[]) n WHERE to_regclass(n) IS NULL";

/// Creates the partitions `missing` (from [`partition_names`]).
async fn create_partitions(pool: &PgPool, missing: Vec<String>) -> Result<(), sqlx::Error> {
    if missing.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PARTITION_LOCK)
        .execute(&mut *tx)
        .await?;
    for name in missing {
        let Some((y, m)) = parse_partition_name(&name) else {
            continue;
        };
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(&name)
            .fetch_one(&mut *tx)
            .await?;
        if exists {
            continue;
        }
        let (start, end) = month_bounds(y, m);
        // Move rows the default partition holds for this month, else the creation would fail.
        sqlx::query(
            "CREATE TEMP TABLE IF NOT EXISTS moved_location_points (LIKE location_points) ON COMMIT DROP",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "WITH d AS (DELETE FROM location_points_default WHERE recorded_at >= $1 AND recorded_at < $2 RETURNING *)
             INSERT INTO moved_location_points SELECT * FROM d",
        )
        .bind(start)
        .bind(end)
        .execute(&mut *tx)
        .await?;
        // The name and bounds come from integers formatted here, never from input text.
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF location_points FOR VALUES FROM ('{}') TO ('{}')",
            start.to_rfc3339(),
            end.to_rfc3339()
        );
        sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO location_points SELECT * FROM moved_location_points")
            .execute(&mut *tx)
            .await?;
        sqlx::query("TRUNCATE moved_location_points")
            .execute(&mut *tx)
            .await?;
        tracing::info!(partition = %name, "location partition created");
    }
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Ingestion

/// Inserts points in one statement; returns how many were new.
pub async fn insert_points(
    conn: &mut PgConnection,
    employee: Uuid,
    device: Uuid,
    points: &[&LocationPoint],
) -> Result<u64, sqlx::Error> {
    let n = points.len();
    let mut recorded_at = Vec::with_capacity(n);
    let mut lat = Vec::with_capacity(n);
    let mut lon = Vec::with_capacity(n);
    let mut accuracy = Vec::with_capacity(n);
    let mut speed = Vec::with_capacity(n);
    let mut bearing = Vec::with_capacity(n);
    let mut altitude = Vec::with_capacity(n);
    let mut mock = Vec::with_capacity(n);
    let mut jump = Vec::with_capacity(n);
    let mut battery = Vec::with_capacity(n);
    for p in points {
        recorded_at.push(p.recorded_at);
        lat.push(p.lat);
        lon.push(p.lon);
        accuracy.push(p.accuracy);
        speed.push(p.speed);
        bearing.push(p.bearing);
        altitude.push(p.altitude);
        mock.push(p.mock);
        jump.push(p.jump);
        battery.push(p.battery.map(i16::from));
    }
    let done = sqlx::query(
        "INSERT INTO location_points
            (employee_id, device_id, recorded_at, lat, lon, accuracy, speed, bearing, altitude, mock, jump, battery)
         SELECT $1, $2, t.* FROM UNNEST($3::timestamptz[], $4::float8[], $5::float8[], $6::float8[],
                                        $7::float8[], $8::float8[], $9::float8[], $10::bool[], $11::bool[],
                                        $12::int2[]) AS t
         ON CONFLICT DO NOTHING",
    )
    .bind(employee)
    .bind(device)
    .bind(recorded_at)
    .bind(lat)
    .bind(lon)
    .bind(accuracy)
    .bind(speed)
    .bind(bearing)
    .bind(altitude)
    .bind(mock)
    .bind(jump)
    .bind(battery)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

fn idempotency_key(headers: &HeaderMap) -> AppResult<Option<Uuid>> {
    let Some(v) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_idempotency_key",
                "the Idempotency-Key header must be a UUIDv7",
            )
        })?;
    check_uuid_v7("Idempotency-Key", &key).map_err(|_| {
        AppError::bad_request(
            "invalid_idempotency_key",
            "the Idempotency-Key header must be a UUIDv7",
        )
    })?;
    Ok(Some(key))
}

/// Uploads a batch of up to 1,000 points recorded on the caller's device. Each point is
/// checked on its own (a bad point is listed in `rejected`, the others are stored); a point
/// the server already has (same employee, device and `recorded_at`) counts as a duplicate, so
/// re-sending is harmless. The `Idempotency-Key` header (UUIDv7) replays the first answer; the
/// same key with another body is 409 `idempotency_key_reused`.
#[utoipa::path(post, path = "/api/v1/locations/batch", tag = "locations", security(("bearer" = [])),
    request_body = LocationBatch,
    params(("Idempotency-Key" = Option<String>, Header, description = "UUIDv7 chosen by the device")),
    responses(
        (status = 200, description = "stored", body = LocationBatchResponse),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`", body = Problem),
        (status = 403, description = "`location_consent_required`, `processing_restricted`", body = Problem),
        (status = 409, description = "`idempotency_key_reused`", body = Problem),
        (status = 413, description = "body too large", body = Problem),
        (status = 422, description = "`count` (0 or more than 1,000 points), `unknown_field`", body = Problem)))]
pub async fn batch(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    headers: HeaderMap,
    ApiJson(batch): ApiJson<LocationBatch>,
) -> AppResult<Json<LocationBatchResponse>> {
    let key = idempotency_key(&headers)?;
    batch
        .validate_size()
        .map_err(|e| AppError::Validation(vec![field_error(&e)]))?;
    let body_hash = match key {
        Some(_) => Sha256::digest(serde_json::to_vec(&batch).map_err(AppError::internal)?).to_vec(),
        None => Vec::new(),
    };
    let now = Utc::now();
    let rejected = batch.rejections(now);
    let rejected_idx: BTreeSet<u32> = rejected.iter().map(|r| r.index).collect();
    let valid: Vec<&LocationPoint> = batch
        .points
        .iter()
        .enumerate()
        .filter(|(i, _)| !rejected_idx.contains(&u32::try_from(*i).unwrap_or(u32::MAX)))
        .map(|(_, p)| p)
        .collect();
    // One round trip before the insert: the consent, an earlier answer for the key, and which
    // monthly partitions are missing.
    let (consent, restricted, prior_hash, prior_response, missing): (
        bool,
        bool,
        Option<Vec<u8>>,
        Option<serde_json::Value>,
        Vec<String>,
    ) = sqlx::query_as(
        "SELECT coalesce((SELECT action = 'grant' FROM consent_records
                           WHERE employee_id = $1 AND kind = $4 ORDER BY id DESC LIMIT 1), false),
                EXISTS (SELECT 1 FROM processing_restrictions
                         WHERE employee_id = $1 AND kind = 'tracking'),
                r.body_hash, r.response,
                ARRAY(SELECT n FROM unnest($3::text[]) n WHERE to_regclass(n) IS NULL)
           FROM (SELECT 1) one
           LEFT JOIN location_batch_requests r ON r.employee_id = $1 AND r.key = $2",
    )
    .bind(caller.id)
    .bind(key)
    .bind(partition_names(valid.iter().map(|p| p.recorded_at)))
    .bind(kind_str(ConsentKind::Location))
    .fetch_one(&state.db)
    .await?;
    if !consent {
        return Err(AppError::forbidden(
            "location_consent_required",
            "the employee has not granted location consent",
        ));
    }
    if restricted {
        return Err(crate::privacy::restriction::restricted(
            crate::privacy::restriction::Processing::Tracking,
        ));
    }
    if let (Some(hash), Some(response)) = (prior_hash, prior_response) {
        if hash != body_hash {
            return Err(AppError::conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different batch",
            ));
        }
        return serde_json::from_value(response)
            .map(Json)
            .map_err(AppError::internal);
    }
    create_partitions(&state.db, missing).await?;
    let answer = |accepted: u64| {
        let accepted = u32::try_from(accepted).unwrap_or(u32::MAX);
        LocationBatchResponse {
            accepted,
            duplicates: u32::try_from(valid.len())
                .unwrap_or(u32::MAX)
                .saturating_sub(accepted),
            rejected: rejected.clone(),
        }
    };
    let Some(key) = key else {
        // One statement: without an answer to record it needs no transaction of its own.
        let accepted = if valid.is_empty() {
            0
        } else {
            let mut conn = state.db.acquire().await?;
            insert_points(&mut conn, caller.id, caller.device_id, &valid).await?
        };
        return Ok(Json(answer(accepted)));
    };
    let mut tx = state.db.begin().await?;
    let accepted = if valid.is_empty() {
        0
    } else {
        insert_points(&mut tx, caller.id, caller.device_id, &valid).await?
    };
    let response = answer(accepted);
    sqlx::query(
        "INSERT INTO location_batch_requests (employee_id, key, body_hash, response)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(caller.id)
    .bind(key)
    .bind(&body_hash)
    .bind(serde_json::to_value(&response).map_err(AppError::internal)?)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(response))
}

// ---------------------------------------------------------------------------------------------
// Reading tracks

/// `?from=&to=` of track queries (RFC 3339).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// Start, inclusive; default 24 hours before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End, exclusive, at most 31 days after `from`; default now.
    pub to: Option<DateTime<Utc>>,
}

impl Range {
    fn resolve(&self) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
        let to = self.to.unwrap_or_else(Utc::now);
        let from = self.from.unwrap_or(to - chrono::Duration::days(1));
        let r = Resolved { from, to };
        r.check()?;
        Ok((from, to))
    }
}

struct Resolved {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Resolved {
    fn check(&self) -> AppResult<()> {
        if self.to <= self.from {
            return Err(AppError::bad_request(
                "invalid_range",
                "`to` must be after `from`",
            ));
        }
        if self.to - self.from > chrono::Duration::days(MAX_RANGE_DAYS) {
            return Err(AppError::bad_request(
                "range_too_long",
                format!("a query covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        Ok(())
    }
}

/// One stored point with the device that recorded it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrackPoint {
    pub device_id: Uuid,
    #[serde(flatten)]
    pub point: LocationPoint,
}

/// Points of a time range, oldest first.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Track {
    pub points: Vec<TrackPoint>,
    /// More points than the answer holds: ask again from the last `recorded_at`.
    pub truncated: bool,
}

#[derive(sqlx::FromRow)]
struct PointRow {
    device_id: Uuid,
    recorded_at: DateTime<Utc>,
    lat: f64,
    lon: f64,
    accuracy: f64,
    speed: Option<f64>,
    bearing: Option<f64>,
    altitude: Option<f64>,
    mock: bool,
    jump: bool,
    battery: Option<i16>,
}

async fn track(pool: &PgPool, employee: Uuid, range: &Range) -> AppResult<Track> {
    let (from, to) = range.resolve()?;
    let mut rows: Vec<PointRow> = sqlx::query_as(
        "SELECT device_id, recorded_at, lat, lon, accuracy, speed, bearing, altitude, mock, jump, battery
         FROM location_points WHERE employee_id = $1 AND recorded_at >= $2 AND recorded_at < $3
         ORDER BY recorded_at, device_id LIMIT $4",
    )
    .bind(employee)
    .bind(from)
    .bind(to)
    .bind(MAX_TRACK_POINTS + 1)
    .fetch_all(pool)
    .await?;
    let truncated = rows.len() as i64 > MAX_TRACK_POINTS;
    rows.truncate(usize::try_from(MAX_TRACK_POINTS).unwrap_or(usize::MAX));
    Ok(Track {
        points: rows
            .into_iter()
            .map(|r| TrackPoint {
                device_id: r.device_id,
                point: LocationPoint {
                    recorded_at: r.recorded_at,
                    lat: r.lat,
                    lon: r.lon,
                    accuracy: r.accuracy,
                    speed: r.speed,
                    bearing: r.bearing,
                    altitude: r.altitude,
                    mock: r.mock,
                    jump: r.jump,
                    battery: r.battery.and_then(|b| u8::try_from(b).ok()),
                },
            })
            .collect(),
        truncated,
    })
}

/// The caller's own points in a time range (at most 31 days).
#[utoipa::path(get, path = "/api/v1/me/locations", tag = "locations", security(("bearer" = [])),
    params(Range),
    responses(
        (status = 200, description = "the points", body = Track),
        (status = 400, description = "`invalid_query`, `invalid_range`, `range_too_long`", body = Problem)))]
pub async fn my_locations(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiQuery(range): ApiQuery<Range>,
) -> AppResult<Json<Track>> {
    Ok(Json(track(&state.db, caller.id, &range).await?))
}

/// An employee's points in a time range (administrators; operators within their scope).
#[utoipa::path(get, path = "/api/v1/employees/{id}/locations", tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id"), Range),
    responses(
        (status = 200, description = "the points", body = Track),
        (status = 400, description = "`invalid_query`, `invalid_range`, `range_too_long`", body = Problem),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn employee_locations(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(range): ApiQuery<Range>,
) -> AppResult<Json<Track>> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    Ok(Json(track(&state.db, id, &range).await?))
}

// ---------------------------------------------------------------------------------------------
// Tracking policy

/// The policy of an employee with no department or employee override: tracking on, every
/// 5 minutes, Monday to Friday 09:00–18:00 in the time zone of the employee's first site (UTC
/// without one), fixes up to 100 m.
pub fn default_policy(time_zone: String) -> TrackingPolicy {
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN);
    let six = NaiveTime::from_hms_opt(18, 0, 0).unwrap_or(NaiveTime::MIN);
    TrackingPolicy {
        enabled: true,
        interval_s: faceid_protocol::location::DEFAULT_INTERVAL_S,
        working_hours: Some(WorkingHours {
            time_zone,
            windows: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]
            .into_iter()
            .map(|weekday| WorkingWindow {
                weekday,
                start: nine,
                end: six,
            })
            .collect(),
        }),
        max_accuracy_m: 100.0,
    }
}

/// Employee override, else department override, else [`default_policy`].
pub async fn effective_policy(pool: &PgPool, employee: Uuid) -> AppResult<TrackingPolicy> {
    let row: Option<(
        Option<serde_json::Value>,
        Option<serde_json::Value>,
        Option<String>,
    )> = sqlx::query_as(
        "SELECT ep.policy, dp.policy,
                    (SELECT s.time_zone FROM employee_sites es JOIN sites s ON s.id = es.site_id
                     WHERE es.employee_id = e.id ORDER BY s.name LIMIT 1)
             FROM employees e
             LEFT JOIN employee_tracking_policies ep ON ep.employee_id = e.id
             LEFT JOIN department_tracking_policies dp ON dp.department_id = e.department_id
             WHERE e.id = $1",
    )
    .bind(employee)
    .fetch_optional(pool)
    .await?;
    let (own, dept, tz) = row.ok_or(AppError::not_found("employee"))?;
    match own.or(dept) {
        Some(v) => serde_json::from_value(v).map_err(AppError::internal),
        None => {
            let mut conn = pool.acquire().await?;
            crate::routes::settings::default_tracking_policy(
                &mut conn,
                tz.unwrap_or_else(|| "UTC".into()),
            )
            .await
        }
    }
}

pub(crate) fn validate_policy(p: &TrackingPolicy) -> AppResult<()> {
    let mut errors = Vec::new();
    if let Err(e) = p.validate() {
        errors.push(field_error(&e));
    }
    if let Some(h) = &p.working_hours
        && let Err(e) = geofence::validate_time_zone("working_hours.time_zone", &h.time_zone)
    {
        errors.push(e);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The caller's tracking policy.
#[utoipa::path(get, path = "/api/v1/me/tracking-policy", tag = "locations", security(("bearer" = [])),
    responses((status = 200, description = "the effective policy", body = TrackingPolicy)))]
pub async fn my_policy(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<TrackingPolicy>> {
    Ok(Json(effective_policy(&state.db, caller.id).await?))
}

/// An employee's effective tracking policy (administrators; operators within their scope).
#[utoipa::path(get, path = "/api/v1/employees/{id}/tracking-policy", tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 200, description = "the effective policy", body = TrackingPolicy),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn employee_policy(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<TrackingPolicy>> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    drop(conn);
    Ok(Json(effective_policy(&state.db, id).await?))
}

/// Whose tracking-policy override is written.
#[derive(Clone, Copy)]
enum PolicyOwner {
    Employee(Uuid),
    Department(Uuid),
}

impl PolicyOwner {
    /// (owner table, override table, its key column, audit entity / not-found name, id).
    fn parts(self) -> (&'static str, &'static str, &'static str, &'static str, Uuid) {
        match self {
            Self::Employee(id) => (
                "employees",
                "employee_tracking_policies",
                "employee_id",
                "employee",
                id,
            ),
            Self::Department(id) => (
                "departments",
                "department_tracking_policies",
                "department_id",
                "department",
                id,
            ),
        }
    }

    /// A 404 naming the employee or department when there is no such one.
    async fn check_exists(self, conn: &mut PgConnection) -> AppResult<()> {
        let (owners, _, _, entity, id) = self.parts();
        let exists: bool = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {owners} WHERE id = $1)"
        )))
        .bind(id)
        .fetch_one(conn)
        .await?;
        if exists {
            Ok(())
        } else {
            Err(AppError::not_found(entity))
        }
    }
}

/// Validates and stores an override, audited with the policy it replaces.
async fn put_policy(
    state: &AppState,
    caller: &Caller,
    owner: PolicyOwner,
    policy: TrackingPolicy,
) -> AppResult<Json<TrackingPolicy>> {
    validate_policy(&policy)?;
    let (_, table, key, entity, id) = owner.parts();
    let value = serde_json::to_value(&policy).map_err(AppError::internal)?;
    let mut tx = state.db.begin().await?;
    owner.check_exists(&mut tx).await?;
    let cell = crate::db::JsonCell {
        table,
        key_col: key,
        value_col: "policy",
    };
    let before = crate::db::replace_json(&mut tx, cell, id, &value).await?;
    audit::record(
        &mut tx,
        caller,
        "tracking_policy.set",
        entity,
        Some(id),
        before.as_ref(),
        Some(&value),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(policy))
}

/// Sets an employee's own tracking policy, which overrides the department's.
#[utoipa::path(put, path = "/api/v1/employees/{id}/tracking-policy", tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    request_body = TrackingPolicy,
    responses(
        (status = 200, description = "stored", body = TrackingPolicy),
        (status = 404, description = "no such employee", body = Problem),
        (status = 422, description = "invalid fields", body = Problem)))]
pub async fn put_employee_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(policy): ApiJson<TrackingPolicy>,
) -> AppResult<Json<TrackingPolicy>> {
    put_policy(&state, &caller, PolicyOwner::Employee(id), policy).await
}

/// A department's tracking policy (the default when it has none).
#[utoipa::path(get, path = "/api/v1/departments/{id}/tracking-policy", tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "department id")),
    responses(
        (status = 200, description = "the department's policy", body = TrackingPolicy),
        (status = 404, description = "no such department", body = Problem)))]
pub async fn department_policy(
    State(state): State<AppState>,
    Staff(_): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<TrackingPolicy>> {
    let row: Option<Option<serde_json::Value>> = sqlx::query_scalar(
        "SELECT dp.policy FROM departments d
         LEFT JOIN department_tracking_policies dp ON dp.department_id = d.id WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    match row.ok_or(AppError::not_found("department"))? {
        Some(v) => serde_json::from_value(v)
            .map(Json)
            .map_err(AppError::internal),
        None => {
            let mut conn = state.db.acquire().await?;
            crate::routes::settings::default_tracking_policy(&mut conn, "UTC".into())
                .await
                .map(Json)
        }
    }
}

/// Sets a department's tracking policy, used by its employees without their own.
#[utoipa::path(put, path = "/api/v1/departments/{id}/tracking-policy", tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "department id")),
    request_body = TrackingPolicy,
    responses(
        (status = 200, description = "stored", body = TrackingPolicy),
        (status = 404, description = "no such department", body = Problem),
        (status = 422, description = "invalid fields", body = Problem)))]
pub async fn put_department_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(policy): ApiJson<TrackingPolicy>,
) -> AppResult<Json<TrackingPolicy>> {
    put_policy(&state, &caller, PolicyOwner::Department(id), policy).await
}

/// Removes an override (nothing happens when there is none), audited with the policy removed.
async fn delete_policy(state: &AppState, caller: &Caller, owner: PolicyOwner) -> AppResult<()> {
    let (_, table, key, entity, id) = owner.parts();
    let mut tx = state.db.begin().await?;
    owner.check_exists(&mut tx).await?;
    let removed: Option<serde_json::Value> = sqlx::query_scalar(AssertSqlSafe(format!(
        "DELETE FROM {table} WHERE {key} = $1 RETURNING policy"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(removed) = removed {
        audit::record(
            &mut tx,
            caller,
            "tracking_policy.remove",
            entity,
            Some(id),
            Some(&removed),
            audit::NONE,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Removes an employee's own tracking policy: they follow their department's again (or the
/// company default). Removing when there is none is a 204 too.
#[utoipa::path(delete, path = "/api/v1/employees/{id}/tracking-policy", tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn delete_employee_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    delete_policy(&state, &caller, PolicyOwner::Employee(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a department's tracking policy: its employees without their own follow the company
/// default again. Removing when there is none is a 204 too.
#[utoipa::path(delete, path = "/api/v1/departments/{id}/tracking-policy", tag = "locations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "department id")),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such department", body = Problem)))]
pub async fn delete_department_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    delete_policy(&state, &caller, PolicyOwner::Department(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Retention

/// What one retention run removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Purge {
    pub dropped_partitions: Vec<String>,
    pub deleted_points: u64,
}

/// Removes points recorded before `now − retention_days`: whole monthly partitions that end
/// before the cutoff are dropped, the partition holding the cutoff (and the default partition)
/// lose their older rows. Old idempotency answers go too.
pub async fn purge(
    pool: &PgPool,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<Purge, sqlx::Error> {
    let cutoff = now - chrono::Duration::days(i64::from(retention_days));
    let mut out = Purge::default();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PARTITION_LOCK)
        .execute(&mut *tx)
        .await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'location_points'::regclass ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await?;
    for name in names {
        let Some((y, m)) = parse_partition_name(&name) else {
            continue;
        };
        let (start, end) = month_bounds(y, m);
        if end <= cutoff {
            sqlx::query(AssertSqlSafe(format!("DROP TABLE {name}")))
                .execute(&mut *tx)
                .await?;
            out.dropped_partitions.push(name);
        } else if start < cutoff {
            let done = sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {name} WHERE recorded_at < $1"
            )))
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
            out.deleted_points += done.rows_affected();
        }
    }
    let done = sqlx::query("DELETE FROM location_points_default WHERE recorded_at < $1")
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
    out.deleted_points += done.rows_affected();
    sqlx::query("DELETE FROM location_batch_requests WHERE created_at < $1")
        .bind(now - chrono::Duration::days(IDEMPOTENCY_KEEP_DAYS))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(out)
}

/// Retention period from `FACEID_LOCATION_RETENTION_DAYS` (default 90).
pub fn retention_days_from_env() -> u32 {
    std::env::var("FACEID_LOCATION_RETENTION_DAYS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&d: &u32| d > 0)
        .unwrap_or(DEFAULT_RETENTION_DAYS)
}

/// The job kind of the retention run.
pub const RETENTION_JOB: &str = "locations.retention";

/// Registers the hourly retention run ([`purge`]) as a periodic job: scheduled once per hour
/// across replicas, retried on failure (the advisory lock in [`purge`] also keeps a manual
/// run and a job from overlapping).
pub fn register_jobs(registry: &mut crate::jobs::Registry, pool: PgPool, retention_days: u32) {
    registry
        .handle(
            RETENTION_JOB,
            crate::jobs::worker::KindConfig {
                max_attempts: 5,
                lease: Duration::from_secs(30 * 60),
                backoff_base: Duration::from_secs(60),
                backoff_max: Duration::from_secs(30 * 60),
            },
            move |_job| {
                let pool = pool.clone();
                async move {
                    match purge(&pool, Utc::now(), retention_days).await {
                        Ok(p) => {
                            tracing::info!(
                                dropped = ?p.dropped_partitions,
                                deleted = p.deleted_points,
                                retention_days,
                                "location retention run"
                            );
                            crate::jobs::Outcome::Done
                        }
                        Err(e) => crate::jobs::Outcome::Retry(e.to_string()),
                    }
                }
            },
        )
        .every(RETENTION_JOB, Duration::from_secs(3600));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_round_trip() {
        assert_eq!(partition_name(2026, 3), "location_points_p202603");
        assert_eq!(
            parse_partition_name("location_points_p202603"),
            Some((2026, 3))
        );
        assert_eq!(parse_partition_name("location_points_p202613"), None);
        assert_eq!(parse_partition_name("location_points_default"), None);
        let (s, e) = month_bounds(2026, 12);
        assert_eq!(s.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(e.to_rfc3339(), "2027-01-01T00:00:00+00:00");
    }
}
