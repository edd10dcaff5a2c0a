//! Location points: the monthly-partitioned table they are stored in, reading tracks back, and
//! the tracking policy (default ← department ← employee). The handlers are in
//! `routes::locations`, the retention run in `jobs::retention`.

pub use faceid_protocol::location::{Track, TrackPoint};
use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc};
use faceid_protocol::location::{
    LocationPoint, TrackingPolicy, Weekday, WorkingHours, WorkingWindow,
};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::field_error;
use crate::geofence;
use crate::panel_settings;

/// Largest body of `POST /api/v1/locations/batch` (1,000 points of about 250 bytes each, with
/// room for whitespace).
pub const MAX_BATCH_BODY_BYTES: usize = 1024 * 1024;
/// Longest time range of one track query.
pub const MAX_RANGE_DAYS: i64 = 31;
/// Most points one track query answers; `truncated` says there were more.
pub const MAX_TRACK_POINTS: i64 = faceid_protocol::location::MAX_TRACK_POINTS as i64;
/// Key of the advisory lock that serialises partition creation and dropping.
pub(crate) const PARTITION_LOCK: i64 = 0x6c6f_6361_7469_6f6e; // "location"
pub(crate) const PARTITION_PREFIX: &str = "location_points_p";

// ---------------------------------------------------------------------------------------------
// Partitions

/// First instant of the month of `t`, and of the next month.
pub(crate) fn month_bounds(year: i32, month: u32) -> (DateTime<Utc>, DateTime<Utc>) {
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

pub(crate) fn partition_name(year: i32, month: u32) -> String {
    format!("{PARTITION_PREFIX}{year:04}{month:02}")
}

pub(crate) fn parse_partition_name(name: &str) -> Option<(i32, u32)> {
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
pub fn partition_names(times: impl IntoIterator<Item = DateTime<Utc>>) -> Vec<String> {
    let months: BTreeSet<(i32, u32)> = times.into_iter().map(|t| (t.year(), t.month())).collect();
    months.iter().map(|&(y, m)| partition_name(y, m)).collect()
}

/// Which of the partitions named in `$1` do not exist yet.
const MISSING_PARTITIONS: &str = "SELECT n FROM unnest($1::text[]) n WHERE to_regclass(n) IS NULL";

/// Creates the partitions `missing` (from [`partition_names`]).
pub async fn create_partitions(pool: &PgPool, missing: Vec<String>) -> Result<(), sqlx::Error> {
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

// ---------------------------------------------------------------------------------------------
// Reading tracks

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

/// The points of an employee in `[from, to)`, oldest first, at most [`MAX_TRACK_POINTS`].
pub async fn track(
    pool: &PgPool,
    employee: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Track> {
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

/// The default tracking policy: the stored one, else the built-in (working hours in `time_zone`).
pub async fn default_tracking_policy(
    conn: &mut PgConnection,
    time_zone: String,
) -> AppResult<TrackingPolicy> {
    Ok(
        panel_settings::stored(conn, panel_settings::TRACKING_DEFAULT)
            .await?
            .unwrap_or_else(|| default_policy(time_zone)),
    )
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
            default_tracking_policy(&mut conn, tz.unwrap_or_else(|| "UTC".into())).await
        }
    }
}

/// The field checks of a tracking policy to store.
pub fn validate_policy(p: &TrackingPolicy) -> AppResult<()> {
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

/// Whose tracking-policy override is written.
#[derive(Debug, Clone, Copy)]
pub enum PolicyOwner {
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
pub async fn put_policy(
    state: &AppState,
    caller: &Caller,
    owner: PolicyOwner,
    policy: TrackingPolicy,
) -> AppResult<TrackingPolicy> {
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
    Ok(policy)
}

/// A department's own tracking policy, else the default; 404 without such a department.
pub async fn department_policy(pool: &PgPool, id: Uuid) -> AppResult<TrackingPolicy> {
    let row: Option<Option<serde_json::Value>> = sqlx::query_scalar(
        "SELECT dp.policy FROM departments d
         LEFT JOIN department_tracking_policies dp ON dp.department_id = d.id WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    match row.ok_or(AppError::not_found("department"))? {
        Some(v) => serde_json::from_value(v).map_err(AppError::internal),
        None => {
            let mut conn = pool.acquire().await?;
            default_tracking_policy(&mut conn, "UTC".into()).await
        }
    }
}

/// Removes an override (nothing happens when there is none), audited with the policy removed.
pub async fn delete_policy(state: &AppState, caller: &Caller, owner: PolicyOwner) -> AppResult<()> {
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
