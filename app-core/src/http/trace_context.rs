//! The request span as an OpenTelemetry server span, when traces are exported
//! ([`crate::telemetry::traces`]); nothing here runs otherwise.
//!
//! - **Parent**: a W3C `traceparent` (with its `tracestate`) is continued; without one, the
//!   invocation's X-Ray trace header that a Lambda front door puts on the request as an
//!   [`InvocationTrace`] (from the runtime's context) is the parent; without either a new trace
//!   starts. A `traceparent` the W3C parser refuses counts as none.
//! - **Name and attributes** (the HTTP semantic conventions): `{method} {route}` (or `{method}` for
//!   a request no route matched), kind server, `http.request.method`, `url.path`, `http.route`,
//!   `http.response.status_code`; a 5xx also sets `error.type` and the span's error status. Only what
//!   both front doors see alike, so a trace looks the same on either target.
//! - **Logs**: the span's `trace_id` and `span_id` are recorded as its fields, so every log line of
//!   the request carries them.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::request_id::xray_trace_id;
use crate::telemetry::traces;

/// The invocation's X-Ray trace header (`Root=1-…;Parent=…;Sampled=…`), put on the request by a
/// Lambda front door from the runtime's context: the parent of the request's span when no
/// `traceparent` came.
#[derive(Debug, Clone)]
pub struct InvocationTrace(pub HeaderValue);

impl InvocationTrace {
    /// The runtime context's X-Ray trace id (`Context::xray_trace_id`), if it is a header value.
    pub fn from_context(xray_trace_id: Option<&str>) -> Option<Self> {
        HeaderValue::from_str(xray_trace_id?).ok().map(Self)
    }

    /// The header as the remote parent of a span; `None` unless it is well-formed and names a
    /// parent (see `xray_parent`).
    pub(crate) fn parent(&self) -> Option<opentelemetry::Context> {
        let parent = xray_parent(&self.0)?;
        Some(opentelemetry::Context::new().with_remote_span_context(parent))
    }
}

/// Makes the request's span with `make` (`request_id::span`) and makes it the server span of the
/// trace `req` continues (see the module documentation), after asking the sampler: a request whose
/// trace is dropped gets its ids on its log lines and nothing more. With export off, `make()`.
pub(super) fn start(req: &Request, make: impl FnOnce() -> Span) -> Span {
    if !traces::enabled() {
        return make();
    }
    let method = req.method().as_str();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let name = match route {
        Some(route) => format!("{method} {route}"),
        None => method.to_owned(),
    };
    let started = traces::start_trace(parent(req).as_ref(), || {
        let span = make();
        span.record("otel.name", name.as_str());
        span.record("otel.kind", "server");
        span
    });
    let span = started.span;
    span.record("trace_id", started.ids.trace_id().to_string().as_str());
    span.record("span_id", started.ids.span_id().to_string().as_str());
    if started.sampled {
        span.set_attribute("http.request.method", method.to_owned());
        span.set_attribute("url.path", req.uri().path().to_owned());
        if let Some(route) = route {
            span.set_attribute("http.route", route.to_owned());
        }
    }
    span
}

/// Records the answer's `status` on the request's `span`.
pub(super) fn finish(span: &Span, status: StatusCode) {
    if !traces::enabled() {
        return;
    }
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.set_attribute("error.type", status.as_str().to_owned());
        span.set_status(Status::error(""));
    }
}

/// The remote parent: the caller's W3C trace context, else the invocation's X-Ray header.
fn parent(req: &Request) -> Option<opentelemetry::Context> {
    let w3c = TraceContextPropagator::new().extract(&HeaderExtractor(req.headers()));
    if w3c.span().span_context().is_valid() {
        return Some(w3c);
    }
    req.extensions().get::<InvocationTrace>()?.parent()
}

/// An X-Ray trace header as a remote span context: `Root=1-TTTTTTTT-RRRRRRRRRRRRRRRRRRRRRRRR` is
/// the W3C trace id `TTTTTTTTRRRRRRRRRRRRRRRRRRRRRRRR`, `Parent` the span id, `Sampled=1` the sampled
/// flag. `None` unless the header is well-formed (`request_id::xray_trace_id`) and names a parent.
fn xray_parent(header: &HeaderValue) -> Option<SpanContext> {
    let checked = xray_trace_id(header)?;
    let (mut trace_id, mut span_id, mut sampled) = (None, None, false);
    for field in checked.split(';') {
        match field.split_once('=')? {
            ("Root", root) => trace_id = TraceId::from_hex(&root[2..].replace('-', "")).ok(),
            ("Parent", parent) => span_id = SpanId::from_hex(parent).ok(),
            ("Sampled", value) => sampled = value == "1",
            _ => {}
        }
    }
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Some(SpanContext::new(
        trace_id?,
        span_id?,
        flags,
        true,
        TraceState::default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xray_header_becomes_the_parent_with_the_same_trace_id() {
        let header = HeaderValue::from_static(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        );
        let parent = xray_parent(&header).unwrap();
        assert_eq!(
            parent.trace_id().to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(parent.span_id().to_string(), "53995c3f42cd8ad8");
        assert!(parent.is_sampled() && parent.is_remote());
    }

    #[test]
    fn an_xray_header_without_a_parent_or_malformed_is_no_parent() {
        for header in [
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8",
            "Parent=53995c3f42cd8ad8",
        ] {
            assert!(
                xray_parent(&HeaderValue::from_static(header)).is_none(),
                "{header}"
            );
        }
    }
}
