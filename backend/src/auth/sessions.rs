//! Sessions: revoking them, and the cookies a browser authenticates with (the panel's refresh
//! cookie and a kiosk tablet's kiosk-mode cookie), with their CSRF check.

use axum::http::{HeaderMap, header};
use faceid_protocol::devices::KIOSK_CREDENTIAL_PREFIX;
use faceid_protocol::error_code::ErrorCode;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Header every cookie-authenticated request must carry.
pub const CSRF_HEADER: &str = "x-faceid-csrf";
/// Name of the kiosk-mode cookie (its value is the kiosk credential).
pub const KIOSK_COOKIE: &str = "faceid_kiosk";

/// Revokes one session.
pub async fn revoke_session(
    conn: &mut PgConnection,
    session_id: Uuid,
    reason: &str,
) -> AppResult<()> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoke_reason = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes every live session of an employee, except `keep`.
pub async fn revoke_all_sessions(
    conn: &mut PgConnection,
    employee_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> AppResult<()> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoke_reason = $3
          WHERE employee_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)",
    )
    .bind(employee_id)
    .bind(keep)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// The value of the cookie `name` from the `Cookie` header(s), when not empty.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

/// Refuses a cookie-carried request that a foreign site could have caused.
pub fn check_csrf(headers: &HeaderMap) -> AppResult<()> {
    let forbidden = || {
        AppError::forbidden(
            ErrorCode::CsrfCheckFailed,
            "this request needs the X-FaceID-CSRF header and a same-origin Origin",
        )
    };
    if headers.get(CSRF_HEADER).is_none() {
        return Err(forbidden());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(forbidden)?;
        let origin = origin.to_str().map_err(|_| forbidden())?;
        let origin_host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .ok_or_else(forbidden)?;
        if !origin_host.eq_ignore_ascii_case(host) {
            return Err(forbidden());
        }
    }
    Ok(())
}

/// The kiosk credential of the kiosk cookie, when the request carries one.
pub fn kiosk_cookie_credential(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, KIOSK_COOKIE).filter(|v| v.starts_with(KIOSK_CREDENTIAL_PREFIX))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_a_kiosk_credential_is_taken_from_the_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {KIOSK_COOKIE}={KIOSK_CREDENTIAL_PREFIX}abc"))
                .unwrap(),
        );
        assert_eq!(
            kiosk_cookie_credential(&h),
            Some(format!("{KIOSK_CREDENTIAL_PREFIX}abc"))
        );
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("faceid_kiosk=eyJhbGciOi.jwt"),
        );
        assert_eq!(kiosk_cookie_credential(&h), None);
    }
}
