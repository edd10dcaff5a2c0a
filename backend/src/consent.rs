//! Consent ledger: versioned consent texts, every grant and withdrawal kept, and the
//! consequences of a withdrawal (biometric: face templates deleted; location: points refused).
//! The handlers are in `routes::consent`.

use chrono::{DateTime, Utc};
pub use faceid_protocol::consent::ConsentOverview;
use faceid_protocol::consent::{
    ConsentAction, ConsentKind, ConsentMethod, ConsentRecord, ConsentRequest,
};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::wire_text::WireText;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Longest consent text, in characters.
pub const MAX_CONSENT_TEXT_LEN: usize = 50_000;

/// Whether `employee` currently has `kind` granted: the latest ledger entry is a grant.
/// Face check-in calls this with [`ConsentKind::Biometric`] before doing anything else.
pub async fn has_consent(
    pool: &PgPool,
    employee: Uuid,
    kind: ConsentKind,
) -> Result<bool, sqlx::Error> {
    let last: Option<String> = sqlx::query_scalar(
        "SELECT action FROM consent_records WHERE employee_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(employee)
    .bind(kind)
    .fetch_optional(pool)
    .await?;
    Ok(last.as_deref() == Some("grant"))
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    kind: ConsentKind,
    action: ConsentAction,
    text_version: i32,
    at: DateTime<Utc>,
    method: String,
    device_id: Option<Uuid>,
    actor_id: Option<Uuid>,
}

impl RecordRow {
    fn into_record(self) -> AppResult<ConsentRecord> {
        Ok(ConsentRecord {
            kind: self.kind,
            action: self.action,
            text_version: u32::try_from(self.text_version).map_err(AppError::internal)?,
            at: self.at,
            method: if self.method == "paper" {
                ConsentMethod::Paper
            } else {
                ConsentMethod::App
            },
            device_id: self.device_id,
            actor_id: self.actor_id,
        })
    }
}

/// The latest record of each kind and the whole history of an employee.
pub async fn overview(conn: &mut PgConnection, employee: Uuid) -> AppResult<ConsentOverview> {
    let rows: Vec<RecordRow> = sqlx::query_as(
        "SELECT kind, action, text_version, at, method, device_id, actor_id
         FROM consent_records WHERE employee_id = $1 ORDER BY id DESC",
    )
    .bind(employee)
    .fetch_all(conn)
    .await?;
    let history = rows
        .into_iter()
        .map(RecordRow::into_record)
        .collect::<AppResult<Vec<_>>>()?;
    let mut consents: Vec<ConsentRecord> = Vec::new();
    for r in &history {
        if !consents.iter().any(|c| c.kind == r.kind) {
            consents.push(r.clone());
        }
    }
    Ok(ConsentOverview { consents, history })
}

/// What a withdrawal removed.
#[derive(Debug, Default, Serialize)]
pub struct Removed {
    pub face_templates: u64,
    pub photo_keys: Vec<String>,
}

/// Appends one ledger entry, and applies a biometric withdrawal (templates and their photo
/// keys deleted) in the same transaction.
pub async fn append(
    conn: &mut PgConnection,
    employee: Uuid,
    req: &ConsentRequest,
    method: ConsentMethod,
    device: Option<Uuid>,
    actor: Option<Uuid>,
) -> AppResult<(ConsentRecord, Removed)> {
    // Serialise ledger writes of one employee, so "latest record" is well defined.
    sqlx::query("SELECT 1 FROM employees WHERE id = $1 FOR UPDATE")
        .bind(employee)
        .execute(&mut *conn)
        .await?;
    let current: Option<i32> =
        sqlx::query_scalar("SELECT max(version) FROM consent_texts WHERE kind = $1")
            .bind(req.kind)
            .fetch_one(&mut *conn)
            .await?;
    let Some(current) = current else {
        return Err(AppError::conflict(
            ErrorCode::ConsentTextMissing,
            format!(
                "no {} consent text has been published yet",
                req.kind.wire_text()
            ),
        ));
    };
    if let Some(v) = req.text_version
        && req.action == ConsentAction::Grant
        && i64::from(v) != i64::from(current)
    {
        return Err(AppError::conflict(
            ErrorCode::ConsentTextOutdated,
            format!("version {v} is not the current text (version {current})"),
        ));
    }
    let row: RecordRow = sqlx::query_as(
        "INSERT INTO consent_records (employee_id, kind, action, text_version, method, device_id, actor_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING kind, action, text_version, at, method, device_id, actor_id",
    )
    .bind(employee)
    .bind(req.kind)
    .bind(req.action)
    .bind(current)
    .bind(match method {
        ConsentMethod::App => "app",
        ConsentMethod::Paper => "paper",
    })
    .bind(device)
    .bind(actor)
    .fetch_one(&mut *conn)
    .await?;
    let mut removed = Removed::default();
    if req.kind == ConsentKind::Telegram && req.action == ConsentAction::Withdraw {
        let unlinked = sqlx::query("DELETE FROM telegram_links WHERE employee_id = $1")
            .bind(employee)
            .execute(&mut *conn)
            .await?;
        if unlinked.rows_affected() > 0 {
            tracing::info!(%employee, "telegram consent withdrawn, chat unlinked");
        }
    }
    if req.kind == ConsentKind::Biometric && req.action == ConsentAction::Withdraw {
        removed = delete_face_templates(&mut *conn, employee).await?;
        tracing::info!(%employee, templates = removed.face_templates, "biometric consent withdrawn, face templates deleted");
    }
    if req.kind == ConsentKind::Biometric {
        // Faces on the terminals follow biometric consent.
        crate::hikvision::sync::employee_changed(conn, employee).await?;
    }
    Ok((row.into_record()?, removed))
}

/// Deletes every face template of `employee` inside the caller's transaction and answers the
/// photo keys to delete from the photo store once it commits. The one place templates go
/// when biometric processing ends: a consent withdrawal and an erasure (`privacy`) call it.
pub async fn delete_face_templates(
    conn: &mut PgConnection,
    employee: Uuid,
) -> Result<Removed, sqlx::Error> {
    let keys: Vec<Option<String>> =
        sqlx::query_scalar("DELETE FROM face_templates WHERE employee_id = $1 RETURNING photo_key")
            .bind(employee)
            .fetch_all(&mut *conn)
            .await?;
    Ok(Removed {
        face_templates: keys.len() as u64,
        photo_keys: keys.into_iter().flatten().collect(),
    })
}

/// Withdraws `kind` on the employee's behalf when it is currently granted (an approved
/// erasure ends the processing it erased), with `actor` recorded; deletes the face
/// templates for a biometric withdrawal like any withdrawal. Answers what was removed.
pub async fn withdraw_if_granted(
    conn: &mut PgConnection,
    employee: Uuid,
    kind: ConsentKind,
    actor: Uuid,
) -> AppResult<Removed> {
    let last: Option<String> = sqlx::query_scalar(
        "SELECT action FROM consent_records WHERE employee_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(employee)
    .bind(kind)
    .fetch_optional(&mut *conn)
    .await?;
    if last.as_deref() != Some("grant") {
        return Ok(Removed::default());
    }
    let req = ConsentRequest {
        kind,
        action: ConsentAction::Withdraw,
        text_version: None,
    };
    let (_, removed) = append(conn, employee, &req, ConsentMethod::App, None, Some(actor)).await?;
    Ok(removed)
}
