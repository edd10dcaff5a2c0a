//! Events imported per second from the fake Hikvision terminal (tests/common/fake_hikvision.rs)
//! at its page cap of 30, through the production client (Digest, JSON) and the real poll
//! (raw events, punches appended to the hash chain, cursor). Prints events/s, pages/s and the
//! server process's CPU time per 1,000 events (the fake runs in the same process, so this is
//! an upper bound); asserts nothing about time.
//!
//! Needs a PostgreSQL server; a fresh database is created and dropped:
//! `DATABASE_URL=postgres://… cargo test -p faceid-server --bench hikvision` (dev profile;
//! `cargo bench` would rebuild the face engine in release).

#![allow(clippy::print_stdout)]

#[path = "../tests/common/fake_hikvision.rs"]
mod fake_hikvision;
mod support;

use std::time::Instant;

use chrono::Utc;
use faceid_server::hikvision::poll::poll_terminal;
use faceid_server::{AppState, Secrets, Settings};
use fake_hikvision::{Ev, FACE_FAIL, FACE_PASS, FakeHikvision};
use sqlx::PgPool;
use uuid::Uuid;

const EVENTS: usize = 10_000;
const PEOPLE: usize = 200;
const DB: &str = "faceid_bench_hikvision";

async fn setup(url: &str) -> PgPool {
    let pool = support::fresh_database(url, DB, 8).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO employees (id, login, password_hash, first_name, last_name, role, card_number)
            SELECT md5('e' || e)::uuid, 'emp' || e, 'x', 'Name', 'Employee ' || e, 'user', (10000 + e)::text
              FROM generate_series(1, {PEOPLE}) e;
         INSERT INTO sites (id, name, time_zone, geofence) VALUES
            ('00000000-0000-0000-0000-0000000000a1', 'Gate', 'Europe/Moscow',
             '{{\"type\":\"circle\",\"latitude\":55.75,\"longitude\":37.61,\"radius_m\":100.0}}');"
    )))
    .execute(&pool)
    .await
    .expect("employees and site");
    pool
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (Linux); 0 elsewhere.
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit(')').next()?.split_whitespace().collect::<Vec<_>>();
            let utime: f64 = rest.get(11)?.parse().ok()?;
            let stime: f64 = rest.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("DATABASE_URL is not set: skipping the Hikvision bench");
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let pool = setup(&url).await;
        let settings = Settings {
            photo_store_url: Some("memory:".into()),
            // Every pass is punched: the figure is the full import path.
            hikvision_debounce_secs: 0,
            ..Settings::default()
        };
        let state = AppState::new(
            pool.clone(),
            settings,
            Secrets {
                jwt_secret: vec![1; 32],
                descriptor_key: [9; 32],
            },
        )
        .expect("state");
        let fake = FakeHikvision::start().await;
        let terminal = Uuid::now_v7();
        let device = Uuid::now_v7();
        let (ct, nonce) =
            faceid_server::hikvision::seal_password(&state.cipher, terminal, fake_hikvision::PASSWORD)
                .expect("seal");
        sqlx::query(
            "INSERT INTO devices (id, kind, name, platform) VALUES ($1, 'terminal', 'Gate', 'hikvision')",
        )
        .bind(device)
        .execute(&pool)
        .await
        .expect("device");
        sqlx::query(
            "INSERT INTO terminals (id, device_id, name, base_url, username, password_ct, password_nonce,
                 site_id, direction, poll_interval_s, import_since)
             VALUES ($1, $2, 'Gate', $3, $4, $5, $6, '00000000-0000-0000-0000-0000000000a1', 'in', 30,
                 now() - interval '1 day')",
        )
        .bind(terminal)
        .bind(device)
        .bind(&fake.url)
        .bind(fake_hikvision::USERNAME)
        .bind(ct)
        .bind(nonce)
        .execute(&pool)
        .await
        .expect("terminal");
        let start = Utc::now() - chrono::Duration::hours(6);
        let evs: Vec<Ev> = (0..EVENTS)
            .map(|i| {
                let mut e = Ev::new(
                    if i % 10 == 9 { FACE_FAIL } else { FACE_PASS },
                    Some(&format!("{}", 10_001 + i % PEOPLE)),
                    start + chrono::Duration::milliseconds(i as i64 * 1500),
                );
                e.picture = false;
                e
            })
            .collect();
        fake.push(&evs);

        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        let mut events = 0u64;
        let mut punches = 0u64;
        let mut pages = 0u32;
        loop {
            let r = poll_terminal(&state, terminal, "bench")
                .await
                .expect("poll")
                .expect("lease");
            if r.events == 0 {
                break;
            }
            events += r.events;
            punches += r.punches;
            pages += r.pages;
        }
        let secs = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        let verified = faceid_server::attendance::verify_chain(&pool).await.expect("verify");
        assert!(verified.ok);
        assert_eq!(events, EVENTS as u64);
        println!(
            "hikvision import: {events} events ({punches} punches) in {pages} pages of <= 30 in {secs:.2} s = {:.0} events/s, {:.1} pages/s",
            events as f64 / secs,
            f64::from(pages) / secs
        );
        println!(
            "process CPU (server and fake together): {cpu:.2} s = {:.0} ms per 1,000 events; chain of {} verified",
            cpu * 1000.0 / (events as f64 / 1000.0),
            verified.length
        );
        pool.close().await;
        support::drop_database(&url, DB).await;
    });
}
