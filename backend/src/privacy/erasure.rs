//! Erasure requests and their cascade.
//!
//! The employee files a request with a scope; an administrator approves it (the
//! `privacy.erasure` job is enqueued in the same transaction) or refuses it with a reason.
//! The cascade ([`erase`]) deletes, per scope:
//!
//! | scope | removed |
//! |---|---|
//! | `biometrics` | face templates (the same [`crate::consent::delete_face_templates`] a consent withdrawal uses) and their enrolment photos, biometric consent withdrawn, removal pushed to the face terminals |
//! | `photos` | enrolment photos, evidence photos of punches, the profile photo |
//! | `locations` | location points and batch answers, location consent withdrawn |
//! | `everything` | all of the above and the Telegram link (Telegram consent withdrawn) |
//!
//! Attendance events stay for the legal period. An evidence photo's bytes leave the photo
//! store and the event gets `photo_erased_at`, a column outside the hash chain: the hashed
//! `photo_key` stays, so the chain verifies after an erasure, and the photo endpoint answers
//! 410 `photo_erased`. The request records what was removed and what was kept and why.

use chrono::{DateTime, Utc};
use faceid_protocol::consent::ConsentKind;
use faceid_protocol::error_code::ErrorCode;
pub use faceid_protocol::privacy::{ErasureQuery, ErasureState, Refusal};
use faceid_protocol::wire_text::WireText;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::consent;
use crate::error::{AppError, AppResult};
use crate::jobs::{Job, Outcome};

/// Longest comment or refusal reason, in characters.
pub const MAX_TEXT_LEN: usize = 2000;

pub use faceid_protocol::privacy::{
    ErasureOutcome, ErasureRequest, ErasureScope, Kept, MY_ERASURE_REQUESTS_PATH,
    NewErasureRequest, Removed,
};

/// A stored scope; an unknown text is a bug.
fn parse_scope(s: &str) -> AppResult<ErasureScope> {
    ErasureScope::from_wire_text(s)
        .ok_or_else(|| AppError::internal(format!("unknown scope {s:?}")))
}

/// The parts of the employee's data `scope` removes.
pub fn parts(scope: ErasureScope) -> Parts {
    let all = scope == ErasureScope::Everything;
    Parts {
        biometrics: all || scope == ErasureScope::Biometrics,
        photos: all || scope == ErasureScope::Photos,
        locations: all || scope == ErasureScope::Locations,
        telegram: all,
    }
}

/// What [`erase`] removes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Parts {
    /// Face templates with their photos; terminals told.
    pub biometrics: bool,
    /// Enrolment, evidence and profile photos.
    pub photos: bool,
    /// Location points and batch answers.
    pub locations: bool,
    /// The Telegram link and link codes.
    pub telegram: bool,
}

impl Parts {
    pub const ALL: Parts = Parts {
        biometrics: true,
        photos: true,
        locations: true,
        telegram: true,
    };
}

pub(crate) const COLUMNS: &str =
    "id, employee_id, scope, state, comment, requested_at, decided_by, decided_at,
    refusal_reason, outcome, finished_at";

/// What the face terminals were told about a person whose biometrics are erased.
///
/// Queues the removal of `employee` from every face terminal that has them or should, inside
/// the cascade's transaction (so it is queued exactly when the erasure commits); the terminal
/// sync finds no consent and no template and removes the person. Answers what was queued.
pub async fn push_removal_to_terminals(
    conn: &mut PgConnection,
    employee: Uuid,
) -> AppResult<String> {
    let terminals = crate::hikvision::sync::employee_changed(conn, employee).await?;
    Ok(match terminals {
        0 => "no_terminals".into(),
        n => format!("removal_queued_on_{n}_terminals"),
    })
}

/// Removes `parts` of `employee`'s data inside the caller's transaction and answers what was
/// removed and the photo keys whose bytes must leave the store before the transaction
/// commits. `withdraw_as`: record consent withdrawals by this actor (an approved request);
/// `None` deletes without ledger entries (pseudonymisation after the legal period).
pub async fn erase(
    conn: &mut PgConnection,
    employee: Uuid,
    parts: Parts,
    withdraw_as: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<(Removed, Vec<String>)> {
    // Serialise with enrolment and consent changes of this employee.
    sqlx::query("SELECT 1 FROM employees WHERE id = $1 FOR UPDATE")
        .bind(employee)
        .execute(&mut *conn)
        .await?;
    let mut removed = Removed::default();
    let mut keys: Vec<String> = Vec::new();
    if parts.biometrics {
        if let Some(actor) = withdraw_as {
            let r =
                consent::withdraw_if_granted(&mut *conn, employee, ConsentKind::Biometric, actor)
                    .await?;
            removed.face_templates += r.face_templates;
            removed.enrolment_photos += r.photo_keys.len() as u64;
            keys.extend(r.photo_keys);
        }
        let r = consent::delete_face_templates(&mut *conn, employee).await?;
        removed.face_templates += r.face_templates;
        removed.enrolment_photos += r.photo_keys.len() as u64;
        keys.extend(r.photo_keys);
        removed.terminals = Some(push_removal_to_terminals(&mut *conn, employee).await?);
    }
    if parts.photos {
        let enrolment: Vec<String> = sqlx::query_scalar(
            "UPDATE face_templates t SET photo_key = NULL
               FROM (SELECT id, photo_key FROM face_templates
                      WHERE employee_id = $1 AND photo_key IS NOT NULL FOR UPDATE) o
              WHERE t.id = o.id RETURNING o.photo_key",
        )
        .bind(employee)
        .fetch_all(&mut *conn)
        .await?;
        removed.enrolment_photos += enrolment.len() as u64;
        keys.extend(enrolment);
        let evidence: Vec<String> = sqlx::query_scalar(
            "UPDATE attendance_events SET photo_erased_at = $2
              WHERE employee_id = $1 AND photo_key IS NOT NULL AND photo_erased_at IS NULL
              RETURNING photo_key",
        )
        .bind(employee)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
        removed.evidence_photos = evidence.len() as u64;
        keys.extend(evidence);
        let profile: Option<String> = sqlx::query_scalar(
            "UPDATE employees e SET photo_key = NULL, photo_updated_at = NULL
               FROM (SELECT photo_key FROM employees WHERE id = $1) o
              WHERE e.id = $1 AND o.photo_key IS NOT NULL RETURNING o.photo_key",
        )
        .bind(employee)
        .fetch_optional(&mut *conn)
        .await?;
        removed.profile_photo = profile.is_some();
        keys.extend(profile);
    }
    if parts.locations {
        withdraw(&mut *conn, employee, ConsentKind::Location, withdraw_as).await?;
        removed.location_points = sqlx::query("DELETE FROM location_points WHERE employee_id = $1")
            .bind(employee)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM location_batch_requests WHERE employee_id = $1")
            .bind(employee)
            .execute(&mut *conn)
            .await?;
    }
    if parts.telegram {
        removed.telegram_link = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM telegram_links WHERE employee_id = $1)",
        )
        .bind(employee)
        .fetch_one(&mut *conn)
        .await?;
        withdraw(&mut *conn, employee, ConsentKind::Telegram, withdraw_as).await?;
        sqlx::query("DELETE FROM telegram_links WHERE employee_id = $1")
            .bind(employee)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM telegram_link_codes WHERE employee_id = $1")
            .bind(employee)
            .execute(&mut *conn)
            .await?;
    }
    Ok((removed, keys))
}

/// Records a withdrawal of `kind` by `actor` when there is one and the consent is granted.
async fn withdraw(
    conn: &mut PgConnection,
    employee: Uuid,
    kind: ConsentKind,
    actor: Option<Uuid>,
) -> AppResult<()> {
    if let Some(actor) = actor {
        consent::withdraw_if_granted(conn, employee, kind, actor).await?;
    }
    Ok(())
}

/// Deletes the bytes of `keys` from the photo store; any failure is answered, so the caller's
/// transaction rolls back and the cascade is retried.
pub async fn delete_photos(state: &AppState, keys: &[String]) -> AppResult<()> {
    for k in keys {
        state.photos.delete(k).await?;
    }
    Ok(())
}

/// What an erasure of `scope` keeps, and why.
async fn kept(
    conn: &mut PgConnection,
    employee: Uuid,
    scope: ErasureScope,
) -> AppResult<Vec<Kept>> {
    let (events, consents, days): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM attendance_events WHERE employee_id = $1),
                (SELECT count(*) FROM consent_records WHERE employee_id = $1),
                (SELECT count(*) FROM timesheet_days WHERE employee_id = $1)",
    )
    .bind(employee)
    .fetch_one(conn)
    .await?;
    let mut kept = vec![Kept {
        what: "attendance_events".into(),
        count: events,
        why: "working-time records are kept for the legal retention period; they are hash-chained, so what each event says stays (its evidence photo, when erased, is removed and marked)".into(),
    }];
    if scope == ErasureScope::Everything {
        kept.push(Kept {
            what: "consent_records".into(),
            count: consents,
            why:
                "the record of consents given and withdrawn proves that past processing was lawful"
                    .into(),
        });
        kept.push(Kept {
            what: "timesheet_days".into(),
            count: days,
            why: "computed from the attendance events and kept with them for payroll and labour inspection".into(),
        });
        kept.push(Kept {
            what: "profile".into(),
            count: 1,
            why: "name, login and role are needed while the employment lasts; they are pseudonymised after the legal period following dismissal".into(),
        });
    }
    Ok(kept)
}

/// The `privacy.erasure` job: runs the cascade of an approved request once.
pub async fn run_job(state: &AppState, job: &Job) -> Outcome {
    let Some(id) = job
        .payload
        .get("request_id")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<Uuid>().ok())
    else {
        return Outcome::Fail("payload without request_id".into());
    };
    match cascade(state, id, Utc::now()).await {
        Ok(()) => Outcome::Done,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// Runs the cascade of approved request `id` (nothing when it is not `approved`, so a retried
/// job does no harm).
pub async fn cascade(state: &AppState, id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let req: Option<ErasureRequest> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM erasure_requests WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(req) = req.filter(|r| r.state == "approved") else {
        return Ok(());
    };
    let scope = parse_scope(&req.scope)?;
    let actor = req.decided_by.unwrap_or(req.employee_id);
    let (removed, keys) = erase(&mut tx, req.employee_id, parts(scope), Some(actor), now).await?;
    let outcome = ErasureOutcome {
        removed,
        kept: kept(&mut tx, req.employee_id, scope).await?,
    };
    sqlx::query(
        "UPDATE erasure_requests SET state = 'done', outcome = $2, finished_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(serde_json::to_value(&outcome).map_err(AppError::internal)?)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record_system(
        &mut tx,
        "erasure.done",
        "employee",
        Some(req.employee_id),
        &{
            #[derive(Serialize)]
            struct Done<'a> {
                request_id: Uuid,
                scope: &'a str,
                outcome: &'a ErasureOutcome,
            }
            Done {
                request_id: id,
                scope: scope.wire_text(),
                outcome: &outcome,
            }
        },
    )
    .await?;
    // The bytes go before the commit: if the store fails, the transaction rolls back and the
    // job retries; if the commit fails after, the retry finds the keys again.
    delete_photos(state, &keys).await?;
    tx.commit().await?;
    tracing::info!(request = %id, employee = %req.employee_id, scope = scope.wire_text(), ?outcome, "erasure done");
    Ok(())
}

pub(crate) async fn load(conn: &mut PgConnection, id: Uuid) -> AppResult<ErasureRequest> {
    let r: Option<ErasureRequest> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM erasure_requests WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    r.ok_or(AppError::not_found("erasure request"))
}

pub(crate) fn not_pending(r: &ErasureRequest) -> AppError {
    AppError::conflict(
        ErrorCode::ErasureRequestNotPending,
        format!("the request is {}, not pending", r.state),
    )
}
