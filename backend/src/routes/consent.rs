//! The consent ledger over HTTP: consent texts, the caller's consents and those of an
//! employee (the ledger itself: [`crate::consent`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use faceid_protocol::consent::{CONSENT_TEXTS_PATH, EMPLOYEE_CONSENTS_PATH, MY_CONSENTS_PATH};
use faceid_protocol::consent::{ConsentMethod, ConsentRecord, ConsentRequest};
use faceid_protocol::consent::{ConsentText, NewConsentText};
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::Problem;
use serde::Serialize;
use uuid::Uuid;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, AuthUser, Staff, check_employee_scope};
use crate::consent::{ConsentOverview, MAX_CONSENT_TEXT_LEN, Removed, append, overview};
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiPath, Check};

/// Current consent texts, one per kind that has one.
#[utoipa::path(get, path = CONSENT_TEXTS_PATH, tag = "consent", security(("bearer" = [])),
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
#[utoipa::path(post, path = CONSENT_TEXTS_PATH, tag = "consent", security(("bearer" = [])),
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
        check.add("body", FieldCode::Required, "must not be empty");
    } else if body.chars().count() > MAX_CONSENT_TEXT_LEN {
        check.add(
            "body",
            FieldCode::TooLong,
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
    .bind(req.kind)
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
#[utoipa::path(get, path = MY_CONSENTS_PATH, tag = "consent", security(("bearer" = [])),
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
#[utoipa::path(post, path = MY_CONSENTS_PATH, tag = "consent", security(("bearer" = [])),
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
#[utoipa::path(get, path = EMPLOYEE_CONSENTS_PATH, tag = "consent", security(("bearer" = [])),
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
#[utoipa::path(post, path = EMPLOYEE_CONSENTS_PATH, tag = "consent", security(("bearer" = [])),
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

/// The consent routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_texts, publish_text))
        .routes(routes!(my_consents, give_my_consent))
        .routes(routes!(employee_consents, record_paper_consent))
}
