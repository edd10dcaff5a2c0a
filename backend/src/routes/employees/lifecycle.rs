//! An employee's life cycle: dismissal, re-hire, a password reset, and the first
//! administrator created from the command line.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use faceid_protocol::auth::Role;
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::org::{EMPLOYEE_DISMISS_PATH, EMPLOYEE_PASSWORD_PATH, EMPLOYEE_REHIRE_PATH};
use faceid_protocol::org::{Employee, EmployeeStatus, MAX_NAME_LEN, ResetPasswordRequest};
use faceid_protocol::problem::Problem;
use uuid::Uuid;

use super::{load, load_managed, other_admin_exists, valid_login};
use crate::AppState;
use crate::audit;
use crate::auth::Staff;
use crate::auth::password;
use crate::auth::sessions::revoke_all_sessions;
use crate::error::{AppError, AppResult, ResultExt};
use crate::extract::Check;
use crate::extract::{ApiJson, ApiPath};

/// Dismisses an employee: they can no longer log in and every session ends; their data stays.
#[utoipa::path(post, path = EMPLOYEE_DISMISS_PATH, tag = "employees", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 200, description = "dismissed", body = Employee),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem),
        (status = 409, description = "`already_dismissed`, `cannot_dismiss_self`, `last_admin`", body = Problem)))]
pub async fn dismiss(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Employee>> {
    let mut tx = state.db.begin().await?;
    let before = load_managed(&mut tx, &caller, id).await?;
    if id == caller.id {
        return Err(AppError::conflict(
            ErrorCode::CannotDismissSelf,
            "you cannot dismiss yourself",
        ));
    }
    if before.status == EmployeeStatus::Dismissed {
        return Err(AppError::conflict(
            ErrorCode::AlreadyDismissed,
            "the employee is already dismissed",
        ));
    }
    if before.role == Role::Admin && !other_admin_exists(&mut tx, id).await? {
        return Err(AppError::conflict(
            ErrorCode::LastAdmin,
            "this is the last active administrator",
        ));
    }
    sqlx::query(
        "UPDATE employees SET status = 'dismissed', dismissed_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    revoke_all_sessions(&mut tx, id, None, "dismissed").await?;
    let after = load(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::internal("employee vanished"))?;
    crate::hikvision::sync::employee_changed(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller,
        "employee.dismiss",
        "employee",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Re-hires a dismissed employee; they can log in again with their password.
#[utoipa::path(post, path = EMPLOYEE_REHIRE_PATH, tag = "employees", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 200, description = "active again", body = Employee),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem),
        (status = 409, description = "`not_dismissed`", body = Problem)))]
pub async fn rehire(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Employee>> {
    let mut tx = state.db.begin().await?;
    let before = load_managed(&mut tx, &caller, id).await?;
    if before.status == EmployeeStatus::Active {
        return Err(AppError::conflict(
            ErrorCode::NotDismissed,
            "the employee is active",
        ));
    }
    sqlx::query(
        "UPDATE employees SET status = 'active', dismissed_at = NULL, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let after = load(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::internal("employee vanished"))?;
    crate::hikvision::sync::employee_changed(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller,
        "employee.rehire",
        "employee",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Sets a new password for an employee; every session of theirs ends.
#[utoipa::path(post, path = EMPLOYEE_PASSWORD_PATH, tag = "employees", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "password set"),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem),
        (status = 422, description = "`weak_password`", body = Problem)))]
pub async fn reset_password(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ResetPasswordRequest>,
) -> AppResult<StatusCode> {
    if let Some(msg) = password::check_new_password(&req.new_password) {
        return Err(AppError::field(
            "new_password",
            FieldCode::WeakPassword,
            msg,
        ));
    }
    let hash = password::hash(req.new_password)
        .await
        .map_err(AppError::internal)?;
    let mut tx = state.db.begin().await?;
    load_managed(&mut tx, &caller, id).await?;
    sqlx::query(
        "UPDATE employees SET password_hash = $2, must_change_password = true, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .execute(&mut *tx)
    .await?;
    revoke_all_sessions(&mut tx, id, None, "password_reset").await?;
    audit::record(
        &mut tx,
        &caller,
        "employee.password_reset",
        "employee",
        Some(id),
        audit::NONE,
        Some(&serde_json::json!({"password": "reset"})),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates an employee outside HTTP (the `admin create` command).
pub async fn create_admin(
    pool: &sqlx::PgPool,
    login: &str,
    first_name: &str,
    last_name: &str,
    password_text: String,
) -> AppResult<Uuid> {
    let mut check = Check::default();
    let login = valid_login(&mut check, login);
    let first_name = check.text("first_name", first_name, MAX_NAME_LEN);
    let last_name = check.text("last_name", last_name, MAX_NAME_LEN);
    if let Some(msg) = password::check_new_password(&password_text) {
        check.add("password", FieldCode::WeakPassword, msg);
    }
    check.finish()?;
    let hash = password::hash(password_text)
        .await
        .map_err(AppError::internal)?;
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO employees (id, login, password_hash, first_name, last_name, role)
         VALUES ($1, $2, $3, $4, $5, 'admin')",
    )
    .bind(id)
    .bind(&login)
    .bind(hash)
    .bind(&first_name)
    .bind(&last_name)
    .execute(&mut *tx)
    .await
    .on_constraint("employees_login_key", || {
        AppError::conflict(ErrorCode::LoginTaken, "this login is taken")
    })?;
    sqlx::query(
        "INSERT INTO audit_log (action, entity_type, entity_id, after)
         VALUES ('employee.create', 'employee', $1, $2)",
    )
    .bind(id)
    .bind(serde_json::json!({"login": login, "role": "admin", "via": "faceid-server admin create"}))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}
