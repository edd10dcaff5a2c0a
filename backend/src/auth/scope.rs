//! The operator-scope decision: which employees a caller may see and manage ([`Scope`]), as a
//! check on one employee ([`check_employee_scope`]) and as the filter of every employee list.

use faceid_protocol::auth::Role;
use faceid_protocol::error_code::ErrorCode;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::Caller;
use crate::error::AppError;

/// Which employees a caller may see and manage.
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    Within {
        department_ids: Vec<Uuid>,
        site_ids: Vec<Uuid>,
    },
    OnlySelf(Uuid),
}

impl Caller {
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Admin => Scope::All,
            Role::Operator => Scope::Within {
                department_ids: self.scope_department_ids.clone(),
                site_ids: self.scope_site_ids.clone(),
            },
            Role::User => Scope::OnlySelf(self.id),
        }
    }
}

/// An employee as the scope decision sees them.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub id: Uuid,
    pub role: Role,
    pub department_id: Option<Uuid>,
    pub site_ids: &'a [Uuid],
}

impl Scope {
    /// Appends ` AND <condition on employee alias e>` to a query: the same decision as
    /// [`Scope::check`], for lists.
    pub fn push_filter(&self, qb: &mut QueryBuilder<Postgres>) {
        match self {
            Scope::All => {}
            Scope::Within {
                department_ids,
                site_ids,
            } => {
                qb.push(" AND e.role = 'user' AND (e.department_id = ANY(")
                    .push_bind(department_ids.clone())
                    .push(") OR EXISTS (SELECT 1 FROM employee_sites es WHERE es.employee_id = e.id AND es.site_id = ANY(")
                    .push_bind(site_ids.clone())
                    .push(")))");
            }
            Scope::OnlySelf(id) => {
                qb.push(" AND e.id = ").push_bind(*id);
            }
        }
    }

    /// The one decision whether a caller may see and manage an employee: administrators
    /// everyone; operators only `user` employees of their departments and sites (never an
    /// administrator, another operator or themselves: 403 `role_not_allowed`, else
    /// `out_of_scope`); users only themselves.
    pub fn check(&self, subject: &Subject) -> Result<(), AppError> {
        match self {
            Scope::All => Ok(()),
            Scope::Within {
                department_ids,
                site_ids,
            } => {
                if subject.role != Role::User {
                    return Err(role_not_allowed());
                }
                let covered = subject
                    .department_id
                    .is_some_and(|d| department_ids.contains(&d))
                    || subject.site_ids.iter().any(|s| site_ids.contains(s));
                if covered { Ok(()) } else { Err(out_of_scope()) }
            }
            Scope::OnlySelf(id) if *id == subject.id => Ok(()),
            Scope::OnlySelf(_) => Err(out_of_scope()),
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }
}

/// Loads an employee's role, department and sites and applies [`Scope::check`]: 404 when
/// absent, 403 `role_not_allowed` or `out_of_scope` when the caller may not manage them.
pub async fn check_employee_scope(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<(), AppError> {
    let row: Option<(Role, Option<Uuid>, Vec<Uuid>)> = sqlx::query_as(
        "SELECT e.role, e.department_id,
                COALESCE(ARRAY(SELECT site_id FROM employee_sites WHERE employee_id = e.id), '{}')
         FROM employees e WHERE e.id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let (role, department_id, site_ids) = row.ok_or(AppError::not_found("employee"))?;
    caller.scope().check(&Subject {
        id,
        role,
        department_id,
        site_ids: &site_ids,
    })
}

/// The refusal for an operator targeting an administrator, another operator or themselves.
pub fn role_not_allowed() -> AppError {
    AppError::forbidden(
        ErrorCode::RoleNotAllowed,
        "operators manage only employees with the `user` role",
    )
}

/// The refusal for an operator acting outside their scope.
pub fn out_of_scope() -> AppError {
    AppError::forbidden(
        ErrorCode::OutOfScope,
        "the employee is outside the departments and sites you manage",
    )
}
