//! Logging: one `tracing` subscriber, readable text locally and JSON in production. Every log line
//! written while a request is handled carries that request's `request_id` (a span field).
//!
//! Metrics go through the `metrics` facade under the names in [`metric`].

#[cfg(feature = "lambda")]
pub mod emf;
mod handles;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

pub(crate) use handles::Handles;

/// Installs the global subscriber. Call once, first thing in `main`.
///
/// The filter was validated when the configuration was read, so this cannot fail on it.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::builder().parse_lossy(&settings.filter);
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // `try_init` so that a second call (tests starting several servers) is harmless.
    let _ = match settings.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
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
}
