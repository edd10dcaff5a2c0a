//! [`App`]: the one object that assembles the client's parts (session, the logged-in
//! employee's outbox and location recorder, the descriptor cache, sync) and owns their
//! lifecycle. The phone apps hold one through the FFI's `FaceIdClient`; the device simulator
//! (`faceid client …`) opens one per command. Both therefore run the same assembly.
//!
//! Lifecycle rules kept here:
//! - **restore at start**: [`App::open`] restores a stored session and reopens that employee's
//!   outbox and recorder, so offline work goes on after a restart;
//! - **per-employee outbox**: login opens (or keeps) the outbox of the employee who logged in;
//!   logout closes it (queued entries stay on disk for that employee's next login) and clears
//!   the cached descriptors (biometric data does not outlive the session on the device);
//! - **expiry reported once**: when the server ends the session (refresh revoked, reused,
//!   expired, account disabled) the [`SessionExpiredListener`] is told once per session, from
//!   any call that hit it or from the sync task; a new login re-arms it.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use faceid_face::Descriptor;
use faceid_protocol::attendance::{GpsFix, PunchKind};
use faceid_protocol::auth::CurrentUser;
use faceid_protocol::consent::{ConsentAction, ConsentKind, ConsentRequest};
use uuid::Uuid;

use crate::checkin::{self, CapturedFace, CheckInError};
use crate::clock::{Clock, ServerClock};
use crate::enrolment::{self, EnrolmentError};
use crate::location::{Recorder, RecorderError};
use crate::outbox::{EntryKind, NewEntry, Outbox, OutboxError};
use crate::records::{CachedDescriptors, DescriptorCache, RecordsError};
use crate::session::{Session, SessionConfig, SessionError, SessionState};
use crate::store::SecureStore;
use crate::sync::{
    DrainOutcome, DrainReport, HttpTransport, SyncEngine, SyncError, SyncListener, SyncProgress,
    SyncState,
};

/// What the shells need to open an [`App`].
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub session: SessionConfig,
    /// Tokens and cached descriptors (Android Keystore / iOS Keychain / a `FileStore`).
    pub store: Arc<dyn SecureStore>,
    /// Where the per-employee outbox databases live.
    pub outbox_dir: PathBuf,
    /// The server clock (device clock corrected by the learned offset).
    pub clock: Arc<ServerClock>,
    /// Claim lease of the sync engine; `None`: the engine's default.
    pub sync_lease: Option<Duration>,
}

/// Told once when the session ends without the user logging out: show the login screen.
/// Queued entries stay and are sent after the same employee logs in again.
pub trait SessionExpiredListener: Send + Sync {
    fn on_session_expired(&self, employee: Uuid);
}

/// What can go wrong in the facade: the parts' own errors, or nobody logged in.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No employee's outbox is open: log in first.
    #[error("not logged in")]
    NotLoggedIn,
    #[error("client state lock poisoned")]
    Poisoned,
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    Recorder(#[from] RecorderError),
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error(transparent)]
    Enrolment(#[from] EnrolmentError),
    #[error(transparent)]
    CheckIn(#[from] CheckInError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// The logged-in employee's local state.
#[derive(Debug)]
struct Employee {
    id: Uuid,
    outbox: Arc<Outbox>,
    recorder: Recorder,
}

/// Who was told of the end of which session.
struct Expiry {
    session: Arc<Session>,
    listener: Mutex<Option<Arc<dyn SessionExpiredListener>>>,
    /// The employee the expiry was last reported for (reported once per session).
    reported: Mutex<Option<Uuid>>,
}

impl Expiry {
    async fn report_if_ended(&self) -> bool {
        let SessionState::AuthRequired { employee } = self.session.state().await else {
            return false;
        };
        let listener = {
            let Ok(mut reported) = self.reported.lock() else {
                return false;
            };
            if *reported == Some(employee) {
                return false;
            }
            *reported = Some(employee);
            self.listener.lock().ok().and_then(|l| l.clone())
        };
        tracing::warn!(%employee, "session expired");
        if let Some(l) = listener {
            l.on_session_expired(employee);
        }
        true
    }
}

/// The user as the server knows them now, or as last stored when it cannot be reached.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownUser {
    pub user: CurrentUser,
    /// `false`: the server could not be reached; this is the stored user.
    pub online: bool,
}

/// The client: one per app process (one per command in the simulator).
pub struct App {
    session: Arc<Session>,
    clock: Arc<ServerClock>,
    outbox_dir: PathBuf,
    sync_lease: Option<Duration>,
    descriptors: DescriptorCache,
    expiry: Arc<Expiry>,
    employee: Mutex<Option<Employee>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("server", &self.session.server())
            .field("outbox_dir", &self.outbox_dir)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Assemble the parts and restore a stored session: its employee's outbox and recorder
    /// are reopened.
    pub async fn open(config: AppConfig) -> Result<Self, AppError> {
        let session = Arc::new(Session::new(
            config.session,
            config.store.clone(),
            config.clock.clone(),
        )?);
        let app = Self {
            expiry: Arc::new(Expiry {
                session: session.clone(),
                listener: Mutex::new(None),
                reported: Mutex::new(None),
            }),
            session,
            clock: config.clock,
            outbox_dir: config.outbox_dir,
            sync_lease: config.sync_lease,
            descriptors: DescriptorCache::new(config.store),
            employee: Mutex::new(None),
        };
        if let Some(user) = app.session.current_user().await {
            app.open_employee(user.id)?;
        }
        Ok(app)
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// The server clock (sealed punches carry device time corrected by it).
    pub fn clock(&self) -> &Arc<ServerClock> {
        &self.clock
    }

    /// The device's own clock.
    pub fn device_clock(&self) -> &Arc<dyn Clock> {
        self.clock.device()
    }

    pub fn outbox_dir(&self) -> &Path {
        &self.outbox_dir
    }

    fn guard(&self) -> Result<MutexGuard<'_, Option<Employee>>, AppError> {
        self.employee.lock().map_err(|_| AppError::Poisoned)
    }

    /// Open (or keep) the outbox and recorder of `id`. Login does this; a shell that
    /// remembers the last employee across processes (the simulator) calls it at start so that
    /// employee's queued entries stay reachable while nobody is logged in.
    pub fn open_employee(&self, id: Uuid) -> Result<(), AppError> {
        let mut guard = self.guard()?;
        if guard.as_ref().is_some_and(|e| e.id == id) {
            return Ok(());
        }
        let outbox = Arc::new(Outbox::open_in(&self.outbox_dir, id)?);
        let recorder = Recorder::new(outbox.clone())?;
        *guard = Some(Employee {
            id,
            outbox,
            recorder,
        });
        Ok(())
    }

    /// The employee whose outbox is open.
    pub fn employee_id(&self) -> Result<Uuid, AppError> {
        self.guard()?
            .as_ref()
            .map(|e| e.id)
            .ok_or(AppError::NotLoggedIn)
    }

    /// The open employee's outbox.
    pub fn outbox(&self) -> Result<Arc<Outbox>, AppError> {
        self.guard()?
            .as_ref()
            .map(|e| e.outbox.clone())
            .ok_or(AppError::NotLoggedIn)
    }

    /// Run `f` on the open employee's location recorder.
    pub fn with_recorder<R>(&self, f: impl FnOnce(&mut Recorder) -> R) -> Result<R, AppError> {
        let mut guard = self.guard()?;
        let employee = guard.as_mut().ok_or(AppError::NotLoggedIn)?;
        Ok(f(&mut employee.recorder))
    }

    /// Log in; the tokens go to the store, the employee's outbox is opened and the expiry
    /// report is re-armed.
    pub async fn login(&self, login: &str, password: &str) -> Result<CurrentUser, AppError> {
        let user = self.session.login(login, password).await?;
        if let Ok(mut r) = self.expiry.reported.lock() {
            *r = None;
        }
        self.open_employee(user.id)?;
        Ok(user)
    }

    /// Log out here and on the server (best effort when offline). The outbox is closed (its
    /// entries stay for the same employee's next login) and the cached descriptors cleared.
    pub async fn logout(&self) -> Result<(), AppError> {
        let employee = self.employee_id().ok();
        self.session.logout().await?;
        *self.guard()? = None;
        // Biometric data does not outlive the session on the device.
        if let Some(id) = employee
            && let Err(e) = self.descriptors.clear(id)
        {
            tracing::warn!(error = %e, "could not clear the cached descriptors");
        }
        Ok(())
    }

    /// Whether a session is stored (no network).
    pub async fn is_logged_in(&self) -> bool {
        self.session.current_user().await.is_some()
    }

    /// The user as the server knows them now; the stored one when the server cannot be
    /// reached; `None` when no session is stored. A session the server ended is reported
    /// (see [`SessionExpiredListener`]) and returned as the error.
    pub async fn current_user(&self) -> Result<Option<KnownUser>, AppError> {
        if self.session.current_user().await.is_none() {
            return Ok(None);
        }
        match self.session.fetch_me().await {
            Ok(user) => Ok(Some(KnownUser { user, online: true })),
            Err(e) if e.is_transient() => {
                tracing::info!(error = %e, "server unreachable; last known user");
                Ok(self.session.current_user().await.map(KnownUser::offline))
            }
            Err(e) => {
                self.report_if_expired().await;
                Err(e.into())
            }
        }
    }

    /// Called once per session when the server ends it.
    pub fn set_session_expired_listener(&self, listener: Arc<dyn SessionExpiredListener>) {
        if let Ok(mut l) = self.expiry.listener.lock() {
            *l = Some(listener);
        }
    }

    /// Report the end of the session if it just ended (once per session); `true` when this
    /// call reported it. Call it after an error that may mean the session ended.
    pub async fn report_if_expired(&self) -> bool {
        self.expiry.report_if_ended().await
    }

    /// Queue a consent grant or withdrawal (sent by the next sync; works offline); the
    /// recorder acts on a location consent at once. Returns the idempotency key.
    pub fn queue_consent(
        &self,
        kind: ConsentKind,
        action: ConsentAction,
        text_version: Option<u32>,
    ) -> Result<Uuid, AppError> {
        let body = ConsentRequest {
            kind,
            action,
            text_version,
        };
        let entry = NewEntry::json(EntryKind::Consent, &body)?;
        let now = self.device_clock().now();
        let mut guard = self.guard()?;
        let employee = guard.as_mut().ok_or(AppError::NotLoggedIn)?;
        employee.outbox.enqueue(&entry, now)?;
        if kind == ConsentKind::Location {
            employee
                .recorder
                .set_consent(action == ConsentAction::Grant);
        }
        Ok(entry.idempotency_key)
    }

    /// Queue a face enrolment of 1–5 photos for the next sync (works offline).
    pub fn queue_enrolment(&self, photos: Vec<Vec<u8>>) -> Result<Uuid, AppError> {
        let outbox = self.outbox()?;
        Ok(enrolment::queue_enrolment(
            &outbox,
            photos,
            self.device_clock().now(),
        )?)
    }

    /// Seal a finished capture as a punch in the outbox (works offline).
    pub fn seal_punch(
        &self,
        captured: &CapturedFace,
        kind: PunchKind,
        gps: Option<GpsFix>,
    ) -> Result<Uuid, AppError> {
        let outbox = self.outbox()?;
        Ok(checkin::seal_punch(
            &outbox,
            captured,
            kind,
            gps,
            &self.clock,
        )?)
    }

    /// The open employee's cached descriptors (none when nothing is cached).
    pub fn enrolled_descriptors(&self) -> Result<Vec<Descriptor>, AppError> {
        Ok(self.descriptors.descriptors(self.employee_id()?))
    }

    /// Fetch the employee's enrolled descriptors into the store.
    pub async fn refresh_descriptors(&self) -> Result<CachedDescriptors, AppError> {
        self.employee_id()?;
        match self.descriptors.refresh(&self.session).await {
            Ok(c) => Ok(c),
            Err(e) => {
                self.report_if_expired().await;
                Err(e.into())
            }
        }
    }

    /// The device's network came back: entries that waited out an unreachable server are due
    /// now. Returns how many.
    pub fn network_available(&self) -> Result<usize, AppError> {
        let outbox = self.outbox()?;
        Ok(outbox.retry_unreachable_now(self.device_clock().now())?)
    }

    /// A sync engine over the open employee's outbox. `listener` hears its state and progress;
    /// a session that ends mid-sync is reported (once) to the expiry listener.
    pub fn sync_engine(
        &self,
        listener: Arc<dyn SyncListener>,
    ) -> Result<SyncEngine<HttpTransport, Session>, AppError> {
        let outbox = self.outbox()?;
        let engine = SyncEngine::new(
            outbox,
            Arc::new(HttpTransport::for_session(&self.session)),
            self.session.clone(),
            Arc::new(ExpiryWatch {
                expiry: self.expiry.clone(),
                inner: listener,
            }),
            self.device_clock().clone(),
        );
        Ok(match self.sync_lease {
            Some(lease) => engine.with_lease(lease),
            None => engine,
        })
    }

    /// One sync pass now (staged fixes are sealed first).
    pub async fn sync_once(
        &self,
        listener: Arc<dyn SyncListener>,
    ) -> Result<DrainReport, AppError> {
        let engine = self.sync_engine(listener)?;
        let stop = AtomicBool::new(false);
        let report = engine.drain(&stop).await?;
        if report.outcome == DrainOutcome::AuthRequired {
            self.report_if_expired().await;
        }
        Ok(report)
    }
}

impl KnownUser {
    fn offline(user: CurrentUser) -> Self {
        Self {
            user,
            online: false,
        }
    }
}

/// Forwards to the shell's listener and reports a session that ended mid-sync.
struct ExpiryWatch {
    expiry: Arc<Expiry>,
    inner: Arc<dyn SyncListener>,
}

impl SyncListener for ExpiryWatch {
    fn on_state(&self, state: &SyncState) {
        if *state == SyncState::AuthRequired {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    let expiry = self.expiry.clone();
                    rt.spawn(async move { expiry.report_if_ended().await });
                }
                Err(e) => tracing::warn!(error = %e, "no runtime to report the session's end"),
            }
        }
        self.inner.on_state(state);
    }

    fn on_progress(&self, progress: &SyncProgress) {
        self.inner.on_progress(progress);
    }

    fn on_delivered(&self, delivered: &crate::sync::Delivered) {
        self.inner.on_delivered(delivered);
    }
}

#[cfg(test)]
mod tests;
