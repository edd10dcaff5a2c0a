//! The worker: claims due jobs of the kinds it has handlers for, runs them concurrently,
//! records each outcome, schedules periodic jobs, and on shutdown finishes or releases what it
//! holds.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::{Enqueue, Job, backoff, enqueue};

/// What a handler says about one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    /// A transient failure: retried after the kind's backoff, dead after its attempt limit.
    Retry(String),
    /// A transient failure with a known wait (a `retry_after`); still counts as an attempt.
    RetryAfter(Duration, String),
    /// Not a failure: come back later (a rate limit slot); does not count as an attempt.
    Snooze(Duration),
    /// A permanent failure: dead now.
    Fail(String),
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;
type Handler = Arc<dyn Fn(Job) -> HandlerFuture + Send + Sync>;

/// Per-kind limits.
#[derive(Debug, Clone, Copy)]
pub struct KindConfig {
    /// Attempts before the job is dead.
    pub max_attempts: i32,
    /// How long a claim lasts; a job still running after it is taken to be abandoned (its
    /// worker died) and is claimed again.
    pub lease: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for KindConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
        }
    }
}

#[derive(Clone)]
struct Periodic {
    kind: String,
    period: Duration,
}

/// The kinds a worker handles, and the periodic ones it schedules.
#[derive(Default, Clone)]
pub struct Registry {
    kinds: HashMap<String, (KindConfig, Handler)>,
    periodic: Arc<Vec<Periodic>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the handler of `kind`.
    pub fn handle<F, Fut>(&mut self, kind: &str, cfg: KindConfig, f: F) -> &mut Self
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let h: Handler = Arc::new(move |job| Box::pin(f(job)));
        self.kinds.insert(kind.to_owned(), (cfg, h));
        self
    }

    /// Schedules `kind` (already registered) once per `period`, across all replicas.
    pub fn every(&mut self, kind: &str, period: Duration) -> &mut Self {
        Arc::make_mut(&mut self.periodic).push(Periodic {
            kind: kind.to_owned(),
            period,
        });
        self
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.kinds.keys().map(String::as_str)
    }

    /// Enqueues each periodic kind for the period containing `now`, once: the unique key is
    /// `kind@<period start, Unix seconds>`, so a second replica's insert does nothing.
    pub async fn schedule_periodic(
        &self,
        pool: &PgPool,
        now: DateTime<Utc>,
    ) -> Result<usize, sqlx::Error> {
        let mut added = 0;
        for p in self.periodic.iter() {
            let secs = i64::try_from(p.period.as_secs().max(1)).unwrap_or(i64::MAX);
            let start = now.timestamp().div_euclid(secs) * secs;
            let mut conn = pool.acquire().await?;
            let id = enqueue(
                &mut conn,
                &p.kind,
                &serde_json::json!({"period_start": start}),
                Enqueue {
                    unique_key: Some(format!("{}@{start}", p.kind)),
                    run_at: None,
                    only_if: None,
                },
            )
            .await?;
            added += usize::from(id.is_some());
        }
        Ok(added)
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Shown in `locked_by`; unique per process.
    pub id: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How often to look for due jobs when idle.
    pub poll_interval: Duration,
    /// How long a shutdown waits for running jobs before releasing them.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            id: format!(
                "{}-{}",
                std::process::id(),
                &Uuid::new_v4().simple().to_string()[..8]
            ),
            concurrency: 8,
            poll_interval: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Claims and runs jobs until shut down.
#[derive(Clone)]
pub struct Worker {
    pool: PgPool,
    registry: Arc<Registry>,
    cfg: Arc<WorkerConfig>,
}

impl Worker {
    pub fn new(pool: PgPool, registry: Registry, cfg: WorkerConfig) -> Self {
        Self {
            pool,
            registry: Arc::new(registry),
            cfg: Arc::new(cfg),
        }
    }

    pub fn id(&self) -> &str {
        &self.cfg.id
    }

    /// Claims up to `n` due jobs of this worker's kinds: queued ones whose time has come and
    /// running ones whose lease ran out. `SKIP LOCKED` lets concurrent workers take disjoint
    /// jobs without waiting on each other.
    pub async fn claim(&self, n: usize) -> Result<Vec<Job>, sqlx::Error> {
        let (kinds, leases): (Vec<String>, Vec<f64>) = self
            .registry
            .kinds
            .iter()
            .map(|(k, (c, _))| (k.clone(), c.lease.as_secs_f64()))
            .unzip();
        sqlx::query_as(
            "WITH k AS (SELECT * FROM unnest($3::text[], $4::float8[]) AS k(kind, lease)),
             c AS (SELECT j.id, k.lease FROM jobs j JOIN k ON k.kind = j.kind
                   WHERE (j.state = 'queued' AND j.run_at <= now())
                      OR (j.state = 'running' AND j.locked_until < now())
                   ORDER BY j.run_at LIMIT $2
                   FOR UPDATE OF j SKIP LOCKED)
             UPDATE jobs j SET state = 'running', attempts = j.attempts + 1, locked_by = $1,
                 locked_until = now() + c.lease * interval '1 second', updated_at = now()
             FROM c WHERE j.id = c.id
             RETURNING j.id, j.kind, j.payload, j.attempts",
        )
        .bind(&self.cfg.id)
        .bind(i64::try_from(n).unwrap_or(i64::MAX))
        .bind(kinds)
        .bind(leases)
        .fetch_all(&self.pool)
        .await
    }

    /// Runs one claimed job to its outcome and records it. A handler that panics counts as a
    /// transient failure.
    pub async fn execute(&self, job: Job) {
        let Some((cfg, handler)) = self.registry.kinds.get(&job.kind).cloned() else {
            return;
        };
        let outcome = if job.attempts > cfg.max_attempts {
            // Claimed again after its lease ran out too often: its worker keeps dying.
            Outcome::Fail(format!(
                "abandoned: {} attempts, the last one did not finish",
                job.attempts - 1
            ))
        } else {
            // The handler runs in its own task (a panic becomes a retry), aborted when this
            // future is dropped (shutdown). The lease is renewed while it runs, so a long
            // job is not taken for abandoned; a dead process stops renewing.
            let task = tokio::spawn(handler(job.clone()));
            let _abort = AbortOnDrop(task.abort_handle());
            tokio::select! {
                r = task => match r {
                    Ok(o) => o,
                    Err(e) => Outcome::Retry(format!("handler panicked: {e}")),
                },
                () = self.renew_lease(job.id, cfg.lease) => {
                    Outcome::Retry("the lease renewal stopped".into())
                }
            }
        };
        if let Err(e) = self.finish(&job, &cfg, outcome).await {
            tracing::error!(job = %job.id, kind = %job.kind, error = %e, "recording a job outcome failed; its lease will expire");
        }
    }

    /// Extends the lease of a running job every third of its length; never returns.
    async fn renew_lease(&self, id: Uuid, lease: Duration) {
        let every = (lease / 3).max(Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = sqlx::query(
                "UPDATE jobs SET locked_until = now() + $3 * interval '1 second'
                 WHERE id = $1 AND locked_by = $2 AND state = 'running'",
            )
            .bind(id)
            .bind(&self.cfg.id)
            .bind(lease.as_secs_f64())
            .execute(&self.pool)
            .await
            {
                tracing::warn!(job = %id, error = %e, "renewing a job lease failed");
            }
        }
    }

    async fn finish(&self, job: &Job, cfg: &KindConfig, outcome: Outcome) -> sqlx::Result<()> {
        let (state, delay, error, refund) = match outcome {
            Outcome::Done => ("done", Duration::ZERO, None, false),
            Outcome::Snooze(d) => ("queued", d, None, true),
            Outcome::Retry(e) | Outcome::RetryAfter(_, e) if job.attempts >= cfg.max_attempts => {
                ("dead", Duration::ZERO, Some(e), false)
            }
            Outcome::Retry(e) => (
                "queued",
                backoff(job.attempts, cfg.backoff_base, cfg.backoff_max),
                Some(e),
                false,
            ),
            Outcome::RetryAfter(d, e) => ("queued", d, Some(e), false),
            Outcome::Fail(e) => ("dead", Duration::ZERO, Some(e), false),
        };
        let label = match (state, error.is_some(), refund) {
            ("done", _, _) => "done",
            ("dead", _, _) => "dead",
            (_, _, true) => "snooze",
            _ => "retry",
        };
        crate::metrics::job_finished(&job.kind, label);
        match state {
            "dead" => {
                tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, error = ?error, "job is dead")
            }
            "queued" if error.is_some() => {
                tracing::info!(job = %job.id, kind = %job.kind, attempts = job.attempts, error = ?error, retry_in = ?delay, "job will be retried")
            }
            _ => {}
        }
        sqlx::query(
            "UPDATE jobs SET state = $3, run_at = now() + $4 * interval '1 second',
                 attempts = attempts - CASE WHEN $5 THEN 1 ELSE 0 END,
                 last_error = COALESCE($6, last_error), locked_by = NULL, locked_until = NULL,
                 updated_at = now(),
                 finished_at = CASE WHEN $3 IN ('done', 'dead') THEN now() END
             WHERE id = $1 AND locked_by = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(&self.cfg.id)
        .bind(state)
        .bind(delay.as_secs_f64())
        .bind(refund)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts the jobs this worker still holds back in the queue, the interrupted attempt not
    /// counted. Answers how many.
    pub async fn release(&self) -> sqlx::Result<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = greatest(attempts - 1, 0),
                 locked_by = NULL, locked_until = NULL, run_at = now(), updated_at = now()
             WHERE locked_by = $1 AND state = 'running'",
        )
        .bind(&self.cfg.id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Claims and runs everything due now, in batches, until nothing is due. For tests and
    /// one-shot runs.
    pub async fn drain(&self) -> sqlx::Result<usize> {
        let mut ran = 0;
        loop {
            let jobs = self.claim(self.cfg.concurrency.max(1)).await?;
            if jobs.is_empty() {
                return Ok(ran);
            }
            ran += jobs.len();
            let mut set = JoinSet::new();
            for job in jobs {
                let w = self.clone();
                set.spawn(async move { w.execute(job).await });
            }
            while set.join_next().await.is_some() {}
        }
    }

    /// The worker loop: schedule periodic jobs, claim what fits in the free slots, run. When
    /// `shutdown` turns true it stops claiming, lets running jobs finish within the grace
    /// period, and releases the rest.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.cfg.id, kinds = ?self.registry.kinds().collect::<Vec<_>>(), "job worker started");
        let mut running = JoinSet::new();
        let mut last_schedule: Option<tokio::time::Instant> = None;
        while !*shutdown.borrow() {
            if last_schedule.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                last_schedule = Some(tokio::time::Instant::now());
                if let Err(e) = self
                    .registry
                    .schedule_periodic(&self.pool, Utc::now())
                    .await
                {
                    tracing::warn!(error = %e, "scheduling periodic jobs failed");
                }
            }
            let free = self.cfg.concurrency.saturating_sub(running.len());
            let mut claimed = 0;
            if free > 0 {
                match self.claim(free).await {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            let w = self.clone();
                            running.spawn(async move { w.execute(job).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming jobs failed"),
                }
            }
            // A full batch: look again at once when a slot frees up; otherwise wait a poll.
            let wait = if claimed == free && free > 0 {
                Duration::ZERO
            } else {
                self.cfg.poll_interval
            };
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = tokio::time::sleep(wait), if running.len() < self.cfg.concurrency => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        let drained = tokio::time::timeout(self.cfg.shutdown_grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            running.abort_all();
            while running.join_next().await.is_some() {}
        }
        match self.release().await {
            Ok(n) => tracing::info!(worker = %self.cfg.id, released = n, "job worker stopped"),
            Err(e) => {
                tracing::error!(worker = %self.cfg.id, error = %e, "releasing claimed jobs failed; their leases will expire")
            }
        }
    }
}
