//! Request metrics, recorded through the `metrics` facade: a request counter and a latency histogram
//! by route and status (the user store counts its lookups in `service`). Whichever recorder the front
//! door installs gets them (`k8s-server`: Prometheus at `GET /metrics`; `lambda-fn`: EMF log lines);
//! without a recorder they cost next to nothing.
//!
//! [`RecordLayer`] is a plain tower layer rather than `axum::middleware::from_fn`: it runs on every
//! request, and this way it boxes nothing and resolves each label set's handles once ([`Handles`]).
//! Route and method labels come from fixed sets, so a caller cannot grow the number of series.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, Response, StatusCode};
use metrics::{Counter, Histogram};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::telemetry::Handles;
use crate::telemetry::metric::{DURATION, REQUESTS};

/// The request counter and latency histogram of one route, method and status. 64 label sets: the
/// contract answers a handful of statuses per route and method; a rarer one is still recorded.
type RequestHandles = Handles<(&'static str, &'static str, StatusCode), (Counter, Histogram), 64>;

/// Records each request's count and latency, labelled with its route template, method and status.
#[derive(Debug, Clone, Default)]
pub(super) struct RecordLayer {
    handles: Arc<RequestHandles>,
}

impl<S> Layer<S> for RecordLayer {
    type Service = Record<S>;

    fn layer(&self, inner: S) -> Record<S> {
        Record {
            inner,
            handles: self.handles.clone(),
        }
    }
}

/// The service [`RecordLayer`] wraps around the routes.
#[derive(Debug, Clone)]
pub(super) struct Record<S> {
    inner: S,
    handles: Arc<RequestHandles>,
}

impl<S, B> Service<Request> for Record<S>
where
    S: Service<Request, Response = Response<B>>,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = RecordFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        RecordFuture {
            started: Instant::now(),
            route: route_label(req.extensions().get::<MatchedPath>()),
            method: method_label(req.method()),
            handles: self.handles.clone(),
            inner: self.inner.call(req),
        }
    }
}

pin_project! {
    /// The wrapped response future; records when the response is ready.
    pub(super) struct RecordFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        route: &'static str,
        method: &'static str,
        handles: Arc<RequestHandles>,
    }
}

impl<F, B, E> Future for RecordFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            let (route, method, status) = (*this.route, *this.method, response.status());
            this.handles.with(
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
                    duration.record(this.started.elapsed().as_secs_f64());
                },
            );
        }
        Poll::Ready(result)
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
