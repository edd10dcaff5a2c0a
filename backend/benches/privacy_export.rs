//! A data export (issue 23) of one employee with a year of data: a location point every 5
//! minutes around the clock (105,120 points), two punches and a timesheet day for each of the
//! 365 days. Writes the ZIP the way the `privacy.export` job does, three times, and prints the
//! time, the size and the peak of the process's resident memory; asserts nothing about time.
//!
//! Needs a PostgreSQL server; a fresh database is created and dropped:
//! `DATABASE_URL=postgres://… cargo test -p faceid-server --bench privacy_export` (dev profile;
//! `cargo bench` would rebuild the face engine in release).

#![allow(clippy::print_stdout)]

mod support;

use std::io::Read;
use std::time::Instant;

use faceid_server::privacy::export;
use faceid_server::{AppState, Secrets, Settings};
use sqlx::PgPool;
use uuid::Uuid;

const DB: &str = "faceid_bench_privacy_export";
const RUNS: usize = 3;

async fn setup(url: &str) -> (PgPool, Uuid) {
    let pool = support::fresh_database(url, DB, 4).await;
    let employee = Uuid::now_v7();
    let device = Uuid::now_v7();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO employees (id, login, password_hash, first_name, last_name, role)
            VALUES ('{employee}', 'ann', 'x', 'Ann', 'Employee', 'user');
         INSERT INTO devices (id, kind, name, platform) VALUES ('{device}', 'personal', 'Phone', 'android');
         INSERT INTO location_points (employee_id, device_id, recorded_at, lat, lon, accuracy, speed, battery)
            SELECT '{employee}', '{device}', t, 38.5 + random() / 100, 68.7 + random() / 100,
                   5 + random() * 20, random() * 2, 80
              FROM generate_series('2025-01-01'::timestamptz, '2025-12-31 23:55', interval '5 minutes') t;
         INSERT INTO attendance_events (public_id, employee_id, kind, occurred_at, verdict, prev_hash, hash)
            SELECT gen_random_uuid(), '{employee}', p.kind, day + p.t, 'verified', '\\x00',
                   decode(md5(day || p.kind), 'hex') || decode(md5('x' || day || p.kind), 'hex')
              FROM generate_series('2025-01-01'::timestamptz, '2025-12-31', interval '1 day') day,
                   (VALUES ('in', interval '9 hours'), ('out', interval '18 hours')) p(kind, t);
         INSERT INTO timesheet_days (employee_id, time_zone, day, status, worked_minutes,
                late_minutes, early_leave_minutes, overtime_minutes, night_minutes, is_final,
                record, missing_checkout, pending_events, worked_on_day_off, t13_code, t13_hours)
            SELECT '{employee}', 'Asia/Dushanbe', day::date, 'worked', 480, 0, 0, 0, 0, true,
                   '{{}}', false, 0, false, 'Я', '8'
              FROM generate_series('2025-01-01'::timestamptz, '2025-12-31', interval '1 day') day;"
    )))
    .execute(&pool)
    .await
    .expect("a year of data");
    (pool, employee)
}

/// Peak resident memory of this process, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let mut s = String::new();
    std::fs::File::open("/proc/self/status")
        .ok()?
        .read_to_string(&mut s)
        .ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("DATABASE_URL is not set: skipping the export bench");
        return;
    };
    let dir = tempfile::tempdir().expect("data dir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (pool, employee) = setup(&url).await;
        let points: i64 = sqlx::query_scalar("SELECT count(*) FROM location_points")
            .fetch_one(&pool)
            .await
            .expect("count");
        let state = AppState::new(
            pool.clone(),
            Settings {
                data_dir: dir.path().to_owned(),
                ..Settings::default()
            },
            Secrets {
                jwt_secret: vec![1; 32],
                descriptor_key: [2; 32],
            },
        )
        .expect("state");
        let rss_before = peak_rss_mib().unwrap_or(0.0);
        println!("privacy export bench: 1 employee, {points} location points (5 min, 1 year), 730 punches, 365 timesheet days");
        for run in 1..=RUNS {
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO data_exports (id, employee_id, language) VALUES ($1, $2, 'en')",
            )
            .bind(id)
            .bind(employee)
            .execute(&pool)
            .await
            .expect("export row");
            let t = Instant::now();
            export::write_export(&state, id).await.expect("export");
            let took = t.elapsed();
            let size: i64 = sqlx::query_scalar("SELECT size_bytes FROM data_exports WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("size");
            println!(
                "  run {run}: {:.2} s, ZIP {:.1} MiB",
                took.as_secs_f64(),
                size as f64 / (1024.0 * 1024.0)
            );
        }
        println!(
            "  peak resident memory of the process: {:.0} MiB (before the exports: {rss_before:.0} MiB)",
            peak_rss_mib().unwrap_or(0.0)
        );
        pool.close().await;
    });
}
