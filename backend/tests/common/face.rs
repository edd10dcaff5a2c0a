//! Face-engine helpers: the engine loaded once per test process, real photos from
//! `../shared/faces`, and multipart bodies.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use faceid_server::face::FaceEngine;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Resp, TestApp};

use super::multipart::{content_type, multipart};

/// The engine, loaded once; `None` (the caller skips with a message) without models.
pub fn engine() -> Option<FaceEngine> {
    static ENGINE: OnceLock<FaceEngine> = OnceLock::new();
    let e = ENGINE.get_or_init(|| FaceEngine::load(None));
    e.get().is_ok().then(|| e.clone())
}

/// `../shared/faces`, when present.
pub fn faces_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("FACEID_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let d = shared.join("faces");
    d.is_dir().then_some(d)
}

pub fn photo(rel: &str) -> Vec<u8> {
    let dir = faces_dir().expect("faces dir");
    std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A test app with the engine and an in-memory photo store, or `None` (after saying why)
/// when the models or photos are missing.
pub fn app(pool: PgPool, test: &str) -> Option<TestApp> {
    let (Some(engine), Some(_)) = (engine(), faces_dir()) else {
        eprintln!("SKIPPED {test}: face models or ../shared/faces missing (models/fetch.sh)");
        return None;
    };
    let mut app = TestApp::with_settings(
        pool,
        faceid_server::Settings {
            photo_store_url: Some("memory:".into()),
            ..super::settings()
        },
    );
    app.state = app.state.clone().with_face_engine(engine);
    app.router = faceid_server::router(app.state.clone());
    Some(app)
}

impl TestApp {
    pub async fn post_multipart(
        &self,
        path: &str,
        token: &str,
        parts: &[(&str, Vec<u8>, &str)],
    ) -> Resp {
        self.send_multipart("POST", path, token, parts).await
    }

    /// A multipart request with `method`.
    pub async fn send_multipart(
        &self,
        method: &str,
        path: &str,
        token: &str,
        parts: &[(&str, Vec<u8>, &str)],
    ) -> Resp {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type())
            .body(Body::from(multipart(parts)))
            .unwrap();
        self.raw(req).await
    }
}

/// A JPEG from `../shared/faces` as an enrolment part.
pub fn jpeg(path: &str) -> (&'static str, Vec<u8>, &'static str) {
    ("photo", photo(path), "image/jpeg")
}

/// Enrols the caller's own face from photos in `../shared/faces`.
pub async fn enrol(app: &TestApp, token: &str, photos: &[&str]) -> Resp {
    let parts: Vec<_> = photos.iter().map(|p| jpeg(p)).collect();
    app.post_multipart("/api/v1/me/face-templates", token, &parts)
        .await
}

/// A phone's check-in evidence at a position, now, with a fresh idempotency key.
pub fn evidence(lat: f64, lon: f64) -> Value {
    let now = chrono::Utc::now();
    json!({
        "idempotency_key": Uuid::now_v7(),
        "kind": "in",
        "clock": {"device_time": now},
        "gps": {"lat": lat, "lon": lon, "accuracy_m": 12.0, "fix_time": now, "mock": false,
                "provider": "fused"},
        "liveness": {"passive": 0.9},
    })
}

/// A check-in with a photo from `../shared/faces` as the best frame.
pub async fn punch(app: &TestApp, token: &str, ev: &Value, frame: &str) -> Resp {
    punch_bytes(app, token, ev, photo(frame)).await
}

pub async fn punch_bytes(app: &TestApp, token: &str, ev: &Value, frame: Vec<u8>) -> Resp {
    app.post_multipart(
        "/api/v1/attendance/events",
        token,
        &[
            (
                "evidence",
                serde_json::to_vec(ev).unwrap(),
                "application/json",
            ),
            ("best_frame", frame, "image/jpeg"),
        ],
    )
    .await
}

/// What an administrator sets before face check-ins: the biometric consent text, and a
/// passive-liveness policy (the tests' phones send no challenge frames of real people).
pub async fn prepare_face_check_in(app: &TestApp, admin: &str) {
    let r = app
        .post(
            "/api/v1/consent-texts",
            admin,
            json!({"kind": "biometric", "body": "We keep your face template."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/settings/attendance-policy",
            Some(admin),
            Some(
                json!({"liveness_mode": "passive", "max_gps_accuracy_m": 100.0,
                        "geofence_required": true, "max_offline_delay_s": 86400}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The employee behind `token` grants biometric consent.
pub async fn grant_biometric_consent(app: &TestApp, token: &str) {
    let r = app
        .post(
            "/api/v1/me/consents",
            token,
            json!({"kind": "biometric", "action": "grant"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}
