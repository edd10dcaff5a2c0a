//! The employee and position import (docs/iiko.md): iiko's roles become positions and its
//! employees become ours, linked in `iiko_positions` / `iiko_employees`.
//!
//! The lists are read in one client run (logged out after), then applied in one transaction
//! under an advisory lock (one import at a time across replicas). A dry run applies the same
//! code and rolls back, so it answers exactly what a real run would change and writes nothing
//! but its log row.
//!
//! Rules: system accounts (`employee=false`) are skipped; deleted ones and ones outside the
//! configured departments are not imported. An employee is matched by the link, then by the
//! personnel number (`code` = our `card_number`), then by our `iiko_id`; never by name. A new
//! one is created without a usable password (`needs_review`). Names and positions follow
//! iiko. A linked employee deleted in iiko or gone from its list is marked `gone_since` and
//! dismissed only when an administrator confirms.

use faceid_protocol::error_code::ErrorCode;
use std::collections::{HashMap, HashSet};

use chrono::Utc;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::client::Record;
use super::{ConnectionRow, Counts, IikoClient, IikoError, log_run};
use crate::AppState;
use crate::error::{AppError, AppResult};

/// The periodic scheduler and the import job.
pub const SCHEDULE_JOB: &str = "iiko.schedule";
pub const IMPORT_JOB: &str = "iiko.import";

/// Any value that cannot be an argon2 hash: the account cannot log in until an
/// administrator sets a password.
const NO_PASSWORD: &str = "!iiko-no-password";
/// The advisory lock of the import.
const LOCK_KEY: i64 = 0x1160_1160;

pub use faceid_protocol::iiko::RunReport;

/// Runs an import now. `Err` only for a failure to reach iiko or the database; the run is
/// logged either way.
pub async fn run(
    state: &AppState,
    conn: &ConnectionRow,
    dry_run: bool,
) -> Result<RunReport, ImportError> {
    let started = Utc::now();
    let fetched = IikoClient::run(&conn.client_connection(state)?, async |c| {
        Ok((c.roles().await?, c.employees().await?))
    })
    .await;
    let (roles, employees) = match fetched {
        Ok(v) => v,
        Err(e) => {
            log_run(&state.db, "import", dry_run, started, Err(&e)).await?;
            return Err(ImportError::Iiko(e));
        }
    };
    let mut tx = state.db.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Err(ImportError::App(AppError::conflict(
            ErrorCode::IikoImportRunning,
            "another iiko import is running",
        )));
    }
    let mut run = Run::default();
    run.positions(&mut tx, &roles).await?;
    run.employees(&mut tx, conn, &employees).await?;
    finish(
        state,
        tx,
        "import",
        dry_run,
        started,
        run.counts,
        run.changes,
    )
    .await
}

/// Commits the run's writes (rolls them back in a dry run), logs it, and answers its report.
pub(super) async fn finish(
    state: &AppState,
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    kind: &str,
    dry_run: bool,
    started: chrono::DateTime<Utc>,
    counts: Counts,
    changes: Vec<Value>,
) -> Result<RunReport, ImportError> {
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    let run_id = log_run(&state.db, kind, dry_run, started, Ok((&counts, &changes))).await?;
    Ok(RunReport {
        run_id,
        dry_run,
        counts,
        changes,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Iiko(IikoError),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        Self::App(e.into())
    }
}

#[derive(Default)]
struct Run {
    counts: Counts,
    changes: Vec<Value>,
    /// iiko role code → our position.
    positions: HashMap<String, Uuid>,
}

impl Run {
    fn note(&mut self, iiko_id: &str, kind: &str, detail: impl Into<String>) {
        self.changes
            .push(json!({"iiko_id": iiko_id, "kind": kind, "detail": detail.into()}));
    }

    async fn positions(&mut self, tx: &mut PgConnection, roles: &[Record]) -> AppResult<()> {
        for role in roles {
            let (Some(id), Some(code)) = (role.get("id"), role.get("code")) else {
                continue;
            };
            if role.flag("deleted") == Some(true) {
                continue;
            }
            let name = role.get("name").unwrap_or(code).trim().to_owned();
            let linked: Option<(Uuid, String)> = sqlx::query_as(
                "SELECT p.id, p.name FROM iiko_positions l JOIN positions p ON p.id = l.position_id
                 WHERE l.iiko_id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let position = match linked {
                Some((pid, old)) if old == name => pid,
                Some((pid, old)) => {
                    let taken: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM positions WHERE lower(name) = lower($1) AND id <> $2)",
                    )
                    .bind(&name)
                    .bind(pid)
                    .fetch_one(&mut *tx)
                    .await?;
                    if taken {
                        self.counts.conflicts += 1;
                        self.note(id, "position_name_taken", format!("{old} → {name}"));
                    } else {
                        sqlx::query(
                            "UPDATE positions SET name = $2, updated_at = now() WHERE id = $1",
                        )
                        .bind(pid)
                        .bind(&name)
                        .execute(&mut *tx)
                        .await?;
                        self.counts.updated += 1;
                        self.note(id, "position_renamed", format!("{old} → {name}"));
                    }
                    pid
                }
                None => {
                    let same: Option<(Uuid, bool)> = sqlx::query_as(
                        "SELECT p.id, EXISTS (SELECT 1 FROM iiko_positions l WHERE l.position_id = p.id)
                         FROM positions p WHERE lower(p.name) = lower($1)",
                    )
                    .bind(&name)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let pid = match same {
                        Some((_, true)) => {
                            self.counts.conflicts += 1;
                            self.note(id, "position_name_taken", name.clone());
                            continue;
                        }
                        Some((pid, false)) => {
                            self.counts.updated += 1;
                            self.note(id, "position_linked", name.clone());
                            pid
                        }
                        None => {
                            let pid = Uuid::now_v7();
                            sqlx::query("INSERT INTO positions (id, name) VALUES ($1, $2)")
                                .bind(pid)
                                .bind(&name)
                                .execute(&mut *tx)
                                .await?;
                            self.counts.created += 1;
                            self.note(id, "position_created", name.clone());
                            pid
                        }
                    };
                    sqlx::query(
                        "INSERT INTO iiko_positions (iiko_id, code, position_id) VALUES ($1, $2, $3)",
                    )
                    .bind(id)
                    .bind(code)
                    .bind(pid)
                    .execute(&mut *tx)
                    .await?;
                    pid
                }
            };
            self.positions.insert(code.to_owned(), position);
        }
        Ok(())
    }

    async fn employees(
        &mut self,
        tx: &mut PgConnection,
        conn: &ConnectionRow,
        list: &[Record],
    ) -> AppResult<()> {
        let wanted: HashSet<&str> = conn.department_codes.iter().map(String::as_str).collect();
        let mut present = HashSet::new();
        for e in list {
            let Some(id) = e.get("id") else { continue };
            if e.flag("employee") == Some(false) {
                self.counts.skipped += 1;
                self.note(id, "skipped_system", e.get("name").unwrap_or_default());
                continue;
            }
            let in_scope = wanted.is_empty()
                || e.all("departmentCodes")
                    .iter()
                    .any(|d| wanted.contains(d.as_str()));
            if e.flag("deleted") == Some(true) || !in_scope {
                continue;
            }
            present.insert(id.to_owned());
            self.employee(tx, e, id).await?;
        }
        // Linked employees gone from iiko (deleted, out of scope, or absent).
        let linked: Vec<(String, Uuid, bool, String)> = sqlx::query_as(
            "SELECT l.iiko_id, l.employee_id, l.gone_since IS NOT NULL,
                    e.last_name || ' ' || e.first_name
             FROM iiko_employees l JOIN employees e ON e.id = l.employee_id
             WHERE e.status = 'active' ORDER BY l.iiko_id",
        )
        .fetch_all(&mut *tx)
        .await?;
        for (iiko_id, employee, already, name) in linked {
            if present.contains(&iiko_id) {
                continue;
            }
            if !already {
                sqlx::query("UPDATE iiko_employees SET gone_since = now() WHERE iiko_id = $1")
                    .bind(&iiko_id)
                    .execute(&mut *tx)
                    .await?;
                self.counts.updated += 1;
            }
            self.note(
                &iiko_id,
                "awaiting_dismissal",
                format!(
                    "{name} ({employee}): gone from iiko; dismissed when an administrator confirms"
                ),
            );
        }
        Ok(())
    }

    async fn employee(&mut self, tx: &mut PgConnection, e: &Record, id: &str) -> AppResult<()> {
        let code = e.get("code").map(str::trim).filter(|c| !c.is_empty());
        let first = e.get("firstName").unwrap_or_default().trim().to_owned();
        let mut last = e.get("lastName").unwrap_or_default().trim().to_owned();
        if first.is_empty() && last.is_empty() {
            last = e.get("name").unwrap_or(id).trim().to_owned();
        }
        let position = e
            .get("mainRoleCode")
            .or_else(|| e.all("roleCodes").first().map(String::as_str))
            .and_then(|c| self.positions.get(c).copied());
        let link: Option<(Uuid, bool)> = sqlx::query_as(
            "SELECT employee_id, gone_since IS NOT NULL FROM iiko_employees WHERE iiko_id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let (employee, back) = match link {
            Some(l) => l,
            None => {
                // Not linked yet: the personnel number, then our iiko id; never the name.
                let found: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM employees WHERE ($1::text IS NOT NULL AND card_number = $1)
                        OR iiko_id = $2
                     ORDER BY (card_number = $1) DESC NULLS LAST LIMIT 1",
                )
                .bind(code)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                match found {
                    Some(emp) => {
                        sqlx::query(
                            "INSERT INTO iiko_employees (iiko_id, employee_id, code) VALUES ($1, $2, $3)",
                        )
                        .bind(id)
                        .bind(emp)
                        .bind(code)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query("UPDATE employees SET iiko_id = $2 WHERE id = $1")
                            .bind(emp)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        self.note(id, "employee_linked", format!("{last} {first}"));
                        (emp, false)
                    }
                    None => {
                        self.create(tx, e, id, code, &first, &last, position)
                            .await?;
                        return Ok(());
                    }
                }
            }
        };
        let changed: Option<(String, String)> = sqlx::query_as(
            "UPDATE employees SET first_name = $2, last_name = $3,
                 position_id = COALESCE($4, position_id), updated_at = now()
             WHERE id = $1 AND (first_name, last_name) IS DISTINCT FROM ($2, $3)
                 OR id = $1 AND $4::uuid IS NOT NULL AND position_id IS DISTINCT FROM $4
             RETURNING first_name, last_name",
        )
        .bind(employee)
        .bind(&first)
        .bind(&last)
        .bind(position)
        .fetch_optional(&mut *tx)
        .await?;
        if back {
            sqlx::query("UPDATE iiko_employees SET gone_since = NULL WHERE iiko_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if changed.is_some() || back {
            sqlx::query("UPDATE iiko_employees SET synced_at = now() WHERE iiko_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            crate::hikvision::sync::employee_changed(tx, employee).await?;
            self.counts.updated += 1;
            self.note(id, "employee_updated", format!("{last} {first}"));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn create(
        &mut self,
        tx: &mut PgConnection,
        e: &Record,
        id: &str,
        code: Option<&str>,
        first: &str,
        last: &str,
        position: Option<Uuid>,
    ) -> AppResult<()> {
        let free = async |tx: &mut PgConnection, sql: &'static str, v: &str| -> AppResult<bool> {
            Ok(!sqlx::query_scalar::<_, bool>(sql)
                .bind(v)
                .fetch_one(tx)
                .await?)
        };
        let mut login = e
            .get("login")
            .map(|l| l.trim().to_lowercase())
            .filter(|l| !l.is_empty() && l.len() <= 64)
            .unwrap_or_else(|| format!("iiko-{}", code.unwrap_or(id)));
        let login_sql = "SELECT EXISTS (SELECT 1 FROM employees WHERE lower(login) = lower($1))";
        if !free(tx, login_sql, &login).await? {
            login = format!("iiko-{}", code.unwrap_or(id));
            if !free(tx, login_sql, &login).await? {
                login = format!("iiko-{id}");
            }
        }
        let card_sql = "SELECT EXISTS (SELECT 1 FROM employees WHERE card_number = $1
                OR COALESCE(hikvision_employee_no, card_number) = $1)";
        let card = match code {
            Some(c) if free(tx, card_sql, c).await? => Some(c),
            Some(c) => {
                self.counts.conflicts += 1;
                self.note(id, "card_number_taken", c);
                None
            }
            None => None,
        };
        let employee = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO employees (id, login, password_hash, first_name, last_name, card_number,
                 role, position_id, iiko_id)
             VALUES ($1, $2, $3, $4, $5, $6, 'user', $7, $8)",
        )
        .bind(employee)
        .bind(&login)
        .bind(NO_PASSWORD)
        .bind(first)
        .bind(last)
        .bind(card)
        .bind(position)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO iiko_employees (iiko_id, employee_id, code, needs_review)
             VALUES ($1, $2, $3, true)",
        )
        .bind(id)
        .bind(employee)
        .bind(code)
        .execute(&mut *tx)
        .await?;
        crate::hikvision::sync::employee_changed(tx, employee).await?;
        self.counts.created += 1;
        self.note(id, "employee_created", format!("{last} {first} ({login})"));
        Ok(())
    }
}
