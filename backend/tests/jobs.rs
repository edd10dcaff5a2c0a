//! The job queue against the real PostgreSQL: transactional enqueue, disjoint claims by two
//! workers, a killed worker's claim retried, graceful release, backoff to dead, the
//! administrators' API, and periodic jobs scheduled once.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use common::TestApp;
use faceid_server::jobs::worker::KindConfig;
use faceid_server::jobs::{Enqueue, Outcome, Registry, Worker, WorkerConfig, enqueue};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

fn quick(max_attempts: i32, lease: Duration) -> KindConfig {
    KindConfig {
        max_attempts,
        lease,
        backoff_base: Duration::ZERO,
        backoff_max: Duration::ZERO,
    }
}

fn worker_cfg(id: &str) -> WorkerConfig {
    WorkerConfig {
        id: id.to_owned(),
        concurrency: 4,
        poll_interval: Duration::from_millis(20),
        shutdown_grace: Duration::from_millis(200),
    }
}

/// A second pool on the same database: another "replica".
async fn second_pool(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(4)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap()
}

async fn add(pool: &PgPool, kind: &str, payload: serde_json::Value) -> Uuid {
    let mut conn = pool.acquire().await.unwrap();
    enqueue(&mut conn, kind, &payload, Enqueue::default())
        .await
        .unwrap()
        .unwrap()
}

async fn state_of(pool: &PgPool, id: Uuid) -> (String, i32) {
    sqlx::query_as("SELECT state, attempts FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn wait_for_state(pool: &PgPool, id: Uuid, want: &str) {
    for _ in 0..500 {
        if state_of(pool, id).await.0 == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "job {id} never reached {want}: {:?}",
        state_of(pool, id).await
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn enqueue_commits_and_rolls_back_with_the_caller(pool: PgPool) {
    let mut tx = pool.begin().await.unwrap();
    enqueue(&mut tx, "test.x", &json!({"n": 1}), Enqueue::default())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    enqueue(&mut tx, "test.x", &json!({"n": 2}), Enqueue::default())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let payloads: Vec<serde_json::Value> = sqlx::query_scalar("SELECT payload FROM jobs")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(payloads, vec![json!({"n": 2})]);
    // A unique key makes the enqueue idempotent.
    let mut conn = pool.acquire().await.unwrap();
    let opts = || Enqueue {
        unique_key: Some("once".into()),
        run_at: None,
        only_if: None,
    };
    assert!(
        enqueue(&mut conn, "test.x", &json!({}), opts())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        enqueue(&mut conn, "test.x", &json!({}), opts())
            .await
            .unwrap()
            .is_none()
    );
    // A condition that does not hold adds nothing.
    let skipped = enqueue(
        &mut conn,
        "test.x",
        &json!({}),
        Enqueue {
            only_if: Some("EXISTS (SELECT 1 FROM jobs WHERE kind = 'test.none')"),
            ..Enqueue::default()
        },
    )
    .await
    .unwrap();
    assert!(skipped.is_none());
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn two_workers_on_one_database_run_each_job_once(pool: PgPool) {
    const N: usize = 300;
    for i in 0..N {
        add(&pool, "test.count", json!({"i": i})).await;
    }
    let seen: Arc<Mutex<Vec<(String, Uuid)>>> = Arc::default();
    let make = |pool: PgPool, name: &str| {
        let seen = seen.clone();
        let who = name.to_owned();
        let mut r = Registry::new();
        r.handle(
            "test.count",
            quick(3, Duration::from_secs(60)),
            move |job| {
                let seen = seen.clone();
                let who = who.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    seen.lock().unwrap().push((who, job.id));
                    Outcome::Done
                }
            },
        );
        Worker::new(pool, r, worker_cfg(name))
    };
    let other = second_pool(&pool).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let a = tokio::spawn(make(pool.clone(), "a").run(stopped.clone()));
    let b = tokio::spawn(make(other, "b").run(stopped));
    for _ in 0..1000 {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state <> 'done'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    a.await.unwrap();
    b.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let mut per_job: HashMap<Uuid, usize> = HashMap::new();
    for (_, id) in &seen {
        *per_job.entry(*id).or_default() += 1;
    }
    assert_eq!(per_job.len(), N, "every job ran");
    assert!(
        per_job.values().all(|&n| n == 1),
        "a job ran twice: {:?}",
        per_job.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let attempts: Vec<i32> = sqlx::query_scalar("SELECT DISTINCT attempts FROM jobs")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, vec![1]);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_killed_workers_claim_is_retried_after_its_lease(pool: PgPool) {
    let id = add(&pool, "test.hang", json!({})).await;
    // Worker A takes the job and hangs in it; then the process "dies" (the task is aborted,
    // nothing is released).
    let mut hang = Registry::new();
    hang.handle("test.hang", quick(3, Duration::from_secs(1)), |_job| {
        std::future::pending::<Outcome>()
    });
    let a = Worker::new(pool.clone(), hang, worker_cfg("a"));
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(a.run(stopped));
    wait_for_state(&pool, id, "running").await;
    task.abort();
    let _ = task.await;
    let locked_by: Option<String> = sqlx::query_scalar("SELECT locked_by FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(locked_by.as_deref(), Some("a"));

    // Worker B finds nothing while the lease holds, then claims and finishes it.
    let ran = Arc::new(Mutex::new(0));
    let mut ok = Registry::new();
    let counter = ran.clone();
    ok.handle("test.hang", quick(3, Duration::from_secs(1)), move |_job| {
        let counter = counter.clone();
        async move {
            *counter.lock().unwrap() += 1;
            Outcome::Done
        }
    });
    let b = Worker::new(second_pool(&pool).await, ok, worker_cfg("b"));
    for _ in 0..200 {
        b.drain().await.unwrap();
        if state_of(&pool, id).await.0 == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state_of(&pool, id).await, ("done".into(), 2));
    assert_eq!(*ran.lock().unwrap(), 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_job_longer_than_its_lease_keeps_it_while_its_worker_lives(pool: PgPool) {
    let id = add(&pool, "test.slow", json!({})).await;
    let ran = Arc::new(Mutex::new(Vec::new()));
    let make = |pool: PgPool, name: &'static str| {
        let ran = ran.clone();
        let mut r = Registry::new();
        r.handle(
            "test.slow",
            quick(3, Duration::from_millis(600)),
            move |_job| {
                let ran = ran.clone();
                async move {
                    ran.lock().unwrap().push(name);
                    tokio::time::sleep(Duration::from_millis(2000)).await;
                    Outcome::Done
                }
            },
        );
        Worker::new(pool, r, worker_cfg(name))
    };
    let a = make(pool.clone(), "a");
    let b = make(second_pool(&pool).await, "b");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let ta = tokio::spawn(a.run(stopped.clone()));
    wait_for_state(&pool, id, "running").await;
    // B looks for work all through A's run, three leases long.
    let tb = tokio::spawn(b.run(stopped));
    wait_for_state(&pool, id, "done").await;
    stop.send(true).unwrap();
    ta.await.unwrap();
    tb.await.unwrap();
    assert_eq!(*ran.lock().unwrap(), vec!["a"]);
    assert_eq!(state_of(&pool, id).await, ("done".into(), 1));
}

#[sqlx::test(migrations = "./migrations")]
async fn shutdown_releases_jobs_that_do_not_finish_in_the_grace_period(pool: PgPool) {
    let slow = add(&pool, "test.hang", json!({})).await;
    let mut r = Registry::new();
    r.handle("test.hang", quick(3, Duration::from_secs(600)), |_job| {
        std::future::pending::<Outcome>()
    });
    let w = Worker::new(pool.clone(), r, worker_cfg("w"));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(w.run(stopped));
    wait_for_state(&pool, slow, "running").await;
    stop.send(true).unwrap();
    task.await.unwrap();
    // Back in the queue at once, the interrupted attempt not counted.
    assert_eq!(state_of(&pool, slow).await, ("queued".into(), 0));
    let locked: Option<String> = sqlx::query_scalar("SELECT locked_by FROM jobs WHERE id = $1")
        .bind(slow)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(locked, None);
}

#[sqlx::test(migrations = "./migrations")]
async fn failures_back_off_then_die_and_admins_retry_or_discard(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let mut r = Registry::new();
    let fail_now = Arc::new(Mutex::new(true));
    let flag = fail_now.clone();
    r.handle(
        "test.flaky",
        quick(3, Duration::from_secs(60)),
        move |_job| {
            let fail = *flag.lock().unwrap();
            async move {
                if fail {
                    Outcome::Retry("upstream said 502".into())
                } else {
                    Outcome::Done
                }
            }
        },
    );
    r.handle(
        "test.snooze",
        quick(1, Duration::from_secs(60)),
        |_job| async { Outcome::Snooze(Duration::from_secs(3600)) },
    );
    r.handle(
        "test.fatal",
        quick(5, Duration::from_secs(60)),
        |_job| async { Outcome::Fail("bad payload".into()) },
    );
    let w = Worker::new(pool.clone(), r, worker_cfg("w"));
    let flaky = add(&pool, "test.flaky", json!({})).await;
    let snoozy = add(&pool, "test.snooze", json!({})).await;
    let fatal = add(&pool, "test.fatal", json!({})).await;
    for _ in 0..10 {
        w.drain().await.unwrap();
    }
    assert_eq!(state_of(&pool, flaky).await, ("dead".into(), 3));
    assert_eq!(state_of(&pool, fatal).await, ("dead".into(), 1));
    // A snooze is not an attempt: it never dies of its limit of 1.
    assert_eq!(state_of(&pool, snoozy).await, ("queued".into(), 0));

    let r = app.get("/api/v1/jobs?state=dead", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total"], 2);
    let dead = r.body["items"].as_array().unwrap();
    let row = dead.iter().find(|j| j["id"] == flaky.to_string()).unwrap();
    assert_eq!(row["last_error"], "upstream said 502");
    assert_eq!(row["kind"], "test.flaky");
    let r = app
        .get("/api/v1/jobs?state=dead&kind=test.fatal", &admin)
        .await;
    assert_eq!(r.body["total"], 1);
    let r = app.get("/api/v1/jobs?state=buried", &admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Retry: queued with attempts reset, audited, then it runs and succeeds.
    *fail_now.lock().unwrap() = false;
    let r = app
        .post(&format!("/api/v1/jobs/{flaky}/retry"), &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["state"].as_str(), r.body["attempts"].as_i64()),
        (Some("queued"), Some(0))
    );
    w.drain().await.unwrap();
    assert_eq!(state_of(&pool, flaky).await, ("done".into(), 1));
    // Only dead jobs can be retried or discarded.
    let r = app
        .post(&format!("/api/v1/jobs/{flaky}/retry"), &admin, json!({}))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "job_not_dead"));
    let r = app
        .post(&format!("/api/v1/jobs/{fatal}/discard"), &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(state_of(&pool, fatal).await.0, "discarded");
    let r = app
        .post(
            &format!("/api/v1/jobs/{}/discard", Uuid::new_v4()),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let audited: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT action, entity_id FROM audit_log WHERE entity_type = 'job' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        audited,
        vec![("job.retry".into(), flaky), ("job.discard".into(), fatal)]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn periodic_jobs_are_scheduled_once_per_period_across_replicas(pool: PgPool) {
    let registry = || {
        let mut r = Registry::new();
        r.handle("test.hourly", KindConfig::default(), |_job| async {
            Outcome::Done
        })
        .every("test.hourly", Duration::from_secs(3600));
        r
    };
    let (a, b) = (registry(), registry());
    let other = second_pool(&pool).await;
    let t = chrono::DateTime::parse_from_rfc3339("2026-12-06T03:10:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let (na, nb) = tokio::join!(
        a.schedule_periodic(&pool, t),
        b.schedule_periodic(&other, t)
    );
    assert_eq!(na.unwrap() + nb.unwrap(), 1);
    // Later in the same hour: nothing; the next hour: one more.
    assert_eq!(
        a.schedule_periodic(&pool, t + chrono::Duration::minutes(40))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        b.schedule_periodic(&other, t + chrono::Duration::minutes(55))
            .await
            .unwrap(),
        1
    );
    let keys: Vec<String> = sqlx::query_scalar("SELECT unique_key FROM jobs ORDER BY unique_key")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        keys,
        vec!["test.hourly@1796526000", "test.hourly@1796529600"]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn location_retention_runs_as_a_periodic_job(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let registry = faceid_server::job_registry(&app.state, 90);
    // The periodic kinds: the prune, the location and privacy retention (docs/privacy.md), the
    // Hikvision poll scheduler (nothing without terminals), the iiko import scheduler
    // (nothing without a connection), the report downloads' expiry (nothing to delete) and the
    // Telegram attendance notices and summaries (nothing without a bot).
    assert_eq!(
        registry.schedule_periodic(&pool, Utc::now()).await.unwrap(),
        8
    );
    let w = Worker::new(pool.clone(), registry, worker_cfg("w"));
    assert_eq!(w.drain().await.unwrap(), 8);
    let states: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, state FROM jobs ORDER BY kind")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        states,
        vec![
            ("hikvision.schedule".into(), "done".into()),
            ("iiko.schedule".into(), "done".into()),
            ("jobs.prune".into(), "done".into()),
            ("locations.retention".into(), "done".into()),
            ("privacy.retention".into(), "done".into()),
            ("reports.download_expiry".into(), "done".into()),
            ("telegram.attendance".into(), "done".into()),
            ("telegram.summary".into(), "done".into())
        ]
    );
}
