//! Face-engine helpers: the engine loaded once per test process, real photos from
//! `../shared/faces`, and multipart bodies.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, header};
use faceid_server::face::FaceEngine;
use sqlx::PgPool;

use super::{Resp, TestApp};

pub const BOUNDARY: &str = "faceid-test-boundary-7d1f";

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

/// A multipart body: (part name, bytes, content type).
pub fn multipart(parts: &[(&str, Vec<u8>, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, (name, bytes, ct)) in parts.iter().enumerate() {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        body.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"p{i}\"\r\nContent-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

impl TestApp {
    pub async fn post_multipart(
        &self,
        path: &str,
        token: &str,
        parts: &[(&str, Vec<u8>, &str)],
    ) -> Resp {
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(multipart(parts)))
            .unwrap();
        self.raw(req).await
    }
}
