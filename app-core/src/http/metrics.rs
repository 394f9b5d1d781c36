//! Request metrics, recorded through the `metrics` facade: a request counter and a latency histogram
//! by route and status (the user store counts its lookups in `service`). Whichever recorder the front
//! door installs gets them (`k8s-server`: Prometheus at `GET /metrics`; `lambda-fn`: EMF log lines);
//! without a recorder they cost next to nothing.
//!
//! [`Requests`] is recorded by the contract's one layer (`layer::ContractLayer`) and resolves each
//! label set's handles once ([`Handles`]). Route and method labels come from fixed sets, so a caller
//! cannot grow the number of series.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Method, StatusCode};
use metrics::{Counter, Histogram};

use crate::telemetry::Handles;
use crate::telemetry::metric::{DURATION, REQUESTS};

/// The request counter and latency histogram of one route, method and status. 64 label sets: the
/// contract answers a handful of statuses per route and method; a rarer one is still recorded.
type RequestHandles = Handles<(&'static str, &'static str, StatusCode), (Counter, Histogram), 64>;

/// The route and method labels of a request, taken before the route runs.
pub(super) type Labels = (&'static str, &'static str);

/// The labels of a request: its route template (the router's match) and its method.
pub(super) fn labels(matched: Option<&MatchedPath>, method: &Method) -> Labels {
    (route_label(matched), method_label(method))
}

/// The request metrics of one contract: each answered request's count and latency.
#[derive(Debug, Default)]
pub(super) struct Requests {
    handles: RequestHandles,
}

impl Requests {
    /// Counts a request answered with `status` in `latency`.
    pub(super) fn record(&self, (route, method): Labels, status: StatusCode, latency: Duration) {
        self.handles.with(
            (route, method, status),
            || {
                let status = status.as_str().to_owned();
                (
                    metrics::counter!(REQUESTS, "route" => route, "method" => method, "status" => status.clone()),
                    metrics::histogram!(DURATION, "route" => route, "status" => status),
                )
            },
            |(requests, duration)| {
                requests.increment(1);
                duration.record(latency.as_secs_f64());
            },
        );
    }
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

/// The method as a label: the standard methods by name, any other as `OTHER` (a caller can send any
/// token as a method; each would otherwise become a series of its own).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}
