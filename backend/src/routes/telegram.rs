//! `/api/v1/me/telegram` (link, settings, unlink) and the administrators' Telegram views.
//! Without a bot token every one of them answers 404 `telegram_not_configured`.

use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::telegram::{TELEGRAM_LOG_PATH, TELEGRAM_PATH, TELEGRAM_WEBHOOK_PATH};
use faceid_protocol::wire_text::WireText;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use faceid_protocol::consent::ConsentKind;
use faceid_protocol::problem::Problem;
pub use faceid_protocol::telegram::{
    LinkCode, LinkRequest, TelegramLink, TelegramNotifications, TelegramSettingsPatch,
};
use faceid_protocol::telegram::{
    LogQuery, MY_TELEGRAM_LINK_PATH, MY_TELEGRAM_PATH, TelegramLogPage, TelegramStatus,
};

use crate::AppState;
use crate::auth::{Admin, AuthUser};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery, Paging};
use crate::telegram::texts::Lang;
use crate::telegram::{Telegram, not_configured};

/// How long a link code is valid.
pub const LINK_CODE_TTL_MINUTES: i64 = 10;

fn bot(state: &AppState) -> AppResult<&Arc<Telegram>> {
    state.telegram.as_ref().ok_or_else(not_configured)
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    status: String,
    status_reason: Option<String>,
    telegram_username: Option<String>,
    language: String,
    linked_at: DateTime<Utc>,
    notify_punches: bool,
    notify_flagged: bool,
    notify_reviews: bool,
    notify_late: bool,
    notify_absent: bool,
    notify_checkout: bool,
    notify_summary: bool,
}

async fn my_link(state: &AppState, tg: &Telegram, employee: uuid::Uuid) -> AppResult<TelegramLink> {
    let row: Option<LinkRow> = sqlx::query_as(
        "SELECT status, status_reason, telegram_username, language, linked_at, notify_punches,
                notify_flagged, notify_reviews, notify_late, notify_absent, notify_checkout,
                notify_summary
         FROM telegram_links WHERE employee_id = $1",
    )
    .bind(employee)
    .fetch_optional(&state.db)
    .await?;
    Ok(match row {
        None => TelegramLink {
            bot_username: tg.username(),
            linked: false,
            status: None,
            status_reason: None,
            telegram_username: None,
            language: None,
            linked_at: None,
            notifications: None,
        },
        Some(r) => TelegramLink {
            bot_username: tg.username(),
            linked: r.status == "active",
            status: Some(r.status),
            status_reason: r.status_reason,
            telegram_username: r.telegram_username,
            language: Some(Lang::parse(Some(&r.language))),
            linked_at: Some(r.linked_at),
            notifications: Some(TelegramNotifications {
                punches: r.notify_punches,
                flagged: r.notify_flagged,
                reviews: r.notify_reviews,
                late: r.notify_late,
                absent: r.notify_absent,
                checkout: r.notify_checkout,
                summary: r.notify_summary,
            }),
        },
    })
}

/// A one-time link to the bot for the current employee (single use, 10 minutes). Requires the
/// `telegram` consent.
#[utoipa::path(post, path = MY_TELEGRAM_LINK_PATH, tag = "telegram", security(("bearer" = [])),
    request_body = LinkRequest,
    responses(
        (status = 201, description = "the deep link", body = LinkCode),
        (status = 403, description = "`telegram_consent_required`", body = Problem),
        (status = 404, description = "`telegram_not_configured`", body = Problem),
        (status = 503, description = "`telegram_unavailable`: the bot's name is not known yet", body = Problem)))]
pub async fn create_link(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiJson(req): ApiJson<LinkRequest>,
) -> AppResult<(StatusCode, Json<LinkCode>)> {
    let tg = bot(&state)?;
    if !crate::consent::has_consent(&state.db, caller.id, ConsentKind::Telegram).await? {
        return Err(AppError::forbidden(
            ErrorCode::TelegramConsentRequired,
            "grant the telegram consent before linking Telegram",
        ));
    }
    let Some(username) = tg.username() else {
        return Err(AppError::ServiceUnavailable {
            code: ErrorCode::TelegramUnavailable,
            detail: "the Telegram bot has not answered yet; try again shortly".into(),
        });
    };
    // 24 random bytes in hex: 48 characters of the deep-link alphabet.
    let mut bytes = [0u8; 24];
    rand::fill(&mut bytes);
    let code = hex::encode(bytes);
    let lang = req.language.unwrap_or(Lang::Ru);
    let expires_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO telegram_link_codes (code_hash, employee_id, language, expires_at)
         VALUES ($1, $2, $3, now() + $4 * interval '1 minute') RETURNING expires_at",
    )
    .bind(crate::auth::token_hash(&code))
    .bind(caller.id)
    .bind(lang.wire_text())
    .bind(LINK_CODE_TTL_MINUTES as f64)
    .fetch_one(&state.db)
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(LinkCode {
            url: format!("https://t.me/{username}?start={code}"),
            code,
            expires_at,
        }),
    ))
}

/// The current employee's Telegram link and notification switches.
#[utoipa::path(get, path = MY_TELEGRAM_PATH, tag = "telegram", security(("bearer" = [])),
    responses(
        (status = 200, description = "the link", body = TelegramLink),
        (status = 404, description = "`telegram_not_configured`", body = Problem)))]
pub async fn get_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<Json<TelegramLink>> {
    let tg = bot(&state)?;
    Ok(Json(my_link(&state, tg, caller.id).await?))
}

/// Changes the bot's language or the notification switches of the current employee.
#[utoipa::path(patch, path = MY_TELEGRAM_PATH, tag = "telegram", security(("bearer" = [])),
    request_body = TelegramSettingsPatch,
    responses(
        (status = 200, description = "the link", body = TelegramLink),
        (status = 404, description = "`telegram_not_configured`, `telegram_not_linked`", body = Problem)))]
pub async fn patch_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiJson(p): ApiJson<TelegramSettingsPatch>,
) -> AppResult<Json<TelegramLink>> {
    let tg = bot(&state)?;
    let done = sqlx::query(
        "UPDATE telegram_links SET language = COALESCE($2, language),
             notify_punches = COALESCE($3, notify_punches),
             notify_flagged = COALESCE($4, notify_flagged),
             notify_reviews = COALESCE($5, notify_reviews),
             notify_late = COALESCE($6, notify_late),
             notify_absent = COALESCE($7, notify_absent),
             notify_checkout = COALESCE($8, notify_checkout),
             notify_summary = COALESCE($9, notify_summary), updated_at = now()
         WHERE employee_id = $1",
    )
    .bind(caller.id)
    .bind(p.language.map(Lang::wire_text))
    .bind(p.punches)
    .bind(p.flagged)
    .bind(p.reviews)
    .bind(p.late)
    .bind(p.absent)
    .bind(p.checkout)
    .bind(p.summary)
    .execute(&state.db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Unconfigured {
            code: ErrorCode::TelegramNotLinked,
            detail: "link Telegram first".into(),
        });
    }
    Ok(Json(my_link(&state, tg, caller.id).await?))
}

/// Unlinks the current employee's chat (no message is sent to it any more).
#[utoipa::path(delete, path = MY_TELEGRAM_PATH, tag = "telegram", security(("bearer" = [])),
    responses(
        (status = 204, description = "unlinked (or was not linked)"),
        (status = 404, description = "`telegram_not_configured`", body = Problem)))]
pub async fn unlink_mine(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> AppResult<StatusCode> {
    bot(&state)?;
    sqlx::query("DELETE FROM telegram_links WHERE employee_id = $1")
        .bind(caller.id)
        .execute(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The bot's name (from `getMe`) and link counts (administrators).
#[utoipa::path(get, path = TELEGRAM_PATH, tag = "telegram", security(("bearer" = [])),
    responses(
        (status = 200, description = "the bot", body = TelegramStatus),
        (status = 404, description = "`telegram_not_configured`", body = Problem)))]
pub async fn status(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> AppResult<Json<TelegramStatus>> {
    let tg = bot(&state)?;
    let (active, blocked, broken, queued): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'blocked'),
                count(*) FILTER (WHERE status = 'broken'),
                (SELECT count(*) FROM jobs WHERE kind = $1 AND state IN ('queued', 'running'))
         FROM telegram_links",
    )
    .bind(crate::telegram::send::SEND_JOB)
    .fetch_one(&state.db)
    .await?;
    Ok(Json(TelegramStatus {
        bot_username: tg.username(),
        updates: if tg.webhook.is_some() {
            "webhook"
        } else {
            "long_polling"
        }
        .into(),
        linked_employees: active,
        blocked_links: blocked,
        broken_links: broken,
        queued_messages: queued,
    }))
}

/// Every Bot API call, newest first (administrators). Empty long polls are not logged.
#[utoipa::path(get, path = TELEGRAM_LOG_PATH, tag = "telegram", security(("bearer" = [])),
    params(LogQuery),
    responses(
        (status = 200, description = "a page of calls", body = TelegramLogPage),
        (status = 404, description = "`telegram_not_configured`", body = Problem)))]
pub async fn log(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> AppResult<Json<TelegramLogPage>> {
    bot(&state)?;
    let (limit, offset) = Paging::resolve(q.limit, q.offset)?;
    let errors_only = q.errors_only.unwrap_or(false);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM telegram_log WHERE NOT ($1 AND ok)")
        .bind(errors_only)
        .fetch_one(&state.db)
        .await?;
    let items = sqlx::query_as(
        "SELECT id, at, method, chat_id, ok, error_code, description, retry_after, duration_ms,
                delivery_key
         FROM telegram_log WHERE NOT ($1 AND ok) ORDER BY id DESC LIMIT $2 OFFSET $3",
    )
    .bind(errors_only)
    .bind(i64::from(limit))
    .bind(i64::from(offset))
    .fetch_all(&state.db)
    .await?;
    Ok(Json(TelegramLogPage { items, total }))
}

/// The header Telegram sends the webhook's secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Webhook mode: Telegram posts each update here with the configured secret in
/// `X-Telegram-Bot-Api-Secret-Token`. A missing or wrong secret is refused (401) before the
/// body is read; an accepted update goes through the same code as long polling (skipped when
/// its `update_id` was handled before).
#[utoipa::path(post, path = TELEGRAM_WEBHOOK_PATH, tag = "telegram",
    operation_id = "telegram_webhook",
    params(("X-Telegram-Bot-Api-Secret-Token" = String, Header,
            description = "the configured `telegram_webhook_secret`")),
    request_body(content = serde_json::Value, description = "a Telegram `Update`"),
    responses(
        (status = 200, description = "handled (or handled before)"),
        (status = 400, description = "`telegram_bad_update`: not a Telegram update", body = Problem),
        (status = 401, description = "`telegram_webhook_secret`: missing or wrong secret", body = Problem),
        (status = 404, description = "`telegram_not_configured`, `telegram_webhook_off` (long polling)", body = Problem)))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<StatusCode> {
    // Without the header nothing about this server's set-up is told (configured or not).
    if !headers.contains_key(SECRET_HEADER) {
        return Err(AppError::Unauthenticated {
            code: ErrorCode::TelegramWebhookSecret,
        });
    }
    let tg = bot(&state)?;
    let Some(hook) = &tg.webhook else {
        return Err(AppError::Unconfigured {
            code: ErrorCode::TelegramWebhookOff,
            detail: "this server receives Telegram updates by long polling".into(),
        });
    };
    // Compared as SHA-256 digests, so the time taken says nothing about the secret.
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| crate::auth::token_hash(&String::from_utf8_lossy(v.as_bytes())));
    if given != Some(crate::auth::token_hash(&hook.secret)) {
        tracing::warn!("Telegram webhook call with a missing or wrong secret refused");
        return Err(AppError::Unauthenticated {
            code: ErrorCode::TelegramWebhookSecret,
        });
    }
    let update: crate::telegram::bot_api::Update = serde_json::from_slice(&body).map_err(|_| {
        AppError::bad_request(
            ErrorCode::TelegramBadUpdate,
            "the body is not a Telegram update",
        )
    })?;
    crate::telegram::updates::handle_update(tg, &update).await?;
    Ok(StatusCode::OK)
}
