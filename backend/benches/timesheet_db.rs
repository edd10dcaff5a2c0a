//! The timesheet on PostgreSQL: 1,000 employees (20 departments of 50) × 31 days × 4 punches
//! a day in `attendance_events`. Measures computing March from scratch into `timesheet_days`
//! and serving it from there (period summary of all 1,000; T-13 of a 50-employee department
//! and of all 1,000), the way the report handlers do it.
//!
//! Needs a PostgreSQL server; a fresh database is created and dropped:
//! `DATABASE_URL=postgres://… cargo test --workspace --bench timesheet_db --no-run --config
//! 'profile.dev.package.faceid-server.opt-level=3'`, then the printed executable with `--bench`
//! (`TIMESHEET_BENCH_KEEP_DB=1` keeps the database for looking at query plans).

use std::hint::black_box;
use std::time::Duration as StdDuration;

use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use faceid_server::auth::Scope;
use faceid_server::timesheet::Period;
use faceid_server::timesheet::export::T13Header;
use faceid_server::timesheet::store::{self, Emp, EmpFilter};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use uuid::Uuid;

const EMPLOYEES: i64 = 1_000;
const DEPARTMENTS: i64 = 20;

async fn setup(url: &str, db: &str) -> PgPool {
    let opts: PgConnectOptions = url.parse().expect("DATABASE_URL");
    let mut admin = opts.connect().await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
        .execute(&mut admin)
        .await
        .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .expect("create");
    admin.close().await.ok();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(opts.database(db))
        .await
        .expect("bench database");
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .expect("migrations");
    let site = Uuid::new_v4();
    let tpl = Uuid::new_v4();
    let schedule = Uuid::new_v4();
    let script = format!(
        "INSERT INTO sites (id, name, time_zone, geofence) VALUES ('{site}', 'Dushanbe', 'Asia/Dushanbe',
            '{{\"type\":\"circle\",\"latitude\":38.5,\"longitude\":68.7,\"radius_m\":100.0}}');
         INSERT INTO departments (id, name)
            SELECT md5('d' || d)::uuid, 'Department ' || d FROM generate_series(0, {dl}) d;
         INSERT INTO employees (id, login, password_hash, first_name, last_name, role, department_id)
            SELECT md5('e' || e)::uuid, 'emp' || e, 'x', 'Name', 'Employee ' || lpad(e::text, 4, '0'),
                   'user', md5('d' || (e % {DEPARTMENTS}))::uuid
              FROM generate_series(0, {el}) e;
         INSERT INTO employee_sites (employee_id, site_id)
            SELECT md5('e' || e)::uuid, '{site}' FROM generate_series(0, {el}) e;
         INSERT INTO shift_templates (id, name, start_time, end_time, unpaid_break_minutes, late_grace_minutes)
            VALUES ('{tpl}', 'Office', '09:00', '18:00', 60, 10);
         INSERT INTO schedules (id, name, kind, definition) VALUES ('{schedule}', 'Five days', 'weekly',
            '{{\"kind\":\"weekly\",\"days\":[\"{tpl}\",\"{tpl}\",\"{tpl}\",\"{tpl}\",\"{tpl}\",null,null]}}');
         INSERT INTO schedule_shift_refs VALUES ('{schedule}', '{tpl}');
         INSERT INTO schedule_assignments (id, schedule_id, department_id, valid_from)
            SELECT md5('a' || d)::uuid, '{schedule}', md5('d' || d)::uuid, '2026-03-01'
              FROM generate_series(0, {dl}) d;
         INSERT INTO attendance_events (public_id, employee_id, site_id, kind, occurred_at, verdict, prev_hash, hash)
            SELECT gen_random_uuid(), md5('e' || e)::uuid, '{site}', p.kind,
                   (day + p.t + ((e * 7 + extract(day FROM day)::int) % 25) * interval '1 minute')
                       AT TIME ZONE 'Asia/Dushanbe',
                   'verified', '\\x00', decode(md5(e || '/' || day || '/' || p.kind || p.t), 'hex')
                       || decode(md5('x' || e || '/' || day || p.t), 'hex')
              FROM generate_series(0, {el}) e,
                   generate_series('2026-03-01'::timestamp, '2026-03-31', interval '1 day') day,
                   (VALUES ('in', interval '8 hours 50 minutes'), ('out', interval '13 hours'),
                           ('in', interval '14 hours'), ('out', interval '18 hours 5 minutes')) p(kind, t);",
        dl = DEPARTMENTS - 1,
        el = EMPLOYEES - 1,
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(script))
        .execute(&pool)
        .await
        .expect("fixture");
    pool
}

fn bench(c: &mut Criterion) {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        tracing::warn!("DATABASE_URL is not set: skipping the timesheet database bench");
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db_name = format!("faceid_bench_ts_{}", std::process::id());
    let pool = rt.block_on(setup(&url, &db_name));
    let month = Period::month(2026, 3).expect("month");
    let now = Utc
        .with_ymd_and_hms(2026, 4, 15, 0, 0, 0)
        .single()
        .expect("now");
    let header = T13Header {
        organisation: "Bench".into(),
        okpo: String::new(),
        department: "Department 0".into(),
        document_number: "1".into(),
        prepared_on: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap_or_default(),
    };
    let all = |f: EmpFilter| {
        let pool = pool.clone();
        async move {
            store::employees(&pool, &Scope::All, &f, month.from(), None)
                .await
                .expect("employees")
                .0
        }
    };
    let emps: Vec<Emp> = rt.block_on(all(EmpFilter::default()));
    assert_eq!(emps.len() as i64, EMPLOYEES);
    let dep0 = EmpFilter {
        department_id: emps.iter().find_map(|e| e.department_id),
        ..EmpFilter::default()
    };

    let mut g = c.benchmark_group("timesheet_db");
    g.sample_size(10)
        .measurement_time(StdDuration::from_secs(20));
    g.bench_function("compute_from_scratch_1000x31x4", |b| {
        b.iter_batched(
            || {
                rt.block_on(async {
                    sqlx::query("TRUNCATE timesheet_days")
                        .execute(&pool)
                        .await
                        .expect("truncate");
                })
            },
            |()| {
                rt.block_on(async {
                    black_box(store::days(&pool, &emps, month, now).await.expect("days"))
                })
            },
            BatchSize::PerIteration,
        )
    });
    // Everything computed: what serving costs.
    rt.block_on(store::ensure_computed(&pool, &emps, month, now))
        .expect("computed");
    g.bench_function("serve_summary_1000", |b| {
        b.iter(|| {
            rt.block_on(async {
                let emps = all(EmpFilter::default()).await;
                black_box(
                    store::summaries(&pool, &emps, month, now)
                        .await
                        .expect("summaries"),
                )
            })
        })
    });
    let serve_t13 = |f: EmpFilter| {
        rt.block_on(async {
            let emps = all(f).await;
            let cells = store::t13_cells(&pool, &emps, month, now)
                .await
                .expect("t13 cells");
            store::t13_file(&header, month, &emps, &cells).map(|x| x.len())
        })
    };
    g.bench_function("serve_t13_department_50", |b| {
        b.iter(|| black_box(serve_t13(dep0.clone())))
    });
    g.bench_function("serve_t13_all_1000", |b| {
        b.iter(|| black_box(serve_t13(EmpFilter::default())))
    });
    // Where the T-13 time goes: the staleness check alone, reading the cells (with the
    // check), writing the XLSX from cells already read.
    g.bench_function("serve_part_staleness_check_1000", |b| {
        b.iter(|| {
            rt.block_on(async {
                black_box(
                    store::ensure_computed(&pool, &emps, month, now)
                        .await
                        .expect("check"),
                )
            })
        })
    });
    g.bench_function("serve_part_t13_cells_1000", |b| {
        b.iter(|| {
            rt.block_on(async {
                black_box(
                    store::t13_cells(&pool, &emps, month, now)
                        .await
                        .expect("cells"),
                )
            })
        })
    });
    let cells = rt
        .block_on(store::t13_cells(&pool, &emps, month, now))
        .expect("cells");
    g.bench_function("serve_part_t13_xlsx_1000", |b| {
        b.iter(|| black_box(store::t13_file(&header, month, &emps, &cells).map(|x| x.len())))
    });
    g.finish();
    if std::env::var_os("TIMESHEET_BENCH_KEEP_DB").is_some() {
        // For looking at query plans afterwards. No tracing subscriber runs in the bench, so
        // the name goes to stderr.
        eprintln!("kept the bench database {db_name}");
        return;
    }
    rt.block_on(async {
        pool.close().await;
        if let Ok(opts) = url.parse::<PgConnectOptions>()
            && let Ok(mut admin) = opts.connect().await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db_name}"
            )))
            .execute(&mut admin)
            .await;
        }
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
