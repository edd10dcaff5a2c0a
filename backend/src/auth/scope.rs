//! The scope decision: which employees a caller may see and manage.

use faceid_protocol::auth::Role;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::Caller;
use crate::error::{AppError, AppResult};

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

impl Scope {
    /// Appends ` AND <condition on employee alias e>` to a query.
    pub fn push_filter(&self, qb: &mut QueryBuilder<Postgres>) {
        match self {
            Scope::All => {}
            Scope::Within {
                department_ids,
                site_ids,
            } => {
                qb.push(" AND (e.department_id = ANY(")
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

    /// Whether an employee with this department and these sites is within the scope.
    pub fn covers(
        &self,
        employee_id: Uuid,
        department_id: Option<Uuid>,
        site_ids: &[Uuid],
    ) -> bool {
        match self {
            Scope::All => true,
            Scope::Within {
                department_ids,
                site_ids: scope_sites,
            } => {
                department_id.is_some_and(|d| department_ids.contains(&d))
                    || site_ids.iter().any(|s| scope_sites.contains(s))
            }
            Scope::OnlySelf(id) => *id == employee_id,
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }
}

/// The refusal for an operator acting outside their scope.
pub fn out_of_scope() -> AppError {
    AppError::forbidden(
        "out_of_scope",
        "the employee is outside the departments and sites you manage",
    )
}

/// Loads an employee's department and sites and checks the caller's scope: 404 when absent,
/// 403 `out_of_scope` outside an operator's departments and sites.
pub async fn check_employee_scope(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
) -> AppResult<()> {
    let row: Option<(Option<Uuid>, Vec<Uuid>)> = sqlx::query_as(
        "SELECT e.department_id,
                COALESCE(ARRAY(SELECT site_id FROM employee_sites WHERE employee_id = e.id), '{}')
         FROM employees e WHERE e.id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let (dept, sites) = row.ok_or(AppError::not_found("employee"))?;
    if !caller.scope().covers(id, dept, &sites) {
        return Err(out_of_scope());
    }
    Ok(())
}
