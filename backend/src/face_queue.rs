//! Turns at the face engine. Measurements (check-in, kiosk, enrolment) run `face_workers` at
//! once, the rest wait in arrival order: with more measurements than cores at once, each would
//! take as long as all of them together.
//!
//! Under overload a queue only grows: every request would wait until its client gave up and
//! the server would go on measuring frames nobody waits for (the morning-rush bench showed
//! that collapse). So a request is refused early, with 503 `server_busy` and a `Retry-After`
//! from the queue's own estimate, when its expected wait exceeds `face_queue_max_wait_ms`
//! on arrival, or when it has waited that long. The phone's outbox keeps the punch and retries
//! after `Retry-After`; the capture time, not the answer's, is the punch's time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;

/// Weight of the newest measurement in the running mean of measurement time.
const MEAN_WEIGHT: f64 = 0.1;
/// Until anything is measured, a measurement is assumed to take this long.
const FIRST_GUESS: Duration = Duration::from_millis(100);
/// `Retry-After` never asks for longer than this (a phone in the queue at the entrance).
const RETRY_AFTER_MAX_SECS: u64 = 60;

pub struct FaceQueue {
    turns: Arc<Semaphore>,
    workers: usize,
    max_wait: Duration,
    /// Requests waiting for a turn now.
    waiting: AtomicUsize,
    /// Running mean of one measurement's time, in microseconds.
    mean_micros: AtomicU64,
}

/// A turn at the engine; give it back with [`FaceQueue::done`] to update the mean. It owns its
/// permit, so it can move into the blocking measurement and is released only when that ends,
/// even if the request that asked for it has gone away.
pub struct Turn {
    _permit: OwnedSemaphorePermit,
    started: Instant,
}

impl FaceQueue {
    pub fn new(workers: usize, max_wait: Duration) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(workers)),
            workers,
            max_wait,
            waiting: AtomicUsize::new(0),
            mean_micros: AtomicU64::new(FIRST_GUESS.as_micros() as u64),
        }
    }

    /// The expected wait of a request joining the queue now: everyone ahead of it, measured
    /// `workers` at a time.
    pub fn expected_wait(&self) -> Duration {
        let ahead = self.waiting.load(Ordering::Relaxed) + 1;
        let rounds = ahead.div_ceil(self.workers) as u32;
        self.mean() * rounds
    }

    fn mean(&self) -> Duration {
        Duration::from_micros(self.mean_micros.load(Ordering::Relaxed))
    }

    /// Waits for a turn, first come first served, or refuses with 503 `server_busy` when the
    /// wait would exceed (or has exceeded) the bound.
    pub async fn turn(&self) -> Result<Turn, AppError> {
        let busy = |wait: Duration| AppError::ServerBusy {
            retry_after_secs: wait.as_secs().clamp(1, RETRY_AFTER_MAX_SECS),
        };
        // Only when someone already waits: an idle engine never refuses.
        if self.turns.available_permits() == 0 {
            let expected = self.expected_wait();
            if expected > self.max_wait {
                crate::metrics::face_refused("expected_wait");
                return Err(busy(expected));
            }
        }
        let queued = Instant::now();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = tokio::time::timeout(self.max_wait, self.turns.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        crate::metrics::face_queued(queued.elapsed().as_secs_f64());
        match permit {
            Ok(Ok(permit)) => Ok(Turn {
                _permit: permit,
                started: Instant::now(),
            }),
            Ok(Err(closed)) => Err(AppError::internal(closed)),
            Err(_elapsed) => {
                crate::metrics::face_refused("waited_too_long");
                Err(busy(self.expected_wait()))
            }
        }
    }

    /// Ends a turn, folding its measurement time into the running mean.
    pub fn done(&self, turn: Turn) {
        let took = turn.started.elapsed();
        crate::metrics::face_measured(took.as_secs_f64());
        let old = self.mean_micros.load(Ordering::Relaxed) as f64;
        let new = old + MEAN_WEIGHT * (took.as_micros() as f64 - old);
        self.mean_micros.store(new as u64, Ordering::Relaxed);
    }

    /// Turns free now (tests check that a dropped request does not give its turn back early).
    #[cfg(test)]
    pub(crate) fn free_turns(&self) -> usize {
        self.turns.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_idle_engine_gives_a_turn_at_once() {
        let q = FaceQueue::new(1, Duration::ZERO);
        let t = q.turn().await.expect("nobody is waiting");
        q.done(t);
    }

    #[tokio::test]
    async fn a_request_that_waited_too_long_is_refused_with_retry_after() {
        let q = Arc::new(FaceQueue::new(1, Duration::from_millis(200)));
        let held = q.turn().await.unwrap();
        // The first guess (100 ms per measurement) lets it join; nobody frees the turn.
        match q.turn().await {
            Err(AppError::ServerBusy { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("expected server_busy, got {:?}", other.err()),
        }
        q.done(held);
    }

    #[test]
    fn the_mean_follows_the_measurements() {
        let q = FaceQueue::new(1, Duration::from_secs(1));
        for _ in 0..100 {
            let turn = Turn {
                _permit: q.turns.clone().try_acquire_owned().unwrap(),
                started: Instant::now() - Duration::from_millis(600),
            };
            q.done(turn);
        }
        assert!(q.mean() > Duration::from_millis(550), "{:?}", q.mean());
    }

    #[tokio::test]
    async fn a_request_that_would_wait_too_long_is_refused_on_arrival() {
        let q = FaceQueue::new(1, Duration::from_secs(3600));
        // Measurements take two hours; the engine is busy and one request waits.
        q.mean_micros
            .store(7200 * 1_000_000, std::sync::atomic::Ordering::Relaxed);
        let _held = q.turn().await.unwrap();
        q.waiting.fetch_add(1, Ordering::Relaxed);
        // Refused on arrival: a request that joined the queue would wait an hour.
        let answer = tokio::time::timeout(Duration::from_secs(60), q.turn()).await;
        match answer {
            Ok(Err(AppError::ServerBusy { retry_after_secs })) => {
                assert_eq!(retry_after_secs, RETRY_AFTER_MAX_SECS)
            }
            Ok(other) => panic!("expected server_busy, got {:?}", other.err()),
            Err(_) => panic!("it joined the queue instead of being refused on arrival"),
        }
    }

    #[test]
    fn server_busy_is_a_503_problem_with_retry_after() {
        use axum::response::IntoResponse;
        let resp = AppError::ServerBusy {
            retry_after_secs: 7,
        }
        .into_response();
        assert_eq!(resp.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()["retry-after"], "7");
        assert_eq!(
            AppError::ServerBusy {
                retry_after_secs: 7
            }
            .to_problem()
            .code,
            "server_busy"
        );
    }
}
