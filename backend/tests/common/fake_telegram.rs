//! A fake Telegram Bot API (integrations.md §3.6), served by axum on a loopback port so the
//! production client talks to it over HTTP exactly as to Telegram:
//!
//! * `/bot<token>/<method>`: an unknown token → 401, an unknown method → 404, both in the
//!   Bot API's error envelope; parameters from JSON, form-urlencoded bodies or the query string.
//! * `getMe`, `sendMessage` (known chat, 1–4096 characters, a valid `parse_mode`, HTML tags
//!   balanced), `getUpdates` (offset confirms earlier updates, `limit`, `timeout` long poll,
//!   409 while a webhook is set), `setWebhook` / `deleteWebhook` / `getWebhookInfo`.
//! * Rate limits like Telegram's: a second message to a chat within a second, or more than 30
//!   a second overall → 429 with `parameters.retry_after`; a switch forces the next N calls
//!   to 429. Per-chat `blocked` (403), `missing` (400 chat not found), `migrated` (400 with
//!   `migrate_to_chat_id`); injected 5xx answers and latency.
//! * Test hook `POST /fake/updates` `{"chat_id", "from_id", "text"}` (also [`FakeTelegram::inject`]);
//!   [`FakeTelegram::deliver`] posts an update to the registered webhook with its secret
//!   header (or a wrong or missing one), as Telegram does in webhook mode.
// Early error answers are `Response`s; boxing them would gain nothing in a test double.
#![allow(dead_code, clippy::result_large_err)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const TOKEN: &str = "123456:TEST-token_abc";
pub const BOT_USERNAME: &str = "fake_bot";

/// A message the fake accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub chat_id: i64,
    pub text: String,
    pub message_id: i64,
    pub at: Instant,
}

/// One `sendMessage` call and how it was answered.
#[derive(Debug, Clone)]
pub struct Call {
    pub chat_id: i64,
    pub status: u16,
    pub at: Instant,
}

#[derive(Default)]
struct Inner {
    updates: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    known_chats: HashSet<i64>,
    blocked: HashSet<i64>,
    missing: HashSet<i64>,
    migrated: HashMap<i64, i64>,
    sent: Vec<Sent>,
    calls: Vec<Call>,
    last_per_chat: HashMap<i64, Instant>,
    recent: VecDeque<Instant>,
    force_429: u32,
    force_5xx: u32,
    retry_after: u64,
    latency: Duration,
    webhook: Option<(String, Option<String>)>,
    get_updates_calls: u32,
    delete_webhook_calls: u32,
}

/// The running fake; clone freely.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Mutex<Inner>>,
    arrived: Arc<Notify>,
    pub url: String,
}

fn envelope_error(code: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (
        StatusCode::from_u16(code).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(result: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json!({"ok": true, "result": result}).to_string(),
    )
        .into_response()
}

/// Parameters from the query string and a JSON or form body, as Telegram accepts them.
fn params(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Result<Value, Response> {
    let mut out = serde_json::Map::new();
    let from_pairs = |out: &mut serde_json::Map<String, Value>, bytes: &[u8]| {
        for (k, v) in form_urlencoded::parse(bytes) {
            let value = serde_json::from_str(&v).unwrap_or(Value::String(v.into_owned()));
            out.insert(k.into_owned(), value);
        }
    };
    if let Some(q) = query {
        from_pairs(&mut out, q.as_bytes());
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !body.is_empty() {
        if ct.starts_with("application/json") {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(m)) => out.extend(m),
                _ => return Err(envelope_error(400, "Bad Request: invalid JSON", None)),
            }
        } else if ct.starts_with("application/x-www-form-urlencoded") {
            from_pairs(&mut out, body);
        } else {
            return Err(envelope_error(
                400,
                "Bad Request: unsupported content type",
                None,
            ));
        }
    }
    Ok(Value::Object(out))
}

/// Whether every HTML tag is closed in order (Telegram refuses the message otherwise).
fn html_balanced(text: &str) -> bool {
    let mut stack = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        let Some(j) = rest[i..].find('>') else {
            return false;
        };
        let tag = &rest[i + 1..i + j];
        let name = tag
            .trim_start_matches('/')
            .split_whitespace()
            .next()
            .unwrap_or("");
        if tag.starts_with('/') {
            if stack.pop() != Some(name.to_owned()) {
                return false;
            }
        } else {
            stack.push(name.to_owned());
        }
        rest = &rest[i + j + 1..];
    }
    stack.is_empty()
}

impl FakeTelegram {
    /// Starts the fake on a loopback port.
    pub async fn start() -> FakeTelegram {
        let fake = FakeTelegram {
            inner: Arc::new(Mutex::new(Inner {
                next_update_id: 1000,
                next_message_id: 1,
                retry_after: 1,
                ..Inner::default()
            })),
            arrived: Arc::new(Notify::new()),
            url: String::new(),
        };
        let app = Router::new()
            .route("/fake/updates", post(hook_updates))
            .route("/{bot}/{method}", any(api))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeTelegram {
            url: format!("http://{addr}"),
            ..fake
        }
    }

    /// A new update: a private-chat message from `chat_id`.
    fn new_update(s: &mut Inner, chat_id: i64, text: &str, language: Option<&str>) -> Value {
        let id = s.next_update_id;
        s.next_update_id += 1;
        s.known_chats.insert(chat_id);
        let mut from = json!({"id": chat_id, "is_bot": false, "first_name": "Ivan",
                              "username": format!("user{chat_id}")});
        if let Some(l) = language {
            from["language_code"] = json!(l);
        }
        json!({
            "update_id": id,
            "message": {"message_id": id, "date": 1_700_000_000, "text": text,
                        "chat": {"id": chat_id, "type": "private"}, "from": from}
        })
    }

    /// Queues an update: a private-chat message from `chat_id`.
    pub fn inject(&self, chat_id: i64, text: &str, language: Option<&str>) -> i64 {
        let mut s = self.inner.lock().unwrap();
        let u = Self::new_update(&mut s, chat_id, text, language);
        let id = u["update_id"].as_i64().unwrap();
        s.updates.push_back(u);
        drop(s);
        self.arrived.notify_waiters();
        id
    }

    /// The webhook set with `setWebhook`: (url, secret_token).
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.inner.lock().unwrap().webhook.clone()
    }

    /// Delivers a new update to the registered webhook as Telegram does: a JSON POST with the
    /// registered `X-Telegram-Bot-Api-Secret-Token`, or with `secret` instead
    /// (`Some("")`: no header at all). Answers the webhook's HTTP status.
    pub async fn deliver(&self, chat_id: i64, text: &str, secret: Option<&str>) -> u16 {
        let (url, registered, update) = {
            let mut s = self.inner.lock().unwrap();
            let (url, registered) = s.webhook.clone().expect("no webhook is set");
            let u = Self::new_update(&mut s, chat_id, text, None);
            (url, registered, u)
        };
        let header = match secret {
            Some("") => None,
            Some(other) => Some(other.to_owned()),
            None => registered,
        };
        let mut req = reqwest::Client::new().post(url).json(&update);
        if let Some(h) = header {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", h);
        }
        req.send().await.unwrap().status().as_u16()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.inner.lock().unwrap().sent.clone()
    }
    pub fn sent_to(&self, chat: i64) -> Vec<String> {
        self.sent()
            .into_iter()
            .filter(|m| m.chat_id == chat)
            .map(|m| m.text)
            .collect()
    }
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }
    pub fn pending_updates(&self) -> usize {
        self.inner.lock().unwrap().updates.len()
    }
    pub fn get_updates_calls(&self) -> u32 {
        self.inner.lock().unwrap().get_updates_calls
    }
    pub fn delete_webhook_calls(&self) -> u32 {
        self.inner.lock().unwrap().delete_webhook_calls
    }
    pub fn block(&self, chat: i64) {
        self.inner.lock().unwrap().blocked.insert(chat);
    }
    pub fn lose(&self, chat: i64) {
        self.inner.lock().unwrap().missing.insert(chat);
    }
    pub fn migrate(&self, chat: i64, to: i64) {
        let mut s = self.inner.lock().unwrap();
        s.migrated.insert(chat, to);
        s.known_chats.insert(to);
    }
    pub fn know_chat(&self, chat: i64) {
        self.inner.lock().unwrap().known_chats.insert(chat);
    }
    /// The next `n` API calls answer 429 with `retry_after`.
    pub fn force_429(&self, n: u32, retry_after: u64) {
        let mut s = self.inner.lock().unwrap();
        s.force_429 = n;
        s.retry_after = retry_after;
    }
    /// The next `n` API calls answer 502 (HTML, as a proxy would).
    pub fn force_5xx(&self, n: u32) {
        self.inner.lock().unwrap().force_5xx = n;
    }
    pub fn set_latency(&self, d: Duration) {
        self.inner.lock().unwrap().latency = d;
    }

    fn get_updates(&self, p: &Value) -> Result<Vec<Value>, Response> {
        let mut s = self.inner.lock().unwrap();
        s.get_updates_calls += 1;
        if s.webhook.is_some() {
            return Err(envelope_error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                None,
            ));
        }
        // An offset confirms every update before it: they are gone for good.
        if let Some(offset) = p["offset"].as_i64() {
            s.updates
                .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
        }
        let limit = p["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
        Ok(s.updates.iter().take(limit).cloned().collect())
    }

    fn send_message(&self, p: &Value) -> Response {
        let mut s = self.inner.lock().unwrap();
        let now = Instant::now();
        let Some(chat_id) = p["chat_id"]
            .as_i64()
            .or_else(|| p["chat_id"].as_str().and_then(|c| c.parse().ok()))
        else {
            return envelope_error(400, "Bad Request: chat_id is empty", None);
        };
        let text = p["text"].as_str().unwrap_or("");
        let len = text.chars().count();
        let answer = if s.force_429 > 0 {
            s.force_429 -= 1;
            let ra = s.retry_after;
            envelope_error(
                429,
                &format!("Too Many Requests: retry after {ra}"),
                Some(json!({"retry_after": ra})),
            )
        } else if s.blocked.contains(&chat_id) {
            envelope_error(403, "Forbidden: bot was blocked by the user", None)
        } else if s.missing.contains(&chat_id) || !s.known_chats.contains(&chat_id) {
            envelope_error(400, "Bad Request: chat not found", None)
        } else if let Some(to) = s.migrated.get(&chat_id) {
            envelope_error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                Some(json!({"migrate_to_chat_id": to})),
            )
        } else if len == 0 {
            envelope_error(400, "Bad Request: message text is empty", None)
        } else if len > 4096 {
            envelope_error(400, "Bad Request: message is too long", None)
        } else if let Some(mode) = p.get("parse_mode").and_then(Value::as_str)
            && !matches!(mode, "HTML" | "MarkdownV2" | "Markdown")
        {
            envelope_error(
                400,
                &format!("Bad Request: unsupported parse_mode {mode}"),
                None,
            )
        } else if p.get("parse_mode").and_then(Value::as_str) == Some("HTML")
            && !html_balanced(text)
        {
            envelope_error(
                400,
                "Bad Request: can't parse entities: unclosed start tag",
                None,
            )
        } else if s
            .last_per_chat
            .get(&chat_id)
            .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(1))
            || {
                while s
                    .recent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
                {
                    s.recent.pop_front();
                }
                s.recent.len() >= 30
            }
        {
            let ra = s.retry_after;
            envelope_error(
                429,
                &format!("Too Many Requests: retry after {ra}"),
                Some(json!({"retry_after": ra})),
            )
        } else {
            let id = s.next_message_id;
            s.next_message_id += 1;
            s.last_per_chat.insert(chat_id, now);
            s.recent.push_back(now);
            s.sent.push(Sent {
                chat_id,
                text: text.to_owned(),
                message_id: id,
                at: now,
            });
            ok(
                json!({"message_id": id, "date": 1_700_000_000, "text": text,
                      "chat": {"id": chat_id, "type": "private"}}),
            )
        };
        s.calls.push(Call {
            chat_id,
            status: answer.status().as_u16(),
            at: now,
        });
        answer
    }
}

async fn hook_updates(State(fake): State<FakeTelegram>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(chat) = v["chat_id"].as_i64() else {
        return (StatusCode::BAD_REQUEST, "chat_id required").into_response();
    };
    let id = fake.inject(chat, v["text"].as_str().unwrap_or(""), None);
    ok(json!({"update_id": id}))
}

async fn api(
    State(fake): State<FakeTelegram>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if bot.strip_prefix("bot") != Some(TOKEN) {
        return envelope_error(401, "Unauthorized", None);
    }
    let p = match params(&headers, query.as_deref(), &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let latency = {
        let mut s = fake.inner.lock().unwrap();
        if s.force_5xx > 0 && method != "getUpdates" {
            s.force_5xx -= 1;
            return (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response();
        }
        s.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match method.as_str() {
        "getMe" => ok(json!({"id": 123456, "is_bot": true, "first_name": "Fake",
                             "username": BOT_USERNAME})),
        "sendMessage" => fake.send_message(&p),
        "getUpdates" => {
            let timeout = Duration::from_secs(p["timeout"].as_u64().unwrap_or(0).min(50));
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                let notified = fake.arrived.notified();
                match fake.get_updates(&p) {
                    Err(r) => return r,
                    Ok(u) if !u.is_empty() => return ok(Value::Array(u)),
                    Ok(_) => {}
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return ok(json!([]));
                }
            }
        }
        "setWebhook" => {
            let url = p["url"].as_str().unwrap_or("").to_owned();
            let secret = p["secret_token"].as_str().map(str::to_owned);
            if let Some(s) = &secret
                && (s.is_empty()
                    || s.len() > 256
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
            {
                return envelope_error(
                    400,
                    "Bad Request: secret token contains unallowed characters",
                    None,
                );
            }
            fake.inner.lock().unwrap().webhook = if url.is_empty() {
                None
            } else {
                Some((url, secret))
            };
            ok(json!(true))
        }
        "deleteWebhook" => {
            let mut s = fake.inner.lock().unwrap();
            s.webhook = None;
            s.delete_webhook_calls += 1;
            ok(json!(true))
        }
        "getWebhookInfo" => {
            let s = fake.inner.lock().unwrap();
            let url = s.webhook.as_ref().map(|w| w.0.clone()).unwrap_or_default();
            ok(json!({"url": url, "has_custom_certificate": false,
                      "pending_update_count": s.updates.len()}))
        }
        _ => envelope_error(404, "Not Found", None),
    }
}
