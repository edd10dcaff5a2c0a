//! Storing one page of a terminal's events: pictures, raw events, punches, gaps and the
//! cursor, in one transaction.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use faceid_protocol::reason_code::ReasonCode;
use faceid_protocol::wire_text::WireText;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ALTERNATE_WINDOW, EventClass, LEASE_SECS, Parsed, PollError, parse_item};
use crate::AppState;
use crate::attendance::{ChainAppender, ChainFields};
use crate::error::{AppError, AppResult};
use crate::hikvision::client::{IsapiClient, IsapiError};
use crate::hikvision::{TerminalRow, log_call};

pub(super) struct Stored {
    pub(super) inserted: u64,
    pub(super) punched: u64,
    /// Face passes not punched because the same person was punched just before.
    pub(super) debounced: u64,
    pub(super) max_serial: Option<i64>,
    pub(super) max_time: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Person {
    id: Uuid,
    status: String,
    no: String,
}

/// Stores one page: pictures fetched first (outside the transaction), then raw events,
/// punches, gaps and the cursor in one transaction.
pub(super) async fn store_page(
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
    .bind(rows.iter().map(|r| r.class.wire_text()).collect::<Vec<_>>())
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
            fields.reasons = ReasonCode::texts(&[ReasonCode::TerminalClockSkew]);
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
