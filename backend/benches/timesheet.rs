//! 1,000 employees × 31 days × 4 events a day: compute the month from scratch, summarise,
//! and build the T-13 XLSX (per department of 50 and for all 1,000).
//!
//! Run: `cargo bench -p faceid-server --bench timesheet`

use std::hint::black_box;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use criterion::{Criterion, criterion_group, criterion_main};
use faceid_server::timesheet::export::{self, EmployeeInfo, T13Header};
use faceid_server::timesheet::summary::summarize_employee;
use faceid_server::timesheet::*;

const TZ: Tz = chrono_tz::Asia::Dushanbe;
const EMPLOYEES: i64 = 1_000;
const DEPARTMENT_SIZE: usize = 50;

struct Fixture {
    book: ScheduleBook,
    calendar: HolidayCalendar,
    absences: Absences,
    events: Vec<(EmployeeInfo, Vec<AttendanceEvent>)>,
    month: Period,
}

fn fixture() -> Fixture {
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
    let mut shift = ShiftTemplate::new("office", t(9, 0), t(18, 0));
    shift.unpaid_break_minutes = 60;
    shift.late_grace_minutes = 10;
    let month = Period::month(2026, 3).unwrap_or_else(|| unreachable!());
    let book = ScheduleBook::new(
        (0..EMPLOYEES / DEPARTMENT_SIZE as i64)
            .map(|dep| Assignment {
                target: AssignmentTarget::Department(dep),
                from: month.from(),
                to: None,
                schedule: ScheduleKind::Weekly {
                    days: std::array::from_fn(|i| (i < 5).then(|| shift.clone())),
                },
            })
            .collect(),
    )
    .unwrap_or_default();
    let mut next_id = 0;
    let events = (0..EMPLOYEES)
        .map(|e| {
            let mut list = Vec::with_capacity(31 * 4);
            for date in month.days() {
                // 4 events a day, every day (weekends too), shifted per employee.
                let jitter = (e * 7 + i64::from(chrono::Datelike::day(&date))) % 25;
                for (h, m, kind) in [
                    (8, 50, PunchKind::In),
                    (13, 0, PunchKind::Out),
                    (14, 0, PunchKind::In),
                    (18, 5, PunchKind::Out),
                ] {
                    let local = date.and_time(t(h, m)) + Duration::minutes(jitter);
                    let at = TZ
                        .from_local_datetime(&local)
                        .earliest()
                        .map_or_else(Utc::now, |x| x.with_timezone(&Utc));
                    next_id += 1;
                    list.push(AttendanceEvent {
                        id: next_id,
                        at,
                        kind,
                        status: EventStatus::Verified,
                    });
                }
            }
            let info = EmployeeInfo {
                id: e,
                full_name: format!("Сотрудник {e}"),
                position: "оператор".into(),
                personnel_number: format!("{e:06}"),
            };
            (info, list)
        })
        .collect();
    Fixture {
        book,
        calendar: HolidayCalendar::default(),
        absences: Absences::default(),
        events,
        month,
    }
}

fn compute_all(f: &Fixture) -> Vec<(EmployeeInfo, Vec<DayRecord>)> {
    f.events
        .iter()
        .map(|(info, events)| {
            let facts = EmployeeFacts {
                employee: info.id,
                department: Some(info.id / DEPARTMENT_SIZE as i64),
                tz: TZ,
                book: &f.book,
                calendar: &f.calendar,
                absences: &f.absences,
                events,
                rules: ComputeRules::default(),
                now: None,
            };
            (info.clone(), compute_period(&facts, f.month))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    let header = T13Header {
        organisation: "Bench".into(),
        okpo: String::new(),
        department: "Department".into(),
        document_number: "1".into(),
        prepared_on: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap_or_default(),
    };
    let mut g = c.benchmark_group("timesheet");
    g.sample_size(10)
        .measurement_time(StdDuration::from_secs(8));
    g.bench_function("compute_month_1000x31x4", |b| {
        b.iter(|| black_box(compute_all(&f)))
    });
    let computed = compute_all(&f);
    g.bench_function("summary_1000", |b| {
        b.iter(|| {
            black_box(
                computed
                    .iter()
                    .map(|(i, d)| summarize_employee(i.id, d))
                    .collect::<Vec<_>>(),
            )
        })
    });
    g.bench_function("t13_xlsx_department_50", |b| {
        b.iter(|| {
            black_box(
                export::t13_xlsx(&header, f.month, &computed[..DEPARTMENT_SIZE]).map(|x| x.len()),
            )
        })
    });
    g.bench_function("t13_xlsx_all_1000", |b| {
        b.iter(|| black_box(export::t13_xlsx(&header, f.month, &computed).map(|x| x.len())))
    });
    g.bench_function("summary_csv_1000", |b| {
        b.iter(|| black_box(export::summary_csv(&computed).map(|x| x.len())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
