//! Warnings for a headless command's user: a `tracing` warning or error raised below the CLI
//! (the store keeping another business time zone than the config names, the write-ahead
//! log's unreadable last record cut on open, the outbox keeping or refusing a write, a
//! failed log sync) is printed on stderr as one `warning: ...` line.
//! The console logs to its file instead and the server has its own access log, so only
//! headless commands install this.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the stderr warning printer for this process (once; a second call does nothing).
pub fn install() {
    let _ = tracing_subscriber::registry()
        .with(StderrWarnings)
        .try_init();
}

struct StderrWarnings;

impl<S: Subscriber> Layer<S> for StderrWarnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        *metadata.level() <= Level::WARN
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut line = Line::default();
        event.record(&mut line);
        if crate::domain::store::is_engine_log(&line.fields) {
            return;
        }
        let label = if *event.metadata().level() == Level::ERROR {
            "error"
        } else {
            "warning"
        };
        eprintln!("{label}: {}", line.text());
    }
}

/// The event's message, then its other fields as `name=value`.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Line {
    fn text(&self) -> String {
        if self.fields.is_empty() {
            self.message.clone()
        } else {
            format!("{} ({})", self.message, self.fields.trim_start())
        }
    }
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}
