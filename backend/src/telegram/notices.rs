//! Attendance notices, decided by two periodic jobs from the timesheet's own day records
//! ([`store::compute_spans`] and [`today_view`], the same decisions the "today" report shows),
//! so lateness and absence have one definition:
//!
//! * `telegram.attendance` (every minute): for each employee someone would be told about (a
//!   linked administrator, a linked operator in scope, or the employee's own check-out
//!   reminder) and their shift of today (and of yesterday, for night shifts), a late check-in or no check-in once the shift's grace period
//!   is over → administrators and the operators in scope (switches `late`, `absent`), while
//!   the shift runs; still checked in `checkout_reminder_minutes` after the shift's end → the
//!   employee (switch `checkout`), until the day's check-out window closes.
//! * `telegram.summary` (every minute): once the department's local time passes
//!   `telegram_daily_summary_time`, the day's counts (present, late, absent, flagged) →
//!   administrators and the department's operators (switch `summary`).
//!
//! Each notice is claimed by a row in `telegram_notices` (kind, employee or department, local
//! date) inserted in the transaction that enqueues its messages, so reruns and replicas tell
//! it once. Each message has its own delivery key as well (`notice:<kind>:<subject>:<date>:
//! <recipient>`). The jobs evaluate at their period's start (the payload's `period_start`), so
//! tests drive the clock by scheduling the periodic jobs at a chosen instant.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::Telegram;
use super::notify::{Recipient, StaffSwitch, staff_in_scope};
use super::send::{SendMessage, enqueue_message};
use super::texts::{self, DayCounts, Lang};
use crate::auth::Scope;
use crate::error::{AppError, AppResult};
use crate::jobs::worker::KindConfig;
use crate::jobs::{Job, Outcome, Registry};
use crate::timesheet::compute::DayStatus;
use crate::timesheet::store::{self, Emp, EmpFilter};
use crate::timesheet::summary::today_view;
use crate::timesheet::{DayRecord, Period};

pub const ATTENDANCE_JOB: &str = "telegram.attendance";
pub const SUMMARY_JOB: &str = "telegram.summary";
/// Notice claims are kept this long (a notice is decided at most a day after its shift).
pub const KEEP_NOTICES_DAYS: i64 = 14;
/// How often both jobs look.
pub const PERIOD: StdDuration = StdDuration::from_secs(60);

/// Registers both periodic kinds. Without a bot they finish at once.
pub fn register_jobs(registry: &mut Registry, db: PgPool, tg: Option<Arc<Telegram>>) {
    let cfg = KindConfig {
        max_attempts: 3,
        lease: StdDuration::from_secs(300),
        ..KindConfig::default()
    };
    for kind in [ATTENDANCE_JOB, SUMMARY_JOB] {
        let (db, tg) = (db.clone(), tg.clone());
        registry
            .handle(kind, cfg, move |job| {
                let (db, tg) = (db.clone(), tg.clone());
                async move {
                    let Some(tg) = tg else {
                        return Outcome::Done;
                    };
                    let now = job_time(&job);
                    let told = if job.kind == ATTENDANCE_JOB {
                        attendance(&db, &tg, now).await
                    } else {
                        summaries(&db, &tg, now).await
                    };
                    match told {
                        Ok(n) => {
                            if n > 0 {
                                tracing::info!(kind = %job.kind, notices = n, "attendance notices");
                            }
                            Outcome::Done
                        }
                        Err(e) => Outcome::Retry(e.to_string()),
                    }
                }
            })
            .every(kind, PERIOD);
    }
}

/// The instant a periodic job evaluates: its period's start.
fn job_time(job: &Job) -> DateTime<Utc> {
    job.payload["period_start"]
        .as_i64()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .unwrap_or_else(Utc::now)
}

/// What one employee's day calls for at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Checked in after the grace period (while the shift runs).
    Late { minutes: i64 },
    /// No check-in, the grace period over (while the shift runs).
    Absent,
    /// Still checked in `reminder_minutes` after the shift's end.
    Checkout,
}

impl Notice {
    fn kind(self) -> &'static str {
        match self {
            Notice::Late { .. } => "late",
            Notice::Absent => "absent",
            Notice::Checkout => "checkout",
        }
    }
}

/// The notices a computed day calls for at `now`: the "today" view's lists (late, missing,
/// not checked out) of this one day, limited to the time they are news.
pub fn decide(r: &DayRecord, now: DateTime<Utc>, reminder_minutes: u32) -> Vec<Notice> {
    let Some(p) = &r.planned else {
        return Vec::new();
    };
    let v = today_view(std::slice::from_ref(r), now);
    let mut out = Vec::new();
    if now < p.end {
        if let Some((_, minutes)) = v.late.first() {
            out.push(Notice::Late { minutes: *minutes });
        }
        if !v.missing.is_empty() {
            out.push(Notice::Absent);
        }
    }
    let remind_at = p.end + Duration::minutes(i64::from(reminder_minutes));
    if !v.not_checked_out.is_empty() && now >= remind_at && now < r.window_end {
        out.push(Notice::Checkout);
    }
    out
}

/// Every employee who may have a shift around `now`, with today's and yesterday's records
/// (in each employee's zone) computed as of `now`.
async fn days_around(
    db: &PgPool,
    emps: &[Emp],
    now: DateTime<Utc>,
    yesterday_too: bool,
) -> AppResult<Vec<Vec<DayRecord>>> {
    let back = Duration::days(i64::from(yesterday_too));
    let work: Vec<(Emp, Period)> = emps
        .iter()
        .map(|e| {
            let d = now.with_timezone(&e.tz()).date_naive();
            Period::new(d - back, d).map(|p| (e.clone(), p))
        })
        .collect::<Result<_, _>>()
        .map_err(AppError::internal)?;
    let mut conn = db.acquire().await?;
    store::compute_spans(&mut conn, &work, now).await
}

/// The active employees, as the timesheet loads them (a dismissed one is never missed).
async fn all_employees(db: &PgPool, now: DateTime<Utc>) -> AppResult<Vec<Emp>> {
    let from = now.date_naive() - Duration::days(2);
    let (emps, _) = store::employees(db, &Scope::All, &EmpFilter::default(), from, None).await?;
    let active: HashSet<Uuid> =
        sqlx::query_scalar("SELECT id FROM employees WHERE status = 'active'")
            .fetch_all(db)
            .await?
            .into_iter()
            .collect();
    Ok(emps
        .into_iter()
        .filter(|e| active.contains(&e.id))
        .collect())
}

/// Whom the minute pass could tell anything: the employees linked with the check-out
/// reminder on (about themselves), and whoever a linked administrator or operator with the
/// late or absent switch on has in scope. Nobody else's day is computed.
#[derive(Debug, Default)]
struct Audience {
    /// A linked administrator hears of everyone.
    everyone: bool,
    departments: HashSet<Uuid>,
    sites: HashSet<Uuid>,
    /// Employees who hear of their own missing check-out.
    own: HashSet<Uuid>,
}

impl Audience {
    async fn load(db: &PgPool) -> sqlx::Result<Self> {
        #[derive(sqlx::FromRow)]
        struct Linked {
            employee_id: Uuid,
            role: String,
            scope_department_ids: Vec<Uuid>,
            scope_site_ids: Vec<Uuid>,
            staff_news: bool,
            notify_checkout: bool,
        }
        let rows: Vec<Linked> = sqlx::query_as(
            "SELECT l.employee_id, st.role,
                    COALESCE(st.scope_department_ids, '{}') AS scope_department_ids,
                    COALESCE(st.scope_site_ids, '{}') AS scope_site_ids,
                    (l.notify_late OR l.notify_absent) AS staff_news, l.notify_checkout
             FROM telegram_links l JOIN employees st ON st.id = l.employee_id
             WHERE l.status = 'active' AND st.status = 'active'
               AND (l.notify_late OR l.notify_absent OR l.notify_checkout)",
        )
        .fetch_all(db)
        .await?;
        let mut a = Audience::default();
        for r in rows {
            if r.notify_checkout {
                a.own.insert(r.employee_id);
            }
            if !r.staff_news {
                continue;
            }
            match r.role.as_str() {
                "admin" => a.everyone = true,
                "operator" => {
                    a.departments.extend(r.scope_department_ids);
                    a.sites.extend(r.scope_site_ids);
                }
                _ => {}
            }
        }
        Ok(a)
    }

    fn is_empty(&self) -> bool {
        !self.everyone
            && self.departments.is_empty()
            && self.sites.is_empty()
            && self.own.is_empty()
    }

    /// Whether a notice about `e` could reach anyone (the same scope rule as
    /// [`staff_in_scope`], which picks the recipients).
    fn hears_of(&self, e: &Emp) -> bool {
        self.everyone
            || self.own.contains(&e.id)
            || e.department_id
                .is_some_and(|d| self.departments.contains(&d))
            || e.site_ids.iter().any(|s| self.sites.contains(s))
    }
}

/// The `telegram.attendance` job: late, absent and missing check-out notices. Answers how
/// many notices were newly told.
pub async fn attendance(db: &PgPool, tg: &Telegram, now: DateTime<Utc>) -> AppResult<usize> {
    // Claims older than any day a notice can still be decided for are of no more use.
    sqlx::query("DELETE FROM telegram_notices WHERE created_at < now() - $1 * interval '1 day'")
        .bind(KEEP_NOTICES_DAYS as f64)
        .execute(db)
        .await?;
    let audience = Audience::load(db).await?;
    if audience.is_empty() {
        return Ok(0);
    }
    let emps: Vec<Emp> = all_employees(db, now)
        .await?
        .into_iter()
        .filter(|e| audience.hears_of(e))
        .collect();
    tracing::debug!(
        employees = emps.len(),
        "attendance notices: employees looked at"
    );
    let days = days_around(db, &emps, now, true).await?;
    let mut told = 0;
    for (e, records) in emps.iter().zip(&days) {
        for r in records {
            for notice in decide(r, now, tg.checkout_reminder_minutes) {
                told += usize::from(tell_employee_notice(db, e, r, notice).await?);
            }
        }
    }
    Ok(told)
}

fn hhmm(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}

fn day_label(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// Claims the notice row; `false` when it was told before (here or by another replica).
async fn claim(
    conn: &mut PgConnection,
    kind: &str,
    subject: Uuid,
    day: NaiveDate,
    recipients: usize,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO telegram_notices (kind, subject_id, day, recipients) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(kind)
    .bind(subject)
    .bind(day)
    .bind(i32::try_from(recipients).unwrap_or(i32::MAX))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn tell_employee_notice(
    db: &PgPool,
    e: &Emp,
    r: &DayRecord,
    notice: Notice,
) -> AppResult<bool> {
    let Some(p) = &r.planned else {
        return Ok(false);
    };
    let mut tx = db.begin().await?;
    let recipients: Vec<Recipient> = match notice {
        Notice::Late { .. } => {
            staff_in_scope(
                &mut tx,
                Some(e.id),
                e.department_id,
                &e.site_ids,
                StaffSwitch::Late,
            )
            .await?
        }
        Notice::Absent => {
            staff_in_scope(
                &mut tx,
                Some(e.id),
                e.department_id,
                &e.site_ids,
                StaffSwitch::Absent,
            )
            .await?
        }
        Notice::Checkout => {
            sqlx::query_as(
                "SELECT employee_id, chat_id, language FROM telegram_links
                 WHERE employee_id = $1 AND status = 'active' AND notify_checkout",
            )
            .bind(e.id)
            .fetch_all(&mut *tx)
            .await?
        }
    };
    if !claim(&mut tx, notice.kind(), e.id, r.date, recipients.len()).await? {
        return Ok(false);
    }
    let tz = e.tz();
    let name = format!("{} {}", e.first_name, e.last_name);
    for to in &recipients {
        let lang = Lang::parse(Some(&to.language));
        let text = match notice {
            Notice::Late { minutes } => {
                let at = r.first_in.map(|t| hhmm(t, tz)).unwrap_or_default();
                texts::late_alert(lang, &name, minutes, &hhmm(p.start, tz), &at)
            }
            Notice::Absent => {
                texts::absent_alert(lang, &name, &hhmm(p.start, tz), &day_label(r.date))
            }
            Notice::Checkout => texts::checkout_reminder(lang, &hhmm(p.end, tz)),
        };
        enqueue_message(
            &mut tx,
            &SendMessage {
                key: format!(
                    "notice:{}:{}:{}:{}",
                    notice.kind(),
                    e.id,
                    r.date,
                    to.employee_id
                ),
                chat_id: to.chat_id,
                text,
                employee_id: Some(to.employee_id),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// A department's zone: the most common zone of its employees (by their first site).
fn department_zone(members: &[&Emp]) -> Tz {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in members {
        *counts.entry(e.time_zone.clone()).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .and_then(|(tz, _)| tz.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// The day's counts of a department from its employees' records of that day.
pub fn count_day(records: &[DayRecord], now: DateTime<Utc>) -> DayCounts {
    let v = today_view(records, now);
    DayCounts {
        present: records
            .iter()
            .filter(|r| r.first_in.is_some() && !matches!(r.status, DayStatus::OnLeave { .. }))
            .count(),
        late: v.late.len(),
        absent: v.missing.len(),
        flagged: records.iter().map(|r| r.pending_event_ids.len()).sum(),
    }
}

/// The `telegram.summary` job: each department's day summary once its local time passes
/// the summary time. Answers how many summaries were newly told.
pub async fn summaries(db: &PgPool, tg: &Telegram, now: DateTime<Utc>) -> AppResult<usize> {
    let anyone: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM telegram_links l JOIN employees st ON st.id = l.employee_id
                         WHERE l.status = 'active' AND l.notify_summary
                           AND st.role IN ('admin', 'operator'))",
    )
    .fetch_one(db)
    .await?;
    if !anyone {
        return Ok(0);
    }
    let emps = all_employees(db, now).await?;
    let mut by_department: BTreeMap<Uuid, (String, Vec<&Emp>)> = BTreeMap::new();
    for e in &emps {
        if let Some(d) = e.department_id {
            by_department
                .entry(d)
                .or_insert_with(|| (e.department_name.clone().unwrap_or_default(), Vec::new()))
                .1
                .push(e);
        }
    }
    let mut told = 0;
    for (department, (name, members)) in by_department {
        let local = now.with_timezone(&department_zone(&members));
        if local.time() < tg.summary_time {
            continue;
        }
        let day = local.date_naive();
        let done: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM telegram_notices
                             WHERE kind = 'summary' AND subject_id = $1 AND day = $2)",
        )
        .bind(department)
        .bind(day)
        .fetch_one(db)
        .await?;
        if done {
            continue;
        }
        let period = Period::new(day, day).map_err(AppError::internal)?;
        let work: Vec<(Emp, Period)> = members.iter().map(|e| ((*e).clone(), period)).collect();
        let records: Vec<DayRecord> = {
            let mut conn = db.acquire().await?;
            store::compute_spans(&mut conn, &work, now)
                .await?
                .into_iter()
                .flatten()
                .collect()
        };
        let counts = count_day(&records, now);
        let mut tx = db.begin().await?;
        let recipients =
            staff_in_scope(&mut tx, None, Some(department), &[], StaffSwitch::Summary).await?;
        if !claim(&mut tx, "summary", department, day, recipients.len()).await? {
            continue;
        }
        for to in &recipients {
            let lang = Lang::parse(Some(&to.language));
            enqueue_message(
                &mut tx,
                &SendMessage {
                    key: format!("notice:summary:{department}:{day}:{}", to.employee_id),
                    chat_id: to.chat_id,
                    text: texts::daily_summary(lang, &name, &day_label(day), counts),
                    employee_id: Some(to.employee_id),
                },
            )
            .await?;
        }
        tx.commit().await?;
        told += 1;
    }
    Ok(told)
}
