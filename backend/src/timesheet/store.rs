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
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::calendar::{CalendarEntry, DayOverride, YearCalendar};
use super::compute::{AttendanceEvent, EventStatus, PunchKind};
use super::export::{
    EmployeeInfo, ExportError, T13Code, T13Header, T13Line, t13_day, t13_xlsx_lines,
};
use super::schedule::FlexRequirement;
use super::summary::EmployeeSummary;
use super::{
    Absence, AbsenceKind, Absences, Assignment, AssignmentTarget, ComputeRules, DayRecord,
    EmployeeFacts, HolidayCalendar, MissingCheckoutRule, Period, ScheduleBook, ScheduleKind,
    ShiftTemplate, compute_period,
};
use crate::auth::Scope;
use crate::error::{AppError, AppResult};

/// Rows written per statement when storing computed days.
const UPSERT_CHUNK: usize = 2_000;

/// How a schedule is stored and sent: shift templates by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleDef {
    /// Seven entries, Monday first; `null` is a day off.
    Weekly { days: Vec<Option<Uuid>> },
    /// A cycle of shift-or-off days from `anchor` (cycle day 0).
    Rotating {
        anchor: NaiveDate,
        cycle: Vec<Option<Uuid>>,
    },
    /// Explicit shifts per date; other dates are days off.
    Roster { days: BTreeMap<NaiveDate, Uuid> },
    /// Required minutes per day or per week over the work days (seven flags, Monday first).
    Flexible {
        minutes_per_day: Option<u32>,
        minutes_per_week: Option<u32>,
        work_days: Vec<bool>,
    },
}

impl ScheduleDef {
    pub fn kind_str(&self) -> &'static str {
        match self {
            ScheduleDef::Weekly { .. } => "weekly",
            ScheduleDef::Rotating { .. } => "rotating",
            ScheduleDef::Roster { .. } => "roster",
            ScheduleDef::Flexible { .. } => "flexible",
        }
    }

    /// The shift templates the schedule refers to.
    pub fn template_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = match self {
            ScheduleDef::Weekly { days } => days.iter().flatten().copied().collect(),
            ScheduleDef::Rotating { cycle, .. } => cycle.iter().flatten().copied().collect(),
            ScheduleDef::Roster { days } => days.values().copied().collect(),
            ScheduleDef::Flexible { .. } => Vec::new(),
        };
        ids.sort();
        ids.dedup();
        ids
    }

    /// The schedule with its templates resolved; `Err` explains what is wrong.
    pub fn resolve(
        &self,
        templates: &HashMap<Uuid, ShiftTemplate>,
    ) -> Result<ScheduleKind, String> {
        let get = |id: &Uuid| {
            templates
                .get(id)
                .cloned()
                .ok_or_else(|| format!("shift template {id} does not exist"))
        };
        let opt = |v: &Option<Uuid>| v.as_ref().map(get).transpose();
        Ok(match self {
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
                        return Err(
                            "give exactly one of minutes_per_day and minutes_per_week".into()
                        );
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

pub fn absence_kind(s: &str) -> Option<AbsenceKind> {
    match s {
        "annual_leave" => Some(AbsenceKind::AnnualLeave),
        "sick_leave" => Some(AbsenceKind::SickLeave),
        "business_trip" => Some(AbsenceKind::BusinessTrip),
        "unpaid_leave" => Some(AbsenceKind::UnpaidLeave),
        _ => None,
    }
}

fn event_status(s: &str) -> Option<EventStatus> {
    match s {
        "verified" => Some(EventStatus::Verified),
        "flagged_pending" => Some(EventStatus::FlaggedPending),
        "flagged_accepted" => Some(EventStatus::FlaggedAccepted),
        "flagged_rejected" => Some(EventStatus::FlaggedRejected),
        "rejected" => Some(EventStatus::Rejected),
        // "superseded": replaced by a correction, not counted and not shown.
        _ => None,
    }
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
        kinds.insert(id, def.resolve(&tpl).map_err(AppError::internal)?);
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
                    kind: absence_kind(&k)?,
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
        let kind = match kind.as_str() {
            "in" => PunchKind::In,
            "out" => PunchKind::Out,
            _ => continue,
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

/// Employees recomputed per transaction: bounds the advisory locks one transaction holds
/// and the memory of one batch.
const RECOMPUTE_BATCH: usize = 250;

/// Advisory lock namespace of timesheet recomputes (first key of `pg_advisory_xact_lock`).
const RECOMPUTE_LOCK_CLASS: i32 = 7_013;

/// Recomputes and stores the stale days of `emps` within `period`; returns how many
/// employees were recomputed.
///
/// Each batch runs in one transaction holding an advisory lock per employee, so two
/// recomputes of the same employee never interleave (a slower one cannot store older
/// figures over a newer one). Dirty marks are read before the inputs and only the marks
/// read (by version) are cleared: a punch committed during the recompute bumps its mark's
/// version and keeps the day dirty.
pub async fn ensure_computed(
    db: &PgPool,
    emps: &[Emp],
    period: Period,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    if emps.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = emps.iter().map(|e| e.id).collect();
    let deps: Vec<Option<Uuid>> = emps.iter().map(|e| e.department_id).collect();
    let tzs: Vec<String> = emps.iter().map(|e| e.time_zone.clone()).collect();
    let stale: Vec<(Uuid, NaiveDate, NaiveDate)> = sqlx::query_as(
        "SELECT e.id, min(d)::date, max(d)::date
           FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS e(id, dep, tz)
          CROSS JOIN generate_series($4::date, $5::date, interval '1 day') AS d
           LEFT JOIN timesheet_days t ON t.employee_id = e.id AND t.day = d::date
          WHERE t.employee_id IS NULL OR NOT t.is_final
             OR t.department_id IS DISTINCT FROM e.dep OR t.time_zone <> e.tz
             OR EXISTS (SELECT 1 FROM timesheet_dirty x WHERE x.employee_id = e.id AND x.day = d::date)
          GROUP BY e.id",
    )
    .bind(&ids)
    .bind(&deps)
    .bind(&tzs)
    .bind(period.from())
    .bind(period.to())
    .fetch_all(db)
    .await?;
    if stale.is_empty() {
        return Ok(0);
    }
    let by_id: HashMap<Uuid, &Emp> = emps.iter().map(|e| (e.id, e)).collect();
    let mut work = Vec::with_capacity(stale.len());
    for (id, from, to) in stale {
        let span = Period::new(from, to).map_err(AppError::internal)?;
        if let Some(e) = by_id.get(&id) {
            work.push(((*e).clone(), span));
        }
    }
    let mut days = 0;
    for batch in work.chunks(RECOMPUTE_BATCH) {
        days += recompute_batch(db, batch, now).await?;
    }
    tracing::debug!(employees = work.len(), days, "timesheet recomputed");
    Ok(work.len())
}

/// Recomputes `batch` in one transaction (see [`ensure_computed`]); returns the days stored.
async fn recompute_batch(
    db: &PgPool,
    batch: &[(Emp, Period)],
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let emp_ids: Vec<Uuid> = batch.iter().map(|(e, _)| e.id).collect();
    let from: Vec<NaiveDate> = batch.iter().map(|(_, p)| p.from()).collect();
    let to: Vec<NaiveDate> = batch.iter().map(|(_, p)| p.to()).collect();
    let mut tx = db.begin().await?;
    // In a fixed order, so two batches over the same employees cannot deadlock.
    sqlx::query(
        "SELECT pg_advisory_xact_lock($2, k)
           FROM (SELECT DISTINCT hashtext(id::text) AS k FROM unnest($1::uuid[]) AS id ORDER BY k) s",
    )
    .bind(&emp_ids)
    .bind(RECOMPUTE_LOCK_CLASS)
    .execute(&mut *tx)
    .await?;
    // The marks as they are before the inputs are read (READ COMMITTED: this statement sees
    // every punch committed so far, and the inputs read next see at least those).
    let marks: Vec<(Uuid, NaiveDate, i64)> = sqlx::query_as(
        "SELECT x.employee_id, x.day, x.version
           FROM timesheet_dirty x
           JOIN unnest($1::uuid[], $2::date[], $3::date[]) AS s(id, f, t)
             ON x.employee_id = s.id AND x.day BETWEEN s.f AND s.t",
    )
    .bind(&emp_ids)
    .bind(&from)
    .bind(&to)
    .fetch_all(&mut *tx)
    .await?;
    let computed = compute_spans(&mut tx, batch, now).await?;
    let rows: Vec<(&Emp, &DayRecord)> = batch
        .iter()
        .zip(&computed)
        .flat_map(|((e, _), days)| days.iter().map(move |d| (e, d)))
        .collect();
    for chunk in rows.chunks(UPSERT_CHUNK) {
        store_days(&mut tx, chunk).await?;
    }
    let mark_emp: Vec<Uuid> = marks.iter().map(|m| m.0).collect();
    let mark_day: Vec<NaiveDate> = marks.iter().map(|m| m.1).collect();
    let mark_version: Vec<i64> = marks.iter().map(|m| m.2).collect();
    sqlx::query(
        "DELETE FROM timesheet_dirty x USING unnest($1::uuid[], $2::date[], $3::int8[]) AS m(id, d, v)
          WHERE x.employee_id = m.id AND x.day = m.d AND x.version = m.v",
    )
    .bind(&mark_emp)
    .bind(&mark_day)
    .bind(&mark_version)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}

async fn store_days(conn: &mut PgConnection, rows: &[(&Emp, &DayRecord)]) -> AppResult<()> {
    let n = rows.len();
    let mut emp = Vec::with_capacity(n);
    let mut dep = Vec::with_capacity(n);
    let mut tz = Vec::with_capacity(n);
    let mut day = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut worked = Vec::with_capacity(n);
    let mut late = Vec::with_capacity(n);
    let mut early = Vec::with_capacity(n);
    let mut over = Vec::with_capacity(n);
    let mut night = Vec::with_capacity(n);
    let mut fin = Vec::with_capacity(n);
    let mut rec = Vec::with_capacity(n);
    let mut absence = Vec::with_capacity(n);
    let mut missing = Vec::with_capacity(n);
    let mut pending = Vec::with_capacity(n);
    let mut off_work = Vec::with_capacity(n);
    let mut code = Vec::with_capacity(n);
    let mut hours = Vec::with_capacity(n);
    let mut t13_absence = Vec::with_capacity(n);
    let int = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    for (e, r) in rows {
        emp.push(e.id);
        dep.push(e.department_id);
        tz.push(e.time_zone.clone());
        day.push(r.date);
        status.push(r.status.as_str());
        worked.push(int(r.worked_minutes));
        late.push(int(r.late_minutes));
        early.push(int(r.early_leave_minutes));
        over.push(int(r.overtime_minutes));
        night.push(int(r.night_minutes));
        fin.push(r.is_final);
        absence.push(r.absence.map(|a| a.as_str()));
        missing.push(r.missing_checkout);
        pending.push(i32::try_from(r.pending_event_ids.len()).unwrap_or(i32::MAX));
        off_work.push(r.worked_on_day_off || r.worked_on_holiday);
        let cell = t13_day(r);
        code.push(cell.code_text());
        hours.push(cell.hours_text());
        t13_absence.push(
            cell.parts
                .iter()
                .find(|(c, _)| c.is_absence())
                .map(|(c, _)| c.letter()),
        );
        // The core's employee number is per run; 0 in storage, set again when read.
        let mut r = (*r).clone();
        r.employee = 0;
        rec.push(serde_json::to_value(&r).map_err(AppError::internal)?);
    }
    sqlx::query(
        "INSERT INTO timesheet_days (employee_id, department_id, time_zone, day, status,
                worked_minutes, late_minutes, early_leave_minutes, overtime_minutes,
                night_minutes, is_final, record, absence, missing_checkout, pending_events,
                worked_on_day_off, t13_code, t13_hours, t13_absence, computed_at)
         SELECT *, now() FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::text[],
                $6::int[], $7::int[], $8::int[], $9::int[], $10::int[], $11::bool[], $12::jsonb[],
                $13::text[], $14::bool[], $15::int[], $16::bool[], $17::text[], $18::text[],
                $19::text[])
         ON CONFLICT (employee_id, day) DO UPDATE SET
                department_id = EXCLUDED.department_id, time_zone = EXCLUDED.time_zone,
                status = EXCLUDED.status, worked_minutes = EXCLUDED.worked_minutes,
                late_minutes = EXCLUDED.late_minutes,
                early_leave_minutes = EXCLUDED.early_leave_minutes,
                overtime_minutes = EXCLUDED.overtime_minutes,
                night_minutes = EXCLUDED.night_minutes, is_final = EXCLUDED.is_final,
                record = EXCLUDED.record, absence = EXCLUDED.absence,
                missing_checkout = EXCLUDED.missing_checkout,
                pending_events = EXCLUDED.pending_events,
                worked_on_day_off = EXCLUDED.worked_on_day_off, t13_code = EXCLUDED.t13_code,
                t13_hours = EXCLUDED.t13_hours, t13_absence = EXCLUDED.t13_absence,
                computed_at = EXCLUDED.computed_at",
    )
    .bind(emp)
    .bind(dep)
    .bind(tz)
    .bind(day)
    .bind(status)
    .bind(worked)
    .bind(late)
    .bind(early)
    .bind(over)
    .bind(night)
    .bind(fin)
    .bind(rec)
    .bind(absence)
    .bind(missing)
    .bind(pending)
    .bind(off_work)
    .bind(code)
    .bind(hours)
    .bind(t13_absence)
    .execute(conn)
    .await?;
    Ok(())
}

/// Reads the stored days of `emps` over `period`, in the order of `emps`; each record's
/// `employee` is the index in `emps` + 1. Call [`ensure_computed`] first.
pub async fn stored(db: &PgPool, emps: &[Emp], period: Period) -> AppResult<Vec<Vec<DayRecord>>> {
    let ids: Vec<Uuid> = emps.iter().map(|e| e.id).collect();
    let rows: Vec<(Uuid, sqlx::types::Json<DayRecord>)> = sqlx::query_as(
        "SELECT employee_id, record FROM timesheet_days
          WHERE employee_id = ANY($1) AND day BETWEEN $2 AND $3 ORDER BY employee_id, day",
    )
    .bind(&ids)
    .bind(period.from())
    .bind(period.to())
    .fetch_all(db)
    .await?;
    let index: HashMap<Uuid, usize> = emps.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut out: Vec<Vec<DayRecord>> = vec![Vec::new(); emps.len()];
    for (id, rec) in rows {
        if let Some(&i) = index.get(&id) {
            let mut r = rec.0;
            r.employee = i as i64 + 1;
            out[i].push(r);
        }
    }
    Ok(out)
}

/// Recompute if needed, then read: the days every report is built from.
pub async fn days(
    db: &PgPool,
    emps: &[Emp],
    period: Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<Vec<DayRecord>>> {
    read_fresh(db, emps, period, now, || stored(db, emps, period)).await
}

/// Runs `read` over the stored days of `emps` once they are fresh. The staleness check and
/// the read run at the same time (on two connections): when the check recomputed nothing,
/// the read saw what a read after the check would have seen; otherwise it runs again.
async fn read_fresh<T, F, Fut>(
    db: &PgPool,
    emps: &[Emp],
    period: Period,
    now: DateTime<Utc>,
    read: F,
) -> AppResult<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = AppResult<T>>,
{
    let (recomputed, first) = tokio::join!(ensure_computed(db, emps, period, now), read());
    if recomputed? == 0 {
        first
    } else {
        read().await
    }
}

/// Period totals per employee, summed by the database from the typed day columns (the same
/// figures as [`super::summary::summarize_employee`] over the stored records), in the order
/// of `emps`; `employee` is the index in `emps` + 1. Recomputes stale days first.
pub async fn summaries(
    db: &PgPool,
    emps: &[Emp],
    period: Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<EmployeeSummary>> {
    read_fresh(db, emps, period, now, || stored_summaries(db, emps, period)).await
}

async fn stored_summaries(
    db: &PgPool,
    emps: &[Emp],
    period: Period,
) -> AppResult<Vec<EmployeeSummary>> {
    let ids: Vec<Uuid> = emps.iter().map(|e| e.id).collect();
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT employee_id,
                count(*) FILTER (WHERE worked_minutes > 0) AS days_worked,
                COALESCE(sum(worked_minutes), 0)::int8 AS worked_minutes,
                count(*) FILTER (WHERE late_minutes > 0) AS late_count,
                COALESCE(sum(late_minutes) FILTER (WHERE late_minutes > 0), 0)::int8 AS late_minutes,
                count(*) FILTER (WHERE early_leave_minutes > 0) AS early_leave_count,
                COALESCE(sum(early_leave_minutes) FILTER (WHERE early_leave_minutes > 0), 0)::int8
                    AS early_leave_minutes,
                count(*) FILTER (WHERE status = 'absent' AND is_final) AS absences,
                COALESCE(sum(overtime_minutes), 0)::int8 AS overtime_minutes,
                COALESCE(sum(night_minutes), 0)::int8 AS night_minutes,
                count(*) FILTER (WHERE status = 'day_off') AS days_off,
                count(*) FILTER (WHERE status = 'holiday') AS holidays,
                count(*) FILTER (WHERE worked_on_day_off) AS worked_on_day_off,
                count(*) FILTER (WHERE missing_checkout) AS missing_checkouts,
                COALESCE(sum(pending_events), 0)::int8 AS pending_events,
                count(*) FILTER (WHERE status = 'on_leave' AND absence = 'annual_leave') AS annual_leave,
                count(*) FILTER (WHERE status = 'on_leave' AND absence = 'sick_leave') AS sick_leave,
                count(*) FILTER (WHERE status = 'on_leave' AND absence = 'business_trip') AS business_trip,
                count(*) FILTER (WHERE status = 'on_leave' AND absence = 'unpaid_leave') AS unpaid_leave
           FROM timesheet_days
          WHERE employee_id = ANY($1) AND day BETWEEN $2 AND $3
          GROUP BY employee_id",
    )
    .bind(&ids)
    .bind(period.from())
    .bind(period.to())
    .fetch_all(db)
    .await?;
    let index: HashMap<Uuid, usize> = emps.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut out: Vec<EmployeeSummary> = (0..emps.len())
        .map(|i| EmployeeSummary {
            employee: i as i64 + 1,
            ..EmployeeSummary::default()
        })
        .collect();
    let count = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    for r in rows {
        let Some(&i) = index.get(&r.employee_id) else {
            continue;
        };
        let s = &mut out[i];
        s.days_worked = count(r.days_worked);
        s.worked_minutes = r.worked_minutes;
        s.late_count = count(r.late_count);
        s.late_minutes = r.late_minutes;
        s.early_leave_count = count(r.early_leave_count);
        s.early_leave_minutes = r.early_leave_minutes;
        s.absences = count(r.absences);
        s.overtime_minutes = r.overtime_minutes;
        s.night_minutes = r.night_minutes;
        s.days_off = count(r.days_off);
        s.holidays = count(r.holidays);
        s.days_worked_on_day_off_or_holiday = count(r.worked_on_day_off);
        s.missing_checkouts = count(r.missing_checkouts);
        s.pending_events = count(r.pending_events);
        for (kind, days) in [
            (AbsenceKind::AnnualLeave, r.annual_leave),
            (AbsenceKind::SickLeave, r.sick_leave),
            (AbsenceKind::BusinessTrip, r.business_trip),
            (AbsenceKind::UnpaidLeave, r.unpaid_leave),
        ] {
            if days > 0 {
                s.leave_days.insert(kind, count(days));
            }
        }
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    employee_id: Uuid,
    days_worked: i64,
    worked_minutes: i64,
    late_count: i64,
    late_minutes: i64,
    early_leave_count: i64,
    early_leave_minutes: i64,
    absences: i64,
    overtime_minutes: i64,
    night_minutes: i64,
    days_off: i64,
    holidays: i64,
    worked_on_day_off: i64,
    missing_checkouts: i64,
    pending_events: i64,
    annual_leave: i64,
    sick_leave: i64,
    business_trip: i64,
    unpaid_leave: i64,
}

/// One employee's stored T-13 cells of a month with the half-month totals, as the database
/// aggregates them: one row and one string per employee instead of 31 records.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct T13Cells {
    pub employee_id: Uuid,
    /// `day TAB codes TAB hours TAB absence-code` per day, days separated by newlines.
    pub cells: String,
    pub first_half_days: i64,
    pub first_half_minutes: i64,
    pub second_half_days: i64,
    pub second_half_minutes: i64,
}

impl T13Cells {
    /// The form's line, borrowing the texts; days of `month` without a stored cell are
    /// blank, days the month lacks are "X".
    pub fn line<'a>(
        &'a self,
        month: Period,
        number: usize,
        employee: &'a EmployeeInfo,
    ) -> T13Line<'a> {
        use chrono::Datelike as _;
        let mut cells: [Option<(&str, &str)>; 31] = [None; 31];
        for d in month.days() {
            cells[d.day0() as usize] = Some(("", ""));
        }
        let mut absences = BTreeMap::new();
        for day in self.cells.split('\n') {
            let mut f = day.split('\t');
            let (Some(d), Some(code), Some(hours), Some(absence)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            if let Some(slot) = d
                .parse::<usize>()
                .ok()
                .and_then(|d| d.checked_sub(1))
                .and_then(|i| cells.get_mut(i))
            {
                *slot = Some((code, hours));
            }
            if let Some(c) = T13Code::from_letter(absence) {
                *absences.entry(c).or_default() += 1;
            }
        }
        let count = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        T13Line {
            number,
            employee,
            cells,
            first_half_days: count(self.first_half_days),
            first_half_minutes: self.first_half_minutes,
            second_half_days: count(self.second_half_days),
            second_half_minutes: self.second_half_minutes,
            absences,
        }
    }
}

/// The T-13 XLSX of `emps` (numbered in their order) from their stored `cells` (see
/// [`t13_cells`]); what the T-13 handler serves.
pub fn t13_file(
    header: &T13Header,
    month: Period,
    emps: &[Emp],
    cells: &[T13Cells],
) -> Result<Vec<u8>, ExportError> {
    let infos: Vec<EmployeeInfo> = emps
        .iter()
        .enumerate()
        .map(|(i, e)| e.info(i as i64 + 1))
        .collect();
    let lines: Vec<T13Line<'_>> = cells
        .iter()
        .zip(&infos)
        .enumerate()
        .map(|(i, (c, info))| c.line(month, i + 1, info))
        .collect();
    t13_xlsx_lines(header, month, &lines)
}

/// The stored T-13 cells of `emps` for `month`, in the order of `emps` (recomputing stale
/// days first).
pub async fn t13_cells(
    db: &PgPool,
    emps: &[Emp],
    month: Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<T13Cells>> {
    read_fresh(db, emps, month, now, || stored_t13_cells(db, emps, month)).await
}

async fn stored_t13_cells(db: &PgPool, emps: &[Emp], month: Period) -> AppResult<Vec<T13Cells>> {
    let ids: Vec<Uuid> = emps.iter().map(|e| e.id).collect();
    let rows: Vec<T13Cells> = sqlx::query_as(
        "SELECT employee_id,
                string_agg(extract(day FROM day)::int::text || E'\\t' || t13_code || E'\\t'
                           || t13_hours || E'\\t' || COALESCE(t13_absence, ''), E'\\n' ORDER BY day)
                    AS cells,
                count(*) FILTER (WHERE worked_minutes > 0 AND extract(day FROM day) <= 15)
                    AS first_half_days,
                COALESCE(sum(worked_minutes) FILTER (WHERE worked_minutes > 0 AND extract(day FROM day) <= 15), 0)::int8
                    AS first_half_minutes,
                count(*) FILTER (WHERE worked_minutes > 0 AND extract(day FROM day) > 15)
                    AS second_half_days,
                COALESCE(sum(worked_minutes) FILTER (WHERE worked_minutes > 0 AND extract(day FROM day) > 15), 0)::int8
                    AS second_half_minutes
           FROM timesheet_days
          WHERE employee_id = ANY($1) AND day BETWEEN $2 AND $3
          GROUP BY employee_id",
    )
    .bind(&ids)
    .bind(month.from())
    .bind(month.to())
    .fetch_all(db)
    .await?;
    let index: HashMap<Uuid, usize> = emps.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut out: Vec<T13Cells> = emps
        .iter()
        .map(|e| T13Cells {
            employee_id: e.id,
            ..T13Cells::default()
        })
        .collect();
    for r in rows {
        if let Some(&i) = index.get(&r.employee_id) {
            out[i] = r;
        }
    }
    Ok(out)
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
