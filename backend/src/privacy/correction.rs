//! Correction requests (the right to rectification): an employee asks for a punch to be
//! corrected (or a missing one added) or for a personal field to be fixed; the request lands
//! in the operators' queue next to flagged punches. Accepting a punch request appends a
//! `correction` event to the attendance chain (nothing is changed in place); accepting a
//! field request updates the profile. Every decision is audited. While a punch request is
//! pending, the punch's evidence photo is kept by retention (it is disputed).

pub use faceid_protocol::privacy::{CorrectionDecision, CorrectionQuery, CorrectionStateFilter};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Longest comment, in characters.
pub const MAX_COMMENT_LEN: usize = 2000;
/// Longest corrected field value, in characters.
pub const MAX_VALUE_LEN: usize = 200;

pub use faceid_protocol::privacy::{
    CorrectableField, CorrectionKind, EmployeeCorrectionRequest, MY_CORRECTION_REQUESTS_PATH,
    NewCorrectionRequest,
};

pub(crate) const SELECT: &str =
    "SELECT c.id, c.employee_id, e.first_name || ' ' || e.last_name AS employee_name,
        c.kind, c.event_id, c.punch_kind, c.at, c.field, c.value, c.comment, c.state,
        c.decided_by, c.decided_at, c.decision_comment, c.correction_event_id, c.created_at
   FROM correction_requests c JOIN employees e ON e.id = c.employee_id";

pub(crate) async fn load(
    conn: &mut PgConnection,
    id: Uuid,
) -> AppResult<EmployeeCorrectionRequest> {
    let r: Option<EmployeeCorrectionRequest> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE c.id = $1")))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    r.ok_or(AppError::not_found("correction request"))
}
