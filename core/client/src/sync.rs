//! The sync task: drains the outbox when asked and on a timer.
//!
//! One pass ([`SyncEngine::drain`]): seal staged location points into batches, then claim the
//! next due entry (consent, enrolment, punch, location batch; oldest first), send it, and:
//! - 2xx: remove it, tell the listener (with the body: a punch's verdict);
//! - 401: refresh the token once (single-flight in the session) and resend; a second 401, or a
//!   refresh the server refuses, stops the pass with [`SyncState::AuthRequired`];
//! - 408, 425, 429, 5xx, timeouts, network errors: count the attempt, schedule the next one
//!   with jittered exponential backoff (never before `Retry-After`), and end the pass: the
//!   server is unwell, hammering it with the rest of the queue helps nobody;
//! - 403 `device_blocked`: the same backoff (an administrator can unblock the device; its
//!   punches must not be lost meanwhile);
//! - any other 4xx (validation, 409 conflict, 403 no consent…): dead-letter with the server's
//!   reason and go on with the next entry.
//!
//! Entries written while a pass runs are picked up by the same pass or the next one. Two
//! passes (tasks or processes) never send the same entry at once: each entry is claimed in the
//! database first.

use faceid_protocol::error_code::ErrorCode;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use faceid_protocol::attendance::{ATTENDANCE_EVENTS_PATH, EVIDENCE_PART};
use faceid_protocol::consent::MY_CONSENTS_PATH;
use faceid_protocol::location::{LOCATIONS_BATCH_PATH, LocationBatchResponse};
use faceid_protocol::sync::IDEMPOTENCY_KEY_HEADER;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::{Clock, ServerClock};
use crate::http::{HttpAnswer, read_answer};
use crate::outbox::{
    ClaimedEntry, DEFAULT_LEASE, EntryKind, Outbox, OutboxError, RetryCause, next_delay,
};
use crate::session::{Session, SessionError};

pub use faceid_protocol::face::MY_FACE_TEMPLATES_PATH;
/// Default period of the timer.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);

/// The endpoint an entry kind is posted to.
pub fn endpoint(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Consent => MY_CONSENTS_PATH,
        EntryKind::Enrolment => MY_FACE_TEMPLATES_PATH,
        EntryKind::Punch => ATTENDANCE_EVENTS_PATH,
        EntryKind::LocationBatch => LOCATIONS_BATCH_PATH,
    }
}

/// A request that got no HTTP answer.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SendError {
    #[error("timed out")]
    Timeout,
    #[error("network error: {0}")]
    Network(String),
    /// The stored entry cannot be turned into a request (e.g. a malformed content type).
    #[error("cannot build the request: {0}")]
    Build(String),
}

/// Sends one entry. The real one is [`HttpTransport`]; tests use their own.
pub trait Transport: Send + Sync + 'static {
    fn send(
        &self,
        entry: &ClaimedEntry,
        access_token: &str,
    ) -> impl Future<Output = Result<HttpAnswer, SendError>> + Send;
}

/// Access tokens for the sender. The real one is [`Session`].
pub trait TokenProvider: Send + Sync + 'static {
    fn access_token(&self) -> impl Future<Output = Result<String, SessionError>> + Send;
    fn refresh_after_unauthorized(
        &self,
        stale: &str,
    ) -> impl Future<Output = Result<String, SessionError>> + Send;
}

impl TokenProvider for Session {
    fn access_token(&self) -> impl Future<Output = Result<String, SessionError>> + Send {
        Session::access_token(self)
    }

    fn refresh_after_unauthorized(
        &self,
        stale: &str,
    ) -> impl Future<Output = Result<String, SessionError>> + Send {
        Session::refresh_after_unauthorized(self, stale)
    }
}

/// What the sync task is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncState {
    Idle,
    Syncing,
    /// No answer from the server; will retry.
    Offline {
        reason: String,
    },
    /// Nothing is due before this instant (backoff or `Retry-After`).
    WaitingUntil(DateTime<Utc>),
    /// The session ended; entries wait for the next login.
    AuthRequired,
    Stopped,
}

/// Running counts of one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncProgress {
    /// Entries the server accepted (2xx).
    pub sent: u64,
    /// Location points the server stored as new, already had, or refused.
    pub points_accepted: u64,
    pub points_duplicate: u64,
    pub points_rejected: u64,
    pub dead_lettered: u64,
    /// Entries still queued (all kinds).
    pub remaining: u64,
}

/// A delivered entry and the server's answer body (a punch's verdict, a batch's counts).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub idempotency_key: Uuid,
    pub kind: EntryKind,
    pub status: u16,
    pub body: String,
}

/// Receives state and progress. Called from the sync task; keep it quick.
pub trait SyncListener: Send + Sync {
    fn on_state(&self, state: &SyncState);
    fn on_progress(&self, progress: &SyncProgress);
    fn on_delivered(&self, delivered: &Delivered) {
        let _ = delivered;
    }
}

/// A listener that ignores everything.
#[derive(Debug, Default)]
pub struct NoopListener;

impl SyncListener for NoopListener {
    fn on_state(&self, _: &SyncState) {}
    fn on_progress(&self, _: &SyncProgress) {}
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// How a pass ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DrainOutcome {
    /// The outbox is empty.
    Empty,
    /// Entries remain, none due before this instant.
    WaitingUntil(DateTime<Utc>),
    Offline(String),
    AuthRequired,
    Stopped,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DrainReport {
    pub progress: SyncProgress,
    pub outcome: DrainOutcome,
}

/// Drains one employee's outbox.
pub struct SyncEngine<T, A> {
    outbox: Arc<Outbox>,
    transport: Arc<T>,
    auth: Arc<A>,
    listener: Arc<dyn SyncListener>,
    clock: Arc<dyn Clock>,
    lease: Duration,
}

impl<T: Transport, A: TokenProvider> SyncEngine<T, A> {
    pub fn new(
        outbox: Arc<Outbox>,
        transport: Arc<T>,
        auth: Arc<A>,
        listener: Arc<dyn SyncListener>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            outbox,
            transport,
            auth,
            listener,
            clock,
            lease: DEFAULT_LEASE,
        }
    }

    /// Claim lease (must exceed the longest request).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    fn remaining(&self) -> u64 {
        self.outbox
            .stats()
            .map(|s| s.pending_entries())
            .unwrap_or(0)
    }

    fn finish(&self, progress: SyncProgress, outcome: DrainOutcome) -> DrainReport {
        let state = match &outcome {
            DrainOutcome::Empty => SyncState::Idle,
            DrainOutcome::WaitingUntil(t) => SyncState::WaitingUntil(*t),
            DrainOutcome::Offline(r) => SyncState::Offline { reason: r.clone() },
            DrainOutcome::AuthRequired => SyncState::AuthRequired,
            DrainOutcome::Stopped => SyncState::Stopped,
        };
        self.listener.on_state(&state);
        DrainReport { progress, outcome }
    }

    /// One pass. Returns when the outbox is empty or nothing is due, on the first transient
    /// failure, when the session needs a login, or when `stop` is set (checked between entries;
    /// a request in flight is finished first).
    pub async fn drain(&self, stop: &AtomicBool) -> Result<DrainReport, SyncError> {
        self.listener.on_state(&SyncState::Syncing);
        let mut progress = SyncProgress::default();
        self.outbox.seal_points(self.clock.now())?;
        loop {
            if stop.load(Ordering::SeqCst) {
                progress.remaining = self.remaining();
                return Ok(self.finish(progress, DrainOutcome::Stopped));
            }
            let now = self.clock.now();
            let Some(entry) = self.outbox.claim_next(now, self.lease)? else {
                progress.remaining = self.remaining();
                let outcome = match self.outbox.next_due_at()? {
                    Some(t) => DrainOutcome::WaitingUntil(t),
                    None => DrainOutcome::Empty,
                };
                return Ok(self.finish(progress, outcome));
            };
            match self.send_one(&entry, &mut progress).await? {
                None => {
                    progress.remaining = self.remaining();
                    self.listener.on_progress(&progress);
                }
                Some(outcome) => {
                    progress.remaining = self.remaining();
                    self.listener.on_progress(&progress);
                    return Ok(self.finish(progress, outcome));
                }
            }
        }
    }

    /// Send a claimed entry and settle it. `Some(outcome)` ends the pass.
    async fn send_one(
        &self,
        entry: &ClaimedEntry,
        progress: &mut SyncProgress,
    ) -> Result<Option<DrainOutcome>, SyncError> {
        let mut token = match self.auth.access_token().await {
            Ok(t) => t,
            Err(e) => return self.auth_failed(entry, e),
        };
        let mut refreshed = false;
        loop {
            let answer = match self.transport.send(entry, &token).await {
                Ok(a) => a,
                Err(SendError::Build(reason)) => {
                    self.outbox.dead_letter(
                        entry,
                        0,
                        Some("unsendable"),
                        &reason,
                        self.clock.now(),
                    )?;
                    progress.dead_lettered += 1;
                    return Ok(None);
                }
                Err(e) => {
                    let reason = e.to_string();
                    let delay = next_delay(entry.attempts + 1, None, &mut rand::rng());
                    self.outbox.reschedule(
                        entry,
                        &reason,
                        RetryCause::Unreachable,
                        delay,
                        self.clock.now(),
                    )?;
                    tracing::info!(key = %entry.idempotency_key, %reason, ?delay, "send failed; offline");
                    return Ok(Some(DrainOutcome::Offline(reason)));
                }
            };
            match answer.status {
                200..=299 => {
                    self.outbox.complete(entry.idempotency_key)?;
                    progress.sent += 1;
                    if entry.kind == EntryKind::LocationBatch
                        && let Ok(r) = serde_json::from_str::<LocationBatchResponse>(&answer.body)
                    {
                        progress.points_accepted += u64::from(r.accepted);
                        progress.points_duplicate += u64::from(r.duplicates);
                        progress.points_rejected += r.rejected.len() as u64;
                        if !r.rejected.is_empty() {
                            tracing::warn!(key = %entry.idempotency_key, rejected = ?r.rejected, "server refused some points");
                        }
                    }
                    self.listener.on_delivered(&Delivered {
                        idempotency_key: entry.idempotency_key,
                        kind: entry.kind,
                        status: answer.status,
                        body: answer.body,
                    });
                    return Ok(None);
                }
                401 if !refreshed => {
                    refreshed = true;
                    token = match self.auth.refresh_after_unauthorized(&token).await {
                        Ok(t) => t,
                        Err(e) => return self.auth_failed(entry, e),
                    };
                }
                401 => {
                    self.outbox.release(entry)?;
                    return Ok(Some(DrainOutcome::AuthRequired));
                }
                status
                    if matches!(status, 408 | 425 | 429 | 500..=599)
                        || answer
                            .problem()
                            .is_some_and(|p| p.error_code() == Some(ErrorCode::DeviceBlocked)) =>
                {
                    let delay =
                        next_delay(entry.attempts + 1, answer.retry_after, &mut rand::rng());
                    let reason = answer.reason();
                    let now = self.clock.now();
                    self.outbox
                        .reschedule(entry, &reason, RetryCause::Server, delay, now)?;
                    tracing::info!(key = %entry.idempotency_key, status = answer.status, ?delay, "server unavailable; backing off");
                    let until = now + chrono::Duration::from_std(delay).unwrap_or_default();
                    let until = match self.outbox.next_due_at()? {
                        Some(t) if t > now => t.min(until),
                        _ => until,
                    };
                    return Ok(Some(DrainOutcome::WaitingUntil(until)));
                }
                status => {
                    let problem = answer.problem();
                    let reason = answer.reason();
                    self.outbox.dead_letter(
                        entry,
                        status,
                        problem.as_ref().map(|p| p.code.as_str()),
                        &reason,
                        self.clock.now(),
                    )?;
                    progress.dead_lettered += 1;
                    return Ok(None);
                }
            }
        }
    }

    fn auth_failed(
        &self,
        entry: &ClaimedEntry,
        e: SessionError,
    ) -> Result<Option<DrainOutcome>, SyncError> {
        self.outbox.release(entry)?;
        Ok(Some(match e {
            SessionError::AuthRequired => DrainOutcome::AuthRequired,
            other if other.is_transient() => DrainOutcome::Offline(other.to_string()),
            // A refused refresh ends the session inside `Session`; anything else here is the
            // device's problem (store, decode): report it as offline and retry later.
            other => DrainOutcome::Offline(other.to_string()),
        }))
    }
}

/// A running sync task.
pub struct SyncHandle {
    outbox: Arc<Outbox>,
    clock: Arc<dyn Clock>,
    trigger: Arc<Notify>,
    stop: Arc<AtomicBool>,
    stop_notify: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl SyncHandle {
    /// Start the task: a pass now, then one per `period`, on [`SyncHandle::sync_now`], and when
    /// the earliest backoff ends (whichever comes first).
    pub fn spawn<T: Transport, A: TokenProvider>(
        engine: SyncEngine<T, A>,
        period: Duration,
    ) -> Self {
        let outbox = engine.outbox.clone();
        let clock = engine.clock.clone();
        let trigger = Arc::new(Notify::new());
        let stop = Arc::new(AtomicBool::new(false));
        let stop_notify = Arc::new(Notify::new());
        let task = {
            let trigger = trigger.clone();
            let stop = stop.clone();
            let stop_notify = stop_notify.clone();
            tokio::spawn(async move {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let wait = match engine.drain(&stop).await {
                        Ok(report) => match report.outcome {
                            DrainOutcome::WaitingUntil(t) => (t - engine.clock.now())
                                .to_std()
                                .unwrap_or(Duration::ZERO)
                                .min(period),
                            DrainOutcome::Offline(_) => match engine.outbox.next_due_at() {
                                Ok(Some(t)) => (t - engine.clock.now())
                                    .to_std()
                                    .unwrap_or(Duration::ZERO)
                                    .min(period),
                                _ => period,
                            },
                            DrainOutcome::Stopped => break,
                            DrainOutcome::Empty | DrainOutcome::AuthRequired => period,
                        },
                        Err(e) => {
                            tracing::error!(error = %e, "sync pass failed");
                            engine.listener.on_state(&SyncState::Offline {
                                reason: e.to_string(),
                            });
                            period
                        }
                    };
                    tokio::select! {
                        _ = trigger.notified() => {}
                        _ = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
                        _ = stop_notify.notified() => {}
                    }
                }
                engine.listener.on_state(&SyncState::Stopped);
            })
        };
        Self {
            outbox,
            clock,
            trigger,
            stop,
            stop_notify,
            task,
        }
    }

    /// Run a pass as soon as possible (coalesced with one already asked for).
    pub fn sync_now(&self) {
        self.trigger.notify_one();
    }

    /// The device is online again (Android `ConnectivityManager`, iOS `NWPathMonitor`): what
    /// waited because the server could not be reached is due now, and a pass runs at once,
    /// instead of sitting out a backoff of up to [`crate::outbox::BACKOFF_MAX`].
    pub fn network_available(&self) {
        if let Err(e) = self.outbox.retry_unreachable_now(self.clock.now()) {
            tracing::warn!(error = %e, "could not bring unreachable retries forward");
        }
        self.trigger.notify_one();
    }

    /// Ask the task to stop and wait for it. A request in flight is finished first.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stop_notify.notify_one();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "sync task ended abnormally");
        }
    }
}

/// The real transport: posts entries to their endpoints with `Authorization`,
/// `Idempotency-Key` and the stored body, and learns server time from every answer.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    http: reqwest::Client,
    base: String,
    clock: Arc<ServerClock>,
}

impl HttpTransport {
    pub fn new(http: reqwest::Client, base: &str, clock: Arc<ServerClock>) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            clock,
        }
    }

    /// Shares the session's HTTP client, server and clock.
    pub fn for_session(session: &Session) -> Self {
        Self::new(
            session.http_client().clone(),
            session.server(),
            session.server_clock().clone(),
        )
    }

    fn multipart(
        entry: &ClaimedEntry,
        json_part: Option<&str>,
    ) -> Result<reqwest::multipart::Form, SendError> {
        use reqwest::multipart::{Form, Part};
        let mut form = Form::new();
        if let Some(name) = json_part {
            let part = Part::text(entry.payload.clone())
                .mime_str("application/json")
                .map_err(|e| SendError::Build(e.to_string()))?;
            form = form.part(name.to_owned(), part);
        }
        for (i, b) in entry.blobs.iter().enumerate() {
            let ext = if b.content_type == "image/png" {
                "png"
            } else {
                "jpg"
            };
            let part = Part::bytes(b.data.clone())
                .file_name(format!("{}-{i}.{ext}", b.name))
                .mime_str(&b.content_type)
                .map_err(|e| SendError::Build(e.to_string()))?;
            form = form.part(b.name.clone(), part);
        }
        Ok(form)
    }
}

impl Transport for HttpTransport {
    async fn send(
        &self,
        entry: &ClaimedEntry,
        access_token: &str,
    ) -> Result<HttpAnswer, SendError> {
        let url = format!("{}{}", self.base, endpoint(entry.kind));
        let req = self
            .http
            .post(url)
            .bearer_auth(access_token)
            .header(IDEMPOTENCY_KEY_HEADER, entry.idempotency_key.to_string());
        let req = match entry.kind {
            EntryKind::Consent | EntryKind::LocationBatch => req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(entry.payload.clone()),
            EntryKind::Punch => req.multipart(Self::multipart(entry, Some(EVIDENCE_PART))?),
            EntryKind::Enrolment => req.multipart(Self::multipart(entry, None)?),
        };
        let to_err = |e: reqwest::Error| {
            if e.is_timeout() {
                SendError::Timeout
            } else {
                SendError::Network(e.to_string())
            }
        };
        let resp = req.send().await.map_err(to_err)?;
        let answer = read_answer(resp).await.map_err(to_err)?;
        if let Some(d) = answer.date {
            self.clock.observe(d);
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests;
