//! People and faces on the terminals follow the employee list.
//!
//! [`employee_changed`] is the one hook: call it in the same transaction as any change that
//! terminals care about (an employee created, edited, dismissed, re-hired or erased; biometric
//! consent given or withdrawn; enrolment photos added or deleted). It enqueues one
//! `hikvision.person` job per terminal concerned; the job reads the employee's state when it
//! runs and makes the terminal match it, so jobs may run late, twice or out of order.
//!
//! Who is on a terminal: active employees with a terminal person number (`employeeNo`:
//! `hikvision_employee_no`, else the personnel number `card_number`) assigned to the
//! terminal's site. Their face only with biometric consent and an enrolment photo. Anyone
//! else we put there is removed (face first, then the user); `terminal_people` remembers the
//! number we used, so an erased employee is still removed.
//!
//! Errors: the client only looks at `statusCode != 1`; the sub-status goes to the log. A
//! `Record` refused (e.g. the number already exists) is retried as `Modify`, a refused
//! `FaceDataRecord` as `FDSetUp` (PUT), so no firmware-specific error name is relied upon.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::client::{IsapiClient, IsapiError, RightPlan, UserInfo, Validity};
use super::{TerminalRow, load_terminal, log_call, terminal_of};
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::jobs::{self, Enqueue, Job, Outcome};

pub const PERSON_JOB: &str = "hikvision.person";
pub const SYNC_ALL_JOB: &str = "hikvision.sync_all";
/// Terminals take JPEG faces up to about 200 KB.
pub const MAX_FACE_BYTES: usize = 200 * 1024;
/// The end of the validity window of a person with no dismissal date.
const VALID_UNTIL: &str = "2037-12-31T23:59:59";

/// Enqueues the people sync of `employee` on every terminal that should have them or has
/// them, in the caller's transaction. Call it wherever an employee, their site assignments,
/// their biometric consent or their enrolment photos change; for an erased employee, call it
/// in the erasing transaction (the job removes them by the number it remembers).
pub async fn employee_changed(
    conn: &mut PgConnection,
    employee: Uuid,
) -> Result<usize, sqlx::Error> {
    let terminals: Vec<Uuid> = sqlx::query_scalar(
        "SELECT t.id FROM terminals t WHERE t.enabled AND (
             EXISTS (SELECT 1 FROM employee_sites es WHERE es.employee_id = $1 AND es.site_id = t.site_id)
             OR EXISTS (SELECT 1 FROM terminal_people p WHERE p.terminal_id = t.id AND p.employee_id = $1))",
    )
    .bind(employee)
    .fetch_all(&mut *conn)
    .await?;
    for t in &terminals {
        jobs::enqueue(
            conn,
            PERSON_JOB,
            &json!({"terminal_id": t, "employee_id": employee}),
            Enqueue::default(),
        )
        .await?;
    }
    Ok(terminals.len())
}

/// Enqueues a full people sync of a terminal (a new terminal, a new site, re-enabled).
pub async fn enqueue_sync_all(conn: &mut PgConnection, terminal: Uuid) -> Result<(), sqlx::Error> {
    jobs::enqueue(
        conn,
        SYNC_ALL_JOB,
        &json!({"terminal_id": terminal}),
        Enqueue::default(),
    )
    .await
    .map(drop)
}

/// `hikvision.sync_all`: one person job for everyone who is or should be on the terminal.
pub async fn run_sync_all_job(state: &AppState, job: Job) -> Outcome {
    let Some(terminal) = terminal_of(&job) else {
        return Outcome::Fail("payload without terminal_id".into());
    };
    let run = async {
        let mut tx = state.db.begin().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT es.employee_id FROM employee_sites es JOIN terminals t ON t.site_id = es.site_id
              WHERE t.id = $1 AND t.enabled
             UNION SELECT employee_id FROM terminal_people WHERE terminal_id = $1",
        )
        .bind(terminal)
        .fetch_all(&mut *tx)
        .await?;
        for e in &ids {
            jobs::enqueue(
                &mut tx,
                PERSON_JOB,
                &json!({"terminal_id": terminal, "employee_id": e}),
                Enqueue::default(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    };
    match run.await {
        Ok(()) => Outcome::Done,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// The employee as the terminal should show them.
#[derive(Debug, sqlx::FromRow)]
struct Wanted {
    status: String,
    employee_no: Option<String>,
    first_name: String,
    last_name: String,
    created_at: DateTime<Utc>,
    at_site: bool,
    biometric: Option<String>,
    photo_key: Option<String>,
    time_zone: String,
}

#[derive(Debug, sqlx::FromRow)]
struct OnTerminal {
    employee_no: String,
    user_hash: Option<Vec<u8>>,
    face_photo_key: Option<String>,
}

/// Why a person sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Terminal(IsapiError),
    #[error("{0}")]
    Server(AppError),
}

impl From<AppError> for SyncError {
    fn from(e: AppError) -> Self {
        Self::Server(e)
    }
}
impl From<sqlx::Error> for SyncError {
    fn from(e: sqlx::Error) -> Self {
        Self::Server(e.into())
    }
}

/// `hikvision.person`: makes one terminal show one employee as they are now.
pub async fn run_person_job(state: &AppState, job: Job) -> Outcome {
    let (Some(terminal), Some(employee)) = (
        terminal_of(&job),
        job.payload["employee_id"]
            .as_str()
            .and_then(|s| s.parse::<Uuid>().ok()),
    ) else {
        return Outcome::Fail("payload without terminal_id and employee_id".into());
    };
    match sync_person(state, terminal, employee).await {
        Ok(()) => Outcome::Done,
        Err(SyncError::Terminal(IsapiError::Unauthorized)) => {
            // The poller counts 401s and locks the terminal out; wait for new credentials.
            Outcome::RetryAfter(
                Duration::from_secs(300),
                IsapiError::Unauthorized.to_string(),
            )
        }
        Err(SyncError::Terminal(e)) => Outcome::Retry(e.to_string()),
        Err(SyncError::Server(e)) => Outcome::Retry(e.to_string()),
    }
}

/// Pushes or removes one employee on one terminal (see the module docs).
pub async fn sync_person(
    state: &AppState,
    terminal: Uuid,
    employee: Uuid,
) -> Result<(), SyncError> {
    // One sync of this person on this terminal at a time (held across the calls, so a late
    // job cannot overwrite what a newer one pushed).
    let mut tx = state.db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("hikvision.person:{terminal}:{employee}"))
        .execute(&mut *tx)
        .await?;
    let Some(t) = load_terminal(&mut tx, terminal).await? else {
        return Ok(());
    };
    if !t.enabled {
        return Ok(());
    }
    if t.locked_out_at.is_some() {
        return Err(SyncError::Terminal(IsapiError::Unauthorized));
    }
    let wanted: Option<Wanted> = sqlx::query_as(
        "SELECT e.status, COALESCE(e.hikvision_employee_no, e.card_number) AS employee_no,
                e.first_name, e.last_name, e.created_at,
                EXISTS (SELECT 1 FROM employee_sites es WHERE es.employee_id = e.id AND es.site_id = $2) AS at_site,
                (SELECT action FROM consent_records c WHERE c.employee_id = e.id AND c.kind = 'biometric'
                  ORDER BY c.id DESC LIMIT 1) AS biometric,
                (SELECT f.photo_key FROM face_templates f WHERE f.employee_id = e.id AND f.photo_key IS NOT NULL
                  ORDER BY f.quality DESC, f.created_at DESC LIMIT 1) AS photo_key,
                (SELECT s.time_zone FROM sites s WHERE s.id = $2) AS time_zone
         FROM employees e WHERE e.id = $1",
    )
    .bind(employee)
    .bind(t.site_id)
    .fetch_optional(&mut *tx)
    .await?;
    let current: Option<OnTerminal> = sqlx::query_as(
        "SELECT employee_no, user_hash, face_photo_key FROM terminal_people
         WHERE terminal_id = $1 AND employee_id = $2",
    )
    .bind(terminal)
    .bind(employee)
    .fetch_optional(&mut *tx)
    .await?;
    let wanted = wanted.filter(|w| w.status == "active" && w.at_site && w.employee_no.is_some());
    let client = t.client(state)?;

    // Someone who should not be there, or under another number: face first, then the user.
    if let Some(cur) = &current
        && wanted.as_ref().and_then(|w| w.employee_no.as_deref()) != Some(cur.employee_no.as_str())
    {
        remove(state, &t, &client, cur).await?;
        sqlx::query("DELETE FROM terminal_people WHERE terminal_id = $1 AND employee_id = $2")
            .bind(terminal)
            .bind(employee)
            .execute(&mut *tx)
            .await?;
        tracing::info!(terminal = %t.id, %employee, "person removed from the terminal");
    }
    let Some(w) = wanted else {
        tx.commit().await?;
        return Ok(());
    };
    let no = w.employee_no.clone().unwrap_or_default();
    let current = current.filter(|c| c.employee_no == no);

    let user = user_info(&w, &no);
    let hash = Sha256::digest(serde_json::to_vec(&user).unwrap_or_default()).to_vec();
    if current.as_ref().and_then(|c| c.user_hash.as_ref()) != Some(&hash) {
        // Believed present: Modify first; believed absent: Record first; the other on refusal.
        let first_modify = current.is_some();
        let r = if first_modify {
            call(state, &t, "UserInfo/Modify", client.user_modify(&user)).await
        } else {
            call(state, &t, "UserInfo/Record", client.user_record(&user)).await
        };
        match r {
            Ok(()) => {}
            Err(IsapiError::Isapi { .. }) if first_modify => {
                call(state, &t, "UserInfo/Record", client.user_record(&user))
                    .await
                    .map_err(SyncError::Terminal)?;
            }
            Err(IsapiError::Isapi { .. }) => {
                call(state, &t, "UserInfo/Modify", client.user_modify(&user))
                    .await
                    .map_err(SyncError::Terminal)?;
            }
            Err(e) => return Err(SyncError::Terminal(e)),
        }
    }
    // The face follows consent and the enrolment photo.
    let face_wanted = if w.biometric.as_deref() == Some("grant") {
        w.photo_key.clone()
    } else {
        None
    };
    let face_now = current.as_ref().and_then(|c| c.face_photo_key.clone());
    let mut face_after = face_now.clone();
    match (&face_wanted, &face_now) {
        (Some(want), now) if Some(want) != now.as_ref() => {
            let photo = state.photos.get(want).await?;
            let jpeg = crate::face::blocking(move || face_jpeg(&photo)).await?;
            match call(
                state,
                &t,
                "FDLib/FaceDataRecord",
                client.face_record(&no, &jpeg),
            )
            .await
            {
                Ok(()) => {}
                Err(IsapiError::Isapi { .. }) => {
                    call(state, &t, "FDLib/FDSetUp", client.face_setup(&no, &jpeg))
                        .await
                        .map_err(SyncError::Terminal)?;
                }
                Err(e) => return Err(SyncError::Terminal(e)),
            }
            face_after = Some(want.clone());
        }
        (None, Some(_)) => {
            delete_face(state, &t, &client, &no).await?;
            face_after = None;
        }
        _ => {}
    }
    sqlx::query(
        "INSERT INTO terminal_people (terminal_id, employee_id, employee_no, user_hash, face_photo_key)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (terminal_id, employee_id) DO UPDATE SET employee_no = $3, user_hash = $4,
             face_photo_key = $5, synced_at = now()",
    )
    .bind(terminal)
    .bind(employee)
    .bind(&no)
    .bind(&hash)
    .bind(&face_after)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

fn user_info(w: &Wanted, no: &str) -> UserInfo {
    let tz: chrono_tz::Tz = w.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let hired = w.created_at.with_timezone(&tz).date_naive();
    let name: String = format!("{} {}", w.first_name, w.last_name)
        .chars()
        .take(32)
        .collect();
    UserInfo {
        employee_no: no.to_owned(),
        name,
        user_type: "normal",
        valid: Validity {
            enable: true,
            begin_time: format!("{}T00:00:00", hired.format("%Y-%m-%d")),
            end_time: VALID_UNTIL.to_owned(),
            time_type: "local",
        },
        door_right: "1",
        right_plan: vec![RightPlan {
            door_no: 1,
            plan_template_no: "1",
        }],
    }
}

/// Removes a person: the face (which `UserInfo/Delete` may leave behind), then the user.
/// "Not there" answers (any `statusCode != 1`) are logged and taken as done.
async fn remove(
    state: &AppState,
    t: &TerminalRow,
    client: &IsapiClient,
    cur: &OnTerminal,
) -> Result<(), SyncError> {
    if cur.face_photo_key.is_some() {
        delete_face(state, t, client, &cur.employee_no).await?;
    }
    match call(
        state,
        t,
        "UserInfo/Delete",
        client.user_delete(&cur.employee_no),
    )
    .await
    {
        Ok(()) | Err(IsapiError::Isapi { .. }) => Ok(()),
        Err(e) => Err(SyncError::Terminal(e)),
    }
}

async fn delete_face(
    state: &AppState,
    t: &TerminalRow,
    client: &IsapiClient,
    no: &str,
) -> Result<(), SyncError> {
    match call(state, t, "FDLib/FDSearch/Delete", client.face_delete(no)).await {
        Ok(()) | Err(IsapiError::Isapi { .. }) => Ok(()),
        Err(e) => Err(SyncError::Terminal(e)),
    }
}

/// Runs one ISAPI call and logs it.
async fn call<T>(
    state: &AppState,
    t: &TerminalRow,
    op: &str,
    f: impl std::future::Future<Output = Result<T, IsapiError>>,
) -> Result<T, IsapiError> {
    let started = Instant::now();
    let r = f.await;
    log_call(&state.db, t.id, op, &r, Some(1), started).await;
    r
}

/// The enrolment photo as a terminal takes it: a JPEG of at most [`MAX_FACE_BYTES`], scaled
/// down (and compressed harder) until it fits.
pub fn face_jpeg(photo: &[u8]) -> AppResult<Vec<u8>> {
    use image::ImageEncoder;
    let img = image::load_from_memory(photo)
        .map_err(|e| AppError::internal(format!("enrolment photo unreadable: {e}")))?;
    let mut side = 1024u32;
    let mut quality = 90u8;
    loop {
        let scaled = if img.width().max(img.height()) > side {
            img.resize(side, side, image::imageops::FilterType::Triangle)
        } else {
            img.clone()
        };
        let rgb = scaled.to_rgb8();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|e| AppError::internal(format!("JPEG encoding failed: {e}")))?;
        if out.len() <= MAX_FACE_BYTES || side <= 160 {
            return Ok(out);
        }
        side = side * 3 / 4;
        quality = quality.saturating_sub(10).max(60);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_become_small_jpegs() {
        // A noisy 2000×1500 PNG is far over 200 KB.
        let mut img = image::RgbImage::new(2000, 1500);
        for (i, p) in img.pixels_mut().enumerate() {
            let v = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
            *p = image::Rgb([v, v.wrapping_mul(3), v.wrapping_add(91)]);
        }
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let jpeg = face_jpeg(&png).unwrap();
        assert!(jpeg.len() <= MAX_FACE_BYTES, "{}", jpeg.len());
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        assert!(face_jpeg(b"not an image").is_err());
    }
}
