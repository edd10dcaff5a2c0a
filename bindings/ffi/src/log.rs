//! Tracing records to the app: a foreign `LoggerSink` (the shells forward to Timber / logcat,
//! `os_log` or a crash reporter).
//!
//! Native layers straight to `logcat` (`tracing-android`) and `os_log` (`tracing-oslog`) would
//! be added here behind `#[cfg(target_os = "android")]` / `#[cfg(target_os = "ios")]`; they are
//! not, on purpose: the sink already reaches both through the platform's own logger, and two
//! paths would print every line twice.

use std::fmt::Write as _;
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<&Level> for LogLevel {
    fn from(l: &Level) -> Self {
        if *l == Level::ERROR {
            LogLevel::Error
        } else if *l == Level::WARN {
            LogLevel::Warn
        } else if *l == Level::INFO {
            LogLevel::Info
        } else if *l == Level::DEBUG {
            LogLevel::Debug
        } else {
            LogLevel::Trace
        }
    }
}

/// One tracing event: `message` then the other fields as `key=value`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    pub level: LogLevel,
    /// Rust module path, e.g. `faceid_client::session` (a logcat tag / os_log category).
    pub target: String,
    pub message: String,
}

/// Receives the core's log records, on any thread.
#[uniffi::export(with_foreign)]
pub trait LoggerSink: Send + Sync {
    fn log(&self, record: LogRecord);
}

type Installed = (Arc<dyn LoggerSink>, LogLevel);
static SINK: RwLock<Option<Installed>> = RwLock::new(None);

struct SinkLayer;

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some((sink, max)) = SINK.read().ok().and_then(|g| g.clone()) else {
            return;
        };
        let level = LogLevel::from(event.metadata().level());
        if level > max {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        sink.log(LogRecord {
            level,
            target: event.metadata().target().to_owned(),
            message: format!("{}{}", fields.message, fields.rest),
        });
    }
}

/// Send the core's records at `max_level` and above to `sink` (replaces a previous sink).
#[uniffi::export]
pub fn install_logger(sink: Arc<dyn LoggerSink>, max_level: LogLevel) {
    if let Ok(mut g) = SINK.write() {
        *g = Some((sink, max_level));
    }
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(SinkLayer);
        if tracing::subscriber::set_global_default(subscriber).is_err() {
            tracing::warn!("a global tracing subscriber was already set; logger sink inactive");
        }
    });
}
