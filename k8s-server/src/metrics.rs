//! The Prometheus exposition of the process's metrics: the recorder behind the `metrics` facade that
//! `app-core` records through, and the `GET /metrics` route that renders it.

use std::sync::OnceLock;

use app_core::telemetry::metric::DURATION;
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// How often buffered histogram samples are folded into the buckets, scraped or not. Samples
/// wait in a buffer until then (8 bytes each), and folding holds a core for as long as it takes:
/// every 100 ms that is ~8,000 samples at 80,000 requests/s (well under a millisecond, ~64 KiB);
/// every 5 s it was 3 MiB of buffer and a stall that showed in the p99 latency.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Latency buckets in seconds: sub-millisecond in-memory lookups up to the store timeout.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The process's Prometheus recorder, installed on first use. Should another recorder already be
/// installed (a test process serving both front doors), `/metrics` shows this one's empty page.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics stays empty");
        }
        // Histogram samples wait in a buffer until they are folded into the buckets, which a
        // scrape does; without scrapes the buffer would grow with every request.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            })
            .expect("the metrics upkeep thread can be started");
        handle
    })
}

/// Installs the recorder, if not yet, so that metrics are recorded from the first request on.
pub(crate) fn install() {
    handle();
}

/// The `GET /metrics` route.
pub(crate) fn route() -> Router {
    Router::new().route("/metrics", get(render))
}

/// `GET /metrics`: the Prometheus text exposition format.
async fn render() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
}

/// Times the accept loop found every connection slot of `listener` (`api` or `metrics`) taken and
/// left new connections in the kernel's queue.
const CAP_WAITS: &str = "http_connection_cap_waits_total";
/// Connections of `listener` open now.
const CONNECTIONS_OPEN: &str = "http_connections_open";

/// The counter of waits for a free connection slot on `listener`.
pub(crate) fn cap_waits(listener: &'static str) -> metrics::Counter {
    metrics::counter!(CAP_WAITS, "listener" => listener)
}

/// The gauge of connections open on `listener`.
pub(crate) fn connections_open(listener: &'static str) -> metrics::Gauge {
    metrics::gauge!(CONNECTIONS_OPEN, "listener" => listener)
}

/// Connections of `listener` closed, while at the cap, for not having sent a request head in time.
const CROWDED_OUT: &str = "http_connections_crowded_out_total";

/// The counter of connections of `listener` closed to make room at the cap.
pub(crate) fn crowded_out(listener: &'static str) -> metrics::Counter {
    metrics::counter!(CROWDED_OUT, "listener" => listener)
}
