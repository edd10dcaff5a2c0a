//! The durable outbox: every punch, location batch, enrolment and consent change is written
//! here in one transaction before anything is sent, and leaves only when the server answered
//! 2xx (deleted) or refused it permanently (moved to the dead-letter table with the reason).
//!
//! One SQLite file per employee (`outbox-<employee id>.sqlite3`), WAL mode.
//!
//! **Durability.** `synchronous = FULL`. In WAL mode `NORMAL` already survives a killed
//! process, but a power cut or OS crash can roll back the last commits; a punch the app has
//! shown as "saved" must survive that too. FULL costs one WAL fsync per commit, and commits
//! are grouped (one per punch, one per batch of location fixes), so the cost is small.
//!
//! **Claims.** A sender claims an entry (a random token plus a lease deadline) in an
//! `IMMEDIATE` transaction, so two sync tasks, even in two processes, never hold the same entry
//! at once. A claim expires after its lease, so a killed process's claims are picked up again;
//! sooner where the platform allows: every open outbox holds an exclusive lock on its own file
//! in `<outbox>.claimers/` while it lives, and records its id with each claim, so a claim whose
//! claimer's lock is free (its process died, even by SIGKILL) is taken over at once instead of
//! being waited out as if the server had deferred it.
//! Only the holder's token can reschedule an entry; a 2xx removes it whoever holds it (the
//! server has it, by idempotency key).
//!
//! **Bad files.** A corrupt file, a file that is not SQLite, another application's database or
//! a schema newer than this build is a typed [`OutboxError`] and the file is **left intact**:
//! nothing is rewritten or deleted. [`move_aside`] renames it (and its `-wal` / `-shm`) on the
//! app's explicit request, so a fresh outbox can be opened while the old file is kept for
//! support.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use faceid_protocol::location::{CLIENT_BATCH_POINTS, LocationPoint};
use faceid_protocol::sync::ValidationError;
use faceid_protocol::wire_text::WireText;
use rand::Rng;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `PRAGMA application_id` of an outbox file: "FCID".
pub const APPLICATION_ID: i32 = 0x4643_4944;
/// Current schema version (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i32 = 3;
/// Default claim lease: longer than any single request may take.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);
/// Backoff: first retry delay, and the ceiling.
pub const BACKOFF_BASE: Duration = Duration::from_secs(2);
pub const BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);
/// Longest `Retry-After` honoured; a larger one is clamped (a misconfigured proxy must not park
/// punches for days).
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(6 * 3600);
/// How long SQLite waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Migrations, in order; migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;
    CREATE TABLE entries (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key TEXT    NOT NULL UNIQUE,
        kind            TEXT    NOT NULL
            CHECK (kind IN ('consent', 'enrolment', 'punch', 'location_batch')),
        priority        INTEGER NOT NULL,
        owner           TEXT    NOT NULL,
        payload         TEXT    NOT NULL,
        created_at      INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        claim_token     TEXT,
        claim_until     INTEGER
    ) STRICT;
    CREATE INDEX entries_order ON entries (priority, seq);
    CREATE TABLE blobs (
        idempotency_key TEXT    NOT NULL,
        idx             INTEGER NOT NULL,
        name            TEXT    NOT NULL,
        content_type    TEXT    NOT NULL,
        data            BLOB    NOT NULL,
        PRIMARY KEY (idempotency_key, idx)
    ) STRICT;
    CREATE TABLE dead_letters (
        seq             INTEGER PRIMARY KEY,
        idempotency_key TEXT    NOT NULL UNIQUE,
        kind            TEXT    NOT NULL,
        owner           TEXT    NOT NULL,
        payload         TEXT    NOT NULL,
        created_at      INTEGER NOT NULL,
        attempts        INTEGER NOT NULL,
        failed_at       INTEGER NOT NULL,
        status          INTEGER NOT NULL,
        code            TEXT,
        reason          TEXT    NOT NULL
    ) STRICT;
    CREATE TABLE location_points (
        seq   INTEGER PRIMARY KEY AUTOINCREMENT,
        point TEXT NOT NULL
    ) STRICT;
    "#,
    // 1 -> 2: whether the last failure was the server being unreachable (no answer at all), so
    // those retries can be brought forward when the network comes back.
    r#"
    ALTER TABLE entries ADD COLUMN unreachable INTEGER NOT NULL DEFAULT 0
        CHECK (unreachable IN (0, 1));
    "#,
    // 2 -> 3: who holds a claim, so a dead process's claims are not waited out.
    r#"
    ALTER TABLE entries ADD COLUMN claimer TEXT;
    "#,
];

/// Why an attempt failed, for [`Outbox::reschedule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryCause {
    /// No answer: DNS, connect, TLS or timeout. Retried at once when the network comes back
    /// ([`Outbox::retry_unreachable_now`]).
    Unreachable,
    /// The server answered and asked for a later retry (5xx, 429, `Retry-After`, a blocked
    /// device): its schedule is kept whatever the network does.
    Server,
}

/// What an entry is; decides the endpoint and the send order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Consent changes go first: enrolment and location uploads depend on them.
    Consent,
    Enrolment,
    Punch,
    /// Location batches go last.
    LocationBatch,
}

/// Its text in the outbox database is its serde name.
impl WireText for EntryKind {}

impl EntryKind {
    pub const ALL: [EntryKind; 4] = [
        EntryKind::Consent,
        EntryKind::Enrolment,
        EntryKind::Punch,
        EntryKind::LocationBatch,
    ];

    /// Lower is sent first.
    pub fn priority(self) -> i64 {
        match self {
            Self::Consent => 0,
            Self::Enrolment => 1,
            Self::Punch => 2,
            Self::LocationBatch => 3,
        }
    }

    fn parse(s: &str) -> Result<Self, OutboxError> {
        Self::from_wire_text(s).ok_or_else(|| OutboxError::UnknownKind(s.to_owned()))
    }
}

/// A binary part of an entry (a JPEG frame or photo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// Multipart part name, e.g. `best_frame`.
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// An entry to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub idempotency_key: Uuid,
    pub kind: EntryKind,
    /// The JSON body (or JSON part) exactly as it will be sent.
    pub payload: String,
    pub blobs: Vec<Blob>,
}

impl NewEntry {
    /// An entry whose payload is `body` serialised as JSON, with a fresh UUIDv7 key.
    pub fn json<T: Serialize>(kind: EntryKind, body: &T) -> Result<Self, OutboxError> {
        Ok(Self {
            idempotency_key: Uuid::now_v7(),
            kind,
            payload: serde_json::to_string(body)?,
            blobs: Vec::new(),
        })
    }
}

/// Whether [`Outbox::enqueue`] stored the entry or already had its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Stored,
    AlreadyQueued,
}

/// An entry held by a sender.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedEntry {
    pub idempotency_key: Uuid,
    pub kind: EntryKind,
    pub owner: Uuid,
    pub payload: String,
    pub blobs: Vec<Blob>,
    pub created_at: DateTime<Utc>,
    /// Failed attempts before this one.
    pub attempts: u32,
    /// Proof of the claim; needed to reschedule or dead-letter the entry.
    pub claim_token: Uuid,
}

/// An entry the server refused for good, as the app lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub idempotency_key: Uuid,
    pub kind: EntryKind,
    pub owner: Uuid,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub failed_at: DateTime<Utc>,
    pub attempts: u32,
    /// HTTP status of the refusal.
    pub status: u16,
    /// The problem's stable `code`, when the body was `problem+json`.
    pub code: Option<String>,
    /// The server's reason (problem title/detail or body excerpt).
    pub reason: String,
}

/// Counts for a status screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub consent: u64,
    pub enrolment: u64,
    pub punch: u64,
    pub location_batch: u64,
    /// Location fixes recorded but not yet sealed into a batch entry.
    pub staged_points: u64,
    pub dead_letters: u64,
}

impl OutboxStats {
    pub fn pending_entries(&self) -> u64 {
        self.consent + self.enrolment + self.punch + self.location_batch
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("{path}: not a usable SQLite database (corrupt or not SQLite); left intact: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{path}: a SQLite database of another application (application_id {application_id:#x}); left intact"
    )]
    Foreign { path: PathBuf, application_id: i32 },
    #[error("{path}: outbox of employee {found}, not of {expected}; left intact")]
    WrongOwner {
        path: PathBuf,
        expected: Uuid,
        found: String,
    },
    #[error("{path}: schema version {found} is newer than this app's {supported}; left intact")]
    TooNew {
        path: PathBuf,
        found: i32,
        supported: i32,
    },
    #[error("the disk is full; nothing was written")]
    DiskFull,
    #[error("unknown entry kind {0:?} in the outbox")]
    UnknownKind(String),
    #[error("invalid data: {0}")]
    Invalid(#[from] ValidationError),
    #[error("malformed stored value: {0}")]
    Malformed(String),
    #[error("outbox database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("outbox lock poisoned by a panicked thread")]
    Poisoned,
}

impl From<rusqlite::Error> for OutboxError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Self::DiskFull,
            _ => Self::Sqlite(e),
        }
    }
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt)
    )
}

/// Unix milliseconds.
fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or(DateTime::UNIX_EPOCH)
}

fn parse_uuid(s: &str) -> Result<Uuid, OutboxError> {
    Uuid::parse_str(s).map_err(|e| OutboxError::Malformed(format!("uuid {s:?}: {e}")))
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// File name of an employee's outbox inside the app's state directory.
pub fn outbox_path(dir: &Path, employee: Uuid) -> PathBuf {
    dir.join(format!("outbox-{employee}.sqlite3"))
}

/// Rename a bad outbox file (and its `-wal` / `-shm` companions) to
/// `<name>.broken-<unix seconds>`, so a fresh one can be created. Returns the new path of the
/// main file. Nothing is deleted.
pub fn move_aside(path: &Path, now: DateTime<Utc>) -> Result<PathBuf, OutboxError> {
    let suffix = format!("broken-{}", now.timestamp());
    let target = PathBuf::from(format!("{}.{suffix}", path.display()));
    for ext in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{ext}", path.display()));
        if side.exists() {
            let to = PathBuf::from(format!("{}{ext}.{suffix}", path.display()));
            std::fs::rename(&side, &to).map_err(|source| OutboxError::Io {
                path: side.clone(),
                source,
            })?;
        }
    }
    std::fs::rename(path, &target).map_err(|source| OutboxError::Io {
        path: path.to_owned(),
        source,
    })?;
    tracing::warn!(from = %path.display(), to = %target.display(), "outbox moved aside");
    Ok(target)
}

/// Exponential backoff with "equal jitter": half the capped exponential delay, plus a random
/// part up to the other half. `attempts` counts failures so far (1 after the first failure).
pub fn backoff_delay(attempts: u32, rng: &mut impl Rng) -> Duration {
    let exp = attempts.saturating_sub(1).min(20);
    let full = BACKOFF_BASE.saturating_mul(1u32 << exp).min(BACKOFF_MAX);
    let half = full / 2;
    let jitter_ms = rng.random_range(0..=duration_ms(half).max(0) as u64);
    half + Duration::from_millis(jitter_ms)
}

/// The delay before the next attempt: the jittered backoff, but never earlier than the
/// server's `Retry-After` (clamped to [`RETRY_AFTER_MAX`]).
pub fn next_delay(attempts: u32, retry_after: Option<Duration>, rng: &mut impl Rng) -> Duration {
    let backoff = backoff_delay(attempts, rng);
    match retry_after {
        Some(ra) => backoff.max(ra.min(RETRY_AFTER_MAX)),
        None => backoff,
    }
}

/// One employee's outbox. Cheap to share behind an `Arc`; every call is one short transaction.
/// Several `Outbox` values (or processes) may open the same file at once.
#[derive(Debug)]
pub struct Outbox {
    conn: Mutex<Connection>,
    path: PathBuf,
    owner: Uuid,
    /// `None` where the file system has no locks: claims then end with their lease only.
    claimer: Option<Claimer>,
}

/// This open outbox as a claimer: an id and an exclusive lock on `<dir>/<id>.lock`, held
/// until it is dropped or its process dies (the OS releases the lock either way).
#[derive(Debug)]
struct Claimer {
    id: Uuid,
    dir: PathBuf,
    _lock: std::fs::File,
}

impl Claimer {
    fn new(outbox: &Path) -> std::io::Result<Self> {
        let mut name = outbox.as_os_str().to_owned();
        name.push(".claimers");
        let dir = PathBuf::from(name);
        std::fs::create_dir_all(&dir)?;
        let id = Uuid::new_v4();
        let lock = std::fs::File::create(dir.join(format!("{id}.lock")))?;
        lock.try_lock().map_err(std::io::Error::from)?;
        let me = Self {
            id,
            dir,
            _lock: lock,
        };
        me.forget_dead();
        Ok(me)
    }

    /// Whether the claimer `id` still lives: its lock file exists and is locked. A lock we can
    /// take means its holder is gone; then the file is removed.
    fn alive(&self, id: &str) -> bool {
        let path = self.dir.join(format!("{id}.lock"));
        let file = match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
            // Unknown: keep treating the claim as live (its lease still ends it).
            Err(_) => return true,
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = std::fs::remove_file(&path);
                false
            }
            Err(_) => true,
        }
    }

    /// Removes the lock files of dead claimers (killed processes leave them behind).
    fn forget_dead(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".lock"))
                && id != self.id.to_string()
            {
                self.alive(id);
            }
        }
    }
}

impl Drop for Claimer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.dir.join(format!("{}.lock", self.id)));
    }
}

impl Outbox {
    /// Open (creating if absent) `employee`'s outbox in `dir`.
    pub fn open_in(dir: &Path, employee: Uuid) -> Result<Self, OutboxError> {
        std::fs::create_dir_all(dir).map_err(|source| OutboxError::Io {
            path: dir.to_owned(),
            source,
        })?;
        Self::open(&outbox_path(dir, employee), employee)
    }

    /// Open (creating if absent) the outbox file at `path`, owned by `employee`.
    pub fn open(path: &Path, employee: Uuid) -> Result<Self, OutboxError> {
        let corrupt = |source: rusqlite::Error| -> OutboxError {
            if is_corruption(&source) {
                OutboxError::Corrupt {
                    path: path.to_owned(),
                    source,
                }
            } else {
                OutboxError::from(source)
            }
        };
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(corrupt)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(corrupt)?;

        // Identify the file before changing anything in it. Reading the header of a file that
        // is not SQLite fails here with NotADatabase.
        let app_id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(corrupt)?;
        let version: i32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(corrupt)?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(corrupt)?;
        if app_id != APPLICATION_ID && !(app_id == 0 && tables == 0) {
            return Err(OutboxError::Foreign {
                path: path.to_owned(),
                application_id: app_id,
            });
        }
        if version > SCHEMA_VERSION {
            return Err(OutboxError::TooNew {
                path: path.to_owned(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let integrity: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(corrupt)?;
        if integrity != "ok" {
            return Err(OutboxError::Corrupt {
                path: path.to_owned(),
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                    Some(integrity),
                ),
            });
        }

        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(corrupt)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "outbox could not switch to WAL mode");
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(corrupt)?;

        Self::migrate(&mut conn, path, version, employee).map_err(|e| match e {
            OutboxError::Sqlite(source) if is_corruption(&source) => OutboxError::Corrupt {
                path: path.to_owned(),
                source,
            },
            other => other,
        })?;

        let found: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'owner'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match found {
            Some(found) if found == employee.to_string() => {}
            Some(found) => {
                return Err(OutboxError::WrongOwner {
                    path: path.to_owned(),
                    expected: employee,
                    found,
                });
            }
            None => {
                return Err(OutboxError::Malformed("outbox has no owner".into()));
            }
        }
        tracing::debug!(path = %path.display(), %employee, "outbox open");
        let claimer = Claimer::new(path)
            .inspect_err(|e| {
                tracing::warn!(error = %e, "no claim lock: a killed sync's claims wait out their lease");
            })
            .ok();
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            owner: employee,
            claimer,
        })
    }

    fn migrate(
        conn: &mut Connection,
        path: &Path,
        from: i32,
        employee: Uuid,
    ) -> Result<(), OutboxError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Re-read inside the write lock: another connection may have migrated meanwhile.
        let mut version: i32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < from {
            return Err(OutboxError::Malformed(format!(
                "{}: schema version went down from {from} to {version}",
                path.display()
            )));
        }
        while version < SCHEMA_VERSION {
            let idx = usize::try_from(version).map_err(|_| {
                OutboxError::Malformed(format!("negative schema version {version}"))
            })?;
            let sql = MIGRATIONS.get(idx).ok_or_else(|| {
                OutboxError::Malformed(format!("no migration from schema version {version}"))
            })?;
            tx.execute_batch(sql)?;
            version += 1;
            tx.pragma_update(None, "user_version", version)?;
            tracing::info!(path = %path.display(), version, "outbox schema migrated");
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('owner', ?1)",
            params![employee.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn owner(&self) -> Uuid {
        self.owner
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, OutboxError> {
        self.conn.lock().map_err(|_| OutboxError::Poisoned)
    }

    /// Store an entry (payload and blobs) in one transaction. A key already queued or
    /// dead-lettered is not stored again.
    pub fn enqueue(&self, entry: &NewEntry, now: DateTime<Utc>) -> Result<Enqueued, OutboxError> {
        faceid_protocol::sync::check_uuid_v7("idempotency_key", &entry.idempotency_key)?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = entry.idempotency_key.to_string();
        let dead: bool = tx
            .query_row(
                "SELECT 1 FROM dead_letters WHERE idempotency_key = ?1",
                params![key],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if dead {
            return Ok(Enqueued::AlreadyQueued);
        }
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO entries
                 (idempotency_key, kind, priority, owner, payload, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![
                key,
                entry.kind.wire_text(),
                entry.kind.priority(),
                self.owner.to_string(),
                entry.payload,
                ms(now)
            ],
        )?;
        if inserted == 0 {
            return Ok(Enqueued::AlreadyQueued);
        }
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO blobs (idempotency_key, idx, name, content_type, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (i, b) in entry.blobs.iter().enumerate() {
                stmt.execute(params![
                    key,
                    i64::try_from(i).unwrap_or(i64::MAX),
                    b.name,
                    b.content_type,
                    b.data
                ])?;
            }
        }
        tx.commit()?;
        tracing::debug!(key = %entry.idempotency_key, kind = entry.kind.wire_text(), "enqueued");
        Ok(Enqueued::Stored)
    }

    /// Record location points durably, in one transaction: full batches of
    /// [`CLIENT_BATCH_POINTS`] become `location_batch` entries at once; the rest wait in a
    /// staging table until more arrive or [`Outbox::seal_points`] is called.
    /// Returns the number of batch entries created.
    ///
    /// `state`, when given, is a `meta` key/value written in the same transaction (the
    /// recorder's last accepted fix), so the recorder's memory and the stored points never
    /// disagree after a crash.
    pub fn record_points(
        &self,
        points: &[LocationPoint],
        state: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> Result<usize, OutboxError> {
        if points.is_empty() {
            return Ok(0);
        }
        // Serialise outside the lock.
        let mut encoded = Vec::with_capacity(points.len());
        for p in points {
            encoded.push(serde_json::to_string(p)?);
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let staged: i64 = tx.query_row("SELECT count(*) FROM location_points", [], |r| r.get(0))?;
        let mut staged = usize::try_from(staged).unwrap_or(0);
        let mut rest: &[String] = &encoded;
        let mut batches = 0;
        while staged + rest.len() >= CLIENT_BATCH_POINTS {
            let take = CLIENT_BATCH_POINTS - staged;
            let (now_part, later) = rest.split_at(take);
            let mut body = String::with_capacity(64 + 200 * CLIENT_BATCH_POINTS);
            body.push_str("{\"points\":[");
            let mut first = true;
            if staged > 0 {
                Self::drain_staged(&tx, staged, &mut body, &mut first)?;
            }
            for p in now_part {
                if !first {
                    body.push(',');
                }
                first = false;
                body.push_str(p);
            }
            body.push_str("]}");
            Self::insert_batch(&tx, self.owner, &body, now)?;
            batches += 1;
            staged = 0;
            rest = later;
        }
        if !rest.is_empty() {
            let mut stmt = tx.prepare_cached("INSERT INTO location_points (point) VALUES (?1)")?;
            for p in rest {
                stmt.execute(params![p])?;
            }
        }
        if let Some((k, v)) = state {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        tx.commit()?;
        Ok(batches)
    }

    /// Move every staged point into batch entries (up to [`CLIENT_BATCH_POINTS`] each), e.g.
    /// before a sync, so points do not wait for a full batch. Returns the entries created.
    pub fn seal_points(&self, now: DateTime<Utc>) -> Result<usize, OutboxError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut batches = 0;
        loop {
            let staged: i64 =
                tx.query_row("SELECT count(*) FROM location_points", [], |r| r.get(0))?;
            let staged = usize::try_from(staged)
                .unwrap_or(0)
                .min(CLIENT_BATCH_POINTS);
            if staged == 0 {
                break;
            }
            let mut body = String::from("{\"points\":[");
            let mut first = true;
            Self::drain_staged(&tx, staged, &mut body, &mut first)?;
            body.push_str("]}");
            Self::insert_batch(&tx, self.owner, &body, now)?;
            batches += 1;
        }
        tx.commit()?;
        Ok(batches)
    }

    fn drain_staged(
        tx: &rusqlite::Transaction<'_>,
        n: usize,
        body: &mut String,
        first: &mut bool,
    ) -> Result<(), OutboxError> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let mut max_seq = i64::MIN;
        {
            let mut stmt =
                tx.prepare_cached("SELECT seq, point FROM location_points ORDER BY seq LIMIT ?1")?;
            let mut rows = stmt.query(params![limit])?;
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(0)?;
                let point = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
                if !*first {
                    body.push(',');
                }
                *first = false;
                body.push_str(point);
                max_seq = max_seq.max(seq);
            }
        }
        tx.execute(
            "DELETE FROM location_points WHERE seq <= ?1",
            params![max_seq],
        )?;
        Ok(())
    }

    fn insert_batch(
        tx: &rusqlite::Transaction<'_>,
        owner: Uuid,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), OutboxError> {
        let kind = EntryKind::LocationBatch;
        tx.prepare_cached(
            "INSERT INTO entries
                 (idempotency_key, kind, priority, owner, payload, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?
        .execute(params![
            Uuid::now_v7().to_string(),
            kind.wire_text(),
            kind.priority(),
            owner.to_string(),
            body,
            ms(now)
        ])?;
        Ok(())
    }

    /// Claim the next due entry: the lowest priority (consent, enrolment, punch, location),
    /// then the oldest, among entries that are due and not claimed by a live lease.
    pub fn claim_next(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<ClaimedEntry>, OutboxError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now_ms = ms(now);
        self.release_dead_claims(&tx, now_ms)?;
        let row = tx
            .query_row(
                "SELECT seq, idempotency_key, kind, owner, payload, created_at, attempts
                 FROM entries
                 WHERE next_attempt_at <= ?1 AND (claim_until IS NULL OR claim_until <= ?1)
                 ORDER BY priority, seq
                 LIMIT 1",
                params![now_ms],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((seq, key, kind, owner, payload, created_at, attempts)) = row else {
            return Ok(None);
        };
        let token = Uuid::new_v4();
        tx.execute(
            "UPDATE entries SET claim_token = ?1, claim_until = ?2, claimer = ?3 WHERE seq = ?4",
            params![
                token.to_string(),
                now_ms.saturating_add(duration_ms(lease)),
                self.claimer.as_ref().map(|c| c.id.to_string()),
                seq
            ],
        )?;
        let blobs = Self::load_blobs(&tx, &key)?;
        tx.commit()?;
        Ok(Some(ClaimedEntry {
            idempotency_key: parse_uuid(&key)?,
            kind: EntryKind::parse(&kind)?,
            owner: parse_uuid(&owner)?,
            payload,
            blobs,
            created_at: from_ms(created_at),
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            claim_token: token,
        }))
    }

    /// Frees the live claims of claimers that are gone (a killed `sync`): the server never
    /// deferred those entries, so they are due now, not when the dead claim's lease ends.
    fn release_dead_claims(&self, conn: &Connection, now_ms: i64) -> Result<(), OutboxError> {
        let Some(me) = &self.claimer else {
            return Ok(());
        };
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT claimer FROM entries
              WHERE claim_until > ?1 AND claimer IS NOT NULL AND claimer <> ?2",
        )?;
        let others = stmt
            .query_map(params![now_ms, me.id.to_string()], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for other in others {
            if !me.alive(&other) {
                let n = conn.execute(
                    "UPDATE entries SET claim_token = NULL, claim_until = NULL, claimer = NULL
                      WHERE claimer = ?1",
                    params![other],
                )?;
                tracing::info!(claimer = %other, entries = n, "claims of a dead process released");
            }
        }
        Ok(())
    }

    fn load_blobs(conn: &Connection, key: &str) -> Result<Vec<Blob>, OutboxError> {
        let mut stmt = conn.prepare_cached(
            "SELECT name, content_type, data FROM blobs WHERE idempotency_key = ?1 ORDER BY idx",
        )?;
        let rows = stmt.query_map(params![key], |r| {
            Ok(Blob {
                name: r.get(0)?,
                content_type: r.get(1)?,
                data: r.get(2)?,
            })
        })?;
        let mut out = Vec::new();
        for b in rows {
            out.push(b?);
        }
        Ok(out)
    }

    /// The server answered 2xx: remove the entry and its blobs, whoever holds the claim.
    /// Returns whether it was still there.
    pub fn complete(&self, key: Uuid) -> Result<bool, OutboxError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let k = key.to_string();
        let n = tx.execute("DELETE FROM entries WHERE idempotency_key = ?1", params![k])?;
        tx.execute("DELETE FROM blobs WHERE idempotency_key = ?1", params![k])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// A transient failure: count the attempt, keep the error, schedule the next attempt after
    /// `delay`, and release the claim. Does nothing (returns `false`) when `token` no longer
    /// holds the entry.
    pub fn reschedule(
        &self,
        entry: &ClaimedEntry,
        error: &str,
        cause: RetryCause,
        delay: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, OutboxError> {
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE entries
             SET attempts = attempts + 1, last_error = ?1, next_attempt_at = ?2,
                 unreachable = ?3, claim_token = NULL, claim_until = NULL
             WHERE idempotency_key = ?4 AND claim_token = ?5",
            params![
                error,
                ms(now).saturating_add(duration_ms(delay)),
                cause == RetryCause::Unreachable,
                entry.idempotency_key.to_string(),
                entry.claim_token.to_string()
            ],
        )?;
        Ok(n > 0)
    }

    /// The network is back: entries waiting out a backoff because the server could not be
    /// reached become due now (their attempt count, and so the next backoff, stay). Entries
    /// the server itself deferred keep their time. Returns how many became due.
    pub fn retry_unreachable_now(&self, now: DateTime<Utc>) -> Result<usize, OutboxError> {
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE entries SET next_attempt_at = ?1
             WHERE unreachable = 1 AND next_attempt_at > ?1
               AND (claim_until IS NULL OR claim_until <= ?1)",
            params![ms(now)],
        )?;
        if n > 0 {
            tracing::info!(
                entries = n,
                "network back: unreachable retries brought forward"
            );
        }
        Ok(n)
    }

    /// Give the claim back without counting an attempt (e.g. the sync task was told to stop, or
    /// the session needs a new login).
    pub fn release(&self, entry: &ClaimedEntry) -> Result<bool, OutboxError> {
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE entries SET claim_token = NULL, claim_until = NULL
             WHERE idempotency_key = ?1 AND claim_token = ?2",
            params![
                entry.idempotency_key.to_string(),
                entry.claim_token.to_string()
            ],
        )?;
        Ok(n > 0)
    }

    /// A permanent refusal: move the entry to the dead-letter table with the server's reason,
    /// in one transaction. Its blobs are kept for the app to show. Returns `false` when `token`
    /// no longer holds the entry.
    pub fn dead_letter(
        &self,
        entry: &ClaimedEntry,
        status: u16,
        code: Option<&str>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, OutboxError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = entry.idempotency_key.to_string();
        let moved = tx.execute(
            "INSERT INTO dead_letters
                 (idempotency_key, kind, owner, payload, created_at, attempts, failed_at,
                  status, code, reason)
             SELECT idempotency_key, kind, owner, payload, created_at, attempts + 1, ?1,
                    ?2, ?3, ?4
             FROM entries WHERE idempotency_key = ?5 AND claim_token = ?6",
            params![
                ms(now),
                i64::from(status),
                code,
                reason,
                key,
                entry.claim_token.to_string()
            ],
        )?;
        if moved == 0 {
            return Ok(false);
        }
        tx.execute(
            "DELETE FROM entries WHERE idempotency_key = ?1",
            params![key],
        )?;
        tx.commit()?;
        tracing::warn!(%key, status, code, reason, "entry dead-lettered");
        Ok(true)
    }

    /// Earliest `next_attempt_at` among entries not held by a live claim (for "waiting until").
    pub fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, OutboxError> {
        let conn = self.conn()?;
        let v: Option<i64> = conn.query_row(
            "SELECT min(max(next_attempt_at, coalesce(claim_until, 0))) FROM entries",
            [],
            |r| r.get(0),
        )?;
        Ok(v.map(from_ms))
    }

    /// Dead letters, oldest failure first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, OutboxError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT idempotency_key, kind, owner, payload, created_at, failed_at, attempts,
                    status, code, reason
             FROM dead_letters ORDER BY failed_at, seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, String>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, kind, owner, payload, created, failed, attempts, status, code, reason) = row?;
            out.push(DeadLetter {
                idempotency_key: parse_uuid(&key)?,
                kind: EntryKind::parse(&kind)?,
                owner: parse_uuid(&owner)?,
                payload,
                created_at: from_ms(created),
                failed_at: from_ms(failed),
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                status: u16::try_from(status).unwrap_or(0),
                code,
                reason,
            });
        }
        Ok(out)
    }

    /// Forget a dead letter (the user dismissed it), with its blobs.
    pub fn discard_dead_letter(&self, key: Uuid) -> Result<bool, OutboxError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let k = key.to_string();
        let n = tx.execute(
            "DELETE FROM dead_letters WHERE idempotency_key = ?1",
            params![k],
        )?;
        tx.execute("DELETE FROM blobs WHERE idempotency_key = ?1", params![k])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Entry and point counts.
    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let conn = self.conn()?;
        let mut s = OutboxStats::default();
        let mut stmt = conn.prepare("SELECT kind, count(*) FROM entries GROUP BY kind")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (kind, n) = row?;
            let n = u64::try_from(n).unwrap_or(0);
            match EntryKind::parse(&kind)? {
                EntryKind::Consent => s.consent = n,
                EntryKind::Enrolment => s.enrolment = n,
                EntryKind::Punch => s.punch = n,
                EntryKind::LocationBatch => s.location_batch = n,
            }
        }
        s.staged_points = u64::try_from(conn.query_row(
            "SELECT count(*) FROM location_points",
            [],
            |r| r.get::<_, i64>(0),
        )?)
        .unwrap_or(0);
        s.dead_letters = u64::try_from(conn.query_row(
            "SELECT count(*) FROM dead_letters",
            [],
            |r| r.get::<_, i64>(0),
        )?)
        .unwrap_or(0);
        Ok(s)
    }

    /// A small key/value store in the same file, for state that must commit with the outbox
    /// (e.g. the recorder's last accepted fix).
    pub fn meta_get(&self, key: &str) -> Result<Option<String>, OutboxError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn meta_set(&self, key: &str, value: &str) -> Result<(), OutboxError> {
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
