//! Face-engine helpers: the engine loaded once per test process, real photos from
//! `../shared/faces`, and multipart bodies.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, header};
use faceid_server::face::FaceEngine;
use sqlx::PgPool;

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
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type())
            .body(Body::from(multipart(parts)))
            .unwrap();
        self.raw(req).await
    }
}
