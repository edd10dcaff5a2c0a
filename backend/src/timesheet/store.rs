//! The database side of the timesheet: loads schedules, calendar, absences and punches into
//! the plain structs of this module, keeps `timesheet_days` up to date and reads it back.
//!
//! A computed row is stale when it is missing, has a mark in `timesheet_dirty` (punches mark
//! through a trigger), is not final (its day is not over), or was computed for another
//! department or time zone than the employee has now. Stale rows of the requested employees
//! and period are recomputed by [`ensure_computed`] before anything is served.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use faceid_protocol::attendance::{PunchKind as WirePunchKind, PunchStatus};
use faceid_protocol::wire_text::WireText;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::calendar::{CalendarEntry, DayOverride, YearCalendar};
use super::compute::{AttendanceEvent, EventStatus, PunchKind};
use super::export::EmployeeInfo;
use super::schedule::FlexRequirement;
use super::{
    Absence, AbsenceKind, Absences, Assignment, AssignmentTarget, ComputeRules, DayRecord,
    EmployeeFacts, HolidayCalendar, MissingCheckoutRule, Period, ScheduleBook, ScheduleKind,
    ShiftTemplate, compute_period,
};
use crate::auth::Scope;
use crate::error::{AppError, AppResult};

mod read;
mod recompute;

pub use faceid_protocol::schedules::ScheduleDef;
pub use read::{T13Cells, days, stored, summaries, t13_cells, t13_file};
pub use recompute::ensure_computed;

/// Rows written per statement when storing computed days.
const UPSERT_CHUNK: usize = 2_000;

/// The schedule with its templates resolved; `Err` explains what is wrong.
pub fn resolve_schedule(
    def: &ScheduleDef,
    templates: &HashMap<Uuid, ShiftTemplate>,
) -> Result<ScheduleKind, String> {
    let get = |id: &Uuid| {
        templates
            .get(id)
            .cloned()
            .ok_or_else(|| format!("shift template {id} does not exist"))
    };
    let opt = |v: &Option<Uuid>| v.as_ref().map(get).transpose();
    Ok(match def {
        ScheduleDef::Weekly { days } => {
            if days.len() != 7 {
                return Err("a weekly pattern has exactly 7 days, Monday first".into());
            }
            let mut out: [Option<ShiftTemplate>; 7] = Default::default();
            for (slot, d) in out.iter_mut().zip(days) {
                *slot = opt(d)?;
            }
            ScheduleKind::Weekly { days: out }
        }
        ScheduleDef::Rotating { anchor, cycle } => ScheduleKind::Rotating {
            anchor: *anchor,
            cycle: cycle.iter().map(opt).collect::<Result<_, _>>()?,
        },
        ScheduleDef::Roster { days } => ScheduleKind::Roster {
            days: days
                .iter()
                .map(|(d, t)| Ok((*d, get(t)?)))
                .collect::<Result<_, String>>()?,
        },
        ScheduleDef::Flexible {
            minutes_per_day,
            minutes_per_week,
            work_days,
        } => {
            if work_days.len() != 7 {
                return Err("work_days has exactly 7 flags, Monday first".into());
            }
            let requirement = match (minutes_per_day, minutes_per_week) {
                (Some(m), None) => FlexRequirement::PerDay { minutes: *m },
                (None, Some(m)) => FlexRequirement::PerWeek { minutes: *m },
                _ => {
                    return Err("give exactly one of minutes_per_day and minutes_per_week".into());
                }
            };
            let mut wd = [false; 7];
            wd.copy_from_slice(work_days);
            ScheduleKind::Flexible {
                requirement,
                work_days: wd,
            }
        }
    })
}

#[derive(sqlx::FromRow)]
pub struct TemplateRow {
    pub id: Uuid,
    pub name: String,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub unpaid_break_minutes: i32,
    pub late_grace_minutes: i32,
    pub early_leave_grace_minutes: i32,
    pub checkin_window_minutes: i32,
    pub site_id: Option<Uuid>,
}

pub const TEMPLATE_SELECT: &str = "SELECT id, name, start_time, end_time, unpaid_break_minutes,
    late_grace_minutes, early_leave_grace_minutes, checkin_window_minutes, site_id
    FROM shift_templates";

fn non_neg(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

impl TemplateRow {
    pub fn template(&self) -> ShiftTemplate {
        ShiftTemplate {
            name: self.name.clone(),
            start: self.start_time,
            end: self.end_time,
            unpaid_break_minutes: non_neg(self.unpaid_break_minutes),
            late_grace_minutes: non_neg(self.late_grace_minutes),
            early_leave_grace_minutes: non_neg(self.early_leave_grace_minutes),
            checkin_window_minutes: non_neg(self.checkin_window_minutes),
        }
    }
}

pub async fn templates(conn: &mut PgConnection) -> AppResult<HashMap<Uuid, ShiftTemplate>> {
    let rows: Vec<TemplateRow> = sqlx::query_as(TEMPLATE_SELECT).fetch_all(conn).await?;
    Ok(rows.iter().map(|r| (r.id, r.template())).collect())
}

/// An employee as the timesheet sees them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Emp {
    pub id: Uuid,
    pub department_id: Option<Uuid>,
    pub department_name: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub login: String,
    pub card_number: Option<String>,
    pub position: Option<String>,
    pub time_zone: String,
    pub site_ids: Vec<Uuid>,
}

impl Emp {
    pub fn tz(&self) -> Tz {
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }
    pub fn full_name(&self) -> String {
        format!("{} {}", self.last_name, self.first_name)
    }
    /// Export identity; `index` is the employee's number within the export.
    pub fn info(&self, index: i64) -> EmployeeInfo {
        EmployeeInfo {
            id: index,
            full_name: self.full_name(),
            position: self.position.clone().unwrap_or_default(),
            personnel_number: self
                .card_number
                .clone()
                .unwrap_or_else(|| self.login.clone()),
        }
    }
}

/// Which employees a report covers.
#[derive(Debug, Clone, Default)]
pub struct EmpFilter {
    pub department_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    pub employee_id: Option<Uuid>,
    /// Text the name contains ("last first" or "first last"), any case.
    pub name: Option<String>,
}

const EMP_SELECT: &str = "SELECT e.id, e.department_id, d.name AS department_name, e.first_name,
    e.last_name, e.login, e.card_number, p.name AS position,
    COALESCE((SELECT s.time_zone FROM employee_sites es JOIN sites s ON s.id = es.site_id
              WHERE es.employee_id = e.id ORDER BY lower(s.name), s.id LIMIT 1), 'UTC') AS time_zone,
    COALESCE((SELECT array_agg(es.site_id ORDER BY es.site_id) FROM employee_sites es
              WHERE es.employee_id = e.id), '{}') AS site_ids
    FROM employees e
    LEFT JOIN departments d ON d.id = e.department_id
    LEFT JOIN positions p ON p.id = e.position_id
    WHERE (e.status = 'active' OR e.dismissed_at >= ";

fn push_emp_filter(qb: &mut QueryBuilder<Postgres>, scope: &Scope, f: &EmpFilter) {
    scope.push_filter(qb);
    if let Some(d) = f.department_id {
        qb.push(" AND e.department_id = ").push_bind(d);
    }
    if let Some(s) = f.site_id {
        qb.push(" AND EXISTS (SELECT 1 FROM employee_sites es2 WHERE es2.employee_id = e.id AND es2.site_id = ")
            .push_bind(s)
            .push(")");
    }
    if let Some(e) = f.employee_id {
        qb.push(" AND e.id = ").push_bind(e);
    }
    if let Some(text) = f.name.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let escaped: String = text
            .chars()
            .flat_map(|c| match c {
                '\\' | '%' | '_' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        qb.push(" AND ((e.last_name || ' ' || e.first_name) ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR (e.first_name || ' ' || e.last_name) ILIKE ")
            .push_bind(pattern)
            .push(")");
    }
}

/// Employees within `scope` and `filter` who were employed during the period (active, or
/// dismissed on or after `from`), ordered by name; `page` is (limit, offset).
pub async fn employees(
    db: &PgPool,
    scope: &Scope,
    filter: &EmpFilter,
    from: NaiveDate,
    page: Option<(u32, u32)>,
) -> AppResult<(Vec<Emp>, i64)> {
    let mut count = QueryBuilder::new(
        "SELECT count(*) FROM employees e WHERE (e.status = 'active' OR e.dismissed_at >= ",
    );
    count.push_bind(from).push(")");
    push_emp_filter(&mut count, scope, filter);
    let total: i64 = count.build_query_scalar().fetch_one(db).await?;
    let mut qb = QueryBuilder::new(EMP_SELECT);
    qb.push_bind(from).push(")");
    push_emp_filter(&mut qb, scope, filter);
    qb.push(" ORDER BY e.last_name, e.first_name, e.id");
    if let Some((limit, offset)) = page {
        qb.push(" LIMIT ")
            .push_bind(i64::from(limit))
            .push(" OFFSET ")
            .push_bind(i64::from(offset));
    }
    let rows: Vec<Emp> = qb.build_query_as().fetch_all(db).await?;
    Ok((rows, total))
}

/// The rules of the computation.
pub async fn rules(conn: &mut PgConnection) -> AppResult<ComputeRules> {
    let rule: Option<String> =
        sqlx::query_scalar("SELECT missing_checkout FROM timesheet_settings WHERE id = 1")
            .fetch_optional(conn)
            .await?;
    Ok(ComputeRules {
        missing_checkout: match rule.as_deref() {
            Some("close_at_shift_end") => MissingCheckoutRule::CloseAtShiftEnd,
            _ => MissingCheckoutRule::Flag,
        },
        ..ComputeRules::default()
    })
}

#[derive(sqlx::FromRow)]
struct HolidayRow {
    day: NaiveDate,
    kind: String,
    name: Option<String>,
    working_as: Option<i16>,
}

pub fn weekday_from_iso(n: i16) -> Option<Weekday> {
    match n {
        1 => Some(Weekday::Mon),
        2 => Some(Weekday::Tue),
        3 => Some(Weekday::Wed),
        4 => Some(Weekday::Thu),
        5 => Some(Weekday::Fri),
        6 => Some(Weekday::Sat),
        7 => Some(Weekday::Sun),
        _ => None,
    }
}

/// The whole holiday calendar.
pub async fn calendar(conn: &mut PgConnection) -> AppResult<HolidayCalendar> {
    use chrono::Datelike;
    let rows: Vec<HolidayRow> =
        sqlx::query_as("SELECT day, kind, name, working_as FROM holiday_calendar ORDER BY day")
            .fetch_all(conn)
            .await?;
    let mut years: BTreeMap<i32, Vec<CalendarEntry>> = BTreeMap::new();
    for r in rows {
        let kind = match r.kind.as_str() {
            "holiday" => DayOverride::Holiday {
                name: r.name.unwrap_or_default(),
            },
            "working" => DayOverride::WorkingAs {
                weekday: r
                    .working_as
                    .and_then(weekday_from_iso)
                    .ok_or_else(|| AppError::internal("calendar: bad working_as"))?,
            },
            _ => DayOverride::NonWorking,
        };
        years
            .entry(r.day.year())
            .or_default()
            .push(CalendarEntry { date: r.day, kind });
    }
    let years = years
        .into_iter()
        .map(|(y, e)| YearCalendar::new(y, e))
        .collect::<Result<Vec<_>, _>>()
        .map_err(AppError::internal)?;
    HolidayCalendar::new(years).map_err(AppError::internal)
}

/// The computation's status of a stored punch status; `None` for `superseded` (replaced by a
/// correction, not counted and not shown) and any text the protocol does not name.
fn event_status(s: &str) -> Option<EventStatus> {
    Some(match PunchStatus::from_wire_text(s)? {
        PunchStatus::Verified => EventStatus::Verified,
        PunchStatus::FlaggedPending => EventStatus::FlaggedPending,
        PunchStatus::FlaggedAccepted => EventStatus::FlaggedAccepted,
        PunchStatus::FlaggedRejected => EventStatus::FlaggedRejected,
        PunchStatus::Rejected => EventStatus::Rejected,
        PunchStatus::Superseded => return None,
    })
}

/// schedule, employee, department, valid from, valid to.
type AssignmentRow = (
    Uuid,
    Option<Uuid>,
    Option<Uuid>,
    NaiveDate,
    Option<NaiveDate>,
);

/// Dense ids for the pure core, which numbers employees and departments.
#[derive(Default)]
struct Ids {
    map: HashMap<Uuid, i64>,
}

impl Ids {
    fn get(&mut self, id: Uuid) -> i64 {
        let next = self.map.len() as i64 + 1;
        *self.map.entry(id).or_insert(next)
    }
}

/// Computes day records of `emps` over `period` from the raw facts (nothing is stored).
/// The result is in the order of `emps`; `DayRecord::employee` is the index in `emps` + 1.
pub async fn compute(
    conn: &mut PgConnection,
    emps: &[Emp],
    period: Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<Vec<DayRecord>>> {
    compute_spans(
        conn,
        &emps.iter().map(|e| (e.clone(), period)).collect::<Vec<_>>(),
        now,
    )
    .await
}

/// Like [`compute`], with a period per employee.
pub async fn compute_spans(
    conn: &mut PgConnection,
    work: &[(Emp, Period)],
    now: DateTime<Utc>,
) -> AppResult<Vec<Vec<DayRecord>>> {
    if work.is_empty() {
        return Ok(Vec::new());
    }
    let rules = rules(conn).await?;
    let cal = calendar(conn).await?;
    let tpl = templates(conn).await?;
    let mut ids = Ids::default();
    let mut dep_ids = Ids::default();
    for (e, _) in work {
        ids.get(e.id);
    }
    let lo = work.iter().map(|(_, p)| p.from()).min().unwrap_or_default();
    let hi = work.iter().map(|(_, p)| p.to()).max().unwrap_or_default();
    let emp_uuids: Vec<Uuid> = work.iter().map(|(e, _)| e.id).collect();

    // Schedules and assignments.
    let defs: Vec<(Uuid, serde_json::Value)> =
        sqlx::query_as("SELECT id, definition FROM schedules")
            .fetch_all(&mut *conn)
            .await?;
    let mut kinds = HashMap::new();
    for (id, def) in defs {
        let def: ScheduleDef = serde_json::from_value(def).map_err(AppError::internal)?;
        kinds.insert(
            id,
            resolve_schedule(&def, &tpl).map_err(AppError::internal)?,
        );
    }
    let rows: Vec<AssignmentRow> = sqlx::query_as(
        "SELECT schedule_id, employee_id, department_id, valid_from, valid_to
               FROM schedule_assignments
              WHERE (employee_id = ANY($1) OR department_id IN
                     (SELECT department_id FROM employees WHERE id = ANY($1)))
                AND valid_from <= $3 AND (valid_to IS NULL OR valid_to >= $2)",
    )
    .bind(&emp_uuids)
    .bind(lo - Duration::days(1))
    .bind(hi + Duration::days(1))
    .fetch_all(&mut *conn)
    .await?;
    let mut assignments = Vec::with_capacity(rows.len());
    for (schedule, emp, dep, from, to) in rows {
        let target = match (emp, dep) {
            (Some(e), _) => AssignmentTarget::Employee(ids.get(e)),
            (None, Some(d)) => AssignmentTarget::Department(dep_ids.get(d)),
            (None, None) => continue,
        };
        let schedule = kinds
            .get(&schedule)
            .cloned()
            .ok_or_else(|| AppError::internal("assignment without schedule"))?;
        assignments.push(Assignment {
            target,
            from,
            to,
            schedule,
        });
    }
    let book = ScheduleBook::new(assignments).map_err(AppError::internal)?;

    // Absences.
    let rows: Vec<(Uuid, String, NaiveDate, NaiveDate)> = sqlx::query_as(
        "SELECT employee_id, kind, date_from, date_to FROM absences
          WHERE employee_id = ANY($1) AND date_to >= $2 AND date_from <= $3",
    )
    .bind(&emp_uuids)
    .bind(lo)
    .bind(hi)
    .fetch_all(&mut *conn)
    .await?;
    let absences = Absences::new(
        rows.into_iter()
            .filter_map(|(e, k, from, to)| {
                Some(Absence {
                    employee: ids.get(e),
                    kind: AbsenceKind::parse(&k)?,
                    from,
                    to,
                })
            })
            .collect(),
    )
    .map_err(AppError::internal)?;

    // Punches, through the view the attendance module maintains.
    let ev_lo = compute_lo(lo);
    let ev_hi = compute_hi(hi);
    let rows: Vec<(i64, Uuid, String, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT id, employee_id, kind, at, status FROM attendance_punches
          WHERE employee_id = ANY($1) AND at >= $2 AND at < $3",
    )
    .bind(&emp_uuids)
    .bind(ev_lo)
    .bind(ev_hi)
    .fetch_all(&mut *conn)
    .await?;
    let mut events: HashMap<Uuid, Vec<AttendanceEvent>> = HashMap::new();
    for (id, emp, kind, at, status) in rows {
        let Some(status) = event_status(&status) else {
            continue;
        };
        let kind = match WirePunchKind::from_wire_text(&kind) {
            Some(WirePunchKind::In) => PunchKind::In,
            Some(WirePunchKind::Out) => PunchKind::Out,
            None => continue,
        };
        events.entry(emp).or_default().push(AttendanceEvent {
            id,
            at,
            kind,
            status,
        });
    }

    let mut out = Vec::with_capacity(work.len());
    for (e, period) in work {
        let facts = EmployeeFacts {
            employee: ids.get(e.id),
            department: e.department_id.map(|d| dep_ids.get(d)),
            tz: e.tz(),
            book: &book,
            calendar: &cal,
            absences: &absences,
            events: events.get(&e.id).map(Vec::as_slice).unwrap_or(&[]),
            rules,
            now: Some(now),
        };
        out.push(compute_period(&facts, *period));
    }
    Ok(out)
}

/// Earliest instant whose punches can matter for local date `d` (any zone).
fn compute_lo(d: NaiveDate) -> DateTime<Utc> {
    (d - Duration::days(2)).and_time(NaiveTime::MIN).and_utc()
}
/// Latest such instant (exclusive).
fn compute_hi(d: NaiveDate) -> DateTime<Utc> {
    (d + Duration::days(4)).and_time(NaiveTime::MIN).and_utc()
}

/// Drops computed days so they are recomputed: of one employee, of a department's
/// employees, or of everyone (`None`, `None`), from `from` to `to` (open-ended if `None`).
pub async fn invalidate(
    conn: &mut PgConnection,
    employee: Option<Uuid>,
    department: Option<Uuid>,
    from: NaiveDate,
    to: Option<NaiveDate>,
) -> AppResult<()> {
    let mut qb = QueryBuilder::new("DELETE FROM timesheet_days WHERE day >= ");
    qb.push_bind(from);
    if let Some(to) = to {
        qb.push(" AND day <= ").push_bind(to);
    }
    match (employee, department) {
        (Some(e), _) => {
            qb.push(" AND employee_id = ").push_bind(e);
        }
        (None, Some(d)) => {
            qb.push(" AND employee_id IN (SELECT id FROM employees WHERE department_id = ")
                .push_bind(d)
                .push(")");
        }
        (None, None) => {}
    }
    qb.build().execute(conn).await?;
    Ok(())
}
