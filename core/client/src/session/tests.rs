//! Session tests against a small axum server on 127.0.0.1:0 that implements the auth
//! contract (login, single-use rotating refresh tokens, /me) and counts refreshes.

use super::*;
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::outbox::{EntryKind, NewEntry, Outbox};
use crate::store::MemoryStore;
use crate::sync::{HttpTransport, Transport};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use faceid_protocol::auth::{Platform, Role};
use faceid_protocol::error_code::ErrorCode;
use std::sync::atomic::AtomicBool;

struct Server {
    user: CurrentUser,
    access_ttl: Mutex<chrono::Duration>,
    access: Mutex<Option<(String, DateTime<Utc>)>>,
    refresh: Mutex<Option<String>>,
    refresh_calls: AtomicU64,
    revoked: AtomicBool,
    refresh_unavailable: AtomicBool,
    /// Added to the server's clock (the device is this far behind).
    skew: chrono::Duration,
    captured: Mutex<Vec<(String, HeaderMap, Bytes)>>,
    /// The account's password was set by an administrator.
    must_change: AtomicBool,
    password_changes: AtomicU64,
}

use std::sync::Mutex;

fn problem(status: StatusCode, code: ErrorCode) -> Response {
    let p = Problem::new(status.as_u16(), code, code.as_str());
    (
        status,
        [(
            "content-type",
            faceid_protocol::problem::PROBLEM_CONTENT_TYPE,
        )],
        serde_json::to_string(&p).unwrap_or_default(),
    )
        .into_response()
}

impl Server {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.skew
    }

    fn issue(&self) -> TokenPair {
        let now = self.now();
        let access = format!("a-{}", Uuid::new_v4());
        let refresh = format!("r-{}", Uuid::new_v4());
        let ttl = self.access_ttl.lock().map(|t| *t).unwrap_or_default();
        if let Ok(mut a) = self.access.lock() {
            *a = Some((access.clone(), now + ttl));
        }
        if let Ok(mut r) = self.refresh.lock() {
            *r = Some(refresh.clone());
        }
        let mut user = self.user.clone();
        user.must_change_password = self.must_change.load(Ordering::SeqCst);
        TokenPair {
            access_token: access,
            access_expires_at: now + ttl,
            refresh_token: refresh,
            refresh_expires_at: now + chrono::Duration::days(30),
            user,
            server_time: now,
        }
    }
}

async fn login(State(s): State<Arc<Server>>, Json(req): Json<LoginRequest>) -> Response {
    if req.login == "alice" && req.password == "secret" {
        Json(s.issue()).into_response()
    } else {
        problem(StatusCode::UNAUTHORIZED, ErrorCode::InvalidCredentials)
    }
}

async fn refresh(State(s): State<Arc<Server>>, Json(req): Json<RefreshRequest>) -> Response {
    s.refresh_calls.fetch_add(1, Ordering::SeqCst);
    // Widen the race window.
    tokio::time::sleep(Duration::from_millis(50)).await;
    if s.refresh_unavailable.load(Ordering::SeqCst) {
        return problem(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable);
    }
    let current = s.refresh.lock().ok().and_then(|r| r.clone());
    if s.revoked.load(Ordering::SeqCst) || current.as_deref() != Some(&req.refresh_token) {
        // Reuse of a retired token: the family is revoked.
        s.revoked.store(true, Ordering::SeqCst);
        return problem(StatusCode::UNAUTHORIZED, ErrorCode::RefreshTokenReused);
    }
    Json(s.issue()).into_response()
}

fn bearer_ok(s: &Server, headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    s.access
        .lock()
        .ok()
        .and_then(|a| a.clone())
        .is_some_and(|(t, exp)| t == token && s.now() < exp)
}

async fn me(State(s): State<Arc<Server>>, headers: HeaderMap) -> Response {
    if bearer_ok(&s, &headers) {
        Json(s.user.clone()).into_response()
    } else {
        problem(StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken)
    }
}

async fn change_password(
    State(s): State<Arc<Server>>,
    headers: HeaderMap,
    Json(req): Json<ChangePasswordRequest>,
) -> Response {
    if !bearer_ok(&s, &headers) {
        return problem(StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken);
    }
    if req.current_password != "secret" {
        return problem(StatusCode::FORBIDDEN, ErrorCode::WrongPassword);
    }
    s.must_change.store(false, Ordering::SeqCst);
    s.password_changes.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT.into_response()
}

async fn capture(
    State(s): State<Arc<Server>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !bearer_ok(&s, &headers) {
        return problem(StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken);
    }
    if let Ok(mut c) = s.captured.lock() {
        c.push((uri.path().to_owned(), headers, body));
    }
    (
        StatusCode::OK,
        r#"{"accepted":1,"duplicates":0,"rejected":[]}"#,
    )
        .into_response()
}

async fn start(skew: chrono::Duration, access_ttl: chrono::Duration) -> (Arc<Server>, String) {
    let server = Arc::new(Server {
        user: CurrentUser {
            id: Uuid::new_v4(),
            login: "alice".into(),
            first_name: "Alice".into(),
            last_name: "Liddell".into(),
            role: Role::User,
            department_id: None,
            position_id: None,
            site_ids: vec![],
            device_id: None,
            must_change_password: false,
            photo_updated_at: None,
        },
        access_ttl: Mutex::new(access_ttl),
        access: Mutex::new(None),
        refresh: Mutex::new(None),
        refresh_calls: AtomicU64::new(0),
        revoked: AtomicBool::new(false),
        refresh_unavailable: AtomicBool::new(false),
        skew,
        captured: Mutex::new(Vec::new()),
        must_change: AtomicBool::new(false),
        password_changes: AtomicU64::new(0),
    });
    let app = axum::Router::new()
        .route(LOGIN_PATH, post(login))
        .route(REFRESH_PATH, post(refresh))
        .route(ME_PATH, get(me))
        .route(PASSWORD_PATH, post(change_password))
        .route(LOGOUT_PATH, post(|| async { StatusCode::NO_CONTENT }))
        .route("/api/v1/attendance/events", post(capture))
        .route("/api/v1/locations/batch", post(capture))
        .route("/api/v1/me/consents", post(capture))
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

fn device() -> DeviceInfo {
    DeviceInfo {
        id: Uuid::new_v4(),
        name: "test phone".into(),
        platform: Platform::Android,
        app_version: "0.1.0".into(),
    }
}

fn session(url: &str, store: Arc<dyn SecureStore>, clock: Arc<dyn Clock>) -> Session {
    Session::new(
        SessionConfig::new(url, device()),
        store,
        Arc::new(ServerClock::new(clock)),
    )
    .expect("session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_racing_callers_cause_exactly_one_refresh() {
    // Access tokens live 30 s, inside the 60 s refresh margin: the first call must refresh.
    let (server, url) = start(chrono::Duration::zero(), chrono::Duration::seconds(30)).await;
    let store = Arc::new(MemoryStore::new());
    let s = Arc::new(session(
        &url,
        store.clone(),
        Arc::new(SystemClock::default()),
    ));
    s.login("alice", "secret").await.expect("login");
    // Refreshed tokens live 15 minutes.
    if let Ok(mut t) = server.access_ttl.lock() {
        *t = chrono::Duration::minutes(15);
    }
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.fetch_me().await })
        })
        .collect();
    for c in calls {
        let user = c.await.expect("join").expect("me");
        assert_eq!(user.login, "alice");
    }
    assert_eq!(server.refresh_calls.load(Ordering::SeqCst), 1);
    assert_eq!(s.refresh_count(), 1);
    assert!(!server.revoked.load(Ordering::SeqCst));
    // The rotated pair was stored.
    let stored: TokenPair =
        serde_json::from_str(&store.load(SESSION_KEY).expect("load").expect("stored"))
            .expect("json");
    assert_eq!(
        Some(stored.refresh_token),
        server.refresh.lock().expect("lock").clone()
    );
}

#[tokio::test]
async fn revoked_refresh_ends_the_session_and_keeps_the_outbox() {
    let (server, url) = start(chrono::Duration::zero(), chrono::Duration::seconds(30)).await;
    let store = Arc::new(MemoryStore::new());
    let s = session(&url, store.clone(), Arc::new(SystemClock::default()));
    let user = s.login("alice", "secret").await.expect("login");
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open_in(dir.path(), user.id).expect("outbox");
    let e = NewEntry::json(EntryKind::Punch, &serde_json::json!({"kind": "in"})).expect("entry");
    outbox.enqueue(&e, Utc::now()).expect("enqueue");

    server.revoked.store(true, Ordering::SeqCst);
    let err = s.fetch_me().await.expect_err("must end");
    assert!(matches!(err, SessionError::AuthRequired), "{err:?}");
    assert_eq!(
        s.state().await,
        SessionState::AuthRequired { employee: user.id }
    );
    assert_eq!(store.load(SESSION_KEY).expect("load"), None);
    assert!(matches!(
        s.access_token().await,
        Err(SessionError::AuthRequired)
    ));
    assert_eq!(server.refresh_calls.load(Ordering::SeqCst), 1);
    // The employee's queued punch is untouched.
    assert_eq!(outbox.stats().expect("stats").punch, 1);
    // Logging in again clears the ended state.
    server.revoked.store(false, Ordering::SeqCst);
    s.login("alice", "secret").await.expect("login again");
    assert!(matches!(s.state().await, SessionState::Active(_)));
}

#[tokio::test]
async fn refresh_outage_keeps_a_still_valid_token() {
    let (server, url) = start(chrono::Duration::zero(), chrono::Duration::seconds(30)).await;
    let s = session(
        &url,
        Arc::new(MemoryStore::new()),
        Arc::new(SystemClock::default()),
    );
    s.login("alice", "secret").await.expect("login");
    server.refresh_unavailable.store(true, Ordering::SeqCst);
    // Inside the margin, the refresh fails with 503, and the old token (valid 30 s more)
    // is still used.
    let user = s.fetch_me().await.expect("me with old token");
    assert_eq!(user.login, "alice");
    assert!(matches!(s.state().await, SessionState::Active(_)));
}

#[tokio::test]
async fn bad_credentials_and_bad_input_are_typed() {
    let (_server, url) = start(chrono::Duration::zero(), chrono::Duration::minutes(15)).await;
    let s = session(
        &url,
        Arc::new(MemoryStore::new()),
        Arc::new(SystemClock::default()),
    );
    let err = s.login("alice", "wrong").await.expect_err("refused");
    assert_eq!(err.error_code(), Some(ErrorCode::InvalidCredentials));
    assert!(matches!(err, SessionError::Rejected { status: 401, .. }));
    assert!(matches!(
        s.login("", "x").await,
        Err(SessionError::Invalid(_))
    ));
    assert!(matches!(
        s.login(&"x".repeat(65), "x").await,
        Err(SessionError::Invalid(_))
    ));
    assert_eq!(s.state().await, SessionState::LoggedOut);
    assert!(matches!(
        Session::new(
            SessionConfig::new("ftp://nowhere", device()),
            Arc::new(MemoryStore::new()),
            Arc::new(ServerClock::new(Arc::new(SystemClock::default())))
        ),
        Err(SessionError::Http(_))
    ));
}

#[tokio::test]
async fn unreachable_server_is_a_network_error() {
    // Bind and drop to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let s = session(
        &format!("http://127.0.0.1:{port}"),
        Arc::new(MemoryStore::new()),
        Arc::new(SystemClock::default()),
    );
    let err = s.login("alice", "secret").await.expect_err("offline");
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn session_survives_restart_and_learns_server_time() {
    // The device clock is 3 hours behind the server.
    let skew = chrono::Duration::hours(3);
    let (_server, url) = start(skew, chrono::Duration::minutes(15)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn SecureStore> =
        Arc::new(crate::store::FileStore::new(&dir.path().join("secrets")).expect("store"));
    let device_clock = Arc::new(ManualClock::new(Utc::now()));
    let s = session(&url, store.clone(), device_clock.clone());
    s.login("alice", "secret").await.expect("login");
    let offset = s.server_clock().offset().expect("offset learned");
    assert!(
        (offset - skew).num_seconds().abs() <= 5,
        "offset {offset} vs skew {skew}"
    );
    drop(s);
    let again = session(&url, store, device_clock);
    let user = again.fetch_me().await.expect("me after restart");
    assert_eq!(user.login, "alice");
    assert!(again.server_clock().offset().is_some());
}

#[tokio::test]
async fn logout_forgets_tokens() {
    let (_server, url) = start(chrono::Duration::zero(), chrono::Duration::minutes(15)).await;
    let store = Arc::new(MemoryStore::new());
    let s = session(&url, store.clone(), Arc::new(SystemClock::default()));
    s.login("alice", "secret").await.expect("login");
    s.logout().await.expect("logout");
    assert_eq!(store.load(SESSION_KEY).expect("load"), None);
    assert_eq!(s.state().await, SessionState::LoggedOut);
    assert!(matches!(
        s.fetch_me().await,
        Err(SessionError::AuthRequired)
    ));
}

#[tokio::test]
async fn http_transport_posts_to_the_real_paths_with_idempotency_key() {
    let (server, url) = start(chrono::Duration::zero(), chrono::Duration::minutes(15)).await;
    let s = session(
        &url,
        Arc::new(MemoryStore::new()),
        Arc::new(SystemClock::default()),
    );
    s.login("alice", "secret").await.expect("login");
    let token = s.access_token().await.expect("token");
    let transport = HttpTransport::for_session(&s);
    let dir = tempfile::tempdir().expect("tempdir");
    let ob = Outbox::open_in(dir.path(), Uuid::new_v4()).expect("outbox");

    let batch = r#"{"points":[{"recorded_at":"2026-03-02T09:00:00Z","lat":55.0,"lon":37.0,"accuracy":5.0}]}"#;
    let mut loc = NewEntry::json(EntryKind::LocationBatch, &()).expect("entry");
    loc.payload = batch.to_owned();
    let mut punch =
        NewEntry::json(EntryKind::Punch, &serde_json::json!({"kind": "in"})).expect("entry");
    punch.blobs.push(crate::outbox::Blob {
        name: "best_frame".into(),
        content_type: "image/jpeg".into(),
        data: vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3],
    });
    ob.enqueue(&loc, Utc::now()).expect("enqueue");
    ob.enqueue(&punch, Utc::now()).expect("enqueue");

    let first = ob
        .claim_next(Utc::now(), crate::outbox::DEFAULT_LEASE)
        .expect("claim")
        .expect("punch");
    let a = transport.send(&first, &token).await.expect("send punch");
    assert_eq!(a.status, 200);
    assert!(a.date.is_some());
    let second = ob
        .claim_next(Utc::now(), crate::outbox::DEFAULT_LEASE)
        .expect("claim")
        .expect("batch");
    let b = transport.send(&second, &token).await.expect("send batch");
    assert_eq!(b.status, 200);

    let captured = server.captured.lock().expect("lock").clone();
    assert_eq!(captured.len(), 2);
    let (path, headers, body) = &captured[0];
    assert_eq!(path, "/api/v1/attendance/events");
    assert_eq!(
        headers.get("idempotency-key").and_then(|v| v.to_str().ok()),
        Some(punch.idempotency_key.to_string().as_str())
    );
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("multipart/form-data"), "{ct}");
    let text = String::from_utf8_lossy(body);
    assert!(text.contains(r#"name="evidence""#), "{text}");
    assert!(text.contains(r#"{"kind":"in"}"#));
    assert!(text.contains(r#"name="best_frame""#));
    let (path, headers, body) = &captured[1];
    assert_eq!(path, "/api/v1/locations/batch");
    assert_eq!(
        headers.get("idempotency-key").and_then(|v| v.to_str().ok()),
        Some(loc.idempotency_key.to_string().as_str())
    );
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert_eq!(body.as_ref(), batch.as_bytes());
    // The body is what the protocol type parses.
    let parsed: faceid_protocol::location::LocationBatch =
        serde_json::from_slice(body).expect("protocol batch");
    assert_eq!(parsed.points.len(), 1);
}

#[tokio::test]
async fn full_stack_sync_through_the_session() {
    use crate::sync::{DrainOutcome, NoopListener, SyncEngine};
    let (server, url) = start(chrono::Duration::zero(), chrono::Duration::minutes(15)).await;
    let s = Arc::new(session(
        &url,
        Arc::new(MemoryStore::new()),
        Arc::new(SystemClock::default()),
    ));
    let user = s.login("alice", "secret").await.expect("login");
    let dir = tempfile::tempdir().expect("tempdir");
    let ob = Arc::new(Outbox::open_in(dir.path(), user.id).expect("outbox"));
    for _ in 0..3 {
        let e = NewEntry::json(
            EntryKind::Consent,
            &faceid_protocol::consent::ConsentRequest {
                kind: faceid_protocol::consent::ConsentKind::Location,
                action: faceid_protocol::consent::ConsentAction::Grant,
                text_version: None,
            },
        )
        .expect("entry");
        ob.enqueue(&e, Utc::now()).expect("enqueue");
    }
    let engine = SyncEngine::new(
        ob.clone(),
        Arc::new(HttpTransport::for_session(&s)),
        s.clone(),
        Arc::new(NoopListener),
        Arc::new(SystemClock::default()),
    );
    let stop = AtomicBool::new(false);
    let r = engine.drain(&stop).await.expect("drain");
    assert_eq!(r.outcome, DrainOutcome::Empty);
    assert_eq!(r.progress.sent, 3);
    assert_eq!(server.captured.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn a_forced_password_change_clears_the_flag_for_good() {
    let (server, url) = start(chrono::Duration::zero(), chrono::Duration::minutes(15)).await;
    server.must_change.store(true, Ordering::SeqCst);
    let store = Arc::new(MemoryStore::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
    let s = session(&url, store.clone(), clock.clone());
    assert!(
        s.login("alice", "secret")
            .await
            .expect("login")
            .must_change_password
    );

    let wrong = s
        .change_password("not-it", "a-long-new-password")
        .await
        .expect_err("wrong current password");
    assert_eq!(wrong.error_code(), Some(ErrorCode::WrongPassword));
    assert!(matches!(
        s.change_password("secret", "").await,
        Err(SessionError::Invalid(_))
    ));
    let user = s.current_user().await.expect("user");
    assert!(user.must_change_password, "still to change after a refusal");

    s.change_password("secret", "a-long-new-password")
        .await
        .expect("changed");
    assert_eq!(server.password_changes.load(Ordering::SeqCst), 1);
    let user = s.current_user().await.expect("user");
    assert!(!user.must_change_password);
    // The stored session says so too: the app restarted does not ask again.
    let again = session(&url, store, clock);
    let user = again.current_user().await.expect("restored");
    assert!(!user.must_change_password);
}
