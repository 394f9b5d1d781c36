//! [`ContractLayer`]: everything the contract does around each route, in one tower layer with one
//! future: the request id (kept if sane, else generated, echoed on the response), the request span,
//! the request metrics, the CORS headers, `Cache-Control: no-store` and
//! `X-Content-Type-Options: nosniff`, the `Host` rule (see [`super::host`]: a request that breaks it
//! is answered 400 before any route), and the panic guard (a panicking handler is a JSON 500).
//!
//! It replaces a stack of tower-http layers (set and propagate request id, trace, catch panic) and
//! two `map_*` steps, each of which wrapped the future of the next, entered the span again or moved
//! the request id through the request's extensions: one layer does the same work once. The log lines
//! are still tower-http's (`DefaultOnRequest`, `DefaultOnResponse`, `DefaultOnFailure`, `DefaultOnEos` of a
//! `TraceLayer::new_for_http()`), with their targets, levels and fields.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, CACHE_CONTROL,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::{DefaultOnEos, DefaultOnFailure, DefaultOnRequest, DefaultOnResponse};
use tower_http::trace::{OnEos, OnFailure, OnRequest, OnResponse};
use tracing::{Level, Span};

use super::error::{ApiError, panic_response};
use super::host::keeps_host_rule;
use super::metrics::{self, Requests};
use super::request_id::{self, X_REQUEST_ID_NAME};
use super::trace_context;

/// The contract's work around every route (see the module documentation).
#[derive(Debug, Clone, Default)]
pub(super) struct ContractLayer {
    requests: Arc<Requests>,
}

impl<S> Layer<S> for ContractLayer {
    type Service = ContractService<S>;

    fn layer(&self, inner: S) -> ContractService<S> {
        ContractService {
            inner,
            requests: self.requests.clone(),
        }
    }
}

/// A route behind [`ContractLayer`].
#[derive(Debug, Clone)]
pub(super) struct ContractService<S> {
    inner: S,
    requests: Arc<Requests>,
}

impl<S> Service<Request> for ContractService<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ContractFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let started = Instant::now();
        let request_id = request_id::ensure(&mut req);
        let span = trace_context::start(&req, || request_id::span(&req, &request_id));
        let labels = metrics::labels(req.extensions().get::<MatchedPath>(), req.method());
        let state = {
            let _entered = span.enter();
            DefaultOnRequest::default().on_request(&req, &span);
            if !keeps_host_rule(&req) {
                State::Answered {
                    response: Some(ApiError::BadRequest.into_response()),
                }
            } else {
                match catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
                    Ok(future) => State::Called { future },
                    Err(panic) => State::Answered {
                        response: Some(panic_response(panic)),
                    },
                }
            }
        };
        ContractFuture {
            state,
            span,
            started,
            request_id,
            labels,
            requests: self.requests.clone(),
        }
    }
}

pin_project! {
    /// The response future of [`ContractService`].
    pub(super) struct ContractFuture<F> {
        #[pin]
        state: State<F>,
        span: Span,
        started: Instant,
        request_id: HeaderValue,
        labels: metrics::Labels,
        requests: Arc<Requests>,
    }
}

pin_project! {
    /// The route's future, or the answer already made (the route panicked when called).
    #[project = StateProj]
    enum State<F> {
        Called { #[pin] future: F },
        Answered { response: Option<Response> },
    }
}

impl<F, E> Future for ContractFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut response = match this.state.project() {
            StateProj::Called { future } => {
                match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(Ok(response))) => response,
                    Ok(Poll::Ready(Err(err))) => return Poll::Ready(Err(err)),
                    Err(panic) => panic_response(panic),
                }
            }
            StateProj::Answered { response } => response
                .take()
                .expect("a ContractFuture is not polled after completion"),
        };
        let status = response.status();
        trace_context::finish(this.span, status);
        let latency = this.started.elapsed();
        this.requests.record(*this.labels, status, latency);
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN);
        headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED_HEADERS);
        headers.entry(CACHE_CONTROL).or_insert(NO_STORE);
        headers.insert(X_CONTENT_TYPE_OPTIONS, NOSNIFF);
        if !headers.contains_key(X_REQUEST_ID_NAME) {
            headers.insert(X_REQUEST_ID_NAME, this.request_id.clone());
        }
        log_response(&response, status, latency, this.span);
        if tracing::enabled!(target: "tower_http::trace::on_eos", Level::DEBUG) {
            let span = this.span.clone();
            response = response.map(|body| Body::new(EosLogged::new(body, span)));
        }
        Poll::Ready(Ok(response))
    }
}

/// CORS: any origin may read every response.
const ANY_ORIGIN: HeaderValue = HeaderValue::from_static("*");

/// CORS: the response headers a browser script may read besides the safelisted ones (built at
/// compile time, like [`ANY_ORIGIN`]: a `from_static` at run time checks its bytes on every call).
const EXPOSED_HEADERS: HeaderValue = HeaderValue::from_static("x-request-id, www-authenticate");

/// No cache may keep an answer: user data, and answers that depend on the caller's token.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// Browsers take the declared content type (JSON) and do not guess another.
const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

/// What `TraceLayer::new_for_http()` logs when a response is ready: the response at `DEBUG`, and a
/// server error (5xx) at `ERROR` as "response failed".
fn log_response(response: &Response, status: StatusCode, latency: Duration, span: &Span) {
    DefaultOnResponse::default().on_response(response, latency, span);
    if status.is_server_error() {
        DefaultOnFailure::default().on_failure(
            ServerErrorsFailureClass::StatusCode(status),
            latency,
            span,
        );
    }
}

pin_project! {
    /// A response body that logs its end, as `TraceLayer::new_for_http()` does ("end of stream", at
    /// `DEBUG`): wrapped only when that line is enabled, so it costs nothing otherwise.
    struct EosLogged {
        #[pin]
        inner: Body,
        span: Span,
        started: Instant,
        ended: bool,
    }
}

impl EosLogged {
    fn new(inner: Body, span: Span) -> Self {
        Self {
            inner,
            span,
            started: Instant::now(),
            ended: false,
        }
    }
}

impl HttpBody for EosLogged {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut this = self.project();
        let _entered = this.span.enter();
        let frame = std::task::ready!(this.inner.as_mut().poll_frame(cx));
        let trailers = match &frame {
            Some(Ok(frame)) => frame.trailers_ref(),
            _ => None,
        };
        let at_end = match &frame {
            None => true,
            Some(Ok(_)) => trailers.is_some() || this.inner.is_end_stream(),
            Some(Err(_)) => false,
        };
        if at_end && !*this.ended {
            *this.ended = true;
            DefaultOnEos::default().on_eos(trailers, this.started.elapsed(), this.span);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
