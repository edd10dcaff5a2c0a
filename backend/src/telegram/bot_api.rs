//! A small Telegram Bot API client: the methods we use, POST + JSON, the error envelope
//! (`error_code`, `description`, `parameters.retry_after` / `migrate_to_chat_id`) turned into
//! [`ApiError`]. Hand-written on reqwest (integrations.md §3.5): the base URL is configuration,
//! so tests point it at a fake. The token never appears in errors or logs.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Default Bot API server (the configuration's default `telegram_api_url`).
pub use crate::config::DEFAULT_TELEGRAM_API_URL as DEFAULT_API_URL;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ApiError {
    /// Telegram answered `ok: false`.
    #[error("Bot API error {code}: {description}")]
    Api {
        code: i64,
        description: String,
        retry_after: Option<u64>,
        migrate_to_chat_id: Option<i64>,
    },
    /// No answer, a timeout, or an answer that is not the Bot API's JSON.
    #[error("Bot API unreachable: {0}")]
    Network(String),
}

impl ApiError {
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            Self::Network(_) => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub first_name: String,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub chat: Chat,
    pub from: Option<User>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Update {
    pub update_id: i64,
    pub message: Option<Message>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<i64>,
    description: Option<String>,
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    retry_after: Option<u64>,
    migrate_to_chat_id: Option<i64>,
}

/// The client of one bot.
#[derive(Clone)]
pub struct BotApi {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Time allowed for a call besides a long poll's own timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

impl BotApi {
    pub fn new(api_url: &str, token: &str) -> Result<Self, ApiError> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("faceid-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Network(e.without_url().to_string()))?;
        Ok(Self {
            http,
            base: api_url.trim().trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<T, ApiError> {
        let result = self.call_once(method, body, timeout).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(ApiError::Api { .. }) => "error",
            Err(_) => "network",
        };
        crate::metrics::integration_call("telegram", method, outcome);
        result
    }

    async fn call_once<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<T, ApiError> {
        let url = format!("{}/bot{}/{method}", self.base, self.token);
        let resp = self
            .http
            .post(url)
            .json(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| ApiError::Network(e.without_url().to_string()))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ApiError::Network(e.without_url().to_string()))?;
        let env: Envelope<T> = serde_json::from_slice(&bytes).map_err(|_| {
            ApiError::Network(format!(
                "HTTP {status} with a body that is not the Bot API's"
            ))
        })?;
        match (env.ok, env.result) {
            (true, Some(r)) => Ok(r),
            (true, None) => Err(ApiError::Network("ok without a result".into())),
            (false, _) => Err(ApiError::Api {
                code: env.error_code.unwrap_or(i64::from(status.as_u16())),
                description: env.description.unwrap_or_default(),
                retry_after: env.parameters.as_ref().and_then(|p| p.retry_after),
                migrate_to_chat_id: env.parameters.as_ref().and_then(|p| p.migrate_to_chat_id),
            }),
        }
    }

    pub async fn get_me(&self) -> Result<User, ApiError> {
        self.call("getMe", &serde_json::json!({}), CALL_TIMEOUT)
            .await
    }

    /// Long poll: waits up to `timeout_secs` for updates from `offset` on (which confirms
    /// every earlier one). The HTTP timeout has a margin over the poll's.
    pub async fn get_updates(
        &self,
        offset: i64,
        timeout_secs: u64,
    ) -> Result<Vec<Update>, ApiError> {
        self.call(
            "getUpdates",
            &serde_json::json!({"offset": offset, "timeout": timeout_secs, "limit": 100,
                                "allowed_updates": ["message"]}),
            Duration::from_secs(timeout_secs) + CALL_TIMEOUT,
        )
        .await
    }

    /// Webhook mode: Telegram posts updates to `url` with `secret` in the
    /// `X-Telegram-Bot-Api-Secret-Token` header. One connection at a time, so updates arrive
    /// in order (the stored offset then skips a re-delivered one).
    pub async fn set_webhook(&self, url: &str, secret: &str) -> Result<bool, ApiError> {
        self.call(
            "setWebhook",
            &serde_json::json!({"url": url, "secret_token": secret, "max_connections": 1,
                                "allowed_updates": ["message"]}),
            CALL_TIMEOUT,
        )
        .await
    }

    /// Back to long polling (pending updates are kept).
    pub async fn delete_webhook(&self) -> Result<bool, ApiError> {
        self.call("deleteWebhook", &serde_json::json!({}), CALL_TIMEOUT)
            .await
    }

    /// Sends plain text (no parse mode, so user data needs no escaping).
    pub async fn send_message(&self, chat_id: i64, text: &str) -> Result<Message, ApiError> {
        self.call(
            "sendMessage",
            &serde_json::json!({"chat_id": chat_id, "text": text,
                                "link_preview_options": {"is_disabled": true}}),
            CALL_TIMEOUT,
        )
        .await
    }
}
