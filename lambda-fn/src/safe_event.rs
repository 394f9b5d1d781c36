//! Events made safe for `lambda_http`'s conversion.
//!
//! `lambda_http` turns an event into a request URI with `Url::parse(..).unwrap()` from the `Host` and
//! `X-Forwarded-Proto` headers (or the request context's domain name) and the path, then builds the
//! request with `expect` (which fails on what `url` accepted but `http` does not, and on an HTTP
//! API's raw query string `http` cannot parse). Those values come from the caller (through an ALB the
//! `Host` header is whatever the client sent), so an odd one made the conversion panic and the
//! invocation fail (a 502 at the load balancer) instead of getting an answer. Values it could not
//! parse are dropped here, before it sees them. A `Host` is kept only if it is one by the contract's
//! rule (`app_core::http::is_valid_host`, whose hosts always make a URL): one dropped leaves a
//! request without `Host`, which the contract answers `400 BAD_REQUEST` as it answers the invalid
//! value on a socket.
//!
//! `lambda_http` also lets an event's `headers` replace its `multiValueHeaders`, which for a repeated
//! header holds only the last value (API Gateway REST APIs send both): two `Authorization` headers
//! would reach the contract as one. Where an event carries `multiValueHeaders`, those are the
//! request's headers, as on a socket.

use app_core::http::{escape_encoded_dot_segments, is_valid_host};
use axum::http::header::HOST;
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderName};
use lambda_http::request::LambdaRequest;

const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Drops the event values `lambda_http` would panic on, and gives a path without a leading `/` one.
pub(crate) fn make_safe(mut event: LambdaRequest) -> LambdaRequest {
    match &mut event {
        LambdaRequest::ApiGatewayV1(req) => {
            prefer_multi_value(&mut req.headers, &req.multi_value_headers);
            clean_headers(&mut req.headers);
            clean_headers(&mut req.multi_value_headers);
            clean_domain(&mut req.request_context.domain_name);
            clean_path(&mut req.path);
        }
        LambdaRequest::ApiGatewayV2(req) => {
            clean_headers(&mut req.headers);
            clean_domain(&mut req.request_context.domain_name);
            clean_path(&mut req.raw_path);
            let unparsable = |query: &str| PathAndQuery::try_from(format!("/?{query}")).is_err();
            if req.raw_query_string.as_deref().is_some_and(unparsable) {
                req.raw_query_string = None;
            }
        }
        LambdaRequest::Alb(req) => {
            prefer_multi_value(&mut req.headers, &req.multi_value_headers);
            clean_headers(&mut req.headers);
            clean_headers(&mut req.multi_value_headers);
            clean_path(&mut req.path);
        }
        _ => {}
    }
    event
}

/// Removes from `headers` every header `multi_value` carries (all its values), so that `lambda_http`'s
/// merge of the two keeps `multi_value`'s.
fn prefer_multi_value(headers: &mut HeaderMap, multi_value: &HeaderMap) {
    for name in multi_value.keys() {
        headers.remove(name);
    }
}

fn clean_headers(headers: &mut HeaderMap) {
    drop_unless(headers, &HOST, is_valid_host);
    drop_unless(headers, &X_FORWARDED_PROTO, |proto| {
        matches!(proto, "http" | "https")
    });
}

fn drop_unless(headers: &mut HeaderMap, name: &HeaderName, valid: fn(&str) -> bool) {
    if headers
        .get_all(name)
        .iter()
        .any(|value| !value.to_str().is_ok_and(valid))
    {
        headers.remove(name);
    }
}

fn clean_domain(domain: &mut Option<String>) {
    if domain.as_deref().is_some_and(|d| !is_valid_host(d)) {
        *domain = None;
    }
}

/// Gives a path without a leading `/` one, and keeps an encoded dot segment a segment, as the
/// contract does on the server (`lambda_http`'s URL parser would resolve it before the contract
/// sees the path).
fn clean_path(path: &mut Option<String>) {
    if let Some(p) = path {
        if !p.starts_with('/') {
            p.insert(0, '/');
        }
        if let Some(escaped) = escape_encoded_dot_segments(p) {
            *p = escaped;
        }
    }
}
