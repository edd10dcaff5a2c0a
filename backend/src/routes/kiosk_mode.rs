//! Kiosk mode of a shared tablet's browser. The kiosk page trades the kiosk credential for an
//! `HttpOnly` cookie scoped to `/api/v1/kiosk` ([`start_session`]), so a reload or a return to
//! `/kiosk` resumes kiosk mode (the server, not the page, remembers it, and the page's script
//! never keeps the credential). Leaving kiosk mode ([`exit`]) needs the kiosk's PIN, which an
//! administrator sets per kiosk ([`set_pin`], an argon2id hash) and the server checks: after
//! [`MAX_PIN_FAILURES`] wrong PINs in a row the check is locked for [`PIN_LOCK_SECS`] (429,
//! even for the right PIN), so a passer-by can neither guess it nor leave by reloading.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::kiosk::{
    KIOSK_EXIT_PATH, KIOSK_PIN_PATH, KIOSK_SESSION_PATH, KioskPin, NewKioskPin,
};
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::password::{self, Verified};
use crate::auth::sessions::kiosk_cookie_credential;
use crate::auth::{Admin, Kiosk};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath};

pub use crate::auth::sessions::KIOSK_COOKIE as COOKIE;
/// The only path the browser sends the kiosk cookie to.
pub const COOKIE_PATH: &str = "/api/v1/kiosk";
/// How long the browser keeps the cookie (Chromium keeps none longer than 400 days).
const COOKIE_MAX_AGE_S: i64 = 400 * 24 * 3600;
/// Wrong PINs in a row that lock the check.
pub const MAX_PIN_FAILURES: i32 = 5;
/// How long the check stays locked, in seconds.
pub const PIN_LOCK_SECS: i64 = 300;
/// Digits of a PIN.
const PIN_DIGITS: std::ops::RangeInclusive<usize> = 4..=12;
/// Longest answer [`exit`] compares (anything longer is refused before hashing).
const MAX_PIN_ANSWER: usize = 64;

fn with_cookie(value: &str, max_age: i64) -> Response {
    let cookie = format!(
        "{COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"
    );
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Enters kiosk mode in a browser: the credential of the `Authorization` header (or of the
/// cookie, renewed) is set as the `faceid_kiosk` cookie, which the kiosk endpoints accept with
/// the `X-FaceID-CSRF` header instead of `Authorization`.
#[utoipa::path(post, path = KIOSK_SESSION_PATH, operation_id = "start_kiosk_session", tag = "devices", security(("bearer" = [])),
    responses(
        (status = 204, description = "kiosk mode on: the credential is in the `faceid_kiosk` cookie"),
        (status = 401, description = "no or bad credential", body = Problem),
        (status = 403, description = "`device_blocked`, or not a kiosk credential", body = Problem)))]
pub async fn start_session(Kiosk(_): Kiosk, headers: HeaderMap) -> AppResult<Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim().to_owned());
    let credential =
        bearer
            .or_else(|| kiosk_cookie_credential(&headers))
            .ok_or(AppError::Unauthenticated {
                code: ErrorCode::Unauthenticated,
            })?;
    Ok(with_cookie(&credential, COOKIE_MAX_AGE_S))
}

fn check_pin(pin: &str) -> AppResult<()> {
    if PIN_DIGITS.contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AppError::field(
            "pin",
            FieldCode::InvalidPin,
            format!("{} to {} digits", PIN_DIGITS.start(), PIN_DIGITS.end()),
        ))
    }
}

/// Sets a kiosk's PIN (needed to leave kiosk mode on the tablet); a failed-attempts lock
/// ends. Audited without the PIN.
#[utoipa::path(put, path = KIOSK_PIN_PATH, operation_id = "set_kiosk_pin", tag = "devices", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "kiosk id")),
    request_body = NewKioskPin,
    responses(
        (status = 204, description = "set"),
        (status = 404, description = "no such device", body = Problem),
        (status = 409, description = "`not_a_kiosk`", body = Problem),
        (status = 422, description = "`invalid_pin`: not 4 to 12 digits", body = Problem)))]
pub async fn set_pin(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<NewKioskPin>,
) -> AppResult<StatusCode> {
    check_pin(&req.pin)?;
    let hash = password::hash(req.pin).await.map_err(AppError::internal)?;
    let mut tx = state.db.begin().await?;
    let kind: Option<String> = sqlx::query_scalar(
        "SELECT kind FROM devices WHERE id = $1 AND kind <> 'terminal' FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    match kind.as_deref() {
        None => return Err(AppError::not_found("device")),
        Some("kiosk") => {}
        Some(_) => {
            return Err(AppError::conflict(
                ErrorCode::NotAKiosk,
                "only kiosks have a PIN",
            ));
        }
    }
    sqlx::query(
        "UPDATE devices SET kiosk_pin_hash = $2, kiosk_pin_failures = 0, kiosk_pin_locked_until = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &caller,
        "device.set_kiosk_pin",
        "device",
        Some(id),
        audit::NONE,
        Some(&serde_json::json!({"pin_set": true})),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leaves kiosk mode: with the kiosk's PIN, the `faceid_kiosk` cookie is cleared. A wrong PIN
/// is 403 `wrong_pin` (its detail says how many attempts are left); the fifth in a row locks
/// the check for five minutes: 429 `rate_limited` with `Retry-After`, also for the right PIN.
#[utoipa::path(post, path = KIOSK_EXIT_PATH, operation_id = "exit_kiosk_mode", tag = "devices", security(("bearer" = [])),
    request_body = KioskPin,
    responses(
        (status = 204, description = "kiosk mode off: the cookie is cleared"),
        (status = 403, description = "`wrong_pin`; `device_blocked`, or not a kiosk credential", body = Problem),
        (status = 409, description = "`kiosk_pin_not_set`: an administrator sets one in Devices", body = Problem),
        (status = 422, description = "invalid body", body = Problem),
        (status = 429, description = "`rate_limited`: too many wrong PINs, see `Retry-After`", body = Problem)))]
pub async fn exit(
    State(state): State<AppState>,
    Kiosk(kiosk): Kiosk,
    ApiJson(req): ApiJson<KioskPin>,
) -> AppResult<Response> {
    if req.pin.is_empty() || req.pin.chars().count() > MAX_PIN_ANSWER {
        return Err(AppError::field(
            "pin",
            FieldCode::InvalidPin,
            "a PIN is digits",
        ));
    }
    let id = kiosk.device_id;
    let mut tx = state.db.begin().await?;
    // The row stays locked while the PIN is checked: attempts of one kiosk are counted in turn.
    let (hash, failures, locked_until): (Option<String>, i32, Option<DateTime<Utc>>) =
        sqlx::query_as(
            "SELECT kiosk_pin_hash, kiosk_pin_failures, kiosk_pin_locked_until
               FROM devices WHERE id = $1 FOR UPDATE",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let now = Utc::now();
    if let Some(until) = locked_until.filter(|u| *u > now) {
        return Err(AppError::RateLimited {
            retry_after_secs: u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1),
        });
    }
    let Some(hash) = hash else {
        return Err(AppError::conflict(
            ErrorCode::KioskPinNotSet,
            "this kiosk has no PIN: an administrator sets one in Devices",
        ));
    };
    let verdict = password::verify(req.pin, hash)
        .await
        .map_err(AppError::internal)?;
    if matches!(verdict, Verified::Yes | Verified::YesRehash) {
        sqlx::query(
            "UPDATE devices SET kiosk_pin_failures = 0, kiosk_pin_locked_until = NULL WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit::record_system(
            &mut tx,
            "kiosk.exit",
            "device",
            Some(id),
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        return Ok(with_cookie("", 0));
    }
    let failures = failures + 1;
    if failures >= MAX_PIN_FAILURES {
        let until = now + chrono::Duration::seconds(PIN_LOCK_SECS);
        sqlx::query(
            "UPDATE devices SET kiosk_pin_failures = 0, kiosk_pin_locked_until = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(until)
        .execute(&mut *tx)
        .await?;
        audit::record_system(
            &mut tx,
            "kiosk.pin_locked",
            "device",
            Some(id),
            &serde_json::json!({"locked_until": until}),
        )
        .await?;
        tx.commit().await?;
        return Err(AppError::RateLimited {
            retry_after_secs: u64::try_from(PIN_LOCK_SECS).unwrap_or(300),
        });
    }
    sqlx::query("UPDATE devices SET kiosk_pin_failures = $2 WHERE id = $1")
        .bind(id)
        .bind(failures)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Err(AppError::forbidden(
        ErrorCode::WrongPin,
        format!(
            "wrong PIN; {} attempts left before a {}-minute lock",
            MAX_PIN_FAILURES - failures,
            PIN_LOCK_SECS / 60
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_twelve_digits() {
        assert!(check_pin("1234").is_ok());
        assert!(check_pin("123456789012").is_ok());
        for bad in ["", "123", "1234567890123", "12a4", "12 34", "١٢٣٤"] {
            assert!(check_pin(bad).is_err(), "{bad:?}");
        }
    }
}
