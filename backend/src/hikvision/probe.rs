//! The synchronous connection test of a terminal (`POST /api/v1/terminals/{id}/test`): one
//! `System/deviceInfo` call with the stored credentials and a short timeout, its outcome
//! answered at once. Nothing of the terminal's poll state (cursor, errors, lock-out count)
//! changes; the call is in the terminal's call log like any other.

pub use faceid_protocol::terminals::{TerminalTest, TestOutcome};
use std::time::{Duration, Instant};

use super::client::{DeviceInfo, IsapiClient, IsapiError};
use super::{TerminalRow, log_call};
use crate::AppState;
use crate::error::{AppError, AppResult};

/// The longest a connection test waits for the terminal (less if the request timeout is).
pub const TEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The outcome of a failed call.
pub fn outcome_of(e: &IsapiError) -> TestOutcome {
    match e {
        IsapiError::Network(_) | IsapiError::Timeout => TestOutcome::Unreachable,
        IsapiError::Unauthorized => TestOutcome::AuthFailed,
        IsapiError::Isapi { sub_status, .. }
            if sub_status.to_ascii_lowercase().contains("lock") =>
        {
            TestOutcome::LockedOut
        }
        IsapiError::Isapi { .. } | IsapiError::Http { .. } | IsapiError::Malformed(_) => {
            TestOutcome::BadResponse
        }
    }
}

/// The answer for a call that took `elapsed` and ended with `result`.
pub fn test_result(result: Result<DeviceInfo, IsapiError>, elapsed: Duration) -> TerminalTest {
    let ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
    match result {
        Ok(info) => TerminalTest {
            round_trip_ms: Some(ms),
            device_name: info.device_name,
            model: info.model,
            serial_number: info.serial_number,
            firmware_version: info.firmware_version,
            ..TerminalTest::new(TestOutcome::Ok)
        },
        Err(e) => TerminalTest {
            round_trip_ms: Some(ms),
            detail: Some(e.to_string()),
            http_status: e.http_status().map(i32::from),
            ..TerminalTest::new(outcome_of(&e))
        },
    }
}

/// Tests the connection to `t` now. A terminal whose polling is locked out is not called.
pub async fn test_connection(state: &AppState, t: &TerminalRow) -> AppResult<TerminalTest> {
    if t.locked_out_at.is_some() {
        return Ok(TerminalTest {
            detail: Some(
                "polling is stopped because the terminal refused the credentials; change them first"
                    .into(),
            ),
            ..TerminalTest::new(TestOutcome::LockedOut)
        });
    }
    let timeout =
        Duration::from_secs(state.settings.hikvision_request_timeout_secs.max(1)).min(TEST_TIMEOUT);
    let client = IsapiClient::new(
        &t.base_url,
        &t.username,
        &t.password(&state.cipher)?,
        timeout,
    )
    .map_err(AppError::internal)?;
    let started = Instant::now();
    let info = client.device_info().await;
    let elapsed = started.elapsed();
    log_call(&state.db, t.id, "System/deviceInfo", &info, None, started).await;
    Ok(test_result(info, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_map_to_outcomes() {
        assert_eq!(
            outcome_of(&IsapiError::Network("refused".into())),
            TestOutcome::Unreachable
        );
        assert_eq!(outcome_of(&IsapiError::Timeout), TestOutcome::Unreachable);
        assert_eq!(
            outcome_of(&IsapiError::Unauthorized),
            TestOutcome::AuthFailed
        );
        assert_eq!(
            outcome_of(&IsapiError::Http { status: 500 }),
            TestOutcome::BadResponse
        );
        assert_eq!(
            outcome_of(&IsapiError::Malformed("x".into())),
            TestOutcome::BadResponse
        );
        let isapi = |sub: &str| IsapiError::Isapi {
            http: 403,
            status_code: 4,
            sub_status: sub.into(),
            message: String::new(),
        };
        assert_eq!(outcome_of(&isapi("userLocked")), TestOutcome::LockedOut);
        assert_eq!(outcome_of(&isapi("notSupport")), TestOutcome::BadResponse);
    }
}
