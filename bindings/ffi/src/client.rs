//! `FaceIdClient`: the session, the logged-in employee's outbox and location recorder, and sync,
//! behind one object the shells keep for the life of the app process.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use faceid_client::app::{self, App, AppConfig};
use faceid_client::checkin;
use faceid_client::clock::{Clock, ServerClock, SystemClock};
use faceid_client::consent;
use faceid_client::records;
use faceid_client::session::{Session, SessionConfig};
use faceid_client::store::SecureStore as CoreStore;
use faceid_client::sync::{
    DrainOutcome, NoopListener, SyncHandle, SyncListener, SyncProgress, SyncState,
};
use faceid_protocol::attendance::PunchKind;
use faceid_protocol::consent::{ConsentAction, ConsentKind};
use faceid_protocol::location::TrackingPolicy;
use uuid::Uuid;

use crate::admin::AdminConsole;
use crate::face::{FaceCapture, FaceEngine};
use crate::privacy::MyData;
use crate::records::{
    AttendanceEvent, ConsentStatus, ConsentTextInfo, RecordedLocation, Timesheet, period,
};
use crate::store::{DeviceKey, PlatformKey, PlatformStore, SecureStore};
use crate::types::{
    ConsentType, DeadLetterInfo, DeviceDescription, FixDecision, LocationFix, OutboxStatus,
    PunchDirection, SyncProgressInfo, SyncReport, SyncStatus, TrackingPolicyInfo, User, to_system,
    uuid,
};
use crate::{FaceIdError, runtime};

/// Told once when the session ends without the user logging out (refresh token revoked,
/// reused elsewhere, expired, account disabled): show the login screen. Queued entries stay
/// and are sent after the same employee logs in again.
#[uniffi::export(with_foreign)]
pub trait SessionExpiredListener: Send + Sync {
    fn on_session_expired(&self, employee_id: String);
}

/// Receives the sync task's state and progress (called on a background thread: post to the
/// main thread yourself).
#[uniffi::export(with_foreign)]
pub trait SyncStateListener: Send + Sync {
    fn on_state(&self, state: SyncStatus);
    fn on_progress(&self, progress: SyncProgressInfo);
}

/// The app's expiry listener as the core's.
struct ForeignExpiry(Arc<dyn SessionExpiredListener>);

impl app::SessionExpiredListener for ForeignExpiry {
    fn on_session_expired(&self, employee: Uuid) {
        self.0.on_session_expired(employee.to_string());
    }
}

/// The app's sync listener as the core's.
struct ForeignSync(Arc<dyn SyncStateListener>);

impl SyncListener for ForeignSync {
    fn on_state(&self, state: &SyncState) {
        self.0.on_state(state.into());
    }

    fn on_progress(&self, progress: &SyncProgress) {
        self.0.on_progress(progress.into());
    }
}

/// The core's [`App`] as the FFI objects share it.
pub(crate) struct Shared {
    pub(crate) app: App,
    pub(crate) session: Arc<Session>,
}

impl Shared {
    /// Map a core error; a session that just ended is reported to the listener first.
    pub(crate) async fn result<T, E: Into<FaceIdError>>(
        &self,
        r: Result<T, E>,
    ) -> Result<T, FaceIdError> {
        let r = r.map_err(Into::into);
        if matches!(r, Err(FaceIdError::SessionExpired)) {
            self.app.report_if_expired().await;
        }
        r
    }
}

/// The FaceID client: one per app process. A thin wrapper over the core's [`App`], which
/// assembles the parts and owns the lifecycle (restore, per-employee outbox, expiry).
#[derive(uniffi::Object)]
pub struct FaceIdClient {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FaceIdClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceIdClient")
            .field("app", &self.shared.app)
            .finish()
    }
}

impl FaceIdClient {
    fn app(&self) -> &App {
        &self.shared.app
    }

    fn session(&self) -> &Session {
        &self.shared.session
    }

    /// Map a core error, reporting a session that just ended to the listener.
    async fn session_result<T, E: Into<FaceIdError>>(
        &self,
        r: Result<T, E>,
    ) -> Result<T, FaceIdError> {
        self.shared.result(r).await
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl FaceIdClient {
    /// `server_url` as the person typed it (normalised like [`crate::normalize_server_url`]);
    /// `state_dir` is the app's private files directory (outbox databases live there);
    /// `store` keeps the tokens (Android Keystore / iOS Keychain). A stored session is restored.
    /// `device_key` is this installation's key pair (Android Keystore / Secure Enclave): with
    /// it every login and refresh proves the device (docs/device-keys.md); without it the
    /// client is refused where the employee has an allow-list.
    #[uniffi::constructor(default(device_key = None))]
    pub fn new(
        server_url: String,
        state_dir: String,
        device: DeviceDescription,
        store: Arc<dyn SecureStore>,
        device_key: Option<Arc<dyn DeviceKey>>,
    ) -> Result<Arc<Self>, FaceIdError> {
        let server = crate::normalize_server_url(server_url)?;
        let state_dir = std::path::PathBuf::from(state_dir);
        std::fs::create_dir_all(&state_dir).map_err(|e| FaceIdError::Storage {
            reason: format!("cannot create {}: {e}", state_dir.display()),
        })?;
        let device_clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
        let platform: Arc<dyn CoreStore> = Arc::new(PlatformStore(store));
        let mut session = SessionConfig::new(&server, device.try_into()?);
        session.device_key = device_key
            .map(|k| Arc::new(PlatformKey(k)) as Arc<dyn faceid_client::device_key::DeviceKey>);
        // The core restores a stored session and reopens that employee's outbox.
        let app = runtime().block_on(App::open(AppConfig {
            session,
            store: platform,
            outbox_dir: state_dir,
            clock: Arc::new(ServerClock::new(device_clock)),
            sync_lease: None,
        }))?;
        let session = app.session().clone();
        Ok(Arc::new(Self {
            shared: Arc::new(Shared { app, session }),
        }))
    }

    /// Log in; the tokens go to the platform store. Wrong credentials: `Unauthorized`.
    pub async fn login(&self, login: String, password: String) -> Result<User, FaceIdError> {
        Ok(self.app().login(&login, &password).await?.into())
    }

    /// Log out here and on the server (best effort when offline). Queued entries stay for the
    /// next login of the same employee.
    pub async fn logout(&self) -> Result<(), FaceIdError> {
        Ok(self.app().logout().await?)
    }

    /// The user as the server knows them now; the last known one when the server cannot be
    /// reached; `None` when nobody is logged in. `SessionExpired` (and the listener) when the
    /// server ended the session.
    pub async fn current_user(&self) -> Result<Option<User>, FaceIdError> {
        Ok(self.app().current_user().await?.map(|k| k.user.into()))
    }

    /// Change the password (a forced change after an administrator set it, or by choice).
    /// The server ends the user's other sessions; this one stays. A wrong current password:
    /// `Unauthorized` (`wrong_password`); a weak new one: `InvalidInput` (`weak_password`).
    pub async fn change_password(
        &self,
        current_password: String,
        new_password: String,
    ) -> Result<(), FaceIdError> {
        let r = self
            .session()
            .change_password(&current_password, &new_password)
            .await;
        self.session_result(r).await
    }

    /// The employee's own data: export, erasure and correction requests, restrictions,
    /// Telegram link.
    pub fn my_data(&self) -> Arc<MyData> {
        Arc::new(MyData {
            shared: self.shared.clone(),
        })
    }

    /// Whether a session is stored (no network).
    pub async fn is_logged_in(&self) -> bool {
        self.app().is_logged_in().await
    }

    /// Called once when the server ends the session (see [`SessionExpiredListener`]).
    pub fn set_session_expired_listener(&self, listener: Arc<dyn SessionExpiredListener>) {
        self.app()
            .set_session_expired_listener(Arc::new(ForeignExpiry(listener)));
    }

    /// Record a consent grant in the outbox (sent by the next sync; works offline).
    pub fn grant_consent(&self, kind: ConsentType) -> Result<(), FaceIdError> {
        self.consent(kind, ConsentAction::Grant, None)
    }

    /// Grant the consent of the text the employee was shown (`ConsentTextInfo.version`); if a
    /// newer text was published meanwhile, the server refuses it (a dead letter with
    /// `consent_text_outdated`) and the screen shows the new text.
    pub fn grant_consent_version(
        &self,
        kind: ConsentType,
        text_version: u32,
    ) -> Result<(), FaceIdError> {
        self.consent(kind, ConsentAction::Grant, Some(text_version))
    }

    /// Record a consent withdrawal; withdrawing location consent stops recording at once.
    pub fn withdraw_consent(&self, kind: ConsentType) -> Result<(), FaceIdError> {
        self.consent(kind, ConsentAction::Withdraw, None)
    }

    /// The server's current consent texts (a kind without one is absent).
    pub async fn consent_texts(&self) -> Result<Vec<ConsentTextInfo>, FaceIdError> {
        let r = consent::current_texts(self.session()).await;
        let texts = self.session_result(r).await?;
        Ok(texts.into_iter().map(Into::into).collect())
    }

    /// The employee's consents as the server's ledger holds them (the latest record per
    /// kind; grants still in the outbox are not there yet).
    pub async fn consent_statuses(&self) -> Result<Vec<ConsentStatus>, FaceIdError> {
        let r = consent::my_consents(self.session()).await;
        let state = self.session_result(r).await?;
        let mut latest: Vec<ConsentStatus> = Vec::new();
        for record in state.consents {
            let status = ConsentStatus {
                kind: record.kind.into(),
                granted: record.action == ConsentAction::Grant,
                text_version: record.text_version,
                at: to_system(record.at),
            };
            match latest.iter_mut().find(|s| s.kind == status.kind) {
                Some(s) if s.at < status.at => *s = status,
                Some(_) => {}
                None => latest.push(status),
            }
        }
        Ok(latest)
    }

    /// The employee's timesheet of `month` (`YYYY-MM`; `None`: the current month).
    pub async fn timesheet(&self, month: Option<String>) -> Result<Timesheet, FaceIdError> {
        let r = records::my_timesheet(self.session(), month.as_deref()).await;
        Ok(self.session_result(r).await?.into())
    }

    /// Feed one platform fix to the recorder; kept fixes are durable when this returns.
    pub fn record_fix(&self, fix: LocationFix) -> Result<FixDecision, FaceIdError> {
        tracing::trace!(provider = ?fix.provider, "fix");
        let now = self.app().device_clock().now();
        let decision = self.app().with_recorder(|r| r.record(fix.into(), now))??;
        Ok(decision.into())
    }

    /// The tracking policy the recorder applies (tracking off until one is applied).
    pub fn tracking_policy(&self) -> Result<TrackingPolicyInfo, FaceIdError> {
        Ok(self.app().with_recorder(|r| r.policy().into())?)
    }

    /// Apply the server's tracking policy; an invalid one is refused and the previous one stays.
    pub fn apply_tracking_policy(&self, policy: TrackingPolicyInfo) -> Result<(), FaceIdError> {
        let policy: TrackingPolicy = policy.try_into()?;
        self.app().with_recorder(|r| r.set_policy(policy))??;
        Ok(())
    }

    /// Counts per kind and the dead letters with the server's reasons.
    pub fn outbox_status(&self) -> Result<OutboxStatus, FaceIdError> {
        let outbox = self.app().outbox()?;
        let stats = outbox.stats()?;
        Ok(OutboxStatus {
            consent: stats.consent,
            enrolment: stats.enrolment,
            punch: stats.punch,
            location_batch: stats.location_batch,
            staged_points: stats.staged_points,
            dead_letters: outbox.dead_letters()?.into_iter().map(Into::into).collect(),
        })
    }

    /// The device's network came back: punches and points that waited out a backoff because
    /// the server could not be reached are due now (the next `sync_now` or the running sync
    /// task sends them; with a task, call its `network_available` instead, which also starts a
    /// pass). Entries the server itself deferred keep their time. Returns how many became due.
    pub fn network_available(&self) -> Result<u64, FaceIdError> {
        Ok(self.app().network_available()? as u64)
    }

    /// One sync pass now (staged fixes are sealed first); returns how it went.
    pub async fn sync_now(&self) -> Result<SyncReport, FaceIdError> {
        let report = self.app().sync_once(Arc::new(NoopListener)).await?;
        Ok(SyncReport {
            progress: (&report.progress).into(),
            outcome: match report.outcome {
                DrainOutcome::Empty => SyncStatus::Idle,
                DrainOutcome::WaitingUntil(t) => SyncStatus::WaitingUntil { at: to_system(t) },
                DrainOutcome::Offline(reason) => SyncStatus::Offline { reason },
                DrainOutcome::AuthRequired => SyncStatus::AuthRequired,
                DrainOutcome::Stopped => SyncStatus::Stopped,
            },
        })
    }

    /// Start a check-in capture. With `with_challenge`, the server issues the head movements
    /// to ask for (needs the network; `Network` offline: then capture without one).
    pub async fn start_capture(
        &self,
        engine: Arc<FaceEngine>,
        with_challenge: bool,
    ) -> Result<Arc<FaceCapture>, FaceIdError> {
        // The cached templates give instant 1:1 feedback; without them the server still checks.
        let enrolled = self.app().enrolled_descriptors()?;
        if !with_challenge {
            return FaceCapture::new(&engine, enrolled, None);
        }
        let challenge = checkin::request_challenge(self.session()).await;
        let challenge = self.session_result(challenge).await?;
        FaceCapture::new(&engine, enrolled, Some(&challenge))
    }

    /// Seal a finished capture as a punch in the outbox (evidence and frames in one
    /// transaction); the next sync sends it. Returns the punch's idempotency key. Works
    /// offline: the device clock and the monotonic time since the last sync go with it.
    pub fn seal_punch(
        &self,
        capture: Arc<FaceCapture>,
        direction: PunchDirection,
        fix: Option<LocationFix>,
    ) -> Result<String, FaceIdError> {
        self.app().outbox()?;
        let captured = capture.take_finished()?;
        let kind = match direction {
            PunchDirection::In => PunchKind::In,
            PunchDirection::Out => PunchKind::Out,
        };
        let gps = fix.map(LocationFix::into_gps_fix);
        let key = self.app().seal_punch(&captured, kind, gps)?;
        Ok(key.to_string())
    }

    /// Queue a face enrolment of 1–5 photos (JPEG, PNG or WebP bytes, one face each) for the
    /// next sync; works offline. Returns its idempotency key. The server's refusal (no face,
    /// liveness, possible duplicate, no biometric consent) shows up in `deadLetters()`.
    pub fn queue_enrolment(&self, photos: Vec<Vec<u8>>) -> Result<String, FaceIdError> {
        let key = self.app().queue_enrolment(photos)?;
        Ok(key.to_string())
    }

    /// Entries the server refused for good, with its reasons, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetterInfo>, FaceIdError> {
        Ok(self
            .app()
            .outbox()?
            .dead_letters()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Forget a dead letter once the user has seen it; `false` when there was none.
    pub fn discard_dead_letter(&self, idempotency_key: String) -> Result<bool, FaceIdError> {
        let key = uuid("idempotency key", &idempotency_key)?;
        Ok(self.app().outbox()?.discard_dead_letter(key)?)
    }

    /// Fetch the employee's enrolled descriptors into the secure store, for instant 1:1
    /// feedback in later captures (offline too). Returns how many templates are enrolled.
    pub async fn refresh_descriptors(&self) -> Result<u32, FaceIdError> {
        let cached = self.app().refresh_descriptors().await?;
        Ok(u32::try_from(cached.templates.len()).unwrap_or(u32::MAX))
    }

    /// The employee's attendance events in `[from, to)` as the server holds them, oldest
    /// first (the server's default range when open).
    pub async fn attendance_history(
        &self,
        from: Option<SystemTime>,
        to: Option<SystemTime>,
    ) -> Result<Vec<AttendanceEvent>, FaceIdError> {
        let r = records::my_attendance(self.session(), period(from, to)).await;
        let events = self.session_result(r).await?;
        Ok(events.into_iter().map(Into::into).collect())
    }

    /// The employee's stored locations in `[from, to)` (at most 31 days; default: the last
    /// 24 hours), oldest first, every page.
    pub async fn location_history(
        &self,
        from: Option<SystemTime>,
        to: Option<SystemTime>,
    ) -> Result<Vec<RecordedLocation>, FaceIdError> {
        let r = records::my_track(self.session(), period(from, to)).await;
        let points = self.session_result(r).await?;
        Ok(points.into_iter().map(Into::into).collect())
    }

    /// The administrator's and operator's functions over this session.
    pub fn admin(&self) -> Arc<AdminConsole> {
        Arc::new(AdminConsole {
            shared: self.shared.clone(),
        })
    }

    /// Start the background sync task: a pass now, then every `period_s` seconds and when a
    /// backoff ends. Keep the handle: dropping it (or `cancel()`) stops the task.
    pub fn start_sync(
        &self,
        listener: Arc<dyn SyncStateListener>,
        period_s: u32,
    ) -> Result<Arc<SyncTaskHandle>, FaceIdError> {
        if period_s == 0 {
            return Err(FaceIdError::InvalidInput {
                reason: "sync period must be at least 1 second".to_owned(),
            });
        }
        let _rt = runtime().enter();
        let engine = self.app().sync_engine(Arc::new(ForeignSync(listener)))?;
        let handle = SyncHandle::spawn(engine, Duration::from_secs(u64::from(period_s)));
        Ok(Arc::new(SyncTaskHandle {
            handle: Mutex::new(Some(handle)),
        }))
    }
}

impl FaceIdClient {
    fn consent(
        &self,
        kind: ConsentType,
        action: ConsentAction,
        text_version: Option<u32>,
    ) -> Result<(), FaceIdError> {
        self.app()
            .queue_consent(ConsentKind::from(kind), action, text_version)?;
        Ok(())
    }
}

/// A running sync task. `cancel()` stops it; so does dropping the handle (Kotlin `close()` /
/// `use {}`, Swift deinit). The listener's last state is `Stopped`.
#[derive(uniffi::Object)]
pub struct SyncTaskHandle {
    handle: Mutex<Option<SyncHandle>>,
}

impl std::fmt::Debug for SyncTaskHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncTaskHandle")
    }
}

#[uniffi::export]
impl SyncTaskHandle {
    /// Run a pass as soon as possible.
    pub fn sync_now(&self) {
        if let Ok(g) = self.handle.lock()
            && let Some(h) = g.as_ref()
        {
            h.sync_now();
        }
    }

    /// The device's network came back: what waited because the server could not be reached
    /// is due now, and a pass starts at once.
    pub fn network_available(&self) {
        if let Ok(g) = self.handle.lock()
            && let Some(h) = g.as_ref()
        {
            h.network_available();
        }
    }

    /// Stop the task (a request in flight is finished first). Idempotent.
    pub fn cancel(&self) {
        let handle = self.handle.lock().ok().and_then(|mut g| g.take());
        if let Some(h) = handle {
            runtime().spawn(h.stop());
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.handle.lock().map(|g| g.is_none()).unwrap_or(true)
    }
}

impl Drop for SyncTaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}
