//! Server settings: built-in defaults, then an optional TOML file, then `FACEID_*` environment
//! variables (and `DATABASE_URL`), then command-line flags. Secrets that are not configured are
//! generated on first start into the data directory (mode 0600).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config: {0}")]
    Invalid(String),
    #[error("secret file {path}: {source}")]
    Secret {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Every setting, with its default. Field names are the TOML keys; the environment variable is
/// `FACEID_` + the upper-cased name (`database_url` also reads plain `DATABASE_URL`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// PEM certificate chain for HTTPS (with `tls_key`); reloaded on SIGHUP.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (only behind a reverse proxy that terminates
    /// TLS); without it and without a certificate the server listens on loopback only.
    pub allow_plain_http: bool,
    /// Directory for the local PostgreSQL cluster and generated secrets.
    pub data_dir: PathBuf,
    /// PostgreSQL to use; unset means a local cluster in `data_dir/postgres`.
    pub database_url: Option<String>,
    /// Most connections in the pool.
    pub db_max_connections: u32,
    /// How long a request waits for a pooled connection, in milliseconds, before it is
    /// answered 503 `unavailable` with `Retry-After`. While PostgreSQL is down the pool keeps
    /// trying to connect for this long, so it is how quickly an outage is reported.
    pub db_acquire_timeout_ms: u64,
    /// HMAC key for access tokens (at least 32 characters). Generated when unset.
    pub jwt_secret: Option<String>,
    /// 32-byte key (64 hex digits) encrypting face descriptors at rest. Generated when unset.
    pub descriptor_key: Option<String>,
    /// Lifetime of an access token, in seconds.
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token, in days.
    pub refresh_token_ttl_days: u64,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Failed logins allowed per login name within the window.
    pub login_max_failures: u32,
    /// Distinct login names one client address may fail within the window before its wrong
    /// passwords are answered 429. A correct password of a login that is not itself limited
    /// still logs in: one office behind one address is not locked by a few people's typos.
    pub login_max_accounts_per_address: u32,
    /// Window of the login rate limit, in seconds.
    pub login_window_secs: u64,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy you trust).
    pub trust_forwarded_for: bool,
    /// Seconds a request may take before it is answered 408.
    pub request_timeout_secs: u64,
    /// Seconds a connection may take to send a request head; the same bound applies to an
    /// idle keep-alive connection waiting for its next request. Then the connection is closed.
    pub header_read_timeout_secs: u64,
    /// Most connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Frames of more than 4 MP decoded at once (each may take ~150 MB while it is measured);
    /// further ones wait. Smaller frames (a phone's check-in) never wait for these slots.
    pub large_decode_slots: usize,
    /// Face measurements (check-in, kiosk, enrolment) run at once; further ones wait their turn
    /// in arrival order. Default: the number of CPUs. More would only share the same cores
    /// (every waiting request finishing later) and starve the database of CPU at a rush.
    pub face_workers: usize,
    /// Longest wait for a turn at the face engine: a measurement expected to wait longer on
    /// arrival, or that has waited this long, is refused with 503 `server_busy` and a
    /// `Retry-After` (the phone's outbox retries) instead of measuring for a client that has
    /// given up.
    pub face_queue_max_wait_ms: u64,
    /// Bearer token that lets non-loopback clients read `/metrics`; unset means loopback only.
    pub metrics_token: Option<String>,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// Directory of the face models; unset means `FACEID_MODEL_DIR`, `models/cache` or the
    /// shared mirror. Without models the server starts and face endpoints answer 503.
    pub model_dir: Option<PathBuf>,
    /// The embedder (a model or fusion id of `models/manifest.toml`) that enrols, re-verifies
    /// check-ins and identifies at the kiosk; unset means the engine's default
    /// (`faceid_face::DEFAULT_EMBEDDER`). Changing it leaves existing templates matching
    /// nothing until the re-enrolment job has run.
    pub face_embedder: Option<String>,
    /// A directory holding the model files (the vendor's mirror of `models/`), used to install
    /// missing models on start.
    pub model_mirror: Option<PathBuf>,
    /// Whether `serve` may download missing models from their upstream https addresses
    /// (`false` for air-gapped sites: the log then says which files to place where).
    pub model_fetch: bool,
    /// Where photos go: unset means the directory `data_dir/photos`; `file:///abs/dir`,
    /// `memory:` (tests), or `s3://bucket/prefix` (built with the `s3` feature; credentials
    /// from the usual `AWS_*` variables).
    pub photo_store_url: Option<String>,
    /// The Telegram bot's token; unset means no bot (Telegram endpoints answer 404
    /// `telegram_not_configured`).
    pub telegram_bot_token: Option<String>,
    /// Base URL of the Bot API (tests point it at a fake).
    pub telegram_api_url: String,
    /// Messages per second across all chats (1..=30; Telegram's bulk limit is about 30).
    pub telegram_max_messages_per_second: u32,
    /// Seconds a `getUpdates` long poll waits (1..=50).
    pub telegram_poll_timeout_secs: u64,
    /// Webhook mode: the public HTTPS address Telegram posts updates to (this server's
    /// `/api/v1/integrations/telegram/webhook`). Unset means long polling.
    pub telegram_webhook_url: Option<String>,
    /// The `secret_token` Telegram sends back in `X-Telegram-Bot-Api-Secret-Token` (1–256
    /// characters of `A-Z a-z 0-9 _ -`); required with `telegram_webhook_url`.
    pub telegram_webhook_secret: Option<String>,
    /// Local time (`HH:MM`, in each department's zone) of the daily department summary.
    pub telegram_daily_summary_time: String,
    /// Minutes after a shift's end before an employee still checked in is reminded (0..=720).
    pub telegram_checkout_reminder_minutes: u32,
    /// Evidence photos of punches are deleted after this many days (a flagged punch not yet
    /// reviewed keeps its photo until it is) ([privacy](../../docs/privacy.md)).
    pub evidence_photo_retention_days: u32,
    /// A finished data export can be downloaded for this many hours, then its file is deleted.
    pub export_keep_hours: u32,
    /// A dismissed employee's personal data is pseudonymised this many years after the
    /// dismissal; their attendance record stays.
    pub dismissed_retention_years: u32,
    /// Seconds one ISAPI call to a Hikvision terminal may take (1..=120).
    pub hikvision_request_timeout_secs: u64,
    /// A terminal clock this many seconds off the server's flags its punches (1..=86400).
    pub hikvision_max_clock_skew_secs: u64,
    /// A face pass of a person already punched by the same terminal this many seconds before
    /// is kept as a raw event but not punched again (0..=3600; 0 punches every pass).
    pub hikvision_debounce_secs: u64,
    /// Keep each enabled terminal's alert stream open: an access event makes the terminal be
    /// polled at once (polling stays the source of truth).
    pub hikvision_alert_stream: bool,
    /// Consecutive polls refused with 401 before a terminal's polling stops (1..=10; terminals
    /// lock the account after a few bad logins, so keep it low).
    pub hikvision_auth_failures_before_lockout: u32,
    /// Seconds one iikoServer call may take (1..=300).
    pub iiko_request_timeout_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls_cert: None,
            tls_key: None,
            allow_plain_http: false,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            db_max_connections: 10,
            db_acquire_timeout_ms: 1000,
            jwt_secret: None,
            descriptor_key: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_days: 30,
            max_body_bytes: 1024 * 1024,
            login_max_failures: 10,
            login_max_accounts_per_address: 50,
            login_window_secs: 15 * 60,
            trust_forwarded_for: false,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            max_connections: 512,
            large_decode_slots: 1,
            face_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            face_queue_max_wait_ms: 10_000,
            metrics_token: None,
            log_format: "text".into(),
            model_dir: None,
            face_embedder: None,
            model_mirror: None,
            model_fetch: true,
            photo_store_url: None,
            telegram_bot_token: None,
            telegram_api_url: DEFAULT_TELEGRAM_API_URL.into(),
            telegram_max_messages_per_second: 25,
            telegram_poll_timeout_secs: 25,
            telegram_webhook_url: None,
            telegram_webhook_secret: None,
            telegram_daily_summary_time: "18:00".into(),
            telegram_checkout_reminder_minutes: 30,
            evidence_photo_retention_days: 90,
            export_keep_hours: 72,
            dismissed_retention_years: 5,
            hikvision_request_timeout_secs: 10,
            hikvision_max_clock_skew_secs: 120,
            hikvision_debounce_secs: 60,
            hikvision_alert_stream: false,
            hikvision_auth_failures_before_lockout: 3,
            iiko_request_timeout_secs: 30,
        }
    }
}

/// Default Bot API server of `telegram_api_url`.
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// Keys whose environment value is always a string (never parsed as a number or boolean).
const STRING_KEYS: &[&str] = &[
    "listen",
    "tls_cert",
    "tls_key",
    "data_dir",
    "database_url",
    "jwt_secret",
    "descriptor_key",
    "log_format",
    "metrics_token",
    "model_dir",
    "face_embedder",
    "model_mirror",
    "photo_store_url",
    "telegram_bot_token",
    "telegram_api_url",
    "telegram_webhook_url",
    "telegram_webhook_secret",
    "telegram_daily_summary_time",
];
const ALL_KEYS: &[&str] = &[
    "listen",
    "tls_cert",
    "tls_key",
    "allow_plain_http",
    "data_dir",
    "database_url",
    "db_max_connections",
    "db_acquire_timeout_ms",
    "jwt_secret",
    "descriptor_key",
    "access_token_ttl_secs",
    "refresh_token_ttl_days",
    "max_body_bytes",
    "login_max_failures",
    "login_max_accounts_per_address",
    "login_window_secs",
    "trust_forwarded_for",
    "request_timeout_secs",
    "header_read_timeout_secs",
    "max_connections",
    "large_decode_slots",
    "face_workers",
    "face_queue_max_wait_ms",
    "log_format",
    "metrics_token",
    "model_dir",
    "face_embedder",
    "model_mirror",
    "model_fetch",
    "photo_store_url",
    "telegram_bot_token",
    "telegram_api_url",
    "telegram_max_messages_per_second",
    "telegram_poll_timeout_secs",
    "telegram_webhook_url",
    "telegram_webhook_secret",
    "telegram_daily_summary_time",
    "telegram_checkout_reminder_minutes",
    "hikvision_request_timeout_secs",
    "hikvision_max_clock_skew_secs",
    "hikvision_debounce_secs",
    "hikvision_alert_stream",
    "hikvision_auth_failures_before_lockout",
    "iiko_request_timeout_secs",
];

impl Settings {
    /// Loads settings from an optional TOML file and the given environment.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        for key in ALL_KEYS {
            let var = format!("FACEID_{}", key.to_ascii_uppercase());
            let mut value = env(&var);
            if value.is_none() && *key == "database_url" {
                value = env("DATABASE_URL");
            }
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            let v = if STRING_KEYS.contains(key) {
                toml::Value::String(value)
            } else if let Ok(i) = value.parse::<i64>() {
                toml::Value::Integer(i)
            } else if let Ok(b) = value.parse::<bool>() {
                toml::Value::Boolean(b)
            } else {
                return Err(ConfigError::Invalid(format!(
                    "{var}={value:?} is not a number or boolean"
                )));
            };
            table.insert((*key).to_owned(), v);
        }
        let settings: Settings = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// `telegram_daily_summary_time` as a time of day.
    pub fn daily_summary_time(&self) -> Option<chrono::NaiveTime> {
        chrono::NaiveTime::parse_from_str(self.telegram_daily_summary_time.trim(), "%H:%M").ok()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if let Some(id) = &self.face_embedder {
            let manifest = faceid_face::Manifest::builtin();
            let known = manifest.fusion(id).is_some()
                || manifest
                    .expect_task(id, faceid_face::model::Task::Embed)
                    .is_ok();
            if !known {
                return Err(ConfigError::Invalid(format!(
                    "face_embedder `{id}` is not an embedder or fusion of models/manifest.toml"
                )));
            }
        }
        if self.access_token_ttl_secs < 30 || self.access_token_ttl_secs > 24 * 3600 {
            return bad("access_token_ttl_secs must be between 30 and 86400");
        }
        if self.refresh_token_ttl_days == 0 || self.refresh_token_ttl_days > 365 {
            return bad("refresh_token_ttl_days must be between 1 and 365");
        }
        if self.max_body_bytes < 1024 {
            return bad("max_body_bytes must be at least 1024");
        }
        if self.login_max_failures == 0
            || self.login_max_accounts_per_address == 0
            || self.login_window_secs == 0
        {
            return bad(
                "login_max_failures, login_max_accounts_per_address and login_window_secs must be positive",
            );
        }
        if self.header_read_timeout_secs == 0
            || self.max_connections == 0
            || self.large_decode_slots == 0
            || self.face_workers == 0
            || self.face_queue_max_wait_ms == 0
        {
            return bad(
                "header_read_timeout_secs, max_connections, large_decode_slots, face_workers and face_queue_max_wait_ms must be positive",
            );
        }
        if self.db_acquire_timeout_ms == 0 {
            return bad("db_acquire_timeout_ms must be positive");
        }
        if self.db_max_connections == 0 {
            return bad("db_max_connections must be positive");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return bad("log_format must be `text` or `json`");
        }
        if let Some(s) = &self.jwt_secret
            && s.len() < 32
        {
            return bad("jwt_secret must be at least 32 characters");
        }
        if !(1..=30).contains(&self.telegram_max_messages_per_second) {
            return bad("telegram_max_messages_per_second must be between 1 and 30");
        }
        if self.evidence_photo_retention_days == 0
            || self.export_keep_hours == 0
            || self.dismissed_retention_years == 0
        {
            return bad(
                "evidence_photo_retention_days, export_keep_hours and dismissed_retention_years must be positive",
            );
        }
        if !(1..=50).contains(&self.telegram_poll_timeout_secs) {
            return bad("telegram_poll_timeout_secs must be between 1 and 50");
        }
        if !(self.telegram_api_url.starts_with("https://")
            || self.telegram_api_url.starts_with("http://"))
        {
            return bad("telegram_api_url must start with https:// or http://");
        }
        if let Some(t) = &self.telegram_bot_token
            && (t.trim().is_empty()
                || t.contains(['/', '?', '#'])
                || t.chars().any(char::is_whitespace))
        {
            return bad("telegram_bot_token is not a bot token");
        }
        if let Some(u) = &self.telegram_webhook_url
            && !u.starts_with("https://")
            && !u.starts_with("http://")
        {
            return bad(
                "telegram_webhook_url must start with https:// (or http:// behind a proxy)",
            );
        }
        match (&self.telegram_webhook_url, &self.telegram_webhook_secret) {
            (Some(_), None) => {
                return bad("telegram_webhook_url needs telegram_webhook_secret");
            }
            (_, Some(s))
                if s.is_empty()
                    || s.len() > 256
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                return bad("telegram_webhook_secret must be 1-256 characters of A-Z a-z 0-9 _ -");
            }
            _ => {}
        }
        if self.daily_summary_time().is_none() {
            return bad("telegram_daily_summary_time must be HH:MM");
        }
        if self.telegram_checkout_reminder_minutes > 720 {
            return bad("telegram_checkout_reminder_minutes must be between 0 and 720");
        }
        if !(1..=120).contains(&self.hikvision_request_timeout_secs) {
            return bad("hikvision_request_timeout_secs must be between 1 and 120");
        }
        if !(1..=86_400).contains(&self.hikvision_max_clock_skew_secs) {
            return bad("hikvision_max_clock_skew_secs must be between 1 and 86400");
        }
        if self.hikvision_debounce_secs > 3600 {
            return bad("hikvision_debounce_secs must be between 0 and 3600");
        }
        if !(1..=10).contains(&self.hikvision_auth_failures_before_lockout) {
            return bad("hikvision_auth_failures_before_lockout must be between 1 and 10");
        }
        if !(1..=300).contains(&self.iiko_request_timeout_secs) {
            return bad("iiko_request_timeout_secs must be between 1 and 300");
        }
        if let Some(k) = &self.descriptor_key {
            parse_key32(k)?;
        }
        Ok(())
    }
}

fn parse_key32(hex_key: &str) -> Result<[u8; 32], ConfigError> {
    let bytes = hex::decode(hex_key.trim())
        .map_err(|_| ConfigError::Invalid("descriptor_key must be 64 hex digits".into()))?;
    bytes
        .try_into()
        .map_err(|_| ConfigError::Invalid("descriptor_key must be 64 hex digits".into()))
}

/// Key material the server runs with.
#[derive(Clone)]
pub struct Secrets {
    pub jwt_secret: Vec<u8>,
    pub descriptor_key: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// Secrets from the settings, or from `data_dir/secrets/`, generating missing files there.
    pub fn load_or_generate(settings: &Settings) -> Result<Secrets, ConfigError> {
        let dir = settings.data_dir.join("secrets");
        let jwt_secret = match &settings.jwt_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => hex::decode(read_or_create(&dir.join("jwt_secret"), 64)?)
                .map_err(|_| ConfigError::Invalid("secrets/jwt_secret is not hex".into()))?,
        };
        let descriptor_key = match &settings.descriptor_key {
            Some(k) => parse_key32(k)?,
            None => parse_key32(&read_or_create(&dir.join("descriptor_key"), 32)?)?,
        };
        Ok(Secrets {
            jwt_secret,
            descriptor_key,
        })
    }
}

/// Reads a hex secret file, or creates it with `len` random bytes and mode 0600.
fn read_or_create(path: &Path, len: usize) -> Result<String, ConfigError> {
    let err = |source| ConfigError::Secret {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(s) => return Ok(s.trim().to_owned()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        Err(_) => {}
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
        set_mode(parent, 0o700).map_err(err)?;
    }
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    let text = hex::encode(&bytes);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(text.as_bytes()).map_err(err)?;
            f.sync_all().map_err(err)?;
            tracing::info!(path = %path.display(), "generated a new secret");
            Ok(text)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .map_err(err),
        Err(e) => Err(err(e)),
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}
#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn env_overrides_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("faceid.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\nlogin_max_failures = 5\nlog_format = \"json\"\n",
        )
        .unwrap();
        let env: HashMap<&str, &str> = [
            ("FACEID_LOGIN_MAX_FAILURES", "7"),
            ("DATABASE_URL", "postgres://x@localhost/db"),
        ]
        .into();
        let s = Settings::load(Some(&file), |k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.login_max_failures, 7);
        assert_eq!(s.log_format, "json");
        assert_eq!(s.database_url.as_deref(), Some("postgres://x@localhost/db"));
        assert_eq!(s.access_token_ttl_secs, 900);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("faceid.toml");
        std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        assert!(Settings::load(Some(&file), |_| None).is_err());
        assert!(
            Settings::load(None, |k| (k == "FACEID_JWT_SECRET").then(|| "short".into())).is_err()
        );
        assert!(
            Settings::load(None, |k| (k == "FACEID_MAX_BODY_BYTES")
                .then(|| "lots".into()))
            .is_err()
        );
    }

    #[test]
    fn telegram_settings_come_from_the_environment_and_are_checked() {
        let env: HashMap<&str, &str> = [
            ("FACEID_TELEGRAM_BOT_TOKEN", "123456:ABC-def_ghi"),
            ("FACEID_TELEGRAM_API_URL", "http://127.0.0.1:9999"),
        ]
        .into();
        let s = Settings::load(None, |k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(s.telegram_bot_token.as_deref(), Some("123456:ABC-def_ghi"));
        assert_eq!(s.telegram_api_url, "http://127.0.0.1:9999");
        let d = Settings::load(None, |_| None).unwrap();
        assert_eq!(d.telegram_bot_token, None);
        assert_eq!(d.telegram_api_url, "https://api.telegram.org");
        for (k, v) in [
            ("FACEID_TELEGRAM_API_URL", "api.telegram.org"),
            ("FACEID_TELEGRAM_BOT_TOKEN", "12/../x"),
            ("FACEID_TELEGRAM_MAX_MESSAGES_PER_SECOND", "31"),
            ("FACEID_TELEGRAM_POLL_TIMEOUT_SECS", "0"),
            ("FACEID_TELEGRAM_DAILY_SUMMARY_TIME", "6pm"),
            ("FACEID_TELEGRAM_CHECKOUT_REMINDER_MINUTES", "721"),
            (
                "FACEID_TELEGRAM_WEBHOOK_URL",
                "https://faceid.example/api/v1/integrations/telegram/webhook",
            ),
            ("FACEID_TELEGRAM_WEBHOOK_SECRET", "has spaces"),
        ] {
            assert!(
                Settings::load(None, |key| (key == k).then(|| v.into())).is_err(),
                "{k}={v}"
            );
        }
        assert_eq!(
            d.daily_summary_time(),
            chrono::NaiveTime::from_hms_opt(18, 0, 0)
        );
        assert_eq!(d.telegram_checkout_reminder_minutes, 30);
        let hook: HashMap<&str, &str> = [
            ("FACEID_TELEGRAM_WEBHOOK_URL", "https://faceid.example/hook"),
            ("FACEID_TELEGRAM_WEBHOOK_SECRET", "abc_DEF-123"),
            ("FACEID_TELEGRAM_DAILY_SUMMARY_TIME", "19:30"),
        ]
        .into();
        let h = Settings::load(None, |k| hook.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(h.telegram_webhook_secret.as_deref(), Some("abc_DEF-123"));
        assert_eq!(
            h.daily_summary_time(),
            chrono::NaiveTime::from_hms_opt(19, 30, 0)
        );
    }

    #[test]
    fn secrets_are_generated_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            data_dir: dir.path().to_owned(),
            ..Settings::default()
        };
        let a = Secrets::load_or_generate(&settings).unwrap();
        let b = Secrets::load_or_generate(&settings).unwrap();
        assert_eq!(a.jwt_secret, b.jwt_secret);
        assert_eq!(a.descriptor_key, b.descriptor_key);
        assert_eq!(a.jwt_secret.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in ["jwt_secret", "descriptor_key"] {
                let mode = std::fs::metadata(dir.path().join("secrets").join(f))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{f}");
            }
        }
    }
}
