//! The employee's data-subject rights from the app (issue 23): an export of everything the
//! server holds about them (started, polled, then downloaded as a ZIP to a file), erasure and
//! correction requests with their state, and the restriction of biometric processing or
//! tracking. The shapes are the protocol's (`faceid_protocol::privacy`, which the server uses
//! too); every call is online.

use faceid_protocol::wire_text::WireText;
use std::path::Path;

use chrono::{DateTime, Utc};
pub use faceid_protocol::privacy::{
    CorrectableField, CorrectionKind, EmployeeCorrectionRequest, ErasureOutcome, ErasureRequest,
    ErasureScope, ExportRequest, ExportStatus, Kept, MY_CORRECTION_REQUESTS_PATH,
    MY_ERASURE_REQUESTS_PATH, MY_EXPORT_PATH, MY_RESTRICTIONS_PATH, NewCorrectionRequest,
    NewErasureRequest, Restriction, RestrictionChange, Restrictions,
};
use uuid::Uuid;

use crate::session::{Session, SessionError};
/// Longest comment of a request, in characters (the server's limit).
pub const MAX_COMMENT_LEN: usize = 2000;

/// What polling an export found.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportPoll {
    /// Still being written.
    Pending(ExportStatus),
    /// The ZIP, written to the destination file; its size.
    Downloaded { bytes: u64 },
}

/// Starts an export; the README in `language` (`ru`, `tg`, `en`; the server's default when
/// `None`).
pub async fn start_export(
    session: &Session,
    language: Option<&str>,
) -> Result<ExportStatus, SessionError> {
    let language = crate::telegram::lang(language)?;
    session
        .call_json(
            reqwest::Method::POST,
            MY_EXPORT_PATH,
            Some(&ExportRequest { language }),
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
        .send_authorised(
            reqwest::Method::GET,
            &format!("{MY_EXPORT_PATH}/{id}"),
            |r| r,
        )
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

fn comment(text: Option<&str>) -> Result<Option<&str>, SessionError> {
    let text = text.map(str::trim).filter(|c| !c.is_empty());
    if text.is_some_and(|c| c.chars().count() > MAX_COMMENT_LEN) {
        return Err(SessionError::Invalid("the comment is too long"));
    }
    Ok(text)
}

/// Asks for erasure of `scope`; an administrator approves or refuses it.
pub async fn request_erasure(
    session: &Session,
    scope: ErasureScope,
    note: Option<&str>,
) -> Result<ErasureRequest, SessionError> {
    let body = NewErasureRequest {
        scope,
        comment: comment(note)?.map(str::to_owned),
    };
    known_scope(
        session
            .call_json(reqwest::Method::POST, MY_ERASURE_REQUESTS_PATH, Some(&body))
            .await?,
    )
}

/// A request whose scope this version does not know is not shown as something else.
fn known_scope(r: ErasureRequest) -> Result<ErasureRequest, SessionError> {
    match r.scope_kind() {
        Some(_) => Ok(r),
        None => Err(SessionError::Decode(format!(
            "unknown erasure scope {:?}",
            r.scope
        ))),
    }
}

/// The employee's erasure requests, newest first.
pub async fn erasure_requests(session: &Session) -> Result<Vec<ErasureRequest>, SessionError> {
    let requests: Vec<ErasureRequest> = session
        .call_json(reqwest::Method::GET, MY_ERASURE_REQUESTS_PATH, None::<&()>)
        .await?;
    requests.into_iter().map(known_scope).collect()
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

/// Asks for `what` to be corrected; `why` (required) is for the operator.
pub async fn request_correction(
    session: &Session,
    what: &Correction,
    why: &str,
) -> Result<EmployeeCorrectionRequest, SessionError> {
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
            NewCorrectionRequest {
                kind: CorrectionKind::Punch,
                event_id: *event_id,
                punch_kind: Some(punch_kind.clone()),
                at: Some(*at),
                field: None,
                value: None,
                comment: why.to_owned(),
            }
        }
        Correction::Field { field, value } => NewCorrectionRequest {
            kind: CorrectionKind::Field,
            event_id: None,
            punch_kind: None,
            at: None,
            field: Some(
                CorrectableField::from_wire_text(field)
                    .ok_or(SessionError::Invalid("a field is first_name or last_name"))?,
            ),
            value: Some(value.clone()),
            comment: why.to_owned(),
        },
    };
    session
        .call_json(
            reqwest::Method::POST,
            MY_CORRECTION_REQUESTS_PATH,
            Some(&body),
        )
        .await
}

/// The employee's correction requests, newest first.
pub async fn correction_requests(
    session: &Session,
) -> Result<Vec<EmployeeCorrectionRequest>, SessionError> {
    session
        .call_json(
            reqwest::Method::GET,
            MY_CORRECTION_REQUESTS_PATH,
            None::<&()>,
        )
        .await
}

pub async fn restrictions(session: &Session) -> Result<Restrictions, SessionError> {
    session
        .call_json(reqwest::Method::GET, MY_RESTRICTIONS_PATH, None::<&()>)
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
            MY_RESTRICTIONS_PATH,
            Some(&RestrictionChange {
                biometrics,
                tracking,
            }),
        )
        .await
}

#[cfg(test)]
mod tests;
