//! Outgoing calls: the client span of an HTTP request the service makes itself (the JWKS fetch), and
//! the W3C trace context every outgoing call carries (the JWKS fetch, and the AWS SDK's requests
//! through [`TraceParent`]), so the callee's spans join the caller's trace. Nothing here runs when
//! export is off.

use std::collections::HashMap;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use url::Url;

use super::enabled;
use super::sampling::dropped_context;

/// The client span of one outgoing HTTP request, with the HTTP client conventions: named
/// `{method}`, kind client, `http.request.method`, `url.full`, `server.address`, `server.port`,
/// then [`record_http_outcome`]'s `http.response.status_code` / `error.type`. `url.full` leaves out
/// the user info, the query and the fragment (any of them may hold a secret; the conventions ask for
/// credentials to be removed, and this service's outgoing URLs need no query to be recognised). A
/// disabled span, costing nothing, when export is off.
pub fn http_client_span(method: &str, url: &Url) -> Span {
    if !enabled() {
        return Span::none();
    }
    tracing::info_span!(
        "http",
        otel.name = method,
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = method,
        url.full = url_full(url),
        server.address = url.host_str().unwrap_or_default(),
        server.port = url.port_or_known_default().map(i64::from),
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// `url` as its client span's `url.full`: without user info, query or fragment.
fn url_full(url: &Url) -> String {
    let mut full = url.clone();
    full.set_query(None);
    full.set_fragment(None);
    let _ = full.set_username("");
    let _ = full.set_password(None);
    full.into()
}

/// Records how an outgoing HTTP request ended on its `span`: the answer's `status`, if one came
/// (a 4xx or 5xx is also the `error.type` and the span's error status, as the conventions say for a
/// client), else the `error` that prevented one (`timeout`, `connection`, ...).
pub fn record_http_outcome(span: &Span, outcome: Result<u16, &str>) {
    match outcome {
        Ok(status) => {
            span.record("http.response.status_code", i64::from(status));
            if status >= 400 {
                span.record("error.type", status.to_string());
                span.record("otel.status_code", "error");
            }
        }
        Err(error) => {
            span.record("error.type", error);
            span.record("otel.status_code", "error");
        }
    }
}

/// The W3C trace context headers (`traceparent`, and `tracestate` when there is one) that name
/// `span` as the parent of a callee's spans (in a trace the sampler dropped, its first span, with
/// the flags saying so); none when export is off or `span` is disabled.
pub fn trace_headers(span: &Span) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    if !enabled() {
        return headers;
    }
    let context = span.context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut headers);
    } else if let Some(dropped) = dropped_context(span) {
        let context = opentelemetry::Context::new().with_remote_span_context(dropped);
        TraceContextPropagator::new().inject_context(&context, &mut headers);
    }
    headers
}

/// An AWS SDK interceptor that puts the current span's [`trace_headers`] on each request (each
/// attempt), so that the AWS side can join the trace of the client span the call runs in.
///
/// It runs in `modify_before_transmit`, the hook *after* signing: SigV4 signs the headers present
/// when it runs and lists them in `SignedHeaders`, so a header added afterwards is sent unsigned and
/// cannot make the signature mismatch (and a retry, signed again, gets it again).
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceParent;

impl Intercept for TraceParent {
    fn name(&self) -> &'static str {
        "TraceParent"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !enabled() {
            return Ok(());
        }
        let headers = context.request_mut().headers_mut();
        for (name, value) in trace_headers(&Span::current()) {
            headers.insert(name, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_full_leaves_out_credentials_query_and_fragment() {
        let url = Url::parse("https://user:secret@idp.test:8443/keys?token=abc#x").unwrap();
        assert_eq!(url_full(&url), "https://idp.test:8443/keys");
    }
}
