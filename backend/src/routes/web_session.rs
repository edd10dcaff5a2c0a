//! Browser sessions for the web panel: the access token is answered in the body (the panel keeps
//! it in memory only), the refresh token travels in an `HttpOnly; Secure; SameSite=Strict`
//! cookie scoped to `/api/v1/auth/web`. Refresh and logout are state-changing requests carried by
//! a cookie, so they also require the `X-FaceID-CSRF` header (a cross-site form or image cannot
//! send one, and a cross-site script cannot without a CORS preflight the server never grants) and,
//! when the browser sends `Origin`, an origin equal to the request's host.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use faceid_protocol::auth::WebSession;
use faceid_protocol::auth::{LoginRequest, RefreshRequest, TokenPair};
use faceid_protocol::auth::{WEB_LOGIN_PATH, WEB_LOGOUT_PATH, WEB_REFRESH_PATH};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::problem::Problem;

use crate::AppState;
use crate::auth::sessions::{check_csrf, cookie_value};
use crate::error::{AppError, AppResult};
use crate::extract::ApiJson;
use crate::routes::auth::{self, ClientAddr};

/// Name of the refresh cookie.
pub const COOKIE: &str = "faceid_refresh";
/// The only path the browser sends the refresh cookie to.
pub const COOKIE_PATH: &str = "/api/v1/auth/web";
pub use crate::auth::sessions::CSRF_HEADER;

fn session_response(pair: TokenPair) -> Response {
    let max_age = (pair.refresh_expires_at - Utc::now()).num_seconds().max(0);
    let cookie = format!(
        "{COOKIE}={}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict",
        pair.refresh_token
    );
    let body = WebSession {
        access_token: pair.access_token,
        access_expires_at: pair.access_expires_at,
        user: pair.user,
        server_time: pair.server_time,
    };
    let mut resp = Json(body).into_response();
    set_cookie(&mut resp, &cookie);
    resp
}

fn set_cookie(resp: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The refresh token from the `Cookie` header(s).
fn refresh_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, COOKIE)
}

/// Logs in from the web panel: like `/api/v1/auth/login`, with the refresh token set as a cookie.
#[utoipa::path(post, path = WEB_LOGIN_PATH, tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "logged in; the refresh token is in the `faceid_refresh` cookie", body = WebSession),
        (status = 401, description = "`invalid_credentials`", body = Problem),
        (status = 403, description = "`device_not_allowed`, `device_blocked`, `account_disabled`", body = Problem),
        (status = 422, description = "invalid body", body = Problem),
        (status = 429, description = "`rate_limited`, see `Retry-After`", body = Problem)))]
pub async fn login(
    state: State<AppState>,
    addr: ClientAddr,
    req: ApiJson<LoginRequest>,
) -> AppResult<Response> {
    let Json(pair) = auth::login(state, addr, req).await?;
    Ok(session_response(pair))
}

/// Exchanges the refresh cookie for a new access token (and a new cookie). Needs the
/// `X-FaceID-CSRF` header.
#[utoipa::path(post, path = WEB_REFRESH_PATH, tag = "auth",
    params(("X-FaceID-CSRF" = String, Header, description = "any value")),
    responses(
        (status = 200, description = "new access token; the cookie is replaced", body = WebSession),
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_reused`, `session_revoked`, `account_disabled`", body = Problem),
        (status = 403, description = "`csrf_check_failed`, `device_blocked`, `device_not_allowed`", body = Problem)))]
pub async fn refresh(state: State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    check_csrf(&headers)?;
    let refresh_token = refresh_cookie(&headers).ok_or(AppError::Unauthenticated {
        code: ErrorCode::InvalidRefreshToken,
    })?;
    let Json(pair) = auth::refresh(
        state,
        ApiJson(RefreshRequest {
            refresh_token,
            device_proof: None,
        }),
    )
    .await?;
    Ok(session_response(pair))
}

/// Ends the browser session and clears the cookie. Needs the `X-FaceID-CSRF` header.
#[utoipa::path(post, path = WEB_LOGOUT_PATH, tag = "auth",
    params(("X-FaceID-CSRF" = String, Header, description = "any value")),
    responses(
        (status = 204, description = "logged out; the cookie is cleared"),
        (status = 403, description = "`csrf_check_failed`", body = Problem)))]
pub async fn logout(state: State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    check_csrf(&headers)?;
    if let Some(refresh_token) = refresh_cookie(&headers) {
        auth::logout(
            state,
            ApiJson(RefreshRequest {
                refresh_token,
                device_proof: None,
            }),
        )
        .await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    set_cookie(
        &mut resp,
        &format!("{COOKIE}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict"),
    );
    Ok(resp)
}
