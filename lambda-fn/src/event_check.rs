//! Events checked before the event libraries read them.
//!
//! The runtime hands the function whatever JSON the event source sent, and the libraries that turn it
//! into a request trust it: `aws_lambda_events` puts every header into an `http::HeaderMap`, which
//! panics past 32,768 entries; `lambda_http` decodes a body marked `isBase64Encoded` with `expect`, and
//! builds the URI from host, path and query with `expect` (an `http::Uri` holds at most 64 KiB). Each
//! ended the invocation (the process, for the header map) instead of answering. This module looks at
//! the event as plain JSON first and finds the ones that break `app_core::http::limits` or carry a
//! body that is not base64; those are answered `400 BAD_REQUEST` without reading the rest.
//!
//! The cost per invocation is one walk over the event's headers and query parameters (counting and
//! summing lengths, no copies), and a decode of a base64 body (this API takes none: such an event is
//! a 413 anyway).

use app_core::http::limits::{MAX_HEADER_FIELDS, MAX_TARGET_BYTES};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// Whether `event` must be refused before `lambda_http` reads it.
pub(crate) fn must_refuse(event: &Value) -> bool {
    header_fields(event) > MAX_HEADER_FIELDS
        || target_bytes(event) > MAX_TARGET_BYTES
        || !body_decodes(event)
}

/// `event` with every value the caller chose removed (headers, path, query, body), so that
/// `lambda_http` reads it safely and answers in the event source's format.
pub(crate) fn strip(mut event: Value) -> Value {
    if let Some(fields) = event.as_object_mut() {
        for (name, empty) in [
            ("headers", Value::Object(Map::new())),
            ("multiValueHeaders", Value::Object(Map::new())),
            ("queryStringParameters", Value::Object(Map::new())),
            ("multiValueQueryStringParameters", Value::Object(Map::new())),
            ("cookies", Value::Array(Vec::new())),
            ("path", Value::from("/")),
            ("rawPath", Value::from("/")),
            ("rawQueryString", Value::from("")),
            ("body", Value::Null),
            ("isBase64Encoded", Value::Bool(false)),
        ] {
            if fields.contains_key(name) {
                fields.insert(name.to_owned(), empty);
            }
        }
    }
    if let Some(context) = event
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    {
        context.remove("domainName");
    }
    event
}

/// Header fields of the event: each entry of `headers`, each value of `multiValueHeaders`.
fn header_fields(event: &Value) -> usize {
    let entries = |name| event.get(name).and_then(Value::as_object);
    let single = entries("headers").map_or(0, Map::len);
    let multi = entries("multiValueHeaders").map_or(0, |headers| {
        headers
            .values()
            .map(|values| values.as_array().map_or(1, Vec::len))
            .sum()
    });
    single + multi
}

/// Bytes of host, path and query, as the event carries them (before percent-encoding).
fn target_bytes(event: &Value) -> usize {
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map_or(0, str::len);
    let hosts: usize = ["headers", "multiValueHeaders"]
        .into_iter()
        .filter_map(|name| event.get(name).and_then(Value::as_object))
        .flat_map(|headers| headers.iter())
        .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
        .map(|(_, value)| json_text_bytes(value))
        .sum();
    let domain = text(event.pointer("/requestContext/domainName"));
    let path = text(event.get("path")) + text(event.get("rawPath"));
    let raw_query = text(event.get("rawQueryString"));
    let query: usize = ["queryStringParameters", "multiValueQueryStringParameters"]
        .into_iter()
        .filter_map(|name| event.get(name).and_then(Value::as_object))
        .flat_map(|params| params.iter())
        .map(|(name, value)| name.len() + json_text_bytes(value) + 2)
        .sum();
    hosts + domain + path + raw_query + query
}

/// Bytes of the strings in a header or parameter value (a string, or an array of them).
fn json_text_bytes(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len() + 1,
        Value::Array(values) => values.iter().map(json_text_bytes).sum(),
        _ => 0,
    }
}

/// Whether the body decodes, where the event says it is base64.
fn body_decodes(event: &Value) -> bool {
    if event.get("isBase64Encoded") != Some(&Value::Bool(true)) {
        return true;
    }
    event
        .get("body")
        .and_then(Value::as_str)
        .is_none_or(|body| STANDARD.decode(body).is_ok())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_plain_event_passes() {
        let event = json!({"path": "/users/u-1", "headers": {"host": "example.com"},
            "multiValueHeaders": {"host": ["example.com"]}, "body": "e30=", "isBase64Encoded": true});
        assert!(!must_refuse(&event));
    }

    #[test]
    fn header_fields_count_every_value() {
        let values: Vec<Value> = (0..MAX_HEADER_FIELDS)
            .map(|i| json!(i.to_string()))
            .collect();
        let event = json!({"headers": {"a": "1"}, "multiValueHeaders": {"x": values}});
        assert_eq!(header_fields(&event), MAX_HEADER_FIELDS + 1);
        assert!(must_refuse(&event));
    }

    #[test]
    fn a_long_query_or_path_is_refused() {
        let long = "a".repeat(MAX_TARGET_BYTES);
        assert!(must_refuse(
            &json!({"rawPath": "/", "rawQueryString": long})
        ));
        assert!(must_refuse(
            &json!({"path": "/", "queryStringParameters": {"q": long}})
        ));
        assert!(must_refuse(&json!({"path": format!("/{long}")})));
        assert!(!must_refuse(
            &json!({"path": "/", "queryStringParameters": {"q": "a"}})
        ));
    }

    #[test]
    fn a_body_that_is_not_base64_is_refused_only_when_marked() {
        assert!(must_refuse(
            &json!({"body": "%%%", "isBase64Encoded": true})
        ));
        assert!(!must_refuse(
            &json!({"body": "%%%", "isBase64Encoded": false})
        ));
    }

    #[test]
    fn strip_removes_what_the_caller_chose() {
        let event = strip(json!({"path": "/x", "headers": {"host": "h"}, "body": "%",
            "isBase64Encoded": true, "requestContext": {"domainName": "d", "stage": "prod"}}));
        assert_eq!(
            event,
            json!({"path": "/", "headers": {}, "body": null, "isBase64Encoded": false,
                "requestContext": {"stage": "prod"}})
        );
    }
}
