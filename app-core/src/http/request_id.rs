//! The `x-request-id` header: kept from the request when sane, generated otherwise, echoed on the
//! response and recorded on the request's span so every log line of the request carries it.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Span;
use uuid::Uuid;

/// The request-id header name.
pub const X_REQUEST_ID: &str = "x-request-id";

/// [`X_REQUEST_ID`] as a parsed header name (a `&str` is parsed again at every lookup).
const X_REQUEST_ID_NAME: HeaderName = HeaderName::from_static(X_REQUEST_ID);

/// The longest request id kept from a caller, in bytes.
const MAX_LEN: usize = 128;

/// Whether a caller's request id may be kept: 1 to 128 characters from `A-Z a-z 0-9 - _ . : = + /`
/// (UUIDs, AWS request ids and X-Ray trace ids all fit). Anything else is replaced, so no caller can put
/// arbitrary text into our logs and responses.
pub fn is_sane_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_LEN).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:=+/".contains(b))
}

/// Removes a request id that is not sane, so that a fresh one is generated.
pub(super) fn drop_insane(mut req: Request<Body>) -> Request<Body> {
    let headers = req.headers_mut();
    if headers
        .get_all(&X_REQUEST_ID_NAME)
        .iter()
        .enumerate()
        .any(|(i, value)| i > 0 || !is_sane_request_id(value))
    {
        headers.remove(&X_REQUEST_ID_NAME);
    }
    req
}

/// Makes a UUID v4 request id for requests without a sane one. The random bits come from `uuid`'s
/// thread-local generator (`fast-rng`), not from a `getrandom` system call per request.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct MakeRequestUuid;

impl MakeRequestId for MakeRequestUuid {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let mut buffer = Uuid::encode_buffer();
        let id = Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
        HeaderValue::from_str(id).ok().map(RequestId::new)
    }
}

/// The span every request runs in: its request id and, when the request came through AWS (ALB, API
/// Gateway, or Lambda, which passes the invocation's X-Ray trace id on), the X-Ray trace id. The
/// request id is sane by now (see [`drop_insane`]), so it is logged as is, without quoting.
pub(super) fn span(req: &Request<Body>) -> Span {
    let header = |name: &HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
    let span = tracing::info_span!(
        "request",
        request_id = %header(&X_REQUEST_ID_NAME).unwrap_or_default(),
        trace_id = tracing::field::Empty,
    );
    if let Some(trace_id) = header(&X_AMZN_TRACE_ID) {
        span.record("trace_id", trace_id);
    }
    span
}

/// The header AWS load balancers, API Gateway and Lambda carry the X-Ray trace id in.
const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_common_sources_are_sane() {
        for ok in [
            "3f2c6f0e-8a4b-4b7e-9a36-0d2a1c9b7e11",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "abc_DEF.123:x+y/z",
        ] {
            assert!(is_sane_request_id(&HeaderValue::from_static(ok)), "{ok}");
        }
    }

    #[test]
    fn empty_long_or_odd_ids_are_not() {
        let long = "a".repeat(MAX_LEN + 1);
        for bad in [
            "",
            "has space",
            "quote\"",
            "semi;colon",
            "<script>",
            long.as_str(),
        ] {
            assert!(
                !is_sane_request_id(&HeaderValue::from_str(bad).unwrap()),
                "{bad}"
            );
        }
        assert!(!is_sane_request_id(
            &HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()
        ));
    }
}
