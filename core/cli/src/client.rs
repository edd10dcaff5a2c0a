//! `faceid client …`: a device simulator. A real client over `faceid-client` (the same session,
//! outbox, recorder, capture and sync code the phone apps use), for demos, support and tests.
//!
//! Everything the device keeps lives in `--state DIR`:
//! - `device.json`: the server URL, this device's id, the employee of the last login, the
//!   learned server-time offset, the cached tracking policy and consents, the last sync;
//! - `device-key.pem`: this device's P-256 key (PKCS#8 PEM, mode 0600), created at the first
//!   command that talks to the server; every login and refresh signs a server nonce with it
//!   (`docs/device-keys.md`). A copied `device.json` without it cannot sign in as this device;
//! - `secrets/`: tokens and the descriptor cache (a `FileStore`: files 0600, directory 0700);
//! - `outbox/`: one SQLite outbox per employee (survives logout: queued entries wait for the
//!   employee's next login).
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};
use faceid_client::app::{App, AppConfig, AppError};
use faceid_client::checkin::{CheckInError, FaceSession, FaceSessionConfig};
use faceid_client::clock::{Clock, ServerClock, SystemClock};
use faceid_client::device_key::{DeviceKeyError, FileDeviceKey};
use faceid_client::enrolment::EnrolmentError;
use faceid_client::http::HttpConfig;
use faceid_client::location::{Decision, RecorderError};
use faceid_client::outbox::{EntryKind, Outbox, OutboxError};
use faceid_client::records::{self, Period, RecordsError};
use faceid_client::session::{Session, SessionConfig, SessionError, SessionState};
use faceid_client::store::{FileStore, SecureStore, StoreError};
use faceid_client::sync::{
    Delivered, DrainOutcome, SyncError, SyncListener, SyncProgress, SyncState,
};
use faceid_face::decode::{DecodeError, decode_file};
use faceid_face::{Engine, EngineConfig, EngineError};
use faceid_protocol::attendance::{CheckInResponse, GpsFix, LocationProvider, PunchKind};
use faceid_protocol::auth::{CurrentUser, DeviceInfo, Platform};
use faceid_protocol::consent::{ConsentAction, ConsentKind, ConsentState, MY_CONSENTS_PATH};
use faceid_protocol::location::{LocationPoint, TRACKING_POLICY_PATH, TrackingPolicy};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// Most fixes one `track` file may hold (a day at one fix a second is 86,400).
pub const MAX_TRACK_FIXES: usize = 1_000_000;

#[derive(Args)]
pub struct ClientArgs {
    /// Directory of the simulated device: outbox, tokens, caches.
    #[arg(
        long,
        global = true,
        env = "FACEID_STATE",
        default_value = ".faceid-client"
    )]
    state: PathBuf,
    /// Server base URL, e.g. http://127.0.0.1:8080 (remembered from `login`).
    #[arg(long, global = true, env = "FACEID_SERVER")]
    server: Option<String>,
    /// Machine-readable output (one JSON document on standard output).
    #[arg(long, global = true)]
    json: bool,
    /// Seconds one HTTP request may take (default 60).
    #[arg(long, global = true, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Face model directory (default: FACEID_MODEL_DIR, else models/cache).
    #[arg(long, global = true, env = "FACEID_MODEL_DIR")]
    models: Option<PathBuf>,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Log in; the password is read from FACEID_PASSWORD or the first line of standard input.
    Login { login: String },
    /// Log out (queued entries stay for the next login).
    Logout,
    /// The current user, as the server says (or as stored, when offline).
    Whoami,
    /// Grant or withdraw a consent (queued, then synced).
    Consent {
        action: ConsentActionArg,
        kind: ConsentKindArg,
        /// Only queue; do not try to send now.
        #[arg(long)]
        no_sync: bool,
    },
    /// Enrol the face from photos (JPEG, PNG or WebP; queued, then synced).
    Enrol {
        #[arg(required = true)]
        photos: Vec<PathBuf>,
        #[arg(long)]
        no_sync: bool,
    },
    /// Check in: capture from a photo, seal the punch, try to send it, print the verdicts.
    CheckIn(PunchArgs),
    /// Check out (same as check-in).
    CheckOut(PunchArgs),
    /// Feed a recorded track through the location recorder into the outbox.
    Track(TrackArgs),
    /// Drain the outbox to the server.
    Sync {
        /// Keep retrying (honouring backoff and Retry-After) until the outbox is empty or this
        /// many seconds have passed. Default: one pass.
        #[arg(long, value_name = "SECONDS")]
        wait: Option<f64>,
    },
    /// Session, outbox per kind, dead letters, last sync, server time offset (no network).
    Status,
    /// The employee's attendance events as the server holds them.
    History(PeriodArgs),
    /// The employee's location points as the server holds them.
    Locations(PeriodArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum ConsentActionArg {
    Grant,
    Withdraw,
}

#[derive(Clone, Copy, ValueEnum)]
enum ConsentKindArg {
    Biometric,
    Location,
}

#[derive(Args)]
struct PunchArgs {
    /// The camera frame: a photo of the employee.
    #[arg(long)]
    photo: PathBuf,
    #[arg(long, allow_hyphen_values = true)]
    lat: Option<f64>,
    #[arg(long, allow_hyphen_values = true)]
    lon: Option<f64>,
    /// GPS accuracy radius, metres.
    #[arg(long, default_value_t = 10.0)]
    accuracy: f64,
    /// Further frames for the server's head-movement challenge (online only).
    #[arg(long, value_delimiter = ',')]
    frames: Vec<PathBuf>,
    /// The platform reports a mock location.
    #[arg(long)]
    mock: bool,
    #[arg(long)]
    no_sync: bool,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct TrackArgs {
    /// A GPX 1.1 file (track points with <time>; <hdop> × 5 m as accuracy, else 10 m).
    #[arg(long)]
    gpx: Option<PathBuf>,
    /// A CSV file with a header: recorded_at (RFC 3339), lat, lon, accuracy.
    #[arg(long)]
    csv: Option<PathBuf>,
}

#[derive(Args)]
struct PeriodArgs {
    /// Start (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    from: Option<String>,
    /// End, exclusive (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    to: Option<String>,
}

/// Everything that can go wrong; each is a message and exit code 2, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no server: pass --server URL (or log in once with it)")]
    NoServer,
    #[error("not logged in on this device: run `faceid client login LOGIN`")]
    NotLoggedIn,
    #[error("no password: set FACEID_PASSWORD or write it on standard input")]
    NoPassword,
    #[error("invalid {what}: {reason}")]
    Usage { what: &'static str, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: unreadable device state: {reason}")]
    BadState { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Track { path: PathBuf, reason: String },
    #[error("the tracking policy is unknown: connect once (`faceid client sync`) first")]
    NoPolicy,
    #[error("{path}: {source}")]
    Photo {
        path: PathBuf,
        #[source]
        source: DecodeError,
    },
    #[error("face engine: {0} (models: bash models/fetch.sh, or --models DIR)")]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    DeviceKey(#[from] DeviceKeyError),
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error(transparent)]
    Enrolment(#[from] EnrolmentError),
    #[error(transparent)]
    CheckIn(#[from] CheckInError),
    #[error(transparent)]
    Recorder(#[from] RecorderError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("{0}")]
    Other(String),
}

impl From<AppError> for ClientError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotLoggedIn => ClientError::NotLoggedIn,
            e @ AppError::Poisoned => ClientError::Other(e.to_string()),
            AppError::Session(e) => e.into(),
            AppError::Outbox(e) => e.into(),
            AppError::Recorder(e) => e.into(),
            AppError::Records(e) => e.into(),
            AppError::Enrolment(e) => e.into(),
            AppError::CheckIn(e) => e.into(),
            AppError::Sync(e) => e.into(),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |source| ClientError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What the device remembers between runs (not secret; tokens live in `secrets/`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DeviceState {
    server: Option<String>,
    device_id: Option<Uuid>,
    /// The employee of the last login; their outbox is the one used.
    employee: Option<Uuid>,
    login: Option<String>,
    /// Server minus device clock, milliseconds, as last learned.
    server_offset_ms: Option<i64>,
    offset_learned_at: Option<DateTime<Utc>>,
    policy: Option<TrackingPolicy>,
    #[serde(default)]
    consents: BTreeMap<String, bool>,
    last_sync: Option<DateTime<Utc>>,
    last_sync_outcome: Option<String>,
}

struct Ctx {
    args_state: PathBuf,
    server_arg: Option<String>,
    json: bool,
    http: HttpConfig,
    models: Option<PathBuf>,
    state: DeviceState,
    store: Arc<dyn SecureStore>,
    clock: Arc<ServerClock>,
    /// The client facade (the same one the apps hold); `None` while no server is known.
    app: Option<Arc<App>>,
}

/// This device's key, next to `device.json`.
const DEVICE_KEY_FILE: &str = "device-key.pem";

impl Ctx {
    fn load(args: &ClientArgs) -> Result<Self, ClientError> {
        std::fs::create_dir_all(&args.state).map_err(io_err(&args.state))?;
        let path = args.state.join("device.json");
        let state = match std::fs::read_to_string(&path) {
            Ok(s) => serde_json::from_str(&s).map_err(|e| ClientError::BadState {
                path: path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DeviceState::default(),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let store: Arc<dyn SecureStore> = Arc::new(FileStore::new(&args.state.join("secrets"))?);
        let device: Arc<dyn Clock> = Arc::new(SystemClock::default());
        let clock = Arc::new(ServerClock::new(device.clone()));
        // A process cannot keep a monotonic clock across runs: restore the learned offset as an
        // observation now, so sealed punches carry device time corrected by it.
        if let Some(ms) = state.server_offset_ms {
            clock.observe(device.now() + chrono::Duration::milliseconds(ms));
        }
        let mut http = HttpConfig::default();
        if let Some(t) = args.timeout {
            if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
                return Err(ClientError::Usage {
                    what: "--timeout",
                    reason: format!("{t} is not between 0 and 3600 seconds"),
                });
            }
            http.request_timeout = Duration::from_secs_f64(t);
            http.connect_timeout = http.connect_timeout.min(http.request_timeout);
        }
        Ok(Self {
            args_state: args.state.clone(),
            server_arg: args.server.clone(),
            json: args.json,
            http,
            models: args.models.clone(),
            state,
            store,
            clock,
            app: None,
        })
    }

    /// Open the client facade once a server is known. It restores the stored session and
    /// that employee's outbox; when nobody is logged in, the outbox of the employee of the
    /// last login stays reachable (their entries wait for their next login).
    async fn open_app(&mut self) -> Result<(), ClientError> {
        let server = match self.server() {
            Ok(s) => s,
            Err(ClientError::NoServer) => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut session = SessionConfig::new(&server, self.device());
        session.http = self.http;
        session.device_key = Some(Arc::new(FileDeviceKey::open_or_create(
            &self.args_state.join(DEVICE_KEY_FILE),
        )?));
        let app = App::open(AppConfig {
            session,
            store: self.store.clone(),
            outbox_dir: self.args_state.join("outbox"),
            clock: self.clock.clone(),
            sync_lease: Some(self.lease()),
        })
        .await?;
        if app.employee_id().is_err()
            && let Some(employee) = self.state.employee
        {
            app.open_employee(employee)?;
        }
        self.app = Some(Arc::new(app));
        Ok(())
    }

    fn save(&mut self) -> Result<(), ClientError> {
        if let Some(off) = self.clock.offset() {
            self.state.server_offset_ms = Some(off.num_milliseconds());
            self.state.offset_learned_at = Some(self.clock.now());
        }
        let path = self.args_state.join("device.json");
        // One temporary file per process: two commands saving at once (two `sync`s) must not
        // rename each other's file away.
        let tmp = self
            .args_state
            .join(format!(".device.json.{}.tmp", std::process::id()));
        let body = serde_json::to_string_pretty(&self.state)
            .map_err(|e| ClientError::Other(e.to_string()))?;
        std::fs::write(&tmp, body).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        Ok(())
    }

    fn server(&self) -> Result<String, ClientError> {
        self.server_arg
            .clone()
            .or_else(|| self.state.server.clone())
            .ok_or(ClientError::NoServer)
    }

    fn device(&mut self) -> DeviceInfo {
        let id = *self.state.device_id.get_or_insert_with(Uuid::now_v7);
        DeviceInfo {
            id,
            name: "faceid client simulator".to_owned(),
            platform: Platform::Desktop,
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    fn app(&self) -> Result<Arc<App>, ClientError> {
        self.app.clone().ok_or(ClientError::NoServer)
    }

    fn session(&self) -> Result<Arc<Session>, ClientError> {
        Ok(self.app()?.session().clone())
    }

    fn outbox(&self) -> Result<Arc<Outbox>, ClientError> {
        match self.app() {
            Ok(app) => Ok(app.outbox()?),
            Err(ClientError::NoServer) => Err(ClientError::NotLoggedIn),
            Err(e) => Err(e),
        }
    }

    /// Claim lease: longer than the longest request, so a killed process's claim ends soon.
    fn lease(&self) -> Duration {
        self.http.request_timeout + Duration::from_secs(10)
    }

    fn engine(&self) -> Result<Arc<Engine>, ClientError> {
        let cfg = match &self.models {
            Some(d) => EngineConfig::new(d),
            None => EngineConfig::from_env()?,
        };
        Ok(Arc::new(Engine::load(&cfg)?))
    }

    fn print(&self, value: &serde_json::Value, text: &str) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
            );
        } else {
            println!("{text}");
        }
    }
}

/// Counts of one `sync` run, filled by the sync listener.
#[derive(Debug, Default)]
struct Tally {
    punch_duplicates: u64,
    punches: Vec<(Uuid, u16, String)>,
    last_state: Option<String>,
}

#[derive(Debug, Default)]
struct Listener(Mutex<Tally>);

impl SyncListener for Listener {
    fn on_state(&self, state: &SyncState) {
        if let Ok(mut t) = self.0.lock() {
            t.last_state = Some(format!("{state:?}"));
        }
    }
    fn on_progress(&self, _: &SyncProgress) {}
    fn on_delivered(&self, d: &Delivered) {
        if let Ok(mut t) = self.0.lock()
            && d.kind == EntryKind::Punch
        {
            // 200 is the server's replay of a punch it already had; 201 a new one.
            if d.status == 200 {
                t.punch_duplicates += 1;
            }
            t.punches
                .push((d.idempotency_key, d.status, d.body.clone()));
        }
    }
}

/// Result of [`sync_outbox`].
#[derive(Debug, Default)]
struct SyncSummary {
    sent: u64,
    duplicates: u64,
    points_accepted: u64,
    points_duplicate: u64,
    points_rejected: u64,
    dead_lettered: u64,
    left: u64,
    outcome: String,
    punches: Vec<(Uuid, u16, String)>,
}

fn outcome_text(o: &DrainOutcome) -> String {
    match o {
        DrainOutcome::Empty => "empty".to_owned(),
        DrainOutcome::WaitingUntil(t) => format!("waiting until {}", t.to_rfc3339()),
        DrainOutcome::Offline(r) => format!("offline: {r}"),
        DrainOutcome::AuthRequired => "login required".to_owned(),
        DrainOutcome::Stopped => "stopped".to_owned(),
    }
}

/// Drain the outbox; with `wait`, repeat passes (sleeping until the next entry is due) until
/// it is empty or the time is up.
async fn sync_outbox(ctx: &mut Ctx, wait: Option<Duration>) -> Result<SyncSummary, ClientError> {
    let outbox = ctx.outbox()?;
    let app = ctx.app()?;
    if matches!(app.session().state().await, SessionState::LoggedOut) {
        return Err(ClientError::NotLoggedIn);
    }
    let listener = Arc::new(Listener::default());
    let engine = app.sync_engine(listener.clone())?;
    let deadline = wait.map(|w| tokio::time::Instant::now() + w);
    let stop = AtomicBool::new(false);
    let mut sum = SyncSummary::default();
    loop {
        let report = engine.drain(&stop).await?;
        let p = &report.progress;
        sum.sent += p.sent;
        sum.points_accepted += p.points_accepted;
        sum.points_duplicate += p.points_duplicate;
        sum.points_rejected += p.points_rejected;
        sum.dead_lettered += p.dead_lettered;
        sum.outcome = outcome_text(&report.outcome);
        let Some(deadline) = deadline else { break };
        let retry = matches!(
            report.outcome,
            DrainOutcome::WaitingUntil(_) | DrainOutcome::Offline(_)
        );
        let now = tokio::time::Instant::now();
        if !retry || now >= deadline {
            break;
        }
        let due = outbox
            .next_due_at()?
            .map(|t| (t - ctx.clock.device().now()).to_std().unwrap_or_default())
            .unwrap_or(Duration::from_millis(200));
        let pause = due
            .max(Duration::from_millis(50))
            .min(deadline.saturating_duration_since(now));
        tracing::info!(?pause, outcome = %sum.outcome, "sync: waiting to retry");
        tokio::time::sleep(pause).await;
    }
    let stats = outbox.stats()?;
    sum.left = stats.pending_entries();
    if let Ok(t) = listener.0.lock() {
        sum.duplicates = t.punch_duplicates + sum.points_duplicate;
        sum.punches = t.punches.clone();
    }
    ctx.state.last_sync = Some(ctx.clock.now());
    ctx.state.last_sync_outcome = Some(sum.outcome.clone());
    Ok(sum)
}

fn summary_json(s: &SyncSummary) -> serde_json::Value {
    json!({
        "sent": s.sent,
        "duplicates": s.duplicates,
        "points_accepted": s.points_accepted,
        "points_duplicate": s.points_duplicate,
        "points_rejected": s.points_rejected,
        "dead_lettered": s.dead_lettered,
        "left": s.left,
        "outcome": s.outcome,
    })
}

fn summary_text(s: &SyncSummary) -> String {
    format!(
        "sent {} (duplicates {}), points accepted {} (duplicate {}, refused {}), dead-lettered {}, left {} — {}",
        s.sent,
        s.duplicates,
        s.points_accepted,
        s.points_duplicate,
        s.points_rejected,
        s.dead_lettered,
        s.left,
        s.outcome
    )
}

/// `faceid client …`
pub fn run(args: ClientArgs) -> anyhow::Result<std::process::ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(args))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn run_async(args: ClientArgs) -> Result<(), ClientError> {
    let mut ctx = Ctx::load(&args)?;
    let result = match ctx.open_app().await {
        Ok(()) => command(&mut ctx, args.command).await,
        Err(e) => Err(e),
    };
    // Keep what was learned (server offset, policy, last sync) even when the command failed.
    let saved = ctx.save();
    result.and(saved)
}

async fn command(ctx: &mut Ctx, command: ClientCommand) -> Result<(), ClientError> {
    match command {
        ClientCommand::Login { login } => login_cmd(ctx, &login).await,
        ClientCommand::Logout => logout_cmd(ctx).await,
        ClientCommand::Whoami => whoami_cmd(ctx).await,
        ClientCommand::Consent {
            action,
            kind,
            no_sync,
        } => consent_cmd(ctx, action, kind, no_sync).await,
        ClientCommand::Enrol { photos, no_sync } => enrol_cmd(ctx, &photos, no_sync).await,
        ClientCommand::CheckIn(p) => punch_cmd(ctx, PunchKind::In, &p).await,
        ClientCommand::CheckOut(p) => punch_cmd(ctx, PunchKind::Out, &p).await,
        ClientCommand::Track(t) => track_cmd(ctx, &t).await,
        ClientCommand::Sync { wait } => sync_cmd(ctx, wait).await,
        ClientCommand::Status => status_cmd(ctx).await,
        ClientCommand::History(p) => history_cmd(ctx, &p).await,
        ClientCommand::Locations(p) => locations_cmd(ctx, &p).await,
    }
}

fn read_password() -> Result<String, ClientError> {
    if let Ok(p) = std::env::var("FACEID_PASSWORD")
        && !p.is_empty()
    {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(io_err(Path::new("<stdin>")))?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        return Err(ClientError::NoPassword);
    }
    Ok(p)
}

fn user_json(u: &CurrentUser) -> serde_json::Value {
    serde_json::to_value(u).unwrap_or_default()
}

fn user_text(u: &CurrentUser) -> String {
    let role = serde_json::to_value(u.role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!(
        "{} {} ({}, {role}), id {}",
        u.first_name, u.last_name, u.login, u.id
    )
}

/// Refresh the cached tracking policy and consents (best effort: offline keeps the cache).
async fn refresh_caches(ctx: &mut Ctx, session: &Session) {
    match session
        .call_json::<(), TrackingPolicy>(reqwest::Method::GET, TRACKING_POLICY_PATH, None)
        .await
    {
        Ok(p) => ctx.state.policy = Some(p),
        Err(e) => tracing::info!(error = %e, "tracking policy not refreshed"),
    }
    match session
        .call_json::<(), ConsentState>(reqwest::Method::GET, MY_CONSENTS_PATH, None)
        .await
    {
        Ok(c) => {
            for (name, kind) in [
                ("biometric", ConsentKind::Biometric),
                ("location", ConsentKind::Location),
            ] {
                ctx.state
                    .consents
                    .insert(name.to_owned(), c.is_granted(kind));
            }
        }
        Err(e) => tracing::info!(error = %e, "consents not refreshed"),
    }
}

async fn login_cmd(ctx: &mut Ctx, login: &str) -> Result<(), ClientError> {
    let server = ctx.server()?;
    let password = read_password()?;
    let app = ctx.app()?;
    let session = app.session().clone();
    let user = app.login(login, &password).await?;
    ctx.state.server =
        Some(faceid_client::http::normalise_base(&server).map_err(SessionError::from)?);
    if ctx.state.employee != Some(user.id) {
        ctx.state.policy = None;
        ctx.state.consents.clear();
    }
    ctx.state.employee = Some(user.id);
    ctx.state.login = Some(user.login.clone());
    refresh_caches(ctx, &session).await;
    // Descriptors for instant 1:1 feedback at check-in; none before enrolment.
    if let Err(e) = app.refresh_descriptors().await {
        tracing::info!(error = %e, "descriptors not cached");
    }
    ctx.print(
        &json!({"user": user_json(&user), "server": ctx.state.server}),
        &format!("logged in: {}", user_text(&user)),
    );
    Ok(())
}

async fn logout_cmd(ctx: &mut Ctx) -> Result<(), ClientError> {
    let app = ctx.app()?;
    let left = match ctx.outbox() {
        Ok(o) => o.stats()?.pending_entries(),
        Err(_) => 0,
    };
    app.logout().await?;
    ctx.print(
        &json!({"logged_out": true, "queued_entries_kept": left}),
        &format!("logged out ({left} queued entries kept for the next login)"),
    );
    Ok(())
}

async fn whoami_cmd(ctx: &mut Ctx) -> Result<(), ClientError> {
    let app = ctx.app()?;
    match app.session().state().await {
        SessionState::LoggedOut => return Err(ClientError::NotLoggedIn),
        SessionState::AuthRequired { .. } => return Err(SessionError::AuthRequired.into()),
        SessionState::Active(_) => {}
    }
    let known = app.current_user().await?.ok_or(ClientError::NotLoggedIn)?;
    let (user, online) = (known.user, known.online);
    let suffix = if online { "" } else { " (offline: as stored)" };
    ctx.print(
        &json!({"user": user_json(&user), "online": online}),
        &format!("{}{suffix}", user_text(&user)),
    );
    Ok(())
}

/// After queueing: one sync pass (unless told not to); returns its summary, or `None` when the
/// pass could not start (e.g. logged out), which leaves the entry queued.
async fn try_sync(ctx: &mut Ctx, no_sync: bool) -> Option<SyncSummary> {
    if no_sync {
        return None;
    }
    match sync_outbox(ctx, None).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "not synced now; the entry stays queued");
            None
        }
    }
}

fn queued_line(what: &str, key: Uuid, sync: &Option<SyncSummary>) -> String {
    match sync {
        Some(s) => format!("{what} queued ({key}); sync: {}", summary_text(s)),
        None => format!("{what} queued ({key}); not synced yet"),
    }
}

async fn consent_cmd(
    ctx: &mut Ctx,
    action: ConsentActionArg,
    kind: ConsentKindArg,
    no_sync: bool,
) -> Result<(), ClientError> {
    let app = ctx.app().map_err(|_| ClientError::NotLoggedIn)?;
    let (kind, name) = match kind {
        ConsentKindArg::Biometric => (ConsentKind::Biometric, "biometric"),
        ConsentKindArg::Location => (ConsentKind::Location, "location"),
    };
    let action = match action {
        ConsentActionArg::Grant => ConsentAction::Grant,
        ConsentActionArg::Withdraw => ConsentAction::Withdraw,
    };
    let key = app.queue_consent(kind, action, None)?;
    // The device acts on the employee's choice at once (the recorder stops on a withdrawal).
    ctx.state
        .consents
        .insert(name.to_owned(), action == ConsentAction::Grant);
    let sync = try_sync(ctx, no_sync).await;
    ctx.print(
        &json!({"queued": key, "kind": name, "action": format!("{action:?}").to_lowercase(),
                "sync": sync.as_ref().map(summary_json)}),
        &queued_line(&format!("{name} consent {action:?}"), key, &sync).to_lowercase(),
    );
    Ok(())
}

async fn enrol_cmd(ctx: &mut Ctx, photos: &[PathBuf], no_sync: bool) -> Result<(), ClientError> {
    let app = ctx.app().map_err(|_| ClientError::NotLoggedIn)?;
    app.outbox()?;
    let mut bytes = Vec::with_capacity(photos.len());
    for p in photos {
        bytes.push(std::fs::read(p).map_err(io_err(p))?);
    }
    let key = app.queue_enrolment(bytes)?;
    let sync = try_sync(ctx, no_sync).await;
    if sync
        .as_ref()
        .is_some_and(|s| s.left == 0 && s.dead_lettered == 0)
        && let Err(e) = app.refresh_descriptors().await
    {
        tracing::info!(error = %e, "descriptors not cached");
    }
    ctx.print(
        &json!({"queued": key, "photos": photos.len(), "sync": sync.as_ref().map(summary_json)}),
        &queued_line(
            &format!("enrolment of {} photo(s)", photos.len()),
            key,
            &sync,
        ),
    );
    Ok(())
}

fn decode_photo(path: &Path) -> Result<image::RgbImage, ClientError> {
    decode_file(path, &Default::default())
        .map(|d| d.rgb)
        .map_err(|source| ClientError::Photo {
            path: path.to_owned(),
            source,
        })
}

async fn punch_cmd(ctx: &mut Ctx, kind: PunchKind, p: &PunchArgs) -> Result<(), ClientError> {
    let app = ctx.app().map_err(|_| ClientError::NotLoggedIn)?;
    app.outbox()?;
    let gps = match (p.lat, p.lon) {
        (Some(lat), Some(lon)) => Some(GpsFix {
            lat,
            lon,
            accuracy_m: p.accuracy,
            fix_time: ctx.clock.now(),
            mock: p.mock,
            provider: LocationProvider::Gps,
        }),
        (None, None) => None,
        _ => {
            return Err(ClientError::Usage {
                what: "location",
                reason: "give both --lat and --lon, or neither".to_owned(),
            });
        }
    };
    if let Some(g) = &gps {
        g.validate(ctx.clock.now())
            .map_err(|e| ClientError::Usage {
                what: "location",
                reason: e.to_string(),
            })?;
    }
    // Decode every frame before anything is captured or queued.
    let photo = decode_photo(&p.photo)?;
    let mut frames = Vec::with_capacity(p.frames.len());
    for f in &p.frames {
        frames.push(decode_photo(f)?);
    }
    let engine = ctx.engine()?;
    let enrolled = app.enrolled_descriptors()?;
    // A challenge only when online and frames to answer it were given.
    let challenge = if frames.is_empty() {
        None
    } else {
        match faceid_client::checkin::request_challenge(app.session()).await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "no challenge (offline?): passive liveness only");
                None
            }
        }
    };
    let cfg = FaceSessionConfig::default();
    let mut capture = match &challenge {
        Some(c) => FaceSession::with_challenge(engine, enrolled, c, cfg)?,
        None => FaceSession::new(engine, enrolled, cfg),
    };
    let start_ms = u64::try_from(ctx.clock.device().now().timestamp_millis()).unwrap_or(0);
    let mut last_hints = Vec::new();
    for (i, img) in std::iter::once(photo).chain(frames).enumerate() {
        // Frames a third of a second apart, as a camera would deliver them.
        let fb = capture.push_rgb(img, start_ms + 333 * i as u64)?;
        last_hints = fb.hints.iter().map(|h| h.code().to_owned()).collect();
    }
    let captured = capture.finish()?;
    let key = app.seal_punch(&captured, kind, gps)?;
    let local = json!({
        "face_distance": captured.verification.as_ref().map(|v| v.distance),
        "same_person": captured.verification.as_ref().map(|v| v.same),
        "passive_liveness": captured.measurement.passive.as_ref().map(|l| l.score),
        "challenge": captured.challenge.as_ref().map(|c| c.passed),
        "hints": last_hints,
    });
    let sync = try_sync(ctx, p.no_sync).await;
    let server: Option<CheckInResponse> = sync.as_ref().and_then(|s| {
        s.punches
            .iter()
            .find(|(k, _, _)| *k == key)
            .and_then(|(_, _, body)| serde_json::from_str(body).ok())
    });
    let local_text = match &captured.verification {
        Some(v) => format!(
            "local: {} (distance {:.3}), passive liveness {}",
            if v.same { "match" } else { "NO MATCH" },
            v.distance,
            captured
                .measurement
                .passive
                .as_ref()
                .map_or("-".to_owned(), |l| format!("{:.2}", l.score))
        ),
        None => "local: no cached descriptors (enrol and sync first); the server decides".into(),
    };
    let server_text = match (&server, &sync) {
        (Some(r), _) => format!(
            "server: {:?}{}",
            r.verdict,
            if r.reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.reasons.join(", "))
            }
        )
        .to_lowercase(),
        (None, Some(s)) => format!("server: not delivered yet ({})", s.outcome),
        (None, None) => "server: not delivered yet".to_owned(),
    };
    let what = match kind {
        PunchKind::In => "check-in",
        PunchKind::Out => "check-out",
    };
    ctx.print(
        &json!({"queued": key, "kind": what, "local": local, "server": server,
                "sync": sync.as_ref().map(summary_json)}),
        &format!("{what} sealed ({key})\n{local_text}\n{server_text}"),
    );
    Ok(())
}

/// Fixes of a GPX or CSV file. The whole file is read and checked before anything is stored,
/// so a bad file changes nothing.
pub fn read_track(
    gpx: Option<&Path>,
    csv: Option<&Path>,
) -> Result<Vec<LocationPoint>, ClientError> {
    let (path, fixes) = match (gpx, csv) {
        (Some(p), None) => (p, read_gpx(p)?),
        (None, Some(p)) => (p, read_csv(p)?),
        _ => {
            return Err(ClientError::Usage {
                what: "track",
                reason: "give exactly one of --gpx FILE or --csv FILE".to_owned(),
            });
        }
    };
    if fixes.is_empty() {
        return Err(ClientError::Track {
            path: path.to_owned(),
            reason: "no track points".to_owned(),
        });
    }
    if fixes.len() > MAX_TRACK_FIXES {
        return Err(ClientError::Track {
            path: path.to_owned(),
            reason: format!("{} points; at most {MAX_TRACK_FIXES}", fixes.len()),
        });
    }
    // Coordinates and times must be valid as such; the recorder judges the rest (policy,
    // accuracy, order) and reports it per fix.
    let now = Utc::now();
    for (i, f) in fixes.iter().enumerate() {
        f.validate(now).map_err(|e| ClientError::Track {
            path: path.to_owned(),
            reason: format!("point {}: {e}", i + 1),
        })?;
    }
    Ok(fixes)
}

fn point(recorded_at: DateTime<Utc>, lat: f64, lon: f64, accuracy: f64) -> LocationPoint {
    LocationPoint {
        recorded_at,
        lat,
        lon,
        accuracy,
        speed: None,
        bearing: None,
        altitude: None,
        mock: false,
        jump: false,
        battery: None,
    }
}

fn read_gpx(path: &Path) -> Result<Vec<LocationPoint>, ClientError> {
    let bad = |reason: String| ClientError::Track {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let doc = gpx::read(std::io::BufReader::new(file))
        .map_err(|e| bad(format!("not a valid GPX file: {e}")))?;
    let mut out = Vec::new();
    for (n, w) in doc
        .tracks
        .iter()
        .flat_map(|t| t.segments.iter())
        .flat_map(|s| s.points.iter())
        .enumerate()
    {
        let t = w
            .time
            .as_ref()
            .ok_or_else(|| bad(format!("track point {} has no <time>", n + 1)))?;
        let text = t
            .format()
            .map_err(|e| bad(format!("track point {}: {e}", n + 1)))?;
        let at = DateTime::parse_from_rfc3339(&text)
            .map_err(|e| bad(format!("track point {}: time {text}: {e}", n + 1)))?
            .with_timezone(&Utc);
        let p = w.point();
        // GPX has no accuracy radius; HDOP × 5 m is the usual rough conversion.
        let accuracy = w.hdop.map_or(10.0, |h| (h * 5.0).max(1.0));
        let mut fix = point(at, p.y(), p.x(), accuracy);
        fix.altitude = w.elevation;
        fix.speed = w.speed;
        out.push(fix);
    }
    Ok(out)
}

fn read_csv(path: &Path) -> Result<Vec<LocationPoint>, ClientError> {
    let bad = |reason: String| ClientError::Track {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers = rdr
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            bad(format!(
                "missing column {name:?} (need recorded_at, lat, lon, accuracy)"
            ))
        })
    };
    let (ti, la, lo, ac) = (
        col("recorded_at")?,
        col("lat")?,
        col("lon")?,
        col("accuracy")?,
    );
    let mut out = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| bad(format!("line {line}: {e}")))?;
        let field = |i: usize| rec.get(i).unwrap_or("");
        let num = |i: usize, name: &str| {
            field(i).parse::<f64>().map_err(|_| {
                bad(format!(
                    "line {line}: {name} {:?} is not a number",
                    field(i)
                ))
            })
        };
        let at = DateTime::parse_from_rfc3339(field(ti))
            .map_err(|e| bad(format!("line {line}: recorded_at {:?}: {e}", field(ti))))?
            .with_timezone(&Utc);
        out.push(point(
            at,
            num(la, "lat")?,
            num(lo, "lon")?,
            num(ac, "accuracy")?,
        ));
    }
    Ok(out)
}

fn reason_code(d: &Decision) -> Option<String> {
    match d {
        Decision::Recorded { .. } => None,
        Decision::Dropped(r) => {
            let s = format!("{r:?}");
            let end = s.find([' ', '(', '{']).unwrap_or(s.len());
            Some(s[..end].to_owned())
        }
    }
}

async fn track_cmd(ctx: &mut Ctx, t: &TrackArgs) -> Result<(), ClientError> {
    let fixes = read_track(t.gpx.as_deref(), t.csv.as_deref())?;
    let outbox = ctx.outbox()?;
    // The newest policy and consents when online; the cached ones otherwise.
    if let Ok(session) = ctx.session()
        && matches!(session.state().await, SessionState::Active(_))
    {
        refresh_caches(ctx, &session).await;
    }
    let policy = ctx.state.policy.clone().ok_or(ClientError::NoPolicy)?;
    let consent = ctx.state.consents.get("location").copied().unwrap_or(false);
    let now = ctx.clock.now();
    let (decisions, s) = ctx.app()?.with_recorder(|recorder| {
        recorder.set_policy(policy)?;
        recorder.set_consent(consent);
        let decisions = recorder.record_many(&fixes, now)?;
        Ok::<_, RecorderError>((decisions, recorder.stats()))
    })??;
    let mut dropped: BTreeMap<String, u64> = BTreeMap::new();
    for d in &decisions {
        if let Some(code) = reason_code(d) {
            *dropped.entry(code).or_default() += 1;
        }
    }
    let stats = outbox.stats()?;
    ctx.print(
        &json!({"received": s.received, "recorded": s.recorded, "dropped": dropped,
                "flagged_mock": s.flagged_mock, "flagged_jump": s.flagged_jump,
                "batches": s.batches, "staged_points": stats.staged_points,
                "queued_batches": stats.location_batch}),
        &format!(
            "{} fixes: {} recorded ({} mock, {} jumps), {} dropped {:?}; {} batch(es) queued, {} points staged",
            s.received,
            s.recorded,
            s.flagged_mock,
            s.flagged_jump,
            s.dropped,
            dropped,
            stats.location_batch,
            stats.staged_points
        ),
    );
    Ok(())
}

async fn sync_cmd(ctx: &mut Ctx, wait: Option<f64>) -> Result<(), ClientError> {
    let wait = match wait {
        Some(w) if w.is_finite() && (0.0..=86_400.0).contains(&w) => {
            Some(Duration::from_secs_f64(w))
        }
        Some(w) => {
            return Err(ClientError::Usage {
                what: "--wait",
                reason: format!("{w} is not between 0 and 86400 seconds"),
            });
        }
        None => None,
    };
    let s = sync_outbox(ctx, wait).await?;
    if let Ok(session) = ctx.session() {
        refresh_caches(ctx, &session).await;
    }
    ctx.print(&summary_json(&s), &summary_text(&s));
    Ok(())
}

async fn status_cmd(ctx: &mut Ctx) -> Result<(), ClientError> {
    let session = ctx.session().ok();
    let session_state = match &session {
        Some(s) => match s.state().await {
            SessionState::Active(u) => json!({"state": "active", "user": user_json(&u)}),
            SessionState::AuthRequired { employee } => {
                json!({"state": "auth_required", "employee": employee})
            }
            SessionState::LoggedOut => json!({"state": "logged_out"}),
        },
        None => json!({"state": "logged_out"}),
    };
    let (outbox, dead) = match ctx.outbox() {
        Ok(o) => {
            let s = o.stats()?;
            let dead: Vec<serde_json::Value> = o
                .dead_letters()?
                .into_iter()
                .map(|d| {
                    json!({"key": d.idempotency_key, "kind": d.kind, "status": d.status,
                           "code": d.code, "reason": d.reason, "failed_at": d.failed_at})
                })
                .collect();
            (
                json!({"consent": s.consent, "enrolment": s.enrolment, "punch": s.punch,
                       "location_batch": s.location_batch, "staged_points": s.staged_points,
                       "dead_letters": s.dead_letters}),
                dead,
            )
        }
        Err(ClientError::NotLoggedIn) => (json!(null), Vec::new()),
        Err(e) => return Err(e),
    };
    let v = json!({
        "server": ctx.state.server,
        "device_id": ctx.state.device_id,
        "session": session_state,
        "outbox": outbox,
        "dead_letters": dead,
        "last_sync": ctx.state.last_sync,
        "last_sync_outcome": ctx.state.last_sync_outcome,
        "server_offset_ms": ctx.state.server_offset_ms,
        "consents": ctx.state.consents,
        "tracking_policy": ctx.state.policy,
    });
    let mut text = format!(
        "server: {}\nsession: {}\noutbox: {}\nlast sync: {} ({})\nserver time offset: {}",
        ctx.state.server.as_deref().unwrap_or("-"),
        session_state["state"].as_str().unwrap_or("-"),
        outbox,
        ctx.state
            .last_sync
            .map_or("never".to_owned(), |t| t.to_rfc3339()),
        ctx.state.last_sync_outcome.as_deref().unwrap_or("-"),
        ctx.state
            .server_offset_ms
            .map_or("unknown".to_owned(), |ms| format!("{ms} ms")),
    );
    for d in &dead {
        text.push_str(&format!(
            "\ndead letter: {} {} — {} {}",
            d["kind"].as_str().unwrap_or(""),
            d["key"].as_str().unwrap_or(""),
            d["status"],
            d["reason"].as_str().unwrap_or("")
        ));
    }
    ctx.print(&v, &text);
    Ok(())
}

fn parse_time(what: &'static str, s: &str) -> Result<DateTime<Utc>, ClientError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| ClientError::Usage {
            what,
            reason: format!("{s:?} is neither RFC 3339 nor YYYY-MM-DD"),
        })
}

fn period(p: &PeriodArgs) -> Result<Period, ClientError> {
    Ok(Period::new(
        p.from
            .as_deref()
            .map(|s| parse_time("--from", s))
            .transpose()?,
        p.to.as_deref().map(|s| parse_time("--to", s)).transpose()?,
    ))
}

async fn history_cmd(ctx: &mut Ctx, p: &PeriodArgs) -> Result<(), ClientError> {
    let period = period(p)?;
    let session = ctx.session()?;
    let events = records::my_attendance(&session, period).await?;
    let mut text = format!("{} event(s)", events.len());
    for e in &events {
        text.push_str(&format!(
            "\n{}  {:?}  {:?}{}",
            e.occurred_at.to_rfc3339(),
            e.kind,
            e.verdict,
            if e.reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", e.reasons.join(", "))
            }
        ));
    }
    ctx.print(&serde_json::to_value(&events).unwrap_or_default(), &text);
    Ok(())
}

async fn locations_cmd(ctx: &mut Ctx, p: &PeriodArgs) -> Result<(), ClientError> {
    let period = period(p)?;
    let session = ctx.session()?;
    let points = records::my_track(&session, period).await?;
    let mut text = format!("{} point(s)", points.len());
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        text.push_str(&format!(
            " from {} to {}",
            first.point.recorded_at.to_rfc3339(),
            last.point.recorded_at.to_rfc3339()
        ));
        let flagged = points
            .iter()
            .filter(|p| p.point.mock || p.point.jump)
            .count();
        text.push_str(&format!(", {flagged} flagged (mock or jump)"));
    }
    ctx.print(&serde_json::to_value(&points).unwrap_or_default(), &text);
    Ok(())
}
