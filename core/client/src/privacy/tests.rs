//! The privacy calls against a small axum server answering as `backend/src/privacy/` does:
//! an export that is first queued (202) and then streamed (200), the requests' shapes, and the
//! restriction switch's body.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use faceid_protocol::auth::{CurrentUser, DeviceInfo, Platform, Role, TokenPair};
use serde_json::{Value, json};

use super::*;
use crate::clock::{ServerClock, SystemClock};
use crate::session::SessionConfig;
use crate::store::MemoryStore;

const EXPORT_ID: &str = "0196b1f0-0000-7000-8000-0000000000e1";
const ZIP: &[u8] =
    b"PK\x03\x04 not really a zip, but bytes the client must keep as they are \xff\x00";

#[derive(Default)]
struct Server {
    polls: AtomicU32,
    bodies: Mutex<Vec<Value>>,
}

fn user() -> CurrentUser {
    CurrentUser {
        id: Uuid::new_v4(),
        login: "ann".into(),
        first_name: "Ann".into(),
        last_name: "Lee".into(),
        role: Role::User,
        department_id: None,
        position_id: None,
        site_ids: vec![],
        device_id: None,
        must_change_password: false,
        photo_updated_at: None,
    }
}

async fn login() -> Json<TokenPair> {
    let now = Utc::now();
    Json(TokenPair {
        access_token: "a".into(),
        access_expires_at: now + chrono::Duration::minutes(15),
        refresh_token: "r".into(),
        refresh_expires_at: now + chrono::Duration::days(30),
        user: user(),
        server_time: now,
    })
}

fn status(state: &str) -> Value {
    json!({"id": EXPORT_ID, "employee_id": Uuid::new_v4(), "state": state, "language": "ru",
        "size_bytes": null, "error": null, "created_at": "2026-11-23T08:00:00Z",
        "finished_at": null, "expires_at": null})
}

async fn serve_start(State(s): State<Arc<Server>>, Json(body): Json<Value>) -> Response {
    if let Ok(mut b) = s.bodies.lock() {
        b.push(body);
    }
    (StatusCode::ACCEPTED, Json(status("queued"))).into_response()
}

async fn serve_poll(State(s): State<Arc<Server>>) -> Response {
    if s.polls.fetch_add(1, Ordering::SeqCst) == 0 {
        (StatusCode::ACCEPTED, Json(status("queued"))).into_response()
    } else {
        ([("content-type", "application/zip")], ZIP).into_response()
    }
}

async fn gone() -> Response {
    let p = faceid_protocol::problem::Problem::new(
        410,
        faceid_protocol::error_code::ErrorCode::ExportExpired,
        "expired",
    );
    (StatusCode::GONE, Json(p)).into_response()
}

async fn serve_erasure(State(s): State<Arc<Server>>, Json(body): Json<Value>) -> Response {
    if let Ok(mut b) = s.bodies.lock() {
        b.push(body.clone());
    }
    let request = json!({"id": Uuid::new_v4(), "employee_id": Uuid::new_v4(),
        "scope": body["scope"], "state": "pending", "comment": body.get("comment"),
        "requested_at": "2026-11-23T08:00:00Z", "decided_by": null, "decided_at": null,
        "refusal_reason": null, "outcome": null, "finished_at": null});
    (StatusCode::CREATED, Json(request)).into_response()
}

async fn erasures() -> Json<Value> {
    // A finished one, as the cascade stores its outcome.
    Json(
        json!([{"id": Uuid::new_v4(), "employee_id": Uuid::new_v4(), "scope": "everything",
        "state": "done", "comment": null, "requested_at": "2026-11-20T08:00:00Z",
        "decided_by": Uuid::new_v4(), "decided_at": "2026-11-21T08:00:00Z", "refusal_reason": null,
        "outcome": {"removed": {"face_templates": 2, "enrolment_photos": 2, "evidence_photos": 1,
            "profile_photo": false, "location_points": 40, "telegram_link": true, "terminals": null},
            "kept": [{"what": "attendance events", "count": 12, "why": "labour law: 5 years"}]},
        "finished_at": "2026-11-21T08:01:00Z"}]),
    )
}

async fn correction(State(s): State<Arc<Server>>, Json(body): Json<Value>) -> Response {
    if let Ok(mut b) = s.bodies.lock() {
        b.push(body.clone());
    }
    let request = json!({"id": Uuid::new_v4(), "employee_id": Uuid::new_v4(),
        "employee_name": "Ann Lee", "kind": body["kind"], "event_id": body.get("event_id"),
        "punch_kind": body.get("punch_kind"), "at": body.get("at"), "field": body.get("field"),
        "value": body.get("value"), "comment": body["comment"], "state": "pending",
        "decided_by": null, "decided_at": null, "decision_comment": null,
        "correction_event_id": null, "created_at": "2026-11-23T08:00:00Z"});
    (StatusCode::CREATED, Json(request)).into_response()
}

async fn restrict(State(s): State<Arc<Server>>, Json(body): Json<Value>) -> Json<Value> {
    if let Ok(mut b) = s.bodies.lock() {
        b.push(body.clone());
    }
    let on = body["biometrics"] == json!(true);
    Json(json!({"biometrics": on, "tracking": false, "items": if on {
        json!([{"kind": "biometrics", "restricted_at": "2026-11-23T08:00:00Z", "restricted_by": null}])
    } else { json!([]) }}))
}

async fn session() -> (Arc<Server>, Session) {
    let server = Arc::new(Server::default());
    let app = axum::Router::new()
        .route("/api/v1/auth/login", post(login))
        .route(MY_EXPORT_PATH, post(serve_start))
        .route(&format!("{MY_EXPORT_PATH}/{EXPORT_ID}"), get(serve_poll))
        .route(&format!("{MY_EXPORT_PATH}/{{id}}"), get(gone))
        .route(MY_ERASURE_REQUESTS_PATH, post(serve_erasure).get(erasures))
        .route(MY_CORRECTION_REQUESTS_PATH, post(correction))
        .route(MY_RESTRICTIONS_PATH, axum::routing::put(restrict))
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
    let device = DeviceInfo {
        id: Uuid::new_v4(),
        name: "phone".into(),
        platform: Platform::Android,
        app_version: "0.1.0".into(),
    };
    let s = Session::new(
        SessionConfig::new(&format!("http://{addr}"), device),
        Arc::new(MemoryStore::new()),
        Arc::new(ServerClock::new(Arc::new(SystemClock::default()))),
    )
    .expect("session");
    s.login("ann", "secret").await.expect("login");
    (server, s)
}

#[tokio::test]
async fn an_export_is_polled_then_downloaded_byte_for_byte() {
    let (server, s) = session().await;
    let started = start_export(&s, Some("tg")).await.expect("started");
    assert_eq!(started.state, "queued");
    assert_eq!(
        server.bodies.lock().expect("bodies")[0],
        json!({"language": "tg"})
    );
    assert!(matches!(
        start_export(&s, Some("de")).await,
        Err(SessionError::Invalid(_))
    ));

    let dir = tempfile::tempdir().expect("dir");
    let dest = dir.path().join("export.zip");
    let first = poll_export(&s, started.id, &dest).await.expect("poll");
    assert!(matches!(first, ExportPoll::Pending(ref st) if st.state == "queued"));
    assert!(!dest.exists(), "nothing written while queued");
    let second = poll_export(&s, started.id, &dest).await.expect("download");
    assert_eq!(
        second,
        ExportPoll::Downloaded {
            bytes: ZIP.len() as u64
        }
    );
    assert_eq!(std::fs::read(&dest).expect("file"), ZIP);
    assert!(!dest.with_extension("part").exists());

    let expired = poll_export(&s, Uuid::new_v4(), &dest)
        .await
        .expect_err("expired");
    assert_eq!(
        expired.error_code(),
        Some(faceid_protocol::error_code::ErrorCode::ExportExpired)
    );
}

#[tokio::test]
async fn requests_and_restrictions_use_the_servers_shapes() {
    let (server, s) = session().await;
    let e = request_erasure(&s, ErasureScope::Locations, Some("  moving away  "))
        .await
        .expect("erasure");
    assert_eq!(
        (e.scope_kind(), e.state.as_str()),
        (Some(ErasureScope::Locations), "pending")
    );
    let done = erasure_requests(&s).await.expect("list");
    let outcome = done[0].erasure_outcome().expect("outcome");
    let kept = &outcome.kept[0];
    assert_eq!((kept.what.as_str(), kept.count), ("attendance events", 12));

    let at = Utc::now();
    let c = request_correction(
        &s,
        &Correction::Punch {
            event_id: None,
            punch_kind: "in".into(),
            at,
        },
        "I forgot to check in",
    )
    .await
    .expect("correction");
    assert_eq!((c.kind.as_str(), c.state.as_str()), ("punch", "pending"));
    assert!(matches!(
        request_correction(
            &s,
            &Correction::Field {
                field: "last_name".into(),
                value: "Li".into()
            },
            "   "
        )
        .await,
        Err(SessionError::Invalid(_))
    ));

    let r = set_restrictions(&s, Some(true), None)
        .await
        .expect("restricted");
    assert!(r.biometrics && !r.tracking);
    assert_eq!(r.items[0].kind, "biometrics");

    let bodies = server.bodies.lock().expect("bodies").clone();
    assert_eq!(
        bodies[0],
        json!({"scope": "locations", "comment": "moving away"})
    );
    assert_eq!(bodies[1]["kind"], "punch");
    assert_eq!(bodies[1]["punch_kind"], "in");
    assert!(
        bodies[1].get("event_id").is_none(),
        "a missing punch names none"
    );
    assert_eq!(
        bodies[2],
        json!({"biometrics": true}),
        "tracking left as it is"
    );
}
