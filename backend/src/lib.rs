//! FaceID backend: accounts, organisation, devices and the HTTP API.
//!
//! [`router`] builds the whole API for an [`AppState`]; [`run`] serves it on a listener until a
//! shutdown future resolves, so tests can bind port 0.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use sqlx::PgPool;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub mod attendance;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod config;
pub mod consent;
pub mod db;
pub mod descriptor_cipher;
pub mod device_keys;
pub mod error;
pub mod extract;
pub mod face;
pub mod face_queue;
pub mod face_reenrol;
pub mod face_templates;
pub mod geofence;
pub mod hikvision;
pub mod idempotency;
pub mod iiko;
pub mod job_files;
pub mod jobs;
pub mod kiosk;
pub mod live;
pub mod liveness;
pub mod local_pg;
pub mod locations;
pub mod metrics;
pub mod model_install;
pub mod panel_settings;
pub mod photo_store;
pub mod privacy;
pub mod report_downloads;
pub mod routes;
pub mod serve;
pub mod telegram;
pub mod timesheet;
pub mod tls;
pub mod web;

pub use config::{Secrets, Settings};
pub use error::{AppError, AppResult};

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub jwt: Arc<auth::JwtKeys>,
    pub secrets: Arc<Secrets>,
    /// argon2id hash verified for unknown logins, so they cost as much as wrong passwords.
    pub dummy_hash: Arc<str>,
    /// The face engine (absent when the models are missing: face endpoints answer 503).
    pub face: face::FaceEngine,
    /// Enrolment photos and evidence frames.
    pub photos: Arc<photo_store::PhotoStore>,
    /// Encrypts face descriptors at rest.
    pub cipher: descriptor_cipher::DescriptorCipher,
    /// The Telegram bot, when a token is configured.
    pub telegram: Option<Arc<telegram::Telegram>>,
    /// Slots for decoding large frames ([`face::measure_blocking`]).
    pub large_decodes: Arc<tokio::sync::Semaphore>,
    /// The listener behind the panel's live updates, started by its first subscriber.
    pub live: live::Live,
    /// Turns at the face engine ([`face::measure_blocking`]), `face_workers` of them.
    pub face_queue: Arc<face_queue::FaceQueue>,
}

impl AppState {
    pub fn new(db: PgPool, settings: Settings, secrets: Secrets) -> Result<Self, AppError> {
        let dummy = auth::password::dummy_hash().map_err(AppError::internal)?;
        Ok(Self {
            db,
            jwt: Arc::new(auth::JwtKeys::new(&secrets.jwt_secret)),
            photos: Arc::new(photo_store::PhotoStore::new(
                settings.photo_store_url.as_deref(),
                &settings.data_dir,
            )),
            cipher: descriptor_cipher::DescriptorCipher::new(&secrets.descriptor_key),
            face: face::FaceEngine::default(),
            telegram: None,
            live: live::Live::default(),
            large_decodes: Arc::new(tokio::sync::Semaphore::new(settings.large_decode_slots)),
            face_queue: Arc::new(face_queue::FaceQueue::new(
                settings.face_workers,
                std::time::Duration::from_millis(settings.face_queue_max_wait_ms),
            )),
            settings: Arc::new(settings),
            secrets: Arc::new(secrets),
            dummy_hash: dummy.into(),
        })
    }

    /// The same state with a Telegram bot.
    pub fn with_telegram(mut self, telegram: Option<Arc<telegram::Telegram>>) -> Self {
        self.telegram = telegram;
        self
    }

    /// The same state with a loaded face engine.
    pub fn with_face_engine(mut self, engine: face::FaceEngine) -> Self {
        self.face = engine;
        self
    }
}

/// The whole HTTP API with its middleware.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = routes::api_parts();
    let openapi = Arc::new(openapi);
    let body_limit = state.settings.max_body_bytes;
    let timeout = Duration::from_secs(state.settings.request_timeout_secs);
    api.route("/metrics", axum::routing::get(metrics::scrape))
        .fallback_service(web::router())
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::middleware::from_fn(metrics::track_requests))
        .layer(axum::Extension(openapi))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let request_id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "http",
                    method = %req.method(),
                    path = %req.uri().path(),
                    request_id = %request_id,
                )
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Every job kind this server runs, with the periodic ones: each owning module registers its
/// own kinds.
pub fn job_registry(state: &AppState, location_retention_days: u32) -> jobs::Registry {
    let mut registry = jobs::Registry::new();
    jobs::register_maintenance(&mut registry, state.db.clone());
    jobs::retention::register(&mut registry, state.db.clone(), location_retention_days);
    telegram::register_jobs(&mut registry, state.db.clone(), state.telegram.clone());
    privacy::register_jobs(&mut registry, state.clone());
    hikvision::register_jobs(&mut registry, state);
    iiko::register_jobs(&mut registry, state);
    face_reenrol::register_jobs(&mut registry, state.clone());
    report_downloads::register_jobs(&mut registry, state.clone());
    registry
}

/// The OpenAPI document of [`router`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api_parts().1
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes in-flight requests
/// (connection limits: [`serve`]).
pub use serve::run;

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}
