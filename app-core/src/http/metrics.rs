//! Request metrics, recorded through the `metrics` facade: a request counter and a latency histogram
//! by route and status (the user store counts its lookups in `service`). With the `prometheus`
//! feature the server exposes them at `GET /metrics`; without a recorder they cost next to nothing.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use crate::telemetry::metric::{DURATION, REQUESTS};

/// Records one request's count and latency.
pub(super) async fn record(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_label(req.extensions().get::<MatchedPath>());
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(DURATION, "route" => route, "status" => status.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(REQUESTS, "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// The route template as a label: a fixed set, so a caller cannot grow the number of series.
fn route_label(matched: Option<&MatchedPath>) -> &'static str {
    match matched.map(MatchedPath::as_str) {
        Some("/users/{id}") => "/users/{id}",
        Some("/healthz") => "/healthz",
        Some("/readyz") => "/readyz",
        Some("/openapi.json") => "/openapi.json",
        Some("/metrics") => "/metrics",
        _ => "unmatched",
    }
}

#[cfg(feature = "prometheus")]
pub(super) mod prometheus {
    //! The Prometheus exposition of the process's metrics.

    use std::sync::OnceLock;

    use axum::http::header::CONTENT_TYPE;
    use axum::response::IntoResponse;
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

    /// How often buffered histogram samples are folded into the buckets when nobody scrapes.
    const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

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
                .set_buckets_for_metric(Matcher::Full(super::DURATION.to_owned()), BUCKETS)
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

    /// Installs the recorder (if not yet) so that metrics are recorded from the first request on.
    pub(in crate::http) fn install() {
        handle();
    }

    /// `GET /metrics`: the Prometheus text exposition format.
    pub(in crate::http) async fn render() -> impl IntoResponse {
        (
            [(CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle().render(),
        )
    }
}
