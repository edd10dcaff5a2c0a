//! The consent ledger's rules: whether an employee currently has a consent granted (the latest
//! ledger entry is a grant) and how consent kinds and actions are stored. The endpoints are in
//! `routes::consent`.

use faceid_protocol::consent::{ConsentAction, ConsentKind};
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The SQL condition "the latest `kind` entry of the employee `employee` (a column or a
/// placeholder) is a grant"; false without any entry. One definition for every query that
/// needs it (check-in, kiosk identification, location batches).
pub fn granted(employee: &str, kind: ConsentKind) -> String {
    format!(
        "coalesce((SELECT c.action = 'grant' FROM consent_records c
                    WHERE c.employee_id = {employee} AND c.kind = '{}'
                    ORDER BY c.id DESC LIMIT 1), false)",
        kind_str(kind)
    )
}

pub fn kind_str(k: ConsentKind) -> &'static str {
    match k {
        ConsentKind::Biometric => "biometric",
        ConsentKind::Location => "location",
        ConsentKind::Telegram => "telegram",
    }
}

pub fn parse_kind(s: &str) -> AppResult<ConsentKind> {
    match s {
        "biometric" => Ok(ConsentKind::Biometric),
        "location" => Ok(ConsentKind::Location),
        "telegram" => Ok(ConsentKind::Telegram),
        other => Err(AppError::internal(format!(
            "unknown consent kind {other:?}"
        ))),
    }
}

pub fn action_str(a: ConsentAction) -> &'static str {
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
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT {}", granted("$1", kind))))
        .bind(employee)
        .fetch_one(pool)
        .await
}

