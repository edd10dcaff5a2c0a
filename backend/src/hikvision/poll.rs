//! The `hikvision.poll` job: one terminal's health and new passage events.
//!
//! 1. A lease on the terminal row (`poll_owner`, `poll_lease_until`, renewed per page), so
//!    one poller works a terminal at a time across replicas, even when a slow poll overlaps
//!    the next period's job; a dead poller's lease expires.
//! 2. `System/time` (clock offset, the terminal's UTC offset for the search times) and, hourly,
//!    `deviceInfo`.
//! 3. `AcsEvent` searches from the persisted cursor (`beginSerialNo` = last serial + 1, and a
//!    time window from the last event minus an overlap, both with the terminal's offset),
//!    advanced by `numOfMatches` (the terminal caps pages whatever `maxResults` says), ended
//!    by `OK` / `NO MATCH`, an empty page, a page that brings no higher serial number, or the
//!    page guard (never `totalMatches`, which firmware gets wrong).
//! 4. Each page in one transaction: raw events inserted first (`UNIQUE (terminal_id,
//!    serial_no)`, so a re-poll or a second poller inserts nothing twice), face passes of
//!    known people appended to the attendance chain, gaps recorded, the cursor advanced.
//!    A crash mid-poll loses at most the page in flight, which the next poll reads again.
//!
//! A 401 ends the poll and counts; after `hikvision_auth_failures_before_lockout` polls in a
//! row the terminal is locked out (polling stops, an anomaly is recorded) until an
//! administrator changes its credentials.

use std::time::Instant;

use chrono::{DateTime, FixedOffset, Utc};
use faceid_protocol::wire_text::WireText;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::client::{AcsEventCond, IsapiClient, IsapiError};
use super::{TERMINAL_COLUMNS, TerminalRow, log_call, terminal_of, unique};
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::jobs::{self, Job, Outcome};

mod page;

use page::store_page;

pub const POLL_JOB: &str = "hikvision.poll";
/// Asked for per page; terminals cap lower (often 30) and we advance by what they return.
pub const PAGE_SIZE: u32 = 30;
/// Pages of one search before a new search starts from the advanced cursor.
pub const MAX_PAGES_PER_SEARCH: u32 = 100;
/// Pages of one poll; the rest waits for the next poll.
pub const MAX_PAGES_PER_POLL: u32 = 2000;
/// The time window starts this long before the last event imported.
const OVERLAP: chrono::Duration = chrono::Duration::minutes(10);
/// The poll lease, renewed per page.
const LEASE_SECS: f64 = 60.0;
/// `deviceInfo` is read again after this long.
const DEVICE_INFO_EVERY: chrono::Duration = chrono::Duration::hours(1);
/// A pass within this long after an `in` of the same employee makes an `out` (direction
/// `both`); an older `in` is taken as a forgotten check-out.
const ALTERNATE_WINDOW: chrono::Duration = chrono::Duration::hours(16);

/// Enqueues a poll of `terminal` with the unique key `hikvision.poll:<terminal>@<slot>`.
pub async fn enqueue(
    conn: &mut PgConnection,
    terminal: Uuid,
    slot: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    jobs::enqueue(
        conn,
        POLL_JOB,
        &json!({"terminal_id": terminal}),
        unique(format!("{POLL_JOB}:{terminal}@{slot}")),
    )
    .await
}

/// What a passage event is, by its minor code (integrations.md §1.1, vendor table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventClass {
    FacePass,
    FaceFail,
    Stranger,
    OtherPass,
    Other,
}

/// Its text in `terminal_events.class` is its serde name.
impl WireText for EventClass {}

impl EventClass {
    pub fn of(major: i64, minor: i64) -> Self {
        if major != 5 {
            return Self::Other;
        }
        match minor {
            75 | 77 | 54 | 57 | 60 | 63 | 66 => Self::FacePass,
            80 => Self::Stranger,
            76 | 78 | 79 | 55 | 58 | 61 | 64 | 67 | 0x68 => Self::FaceFail,
            1 | 38 | 0xb5 => Self::OtherPass,
            _ => Self::Other,
        }
    }
}

/// One event item, as far as we read it (the raw item is stored whole).
#[derive(Debug, Clone)]
pub struct Parsed {
    pub serial_no: i64,
    pub major: i64,
    pub minor: i64,
    pub time: DateTime<FixedOffset>,
    pub employee_no: Option<String>,
    pub picture_url: Option<String>,
    pub raw: Value,
}

/// Reads an item; `None` without a serial number or a time.
pub fn parse_item(v: &Value) -> Option<Parsed> {
    let int = |k: &str| v.get(k).and_then(Value::as_i64);
    let serial_no = int("serialNo")?;
    let time = DateTime::parse_from_rfc3339(v.get("time")?.as_str()?).ok()?;
    let employee_no = v
        .get("employeeNoString")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
        .or_else(|| match v.get("employeeNo") {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        })
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    Some(Parsed {
        serial_no,
        major: int("major").unwrap_or(0),
        minor: int("minor").unwrap_or(0),
        time,
        employee_no,
        picture_url: v
            .get("pictureURL")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned),
        raw: v.clone(),
    })
}

/// What one poll did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PollReport {
    pub pages: u32,
    pub events: u64,
    pub punches: u64,
    /// Face passes kept raw but not punched (the same person punched just before).
    pub debounced: u64,
}

/// Why a poll stopped early.
#[derive(Debug)]
enum PollError {
    Terminal(IsapiError),
    Server(AppError),
}

impl From<AppError> for PollError {
    fn from(e: AppError) -> Self {
        Self::Server(e)
    }
}

impl From<sqlx::Error> for PollError {
    fn from(e: sqlx::Error) -> Self {
        Self::Server(e.into())
    }
}

/// The job handler.
pub async fn run_job(state: &AppState, job: Job) -> Outcome {
    let Some(terminal) = terminal_of(&job) else {
        return Outcome::Fail("payload without terminal_id".into());
    };
    match poll_terminal(state, terminal, &job.id.to_string()).await {
        Ok(_) => Outcome::Done,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// Polls one terminal now (the job, the tests and the bench call this). Terminal errors are
/// recorded on the terminal and answered `Ok` (the next period tries again); only server
/// errors (the database) are `Err`. `None` when the terminal is disabled, locked out, gone,
/// or being polled by someone else.
pub async fn poll_terminal(
    state: &AppState,
    terminal: Uuid,
    owner: &str,
) -> AppResult<Option<PollReport>> {
    let row: Option<TerminalRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE terminals SET poll_owner = $2, poll_lease_until = now() + $3 * interval '1 second'
         WHERE id = $1 AND enabled AND locked_out_at IS NULL
           AND (poll_lease_until IS NULL OR poll_lease_until < now() OR poll_owner = $2)
         RETURNING {TERMINAL_COLUMNS}"
    )))
    .bind(terminal)
    .bind(owner)
    .bind(LEASE_SECS)
    .fetch_optional(&state.db)
    .await?;
    let Some(t) = row else {
        return Ok(None);
    };
    let mut report = PollReport::default();
    let result = poll(state, &t, owner, &mut report).await;
    sqlx::query(
        "UPDATE terminals SET poll_owner = NULL, poll_lease_until = NULL
         WHERE id = $1 AND poll_owner = $2",
    )
    .bind(t.id)
    .bind(owner)
    .execute(&state.db)
    .await?;
    match result {
        Ok(()) => {
            sqlx::query(
                "UPDATE terminals SET last_poll_at = now(), auth_failures = 0 WHERE id = $1",
            )
            .bind(t.id)
            .execute(&state.db)
            .await?;
            Ok(Some(report))
        }
        Err(PollError::Server(e)) => Err(e),
        Err(PollError::Terminal(e)) => {
            record_failure(state, &t, &e).await?;
            Ok(Some(report))
        }
    }
}

/// Records a failed poll; counts 401s and locks the terminal out at the limit.
async fn record_failure(state: &AppState, t: &TerminalRow, e: &IsapiError) -> AppResult<()> {
    let auth = matches!(e, IsapiError::Unauthorized);
    let limit = i32::try_from(state.settings.hikvision_auth_failures_before_lockout).unwrap_or(3);
    let mut tx = state.db.begin().await?;
    let (failures, locked): (i32, bool) = sqlx::query_as(
        "UPDATE terminals SET last_error = $2, last_error_at = now(),
             auth_failures = CASE WHEN $3 THEN auth_failures + 1 ELSE auth_failures END,
             locked_out_at = CASE WHEN $3 AND auth_failures + 1 >= $4 THEN now() ELSE locked_out_at END
         WHERE id = $1 RETURNING auth_failures, locked_out_at IS NOT NULL",
    )
    .bind(t.id)
    .bind(e.to_string())
    .bind(auth)
    .bind(limit)
    .fetch_one(&mut *tx)
    .await?;
    if auth && locked && failures == limit {
        sqlx::query(
            "INSERT INTO terminal_anomalies (terminal_id, kind, detail) VALUES ($1, 'auth_lockout', $2)",
        )
        .bind(t.id)
        .bind(json!({"failures": failures,
                     "detail": "the terminal refused the credentials; polling stopped until they are changed"}))
        .execute(&mut *tx)
        .await?;
        tracing::error!(terminal = %t.id, name = %t.name, failures, "terminal refuses our credentials: polling stopped (locked out) until an administrator changes them");
    } else {
        tracing::warn!(terminal = %t.id, name = %t.name, error = %e, "terminal poll failed");
    }
    tx.commit().await?;
    Ok(())
}

async fn poll(
    state: &AppState,
    t: &TerminalRow,
    owner: &str,
    report: &mut PollReport,
) -> Result<(), PollError> {
    let client = t.client(state)?;
    let offset = check_health(state, t, &client).await?;
    let skew_limit = state.settings.hikvision_max_clock_skew_secs as f64;
    let skewed = offset.clock_offset_s.abs() > skew_limit;
    let mut cursor = (t.last_serial_no, t.last_event_at);
    let mut by_serial = t.serial_paging;
    loop {
        let start = cursor
            .1
            .map_or(t.import_since, |last| (last - OVERLAP).max(t.import_since));
        let device_now =
            Utc::now() + chrono::Duration::milliseconds((offset.clock_offset_s * 1000.0) as i64);
        let end = device_now + chrono::Duration::days(1);
        let search_id = Uuid::new_v4().to_string();
        // One search keeps its condition; only the position moves (the cursor moving under
        // it would skip the events between).
        let begin_serial_no = cursor.0 + 1;
        let mut position = 0u32;
        let mut pages = 0u32;
        // A time-window search re-reads the overlap: only a page that brings nothing past the
        // search's own earlier pages counts as the terminal repeating itself.
        let mut best = if by_serial { cursor.0 } else { i64::MIN };
        let mut search_done = false;
        while pages < MAX_PAGES_PER_SEARCH && report.pages < MAX_PAGES_PER_POLL {
            let cond = AcsEventCond {
                search_id: search_id.clone(),
                position,
                max_results: PAGE_SIZE,
                major: 5,
                minor: 0,
                start_time: local(start, offset.tz),
                end_time: local(end, offset.tz),
                begin_serial_no: by_serial.then_some(begin_serial_no),
                end_serial_no: by_serial.then_some(999_999_999),
                time_reverse_order: false,
            };
            let started = Instant::now();
            let page = client.acs_events(&cond).await;
            log_call(
                &state.db,
                t.id,
                "AcsEvent",
                &page,
                page.as_ref().ok().map(|p| i64::from(p.num_of_matches)),
                started,
            )
            .await;
            if by_serial && page.as_ref().is_err_and(refuses_serial_window) {
                // This firmware pages by time only (integrations.md §1.1): remembered, and the
                // search starts again without the serial window. The raw events' unique key
                // keeps the overlapping windows exactly-once.
                sqlx::query("UPDATE terminals SET serial_paging = false WHERE id = $1")
                    .bind(t.id)
                    .execute(&state.db)
                    .await
                    .map_err(|e| PollError::Server(e.into()))?;
                tracing::info!(terminal = %t.id, "the terminal refuses beginSerialNo: paging by time windows");
                by_serial = false;
                break;
            }
            let page = page.map_err(PollError::Terminal)?;
            pages += 1;
            report.pages += 1;
            let items = page.info_list.unwrap_or_default();
            if items.is_empty() {
                search_done = true;
                break;
            }
            let stored = store_page(state, t, &client, owner, &items, skewed).await?;
            report.events += stored.inserted;
            report.punches += stored.punched;
            report.debounced += stored.debounced;
            if let Some(max) = stored.max_serial {
                cursor.0 = cursor.0.max(max);
            }
            if let Some(at) = stored.max_time {
                cursor.1 = Some(cursor.1.map_or(at, |c| c.max(at)));
            }
            // A page with nothing past what this search already returned: the terminal is
            // repeating itself (or lying about `MORE`).
            let progressed = stored.max_serial.is_some_and(|m| m > best);
            best = best.max(stored.max_serial.unwrap_or(best));
            let advance = if page.num_of_matches > 0 {
                page.num_of_matches
            } else {
                u32::try_from(items.len()).unwrap_or(u32::MAX)
            };
            position = position.saturating_add(advance);
            if page.status != "MORE" || !progressed {
                search_done = true;
                break;
            }
        }
        if search_done || report.pages >= MAX_PAGES_PER_POLL {
            return Ok(());
        }
        // The page guard ended this search: go on with a new one from the advanced cursor.
    }
}

/// Whether the terminal refused the `beginSerialNo`/`endSerialNo` window (some firmware
/// answers `badJsonContent` naming the field).
fn refuses_serial_window(e: &IsapiError) -> bool {
    matches!(e, IsapiError::Isapi { message, .. } if message.to_ascii_lowercase().contains("serialno"))
}

/// A UTC instant in the terminal's local time, with the numeric offset (always sent).
fn local(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

struct Clock {
    clock_offset_s: f64,
    tz: FixedOffset,
}

/// Reads the terminal's clock (and, hourly, its identity) and stores them.
async fn check_health(
    state: &AppState,
    t: &TerminalRow,
    client: &IsapiClient,
) -> Result<Clock, PollError> {
    let started = Instant::now();
    let time = client.local_time().await;
    log_call(&state.db, t.id, "System/time", &time, None, started).await;
    let (device_time, rtt) = time.map_err(PollError::Terminal)?;
    let server_mid = Utc::now() - chrono::Duration::from_std(rtt / 2).unwrap_or_default();
    let offset_s =
        (device_time.with_timezone(&Utc) - server_mid).num_milliseconds() as f64 / 1000.0;
    let tz = *device_time.offset();
    let limit = state.settings.hikvision_max_clock_skew_secs as f64;
    let was_skewed = t.clock_offset_s.is_some_and(|o| o.abs() > limit);
    if offset_s.abs() > limit && !was_skewed {
        sqlx::query(
            "INSERT INTO terminal_anomalies (terminal_id, kind, detail) VALUES ($1, 'clock_skew', $2)",
        )
        .bind(t.id)
        .bind(json!({"clock_offset_s": offset_s, "limit_s": limit}))
        .execute(&state.db)
        .await?;
        tracing::warn!(terminal = %t.id, offset_s, "terminal clock is off: its punches are flagged");
    }
    sqlx::query(
        "UPDATE terminals SET clock_offset_s = $2, utc_offset_s = $3, checked_at = now() WHERE id = $1",
    )
    .bind(t.id)
    .bind(offset_s)
    .bind(tz.local_minus_utc())
    .execute(&state.db)
    .await?;
    let stale = t
        .checked_at
        .is_none_or(|c| Utc::now() - c > DEVICE_INFO_EVERY);
    if t.serial_number.is_none() || stale {
        let started = Instant::now();
        let info = client.device_info().await;
        log_call(&state.db, t.id, "System/deviceInfo", &info, None, started).await;
        let info = info.map_err(PollError::Terminal)?;
        sqlx::query(
            "UPDATE terminals SET model = $2, serial_number = $3, firmware_version = $4,
                 device_name = $5 WHERE id = $1",
        )
        .bind(t.id)
        .bind(info.model)
        .bind(info.serial_number)
        .bind(info.firmware_version)
        .bind(info.device_name)
        .execute(&state.db)
        .await?;
    }
    Ok(Clock {
        clock_offset_s: offset_s,
        tz,
    })
}

impl std::fmt::Display for PollError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Terminal(e) => write!(f, "{e}"),
            Self::Server(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_vendor_table() {
        assert_eq!(EventClass::of(5, 75), EventClass::FacePass);
        assert_eq!(EventClass::of(5, 77), EventClass::FacePass);
        assert_eq!(EventClass::of(5, 76), EventClass::FaceFail);
        assert_eq!(EventClass::of(5, 80), EventClass::Stranger);
        assert_eq!(EventClass::of(5, 1), EventClass::OtherPass);
        assert_eq!(EventClass::of(5, 21), EventClass::Other);
        assert_eq!(EventClass::of(2, 75), EventClass::Other);
        // The text stored in `terminal_events.class`.
        let texts = [
            EventClass::FacePass,
            EventClass::FaceFail,
            EventClass::Stranger,
            EventClass::OtherPass,
            EventClass::Other,
        ]
        .map(WireText::wire_text);
        assert_eq!(
            texts,
            ["face_pass", "face_fail", "stranger", "other_pass", "other"]
        );
    }

    #[test]
    fn items_are_read_leniently() {
        let p = parse_item(&json!({"major": 5, "minor": 75, "time": "2025-12-01T08:48:56+03:00",
            "employeeNoString": " 30 ", "serialNo": 97800, "pictureURL": "http://x/LOCALS/pic/1.jpg"}))
        .unwrap();
        assert_eq!(p.serial_no, 97800);
        assert_eq!(p.employee_no.as_deref(), Some("30"));
        assert_eq!(p.time.to_rfc3339(), "2025-12-01T08:48:56+03:00");
        let p = parse_item(
            &json!({"major": 5, "minor": 75, "time": "2025-12-01T08:48:56+03:00",
            "employeeNo": 31, "serialNo": 2, "employeeNoString": ""}),
        )
        .unwrap();
        // An empty employeeNoString falls back to employeeNo.
        assert_eq!(p.employee_no.as_deref(), Some("31"));
        let p = parse_item(
            &json!({"major": 5, "minor": 21, "time": "2025-12-01T08:48:56+03:00",
            "serialNo": 4, "employeeNoString": ""}),
        )
        .unwrap();
        assert_eq!(p.employee_no, None);
        assert!(parse_item(&json!({"major": 5, "minor": 75, "serialNo": 3})).is_none());
        assert!(parse_item(&json!({"time": "2025-12-01T08:48:56+03:00"})).is_none());
        assert_eq!(
            local(
                DateTime::parse_from_rfc3339("2026-04-27T00:55:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
                FixedOffset::west_opt(3 * 3600).unwrap()
            ),
            "2026-04-26T21:55:00-03:00"
        );
    }
}
