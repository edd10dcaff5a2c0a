//! The FFI contract, from Rust, through the exported API only (what Kotlin and Swift see):
//! a platform `SecureStore` used by the core from many threads, errors of a foreign
//! implementation coming back as the right variant, the session-expired listener, and sync
//! handles that stop on `cancel()` and on drop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::Utc;
use faceid_ffi::{
    ConsentType, DeviceDescription, DevicePlatform, EmployeeSearch, FaceIdClient, FaceIdError,
    KioskTerminal, ReviewChoice, SecureStore, SessionExpiredListener, SyncProgressInfo,
    SyncStateListener, SyncStatus,
};
use faceid_protocol::auth::{CurrentUser, Role, TokenPair};

const EMPLOYEE: &str = "0190f5c4-8f6e-7cc0-9a52-5d1f6a1d4e01";

/// A platform store as a shell would write it, counting calls.
#[derive(Default)]
struct MapStore {
    map: Mutex<HashMap<String, Vec<u8>>>,
    calls: AtomicUsize,
    fail_writes: AtomicBool,
}

impl SecureStore for MapStore {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, FaceIdError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(self.map.lock().unwrap().get(&key).cloned())
    }
    fn set(&self, key: String, value: Vec<u8>) -> Result<(), FaceIdError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(FaceIdError::Storage {
                reason: "keystore locked".to_owned(),
            });
        }
        self.map.lock().unwrap().insert(key, value);
        Ok(())
    }
    fn delete(&self, key: String) -> Result<(), FaceIdError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.map.lock().unwrap().remove(&key);
        Ok(())
    }
}

fn pair(n: usize) -> TokenPair {
    let now = Utc::now();
    TokenPair {
        access_token: format!("access-{n}"),
        access_expires_at: now + chrono::Duration::minutes(15),
        refresh_token: format!("refresh-{n}"),
        refresh_expires_at: now + chrono::Duration::days(30),
        user: CurrentUser {
            id: EMPLOYEE.parse().unwrap(),
            login: "ivanova".to_owned(),
            first_name: "Anna".to_owned(),
            last_name: "Ivanova".to_owned(),
            role: Role::User,
            department_id: None,
            position_id: None,
            site_ids: vec![],
            device_id: None,
            must_change_password: false,
            photo_updated_at: None,
        },
        server_time: now,
    }
}

/// A stand-in server: logins succeed (password "right"), `/me` says the session was
/// revoked and so does `/refresh`, like the real server after a refresh-token reuse.
fn fake_server() -> String {
    let logins = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/api/v1/auth/login",
            post(move |body: axum::Json<serde_json::Value>| {
                let n = logins.fetch_add(1, Ordering::SeqCst);
                async move {
                    if body["password"] == "right" {
                        axum::Json(pair(n)).into_response()
                    } else {
                        problem(401, "invalid_credentials")
                    }
                }
            }),
        )
        .route(
            "/api/v1/me",
            get(|| async { problem(401, "session_revoked") }),
        )
        .route(
            "/api/v1/auth/refresh",
            post(|| async { problem(401, "refresh_token_reused") }),
        )
        .route(
            "/api/v1/me/consents",
            post(|| async { StatusCode::CREATED }),
        )
        // An employee asking for the admin lists: the server's role check.
        .route(
            "/api/v1/employees",
            get(|| async { problem(403, "forbidden") }),
        )
        .route(
            "/api/v1/reports/today",
            get(|| async { problem(401, "session_revoked") }),
        );
    let listener = faceid_ffi_runtime()
        .block_on(async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() });
    let addr = listener.local_addr().unwrap();
    faceid_ffi_runtime().spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn problem(status: u16, code: &str) -> axum::response::Response {
    let body = serde_json::json!({
        "type": format!("urn:faceid:problem:{code}"), "title": code, "status": status, "code": code,
    });
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn faceid_ffi_runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::LazyLock<tokio::runtime::Runtime> =
        std::sync::LazyLock::new(|| tokio::runtime::Runtime::new().unwrap());
    &RT
}

fn device() -> DeviceDescription {
    DeviceDescription {
        id: "0190f5c4-8f6e-7cc0-9a52-5d1f6a1d4eff".to_owned(),
        name: "Pixel 8".to_owned(),
        platform: DevicePlatform::Android,
        app_version: "1.0.0".to_owned(),
    }
}

fn client(server: &str, dir: &tempfile::TempDir, store: Arc<MapStore>) -> Arc<FaceIdClient> {
    FaceIdClient::new(
        server.to_owned(),
        dir.path().to_string_lossy().into_owned(),
        device(),
        store,
        None,
    )
    .unwrap()
}

#[test]
fn the_platform_store_is_used_from_many_threads() {
    let server = fake_server();
    let store = Arc::new(MapStore::default());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let server = server.clone();
            let store = store.clone();
            std::thread::spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let c = client(&server, &dir, store.clone());
                for _ in 0..10 {
                    let user = faceid_ffi_runtime()
                        .block_on(c.login("ivanova".into(), "right".into()))
                        .unwrap();
                    assert_eq!(user.id, EMPLOYEE);
                    let saved = store.map.lock().unwrap().get("session").cloned();
                    assert!(saved.is_some(), "the token pair went to the platform store");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let saved = store.map.lock().unwrap().get("session").cloned().unwrap();
    let pair: TokenPair = serde_json::from_slice(&saved).unwrap();
    assert!(pair.refresh_token.starts_with("refresh-"));
    // 8 constructors read it, 80 logins wrote it.
    assert!(store.calls.load(Ordering::SeqCst) >= 88);
    // A new client restores the session from the store alone.
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, store.clone());
    assert!(faceid_ffi_runtime().block_on(c.is_logged_in()));
}

#[test]
fn a_failing_platform_store_comes_back_as_storage() {
    let server = fake_server();
    let store = Arc::new(MapStore::default());
    store.fail_writes.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, store);
    let err = faceid_ffi_runtime()
        .block_on(c.login("ivanova".into(), "right".into()))
        .unwrap_err();
    match err {
        FaceIdError::Storage { reason } => assert!(reason.contains("keystore locked"), "{reason}"),
        other => panic!("expected Storage, got {other:?}"),
    }
}

#[test]
fn wrong_password_is_unauthorized_and_bad_input_is_invalid_input() {
    let server = fake_server();
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, Arc::new(MapStore::default()));
    let err = faceid_ffi_runtime()
        .block_on(c.login("ivanova".into(), "wrong".into()))
        .unwrap_err();
    assert!(
        matches!(&err, FaceIdError::Unauthorized { reason } if reason.contains("invalid_credentials")),
        "{err:?}"
    );
    let err = faceid_ffi_runtime()
        .block_on(c.login(" ".into(), "x".into()))
        .unwrap_err();
    assert!(matches!(err, FaceIdError::InvalidInput { .. }), "{err:?}");
    // Nothing to consent for before a login.
    assert!(matches!(
        c.grant_consent(ConsentType::Location),
        Err(FaceIdError::SessionExpired)
    ));
    // A server that does not answer is Network.
    let c = client("http://127.0.0.1:9", &dir, Arc::new(MapStore::default()));
    let err = faceid_ffi_runtime()
        .block_on(c.login("ivanova".into(), "right".into()))
        .unwrap_err();
    assert!(matches!(err, FaceIdError::Network { .. }), "{err:?}");
}

#[derive(Default)]
struct Expired(Mutex<Vec<String>>);

impl SessionExpiredListener for Expired {
    fn on_session_expired(&self, employee_id: String) {
        self.0.lock().unwrap().push(employee_id);
    }
}

/// A client of the fake server with an expiry listener, logged in.
struct LoggedIn {
    c: Arc<FaceIdClient>,
    store: Arc<MapStore>,
    expired: Arc<Expired>,
    _dir: tempfile::TempDir,
}

fn logged_in() -> LoggedIn {
    let server = fake_server();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MapStore::default());
    let c = client(&server, &dir, store.clone());
    let expired = Arc::new(Expired::default());
    c.set_session_expired_listener(expired.clone());
    faceid_ffi_runtime()
        .block_on(c.login("ivanova".into(), "right".into()))
        .unwrap();
    LoggedIn {
        c,
        store,
        expired,
        _dir: dir,
    }
}

#[test]
fn a_revoked_session_fires_the_listener_once_and_clears_the_store() {
    let LoggedIn {
        c,
        store,
        expired,
        _dir,
    } = logged_in();
    c.grant_consent(ConsentType::Location).unwrap();
    let err = faceid_ffi_runtime().block_on(c.current_user()).unwrap_err();
    assert!(matches!(err, FaceIdError::SessionExpired), "{err:?}");
    // Afterwards nobody is logged in, and the listener is not told again.
    assert_eq!(
        faceid_ffi_runtime().block_on(c.current_user()).unwrap(),
        None
    );
    // Queued work waits for the next login of the same employee.
    let report = faceid_ffi_runtime().block_on(c.sync_now()).unwrap();
    assert_eq!(report.outcome, SyncStatus::AuthRequired);
    assert_eq!(
        c.outbox_status().unwrap().consent,
        1,
        "the queued consent is kept"
    );
    assert_eq!(*expired.0.lock().unwrap(), vec![EMPLOYEE.to_owned()]);
    assert!(store.map.lock().unwrap().get("session").is_none());
}

#[derive(Default)]
struct States(Mutex<Vec<SyncStatus>>);

impl SyncStateListener for States {
    fn on_state(&self, state: SyncStatus) {
        self.0.lock().unwrap().push(state);
    }
    fn on_progress(&self, _: SyncProgressInfo) {}
}

impl States {
    fn wait_for(&self, want: &SyncStatus) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.0.lock().unwrap().contains(want) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

#[test]
fn a_sync_handle_stops_on_cancel_and_on_drop() {
    let server = fake_server();
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, Arc::new(MapStore::default()));
    faceid_ffi_runtime()
        .block_on(c.login("ivanova".into(), "right".into()))
        .unwrap();

    let states = Arc::new(States::default());
    let handle = c.start_sync(states.clone(), 3600).unwrap();
    assert!(states.wait_for(&SyncStatus::Idle), "a first pass ran");
    assert!(!states.0.lock().unwrap().contains(&SyncStatus::Stopped));
    handle.cancel();
    assert!(handle.is_cancelled());
    assert!(states.wait_for(&SyncStatus::Stopped), "cancel() stopped it");
    handle.cancel(); // idempotent

    let dropped = Arc::new(States::default());
    let handle = c.start_sync(dropped.clone(), 3600).unwrap();
    assert!(dropped.wait_for(&SyncStatus::Idle));
    drop(handle);
    assert!(dropped.wait_for(&SyncStatus::Stopped), "drop stopped it");

    // The consent queued offline goes out with the next pass.
    c.grant_consent(ConsentType::Location).unwrap();
    assert_eq!(c.outbox_status().unwrap().consent, 1);
    let report = faceid_ffi_runtime().block_on(c.sync_now()).unwrap();
    assert_eq!(report.progress.sent, 1);
    assert_eq!(report.outcome, SyncStatus::Idle);
    assert_eq!(c.outbox_status().unwrap().consent, 0);
}

#[test]
fn admin_calls_map_refusals_and_check_input_before_sending() {
    let LoggedIn {
        c,
        store,
        expired,
        _dir,
    } = logged_in();
    let rt = faceid_ffi_runtime();
    let console = c.admin();

    // Refused locally, before any request: a bad id, a bad page, a reversed range.
    for err in [
        rt.block_on(console.review_punch("42".into(), ReviewChoice::Accept, None))
            .unwrap_err(),
        rt.block_on(console.block_device("not-a-device".into()))
            .unwrap_err(),
        rt.block_on(console.employees(EmployeeSearch::default(), 0, 0))
            .unwrap_err(),
        rt.block_on(console.flagged_punches(None, None, None, 501, 0))
            .unwrap_err(),
        rt.block_on(console.today(Some("x".into()), None))
            .unwrap_err(),
    ] {
        assert!(matches!(err, FaceIdError::InvalidInput { .. }), "{err:?}");
    }
    let later = std::time::SystemTime::now();
    let earlier = later - Duration::from_secs(60);
    let err = rt
        .block_on(c.attendance_history(Some(later), Some(earlier)))
        .unwrap_err();
    assert!(matches!(err, FaceIdError::InvalidInput { .. }), "{err:?}");

    // The server's role check: `Unauthorized` with its code; the session goes on.
    let err = rt
        .block_on(console.employees(EmployeeSearch::default(), 50, 0))
        .unwrap_err();
    assert!(
        matches!(&err, FaceIdError::Unauthorized { reason } if reason.contains("forbidden")),
        "{err:?}"
    );
    assert!(expired.0.lock().unwrap().is_empty());

    // A session revoked meanwhile: `SessionExpired`, and the listener is told once.
    let err = rt.block_on(console.today(None, None)).unwrap_err();
    assert!(matches!(err, FaceIdError::SessionExpired), "{err:?}");
    assert_eq!(*expired.0.lock().unwrap(), vec![EMPLOYEE.to_owned()]);
    assert!(store.map.lock().unwrap().get("session").is_none());
}

#[test]
fn enrolment_is_queued_offline_and_bad_photos_are_invalid_input() {
    let server = fake_server();
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, Arc::new(MapStore::default()));
    let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec();
    // Nobody logged in: no outbox to queue into.
    assert!(matches!(
        c.queue_enrolment(vec![jpeg.clone()]),
        Err(FaceIdError::SessionExpired)
    ));
    faceid_ffi_runtime()
        .block_on(c.login("ivanova".into(), "right".into()))
        .unwrap();
    for bad in [vec![], vec![jpeg.clone(); 6], vec![b"plain text".to_vec()]] {
        let err = c.queue_enrolment(bad).unwrap_err();
        assert!(matches!(err, FaceIdError::InvalidInput { .. }), "{err:?}");
    }
    assert_eq!(c.outbox_status().unwrap().enrolment, 0);
    let key = c.queue_enrolment(vec![jpeg.clone(), jpeg]).unwrap();
    assert_eq!(uuid::Uuid::parse_str(&key).unwrap().get_version_num(), 7);
    assert_eq!(c.outbox_status().unwrap().enrolment, 1);
    assert!(c.dead_letters().unwrap().is_empty());
    assert!(!c.discard_dead_letter(key).unwrap(), "not a dead letter");
    assert!(matches!(
        c.discard_dead_letter("nope".into()),
        Err(FaceIdError::InvalidInput { .. })
    ));
}

#[test]
fn kiosk_credentials_and_timesheet_months_are_checked_before_sending() {
    // Only a kiosk credential makes a kiosk terminal (an employee's token or a typo does not).
    for bad in ["", "fidk_", "Bearer abc", "not-a-credential"] {
        assert!(
            matches!(
                KioskTerminal::new("http://127.0.0.1:9".into(), bad.into()),
                Err(FaceIdError::InvalidInput { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        KioskTerminal::new("not a url".into(), "fidk_abc".into()),
        Err(FaceIdError::InvalidInput { .. })
    ));
    assert!(KioskTerminal::new("http://127.0.0.1:9/".into(), "fidk_abc".into()).is_ok());

    let LoggedIn { c, _dir, .. } = logged_in();
    let rt = faceid_ffi_runtime();
    for bad in ["2026-13", "2026-5", "May"] {
        assert!(
            matches!(
                rt.block_on(c.timesheet(Some(bad.into()))),
                Err(FaceIdError::InvalidInput { .. })
            ),
            "{bad}"
        );
    }
}
