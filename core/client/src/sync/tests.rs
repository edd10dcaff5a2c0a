use super::*;
use crate::clock::ManualClock;
use crate::outbox::{Blob, NewEntry};
use chrono::TimeZone;
use faceid_protocol::location::{LocationBatch, LocationPoint};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn answer(status: u16, body: &str) -> HttpAnswer {
    HttpAnswer {
        status,
        retry_after: None,
        date: None,
        body: body.to_owned(),
    }
}

type Behaviour = Box<dyn Fn(&ClaimedEntry, u32) -> Result<HttpAnswer, SendError> + Send + Sync>;

/// A scripted server: answers per entry through `behaviour(entry, nth attempt of that key)`,
/// records every send, and detects the same key being in flight twice.
struct FakeServer {
    behaviour: Behaviour,
    delay: Duration,
    sent: Mutex<Vec<(Uuid, EntryKind, String)>>,
    attempts: Mutex<HashMap<Uuid, u32>>,
    in_flight: Mutex<HashSet<Uuid>>,
    overlap: AtomicBool,
    tokens: Mutex<Vec<String>>,
}

impl FakeServer {
    fn new(behaviour: Behaviour) -> Arc<Self> {
        Self::with_delay(behaviour, Duration::ZERO)
    }

    fn with_delay(behaviour: Behaviour, delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            behaviour,
            delay,
            sent: Mutex::new(Vec::new()),
            attempts: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            overlap: AtomicBool::new(false),
            tokens: Mutex::new(Vec::new()),
        })
    }

    fn ok() -> Arc<Self> {
        Self::new(Box::new(|_, _| Ok(answer(200, "{}"))))
    }

    fn sent_keys(&self) -> Vec<Uuid> {
        self.sent
            .lock()
            .map(|s| s.iter().map(|(k, _, _)| *k).collect())
            .unwrap_or_default()
    }
}

impl Transport for FakeServer {
    async fn send(&self, entry: &ClaimedEntry, token: &str) -> Result<HttpAnswer, SendError> {
        let key = entry.idempotency_key;
        if let Ok(mut f) = self.in_flight.lock()
            && !f.insert(key)
        {
            self.overlap.store(true, Ordering::SeqCst);
        }
        if let Ok(mut t) = self.tokens.lock() {
            t.push(token.to_owned());
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let nth = {
            let mut a = self.attempts.lock().expect("attempts");
            let n = a.entry(key).or_insert(0);
            *n += 1;
            *n
        };
        let result = (self.behaviour)(entry, nth);
        if let Ok(mut f) = self.in_flight.lock() {
            f.remove(&key);
        }
        if result.as_ref().is_ok_and(|a| a.is_success())
            && let Ok(mut s) = self.sent.lock()
        {
            s.push((key, entry.kind, entry.payload.clone()));
        }
        result
    }
}

/// Tokens: "t1" until refreshed, then "t2", …; `dead` makes every call AuthRequired.
#[derive(Default)]
struct FakeAuth {
    generation: AtomicU64,
    refreshes: AtomicU64,
    dead: AtomicBool,
    refuse_refresh: AtomicBool,
}

impl TokenProvider for FakeAuth {
    async fn access_token(&self) -> Result<String, SessionError> {
        if self.dead.load(Ordering::SeqCst) {
            return Err(SessionError::AuthRequired);
        }
        Ok(format!("t{}", self.generation.load(Ordering::SeqCst) + 1))
    }

    async fn refresh_after_unauthorized(&self, stale: &str) -> Result<String, SessionError> {
        if self.refuse_refresh.load(Ordering::SeqCst) {
            self.dead.store(true, Ordering::SeqCst);
            return Err(SessionError::AuthRequired);
        }
        let current = format!("t{}", self.generation.load(Ordering::SeqCst) + 1);
        if current == stale {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        Ok(format!("t{}", self.generation.load(Ordering::SeqCst) + 1))
    }
}

#[derive(Default)]
struct Recorder {
    states: Mutex<Vec<SyncState>>,
    delivered: Mutex<Vec<Delivered>>,
    last: Mutex<Option<SyncProgress>>,
}

impl SyncListener for Recorder {
    fn on_state(&self, state: &SyncState) {
        if let Ok(mut s) = self.states.lock() {
            s.push(state.clone());
        }
    }
    fn on_progress(&self, p: &SyncProgress) {
        if let Ok(mut l) = self.last.lock() {
            *l = Some(p.clone());
        }
    }
    fn on_delivered(&self, d: &Delivered) {
        if let Ok(mut v) = self.delivered.lock() {
            v.push(d.clone());
        }
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    outbox: Arc<Outbox>,
    clock: Arc<ManualClock>,
    listener: Arc<Recorder>,
    auth: Arc<FakeAuth>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Arc::new(Outbox::open_in(dir.path(), Uuid::new_v4()).expect("outbox"));
    Fixture {
        _dir: dir,
        outbox,
        clock: Arc::new(ManualClock::new(t0())),
        listener: Arc::new(Recorder::default()),
        auth: Arc::new(FakeAuth::default()),
    }
}

impl Fixture {
    fn engine<T: Transport>(&self, t: Arc<T>) -> SyncEngine<T, FakeAuth> {
        SyncEngine::new(
            self.outbox.clone(),
            t,
            self.auth.clone(),
            self.listener.clone(),
            self.clock.clone(),
        )
    }

    fn enqueue(&self, kind: EntryKind, body: &str) -> Uuid {
        let e = NewEntry {
            idempotency_key: Uuid::now_v7(),
            kind,
            payload: body.to_owned(),
            blobs: Vec::new(),
        };
        self.outbox.enqueue(&e, self.clock.now()).expect("enqueue");
        e.idempotency_key
    }
}

fn run() -> AtomicBool {
    AtomicBool::new(false)
}

#[tokio::test]
async fn drains_everything_punches_before_locations() {
    let f = fixture();
    let l1 = f.enqueue(EntryKind::LocationBatch, r#"{"points":[]}"#);
    let p1 = f.enqueue(EntryKind::Punch, "p1");
    let l2 = f.enqueue(EntryKind::LocationBatch, r#"{"points":[]}"#);
    let p2 = f.enqueue(EntryKind::Punch, "p2");
    let server = FakeServer::new(Box::new(|e, _| {
        Ok(match e.kind {
            EntryKind::LocationBatch => answer(
                200,
                r#"{"accepted":3,"duplicates":1,"rejected":[{"index":0,"reason":"lat:out_of_range"}]}"#,
            ),
            _ => answer(201, r#"{"verdict":"verified"}"#),
        })
    }));
    let report = f.engine(server.clone()).drain(&run()).await.expect("drain");
    assert_eq!(report.outcome, DrainOutcome::Empty);
    assert_eq!(server.sent_keys(), vec![p1, p2, l1, l2]);
    assert_eq!(report.progress.sent, 4);
    assert_eq!(report.progress.points_accepted, 6);
    assert_eq!(report.progress.points_duplicate, 2);
    assert_eq!(report.progress.points_rejected, 2);
    assert_eq!(report.progress.remaining, 0);
    assert_eq!(f.outbox.stats().expect("stats").pending_entries(), 0);
    let delivered = f.listener.delivered.lock().expect("lock").clone();
    assert_eq!(delivered[0].body, r#"{"verdict":"verified"}"#);
    assert_eq!(delivered[0].status, 201);
    let states = f.listener.states.lock().expect("lock").clone();
    assert_eq!(states, vec![SyncState::Syncing, SyncState::Idle]);
}

#[tokio::test]
async fn staged_points_are_sealed_and_sent() {
    let f = fixture();
    let pts: Vec<LocationPoint> = (0..3)
        .map(|i| LocationPoint {
            recorded_at: t0() + chrono::Duration::seconds(i),
            lat: 55.0,
            lon: 37.0,
            accuracy: 5.0,
            speed: None,
            bearing: None,
            altitude: None,
            mock: false,
            jump: false,
            battery: None,
        })
        .collect();
    f.outbox.record_points(&pts, None, t0()).expect("record");
    let server = FakeServer::ok();
    f.engine(server.clone()).drain(&run()).await.expect("drain");
    let sent = server.sent.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1);
    let batch: LocationBatch = serde_json::from_str(&sent[0].2).expect("batch");
    assert_eq!(batch.points, pts);
}

#[tokio::test]
async fn retry_after_is_honoured_then_delivered() {
    let f = fixture();
    let p = f.enqueue(EntryKind::Punch, "p");
    let server = FakeServer::new(Box::new(|_, nth| {
        Ok(if nth == 1 {
            HttpAnswer {
                retry_after: Some(Duration::from_secs(120)),
                ..answer(503, "")
            }
        } else {
            answer(200, "{}")
        })
    }));
    let engine = f.engine(server.clone());
    let r = engine.drain(&run()).await.expect("drain");
    let until = match r.outcome {
        DrainOutcome::WaitingUntil(t) => t,
        other => panic!("expected waiting, got {other:?}"),
    };
    assert!(until >= t0() + chrono::Duration::seconds(120), "{until}");
    assert!(until <= t0() + chrono::Duration::seconds(121));
    assert!(server.sent_keys().is_empty());
    // 60 s later: still waiting, nothing sent.
    f.clock.advance(Duration::from_secs(60));
    let r = engine.drain(&run()).await.expect("drain");
    assert!(matches!(r.outcome, DrainOutcome::WaitingUntil(_)));
    assert_eq!(server.attempts.lock().expect("lock").get(&p), Some(&1));
    // After Retry-After: delivered.
    f.clock.advance(Duration::from_secs(61));
    let r = engine.drain(&run()).await.expect("drain");
    assert_eq!(r.outcome, DrainOutcome::Empty);
    assert_eq!(server.sent_keys(), vec![p]);
}

#[tokio::test]
async fn transient_failures_back_off_and_retry_forever() {
    let f = fixture();
    let p = f.enqueue(EntryKind::Punch, "p");
    let behind = f.enqueue(EntryKind::LocationBatch, "{}");
    // 30 failures of every transient kind, then success.
    let server = FakeServer::new(Box::new(|e, nth| {
        if e.kind == EntryKind::Punch && nth <= 30 {
            return match nth % 4 {
                0 => Err(SendError::Timeout),
                1 => Err(SendError::Network("connection reset".into())),
                2 => Ok(answer(500, "boom")),
                _ => Ok(answer(429, "")),
            };
        }
        Ok(answer(200, "{}"))
    }));
    let engine = f.engine(server.clone());
    let mut passes = 0;
    loop {
        passes += 1;
        assert!(passes < 200, "never delivered");
        let r = engine.drain(&run()).await.expect("drain");
        match r.outcome {
            DrainOutcome::Empty => break,
            DrainOutcome::WaitingUntil(_) | DrainOutcome::Offline(_) => {
                // Jump to the next due time.
                let due = f.outbox.next_due_at().expect("due").expect("something due");
                let wait = (due - f.clock.now()).to_std().unwrap_or_default();
                assert!(wait <= crate::outbox::BACKOFF_MAX);
                f.clock.advance(wait);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let sent = server.sent_keys();
    assert_eq!(sent.len(), 2);
    assert!(sent.contains(&p) && sent.contains(&behind));
    assert_eq!(server.attempts.lock().expect("lock").get(&p), Some(&31));
}

#[tokio::test]
async fn a_blocked_device_keeps_its_entries_until_unblocked() {
    let f = fixture();
    let p = f.enqueue(EntryKind::Punch, "p");
    let server = FakeServer::new(Box::new(|_, nth| {
        Ok(if nth == 1 {
            answer(
                403,
                r#"{"type":"urn:faceid:problem:device_blocked","title":"this device is blocked","status":403,"code":"device_blocked"}"#,
            )
        } else {
            answer(200, "{}")
        })
    }));
    let engine = f.engine(server.clone());
    let r = engine.drain(&run()).await.expect("drain");
    assert!(matches!(r.outcome, DrainOutcome::WaitingUntil(_)), "{r:?}");
    assert_eq!(r.progress.dead_lettered, 0);
    assert!(f.outbox.dead_letters().expect("dead letters").is_empty());
    // Unblocked: the next due pass delivers it.
    let due = f.outbox.next_due_at().expect("due").expect("something due");
    f.clock
        .advance((due - f.clock.now()).to_std().unwrap_or_default());
    let r = engine.drain(&run()).await.expect("drain");
    assert_eq!(r.outcome, DrainOutcome::Empty);
    assert_eq!(server.sent_keys(), vec![p]);
}

#[tokio::test]
async fn network_failure_stops_the_pass_and_reports_offline() {
    let f = fixture();
    f.enqueue(EntryKind::Punch, "p");
    f.enqueue(EntryKind::Punch, "q");
    let server = FakeServer::new(Box::new(|_, _| Err(SendError::Network("refused".into()))));
    let r = f.engine(server.clone()).drain(&run()).await.expect("drain");
    assert!(matches!(r.outcome, DrainOutcome::Offline(_)));
    // Only the first was tried; the second was not hammered.
    assert_eq!(server.attempts.lock().expect("lock").len(), 1);
    assert_eq!(r.progress.remaining, 2);
    let states = f.listener.states.lock().expect("lock").clone();
    assert!(matches!(states.last(), Some(SyncState::Offline { .. })));
}

#[tokio::test]
async fn permanent_refusals_are_dead_lettered_without_blocking() {
    let f = fixture();
    let bad = f.enqueue(EntryKind::Punch, "bad");
    let conflict = f.enqueue(EntryKind::Punch, "conflict");
    let good = f.enqueue(EntryKind::Punch, "good");
    let server = FakeServer::new(Box::new(|e, _| {
        Ok(match e.payload.as_str() {
            "bad" => answer(
                422,
                r#"{"type":"urn:faceid:problem:validation","title":"Invalid body","status":422,"code":"validation","detail":"gps.lat out of range"}"#,
            ),
            "conflict" => answer(409, "different payload for this key"),
            _ => answer(200, "{}"),
        })
    }));
    let r = f.engine(server.clone()).drain(&run()).await.expect("drain");
    assert_eq!(r.outcome, DrainOutcome::Empty);
    assert_eq!(r.progress.dead_lettered, 2);
    assert_eq!(server.sent_keys(), vec![good]);
    let dl = f.outbox.dead_letters().expect("dead letters");
    assert_eq!(dl.len(), 2);
    assert_eq!(dl[0].idempotency_key, bad);
    assert_eq!(dl[0].status, 422);
    assert_eq!(dl[0].code.as_deref(), Some("validation"));
    assert_eq!(dl[0].reason, "Invalid body: gps.lat out of range");
    assert_eq!(dl[1].idempotency_key, conflict);
    assert_eq!(dl[1].status, 409);
    assert!(dl[1].reason.contains("different payload"));
}

#[tokio::test]
async fn unauthorized_refreshes_once_then_resends() {
    let f = fixture();
    let p = f.enqueue(EntryKind::Punch, "p");
    let server = FakeServer::new(Box::new(|_, nth| {
        Ok(if nth == 1 {
            answer(401, "")
        } else {
            answer(200, "{}")
        })
    }));
    let r = f.engine(server.clone()).drain(&run()).await.expect("drain");
    assert_eq!(r.outcome, DrainOutcome::Empty);
    assert_eq!(server.sent_keys(), vec![p]);
    assert_eq!(f.auth.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(
        server.tokens.lock().expect("lock").clone(),
        vec!["t1".to_owned(), "t2".to_owned()]
    );
}

#[tokio::test]
async fn ended_session_keeps_entries_for_the_next_login() {
    let f = fixture();
    f.enqueue(EntryKind::Punch, "p");
    f.enqueue(EntryKind::LocationBatch, "{}");
    f.auth.refuse_refresh.store(true, Ordering::SeqCst);
    let server = FakeServer::new(Box::new(|_, _| Ok(answer(401, ""))));
    let engine = f.engine(server.clone());
    let r = engine.drain(&run()).await.expect("drain");
    assert_eq!(r.outcome, DrainOutcome::AuthRequired);
    assert_eq!(r.progress.remaining, 2);
    // Released, not burnt: claimable at once, no attempt counted.
    let c = f
        .outbox
        .claim_next(f.clock.now(), DEFAULT_LEASE)
        .expect("claim")
        .expect("entry");
    assert_eq!(c.attempts, 0);
    f.outbox.release(&c).expect("release");
    // Still logged out: the next pass does not even try.
    let r = engine.drain(&run()).await.expect("drain");
    assert_eq!(r.outcome, DrainOutcome::AuthRequired);
    assert_eq!(server.attempts.lock().expect("lock").len(), 1);
    // Logged in again: everything goes.
    f.auth.dead.store(false, Ordering::SeqCst);
    f.auth.refuse_refresh.store(false, Ordering::SeqCst);
    let ok = FakeServer::ok();
    let r = f.engine(ok.clone()).drain(&run()).await.expect("drain");
    assert_eq!(r.outcome, DrainOutcome::Empty);
    assert_eq!(ok.sent_keys().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_drains_never_send_the_same_entry() {
    let f = fixture();
    let mut keys = HashSet::new();
    for i in 0..60 {
        let kind = if i % 4 == 0 {
            EntryKind::Punch
        } else {
            EntryKind::LocationBatch
        };
        keys.insert(f.enqueue(kind, "{}"));
    }
    let server = FakeServer::with_delay(
        Box::new(|_, _| Ok(answer(200, "{}"))),
        Duration::from_millis(3),
    );
    // Two engines over two connections to the same file, as two tasks or processes would.
    let second = Arc::new(Outbox::open(f.outbox.path(), f.outbox.owner()).expect("second"));
    let a = f.engine(server.clone());
    let b = SyncEngine::new(
        second,
        server.clone(),
        f.auth.clone(),
        Arc::new(NoopListener),
        f.clock.clone(),
    );
    let stop = Arc::new(run());
    let (ra, rb) = tokio::join!(
        {
            let stop = stop.clone();
            async move { a.drain(&stop).await }
        },
        {
            let stop = stop.clone();
            async move { b.drain(&stop).await }
        }
    );
    let (ra, rb) = (ra.expect("a"), rb.expect("b"));
    assert!(
        !server.overlap.load(Ordering::SeqCst),
        "same entry in flight twice"
    );
    let sent = server.sent_keys();
    let unique: HashSet<Uuid> = sent.iter().copied().collect();
    assert_eq!(sent.len(), unique.len(), "an entry was sent twice");
    assert_eq!(unique, keys);
    assert_eq!(ra.progress.sent + rb.progress.sent, 60);
    assert!(ra.progress.sent > 0 && rb.progress.sent > 0, "both worked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_written_during_sync_are_all_delivered_once() {
    let f = fixture();
    let server = FakeServer::with_delay(
        Box::new(|_, _| Ok(answer(200, "{}"))),
        Duration::from_millis(1),
    );
    let engine = f.engine(server.clone());
    let outbox = f.outbox.clone();
    let clock = f.clock.clone();
    let writer = tokio::task::spawn_blocking(move || {
        let mut keys = Vec::new();
        for i in 0..100 {
            let e = NewEntry {
                idempotency_key: Uuid::now_v7(),
                kind: if i % 2 == 0 {
                    EntryKind::Punch
                } else {
                    EntryKind::Consent
                },
                payload: format!("{i}"),
                blobs: vec![Blob {
                    name: "best_frame".into(),
                    content_type: "image/jpeg".into(),
                    data: vec![1; 100],
                }],
            };
            outbox.enqueue(&e, clock.now()).expect("enqueue");
            keys.push(e.idempotency_key);
            std::thread::sleep(Duration::from_micros(300));
        }
        keys
    });
    let stop = run();
    while !writer.is_finished() {
        engine.drain(&stop).await.expect("drain");
        tokio::task::yield_now().await;
    }
    let keys = writer.await.expect("writer");
    engine.drain(&stop).await.expect("final drain");
    let sent = server.sent_keys();
    let unique: HashSet<Uuid> = sent.iter().copied().collect();
    assert_eq!(sent.len(), 100);
    assert_eq!(unique, keys.into_iter().collect::<HashSet<_>>());
}

#[tokio::test]
async fn sync_task_runs_on_demand_and_stops_cleanly() {
    let f = fixture();
    let server = FakeServer::ok();
    let handle = SyncHandle::spawn(f.engine(server.clone()), Duration::from_secs(3600));
    let key = f.enqueue(EntryKind::Punch, "p");
    handle.sync_now();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.sent_keys().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered on demand"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.sent_keys(), vec![key]);
    tokio::time::timeout(Duration::from_secs(10), handle.stop())
        .await
        .expect("stops promptly");
    let states = f.listener.states.lock().expect("lock").clone();
    assert_eq!(states.last(), Some(&SyncState::Stopped));
    assert!(states.contains(&SyncState::Idle));
}

#[tokio::test]
async fn stop_flag_ends_a_pass_between_entries() {
    let f = fixture();
    for _ in 0..5 {
        f.enqueue(EntryKind::Punch, "p");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let server = FakeServer::new(Box::new(move |_, _| {
        s2.store(true, Ordering::SeqCst);
        Ok(answer(200, "{}"))
    }));
    let r = f.engine(server.clone()).drain(&stop).await.expect("drain");
    assert_eq!(r.outcome, DrainOutcome::Stopped);
    assert_eq!(server.sent_keys().len(), 1);
    assert_eq!(r.progress.remaining, 4);
}

#[test]
fn endpoints_are_the_agreed_paths() {
    assert_eq!(endpoint(EntryKind::Punch), "/api/v1/attendance/events");
    assert_eq!(
        endpoint(EntryKind::LocationBatch),
        "/api/v1/locations/batch"
    );
    assert_eq!(endpoint(EntryKind::Consent), "/api/v1/me/consents");
    assert_eq!(endpoint(EntryKind::Enrolment), "/api/v1/me/face-templates");
}

#[tokio::test]
async fn network_back_sends_at_once_instead_of_waiting_out_the_backoff() {
    let f = fixture();
    let online = Arc::new(AtomicBool::new(false));
    let o = online.clone();
    let server = FakeServer::new(Box::new(move |_, _| {
        if o.load(Ordering::SeqCst) {
            Ok(answer(201, r#"{"verdict":"verified"}"#))
        } else {
            Err(SendError::Network("no route to host".into()))
        }
    }));
    // A long timer period: only the network event can bring the punch in time.
    let handle = SyncHandle::spawn(f.engine(server.clone()), Duration::from_secs(3600));
    let key = f.enqueue(EntryKind::Punch, "p");
    handle.sync_now();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !f
        .listener
        .states
        .lock()
        .expect("lock")
        .iter()
        .any(|s| matches!(s, SyncState::Offline { .. }))
    {
        assert!(std::time::Instant::now() < deadline, "never went offline");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The attempt failed without an answer: the punch waits out a backoff (the manual clock
    // does not move, so it would wait forever).
    assert!(
        f.outbox.next_due_at().expect("due") > Some(f.clock.now()),
        "a backoff is scheduled"
    );
    online.store(true, Ordering::SeqCst);
    handle.network_available();
    while server.sent_keys().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "not sent when the network came back"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.sent_keys(), vec![key]);
    tokio::time::timeout(Duration::from_secs(10), handle.stop())
        .await
        .expect("stops promptly");
}
