//! Test harness: the real router on a per-test database, called in-process.
#![allow(dead_code)]

pub mod face;
pub mod fake_hikvision;
pub mod fake_iiko;
pub mod fake_telegram;
pub mod multipart;
pub mod telegram_bot;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use faceid_protocol::auth::TokenPair;
use faceid_server::{AppState, Secrets, Settings};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

pub const JWT_SECRET: &[u8] = b"test-secret-test-secret-test-secret-0123456789";
pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub pool: PgPool,
    pub state: AppState,
    pub router: Router,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub fn secrets() -> Secrets {
    Secrets {
        jwt_secret: JWT_SECRET.to_vec(),
        descriptor_key: [7; 32],
    }
}

pub fn settings() -> Settings {
    Settings {
        max_body_bytes: 64 * 1024,
        ..Settings::default()
    }
}

impl TestApp {
    /// Runs every job that is due, one at a time, until none is left (the app's own registry).
    pub async fn drain_jobs(&self) {
        let worker = faceid_server::jobs::Worker::new(
            self.pool.clone(),
            faceid_server::job_registry(&self.state, 90),
            faceid_server::jobs::WorkerConfig {
                concurrency: 1,
                ..faceid_server::jobs::WorkerConfig::default()
            },
        );
        worker.drain().await.unwrap();
    }

    pub fn new(pool: PgPool) -> Self {
        Self::with_settings(pool, settings())
    }

    pub fn with_settings(pool: PgPool, settings: Settings) -> Self {
        let secrets = secrets();
        let state = AppState::new(pool.clone(), settings, secrets).unwrap();
        Self::with_state(pool, state)
    }

    /// The router over a state built by the caller (e.g. with a Telegram bot).
    pub fn with_state(pool: PgPool, state: AppState) -> Self {
        let router = faceid_server::router(state.clone());
        Self {
            pool,
            state,
            router,
        }
    }

    pub async fn raw(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        // A stream of server-sent events does not end: its status and headers are the answer.
        let event_stream = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let bytes = if event_stream {
            Default::default()
        } else {
            resp.into_body().collect().await.unwrap().to_bytes()
        };
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn call_from(
        &self,
        addr: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        let mut req = b.body(body).unwrap();
        let sock: SocketAddr = format!("{addr}:40000").parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(sock));
        self.raw(req).await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        self.call_from("10.0.0.1", method, path, token, body).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Creates the first administrator the way `faceid-server admin create` does.
    pub async fn bootstrap_admin(&self, login: &str) -> Uuid {
        faceid_server::routes::employees::create_admin(
            &self.pool,
            login,
            "Ada",
            "Admin",
            PASSWORD.to_owned(),
        )
        .await
        .unwrap()
    }

    pub async fn login_on(&self, login: &str, password: &str, device: Uuid) -> Resp {
        self.call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({
                "login": login,
                "password": password,
                "device": {"id": device, "name": "Pixel 8", "platform": "android", "app_version": "1.0.0"}
            })),
        )
        .await
    }

    /// Logs in on a fresh device and returns the token pair.
    pub async fn login(&self, login: &str) -> TokenPair {
        let r = self.login_on(login, PASSWORD, Uuid::new_v4()).await;
        assert_eq!(r.status, StatusCode::OK, "login {login}: {}", r.body);
        serde_json::from_value(r.body).unwrap()
    }

    pub async fn create_department(&self, admin: &str, name: &str) -> Uuid {
        let r = self
            .post("/api/v1/departments", admin, json!({"name": name}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn create_site(&self, admin: &str, name: &str) -> Uuid {
        let r = self
            .post(
                "/api/v1/sites",
                admin,
                json!({"name": name, "time_zone": "Europe/Moscow",
                       "geofence": {"type": "circle", "latitude": 55.75, "longitude": 37.61, "radius_m": 150.0}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Creates an employee through the API and returns its id. Unless `body` says otherwise,
    /// the holder counts as having chosen the password (`must_change_password: false`): tests
    /// that are not about the forced password change act as the new employee straight away.
    pub async fn create_employee(&self, token: &str, mut body: Value) -> Uuid {
        if let Some(o) = body.as_object_mut() {
            o.entry("must_change_password")
                .or_insert(Value::Bool(false));
        }
        let r = self.post("/api/v1/employees", token, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

pub fn user_body(login: &str, department: Option<Uuid>) -> Value {
    json!({
        "login": login,
        "password": PASSWORD,
        "first_name": "Ivan",
        "last_name": login,
        "role": "user",
        "department_id": department,
    })
}
