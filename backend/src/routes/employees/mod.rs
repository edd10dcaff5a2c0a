//! Employees: create, list, read, update; dismissal, re-hire and password reset are in
//! [`lifecycle`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use faceid_protocol::auth::{CurrentUser, Role};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::field_code::FieldCode;
use faceid_protocol::org::EmployeeQuery;
use faceid_protocol::org::{
    CreateEmployee, Employee, EmployeePage, EmployeeStatus, ExternalIds, MAX_NAME_LEN,
    OperatorScope, UpdateEmployee,
};
use faceid_protocol::org::{EMPLOYEE_PATH, EMPLOYEES_PATH};
use faceid_protocol::problem::Problem;
use sqlx::AssertSqlSafe;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::AppState;
use crate::audit;
use crate::auth::password;
use crate::auth::{Caller, Scope, Staff, Subject, role_not_allowed};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::extract::{Check, Paging};

pub mod lifecycle;

pub use lifecycle::create_admin;

const SELECT: &str = "SELECT e.id, e.login, e.first_name, e.last_name, e.card_number, e.role,
    e.department_id, e.position_id, e.photo_updated_at, e.status, e.iiko_id, e.hikvision_employee_no,
    e.scope_department_ids, e.scope_site_ids, e.dismissed_at, e.created_at, e.updated_at,
    ARRAY(SELECT site_id FROM employee_sites WHERE employee_id = e.id ORDER BY site_id) AS site_ids,
    ARRAY(SELECT device_id FROM employee_allowed_devices WHERE employee_id = e.id ORDER BY device_id) AS allowed_device_ids
  FROM employees e WHERE true";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    login: String,
    first_name: String,
    last_name: String,
    card_number: Option<String>,
    role: Role,
    department_id: Option<Uuid>,
    position_id: Option<Uuid>,
    photo_updated_at: Option<DateTime<Utc>>,
    status: String,
    iiko_id: Option<String>,
    hikvision_employee_no: Option<String>,
    scope_department_ids: Option<Vec<Uuid>>,
    scope_site_ids: Option<Vec<Uuid>>,
    dismissed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    site_ids: Vec<Uuid>,
    allowed_device_ids: Vec<Uuid>,
}

impl Row {
    fn into_employee(self) -> AppResult<Employee> {
        let role = self.role;
        let scope = match (role, self.scope_department_ids, self.scope_site_ids) {
            (Role::Operator, d, s) => Some(OperatorScope {
                department_ids: d.unwrap_or_default(),
                site_ids: s.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(Employee {
            id: self.id,
            login: self.login,
            first_name: self.first_name,
            last_name: self.last_name,
            card_number: self.card_number,
            role,
            department_id: self.department_id,
            position_id: self.position_id,
            site_ids: self.site_ids,
            photo_updated_at: self.photo_updated_at,
            status: if self.status == "active" {
                EmployeeStatus::Active
            } else {
                EmployeeStatus::Dismissed
            },
            external_ids: ExternalIds {
                iiko_id: self.iiko_id,
                hikvision_employee_no: self.hikvision_employee_no,
            },
            scope,
            allowed_device_ids: self.allowed_device_ids,
            dismissed_at: self.dismissed_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Loads one employee, whatever the caller's scope (callers check it).
pub async fn load(conn: &mut PgConnection, id: Uuid) -> AppResult<Option<Employee>> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!("{SELECT} AND e.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(Row::into_employee).transpose()
}

/// The caller's account as login, refresh and `/me` answer it.
pub async fn current_user(
    conn: &mut PgConnection,
    e: &Employee,
    device_id: Option<Uuid>,
) -> AppResult<CurrentUser> {
    let must_change_password: bool =
        sqlx::query_scalar("SELECT must_change_password FROM employees WHERE id = $1")
            .bind(e.id)
            .fetch_one(conn)
            .await?;
    Ok(CurrentUser {
        id: e.id,
        login: e.login.clone(),
        first_name: e.first_name.clone(),
        last_name: e.last_name.clone(),
        role: e.role,
        department_id: e.department_id,
        position_id: e.position_id,
        site_ids: e.site_ids.clone(),
        device_id,
        must_change_password,
        photo_updated_at: e.photo_updated_at,
    })
}

/// Loads an employee the caller may manage: 404 when it does not exist, 403 as
/// [`Scope::check`] decides otherwise.
async fn load_managed(conn: &mut PgConnection, caller: &Caller, id: Uuid) -> AppResult<Employee> {
    let e = load(conn, id)
        .await?
        .ok_or(AppError::not_found("employee"))?;
    caller.scope().check(&subject(&e))?;
    Ok(e)
}

fn subject(e: &Employee) -> Subject<'_> {
    Subject {
        id: e.id,
        role: e.role,
        department_id: e.department_id,
        site_ids: &e.site_ids,
    }
}

fn valid_login(check: &mut Check, login: &str) -> String {
    let l = login.trim();
    if l.is_empty() || l.chars().count() > faceid_protocol::auth::MAX_LOGIN_LEN {
        check.add("login", FieldCode::Invalid, "1..=64 characters");
    } else if !l
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        check.add(
            "login",
            FieldCode::InvalidCharacters,
            "letters, digits and . _ - @ only",
        );
    }
    l.to_owned()
}

fn valid_external(check: &mut Check, x: &ExternalIds) -> ExternalIds {
    ExternalIds {
        iiko_id: check.opt_text("external_ids.iiko_id", x.iiko_id.as_deref(), 128),
        hikvision_employee_no: check.opt_text(
            "external_ids.hikvision_employee_no",
            x.hikvision_employee_no.as_deref(),
            32,
        ),
    }
}

fn dedup(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v.dedup();
    v
}

/// Maps constraint violations of employee writes to client errors.
fn on_write_error(e: sqlx::Error) -> AppError {
    use crate::error::AsDbError;
    match e.constraint() {
        Some("employees_login_key") => {
            AppError::conflict(ErrorCode::LoginTaken, "this login is taken")
        }
        Some("employees_card_number_key") => AppError::conflict(
            ErrorCode::CardNumberTaken,
            "this card number belongs to another employee",
        ),
        Some("employees_terminal_person_no_key") => AppError::conflict(
            ErrorCode::TerminalPersonNumberTaken,
            "another employee has this terminal person number (hikvision_employee_no, else card_number)",
        ),
        Some("employees_department_id_fkey") => AppError::field(
            "department_id",
            FieldCode::UnknownDepartment,
            "no such department",
        ),
        Some("employees_position_id_fkey") => AppError::field(
            "position_id",
            FieldCode::UnknownPosition,
            "no such position",
        ),
        Some("employee_sites_site_id_fkey") => {
            AppError::field("site_ids", FieldCode::UnknownSite, "no such site")
        }
        Some("employee_allowed_devices_device_id_fkey") => AppError::field(
            "allowed_device_ids",
            FieldCode::UnknownDevice,
            "no such device",
        ),
        _ => e.into(),
    }
}

async fn check_scope_ids(conn: &mut PgConnection, scope: &OperatorScope) -> AppResult<()> {
    let missing_d: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::uuid[]) d WHERE NOT EXISTS (SELECT 1 FROM departments WHERE id = d)",
    )
    .bind(&scope.department_ids)
    .fetch_one(&mut *conn)
    .await?;
    if missing_d > 0 {
        return Err(AppError::field(
            "scope.department_ids",
            FieldCode::UnknownDepartment,
            "no such department",
        ));
    }
    let missing_s: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::uuid[]) s WHERE NOT EXISTS (SELECT 1 FROM sites WHERE id = s)",
    )
    .bind(&scope.site_ids)
    .fetch_one(&mut *conn)
    .await?;
    if missing_s > 0 {
        return Err(AppError::field(
            "scope.site_ids",
            FieldCode::UnknownSite,
            "no such site",
        ));
    }
    Ok(())
}

async fn replace_links(
    conn: &mut PgConnection,
    id: Uuid,
    site_ids: Option<&[Uuid]>,
    device_ids: Option<&[Uuid]>,
) -> AppResult<()> {
    if let Some(site_ids) = site_ids {
        sqlx::query("DELETE FROM employee_sites WHERE employee_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO employee_sites (employee_id, site_id) SELECT $1, unnest($2::uuid[])",
        )
        .bind(id)
        .bind(site_ids)
        .execute(&mut *conn)
        .await
        .map_err(on_write_error)?;
    }
    if let Some(device_ids) = device_ids {
        sqlx::query("DELETE FROM employee_allowed_devices WHERE employee_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        // Allowing a device approves the key it registered (docs/device-keys.md); a device
        // without a key yet is approved again once it has one.
        sqlx::query(
            "INSERT INTO employee_allowed_devices (employee_id, device_id, public_key)
             SELECT $1, u.id, d.public_key FROM unnest($2::uuid[]) AS u(id)
               LEFT JOIN devices d ON d.id = u.id",
        )
        .bind(id)
        .bind(device_ids)
        .execute(&mut *conn)
        .await
        .map_err(on_write_error)?;
        if !device_ids.is_empty() {
            // Sessions on devices that are no longer allowed end now.
            sqlx::query(
                "UPDATE sessions SET revoked_at = now(), revoke_reason = 'device_not_allowed'
                  WHERE employee_id = $1 AND revoked_at IS NULL AND device_id <> ALL($2)",
            )
            .bind(id)
            .bind(device_ids)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Whether another active administrator than `id` exists.
async fn other_admin_exists(conn: &mut PgConnection, id: Uuid) -> AppResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM employees WHERE role = 'admin' AND status = 'active' AND id <> $1)",
    )
    .bind(id)
    .fetch_one(conn)
    .await?)
}

fn push_filters(qb: &mut QueryBuilder<Postgres>, scope: &Scope, q: &EmployeeQuery) {
    scope.push_filter(qb);
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!(
            "%{}%",
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        qb.push(" AND (e.first_name ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR e.last_name ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR (e.last_name || ' ' || e.first_name) ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR (e.first_name || ' ' || e.last_name) ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR e.login ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR e.card_number ILIKE ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(d) = q.department_id {
        qb.push(" AND e.department_id = ").push_bind(d);
    }
    if let Some(p) = q.position_id {
        qb.push(" AND e.position_id = ").push_bind(p);
    }
    if let Some(s) = q.site_id {
        qb.push(" AND EXISTS (SELECT 1 FROM employee_sites x WHERE x.employee_id = e.id AND x.site_id = ")
            .push_bind(s)
            .push(")");
    }
    if let Some(st) = q.status {
        qb.push(" AND e.status = ").push_bind(match st {
            EmployeeStatus::Active => "active",
            EmployeeStatus::Dismissed => "dismissed",
        });
    }
    if let Some(r) = q.role {
        qb.push(" AND e.role = ").push_bind(r);
    }
}

/// Lists employees the caller may see, with search and filters.
#[utoipa::path(get, path = EMPLOYEES_PATH, tag = "employees", security(("bearer" = [])),
    params(EmployeeQuery),
    responses(
        (status = 200, description = "a page of employees", body = EmployeePage),
        (status = 400, description = "`invalid_query`", body = Problem),
        (status = 403, description = "not an administrator or operator", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(q): ApiQuery<EmployeeQuery>,
) -> AppResult<Json<EmployeePage>> {
    let (limit, offset) = Paging::resolve(q.limit, q.offset)?;
    let scope = caller.scope();
    let mut count = QueryBuilder::new("SELECT count(*) FROM employees e WHERE true");
    push_filters(&mut count, &scope, &q);
    let total: i64 = count.build_query_scalar().fetch_one(&state.db).await?;
    let mut qb = QueryBuilder::new(SELECT);
    push_filters(&mut qb, &scope, &q);
    qb.push(" ORDER BY e.last_name, e.first_name, e.id LIMIT ")
        .push_bind(i64::from(limit))
        .push(" OFFSET ")
        .push_bind(i64::from(offset));
    let rows: Vec<Row> = qb.build_query_as().fetch_all(&state.db).await?;
    let items = rows
        .into_iter()
        .map(Row::into_employee)
        .collect::<AppResult<_>>()?;
    Ok(Json(EmployeePage {
        items,
        total,
        limit,
        offset,
    }))
}

/// Creates an employee with an initial password. Operators create only `user` employees within
/// their scope.
#[utoipa::path(post, path = EMPLOYEES_PATH, tag = "employees", security(("bearer" = [])),
    request_body = CreateEmployee,
    responses(
        (status = 201, description = "created", body = Employee),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 409, description = "`login_taken`, `card_number_taken`, `terminal_person_number_taken`", body = Problem),
        (status = 422, description = "invalid fields", body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(req): ApiJson<CreateEmployee>,
) -> AppResult<(StatusCode, Json<Employee>)> {
    let mut check = Check::default();
    let login = valid_login(&mut check, &req.login);
    let first_name = check.text("first_name", &req.first_name, MAX_NAME_LEN);
    let last_name = check.text("last_name", &req.last_name, MAX_NAME_LEN);
    let card_number = check.opt_text("card_number", req.card_number.as_deref(), 64);
    let external = valid_external(&mut check, &req.external_ids);
    if let Some(msg) = password::check_new_password(&req.password) {
        check.add("password", FieldCode::WeakPassword, msg);
    }
    match (req.role, &req.scope) {
        (Role::Operator, None) => check.add("scope", FieldCode::Required, "operators need a scope"),
        (Role::Admin | Role::User, Some(_)) => {
            check.add(
                "scope",
                FieldCode::NotAllowed,
                "only operators have a scope",
            );
        }
        _ => {}
    }
    check.finish()?;
    let site_ids = dedup(req.site_ids.clone());
    let device_ids = dedup(req.allowed_device_ids.clone());
    // The new employee as they will be: an operator may create only what they may manage.
    caller.scope().check(&Subject {
        id: Uuid::nil(),
        role: req.role,
        department_id: req.department_id,
        site_ids: &site_ids,
    })?;
    let hash = password::hash(req.password)
        .await
        .map_err(AppError::internal)?;
    let id = Uuid::now_v7();
    let op_scope = req.scope.map(|s| OperatorScope {
        department_ids: dedup(s.department_ids),
        site_ids: dedup(s.site_ids),
    });
    let mut tx = state.db.begin().await?;
    if let Some(s) = &op_scope {
        check_scope_ids(&mut tx, s).await?;
    }
    sqlx::query(
        "INSERT INTO employees (id, login, password_hash, first_name, last_name, card_number, role,
            department_id, position_id, iiko_id, hikvision_employee_no, scope_department_ids, scope_site_ids,
            must_change_password)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(id)
    .bind(&login)
    .bind(hash)
    .bind(&first_name)
    .bind(&last_name)
    .bind(&card_number)
    .bind(req.role)
    .bind(req.department_id)
    .bind(req.position_id)
    .bind(&external.iiko_id)
    .bind(&external.hikvision_employee_no)
    .bind(op_scope.as_ref().map(|s| s.department_ids.clone()))
    .bind(op_scope.as_ref().map(|s| s.site_ids.clone()))
    .bind(req.must_change_password.unwrap_or(true))
    .execute(&mut *tx)
    .await
    .map_err(on_write_error)?;
    replace_links(&mut tx, id, Some(&site_ids), Some(&device_ids)).await?;
    let created = load(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::internal("employee vanished"))?;
    crate::hikvision::sync::employee_changed(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller,
        "employee.create",
        "employee",
        Some(id),
        audit::NONE,
        Some(&created),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Reads an employee.
#[utoipa::path(get, path = EMPLOYEE_PATH, tag = "employees", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    responses(
        (status = 200, description = "the employee", body = Employee),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Employee>> {
    let mut conn = state.db.acquire().await?;
    let e = load(&mut conn, id)
        .await?
        .ok_or(AppError::not_found("employee"))?;
    caller.scope().check(&subject(&e))?;
    Ok(Json(e))
}

/// Updates an employee. Absent fields stay; `null` clears. Operators cannot change roles or
/// scopes, and the employee must stay within their scope.
#[utoipa::path(patch, path = EMPLOYEE_PATH, tag = "employees", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "employee id")),
    request_body = UpdateEmployee,
    responses(
        (status = 200, description = "updated", body = Employee),
        (status = 403, description = "`out_of_scope`, `role_not_allowed`", body = Problem),
        (status = 404, description = "no such employee", body = Problem),
        (status = 409, description = "`login_taken`, `card_number_taken`, `terminal_person_number_taken`, `last_admin`", body = Problem),
        (status = 422, description = "invalid fields", body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UpdateEmployee>,
) -> AppResult<Json<Employee>> {
    let mut check = Check::default();
    let login = req.login.as_deref().map(|l| valid_login(&mut check, l));
    let first_name = req
        .first_name
        .as_deref()
        .map(|v| check.text("first_name", v, MAX_NAME_LEN));
    let last_name = req
        .last_name
        .as_deref()
        .map(|v| check.text("last_name", v, MAX_NAME_LEN));
    let card_number = req
        .card_number
        .as_ref()
        .map(|c| check.opt_text("card_number", c.as_deref(), 64));
    let external = req
        .external_ids
        .as_ref()
        .map(|x| valid_external(&mut check, x));
    check.finish()?;

    let mut tx = state.db.begin().await?;
    let before = load_managed(&mut tx, &caller, id).await?;
    let scope = caller.scope();
    let role = req.role.unwrap_or(before.role);
    if !scope.is_all() && (role != Role::User || matches!(req.scope, Some(Some(_)))) {
        return Err(role_not_allowed());
    }
    let new_scope = match (role, &req.scope) {
        (Role::Operator, Some(Some(s))) => Some(OperatorScope {
            department_ids: dedup(s.department_ids.clone()),
            site_ids: dedup(s.site_ids.clone()),
        }),
        (Role::Operator, None) => match &before.scope {
            Some(s) => Some(s.clone()),
            None => {
                return Err(AppError::field(
                    "scope",
                    FieldCode::Required,
                    "operators need a scope",
                ));
            }
        },
        (Role::Operator, Some(None)) => {
            return Err(AppError::field(
                "scope",
                FieldCode::Required,
                "operators need a scope",
            ));
        }
        (_, Some(Some(_))) => {
            return Err(AppError::field(
                "scope",
                FieldCode::NotAllowed,
                "only operators have a scope",
            ));
        }
        _ => None,
    };
    if let Some(s) = &new_scope {
        check_scope_ids(&mut tx, s).await?;
    }
    let department_id = req.department_id.unwrap_or(before.department_id);
    let position_id = req.position_id.unwrap_or(before.position_id);
    let site_ids = req.site_ids.clone().map(dedup);
    let effective_sites = site_ids.clone().unwrap_or_else(|| before.site_ids.clone());
    // The employee as they will be must stay within the caller's scope.
    scope.check(&Subject {
        id,
        role,
        department_id,
        site_ids: &effective_sites,
    })?;
    if before.role == Role::Admin
        && role != Role::Admin
        && before.status == EmployeeStatus::Active
        && !other_admin_exists(&mut tx, id).await?
    {
        return Err(AppError::conflict(
            ErrorCode::LastAdmin,
            "this is the last active administrator",
        ));
    }
    let ext = external.unwrap_or_else(|| before.external_ids.clone());
    sqlx::query(
        "UPDATE employees SET login = $2, first_name = $3, last_name = $4, card_number = $5,
            role = $6, department_id = $7, position_id = $8, iiko_id = $9,
            hikvision_employee_no = $10, scope_department_ids = $11, scope_site_ids = $12,
            updated_at = now()
          WHERE id = $1",
    )
    .bind(id)
    .bind(login.unwrap_or_else(|| before.login.clone()))
    .bind(first_name.unwrap_or_else(|| before.first_name.clone()))
    .bind(last_name.unwrap_or_else(|| before.last_name.clone()))
    .bind(card_number.unwrap_or_else(|| before.card_number.clone()))
    .bind(role)
    .bind(department_id)
    .bind(position_id)
    .bind(&ext.iiko_id)
    .bind(&ext.hikvision_employee_no)
    .bind(new_scope.as_ref().map(|s| s.department_ids.clone()))
    .bind(new_scope.as_ref().map(|s| s.site_ids.clone()))
    .execute(&mut *tx)
    .await
    .map_err(on_write_error)?;
    let device_ids = req.allowed_device_ids.clone().map(dedup);
    replace_links(&mut tx, id, site_ids.as_deref(), device_ids.as_deref()).await?;
    let after = load(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::internal("employee vanished"))?;
    crate::hikvision::sync::employee_changed(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller,
        "employee.update",
        "employee",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}
