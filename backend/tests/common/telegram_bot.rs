//! A Telegram bot over a test server, pointed at the fake Bot API ([`super::fake_telegram`]),
//! with the job worker and the helpers the Telegram tests share: linking a chat through the
//! deep link, device punches, running the jobs to the end.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use faceid_server::attendance::{ChainFields, append};
use faceid_server::jobs::{Registry, Worker, WorkerConfig};
use faceid_server::telegram::Telegram;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::fake_telegram::{self, FakeTelegram};
use super::{TestApp, user_body};

/// The secret of [`bot_with`]'s webhook mode.
pub const WEBHOOK_SECRET: &str = "s3cret_Token-42";

pub struct Bot {
    pub app: TestApp,
    pub fake: FakeTelegram,
    pub tg: Arc<Telegram>,
    /// Every job kind, with the periodic ones.
    pub registry: Registry,
    pub worker: Worker,
    pub admin: String,
}

/// A worker that polls often.
pub fn worker_cfg() -> WorkerConfig {
    WorkerConfig {
        concurrency: 8,
        poll_interval: Duration::from_millis(20),
        ..WorkerConfig::default()
    }
}

pub async fn bot(pool: PgPool) -> Bot {
    bot_with(pool, None, None).await
}

/// The bot over a server with the face engine (for a real check-in) or without, by long
/// polling or, with `webhook_url`, in webhook mode (secret [`WEBHOOK_SECRET`]).
pub async fn bot_with(
    pool: PgPool,
    engine: Option<faceid_server::face::FaceEngine>,
    webhook_url: Option<String>,
) -> Bot {
    let fake = FakeTelegram::start().await;
    let settings = faceid_server::Settings {
        telegram_bot_token: Some(fake_telegram::TOKEN.into()),
        telegram_api_url: fake.url.clone(),
        telegram_poll_timeout_secs: 1,
        telegram_webhook_secret: webhook_url.as_ref().map(|_| WEBHOOK_SECRET.into()),
        telegram_webhook_url: webhook_url,
        photo_store_url: Some("memory:".into()),
        ..super::settings()
    };
    let tg = Telegram::from_settings(&settings, pool.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tg.username().as_deref(), Some(fake_telegram::BOT_USERNAME));
    let state = faceid_server::AppState::new(pool.clone(), settings, super::secrets())
        .unwrap()
        .with_telegram(Some(tg.clone()));
    let state = match engine {
        Some(e) => state.with_face_engine(e),
        None => state,
    };
    let registry = faceid_server::job_registry(&state, 90);
    let worker = Worker::new(pool.clone(), registry.clone(), worker_cfg());
    let app = TestApp::with_state(pool, state);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let r = app
        .post(
            "/api/v1/consent-texts",
            &admin,
            json!({"kind": "telegram", "body": "I agree to get notifications in Telegram."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    Bot {
        app,
        fake,
        tg,
        registry,
        worker,
        admin,
    }
}

impl Bot {
    /// Runs jobs until none is due (rate-limit waits included).
    pub async fn drain(&self) {
        self.drain_with(&self.worker).await;
    }

    /// [`Bot::drain`] with another worker (another replica).
    pub async fn drain_with(&self, worker: &Worker) {
        for _ in 0..400 {
            worker.drain().await.unwrap();
            let left: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')
                   AND kind LIKE 'telegram.%'",
            )
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
            if left == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("telegram jobs never finished");
    }

    /// The periodic jobs of the period containing `at` (the instant they evaluate), run to
    /// the end with the messages they send.
    pub async fn tick(&self, at: DateTime<Utc>) {
        self.registry
            .schedule_periodic(&self.app.pool, at)
            .await
            .unwrap();
        self.drain().await;
    }

    /// Processes the updates waiting at the fake, as the poller does (one long poll).
    pub async fn poll_once(&self) {
        let offset: i64 = sqlx::query_scalar("SELECT update_offset FROM telegram_state")
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
        let updates = self.tg.api.get_updates(offset, 0).await.unwrap();
        for u in &updates {
            faceid_server::telegram::updates::handle_update(&self.tg, u)
                .await
                .unwrap();
        }
    }

    /// A user employee with the telegram consent, and their token.
    pub async fn employee(&self, login: &str, department: Option<Uuid>) -> (Uuid, String) {
        let id = self
            .app
            .create_employee(&self.admin, user_body(login, department))
            .await;
        let token = self.app.login(login).await.access_token;
        self.consent(&token).await;
        (id, token)
    }

    pub async fn consent(&self, token: &str) {
        let r = self
            .app
            .post(
                "/api/v1/me/consents",
                token,
                json!({"kind": "telegram", "action": "grant"}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
    }

    /// A fresh deep-link code for `token`'s employee.
    pub async fn link_code(&self, token: &str, language: &str) -> String {
        let r = self
            .app
            .post(
                "/api/v1/me/telegram/link",
                token,
                json!({"language": language}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["code"].as_str().unwrap().to_owned()
    }

    /// Links `token`'s employee (who has the consent) to `chat` through the deep link and
    /// the fake.
    pub async fn link(&self, token: &str, chat: i64, language: &str) {
        let code = self.link_code(token, language).await;
        self.fake.inject(chat, &format!("/start {code}"), None);
        self.poll_once().await;
        self.drain().await;
        let r = self.app.get("/api/v1/me/telegram", token).await;
        assert_eq!(r.body["linked"], true, "{}", r.body);
    }

    /// A device punch now, recorded the way the check-in endpoint records it (the chain
    /// append, in one transaction).
    pub async fn punch(&self, employee: Uuid, kind: &str, verdict: &str, reasons: &[&str]) -> Uuid {
        self.punch_at(employee, kind, verdict, reasons, Utc::now())
            .await
    }

    /// [`Bot::punch`] that occurred at `at`.
    pub async fn punch_at(
        &self,
        employee: Uuid,
        kind: &str,
        verdict: &str,
        reasons: &[&str],
        at: DateTime<Utc>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        let mut tx = self.app.pool.begin().await.unwrap();
        append(
            &mut tx,
            ChainFields {
                reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
                ..ChainFields::blank(id, employee, kind, verdict, at, Utc::now())
            },
            None,
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        id
    }
}
