//! The employee's data-subject rights from the app (issue 23): an export of everything the
//! server holds about them (started, polled, then downloaded as a ZIP to a file), erasure and
//! correction requests with their state, and the restriction of biometric processing or
//! tracking. The shapes are the server's (`backend/src/privacy/`); every call is online.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::session::{Session, SessionError};

pub const EXPORT_PATH: &str = "/api/v1/me/export";
pub const ERASURE_PATH: &str = "/api/v1/me/erasure-requests";
pub const CORRECTION_PATH: &str = "/api/v1/me/correction-requests";
pub const RESTRICTIONS_PATH: &str = "/api/v1/me/restrictions";
/// Longest comment of a request, in characters (the server's limit).
pub const MAX_COMMENT_LEN: usize = 2000;

/// An export and its state (`queued`, `ready`, `failed` or `expired`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExportStatus {
    pub id: Uuid,
    pub state: String,
    pub language: String,
    pub size_bytes: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What polling an export found.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportPoll {
    /// Still being written.
    Pending(ExportStatus),
    /// The ZIP, written to the destination file; its size.
    Downloaded { bytes: u64 },
}

#[derive(Serialize)]
struct ExportBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
}

/// Starts an export; the README in `language` (`ru`, `tg`, `en`; the server's default when
/// `None`).
pub async fn start_export(
    session: &Session,
    language: Option<&str>,
) -> Result<ExportStatus, SessionError> {
    if language.is_some_and(|l| !["ru", "tg", "en"].contains(&l)) {
        return Err(SessionError::Invalid("language is ru, tg or en"));
    }
    session
        .call_json(
            reqwest::Method::POST,
            EXPORT_PATH,
            Some(&ExportBody { language }),
        )
        .await
}

/// Polls export `id`: its state while it is being written, else the ZIP streamed into `dest`
/// (through a temporary file next to it, renamed once complete). A failed export is `Rejected`
/// 409 `export_failed`, an expired one 410 `export_expired`.
pub async fn poll_export(
    session: &Session,
    id: Uuid,
    dest: &Path,
) -> Result<ExportPoll, SessionError> {
    let mut resp = session
        .send_authorised(reqwest::Method::GET, &format!("{EXPORT_PATH}/{id}"), |r| r)
        .await?;
    match resp.status().as_u16() {
        202 => {
            let answer = crate::http::read_answer(resp)
                .await
                .map_err(|e| SessionError::Network(e.to_string()))?;
            serde_json::from_str(&answer.body)
                .map(ExportPoll::Pending)
                .map_err(|e| SessionError::Decode(e.to_string()))
        }
        200 => {
            let part = dest.with_extension("part");
            let io = |e: std::io::Error| SessionError::Decode(format!("{}: {e}", part.display()));
            let mut file = std::fs::File::create(&part).map_err(io)?;
            let mut bytes = 0u64;
            loop {
                let chunk = match resp.chunk().await {
                    Ok(Some(c)) => c,
                    Ok(None) => break,
                    Err(e) => {
                        let _ = std::fs::remove_file(&part);
                        return Err(SessionError::Network(e.to_string()));
                    }
                };
                std::io::Write::write_all(&mut file, &chunk).map_err(io)?;
                bytes += chunk.len() as u64;
            }
            file.sync_all().map_err(io)?;
            std::fs::rename(&part, dest).map_err(io)?;
            tracing::info!(%id, bytes, "export downloaded");
            Ok(ExportPoll::Downloaded { bytes })
        }
        _ => Err(Session::refusal_of(resp).await),
    }
}

/// What an erasure request covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureScope {
    Biometrics,
    Locations,
    Photos,
    Everything,
}

/// Something an erasure kept, and why (labour law keeps the attendance record).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Kept {
    pub what: String,
    pub count: i64,
    pub why: String,
}

/// What a finished erasure did (the fields the app shows; the server's `removed` counts stay
/// in the export).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ErasureOutcome {
    #[serde(default)]
    pub kept: Vec<Kept>,
}

/// An erasure request; `state`: `pending`, `approved`, `done` or `refused`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErasureRequest {
    pub id: Uuid,
    pub scope: ErasureScope,
    pub state: String,
    pub comment: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub refusal_reason: Option<String>,
    pub outcome: Option<ErasureOutcome>,
    pub finished_at: Option<DateTime<Utc>>,
}

fn comment(text: Option<&str>) -> Result<Option<&str>, SessionError> {
    let text = text.map(str::trim).filter(|c| !c.is_empty());
    if text.is_some_and(|c| c.chars().count() > MAX_COMMENT_LEN) {
        return Err(SessionError::Invalid("the comment is too long"));
    }
    Ok(text)
}

#[derive(Serialize)]
struct NewErasure<'a> {
    scope: ErasureScope,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
}

/// Asks for erasure of `scope`; an administrator approves or refuses it.
pub async fn request_erasure(
    session: &Session,
    scope: ErasureScope,
    note: Option<&str>,
) -> Result<ErasureRequest, SessionError> {
    let body = NewErasure {
        scope,
        comment: comment(note)?,
    };
    session
        .call_json(reqwest::Method::POST, ERASURE_PATH, Some(&body))
        .await
}

/// The employee's erasure requests, newest first.
pub async fn erasure_requests(session: &Session) -> Result<Vec<ErasureRequest>, SessionError> {
    session
        .call_json(reqwest::Method::GET, ERASURE_PATH, None::<&()>)
        .await
}

/// What to correct: a punch (`event_id` of the wrong one, or none for a missing one) or a
/// personal field.
#[derive(Debug, Clone, PartialEq)]
pub enum Correction {
    Punch {
        event_id: Option<Uuid>,
        /// `in` or `out`.
        punch_kind: String,
        at: DateTime<Utc>,
    },
    Field {
        /// `first_name` or `last_name`.
        field: String,
        value: String,
    },
}

#[derive(Serialize, Default)]
struct NewCorrection<'a> {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    punch_kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    comment: &'a str,
}

/// A correction request; `state`: `pending`, `accepted` or `rejected`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CorrectionRequest {
    pub id: Uuid,
    /// `punch` or `field`.
    pub kind: String,
    pub event_id: Option<Uuid>,
    pub punch_kind: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub field: Option<String>,
    pub value: Option<String>,
    pub comment: String,
    pub state: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Asks for `what` to be corrected; `why` (required) is for the operator.
pub async fn request_correction(
    session: &Session,
    what: &Correction,
    why: &str,
) -> Result<CorrectionRequest, SessionError> {
    let why = comment(Some(why))?.ok_or(SessionError::Invalid("say what is wrong"))?;
    let body = match what {
        Correction::Punch {
            event_id,
            punch_kind,
            at,
        } => {
            if !["in", "out"].contains(&punch_kind.as_str()) {
                return Err(SessionError::Invalid("a punch is `in` or `out`"));
            }
            NewCorrection {
                kind: "punch",
                event_id: *event_id,
                punch_kind: Some(punch_kind),
                at: Some(*at),
                comment: why,
                ..NewCorrection::default()
            }
        }
        Correction::Field { field, value } => NewCorrection {
            kind: "field",
            field: Some(field),
            value: Some(value),
            comment: why,
            ..NewCorrection::default()
        },
    };
    session
        .call_json(reqwest::Method::POST, CORRECTION_PATH, Some(&body))
        .await
}

/// The employee's correction requests, newest first.
pub async fn correction_requests(
    session: &Session,
) -> Result<Vec<CorrectionRequest>, SessionError> {
    session
        .call_json(reqwest::Method::GET, CORRECTION_PATH, None::<&()>)
        .await
}

/// One restriction in force.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Restriction {
    /// `biometrics` or `tracking`.
    pub kind: String,
    pub restricted_at: DateTime<Utc>,
    /// Who set it: the employee themself or an administrator.
    pub restricted_by: Option<Uuid>,
}

/// What processing of the employee is restricted now.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Restrictions {
    pub biometrics: bool,
    pub tracking: bool,
    #[serde(default)]
    pub items: Vec<Restriction>,
}

#[derive(Serialize)]
struct RestrictionChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    biometrics: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracking: Option<bool>,
}

pub async fn restrictions(session: &Session) -> Result<Restrictions, SessionError> {
    session
        .call_json(reqwest::Method::GET, RESTRICTIONS_PATH, None::<&()>)
        .await
}

/// Restricts (`Some(true)`) or lifts (`Some(false)`) biometric processing or tracking; `None`
/// leaves it as it is. Answers what is restricted now.
pub async fn set_restrictions(
    session: &Session,
    biometrics: Option<bool>,
    tracking: Option<bool>,
) -> Result<Restrictions, SessionError> {
    session
        .call_json(
            reqwest::Method::PUT,
            RESTRICTIONS_PATH,
            Some(&RestrictionChange {
                biometrics,
                tracking,
            }),
        )
        .await
}

#[cfg(test)]
mod tests;
