//! Login, logout, the current user, and access tokens that are refreshed before they expire,
//! exactly once however many calls race for one.
//!
//! The token pair lives in a [`SecureStore`] under [`SESSION_KEY`]. A refresh holds a tokio
//! mutex around the check-and-refresh, so concurrent callers wait for the one refresh in
//! flight and then see its result (the refresh token is single use: a second refresh with the
//! same token would be taken by the server as theft and revoke the whole family).
//!
//! A refresh the server refuses (revoked, reused, expired) ends the session cleanly: the tokens
//! are deleted from the store, the state becomes [`SessionState::AuthRequired`] naming the
//! employee, and that employee's outbox stays as it is, to be sent after the next login.

use faceid_protocol::error_code::ErrorCode;
use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use faceid_protocol::auth::{
    ChangePasswordRequest, CurrentUser, DeviceInfo, DeviceNonce, DeviceProof, LoginRequest,
    MAX_LOGIN_LEN, MAX_PASSWORD_LEN, RefreshRequest, TokenPair,
};
use faceid_protocol::problem::Problem;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::clock::ServerClock;
use crate::device_key::{self, DeviceKey, DeviceKeyError};
use crate::http::{
    HttpAnswer, HttpConfig, HttpError, answer_date, build_client, normalise_base, read_answer,
    read_bytes,
};
use crate::store::{SecureStore, StoreError};

/// Key of the stored token pair.
pub const SESSION_KEY: &str = "session";
/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

pub use faceid_protocol::auth::{
    LOGIN_PATH, LOGOUT_PATH, ME_PATH, NONCE_PATH, PASSWORD_PATH, REFRESH_PATH,
};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No session, or it ended (refresh refused): show the login screen.
    #[error("login required")]
    AuthRequired,
    /// The server refused the request for good (4xx other than an expired token).
    #[error("server refused the request ({status} {code})", code = .problem.as_ref().map(|p| p.code.as_str()).unwrap_or("-"))]
    Rejected {
        status: u16,
        problem: Option<Box<Problem>>,
    },
    /// The server could not answer now (5xx, 408, 429): try later.
    #[error("server unavailable ({status}), retry later")]
    Unavailable {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused, reset, DNS, timeout.
    #[error("network error: {0}")]
    Network(String),
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    DeviceKey(#[from] DeviceKeyError),
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl SessionError {
    /// Whether a later retry may succeed without the user doing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Network(_))
    }

    /// The problem's stable code as sent, when the server gave one (also a code a newer
    /// server added; compare with [`SessionError::error_code`]).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Rejected {
                problem: Some(p), ..
            } => Some(&p.code),
            _ => None,
        }
    }

    /// The problem's code, when the server gave one this build knows.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Rejected {
                problem: Some(p), ..
            } => p.error_code(),
            _ => None,
        }
    }
}

/// Where the session stands.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    LoggedOut,
    Active(CurrentUser),
    /// The session of this employee ended; their queued entries wait for their next login.
    AuthRequired {
        employee: Uuid,
    },
}

/// Settings of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `http(s)://host[:port]`, without `/api/v1`.
    pub server: String,
    pub device: DeviceInfo,
    pub http: HttpConfig,
    pub refresh_margin: Duration,
    /// This device's key (`docs/device-keys.md`): when set, every login and refresh signs a
    /// fresh server nonce with it. `None` behaves like an old client, refused where the
    /// employee has an allow-list.
    pub device_key: Option<Arc<dyn DeviceKey>>,
}

impl SessionConfig {
    pub fn new(server: &str, device: DeviceInfo) -> Self {
        Self {
            server: server.to_owned(),
            device,
            http: HttpConfig::default(),
            refresh_margin: REFRESH_MARGIN,
            device_key: None,
        }
    }
}

/// A logged-in (or not) user of this device.
#[derive(Debug)]
pub struct Session {
    http: reqwest::Client,
    base: String,
    device: DeviceInfo,
    device_key: Option<Arc<dyn DeviceKey>>,
    store: Arc<dyn SecureStore>,
    clock: Arc<ServerClock>,
    refresh_margin: chrono::Duration,
    tokens: tokio::sync::Mutex<Option<TokenPair>>,
    ended_for: StdMutex<Option<Uuid>>,
    refreshes: AtomicU64,
}

fn map_send_error(e: &reqwest::Error) -> SessionError {
    if e.is_timeout() {
        SessionError::Network(format!("timeout: {e}"))
    } else {
        SessionError::Network(e.to_string())
    }
}

impl Session {
    /// A session over `store`, restoring a stored token pair if there is one.
    pub fn new(
        config: SessionConfig,
        store: Arc<dyn SecureStore>,
        clock: Arc<ServerClock>,
    ) -> Result<Self, SessionError> {
        let base = normalise_base(&config.server)?;
        let http = build_client(config.http)?;
        let stored = match store.load(SESSION_KEY)? {
            Some(json) => match serde_json::from_str::<TokenPair>(&json) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!(error = %e, "stored session unreadable; login required");
                    None
                }
            },
            None => None,
        };
        Ok(Self {
            http,
            base,
            device: config.device,
            device_key: config.device_key,
            store,
            clock,
            refresh_margin: chrono::Duration::from_std(config.refresh_margin)
                .unwrap_or(chrono::Duration::seconds(60)),
            tokens: tokio::sync::Mutex::new(stored),
            ended_for: StdMutex::new(None),
            refreshes: AtomicU64::new(0),
        })
    }

    pub fn server(&self) -> &str {
        &self.base
    }

    pub fn server_clock(&self) -> &Arc<ServerClock> {
        &self.clock
    }

    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// Refreshes performed by this session (diagnostics and tests).
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    pub async fn state(&self) -> SessionState {
        if let Some(t) = self.tokens.lock().await.as_ref() {
            return SessionState::Active(t.user.clone());
        }
        match self.ended_for.lock().ok().and_then(|g| *g) {
            Some(employee) => SessionState::AuthRequired { employee },
            None => SessionState::LoggedOut,
        }
    }

    /// The user of the current session, as of login or the last refresh.
    pub async fn current_user(&self) -> Option<CurrentUser> {
        self.tokens.lock().await.as_ref().map(|t| t.user.clone())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post_json<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        bearer: Option<&str>,
    ) -> Result<HttpAnswer, SessionError> {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.map_err(|e| map_send_error(&e))?;
        let answer = read_answer(resp).await.map_err(|e| map_send_error(&e))?;
        self.learn_time(&answer);
        Ok(answer)
    }

    /// A proof of this device's key over a fresh server nonce; `None` without a key.
    async fn device_proof(&self) -> Result<Option<DeviceProof>, SessionError> {
        let Some(key) = &self.device_key else {
            return Ok(None);
        };
        let resp = self
            .http
            .post(self.url(NONCE_PATH))
            .send()
            .await
            .map_err(|e| map_send_error(&e))?;
        let answer = read_answer(resp).await.map_err(|e| map_send_error(&e))?;
        self.learn_time(&answer);
        if !answer.is_success() {
            return Err(Self::refusal(&answer));
        }
        let nonce: DeviceNonce = Self::decode(&answer)?;
        Ok(Some(device_key::proof(
            key.as_ref(),
            self.device.id,
            &nonce.nonce,
        )?))
    }

    fn learn_time(&self, answer: &HttpAnswer) {
        if let Some(d) = answer.date {
            self.clock.observe(d);
        }
    }

    fn decode<R: DeserializeOwned>(answer: &HttpAnswer) -> Result<R, SessionError> {
        serde_json::from_str(&answer.body).map_err(|e| SessionError::Decode(e.to_string()))
    }

    fn refusal(answer: &HttpAnswer) -> SessionError {
        match answer.status {
            408 | 429 | 500..=599 => SessionError::Unavailable {
                status: answer.status,
                retry_after: answer.retry_after,
            },
            status => SessionError::Rejected {
                status,
                problem: answer.problem().map(Box::new),
            },
        }
    }

    fn adopt(&self, guard: &mut Option<TokenPair>, pair: TokenPair) -> Result<(), SessionError> {
        // `server_time` in the body is more precise than the `Date` header (seconds).
        self.clock.observe(pair.server_time);
        let json = serde_json::to_string(&pair).map_err(|e| SessionError::Decode(e.to_string()))?;
        *guard = Some(pair);
        if let Ok(mut ended) = self.ended_for.lock() {
            *ended = None;
        }
        // Keep the new pair in memory even if the store fails: the old refresh token is
        // already retired on the server.
        self.store.save(SESSION_KEY, &json)?;
        Ok(())
    }

    /// Log in; the password is sent once and never stored.
    pub async fn login(&self, login: &str, password: &str) -> Result<CurrentUser, SessionError> {
        if login.trim().is_empty() || login.chars().count() > MAX_LOGIN_LEN {
            return Err(SessionError::Invalid("login is empty or too long"));
        }
        if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
            return Err(SessionError::Invalid("password is empty or too long"));
        }
        let mut guard = self.tokens.lock().await;
        let body = LoginRequest {
            login: login.to_owned(),
            password: password.to_owned(),
            device: self.device.clone(),
            device_proof: self.device_proof().await?,
        };
        let answer = self.post_json(LOGIN_PATH, &body, None).await?;
        if !answer.is_success() {
            return Err(Self::refusal(&answer));
        }
        let pair: TokenPair = Self::decode(&answer)?;
        let user = pair.user.clone();
        self.adopt(&mut guard, pair)?;
        tracing::info!(user = %user.id, "logged in");
        Ok(user)
    }

    /// End the session: tell the server (best effort) and forget the tokens. Queued entries
    /// stay in the employee's outbox.
    pub async fn logout(&self) -> Result<(), SessionError> {
        let mut guard = self.tokens.lock().await;
        if let Some(t) = guard.take() {
            let body = RefreshRequest {
                refresh_token: t.refresh_token.clone(),
                device_proof: None,
            };
            match self
                .post_json(LOGOUT_PATH, &body, Some(&t.access_token))
                .await
            {
                Ok(a) if a.is_success() => {}
                Ok(a) => tracing::warn!(status = a.status, "logout refused; forgetting tokens"),
                Err(e) => tracing::warn!(error = %e, "logout not delivered; forgetting tokens"),
            }
        }
        if let Ok(mut ended) = self.ended_for.lock() {
            *ended = None;
        }
        self.store.delete(SESSION_KEY)?;
        Ok(())
    }

    fn end_session(&self, guard: &mut Option<TokenPair>, why: &str) -> SessionError {
        if let Some(t) = guard.take() {
            tracing::warn!(user = %t.user.id, why, "session ended; login required");
            if let Ok(mut ended) = self.ended_for.lock() {
                *ended = Some(t.user.id);
            }
        }
        if let Err(e) = self.store.delete(SESSION_KEY) {
            tracing::error!(error = %e, "could not delete ended session from the store");
        }
        SessionError::AuthRequired
    }

    fn needs_refresh(&self, t: &TokenPair) -> bool {
        self.clock.now() + self.refresh_margin >= t.access_expires_at
    }

    /// Refresh under the held lock. On a transient failure the current access token is kept
    /// (and returned) while it is still valid.
    async fn refresh_locked(&self, guard: &mut Option<TokenPair>) -> Result<String, SessionError> {
        let Some(current) = guard.as_ref() else {
            return Err(SessionError::AuthRequired);
        };
        if current.refresh_expires_at <= self.clock.now() {
            return Err(self.end_session(guard, "refresh token expired"));
        }
        let refresh_token = current.refresh_token.clone();
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        let result = match self.device_proof().await {
            Ok(device_proof) => {
                let body = RefreshRequest {
                    refresh_token,
                    device_proof,
                };
                self.post_json(REFRESH_PATH, &body, None).await
            }
            Err(e) => Err(e),
        };
        let still_valid = |g: &Option<TokenPair>| {
            g.as_ref()
                .filter(|t| self.clock.now() < t.access_expires_at)
                .map(|t| t.access_token.clone())
        };
        match result {
            Ok(answer) if answer.is_success() => {
                let pair: TokenPair = Self::decode(&answer)?;
                let token = pair.access_token.clone();
                self.adopt(guard, pair)?;
                Ok(token)
            }
            Ok(answer) => {
                let err = Self::refusal(&answer);
                if err.is_transient() {
                    tracing::warn!(status = answer.status, "token refresh unavailable");
                    still_valid(guard).ok_or(err)
                } else {
                    let code = err.code().unwrap_or("refused").to_owned();
                    Err(self.end_session(guard, &code))
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "token refresh not delivered");
                still_valid(guard).ok_or(e)
            }
        }
    }

    /// A valid access token, refreshed first when it expires within the margin. Many
    /// concurrent callers cause one refresh.
    pub async fn access_token(&self) -> Result<String, SessionError> {
        let mut guard = self.tokens.lock().await;
        match guard.as_ref() {
            None => Err(SessionError::AuthRequired),
            Some(t) if !self.needs_refresh(t) => Ok(t.access_token.clone()),
            Some(_) => self.refresh_locked(&mut guard).await,
        }
    }

    /// The server said 401 to `stale`: refresh, unless another caller already replaced it.
    pub async fn refresh_after_unauthorized(&self, stale: &str) -> Result<String, SessionError> {
        let mut guard = self.tokens.lock().await;
        match guard.as_ref() {
            None => Err(SessionError::AuthRequired),
            Some(t) if t.access_token != stale => Ok(t.access_token.clone()),
            Some(_) => self.refresh_locked(&mut guard).await,
        }
    }

    /// `GET /api/v1/me`, refreshing once on a 401.
    pub async fn fetch_me(&self) -> Result<CurrentUser, SessionError> {
        let user: CurrentUser = self
            .call_json(reqwest::Method::GET, ME_PATH, None::<&()>)
            .await?;
        if let Some(t) = self.tokens.lock().await.as_mut() {
            t.user = user.clone();
        }
        Ok(user)
    }

    /// Sends an authorised request (`build` adds the body; it is called again for the retry),
    /// refreshing the access token once on a 401. Answers the response whatever its status,
    /// body unread; its `Date` teaches the server clock.
    pub async fn send_authorised(
        &self,
        method: reqwest::Method,
        path: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SessionError> {
        let mut token = self.access_token().await?;
        let mut retried = false;
        loop {
            let req = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(&token);
            let resp = build(req).send().await.map_err(|e| map_send_error(&e))?;
            if let Some(d) = answer_date(resp.headers()) {
                self.clock.observe(d);
            }
            if resp.status().as_u16() == 401 && !retried {
                retried = true;
                token = self.refresh_after_unauthorized(&token).await?;
                continue;
            }
            return Ok(resp);
        }
    }

    /// The refusal a response that is not a success stands for.
    pub async fn refusal_of(resp: reqwest::Response) -> SessionError {
        match read_answer(resp).await {
            Ok(answer) => Self::refusal(&answer),
            Err(e) => map_send_error(&e),
        }
    }

    /// An authorised call answered by JSON (`body` as JSON when given), refreshing the access
    /// token once on a 401.
    pub async fn call_json<B: serde::Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, SessionError> {
        let answer = self.call_answer(method, path, body).await?;
        Self::decode(&answer)
    }

    /// An authorised call whose successful answer has nothing to read (`204 No Content`).
    pub async fn call_empty<B: serde::Serialize + ?Sized>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), SessionError> {
        self.call_answer(method, path, body).await.map(|_| ())
    }

    async fn call_answer<B: serde::Serialize + ?Sized>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<HttpAnswer, SessionError> {
        let resp = self
            .send_authorised(method, path, |req| match body {
                Some(b) => req.json(b),
                None => req,
            })
            .await?;
        let answer = read_answer(resp).await.map_err(|e| map_send_error(&e))?;
        if !answer.is_success() {
            return Err(Self::refusal(&answer));
        }
        Ok(answer)
    }

    /// An authorised `GET` of binary content (a photo): its bytes, at most
    /// [`crate::http::MAX_BODY_BYTES`].
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, SessionError> {
        let resp = self
            .send_authorised(reqwest::Method::GET, path, |req| req)
            .await?;
        if !resp.status().is_success() {
            return Err(Self::refusal_of(resp).await);
        }
        let (_, _, _, bytes) = read_bytes(resp).await.map_err(|e| map_send_error(&e))?;
        Ok(bytes)
    }

    /// Changes the holder's password (`POST /api/v1/me/password`); the server ends every
    /// other session of theirs, this one stays. Clears `must_change_password` of the user kept
    /// with the session. A wrong current password: `Rejected` 403 `wrong_password`; a weak new
    /// one: 422 `weak_password`.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<(), SessionError> {
        if current.is_empty() || current.len() > MAX_PASSWORD_LEN {
            return Err(SessionError::Invalid(
                "current password is empty or too long",
            ));
        }
        if new.is_empty() || new.len() > MAX_PASSWORD_LEN {
            return Err(SessionError::Invalid("new password is empty or too long"));
        }
        let body = ChangePasswordRequest {
            current_password: current.to_owned(),
            new_password: new.to_owned(),
        };
        self.call_empty(reqwest::Method::POST, PASSWORD_PATH, Some(&body))
            .await?;
        let mut guard = self.tokens.lock().await;
        if let Some(pair) = guard.as_mut() {
            pair.user.must_change_password = false;
            let json =
                serde_json::to_string(&*pair).map_err(|e| SessionError::Decode(e.to_string()))?;
            self.store.save(SESSION_KEY, &json)?;
        }
        tracing::info!("password changed");
        Ok(())
    }

    /// When the access token expires (server clock).
    pub async fn access_expires_at(&self) -> Option<DateTime<Utc>> {
        self.tokens
            .lock()
            .await
            .as_ref()
            .map(|t| t.access_expires_at)
    }
}

#[cfg(test)]
mod tests;
