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

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::client::{AcsEventCond, IsapiClient, IsapiError};
use super::{TERMINAL_COLUMNS, TerminalRow, log_call, terminal_of, unique};
use crate::AppState;
use crate::attendance::{ChainAppender, ChainFields};
use crate::error::{AppError, AppResult};
use crate::jobs::{self, Job, Outcome};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventClass {
    FacePass,
    FaceFail,
    Stranger,
    OtherPass,
    Other,
}

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
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FacePass => "face_pass",
            Self::FaceFail => "face_fail",
            Self::Stranger => "stranger",
            Self::OtherPass => "other_pass",
            Self::Other => "other",
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

struct Stored {
    inserted: u64,
    punched: u64,
    /// Face passes not punched because the same person was punched just before.
    debounced: u64,
    max_serial: Option<i64>,
    max_time: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Person {
    id: Uuid,
    status: String,
    no: String,
}

/// Stores one page: pictures fetched first (outside the transaction), then raw events,
/// punches, gaps and the cursor in one transaction.
async fn store_page(
    state: &AppState,
    t: &TerminalRow,
    client: &IsapiClient,
    owner: &str,
    items: &[Value],
    skewed: bool,
) -> Result<Stored, PollError> {
    let mut events: Vec<Parsed> = Vec::with_capacity(items.len());
    for item in items {
        match parse_item(item) {
            Some(p) => events.push(p),
            None => {
                tracing::warn!(terminal = %t.id, item = %item, "an event without serialNo or time was skipped")
            }
        }
    }
    events.sort_by_key(|e| e.serial_no);
    events.dedup_by_key(|e| e.serial_no);
    let serials: Vec<i64> = events.iter().map(|e| e.serial_no).collect();
    let known: HashSet<i64> = sqlx::query_scalar(
        "SELECT serial_no FROM terminal_events WHERE terminal_id = $1 AND serial_no = ANY($2)",
    )
    .bind(t.id)
    .bind(&serials)
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .collect();
    let numbers: Vec<String> = events
        .iter()
        .filter(|e| !known.contains(&e.serial_no))
        .filter_map(|e| e.employee_no.clone())
        .collect();
    let people: HashMap<String, Person> = if numbers.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, Person>(
            "SELECT id, status, COALESCE(hikvision_employee_no, card_number) AS no FROM employees
             WHERE COALESCE(hikvision_employee_no, card_number) = ANY($1)",
        )
        .bind(&numbers)
        .fetch_all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.no.clone(), p))
        .collect()
    };
    // Evidence pictures of the passes that will be punched, fetched with Digest.
    let mut photos: HashMap<i64, String> = HashMap::new();
    for e in &events {
        let punchable = !known.contains(&e.serial_no)
            && EventClass::of(e.major, e.minor) == EventClass::FacePass
            && e.employee_no
                .as_ref()
                .and_then(|n| people.get(n))
                .is_some_and(|p| p.status == "active");
        let Some(url) = e.picture_url.as_deref().filter(|_| punchable) else {
            continue;
        };
        let started = Instant::now();
        let pic = client.picture(url).await;
        let found = matches!(pic, Ok(Some(_)));
        let logged: Result<(), IsapiError> = match &pic {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(IsapiError::Http { status: 404 }),
            Err(e) => Err(e.clone()),
        };
        log_call(
            &state.db,
            t.id,
            "picture",
            &logged,
            Some(i64::from(found)),
            started,
        )
        .await;
        match pic {
            Ok(Some(bytes)) => {
                photos.insert(e.serial_no, state.photos.put("terminal", bytes).await?)
            }
            Ok(None) => None,
            // An unauthorised picture is the same lock-out problem as any call.
            Err(IsapiError::Unauthorized) => {
                let keys: Vec<String> = photos.into_values().collect();
                state.photos.delete_all(&keys).await;
                return Err(PollError::Terminal(IsapiError::Unauthorized));
            }
            Err(_) => None,
        };
    }
    match insert_page(state, t, owner, &events, &people, &photos, skewed).await {
        Ok((stored, used)) => {
            let unused: Vec<String> = photos
                .iter()
                .filter(|(s, _)| !used.contains(s))
                .map(|(_, k)| k.clone())
                .collect();
            state.photos.delete_all(&unused).await;
            Ok(stored)
        }
        Err(e) => {
            let keys: Vec<String> = photos.into_values().collect();
            state.photos.delete_all(&keys).await;
            Err(PollError::Server(e))
        }
    }
}

/// Whether this terminal punched `employee` within `window_s` seconds before `e` (earlier
/// passes of the same page included: they were decided first).
async fn punched_just_before(
    tx: &mut PgConnection,
    terminal: Uuid,
    employee: Uuid,
    e: &Parsed,
    window_s: i64,
) -> AppResult<bool> {
    let at = e.time.with_timezone(&Utc);
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM terminal_events
           WHERE terminal_id = $1 AND employee_id = $2 AND outcome IN ('punched', 'flagged')
             AND serial_no <> $3 AND occurred_at <= $4
             AND occurred_at > $4 - $5 * interval '1 second'
             AND (occurred_at < $4 OR serial_no < $3))",
    )
    .bind(terminal)
    .bind(employee)
    .bind(e.serial_no)
    .bind(at)
    .bind(window_s)
    .fetch_one(tx)
    .await?)
}

async fn insert_page(
    state: &AppState,
    t: &TerminalRow,
    owner: &str,
    events: &[Parsed],
    people: &HashMap<String, Person>,
    photos: &HashMap<i64, String>,
    skewed: bool,
) -> AppResult<(Stored, HashSet<i64>)> {
    let mut tx = state.db.begin().await?;
    // Serialises with anyone else touching this terminal's cursor; the lease must still be
    // ours (a poller whose lease expired and was taken over stops here).
    let cursor: Option<i64> = sqlx::query_scalar(
        "SELECT last_serial_no FROM terminals WHERE id = $1 AND poll_owner = $2 FOR UPDATE",
    )
    .bind(t.id)
    .bind(owner)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(mut last) = cursor else {
        return Err(AppError::internal("the poll lease was lost"));
    };
    let now = Utc::now();
    let mut stored = Stored {
        inserted: 0,
        punched: 0,
        debounced: 0,
        max_serial: events.last().map(|e| e.serial_no),
        max_time: events.iter().map(|e| e.time.with_timezone(&Utc)).max(),
    };
    // What each event is, and the punch it will become (decided before anything is written).
    struct Row<'a> {
        e: &'a Parsed,
        class: EventClass,
        outcome: &'static str,
        employee: Option<Uuid>,
        public_id: Option<Uuid>,
        photo_key: Option<String>,
    }
    let rows: Vec<Row> = events
        .iter()
        .map(|e| {
            let class = EventClass::of(e.major, e.minor);
            let person = e.employee_no.as_ref().and_then(|n| people.get(n));
            let (outcome, employee) = match (class, person) {
                (EventClass::FacePass, Some(p)) if p.status == "active" => {
                    (if skewed { "flagged" } else { "punched" }, Some(p.id))
                }
                (EventClass::FacePass, Some(p)) => ("inactive_employee", Some(p.id)),
                (EventClass::FacePass, None) => ("unknown_person", None),
                (EventClass::FaceFail | EventClass::Stranger, p) => {
                    ("not_punched", p.map(|p| p.id))
                }
                (_, p) => ("ignored", p.map(|p| p.id)),
            };
            let punch = matches!(outcome, "punched" | "flagged");
            Row {
                e,
                class,
                outcome,
                employee,
                public_id: punch.then(Uuid::now_v7),
                photo_key: photos.get(&e.serial_no).filter(|_| punch).cloned(),
            }
        })
        .collect();
    // Raw events first, the page in one statement; a serial number already stored (a re-poll,
    // a second poller) is not returned and not punched again.
    let inserted: HashSet<i64> = sqlx::query_scalar(
        "INSERT INTO terminal_events (terminal_id, serial_no, major, minor, occurred_at,
             employee_no, class, outcome, employee_id, attendance_event_id, photo_key, raw)
         SELECT $1, * FROM UNNEST($2::bigint[], $3::int[], $4::int[], $5::timestamptz[],
             $6::text[], $7::text[], $8::text[], $9::uuid[], $10::uuid[], $11::text[], $12::jsonb[])
         ON CONFLICT (terminal_id, serial_no) DO NOTHING RETURNING serial_no",
    )
    .bind(t.id)
    .bind(rows.iter().map(|r| r.e.serial_no).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| i32::try_from(r.e.major).unwrap_or(-1))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| i32::try_from(r.e.minor).unwrap_or(-1))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.e.time.with_timezone(&Utc))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.e.employee_no.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.class.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.outcome).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.employee).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.public_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.photo_key.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.e.raw.clone()).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let mut used = HashSet::new();
    let mut chain: Option<ChainAppender> = None;
    let debounce = i64::try_from(state.settings.hikvision_debounce_secs).unwrap_or(0);
    for r in rows
        .into_iter()
        .filter(|r| inserted.contains(&r.e.serial_no))
    {
        let e = r.e;
        stored.inserted += 1;
        if last > 0 && e.serial_no > last + 1 {
            sqlx::query(
                "INSERT INTO terminal_anomalies (terminal_id, kind, detail) VALUES ($1, 'serial_gap', $2)",
            )
            .bind(t.id)
            .bind(json!({"from": last + 1, "to": e.serial_no - 1, "missing": e.serial_no - last - 1}))
            .execute(&mut *tx)
            .await?;
        }
        last = last.max(e.serial_no);
        let (Some(public_id), Some(employee)) = (r.public_id, r.employee) else {
            continue;
        };
        let occurred = e.time.with_timezone(&Utc);
        if debounce > 0 && punched_just_before(&mut tx, t.id, employee, e, debounce).await? {
            // A repeated pass (someone lingering in front of the camera): the raw event stays,
            // the punch is the earlier one.
            sqlx::query(
                "UPDATE terminal_events SET outcome = 'debounced', attendance_event_id = NULL
                 WHERE terminal_id = $1 AND serial_no = $2",
            )
            .bind(t.id)
            .bind(e.serial_no)
            .execute(&mut *tx)
            .await?;
            stored.debounced += 1;
            continue;
        }
        let kind = direction(&mut tx, &t.direction, employee, occurred).await?;
        let mut fields = ChainFields::blank(
            public_id,
            employee,
            kind,
            if skewed { "flagged" } else { "verified" },
            occurred,
            now,
        );
        fields.device_id = Some(t.device_id);
        fields.site_id = Some(t.site_id);
        fields.photo_key = r.photo_key;
        if skewed {
            fields.reasons = vec!["terminal_clock_skew".to_owned()];
        }
        let appender = match &mut chain {
            Some(c) => c,
            None => chain.insert(ChainAppender::lock(&mut tx).await?),
        };
        appender.append(&mut tx, fields).await?;
        used.insert(e.serial_no);
        stored.punched += 1;
    }
    sqlx::query(
        "UPDATE terminals SET last_serial_no = GREATEST(last_serial_no, $2),
             last_event_at = GREATEST(last_event_at, $3),
             poll_lease_until = now() + $4 * interval '1 second'
         WHERE id = $1",
    )
    .bind(t.id)
    .bind(stored.max_serial.unwrap_or(0))
    .bind(stored.max_time)
    .bind(LEASE_SECS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((stored, used))
}

/// The punch kind of a pass: the terminal's direction, or for `both` the opposite of the
/// employee's last punch within [`ALTERNATE_WINDOW`] (an `in` when there is none).
async fn direction(
    conn: &mut PgConnection,
    rule: &str,
    employee: Uuid,
    at: DateTime<Utc>,
) -> AppResult<&'static str> {
    Ok(match rule {
        "in" => "in",
        "out" => "out",
        _ => {
            let last: Option<String> = sqlx::query_scalar(
                "SELECT kind FROM attendance_punches
                 WHERE employee_id = $1 AND at <= $2 AND at > $3
                   AND status NOT IN ('rejected', 'superseded', 'flagged_rejected')
                 ORDER BY at DESC, id DESC LIMIT 1",
            )
            .bind(employee)
            .bind(at)
            .bind(at - ALTERNATE_WINDOW)
            .fetch_optional(conn)
            .await?;
            if last.as_deref() == Some("in") {
                "out"
            } else {
                "in"
            }
        }
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
