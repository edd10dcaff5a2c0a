//! `FaceIdClient`: the session, the logged-in employee's outbox and location recorder, and sync,
//! behind one object the shells keep for the life of the app process.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use faceid_client::checkin;
use faceid_client::clock::{Clock, ServerClock, SystemClock};
use faceid_client::consent;
use faceid_client::enrolment;
use faceid_client::location::Recorder;
use faceid_client::outbox::{EntryKind, NewEntry, Outbox};
use faceid_client::records::{self, DescriptorCache};
use faceid_client::session::{Session, SessionConfig, SessionState};
use faceid_client::store::SecureStore as CoreStore;
use faceid_client::sync::{
    DrainOutcome, HttpTransport, SyncEngine, SyncHandle, SyncListener, SyncProgress, SyncState,
};
use faceid_protocol::attendance::PunchKind;
use faceid_protocol::consent::{ConsentAction, ConsentKind, ConsentRequest};
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

/// The logged-in employee's local state.
struct Employee {
    id: Uuid,
    outbox: Arc<Outbox>,
    recorder: Recorder,
}

pub(crate) struct Shared {
    pub(crate) session: Arc<Session>,
    expired_listener: Mutex<Option<Arc<dyn SessionExpiredListener>>>,
    /// The employee the expiry was last reported for (reported once per session).
    expired_reported: Mutex<Option<Uuid>>,
}

impl Shared {
    /// Map a core error; a session that just ended is reported to the listener first.
    pub(crate) async fn result<T, E: Into<FaceIdError>>(
        &self,
        r: Result<T, E>,
    ) -> Result<T, FaceIdError> {
        let r = r.map_err(Into::into);
        if matches!(r, Err(FaceIdError::SessionExpired)) {
            self.check_expired().await;
        }
        r
    }

    /// Report the end of the session if it just ended (once per session).
    async fn check_expired(&self) {
        let SessionState::AuthRequired { employee } = self.session.state().await else {
            return;
        };
        let listener = {
            let Ok(mut reported) = self.expired_reported.lock() else {
                return;
            };
            if *reported == Some(employee) {
                return;
            }
            *reported = Some(employee);
            self.expired_listener.lock().ok().and_then(|l| l.clone())
        };
        tracing::warn!(%employee, "session expired");
        if let Some(l) = listener {
            l.on_session_expired(employee.to_string());
        }
    }
}

/// The FaceID client: one per app process.
#[derive(uniffi::Object)]
pub struct FaceIdClient {
    shared: Arc<Shared>,
    state_dir: PathBuf,
    device_clock: Arc<dyn Clock>,
    /// The employee's enrolled descriptors, kept in the platform store.
    descriptors: DescriptorCache,
    employee: Mutex<Option<Employee>>,
}

impl std::fmt::Debug for FaceIdClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceIdClient")
            .field("server", &self.shared.session.server())
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

fn login_first() -> FaceIdError {
    FaceIdError::SessionExpired
}

impl FaceIdClient {
    fn session(&self) -> &Session {
        &self.shared.session
    }

    fn employee(&self) -> Result<std::sync::MutexGuard<'_, Option<Employee>>, FaceIdError> {
        self.employee.lock().map_err(|_| FaceIdError::Internal {
            reason: "client state lock poisoned".to_owned(),
        })
    }

    /// Open (or keep) the outbox and recorder of `id`.
    fn open_employee(&self, id: Uuid) -> Result<(), FaceIdError> {
        let mut guard = self.employee()?;
        if guard.as_ref().is_some_and(|e| e.id == id) {
            return Ok(());
        }
        let outbox = Arc::new(Outbox::open_in(&self.state_dir, id)?);
        let recorder = Recorder::new(outbox.clone())?;
        *guard = Some(Employee {
            id,
            outbox,
            recorder,
        });
        Ok(())
    }

    fn outbox(&self) -> Result<Arc<Outbox>, FaceIdError> {
        self.employee()?
            .as_ref()
            .map(|e| e.outbox.clone())
            .ok_or_else(login_first)
    }

    /// Map a core error, reporting a session that just ended to the listener.
    async fn session_result<T, E: Into<FaceIdError>>(
        &self,
        r: Result<T, E>,
    ) -> Result<T, FaceIdError> {
        self.shared.result(r).await
    }

    fn employee_id(&self) -> Result<Uuid, FaceIdError> {
        self.employee()?
            .as_ref()
            .map(|e| e.id)
            .ok_or_else(login_first)
    }

    fn engine(
        &self,
        listener: Arc<dyn SyncListener>,
    ) -> Result<SyncEngine<HttpTransport, Session>, FaceIdError> {
        let outbox = self.outbox()?;
        Ok(SyncEngine::new(
            outbox,
            Arc::new(HttpTransport::for_session(self.session())),
            self.shared.session.clone(),
            listener,
            self.device_clock.clone(),
        ))
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
        let state_dir = PathBuf::from(state_dir);
        std::fs::create_dir_all(&state_dir).map_err(|e| FaceIdError::Storage {
            reason: format!("cannot create {}: {e}", state_dir.display()),
        })?;
        let device_clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
        let clock = Arc::new(ServerClock::new(device_clock.clone()));
        let platform: Arc<dyn CoreStore> = Arc::new(PlatformStore(store));
        let mut config = SessionConfig::new(&server, device.try_into()?);
        config.device_key = device_key
            .map(|k| Arc::new(PlatformKey(k)) as Arc<dyn faceid_client::device_key::DeviceKey>);
        let session = Session::new(config, platform.clone(), clock)?;
        let client = Arc::new(Self {
            shared: Arc::new(Shared {
                session: Arc::new(session),
                expired_listener: Mutex::new(None),
                expired_reported: Mutex::new(None),
            }),
            state_dir,
            device_clock,
            descriptors: DescriptorCache::new(platform),
            employee: Mutex::new(None),
        });
        // A restored session: reopen that employee's outbox so offline work can go on.
        let restored = runtime().block_on(client.session().current_user());
        if let Some(user) = restored {
            client.open_employee(user.id)?;
        }
        Ok(client)
    }

    /// Log in; the tokens go to the platform store. Wrong credentials: `Unauthorized`.
    pub async fn login(&self, login: String, password: String) -> Result<User, FaceIdError> {
        let user = self.session().login(&login, &password).await?;
        if let Ok(mut r) = self.shared.expired_reported.lock() {
            *r = None;
        }
        self.open_employee(user.id)?;
        Ok(user.into())
    }

    /// Log out here and on the server (best effort when offline). Queued entries stay for the
    /// next login of the same employee.
    pub async fn logout(&self) -> Result<(), FaceIdError> {
        let employee = self.employee_id().ok();
        self.session().logout().await?;
        *self.employee()? = None;
        // Biometric data does not outlive the session on the device.
        if let Some(id) = employee
            && let Err(e) = self.descriptors.clear(id)
        {
            tracing::warn!(error = %e, "could not clear the cached descriptors");
        }
        Ok(())
    }

    /// The user as the server knows them now; the last known one when the server cannot be
    /// reached; `None` when nobody is logged in. `SessionExpired` (and the listener) when the
    /// server ended the session.
    pub async fn current_user(&self) -> Result<Option<User>, FaceIdError> {
        if self.session().current_user().await.is_none() {
            return Ok(None);
        }
        match self.session().fetch_me().await {
            Ok(u) => Ok(Some(u.into())),
            Err(e) if e.is_transient() => {
                tracing::info!(error = %e, "server unreachable; last known user");
                Ok(self.session().current_user().await.map(User::from))
            }
            Err(e) => self.session_result(Err(e)).await,
        }
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
        self.session().current_user().await.is_some()
    }

    /// Called once when the server ends the session (see [`SessionExpiredListener`]).
    pub fn set_session_expired_listener(&self, listener: Arc<dyn SessionExpiredListener>) {
        if let Ok(mut l) = self.shared.expired_listener.lock() {
            *l = Some(listener);
        }
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
        let now = self.device_clock.now();
        let mut guard = self.employee()?;
        let employee = guard.as_mut().ok_or_else(login_first)?;
        Ok(employee.recorder.record(fix.into(), now)?.into())
    }

    /// The tracking policy the recorder applies (tracking off until one is applied).
    pub fn tracking_policy(&self) -> Result<TrackingPolicyInfo, FaceIdError> {
        let guard = self.employee()?;
        let employee = guard.as_ref().ok_or_else(login_first)?;
        Ok(employee.recorder.policy().into())
    }

    /// Apply the server's tracking policy; an invalid one is refused and the previous one stays.
    pub fn apply_tracking_policy(&self, policy: TrackingPolicyInfo) -> Result<(), FaceIdError> {
        let policy: TrackingPolicy = policy.try_into()?;
        let mut guard = self.employee()?;
        let employee = guard.as_mut().ok_or_else(login_first)?;
        employee.recorder.set_policy(policy)?;
        Ok(())
    }

    /// Counts per kind and the dead letters with the server's reasons.
    pub fn outbox_status(&self) -> Result<OutboxStatus, FaceIdError> {
        let outbox = self.outbox()?;
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
        let outbox = self.outbox()?;
        let n = outbox.retry_unreachable_now(self.device_clock.now())?;
        Ok(n as u64)
    }

    /// One sync pass now (staged fixes are sealed first); returns how it went.
    pub async fn sync_now(&self) -> Result<SyncReport, FaceIdError> {
        let listener = Arc::new(ExpiryWatch {
            shared: self.shared.clone(),
            inner: None,
        });
        let engine = self.engine(listener)?;
        let stop = std::sync::atomic::AtomicBool::new(false);
        let report = engine.drain(&stop).await?;
        if report.outcome == DrainOutcome::AuthRequired {
            self.shared.check_expired().await;
        }
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
        self.outbox()?;
        // The cached templates give instant 1:1 feedback; without them the server still checks.
        let enrolled = self.descriptors.descriptors(self.employee_id()?);
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
        let outbox = self.outbox()?;
        let captured = capture.take_finished()?;
        let kind = match direction {
            PunchDirection::In => PunchKind::In,
            PunchDirection::Out => PunchKind::Out,
        };
        let gps = fix.map(LocationFix::into_gps_fix);
        let key =
            checkin::seal_punch(&outbox, &captured, kind, gps, self.session().server_clock())?;
        Ok(key.to_string())
    }

    /// Queue a face enrolment of 1–5 photos (JPEG, PNG or WebP bytes, one face each) for the
    /// next sync; works offline. Returns its idempotency key. The server's refusal (no face,
    /// liveness, possible duplicate, no biometric consent) shows up in `deadLetters()`.
    pub fn queue_enrolment(&self, photos: Vec<Vec<u8>>) -> Result<String, FaceIdError> {
        let outbox = self.outbox()?;
        let key = enrolment::queue_enrolment(&outbox, photos, self.device_clock.now())?;
        Ok(key.to_string())
    }

    /// Entries the server refused for good, with its reasons, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetterInfo>, FaceIdError> {
        Ok(self
            .outbox()?
            .dead_letters()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Forget a dead letter once the user has seen it; `false` when there was none.
    pub fn discard_dead_letter(&self, idempotency_key: String) -> Result<bool, FaceIdError> {
        let key = uuid("idempotency key", &idempotency_key)?;
        Ok(self.outbox()?.discard_dead_letter(key)?)
    }

    /// Fetch the employee's enrolled descriptors into the secure store, for instant 1:1
    /// feedback in later captures (offline too). Returns how many templates are enrolled.
    pub async fn refresh_descriptors(&self) -> Result<u32, FaceIdError> {
        self.outbox()?;
        let r = self.descriptors.refresh(self.session()).await;
        let cached = self.session_result(r).await?;
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
        let engine = self.engine(Arc::new(ExpiryWatch {
            shared: self.shared.clone(),
            inner: Some(listener),
        }))?;
        let _rt = runtime().enter();
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
        let kind = ConsentKind::from(kind);
        let body = ConsentRequest {
            kind,
            action,
            text_version,
        };
        let now = self.device_clock.now();
        let mut guard = self.employee()?;
        let employee = guard.as_mut().ok_or_else(login_first)?;
        employee
            .outbox
            .enqueue(&NewEntry::json(EntryKind::Consent, &body)?, now)?;
        if kind == ConsentKind::Location {
            employee
                .recorder
                .set_consent(action == ConsentAction::Grant);
        }
        Ok(())
    }
}

/// Forwards sync state to the app's listener and reports a session that ended mid-sync.
struct ExpiryWatch {
    shared: Arc<Shared>,
    inner: Option<Arc<dyn SyncStateListener>>,
}

impl SyncListener for ExpiryWatch {
    fn on_state(&self, state: &SyncState) {
        if *state == SyncState::AuthRequired {
            let shared = self.shared.clone();
            runtime().spawn(async move { shared.check_expired().await });
        }
        if let Some(l) = &self.inner {
            l.on_state(state.into());
        }
    }

    fn on_progress(&self, progress: &SyncProgress) {
        if let Some(l) = &self.inner {
            l.on_progress(progress.into());
        }
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
