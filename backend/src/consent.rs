//! Consent ledger: versioned consent texts, every grant and withdrawal kept, and the
//! consequences of a withdrawal (biometric: face templates deleted; location: points refused).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use faceid_protocol::consent::{
    ConsentAction, ConsentKind, ConsentMethod, ConsentRecord, ConsentRequest,
};
use faceid_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, AuthUser, Staff, check_employee_scope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::Check;

/// Longest consent text, in characters.
pub const MAX_CONSENT_TEXT_LEN: usize = 50_000;

pub fn kind_str(k: ConsentKind) -> &'static str {
    match k {
        ConsentKind::Biometric => "biometric",
        ConsentKind::Location => "location",
        ConsentKind::Telegram => "telegram",
    }
}

fn parse_kind(s: &str) -> AppResult<ConsentKind> {
    match s {
        "biometric" => Ok(ConsentKind::Biometric),
        "location" => Ok(ConsentKind::Location),
        "telegram" => Ok(ConsentKind::Telegram),
        other => Err(AppError::internal(format!(
            "unknown consent kind {other:?}"
        ))),
    }
}

fn action_str(a: ConsentAction) -> &'static str {
    match a {
        ConsentAction::Grant => "grant",
        ConsentAction::Withdraw => "withdraw",
    }
}

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
    .bind(kind_str(kind))
    .fetch_optional(pool)
    .await?;
    Ok(last.as_deref() == Some("grant"))
}

/// A consent text, as shown to the employee before they grant.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ConsentText {
    /// `biometric`, `location` or `telegram`.
    pub kind: String,
    pub version: i32,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/consent-texts` body: a new version of the text of one kind.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsentText {
    pub kind: ConsentKind,
    pub body: String,
}

/// `GET /api/v1/me/consents`: the latest record of each kind (`consents`, as in the protocol's
/// `ConsentState`) and every record, newest first (`history`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsentOverview {
    pub consents: Vec<ConsentRecord>,
    pub history: Vec<ConsentRecord>,
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    kind: String,
    action: String,
    text_version: i32,
    at: DateTime<Utc>,
    method: String,
    device_id: Option<Uuid>,
    actor_id: Option<Uuid>,
}

impl RecordRow {
    fn into_record(self) -> AppResult<ConsentRecord> {
        Ok(ConsentRecord {
            kind: parse_kind(&self.kind)?,
            action: if self.action == "grant" {
                ConsentAction::Grant
            } else {
                ConsentAction::Withdraw
            },
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

async fn overview(conn: &mut PgConnection, employee: Uuid) -> AppResult<ConsentOverview> {
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
async fn append(
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
            .bind(kind_str(req.kind))
            .fetch_one(&mut *conn)
            .await?;
    let Some(current) = current else {
        return Err(AppError::conflict(
            "consent_text_missing",
            format!(
                "no {} consent text has been published yet",
                kind_str(req.kind)
            ),
        ));
    };
    if let Some(v) = req.text_version
        && req.action == ConsentAction::Grant
        && i64::from(v) != i64::from(current)
    {
        return Err(AppError::conflict(
            "consent_text_outdated",
            format!("version {v} is not the current text (version {current})"),
        ));
    }
    let row: RecordRow = sqlx::query_as(
        "INSERT INTO consent_records (employee_id, kind, action, text_version, method, device_id, actor_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING kind, action, text_version, at, method, device_id, actor_id",
    )
    .bind(employee)
    .bind(kind_str(req.kind))
    .bind(action_str(req.action))
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
    .bind(kind_str(kind))
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

/// Current consent texts, one per kind that has one.
#[utoipa::path(get, path = "/api/v1/consent-texts", tag = "consent", security(("bearer" = [])),
    responses((status = 200, description = "the current text of each kind", body = Vec<ConsentText>)))]
pub async fn list_texts(
    State(state): State<AppState>,
    AuthUser(_): AuthUser,
) -> AppResult<Json<Vec<ConsentText>>> {
    let rows: Vec<ConsentText> = sqlx::query_as(
        "SELECT DISTINCT ON (kind) kind, version, body, created_at FROM consent_texts
         ORDER BY kind, version DESC",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows))
}

/// Publishes a new version of a consent text; grants from then on refer to it.
#[utoipa::path(post, path = "/api/v1/consent-texts", tag = "consent", security(("bearer" = [])),
    request_body = NewConsentText,
    responses(
        (status = 201, description = "published", body = ConsentText),
        (status = 422, description = "empty or too long text", body = Problem)))]
pub async fn publish_text(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<NewConsentText>,
) -> AppResult<(StatusCode, Json<ConsentText>)> {
    let mut check = Check::default();
    let body = req.body.trim();
    if body.is_empty() {
        check.add("body", "required", "must not be empty");
    } else if body.chars().count() > MAX_CONSENT_TEXT_LEN {
        check.add(
            "body",
            "too_long",
            format!("must be at most {MAX_CONSENT_TEXT_LEN} characters"),
        );
    }
    check.finish()?;
    let mut tx = state.db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('consent_texts'))")
        .execute(&mut *tx)
        .await?;
    let text: ConsentText = sqlx::query_as(
        "INSERT INTO consent_texts (kind, version, body, created_by)
         SELECT $1, COALESCE(max(version), 0) + 1, $2, $3 FROM consent_texts WHERE kind = $1
         RETURNING kind, version, body, created_at",
    )
    .bind(kind_str(req.kind))
    .bind(body)
    .bind(caller.id)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "consent_text.publish",
        "consent_text",
        None,
        audit::NONE,
        Some(&text),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(text)))
}

/// The caller's consents: latest per kind and the whole history.
#[utoipa::path(get, path = "/api/v1/me/consents", tag = "consent", security(("bearer" = [])),
    responses((status = 200, description = "consent state and history", body = ConsentOverview)))]
pub async fn my_consents(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<ConsentOverview>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(overview(&mut conn, caller.id).await?))
}

/// Grants or withdraws one kind of consent for the current text version, from the caller's
/// device. Withdrawing biometric consent deletes the caller's face templates.
#[utoipa::path(post, path = "/api/v1/me/consents", tag = "consent", security(("bearer" = [])),
    request_body = ConsentRequest,
    responses(
        (status = 201, description = "recorded", body = ConsentRecord),
        (status = 409, description = "`consent_text_missing`, `consent_text_outdated`", body = Problem),
        (status = 422, description = "invalid body", body = Problem)))]
pub async fn give_my_consent(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiJson(req): ApiJson<ConsentRequest>,
) -> AppResult<(StatusCode, Json<ConsentRecord>)> {
    let mut tx = state.db.begin().await?;
    let (record, removed) = append(
        &mut tx,
        caller.id,
        &req,
        ConsentMethod::App,
        Some(caller.device_id),
        None,
    )
    .await?;
    tx.commit().await?;
    state.photos.delete_all(&removed.photo_keys).await;
    Ok((StatusCode::CREATED, Json(record)))
}

/// An employee's consents (administrators; operators within their scope).
#[utoipa::path(get, path = "/api/v1/employees/{id}/consents", tag = "consent", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 200, description = "consent state and history", body = ConsentOverview),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn employee_consents(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ConsentOverview>> {
    let mut conn = state.db.acquire().await?;
    check_employee_scope(&mut conn, &caller, id).await?;
    Ok(Json(overview(&mut conn, id).await?))
}

/// Records consent given or withdrawn on paper (method `paper`, the caller as actor).
#[utoipa::path(post, path = "/api/v1/employees/{id}/consents", tag = "consent", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    request_body = ConsentRequest,
    responses(
        (status = 201, description = "recorded", body = ConsentRecord),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem),
        (status = 409, description = "`consent_text_missing`, `consent_text_outdated`", body = Problem)))]
pub async fn record_paper_consent(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ConsentRequest>,
) -> AppResult<(StatusCode, Json<ConsentRecord>)> {
    let mut tx = state.db.begin().await?;
    check_employee_scope(&mut tx, &caller, id).await?;
    let (record, removed) = append(
        &mut tx,
        id,
        &req,
        ConsentMethod::Paper,
        None,
        Some(caller.id),
    )
    .await?;
    #[derive(Serialize)]
    struct After<'a> {
        record: &'a ConsentRecord,
        removed: &'a Removed,
    }
    audit::record(
        &mut tx,
        &caller,
        "consent.paper",
        "employee",
        Some(id),
        audit::NONE,
        Some(&After {
            record: &record,
            removed: &removed,
        }),
    )
    .await?;
    tx.commit().await?;
    state.photos.delete_all(&removed.photo_keys).await;
    Ok((StatusCode::CREATED, Json(record)))
}
