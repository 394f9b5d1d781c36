//! Logging: one `tracing` subscriber, readable text locally and JSON in production. Every log line
//! written while a request is handled carries that request's `request_id` (a span field).
//!
//! Spans are exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (see [`traces`]); each log
//! line of a request then also carries the request span's `trace_id` and `span_id`.
//!
//! Metrics go through the `metrics` facade under the names in [`metric`].

mod handles;
mod settings;
pub mod traces;

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub(crate) use handles::Handles;
pub use settings::{LogFormat, LogSettings};

use crate::transport::Transport;

/// Installs the global subscriber, writing to stdout, and the trace export when configured (on
/// `transport`'s connector). Call once, first thing in `main`.
///
/// The filter is a list of `target=level` directives (`RUST_LOG` syntax without span directives):
/// a `Targets` filter keeps no per-span state, unlike `EnvFilter`, and leaves the regular-expression
/// engine out of the Lambda package. It was validated when the configuration was read, so the
/// fallback to `info` is never used.
pub fn init(settings: &LogSettings, transport: &Transport) {
    install(settings, transport, std::io::stdout);
}

/// Like [`init`], writing to stderr: the import binaries' choice, so that `import-job`'s stdout holds
/// its report and nothing else.
pub fn init_on_stderr(settings: &LogSettings, transport: &Transport) {
    install(settings, transport, std::io::stderr);
}

fn install<W>(settings: &LogSettings, transport: &Transport, writer: W)
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let filter: Targets = settings
        .filter
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(Level::INFO));
    // The level filter is the outermost layer: a callsite it disables stays disabled for good. Under
    // a layer with a per-layer filter (the trace export's) it would instead make every disabled
    // `debug!`/`trace!` of every dependency a check at each call.
    let registry = tracing_subscriber::registry().with(traces::layer(&settings.traces, transport));
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    // `try_init` so that a second call (tests starting several servers) is harmless.
    let _ = match settings.format {
        LogFormat::Text => registry.with(fmt).with(filter).try_init(),
        LogFormat::Json => registry
            .with(
                fmt.json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(true),
            )
            .with(filter)
            .try_init(),
    };
}

/// The names of the metrics the service records.
pub mod metric {
    /// Requests answered, by `route`, `method` and `status`.
    pub const REQUESTS: &str = "http_requests_total";
    /// Time to answer in seconds, by `route` and `status`.
    pub const DURATION: &str = "http_request_duration_seconds";
    /// User store lookups, by `outcome` (`found`, `not_found`, `unavailable`, `failed`).
    pub const STORE_LOOKUPS: &str = "user_store_lookups_total";
    /// Finished spans that never reached the collector (buffer full, export failed or timed out).
    pub const SPANS_DROPPED: &str = "otel_spans_dropped_total";
}
