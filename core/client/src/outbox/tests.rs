use super::*;
use chrono::TimeZone;
use faceid_protocol::location::LocationBatch;
use std::collections::HashSet;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn open(dir: &Path, owner: Uuid) -> Outbox {
    Outbox::open_in(dir, owner).expect("open outbox")
}

fn entry(kind: EntryKind, body: &str) -> NewEntry {
    NewEntry {
        idempotency_key: Uuid::now_v7(),
        kind,
        payload: body.to_owned(),
        blobs: Vec::new(),
    }
}

fn point(i: i64) -> LocationPoint {
    LocationPoint {
        recorded_at: t0() + secs(i),
        lat: 55.0 + i as f64 * 1e-6,
        lon: 37.0,
        accuracy: 5.0,
        speed: None,
        bearing: None,
        altitude: None,
        mock: false,
        jump: false,
        battery: None,
    }
}

#[test]
fn enqueue_claim_complete_round_trip_with_blobs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let ob = open(dir.path(), owner);
    let mut e = entry(EntryKind::Punch, r#"{"kind":"in"}"#);
    e.blobs = vec![
        Blob {
            name: "best_frame".into(),
            content_type: "image/jpeg".into(),
            data: vec![0xff, 0xd8, 1, 2, 3],
        },
        Blob {
            name: "challenge_frame".into(),
            content_type: "image/jpeg".into(),
            data: vec![0xff, 0xd8, 4],
        },
    ];
    assert_eq!(ob.enqueue(&e, t0()).expect("enqueue"), Enqueued::Stored);
    assert_eq!(
        ob.enqueue(&e, t0()).expect("again"),
        Enqueued::AlreadyQueued
    );
    let c = ob
        .claim_next(t0(), DEFAULT_LEASE)
        .expect("claim")
        .expect("an entry");
    assert_eq!(c.idempotency_key, e.idempotency_key);
    assert_eq!(c.owner, owner);
    assert_eq!(c.payload, e.payload);
    assert_eq!(c.blobs, e.blobs);
    assert_eq!(c.attempts, 0);
    // Claimed: nobody else gets it.
    assert!(ob.claim_next(t0(), DEFAULT_LEASE).expect("claim").is_none());
    assert!(ob.complete(c.idempotency_key).expect("complete"));
    assert_eq!(ob.stats().expect("stats"), OutboxStats::default());
    // Blobs went with it.
    let n: i64 = ob
        .conn()
        .expect("conn")
        .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 0);
}

#[test]
fn non_v7_keys_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ob = open(dir.path(), Uuid::new_v4());
    let mut e = entry(EntryKind::Consent, "{}");
    e.idempotency_key = Uuid::new_v4();
    assert!(matches!(ob.enqueue(&e, t0()), Err(OutboxError::Invalid(_))));
}

#[test]
fn punches_go_before_location_batches_and_consent_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ob = open(dir.path(), Uuid::new_v4());
    let loc = entry(EntryKind::LocationBatch, "{}");
    let p1 = entry(EntryKind::Punch, "1");
    let enr = entry(EntryKind::Enrolment, "{}");
    let p2 = entry(EntryKind::Punch, "2");
    let consent = entry(EntryKind::Consent, "{}");
    for e in [&loc, &p1, &enr, &p2, &consent] {
        ob.enqueue(e, t0()).expect("enqueue");
    }
    let mut order = Vec::new();
    while let Some(c) = ob.claim_next(t0(), DEFAULT_LEASE).expect("claim") {
        order.push(c.idempotency_key);
        ob.complete(c.idempotency_key).expect("complete");
    }
    let want: Vec<Uuid> = [&consent, &enr, &p1, &p2, &loc]
        .iter()
        .map(|e| e.idempotency_key)
        .collect();
    assert_eq!(order, want);
}

#[test]
fn rescheduled_entry_waits_and_others_go_ahead() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ob = open(dir.path(), Uuid::new_v4());
    let p = entry(EntryKind::Punch, "p");
    let l = entry(EntryKind::LocationBatch, "l");
    ob.enqueue(&p, t0()).expect("enqueue");
    ob.enqueue(&l, t0()).expect("enqueue");
    let c = ob
        .claim_next(t0(), DEFAULT_LEASE)
        .expect("claim")
        .expect("p");
    assert_eq!(c.idempotency_key, p.idempotency_key);
    assert!(
        ob.reschedule(
            &c,
            "503",
            RetryCause::Server,
            Duration::from_secs(120),
            t0()
        )
        .expect("reschedule")
    );
    // A stale token can no longer touch it.
    assert!(
        !ob.reschedule(&c, "x", RetryCause::Server, Duration::ZERO, t0())
            .expect("stale")
    );
    assert_eq!(
        ob.next_due_at().expect("due"),
        Some(t0()),
        "the location batch is due now"
    );
    let c2 = ob
        .claim_next(t0(), DEFAULT_LEASE)
        .expect("claim")
        .expect("l");
    assert_eq!(c2.idempotency_key, l.idempotency_key);
    ob.complete(c2.idempotency_key).expect("complete");
    assert_eq!(ob.next_due_at().expect("due"), Some(t0() + secs(120)));
    assert!(
        ob.claim_next(t0() + secs(119), DEFAULT_LEASE)
            .expect("claim")
            .is_none()
    );
    let again = ob
        .claim_next(t0() + secs(120), DEFAULT_LEASE)
        .expect("claim")
        .expect("p again");
    assert_eq!(again.attempts, 1);
    let last_error: Option<String> = ob
        .conn()
        .expect("conn")
        .query_row("SELECT last_error FROM entries", [], |r| r.get(0))
        .expect("row");
    assert_eq!(last_error.as_deref(), Some("503"));
}

#[test]
fn dead_letter_keeps_reason_and_does_not_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ob = open(dir.path(), Uuid::new_v4());
    let bad = entry(EntryKind::Punch, "bad");
    let good = entry(EntryKind::Punch, "good");
    ob.enqueue(&bad, t0()).expect("enqueue");
    ob.enqueue(&good, t0()).expect("enqueue");
    let c = ob
        .claim_next(t0(), DEFAULT_LEASE)
        .expect("claim")
        .expect("bad");
    assert!(
        ob.dead_letter(&c, 422, Some("validation"), "lat out of range", t0())
            .expect("dead letter")
    );
    let next = ob
        .claim_next(t0(), DEFAULT_LEASE)
        .expect("claim")
        .expect("good");
    assert_eq!(next.idempotency_key, good.idempotency_key);
    let dl = ob.dead_letters().expect("list");
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0].idempotency_key, bad.idempotency_key);
    assert_eq!(dl[0].status, 422);
    assert_eq!(dl[0].code.as_deref(), Some("validation"));
    assert_eq!(dl[0].reason, "lat out of range");
    assert_eq!(dl[0].attempts, 1);
    // A dead-lettered key is not queued again.
    assert_eq!(
        ob.enqueue(&bad, t0()).expect("enqueue"),
        Enqueued::AlreadyQueued
    );
    assert!(
        ob.discard_dead_letter(bad.idempotency_key)
            .expect("discard")
    );
    assert!(ob.dead_letters().expect("list").is_empty());
}

#[test]
fn expired_claims_are_reclaimed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let a = open(dir.path(), owner);
    let e = entry(EntryKind::Punch, "p");
    a.enqueue(&e, t0()).expect("enqueue");
    let first = a
        .claim_next(t0(), Duration::from_secs(60))
        .expect("claim")
        .expect("entry");
    // The holder lives but never finishes (a hung request): another process waits out the
    // lease. (A holder that is gone is taken over at once: see
    // `a_dead_claimers_claims_are_taken_over_at_once`.)
    let b = open(dir.path(), owner);
    assert!(
        b.claim_next(t0() + secs(59), DEFAULT_LEASE)
            .expect("claim")
            .is_none()
    );
    let second = b
        .claim_next(t0() + secs(60), DEFAULT_LEASE)
        .expect("claim")
        .expect("reclaimed");
    assert_eq!(second.idempotency_key, first.idempotency_key);
    assert_ne!(second.claim_token, first.claim_token);
    // The first holder's late answer cannot reschedule what it no longer holds.
    assert!(
        !b.reschedule(
            &first,
            "late",
            RetryCause::Unreachable,
            Duration::ZERO,
            t0()
        )
        .expect("stale")
    );
    assert!(
        !b.dead_letter(&first, 422, None, "late", t0())
            .expect("stale")
    );
    assert!(b.complete(second.idempotency_key).expect("complete"));
}

#[test]
fn two_connections_never_claim_the_same_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let setup = open(dir.path(), owner);
    let mut keys = HashSet::new();
    for i in 0..200 {
        let kind = if i % 3 == 0 {
            EntryKind::Punch
        } else {
            EntryKind::LocationBatch
        };
        let e = entry(kind, "x");
        keys.insert(e.idempotency_key);
        setup.enqueue(&e, t0()).expect("enqueue");
    }
    let path = setup.path().to_owned();
    drop(setup);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let ob = Outbox::open(&path, owner).expect("open");
                let mut got = Vec::new();
                while let Some(c) = ob.claim_next(t0(), DEFAULT_LEASE).expect("claim") {
                    got.push(c.idempotency_key);
                    std::thread::yield_now();
                    ob.complete(c.idempotency_key).expect("complete");
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.join().expect("worker"));
    }
    let unique: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "an entry was claimed twice");
    assert_eq!(unique, keys);
}

#[test]
fn backoff_grows_with_jitter_and_honours_retry_after() {
    let mut rng = rand::rng();
    for attempts in 1..=12u32 {
        let full = BACKOFF_BASE
            .saturating_mul(1u32 << (attempts - 1))
            .min(BACKOFF_MAX);
        for _ in 0..50 {
            let d = backoff_delay(attempts, &mut rng);
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempts}: {d:?} vs {full:?}"
            );
        }
    }
    // Retry-After wins when longer than the backoff, and is clamped.
    let d = next_delay(1, Some(Duration::from_secs(120)), &mut rng);
    assert_eq!(d, Duration::from_secs(120));
    let d = next_delay(1, Some(Duration::from_secs(10 * 24 * 3600)), &mut rng);
    assert_eq!(d, RETRY_AFTER_MAX);
    let d = next_delay(30, Some(Duration::from_secs(1)), &mut rng);
    assert!(d >= BACKOFF_MAX / 2);
    // Never overflows on absurd attempt counts.
    assert!(backoff_delay(u32::MAX, &mut rng) <= BACKOFF_MAX);
}

#[test]
fn points_become_batches_of_500_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ob = open(dir.path(), Uuid::new_v4());
    let pts: Vec<LocationPoint> = (0..1234).map(point).collect();
    let mut batches = 0;
    for chunk in pts.chunks(97) {
        batches += ob.record_points(chunk, None, t0()).expect("record");
    }
    assert_eq!(batches, 2);
    let s = ob.stats().expect("stats");
    assert_eq!(s.location_batch, 2);
    assert_eq!(s.staged_points, 234);
    assert_eq!(ob.seal_points(t0()).expect("seal"), 1);
    assert_eq!(ob.seal_points(t0()).expect("seal again"), 0);
    let mut seen = Vec::new();
    while let Some(c) = ob.claim_next(t0(), DEFAULT_LEASE).expect("claim") {
        let b: LocationBatch = serde_json::from_str(&c.payload).expect("batch json");
        assert!(b.points.len() <= CLIENT_BATCH_POINTS);
        assert!(b.validate_size().is_ok());
        seen.extend(b.points);
        ob.complete(c.idempotency_key).expect("complete");
    }
    assert_eq!(seen, pts, "every point exactly once, in order");
}

#[test]
fn record_points_writes_state_in_the_same_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ob = open(dir.path(), Uuid::new_v4());
    ob.record_points(&[point(1)], Some(("k", "v1")), t0())
        .expect("record");
    assert_eq!(ob.meta_get("k").expect("meta").as_deref(), Some("v1"));
}

#[test]
fn uncommitted_transaction_is_lost_whole_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let ob = open(dir.path(), owner);
    let kept = entry(EntryKind::Punch, "kept");
    ob.enqueue(&kept, t0()).expect("enqueue");
    let path = ob.path().to_owned();
    drop(ob);
    {
        // A writer that dies mid-transaction: entry row written, blob row written, no commit.
        let raw = Connection::open(&path).expect("raw open");
        raw.execute_batch("BEGIN IMMEDIATE").expect("begin");
        raw.execute(
            "INSERT INTO entries (idempotency_key, kind, priority, owner, payload, created_at,
                                  next_attempt_at)
             VALUES ('half', 'punch', 2, ?1, 'x', 0, 0)",
            params![owner.to_string()],
        )
        .expect("insert");
        raw.execute(
            "INSERT INTO blobs VALUES ('half', 0, 'best_frame', 'image/jpeg', x'ffd8')",
            [],
        )
        .expect("blob");
        // Dropped without COMMIT: as when the process is killed.
    }
    let ob = open(dir.path(), owner);
    let s = ob.stats().expect("stats");
    assert_eq!(s.punch, 1);
    let c = ob
        .claim_next(t0(), DEFAULT_LEASE)
        .expect("claim")
        .expect("kept");
    assert_eq!(c.idempotency_key, kept.idempotency_key);
    let blobs: i64 = ob
        .conn()
        .expect("conn")
        .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
        .expect("count");
    assert_eq!(blobs, 0);
}

/// Child half of `killed_writer_loses_nothing`: enqueue forever, logging each key after its
/// commit, until killed.
#[test]
#[ignore = "run by killed_writer_loses_nothing as a child process"]
fn crash_child_writer() {
    let (Ok(dir), Ok(owner), Ok(log)) = (
        std::env::var("FACEID_CRASH_DIR"),
        std::env::var("FACEID_CRASH_OWNER"),
        std::env::var("FACEID_CRASH_LOG"),
    ) else {
        return;
    };
    use std::io::Write;
    let owner = Uuid::parse_str(&owner).expect("owner");
    let ob = open(Path::new(&dir), owner);
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .expect("log");
    for i in 0u64.. {
        let mut e = entry(EntryKind::Punch, &format!("{{\"n\":{i}}}"));
        e.blobs.push(Blob {
            name: "best_frame".into(),
            content_type: "image/jpeg".into(),
            data: vec![7; 4096],
        });
        ob.enqueue(&e, t0()).expect("enqueue");
        writeln!(log, "{}", e.idempotency_key).expect("log");
        if i % 7 == 0 {
            ob.record_points(&[point(i as i64)], None, t0())
                .expect("points");
        }
    }
}

#[test]
fn killed_writer_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let log = dir.path().join("committed.log");
    let exe = std::env::current_exe().expect("test binary");
    for round in 0..5u64 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "outbox::tests::crash_child_writer",
                "--ignored",
                "--nocapture",
            ])
            .env("FACEID_CRASH_DIR", dir.path())
            .env("FACEID_CRASH_OWNER", owner.to_string())
            .env("FACEID_CRASH_LOG", &log)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child");
        std::thread::sleep(Duration::from_millis(300 + 97 * round));
        child.kill().expect("SIGKILL"); // SIGKILL on Unix: no destructors, no flush.
        child.wait().expect("reap");
    }
    let logged: Vec<Uuid> = std::fs::read_to_string(&log)
        .expect("log")
        .lines()
        .filter_map(|l| Uuid::parse_str(l.trim()).ok())
        .collect();
    assert!(logged.len() > 5, "child wrote too little: {}", logged.len());
    let ob = open(dir.path(), owner);
    let mut stored = HashSet::new();
    while let Some(c) = ob.claim_next(t0(), DEFAULT_LEASE).expect("claim") {
        // Every 7th punch also staged a point; a fast child fills a 500-point batch, which is
        // an entry without blobs.
        if c.kind == EntryKind::LocationBatch {
            ob.complete(c.idempotency_key).expect("complete");
            continue;
        }
        assert_eq!(c.blobs.len(), 1, "entry without its blob");
        assert_eq!(c.blobs[0].data.len(), 4096);
        assert!(stored.insert(c.idempotency_key), "duplicate entry");
        ob.complete(c.idempotency_key).expect("complete");
    }
    for k in &logged {
        assert!(stored.contains(k), "committed entry {k} lost");
    }
    // At most one commit per killed round can have landed after its log line was cut.
    assert!(stored.len() <= logged.len() + 5);
}

#[test]
fn corrupt_file_is_a_typed_error_and_left_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let path = outbox_path(dir.path(), owner);
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&path, &garbage).expect("write");
    let err = Outbox::open(&path, owner).expect_err("must fail");
    assert!(matches!(err, OutboxError::Corrupt { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).expect("read"), garbage, "file changed");
    // Moving it aside keeps the bytes and frees the name for a fresh outbox.
    let aside = move_aside(&path, t0()).expect("move aside");
    assert_eq!(std::fs::read(&aside).expect("read"), garbage);
    let fresh = Outbox::open(&path, owner).expect("fresh outbox");
    assert_eq!(fresh.stats().expect("stats"), OutboxStats::default());
}

#[test]
fn damaged_outbox_page_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let ob = open(dir.path(), owner);
    for _ in 0..50 {
        let mut e = entry(EntryKind::Punch, "p");
        e.blobs.push(Blob {
            name: "best_frame".into(),
            content_type: "image/jpeg".into(),
            data: vec![1; 3000],
        });
        ob.enqueue(&e, t0()).expect("enqueue");
    }
    ob.conn()
        .expect("conn")
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("checkpoint");
    let path = ob.path().to_owned();
    drop(ob);
    let mut bytes = std::fs::read(&path).expect("read");
    // Overwrite pages 2.. (schema and data b-trees) but keep the header.
    for b in bytes.iter_mut().skip(4096).take(16384) {
        *b = 0x5a;
    }
    std::fs::write(&path, &bytes).expect("write");
    let err = Outbox::open(&path, owner).expect_err("must fail");
    assert!(matches!(err, OutboxError::Corrupt { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).expect("read"), bytes, "file changed");
}

#[test]
fn foreign_database_is_refused_and_left_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let path = outbox_path(dir.path(), owner);
    {
        let c = Connection::open(&path).expect("open");
        c.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');")
            .expect("create");
    }
    let before = std::fs::read(&path).expect("read");
    let err = Outbox::open(&path, owner).expect_err("must fail");
    assert!(matches!(err, OutboxError::Foreign { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[test]
fn other_employee_and_newer_schema_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alice = Uuid::new_v4();
    let ob = open(dir.path(), alice);
    let path = ob.path().to_owned();
    drop(ob);
    let err = Outbox::open(&path, Uuid::new_v4()).expect_err("wrong owner");
    assert!(matches!(err, OutboxError::WrongOwner { .. }), "{err:?}");
    {
        let c = Connection::open(&path).expect("open");
        c.pragma_update(None, "user_version", 99).expect("bump");
    }
    let err = Outbox::open(&path, alice).expect_err("too new");
    assert!(
        matches!(err, OutboxError::TooNew { found: 99, .. }),
        "{err:?}"
    );
}

#[test]
fn reopening_keeps_everything_and_uses_wal_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let ob = open(dir.path(), owner);
    let e = entry(EntryKind::Consent, "{}");
    ob.enqueue(&e, t0()).expect("enqueue");
    let (mode, sync, version): (String, i64, i32) = {
        let c = ob.conn().expect("conn");
        (
            c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .expect("mode"),
            c.query_row("PRAGMA synchronous", [], |r| r.get(0))
                .expect("sync"),
            c.query_row("PRAGMA user_version", [], |r| r.get(0))
                .expect("version"),
        )
    };
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "synchronous=FULL");
    assert_eq!(version, SCHEMA_VERSION);
    drop(ob);
    let ob = open(dir.path(), owner);
    assert_eq!(ob.stats().expect("stats").consent, 1);
}

#[test]
fn full_disk_is_a_typed_error_and_keeps_earlier_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ob = open(dir.path(), Uuid::new_v4());
    let first = entry(EntryKind::Punch, "first");
    ob.enqueue(&first, t0()).expect("enqueue");
    {
        let c = ob.conn().expect("conn");
        let pages: i64 = c
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .expect("pages");
        // Emulate a full disk: the file may not grow any more.
        let _: i64 = c
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                r.get(0)
            })
            .expect("cap");
    }
    let mut big = entry(EntryKind::Punch, "big");
    big.blobs.push(Blob {
        name: "best_frame".into(),
        content_type: "image/jpeg".into(),
        data: vec![9; 1 << 20],
    });
    let err = ob.enqueue(&big, t0()).expect_err("disk full");
    assert!(matches!(err, OutboxError::DiskFull), "{err:?}");
    let s = ob.stats().expect("stats");
    assert_eq!(s.punch, 1);
    let c = ob
        .claim_next(t0(), DEFAULT_LEASE)
        .expect("claim")
        .expect("first");
    assert_eq!(c.idempotency_key, first.idempotency_key);
}

#[test]
fn network_back_brings_unreachable_retries_forward_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ob = open(dir.path(), Uuid::new_v4());
    let offline = entry(EntryKind::Punch, "offline");
    let deferred = entry(EntryKind::Punch, "deferred");
    let held = entry(EntryKind::LocationBatch, "held");
    for e in [&offline, &deferred, &held] {
        ob.enqueue(e, t0()).expect("enqueue");
    }
    let claim = |want: &NewEntry| {
        let c = ob
            .claim_next(t0(), DEFAULT_LEASE)
            .expect("claim")
            .expect("due");
        assert_eq!(c.idempotency_key, want.idempotency_key);
        c
    };
    // No answer from the server: a 15-minute backoff. The server said 503: 10 minutes.
    let c = claim(&offline);
    ob.reschedule(
        &c,
        "connect refused",
        RetryCause::Unreachable,
        Duration::from_secs(900),
        t0(),
    )
    .expect("reschedule");
    let c = claim(&deferred);
    ob.reschedule(
        &c,
        "503",
        RetryCause::Server,
        Duration::from_secs(600),
        t0(),
    )
    .expect("reschedule");
    // Another pass holds the third one.
    let h = claim(&held);
    ob.reschedule(&h, "timeout", RetryCause::Unreachable, Duration::ZERO, t0())
        .expect("reschedule");
    let h = claim(&held);

    let back = t0() + secs(30);
    assert_eq!(ob.claim_next(back, DEFAULT_LEASE).expect("claim"), None);
    assert_eq!(ob.retry_unreachable_now(back).expect("network back"), 1);
    let c = ob
        .claim_next(back, DEFAULT_LEASE)
        .expect("claim")
        .expect("the offline punch is due at once");
    assert_eq!(c.idempotency_key, offline.idempotency_key);
    assert_eq!(
        c.attempts, 1,
        "the attempt still counts for the next backoff"
    );
    assert_eq!(
        ob.claim_next(back, DEFAULT_LEASE).expect("claim"),
        None,
        "the server's 10 minutes stand; the held entry stays held"
    );
    // Answered by the server next time: no longer brought forward.
    ob.reschedule(
        &c,
        "503",
        RetryCause::Server,
        Duration::from_secs(600),
        back,
    )
    .expect("reschedule");
    assert_eq!(ob.retry_unreachable_now(back).expect("again"), 0);
    assert!(ob.complete(h.idempotency_key).expect("complete"));
}

#[test]
fn version_1_outbox_is_migrated_with_its_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let e = entry(EntryKind::Punch, "from version 1");
    {
        let ob = open(dir.path(), owner);
        ob.enqueue(&e, t0()).expect("enqueue");
        let c = ob.conn().expect("conn");
        // Back to the version-1 table, as an app update finds it.
        c.execute_batch(
            "ALTER TABLE entries DROP COLUMN claimer;
             ALTER TABLE entries DROP COLUMN unreachable; PRAGMA user_version = 1;",
        )
        .expect("downgrade");
    }
    let ob = open(dir.path(), owner);
    let version: i32 = ob
        .conn()
        .expect("conn")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
    let c = ob
        .claim_next(t0(), DEFAULT_LEASE)
        .expect("claim")
        .expect("the entry survived");
    assert_eq!(c.idempotency_key, e.idempotency_key);
    ob.reschedule(
        &c,
        "offline",
        RetryCause::Unreachable,
        Duration::from_secs(60),
        t0(),
    )
    .expect("reschedule");
    assert_eq!(ob.retry_unreachable_now(t0() + secs(1)).expect("back"), 1);
}

/// Issue 17 case 10: a claim whose holder is gone (a killed `sync`) is taken over at once; a
/// live holder's claim is respected until its lease ends.
#[test]
fn a_dead_claimers_claims_are_taken_over_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = Uuid::new_v4();
    let a = open(dir.path(), owner);
    let b = open(dir.path(), owner);
    let e = entry(EntryKind::Punch, r#"{"kind":"in"}"#);
    a.enqueue(&e, t0()).expect("enqueue");
    let held = a
        .claim_next(t0(), DEFAULT_LEASE)
        .expect("claim")
        .expect("an entry");
    // A lives: B waits for it (a minute later, well inside the lease).
    assert!(
        b.claim_next(t0() + secs(60), DEFAULT_LEASE)
            .expect("claim")
            .is_none()
    );
    assert_eq!(
        b.next_due_at().expect("due"),
        Some(t0() + chrono::Duration::from_std(DEFAULT_LEASE).expect("lease"))
    );
    // A goes away without releasing (as a killed process does): B takes the entry over now.
    drop(a);
    let taken = b
        .claim_next(t0() + secs(61), DEFAULT_LEASE)
        .expect("claim")
        .expect("the dead claim is free");
    assert_eq!(taken.idempotency_key, held.idempotency_key);
    assert_ne!(taken.claim_token, held.claim_token);
    // And a third handle now respects B's live claim.
    let c = open(dir.path(), owner);
    assert!(
        c.claim_next(t0() + secs(62), DEFAULT_LEASE)
            .expect("claim")
            .is_none()
    );
}
