//! The `x-request-id` header: kept from the request when sane, generated otherwise, echoed on the
//! response and recorded on the request's span so every log line of the request carries it.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use tracing::Span;
use uuid::Uuid;

/// The request-id header name.
pub const X_REQUEST_ID: &str = "x-request-id";

/// [`X_REQUEST_ID`] as a parsed header name (a `&str` is parsed again at every lookup).
pub(super) const X_REQUEST_ID_NAME: HeaderName = HeaderName::from_static(X_REQUEST_ID);

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

/// The caller's request id, if it is sane and sent once (two ids are none: which would be the one?).
pub fn callers_request_id(headers: &HeaderMap) -> Option<&HeaderValue> {
    let mut sent = headers.get_all(&X_REQUEST_ID_NAME).iter();
    match (sent.next(), sent.next()) {
        (Some(id), None) if is_sane_request_id(id) => Some(id),
        _ => None,
    }
}

/// The request's id: a sane one from the caller, else a fresh UUID v4, which is then set on the
/// request (for the span and the routes). A caller's id that is not sane, or sent more than once, is
/// replaced. Returns the id for the response.
pub(super) fn ensure(req: &mut Request<Body>) -> HeaderValue {
    let headers = req.headers_mut();
    if let Some(id) = callers_request_id(headers) {
        return id.clone();
    }
    let id = generate();
    headers.insert(X_REQUEST_ID_NAME, id.clone());
    id
}

/// A fresh request id, as the contract makes one for a request without a sane id: a UUID v4. The
/// random bits come from `uuid`'s thread-local generator (`fast-rng`), not from a `getrandom` system
/// call per request.
pub fn generate() -> HeaderValue {
    let mut buffer = Uuid::encode_buffer();
    let id = Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(id).expect("a hyphenated UUID is a valid header value")
}

/// The span every request runs in: its request id (`id`, from [`ensure`], so sane: logged as is,
/// without quoting) and, when the request came through AWS (ALB, API Gateway, or Lambda, which passes
/// the invocation's X-Ray trace id on), the X-Ray trace id.
pub(super) fn span(req: &Request<Body>, id: &HeaderValue) -> Span {
    let span = tracing::info_span!(
        "request",
        request_id = %id.to_str().unwrap_or_default(),
        trace_id = tracing::field::Empty,
    );
    if let Some(trace_id) = req
        .headers()
        .get(&X_AMZN_TRACE_ID)
        .and_then(|v| v.to_str().ok())
    {
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
