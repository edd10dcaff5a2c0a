//! A burst of 1,000 punches by 1,000 linked employees → 1,000 Telegram receipts, delivered to
//! the fake Bot API (tests/common/fake_telegram.rs) through the real job worker and rate
//! limiter. Prints the cost the notification enqueue adds to a punch's transaction (p50 / p99
//! of `notify::punch_recorded`), the punch append with it, and the delivery rate; then the
//! minute's `telegram.attendance` pass over the same 1,000 employees on a 09:00–18:00 shift
//! (the first pass decides 1,000 absences, the next finds them told); asserts nothing about
//! time.
//!
//! Needs a PostgreSQL server; a fresh database is created and dropped:
//! `DATABASE_URL=postgres://… cargo test -p faceid-server --bench telegram` (dev profile;
//! `cargo bench` would rebuild the face engine in release).

#![allow(clippy::print_stdout)]

mod support;

#[path = "../tests/common/fake_telegram.rs"]
mod fake_telegram;

use std::time::{Duration, Instant};

use chrono::Utc;
use faceid_server::attendance::{ChainFields, append};
use faceid_server::jobs::{Worker, WorkerConfig};
use faceid_server::telegram::{Telegram, notices, notify};
use faceid_server::{AppState, Secrets, Settings};
use fake_telegram::FakeTelegram;
use sqlx::PgPool;
use uuid::Uuid;

const PUNCHES: usize = 1_000;
const DB: &str = "faceid_bench_telegram";

async fn setup(url: &str) -> PgPool {
    let pool = support::fresh_database(url, DB, 12).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO employees (id, login, password_hash, first_name, last_name, role)
            SELECT md5('e' || e)::uuid, 'emp' || e, 'x', 'Name', 'Employee ' || e, 'user'
              FROM generate_series(1, {PUNCHES}) e;
         INSERT INTO telegram_links (employee_id, chat_id, language)
            SELECT md5('e' || e)::uuid, 100000 + e, (ARRAY['ru','tg','en'])[1 + e % 3]
              FROM generate_series(1, {PUNCHES}) e;"
    )))
    .execute(&pool)
    .await
    .expect("employees and links");
    pool
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("DATABASE_URL is not set: skipping the Telegram bench");
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let pool = setup(&url).await;
        let fake = FakeTelegram::start().await;
        for e in 1..=PUNCHES as i64 {
            fake.know_chat(100_000 + e);
        }
        let settings = Settings {
            telegram_bot_token: Some(fake_telegram::TOKEN.into()),
            telegram_api_url: fake.url.clone(),
            ..Settings::default()
        };
        let tg = Telegram::from_settings(&settings, pool.clone())
            .await
            .expect("getMe")
            .expect("configured");
        let rate = settings.telegram_max_messages_per_second;
        let state = AppState::new(
            pool.clone(),
            settings,
            Secrets {
                jwt_secret: vec![1; 32],
                descriptor_key: [2; 32],
            },
        )
        .expect("state")
        .with_telegram(Some(tg.clone()));
        let employees: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM employees ORDER BY login")
                .fetch_all(&pool)
                .await
                .expect("employees");

        // The enqueue alone, in a transaction that is rolled back.
        let mut enqueue = Vec::with_capacity(PUNCHES);
        for _ in 0..PUNCHES {
            let mut tx = pool.begin().await.expect("begin");
            let t = Instant::now();
            notify::punch_recorded(&mut tx, Uuid::now_v7())
                .await
                .expect("enqueue");
            enqueue.push(t.elapsed());
            tx.rollback().await.expect("rollback");
        }
        enqueue.sort();

        // The burst: 1,000 punches appended to the chain (the enqueue inside), committed.
        let mut punch = Vec::with_capacity(PUNCHES);
        let burst = Instant::now();
        for e in &employees {
            let t = Instant::now();
            let mut tx = pool.begin().await.expect("begin");
            let now = Utc::now();
            append(
                &mut tx,
                ChainFields::blank(Uuid::now_v7(), *e, "in", "verified", now, now),
                None,
                None,
            )
            .await
            .expect("append");
            tx.commit().await.expect("commit");
            punch.push(t.elapsed());
        }
        let burst_time = burst.elapsed();
        punch.sort();

        // Deliver with the server's worker.
        let worker = Worker::new(
            pool.clone(),
            faceid_server::job_registry(&state, 90),
            WorkerConfig {
                concurrency: 16,
                poll_interval: Duration::from_millis(50),
                ..WorkerConfig::default()
            },
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let started = Instant::now();
        let task = tokio::spawn(worker.run(stopped));
        while fake.sent().len() < PUNCHES && started.elapsed() < Duration::from_secs(600) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let delivery = started.elapsed();
        stop.send(true).expect("stop");
        task.await.expect("worker");
        let sent = fake.sent();
        let refused_429 = fake.calls().iter().filter(|c| c.status == 429).count();
        let mut chats: Vec<i64> = sent.iter().map(|m| m.chat_id).collect();
        chats.sort_unstable();
        chats.dedup();

        println!("telegram bench: {PUNCHES} punches by {PUNCHES} linked employees");
        println!(
            "  enqueue in the punch transaction: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            ms(percentile(&enqueue, 0.5)),
            ms(percentile(&enqueue, 0.99)),
            ms(percentile(&enqueue, 1.0))
        );
        println!(
            "  punch append + commit (enqueue included): p50 {:.3} ms, p99 {:.3} ms; burst {:.2} s",
            ms(percentile(&punch, 0.5)),
            ms(percentile(&punch, 0.99)),
            burst_time.as_secs_f64()
        );
        println!(
            "  delivered {} messages to {} chats in {:.1} s = {:.1} msg/s (limit {rate}/s); 429s from the fake: {refused_429}",
            sent.len(),
            chats.len(),
            delivery.as_secs_f64(),
            sent.len() as f64 / delivery.as_secs_f64()
        );

        // The attendance pass: everyone in one department on a weekday 09:00–18:00 shift
        // (10 minutes' grace), evaluated on Tuesday 3 March 2026 at 09:30 UTC without punches.
        sqlx::raw_sql(
            "INSERT INTO departments (id, name) VALUES ('00000000-0000-0000-0000-0000000000d1', 'Bench');
             UPDATE employees SET department_id = '00000000-0000-0000-0000-0000000000d1';
             INSERT INTO shift_templates (id, name, start_time, end_time, late_grace_minutes)
                 VALUES ('00000000-0000-0000-0000-0000000000f1', 'Day', '09:00', '18:00', 10);
             INSERT INTO schedules (id, name, kind, definition)
                 VALUES ('00000000-0000-0000-0000-0000000000c1', 'Weekdays', 'weekly',
                         jsonb_build_object('kind', 'weekly', 'days', jsonb_build_array(
                             '00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000f1',
                             '00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000f1',
                             '00000000-0000-0000-0000-0000000000f1', NULL, NULL)));
             INSERT INTO schedule_assignments (id, schedule_id, department_id, valid_from)
                 VALUES (gen_random_uuid(), '00000000-0000-0000-0000-0000000000c1',
                         '00000000-0000-0000-0000-0000000000d1', '2026-03-01');",
        )
        .execute(&pool)
        .await
        .expect("schedule");
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 3, 9, 30, 0).unwrap();
        let t = Instant::now();
        let first = notices::attendance(&pool, &tg, at).await.expect("attendance");
        let first_time = t.elapsed();
        let t = Instant::now();
        let second = notices::attendance(&pool, &tg, at + chrono::Duration::minutes(1))
            .await
            .expect("attendance");
        let second_time = t.elapsed();
        println!(
            "  telegram.attendance over {PUNCHES} scheduled employees: first pass {first} notices in {:.0} ms, next pass {second} in {:.0} ms",
            ms(first_time),
            ms(second_time)
        );
        pool.close().await;
    });
}
