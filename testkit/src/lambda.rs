//! `lambda-fn`'s front door, driven the way the Lambda runtime drives it: a real-shaped event (from the
//! JSON fixtures) goes through `lambda_http`'s own event parsing and the handler `lambda-fn` runs, and the
//! answer is encoded into the response event the runtime would post back, then read like API Gateway,
//! the Function URL or the ALB would read it.

use app_core::http::AppState;
use http::{HeaderMap, HeaderName, HeaderValue};
use lambda_fn::event_handler;
use lambda_http::tower::ServiceExt;
use lambda_http::{Context, LambdaEvent};
use serde_json::{Map, Value, json};

use crate::contract::NO_HOST;
use crate::http::names_host;
use crate::reply::Reply;

/// Each way an HTTP request reaches a Lambda function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    /// API Gateway REST API (payload 1.0) on stage `prod`: the stage is in the path.
    RestApiStage,
    /// API Gateway HTTP API (payload 2.0) on the `$default` stage.
    HttpApiDefault,
    /// API Gateway HTTP API (payload 2.0) on stage `prod`: the stage is in `rawPath`.
    HttpApiStage,
    /// A Lambda Function URL: payload 2.0 without `pathParameters`.
    FunctionUrl,
    /// An Application Load Balancer target group.
    Alb,
}

impl EventSource {
    /// Every source.
    pub const ALL: [EventSource; 5] = [
        Self::RestApiStage,
        Self::HttpApiDefault,
        Self::HttpApiStage,
        Self::FunctionUrl,
        Self::Alb,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::RestApiStage => "lambda/apigw-rest(prod)",
            Self::HttpApiDefault => "lambda/apigw-http($default)",
            Self::HttpApiStage => "lambda/apigw-http(prod)",
            Self::FunctionUrl => "lambda/function-url",
            Self::Alb => "lambda/alb",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Self::RestApiStage => include_str!("../../tests/fixtures/events/apigw-rest-stage.json"),
            Self::HttpApiDefault => {
                include_str!("../../tests/fixtures/events/apigw-http-default.json")
            }
            Self::HttpApiStage => include_str!("../../tests/fixtures/events/apigw-http-stage.json"),
            Self::FunctionUrl => include_str!("../../tests/fixtures/events/function-url.json"),
            Self::Alb => include_str!("../../tests/fixtures/events/alb.json"),
        }
    }

    /// The event this source sends for `method target` with `headers` (`target` = path and query, as the
    /// client sent them). A header sent more than once is carried as each source carries it: REST
    /// APIs put every value in `multiValueHeaders` and the last in `headers`, HTTP APIs and Function
    /// URLs join the values with commas, and the ALB is taken with multi-value headers on (with them
    /// off it passes only the last value, and the function cannot tell). Host headers in `headers`
    /// replace the fixture's (see [`NO_HOST`]).
    pub fn event(self, method: &str, target: &str, headers: &[(&str, &str)]) -> Value {
        let mut event: Value = serde_json::from_str(self.template()).expect("fixture is JSON");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let params = query_params(query);
        let e = &mut event;
        if names_host(headers) {
            // The case's Host headers replace the fixture's (`NO_HOST`: none).
            for field in ["headers", "multiValueHeaders"] {
                if let Some(fields) = e.get_mut(field).and_then(Value::as_object_mut) {
                    fields.retain(|name, _| !name.eq_ignore_ascii_case("host"));
                }
            }
        }
        let mut grouped: Vec<(String, Vec<&str>)> = Vec::new();
        for (name, value) in headers.iter().filter(|header| **header != NO_HOST) {
            let name = name.to_ascii_lowercase();
            match grouped.iter_mut().find(|(seen, _)| *seen == name) {
                Some((_, values)) => values.push(value),
                None => grouped.push((name, vec![value])),
            }
        }
        let alb_multi_value =
            self == Self::Alb && grouped.iter().any(|(_, values)| values.len() > 1);
        if alb_multi_value {
            let single = e.as_object_mut().expect("an event").remove("headers");
            e["multiValueHeaders"] = multi_values(&header_pairs(single));
        }
        for (name, values) in &grouped {
            let last = values.last().expect("a header has a value");
            match self {
                Self::HttpApiDefault | Self::HttpApiStage | Self::FunctionUrl => {
                    e["headers"][name] = json!(values.join(","));
                }
                Self::Alb if alb_multi_value => e["multiValueHeaders"][name] = json!(values),
                Self::RestApiStage | Self::Alb => {
                    e["headers"][name] = json!(last);
                    if let Some(multi) = e.get_mut("multiValueHeaders") {
                        multi[name] = json!(values);
                    }
                }
            }
        }
        match self {
            Self::RestApiStage => {
                e["httpMethod"] = json!(method);
                e["path"] = json!(path);
                e["pathParameters"] = json!({ "proxy": path.trim_start_matches('/') });
                e["requestContext"]["httpMethod"] = json!(method);
                e["requestContext"]["path"] = json!(format!("/prod{path}"));
                if !params.is_empty() {
                    e["queryStringParameters"] = single_values(&params);
                    e["multiValueQueryStringParameters"] = multi_values(&params);
                }
            }
            Self::HttpApiDefault | Self::HttpApiStage | Self::FunctionUrl => {
                let raw_path = match self {
                    Self::HttpApiStage => format!("/prod{path}"),
                    _ => path.to_owned(),
                };
                e["rawPath"] = json!(raw_path);
                e["rawQueryString"] = json!(query);
                e["requestContext"]["http"]["method"] = json!(method);
                e["requestContext"]["http"]["path"] = json!(raw_path);
                if self != Self::FunctionUrl {
                    e["pathParameters"] = match self {
                        Self::HttpApiStage => json!({ "proxy": path.trim_start_matches('/') }),
                        _ => json!({ "id": path.strip_prefix("/users/").unwrap_or(path) }),
                    };
                }
                if !params.is_empty() {
                    e["queryStringParameters"] = single_values(&params);
                }
            }
            Self::Alb => {
                e["httpMethod"] = json!(method);
                e["path"] = json!(path);
                if alb_multi_value {
                    e["multiValueQueryStringParameters"] = multi_values(&params);
                } else {
                    e["queryStringParameters"] = single_values(&params);
                }
            }
        }
        event
    }
}

fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// The name–value pairs of a `headers` object.
fn header_pairs(headers: Option<Value>) -> Vec<(String, String)> {
    let Some(Value::Object(headers)) = headers else {
        return Vec::new();
    };
    headers
        .into_iter()
        .map(|(name, value)| (name, value.as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn single_values(params: &[(String, String)]) -> Value {
    Value::Object(params.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

fn multi_values(params: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in params {
        map.entry(k.clone())
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("an array")
            .push(json!(v));
    }
    Value::Object(map)
}

/// Invokes what `lambda-fn`'s runtime loop invokes with `event` (as JSON, the way the runtime
/// delivers it), as invocation `request_id`, and reads the response event back the way the event
/// source would.
pub async fn invoke(service: impl Into<AppState>, event: &Value, request_id: &str) -> Reply {
    invoke_traced(service, event, request_id, None).await
}

/// [`invoke`] in an invocation whose runtime context carries the X-Ray trace header `xray` (what
/// the Runtime API sends as `Lambda-Runtime-Trace-Id`).
pub async fn invoke_traced(
    service: impl Into<AppState>,
    event: &Value,
    request_id: &str,
    xray: Option<&str>,
) -> Reply {
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    context.xray_trace_id = xray.map(str::to_owned);
    let response = event_handler(service)
        .oneshot(LambdaEvent::new(event.clone(), context))
        .await
        .expect("lambda_http accepts the event");
    read_response_event(&serde_json::to_value(&response).expect("the response event is JSON"))
}

/// Reads a response event of any of the sources (`multiValueHeaders` for REST and ALB, `headers` for
/// HTTP API and Function URL).
fn read_response_event(event: &Value) -> Reply {
    let status = event["statusCode"].as_u64().expect("statusCode") as u16;
    assert_ne!(
        event["isBase64Encoded"],
        json!(true),
        "a JSON body must travel as text, not base64: {event}"
    );
    let mut headers = HeaderMap::new();
    let multi = event["multiValueHeaders"]
        .as_object()
        .filter(|m| !m.is_empty());
    match multi {
        Some(multi) => {
            for (name, values) in multi {
                for value in values.as_array().expect("multi-value header list") {
                    append(&mut headers, name, value);
                }
            }
        }
        None => {
            for (name, value) in event["headers"].as_object().into_iter().flatten() {
                append(&mut headers, name, value);
            }
        }
    }
    let body = event["body"].as_str().unwrap_or_default();
    Reply::new(status, &headers, body.as_bytes())
}

fn append(headers: &mut HeaderMap, name: &str, value: &Value) {
    headers.append(
        HeaderName::from_bytes(name.as_bytes()).expect("header name"),
        HeaderValue::from_str(value.as_str().expect("header value is a string"))
            .expect("header value"),
    );
}
