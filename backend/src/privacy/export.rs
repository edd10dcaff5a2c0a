//! Data exports: everything the server holds about one employee, as a ZIP.
//!
//! `POST …/export` stores a `queued` row and enqueues the `privacy.export` job in one
//! transaction; the job streams each table from PostgreSQL into the ZIP (a writer thread owns
//! the file, rows are sent to it in chunks, so no table is ever held in memory whole), writes
//! `<id>.zip.part` in `data_dir/exports` and renames it when complete. `GET …/export/{id}`
//! answers 202 with the state while it is queued, then streams the ZIP (200), 409
//! `export_failed` if it failed, and 410 `export_expired` after retention removed the file.
//!
//! The ZIP: `README.txt` in the employee's language; `profile.json`, `telegram_link.json`;
//! for each table a `.json` (an array of objects) and a `.csv` (same columns, UTF-8, header
//! row); `photos/enrolment/<template>.<ext>`, `photos/evidence/<event>.<ext>`,
//! `photos/profile.<ext>`. Face descriptors are never exported, only their metadata.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::{AssertSqlSafe, PgConnection};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::job_files::{self, remove_file};
use crate::jobs::{Job, Outcome};
use crate::telegram::texts::Lang;
pub use faceid_protocol::privacy::{ExportRequest, ExportStatus, MY_EXPORT_PATH};

/// Attempts of the export job before the export is `failed`.
pub const MAX_ATTEMPTS: i32 = 3;
/// Rows or bytes gathered before they are handed to the ZIP writer.
const CHUNK_BYTES: usize = 64 * 1024;

pub(crate) const COLUMNS: &str =
    "id, employee_id, state, language, size_bytes, error, created_at, finished_at, expires_at";

/// Directory of the export files.
pub fn exports_dir(settings: &crate::Settings) -> PathBuf {
    settings.data_dir.join("exports")
}

pub(crate) fn file_path(settings: &crate::Settings, id: Uuid) -> PathBuf {
    exports_dir(settings).join(format!("{id}.zip"))
}

// ---------------------------------------------------------------------------------------------
// Retention

/// Deletes the files of exports past their expiry; answers how many.
pub async fn expire(state: &AppState, now: DateTime<Utc>) -> AppResult<u64> {
    job_files::expire(&state.db, "data_exports", "ready", now, |id| {
        file_path(&state.settings, id)
    })
    .await
}

/// Deletes every export of `employee`, files and rows (pseudonymisation).
pub async fn delete_all_of(
    state: &AppState,
    conn: &mut PgConnection,
    employee: Uuid,
) -> AppResult<()> {
    let ids: Vec<Uuid> =
        sqlx::query_scalar("DELETE FROM data_exports WHERE employee_id = $1 RETURNING id")
            .bind(employee)
            .fetch_all(conn)
            .await?;
    for id in ids {
        remove_file(&file_path(&state.settings, id)).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The job

/// The `privacy.export` job: writes the ZIP of one queued export.
pub async fn run_job(state: &AppState, job: &Job) -> Outcome {
    let table = ("data_exports", "'queued'");
    job_files::run_row_job(&state.db, job, "export_id", MAX_ATTEMPTS, table, |id| {
        write_export(state, id)
    })
    .await
}

/// Writes export `id` (nothing when it is not `queued`).
pub async fn write_export(state: &AppState, id: Uuid) -> AppResult<()> {
    let row: Option<(Uuid, String, String)> =
        sqlx::query_as("SELECT employee_id, language, state FROM data_exports WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db)
            .await?;
    let Some((employee, language, _)) = row.filter(|r| r.2 == "queued") else {
        return Ok(());
    };
    let dir = exports_dir(&state.settings);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::internal(format!("{}: {e}", dir.display())))?;
    let part = dir.join(format!("{id}.zip.part"));
    let (tx, rx) = mpsc::channel(8);
    let path = part.clone();
    let writer = tokio::task::spawn_blocking(move || write_zip(&path, rx));
    let mut sink = Sink { tx };
    let produced = produce(
        state,
        employee,
        Lang::parse(Some(language.as_str())),
        &mut sink,
    )
    .await;
    drop(sink);
    let written = writer
        .await
        .map_err(AppError::internal)
        .and_then(|r| r.map_err(|e| AppError::internal(format!("writing the export: {e}"))));
    let size = match (produced, written) {
        (Ok(()), Ok(size)) => size,
        (Err(e), _) | (Ok(()), Err(e)) => {
            remove_file(&part).await?;
            return Err(e);
        }
    };
    tokio::fs::rename(&part, file_path(&state.settings, id))
        .await
        .map_err(|e| AppError::internal(format!("{}: {e}", part.display())))?;
    let keep = i64::from(state.settings.export_keep_hours);
    sqlx::query(
        "UPDATE data_exports SET state = 'ready', size_bytes = $2, finished_at = now(),
                expires_at = now() + $3 * interval '1 hour'
          WHERE id = $1 AND state = 'queued'",
    )
    .bind(id)
    .bind(i64::try_from(size).unwrap_or(i64::MAX))
    .bind(keep as f64)
    .execute(&state.db)
    .await?;
    tracing::info!(export = %id, %employee, size, "export written");
    Ok(())
}

/// What the producer sends the ZIP writer thread.
enum Msg {
    /// Start a new entry.
    File { name: String, deflate: bool },
    /// More bytes of the current entry.
    Data(Vec<u8>),
}

/// The producer's end of the channel to the writer thread.
struct Sink {
    tx: mpsc::Sender<Msg>,
}

impl Sink {
    async fn send(&mut self, m: Msg) -> AppResult<()> {
        self.tx
            .send(m)
            .await
            .map_err(|_| AppError::internal("the export writer stopped"))
    }

    async fn file(&mut self, name: impl Into<String>, deflate: bool) -> AppResult<()> {
        self.send(Msg::File {
            name: name.into(),
            deflate,
        })
        .await
    }

    async fn data(&mut self, bytes: Vec<u8>) -> AppResult<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.send(Msg::Data(bytes)).await
    }

    async fn whole(
        &mut self,
        name: impl Into<String>,
        deflate: bool,
        bytes: Vec<u8>,
    ) -> AppResult<()> {
        self.file(name, deflate).await?;
        self.data(bytes).await
    }
}

/// The writer thread: entries in the order they arrive; answers the file's size.
fn write_zip(
    path: &Path,
    mut rx: mpsc::Receiver<Msg>,
) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let file = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let mut open = false;
    while let Some(m) = rx.blocking_recv() {
        match m {
            Msg::File { name, deflate } => {
                let method = if deflate {
                    zip::CompressionMethod::Deflated
                } else {
                    zip::CompressionMethod::Stored
                };
                let opts = zip::write::SimpleFileOptions::default()
                    .compression_method(method)
                    .large_file(true);
                zip.start_file(name, opts)?;
                open = true;
            }
            Msg::Data(b) if open => zip.write_all(&b)?,
            Msg::Data(_) => return Err("data before the first entry".into()),
        }
    }
    let file = zip.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(file.metadata()?.len())
}

// ---------------------------------------------------------------------------------------------
// Contents

/// A table of the export: its file name, columns (the CSV's, in order) and the query that
/// selects exactly those columns of employee `$1`.
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    sql: &'static str,
}

const TABLES: &[Table] = &[
    Table {
        name: "devices",
        columns: &[
            "id", "kind", "name", "platform", "app_version", "blocked", "allowed", "sessions",
            "first_session_at", "last_used_at",
        ],
        sql: "SELECT d.id, d.kind, d.name, d.platform, d.app_version, d.blocked,
                EXISTS (SELECT 1 FROM employee_allowed_devices a WHERE a.employee_id = $1 AND a.device_id = d.id) AS allowed,
                (SELECT count(*) FROM sessions s WHERE s.employee_id = $1 AND s.device_id = d.id) AS sessions,
                (SELECT min(s.created_at) FROM sessions s WHERE s.employee_id = $1 AND s.device_id = d.id) AS first_session_at,
                (SELECT max(s.last_used_at) FROM sessions s WHERE s.employee_id = $1 AND s.device_id = d.id) AS last_used_at
              FROM devices d
             WHERE d.id IN (SELECT device_id FROM sessions WHERE employee_id = $1
                            UNION SELECT device_id FROM employee_allowed_devices WHERE employee_id = $1)
             ORDER BY d.created_at, d.id",
    },
    Table {
        name: "sessions",
        columns: &["id", "device_id", "created_at", "last_used_at", "revoked_at", "revoke_reason"],
        sql: "SELECT id, device_id, created_at, last_used_at, revoked_at, revoke_reason
                FROM sessions WHERE employee_id = $1 ORDER BY created_at, id",
    },
    Table {
        name: "consents",
        columns: &["id", "kind", "action", "text_version", "method", "device_id", "actor_id", "at"],
        sql: "SELECT id, kind, action, text_version, method, device_id, actor_id, at
                FROM consent_records WHERE employee_id = $1 ORDER BY id",
    },
    Table {
        name: "consent_texts",
        columns: &["kind", "version", "body", "created_at"],
        sql: "SELECT t.kind, t.version, t.body, t.created_at FROM consent_texts t
               WHERE EXISTS (SELECT 1 FROM consent_records r WHERE r.employee_id = $1
                              AND r.kind = t.kind AND r.text_version = t.version)
               ORDER BY t.kind, t.version",
    },
    Table {
        name: "attendance_events",
        columns: &[
            "event_id", "kind", "occurred_at", "received_at", "verdict", "reasons", "status",
            "site", "device_id", "lat", "lon", "accuracy_m", "distance_m", "face_distance",
            "liveness_score", "has_photo", "photo_erased_at",
        ],
        sql: "SELECT e.public_id AS event_id, e.kind, e.occurred_at, e.received_at, e.verdict,
                     e.reasons, p.status, s.name AS site, e.device_id, e.lat, e.lon, e.accuracy_m,
                     e.distance_m, e.face_distance, e.liveness_score,
                     (e.photo_key IS NOT NULL AND e.photo_erased_at IS NULL) AS has_photo,
                     e.photo_erased_at
                FROM attendance_events e
                LEFT JOIN attendance_punches p ON p.id = e.id
                LEFT JOIN sites s ON s.id = e.site_id
               WHERE e.employee_id = $1 AND e.kind IN ('in', 'out') ORDER BY e.id",
    },
    Table {
        name: "corrections_and_reviews",
        columns: &[
            "event_id", "kind", "punch_kind", "occurred_at", "received_at", "decision", "comment",
            "refers_to_event", "actor_id", "status",
        ],
        sql: "SELECT e.public_id AS event_id, e.kind, e.punch_kind, e.occurred_at, e.received_at,
                     e.decision, e.comment, r.public_id AS refers_to_event, e.actor_id, p.status
                FROM attendance_events e
                LEFT JOIN attendance_events r ON r.id = e.refers_to
                LEFT JOIN attendance_punches p ON p.id = e.id
               WHERE e.employee_id = $1 AND e.kind IN ('review', 'correction') ORDER BY e.id",
    },
    Table {
        name: "correction_requests",
        columns: &[
            "id", "kind", "event_id", "punch_kind", "at", "field", "value", "comment", "state",
            "decided_at", "decision_comment", "correction_event_id", "created_at",
        ],
        sql: "SELECT id, kind, event_id, punch_kind, at, field, value, comment, state, decided_at,
                     decision_comment, correction_event_id, created_at
                FROM correction_requests WHERE employee_id = $1 ORDER BY created_at, id",
    },
    Table {
        name: "timesheet_days",
        columns: &[
            "day", "status", "worked_minutes", "late_minutes", "early_leave_minutes",
            "overtime_minutes", "night_minutes", "absence", "missing_checkout", "pending_events",
            "worked_on_day_off", "t13_code", "t13_hours", "is_final", "time_zone", "computed_at",
        ],
        sql: "SELECT day, status, worked_minutes, late_minutes, early_leave_minutes,
                     overtime_minutes, night_minutes, absence, missing_checkout, pending_events,
                     worked_on_day_off, t13_code, t13_hours, is_final, time_zone, computed_at
                FROM timesheet_days WHERE employee_id = $1 ORDER BY day",
    },
    Table {
        name: "absences",
        columns: &["id", "kind", "date_from", "date_to", "note", "created_at"],
        sql: "SELECT id, kind, date_from, date_to, note, created_at
                FROM absences WHERE employee_id = $1 ORDER BY date_from, id",
    },
    Table {
        name: "location_points",
        columns: &[
            "recorded_at", "lat", "lon", "accuracy", "speed", "bearing", "altitude", "mock",
            "jump", "battery", "device_id", "received_at",
        ],
        sql: "SELECT recorded_at, lat, lon, accuracy, speed, bearing, altitude, mock, jump,
                     battery, device_id, received_at
                FROM location_points WHERE employee_id = $1 ORDER BY recorded_at, device_id",
    },
    Table {
        name: "face_templates",
        columns: &["id", "model_id", "quality", "has_photo", "created_at"],
        sql: "SELECT id, model_id, quality, photo_key IS NOT NULL AS has_photo, created_at
                FROM face_templates WHERE employee_id = $1 ORDER BY created_at, id",
    },
    Table {
        name: "erasure_requests",
        columns: &[
            "id", "scope", "state", "comment", "requested_at", "decided_at", "refusal_reason",
            "outcome", "finished_at",
        ],
        sql: "SELECT id, scope, state, comment, requested_at, decided_at, refusal_reason, outcome,
                     finished_at
                FROM erasure_requests WHERE employee_id = $1 ORDER BY requested_at, id",
    },
    Table {
        name: "restrictions",
        columns: &["kind", "restricted_at", "restricted_by"],
        sql: "SELECT kind, restricted_at, restricted_by
                FROM processing_restrictions WHERE employee_id = $1 ORDER BY kind",
    },
];

const PROFILE_SQL: &str = "SELECT e.id, e.login, e.first_name, e.last_name, e.card_number, e.role,
        d.name AS department, p.name AS position, e.status, e.dismissed_at, e.created_at,
        e.updated_at, e.iiko_id, e.hikvision_employee_no, e.scope_department_ids,
        e.scope_site_ids,
        ARRAY(SELECT s.name FROM employee_sites es JOIN sites s ON s.id = es.site_id
               WHERE es.employee_id = e.id ORDER BY s.name) AS sites,
        e.photo_key IS NOT NULL AS has_profile_photo
   FROM employees e
   LEFT JOIN departments d ON d.id = e.department_id
   LEFT JOIN positions p ON p.id = e.position_id
  WHERE e.id = $1";

const TELEGRAM_SQL: &str = "SELECT chat_id, telegram_user_id, telegram_username, language,
        status, notify_punches, notify_flagged, notify_reviews, notify_late, notify_absent,
        notify_checkout, notify_summary, linked_at, updated_at
   FROM telegram_links WHERE employee_id = $1";

/// Every entry of the ZIP, in order.
async fn produce(state: &AppState, employee: Uuid, lang: Lang, sink: &mut Sink) -> AppResult<()> {
    sink.whole("README.txt", true, readme(lang).into_bytes())
        .await?;
    for (name, sql) in [("profile", PROFILE_SQL), ("telegram_link", TELEGRAM_SQL)] {
        let row: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT row_to_json(x)::text FROM ({sql}) x"
        )))
        .bind(employee)
        .fetch_optional(&state.db)
        .await?;
        let value: Value = match row {
            Some(t) => serde_json::from_str(&t).map_err(AppError::internal)?,
            None => Value::Null,
        };
        let bytes = serde_json::to_vec_pretty(&value).map_err(AppError::internal)?;
        sink.whole(format!("{name}.json"), true, bytes).await?;
    }
    for t in TABLES {
        table_json(state, employee, t, sink).await?;
        table_csv(state, employee, t, sink).await?;
    }
    photos(state, employee, sink).await
}

/// Rows of `t` as JSON texts, in order.
fn rows<'a>(
    state: &'a AppState,
    employee: Uuid,
    t: &Table,
) -> impl futures_util::Stream<Item = Result<String, sqlx::Error>> + 'a {
    let sql = format!("SELECT row_to_json(x)::text FROM ({}) x", t.sql);
    sqlx::query_scalar::<_, String>(AssertSqlSafe(sql))
        .bind(employee)
        .fetch(&state.db)
}

async fn table_json(state: &AppState, employee: Uuid, t: &Table, sink: &mut Sink) -> AppResult<()> {
    sink.file(format!("{}.json", t.name), true).await?;
    let mut buf = b"[".to_vec();
    let mut first = true;
    let mut stream = std::pin::pin!(rows(state, employee, t));
    while let Some(row) = stream.try_next().await? {
        buf.extend_from_slice(if first {
            b"\n".as_slice()
        } else {
            b",\n".as_slice()
        });
        first = false;
        buf.extend_from_slice(row.as_bytes());
        if buf.len() >= CHUNK_BYTES {
            sink.data(std::mem::take(&mut buf)).await?;
        }
    }
    buf.extend_from_slice(b"\n]\n");
    sink.data(buf).await
}

/// A CSV cell of a JSON value: text as is, arrays of texts joined by `;`, null empty.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.iter().all(|i| i.is_string()) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    }
}

fn csv_record(record: &[String]) -> AppResult<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(record).map_err(AppError::internal)?;
    w.into_inner().map_err(AppError::internal)
}

async fn table_csv(state: &AppState, employee: Uuid, t: &Table, sink: &mut Sink) -> AppResult<()> {
    sink.file(format!("{}.csv", t.name), true).await?;
    let header: Vec<String> = t.columns.iter().map(|c| (*c).to_owned()).collect();
    let mut buf = csv_record(&header)?;
    let mut stream = std::pin::pin!(rows(state, employee, t));
    while let Some(row) = stream.try_next().await? {
        let v: Value = serde_json::from_str(&row).map_err(AppError::internal)?;
        let record: Vec<String> = t.columns.iter().map(|c| cell(&v[*c])).collect();
        buf.extend(csv_record(&record)?);
        if buf.len() >= CHUNK_BYTES {
            sink.data(std::mem::take(&mut buf)).await?;
        }
    }
    sink.data(buf).await
}

fn extension(bytes: &[u8]) -> &'static str {
    match faceid_face::decode::sniff_format(bytes) {
        Ok(image::ImageFormat::Png) => "png",
        Ok(image::ImageFormat::WebP) => "webp",
        _ => "jpg",
    }
}

/// The enrolment, evidence and profile photos still in the store.
async fn photos(state: &AppState, employee: Uuid, sink: &mut Sink) -> AppResult<()> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    let enrolment: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, photo_key FROM face_templates
          WHERE employee_id = $1 AND photo_key IS NOT NULL ORDER BY created_at, id",
    )
    .bind(employee)
    .fetch_all(&state.db)
    .await?;
    wanted.extend(
        enrolment
            .into_iter()
            .map(|(id, k)| (format!("photos/enrolment/{id}"), k)),
    );
    let evidence: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT public_id, photo_key FROM attendance_events
          WHERE employee_id = $1 AND photo_key IS NOT NULL AND photo_erased_at IS NULL ORDER BY id",
    )
    .bind(employee)
    .fetch_all(&state.db)
    .await?;
    wanted.extend(
        evidence
            .into_iter()
            .map(|(id, k)| (format!("photos/evidence/{id}"), k)),
    );
    let profile: Option<String> = sqlx::query_scalar(
        "SELECT photo_key FROM employees WHERE id = $1 AND photo_key IS NOT NULL",
    )
    .bind(employee)
    .fetch_optional(&state.db)
    .await?;
    wanted.extend(profile.map(|k| ("photos/profile".to_owned(), k)));
    for (name, key) in wanted {
        match state.photos.get(&key).await {
            Ok(bytes) => {
                let name = format!("{name}.{}", extension(&bytes));
                sink.whole(name, false, bytes).await?;
            }
            // Removed meanwhile (retention, erasure): nothing to export.
            Err(AppError::NotFound { .. }) => {
                tracing::warn!(%key, "photo of an export missing from the store");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `README.txt`: what each file holds, in the employee's language.
pub fn readme(lang: Lang) -> String {
    let (title, intro, files, outro): (&str, &str, &[(&str, &str)], &str) = match lang {
        Lang::En => (
            "Your data in FaceID",
            "This archive holds every piece of personal data the FaceID server of your employer keeps about you, as of the moment it was made. Tables come twice: as JSON (an array of objects) and as CSV (UTF-8, comma-separated, first row the column names). Times are in UTC.",
            &[
                (
                    "profile.json",
                    "your profile: name, login, card number, role, department, position, sites, status",
                ),
                (
                    "devices.json / .csv",
                    "the phones and kiosks you signed in on, and whether they are allowed for you",
                ),
                (
                    "sessions.json / .csv",
                    "your sign-ins: device, start, last use, end",
                ),
                (
                    "consents.json / .csv",
                    "every consent you gave or withdrew (biometric, location, Telegram), with the text version",
                ),
                ("consent_texts.json / .csv", "the texts of those consents"),
                (
                    "attendance_events.json / .csv",
                    "your check-ins and check-outs with the server's verdict, its reasons, the status after review, place and face-check figures",
                ),
                (
                    "corrections_and_reviews.json / .csv",
                    "reviews of your flagged punches and corrections entered for you",
                ),
                (
                    "correction_requests.json / .csv",
                    "the corrections of punches or of your name you asked for, and the answers",
                ),
                (
                    "timesheet_days.json / .csv",
                    "your computed working days: hours, lateness, overtime, the T-13 codes",
                ),
                (
                    "absences.json / .csv",
                    "leave, sick leave and business trips recorded for you",
                ),
                (
                    "location_points.json / .csv",
                    "the locations your phone recorded during working hours",
                ),
                (
                    "face_templates.json / .csv",
                    "your enrolled face templates: model, quality, date. The templates themselves (encrypted number vectors) are never exported",
                ),
                (
                    "telegram_link.json",
                    "your linked Telegram chat and notification settings (null: none)",
                ),
                (
                    "erasure_requests.json / .csv",
                    "your erasure requests, what they removed and what was kept and why",
                ),
                ("restrictions.json / .csv", "processing you restricted"),
                (
                    "photos/",
                    "enrolment photos, evidence frames of your punches (named by event id) and your profile photo, as far as they are still kept",
                ),
            ],
            "Attendance events are kept for the legal retention period even after an erasure; evidence photos are deleted after the retention period. Questions: contact your employer's administrator.",
        ),
        Lang::Tg => (
            "Маълумоти шумо дар FaceID",
            "Ин бойгонӣ ҳамаи маълумоти шахсиеро дар бар мегирад, ки сервери FaceID-и корфармои шумо дар бораи шумо нигоҳ медорад (дар лаҳзаи тартиб додан). Ҷадвалҳо ду бор меоянд: JSON (массиви объектҳо) ва CSV (UTF-8, бо вергул, сатри аввал номи сутунҳо). Вақт бо UTC.",
            &[
                (
                    "profile.json",
                    "профили шумо: ном, логин, рақами корт, нақш, шуъба, вазифа, объектҳо, ҳолат",
                ),
                (
                    "devices.json / .csv",
                    "телефонҳо ва киоскҳое, ки шумо дар онҳо ворид шудаед",
                ),
                (
                    "sessions.json / .csv",
                    "воридшавиҳои шумо: дастгоҳ, оғоз, истифодаи охирин, анҷом",
                ),
                (
                    "consents.json / .csv",
                    "ҳар розигие, ки шумо додаед ё бозпас гирифтаед (биометрӣ, ҷойгиршавӣ, Telegram)",
                ),
                ("consent_texts.json / .csv", "матнҳои ин розигиҳо"),
                (
                    "attendance_events.json / .csv",
                    "қайдҳои омадан ва рафтани шумо бо хулосаи сервер, сабабҳо, ҳолат пас аз баррасӣ",
                ),
                (
                    "corrections_and_reviews.json / .csv",
                    "баррасиҳо ва ислоҳҳои қайдҳои шумо",
                ),
                (
                    "correction_requests.json / .csv",
                    "дархостҳои шумо барои ислоҳи қайдҳо ё номатон ва ҷавобҳо ба онҳо",
                ),
                (
                    "timesheet_days.json / .csv",
                    "рӯзҳои кории ҳисобшуда: соатҳо, деромадан, изофакорӣ, рамзҳои Т-13",
                ),
                (
                    "absences.json / .csv",
                    "рухсатӣ, беморӣ ва сафарҳои хизматӣ",
                ),
                (
                    "location_points.json / .csv",
                    "ҷойгиршавиҳое, ки телефони шумо дар соатҳои корӣ сабт кардааст",
                ),
                (
                    "face_templates.json / .csv",
                    "қолибҳои чеҳраи шумо: модел, сифат, сана. Худи қолибҳо (векторҳои рамзгузоришуда) содир карда намешаванд",
                ),
                (
                    "telegram_link.json",
                    "чати Telegram-и пайвастшуда ва танзимоти огоҳиҳо (null: нест)",
                ),
                (
                    "erasure_requests.json / .csv",
                    "дархостҳои нест кардан, чӣ нест шуд ва чӣ нигоҳ дошта шуд ва чаро",
                ),
                ("restrictions.json / .csv", "маҳдудиятҳои коркард"),
                (
                    "photos/",
                    "аксҳои сабти чеҳра, кадрҳои далелии қайдҳо (бо рақами ҳодиса) ва акси профил, агар ҳанӯз нигоҳ дошта шаванд",
                ),
            ],
            "Қайдҳои давомот дар давоми мӯҳлати қонунӣ ҳатто пас аз нест кардан нигоҳ дошта мешаванд; аксҳои далелӣ пас аз мӯҳлати нигоҳдорӣ нест карда мешаванд. Саволҳо: ба маъмури корфармо муроҷиат кунед.",
        ),
        Lang::Ru => (
            "Ваши данные в FaceID",
            "Этот архив содержит все персональные данные, которые сервер FaceID вашего работодателя хранит о вас, на момент его создания. Таблицы даны дважды: в JSON (массив объектов) и в CSV (UTF-8, через запятую, первая строка — названия столбцов). Время указано в UTC.",
            &[
                (
                    "profile.json",
                    "ваш профиль: имя, логин, номер карты, роль, отдел, должность, объекты, статус",
                ),
                (
                    "devices.json / .csv",
                    "телефоны и киоски, на которых вы входили, и разрешены ли они вам",
                ),
                (
                    "sessions.json / .csv",
                    "ваши входы: устройство, начало, последнее использование, завершение",
                ),
                (
                    "consents.json / .csv",
                    "каждое данное или отозванное согласие (биометрия, геолокация, Telegram) с версией текста",
                ),
                ("consent_texts.json / .csv", "тексты этих согласий"),
                (
                    "attendance_events.json / .csv",
                    "ваши отметки прихода и ухода с решением сервера, причинами, статусом после проверки, местом и показателями проверки лица",
                ),
                (
                    "corrections_and_reviews.json / .csv",
                    "проверки ваших спорных отметок и исправления, внесённые за вас",
                ),
                (
                    "correction_requests.json / .csv",
                    "ваши запросы на исправление отметок или имени и ответы на них",
                ),
                (
                    "timesheet_days.json / .csv",
                    "рассчитанные рабочие дни: часы, опоздания, переработки, коды Т-13",
                ),
                ("absences.json / .csv", "отпуска, больничные и командировки"),
                (
                    "location_points.json / .csv",
                    "местоположения, записанные вашим телефоном в рабочее время",
                ),
                (
                    "face_templates.json / .csv",
                    "ваши шаблоны лица: модель, качество, дата. Сами шаблоны (зашифрованные числовые векторы) не выгружаются никогда",
                ),
                (
                    "telegram_link.json",
                    "привязанный чат Telegram и настройки уведомлений (null — нет)",
                ),
                (
                    "erasure_requests.json / .csv",
                    "ваши запросы на удаление: что удалено, что сохранено и почему",
                ),
                (
                    "restrictions.json / .csv",
                    "ограничения обработки, которые вы установили",
                ),
                (
                    "photos/",
                    "фото для регистрации лица, кадры-доказательства отметок (по номеру события) и фото профиля, пока они хранятся",
                ),
            ],
            "Отметки посещаемости хранятся в течение установленного законом срока даже после удаления; фото-доказательства удаляются по истечении срока хранения. Вопросы — администратору работодателя.",
        ),
    };
    let mut out = format!(
        "{title}\n{}\n\n{intro}\n\n",
        "=".repeat(title.chars().count())
    );
    for (file, what) in files {
        out.push_str(&format!("{file}\n    {what}\n"));
    }
    out.push('\n');
    out.push_str(outro);
    out.push('\n');
    out
}
