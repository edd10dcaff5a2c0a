//! The facade's lifecycle rules against a small axum server on 127.0.0.1:0 that logs two
//! employees in and refuses every refresh (so a session ends as soon as it needs one).

use faceid_protocol::error_code::ErrorCode;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use faceid_protocol::auth::{DeviceInfo, LoginRequest, Platform, Role, TokenPair};
use faceid_protocol::problem::{PROBLEM_CONTENT_TYPE, Problem};
use tempfile::TempDir;

use super::*;
use crate::clock::SystemClock;
use crate::session::SESSION_KEY;
use crate::store::MemoryStore;
use crate::sync::NoopListener;

struct Server {
    alice: CurrentUser,
    bob: CurrentUser,
    /// Issue access tokens that are already expired (the next call must refresh).
    stale_tokens: AtomicBool,
}

fn user(login: &str) -> CurrentUser {
    CurrentUser {
        id: Uuid::now_v7(),
        login: login.into(),
        first_name: login.into(),
        last_name: "Test".into(),
        role: Role::User,
        department_id: None,
        position_id: None,
        site_ids: vec![],
        device_id: None,
        must_change_password: false,
        photo_updated_at: None,
    }
}

fn pair(user: CurrentUser, access_ttl: chrono::Duration) -> TokenPair {
    let now = Utc::now();
    TokenPair {
        access_token: format!("a-{}", Uuid::new_v4()),
        access_expires_at: now + access_ttl,
        refresh_token: format!("r-{}", Uuid::new_v4()),
        refresh_expires_at: now + chrono::Duration::days(30),
        user,
        server_time: now,
    }
}

async fn login(State(s): State<Arc<Server>>, Json(req): Json<LoginRequest>) -> Response {
    let user = match (req.login.as_str(), req.password.as_str()) {
        ("alice", "secret") => s.alice.clone(),
        ("bob", "secret") => s.bob.clone(),
        _ => return refused(StatusCode::UNAUTHORIZED, ErrorCode::InvalidCredentials),
    };
    let ttl = if s.stale_tokens.load(Ordering::SeqCst) {
        chrono::Duration::minutes(-1)
    } else {
        chrono::Duration::hours(1)
    };
    Json(pair(user, ttl)).into_response()
}

fn refused(status: StatusCode, code: ErrorCode) -> Response {
    let p = Problem::new(status.as_u16(), code, code.as_str());
    (
        status,
        [("content-type", PROBLEM_CONTENT_TYPE)],
        serde_json::to_string(&p).unwrap_or_default(),
    )
        .into_response()
}

async fn start() -> (Arc<Server>, String) {
    let server = Arc::new(Server {
        alice: user("alice"),
        bob: user("bob"),
        stale_tokens: AtomicBool::new(false),
    });
    let app = axum::Router::new()
        .route(crate::session::LOGIN_PATH, post(login))
        .route(
            crate::session::REFRESH_PATH,
            post(|| async { refused(StatusCode::UNAUTHORIZED, ErrorCode::InvalidRefreshToken) }),
        )
        .route(
            crate::session::LOGOUT_PATH,
            post(|| async { StatusCode::NO_CONTENT }),
        )
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "test server stopped");
        }
    });
    (server, format!("http://{addr}"))
}

fn config(server: &str, store: Arc<dyn SecureStore>, dir: &TempDir) -> AppConfig {
    let device = DeviceInfo {
        id: Uuid::new_v4(),
        name: "test phone".into(),
        platform: Platform::Android,
        app_version: "0.1.0".into(),
    };
    AppConfig {
        session: SessionConfig::new(server, device),
        store,
        outbox_dir: dir.path().to_owned(),
        clock: Arc::new(ServerClock::new(Arc::new(SystemClock::default()))),
        sync_lease: None,
    }
}

/// Counts the reports of the session's end.
#[derive(Default)]
struct Expired(Mutex<Vec<Uuid>>);

impl SessionExpiredListener for Expired {
    fn on_session_expired(&self, employee: Uuid) {
        if let Ok(mut v) = self.0.lock() {
            v.push(employee);
        }
    }
}

impl Expired {
    fn reports(&self) -> Vec<Uuid> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

fn pending(app: &App) -> u64 {
    app.outbox()
        .expect("outbox")
        .stats()
        .expect("stats")
        .pending_entries()
}

#[tokio::test]
async fn a_stored_session_is_restored_with_its_employees_outbox() {
    let dir = TempDir::new().expect("tmp");
    let store: Arc<dyn SecureStore> = Arc::new(MemoryStore::new());
    // Nobody stored: nothing to open, and nothing can be queued.
    let app = App::open(config("http://127.0.0.1:9", store.clone(), &dir))
        .await
        .expect("open");
    assert!(matches!(app.employee_id(), Err(AppError::NotLoggedIn)));
    assert!(matches!(
        app.queue_consent(ConsentKind::Location, ConsentAction::Grant, None),
        Err(AppError::NotLoggedIn)
    ));
    drop(app);

    let alice = user("alice");
    let stored = pair(alice.clone(), chrono::Duration::hours(1));
    store
        .save(SESSION_KEY, &serde_json::to_string(&stored).expect("json"))
        .expect("save");
    // The server is unreachable: restoring needs no network.
    let app = App::open(config("http://127.0.0.1:9", store.clone(), &dir))
        .await
        .expect("open");
    assert_eq!(app.employee_id().expect("restored"), alice.id);
    assert!(app.is_logged_in().await);
    app.queue_consent(ConsentKind::Location, ConsentAction::Grant, None)
        .expect("queued offline");
    assert_eq!(pending(&app), 1);
    // The location consent reached the recorder at once.
    drop(app);
    let app = App::open(config("http://127.0.0.1:9", store, &dir))
        .await
        .expect("reopen");
    assert_eq!(pending(&app), 1, "the queued entry survived the restart");
}

#[tokio::test]
async fn login_and_logout_switch_the_employees_outbox() {
    let (server, base) = start().await;
    let dir = TempDir::new().expect("tmp");
    let store: Arc<dyn SecureStore> = Arc::new(MemoryStore::new());
    let app = App::open(config(&base, store.clone(), &dir))
        .await
        .expect("open");

    let a = app.login("alice", "secret").await.expect("alice");
    assert_eq!(a.id, server.alice.id);
    app.queue_consent(ConsentKind::Biometric, ConsentAction::Grant, None)
        .expect("queue");
    assert_eq!(pending(&app), 1);
    // Descriptors cached for alice are cleared by her logout.
    store
        .save(&format!("descriptors-{}", a.id), "{}")
        .expect("save");

    app.logout().await.expect("logout");
    assert!(matches!(app.outbox(), Err(AppError::NotLoggedIn)));
    assert!(!app.is_logged_in().await);
    assert_eq!(
        store.load(&format!("descriptors-{}", a.id)).expect("load"),
        None,
        "biometric data does not outlive the session"
    );

    let b = app.login("bob", "secret").await.expect("bob");
    assert_eq!(app.employee_id().expect("bob's"), b.id);
    assert_eq!(pending(&app), 0, "bob does not see alice's queue");

    app.logout().await.expect("logout");
    app.login("alice", "secret").await.expect("alice again");
    assert_eq!(pending(&app), 1, "alice's queued entry waited for her");
}

#[tokio::test]
async fn the_end_of_a_session_is_reported_once_until_the_next_login() {
    let (server, base) = start().await;
    server.stale_tokens.store(true, Ordering::SeqCst);
    let dir = TempDir::new().expect("tmp");
    let app = App::open(config(&base, Arc::new(MemoryStore::new()), &dir))
        .await
        .expect("open");
    let expired = Arc::new(Expired::default());
    app.set_session_expired_listener(expired.clone());

    let alice = app.login("alice", "secret").await.expect("login");
    app.queue_consent(ConsentKind::Biometric, ConsentAction::Grant, None)
        .expect("queue");
    // The access token needs a refresh, which the server refuses: the session ends.
    let err = app.current_user().await.expect_err("ended");
    assert!(
        matches!(err, AppError::Session(SessionError::AuthRequired)),
        "{err:?}"
    );
    assert_eq!(expired.reports(), vec![alice.id]);
    // Later calls and a sync pass see the same ended session: no second report.
    assert!(matches!(app.current_user().await, Ok(None)));
    let report = app
        .sync_once(Arc::new(NoopListener))
        .await
        .expect("sync pass");
    assert_eq!(report.outcome, DrainOutcome::AuthRequired);
    assert!(!app.report_if_expired().await);
    assert_eq!(expired.reports(), vec![alice.id]);
    // The employee's outbox stays open with the entry for their next login.
    assert_eq!(pending(&app), 1);

    // A new login re-arms the report.
    app.login("alice", "secret").await.expect("login again");
    let report = app
        .sync_once(Arc::new(NoopListener))
        .await
        .expect("sync pass");
    assert_eq!(report.outcome, DrainOutcome::AuthRequired);
    assert_eq!(expired.reports(), vec![alice.id, alice.id]);
    assert_eq!(pending(&app), 1);
}
