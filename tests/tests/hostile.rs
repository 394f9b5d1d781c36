//! Hostile and malformed input, sent to every front door. Every answer is a 4xx with the JSON error
//! envelope (or, for oversized headers, the server's own limit answer), never a 5xx or a panic, and
//! both targets give the same status.

use std::sync::Arc;

use app_core::service::UserService;
use app_core::store::memory::MemoryStore;
use testkit::contract::NO_HOST;
use testkit::lambda::{self, EventSource};
use testkit::reply::Reply;
use testkit::server::TestServer;

fn service() -> UserService {
    UserService::new(Arc::new(MemoryStore::sample()))
}

/// Request targets that must be refused with a 4xx.
fn hostile_targets() -> Vec<(String, String)> {
    let long_id = "a".repeat(10_000);
    let long_path = "/x".repeat(5_000);
    let mut targets: Vec<(&str, String)> = vec![
        ("NUL in the id", "/users/a%00b".into()),
        ("control character", "/users/%01".into()),
        ("DEL", "/users/%7F".into()),
        ("dot-dot id", "/users/..".into()),
        ("encoded dot-dot id", "/users/%2E%2E".into()),
        ("dot id", "/users/.".into()),
        (
            "dot-dot escaping the prefix",
            "/users/../users/u-1/..".into(),
        ),
        ("encoded slash", "/users/a%2Fb".into()),
        ("lone percent", "/users/a%".into()),
        ("bad percent digits", "/users/%G1".into()),
        ("overlong UTF-8 slash", "/users/%C0%AF".into()),
        ("invalid UTF-8", "/users/%FF%FE%FD".into()),
        ("encoded newline", "/users/a%0D%0Ab".into()),
        ("10 000-character id", format!("/users/{long_id}")),
        ("10 000-character path", long_path),
        ("id with a semicolon", "/users/u-1;drop".into()),
        ("id with a quote", "/users/u-1%22".into()),
        ("id with angle brackets", "/users/%3Cscript%3E".into()),
        ("double slash", "//users/u-1".into()),
        ("trailing slash", "/users/u-1/".into()),
        ("empty id", "/users/".into()),
    ];
    targets.sort_by(|a, b| a.0.cmp(b.0));
    targets
        .into_iter()
        .map(|(name, target)| (name.to_owned(), target))
        .collect()
}

fn is_json_4xx(reply: &Reply) -> bool {
    (400..500).contains(&reply.status)
        && reply.error_code().is_some()
        && reply.header("content-type") == Some("application/json")
}

/// The answers one corpus test checked and the problems it found.
#[derive(Default)]
struct Tally {
    answers: usize,
    problems: Vec<String>,
}

impl Tally {
    /// Counts one answer, keeping `problem` if there is one.
    fn check(&mut self, problem: Option<String>) {
        self.answers += 1;
        self.problems.extend(problem);
    }

    /// Sends `event` to the Lambda front door and checks it answers as the server did.
    async fn lambda_answers_like_the_server(
        &mut self,
        name: &str,
        source: EventSource,
        event: &serde_json::Value,
        on_server: &Reply,
    ) {
        let on_lambda = lambda::invoke(service(), event, "hostile").await;
        self.check(
            (on_lambda.without_request_id() != on_server.without_request_id()).then(|| {
                format!(
                    "{name}: {} answered {} {:?}, the server {} {:?}",
                    source.name(),
                    on_lambda.status,
                    on_lambda.body,
                    on_server.status,
                    on_server.body
                )
            }),
        );
    }

    /// Prints the counts and fails on any problem.
    fn report(self, what: &str) {
        println!(
            "{what}: {} answers checked, {} problems",
            self.answers,
            self.problems.len()
        );
        assert!(self.problems.is_empty(), "{}", self.problems.join("\n"));
    }
}

#[tokio::test]
async fn hostile_paths_get_the_same_json_4xx_from_every_front_door() {
    let server = TestServer::spawn(service()).await;
    let mut tally = Tally::default();
    for (name, target) in hostile_targets() {
        let on_server = server.send("GET", &target, &[]).await;
        tally.check(
            (!is_json_4xx(&on_server))
                .then(|| format!("{name}: server: {} {:?}", on_server.status, on_server.body)),
        );
        for source in EventSource::ALL {
            let event = source.event("GET", &target, &[]);
            tally
                .lambda_answers_like_the_server(&name, source, &event, &on_server)
                .await;
        }
    }
    tally.report("hostile paths");
}

#[tokio::test]
async fn odd_methods_and_bodies_get_the_same_json_4xx_or_answer_from_every_front_door() {
    use testkit::http::try_send_body;

    let big = "x".repeat(4096);
    // (name, method, target, body, expected status)
    let cases: &[(&str, &str, &str, &str, u16)] = &[
        (
            "PUT with a body",
            "PUT",
            "/users/u-1",
            r#"{"name":"Mallory"}"#,
            405,
        ),
        ("PATCH", "PATCH", "/users/u-1", "{}", 405),
        ("TRACE", "TRACE", "/users/u-1", "", 405),
        ("an unknown method", "FROB", "/users/u-1", "", 405),
        ("POST to an unknown path", "POST", "/admin", "x", 404),
        (
            "GET with a small body (ignored)",
            "GET",
            "/users/u-1",
            "hello",
            200,
        ),
        ("GET with a 4 KiB body", "GET", "/users/u-1", &big, 413),
    ];
    let server = TestServer::spawn(service()).await;
    let mut tally = Tally::default();
    for (name, method, target, body, expected) in cases {
        let length = body.len().to_string();
        let headers = [
            ("content-type", "application/json"),
            ("content-length", length.as_str()),
        ];
        let on_server = try_send_body(
            server.addr(),
            method,
            target,
            &headers,
            body.to_string().into(),
        )
        .await
        .unwrap_or_else(|err| panic!("{name}: {err}"));
        let as_expected = on_server.status == *expected
            && (on_server.status == 200 || on_server.error_code().is_some());
        tally.check((!as_expected).then(|| {
            format!(
                "{name}: server answered {} {:?}",
                on_server.status, on_server.body
            )
        }));
        for source in EventSource::ALL {
            let mut event = source.event(method, target, &headers);
            event["body"] = serde_json::json!(body);
            tally
                .lambda_answers_like_the_server(name, source, &event, &on_server)
                .await;
        }
    }
    tally.report("odd methods and bodies");
}

/// Event values the caller controls that `lambda_http` could not turn into a request URI (found by
/// `cargo fuzz` on the `lambda_event` target: an ALB event whose Host header held a `)`). Each event
/// must still be answered by the contract, exactly as the server answers the same request on a
/// socket: a Host that is not a host is `400 BAD_REQUEST` there too, an odd `X-Forwarded-Proto` or
/// an unparsable query is not read.
#[tokio::test]
async fn events_with_values_lambda_http_cannot_parse_are_still_answered() {
    type Mutation = (
        &'static str,
        fn(&mut serde_json::Value),
        &'static [(&'static str, &'static str)],
    );
    let mutations: &[Mutation] = &[
        (
            "Host with a parenthesis (fuzz finding)",
            |e| set_host(e, "user-lookup-1).example.com"),
            &[("host", "user-lookup-1).example.com")],
        ),
        (
            "Host with a space",
            |e| set_host(e, "bad host"),
            &[("host", "bad host")],
        ),
        (
            "Host with braces (fuzz finding)",
            |e| set_host(e, "}}user-lookup.example.com"),
            &[("host", "}}user-lookup.example.com")],
        ),
        (
            "X-Forwarded-Proto not a scheme",
            |e| e["headers"]["x-forwarded-proto"] = "http)".into(),
            &[("x-forwarded-proto", "http)")],
        ),
        (
            "request context domain name unparsable, no Host",
            |e| {
                if e["requestContext"].get("domainName").is_some() {
                    e["requestContext"]["domainName"] = "a b".into();
                }
                for field in ["headers", "multiValueHeaders"] {
                    if let Some(headers) = e[field].as_object_mut() {
                        headers.remove("host");
                    }
                }
            },
            &[NO_HOST],
        ),
        (
            "raw query string with a space and quotes",
            |e| {
                if e.get("rawQueryString").is_some() {
                    e["rawQueryString"] = r#"a=b c&d="e""#.into();
                }
            },
            &[],
        ),
    ];
    let server = TestServer::spawn(service()).await;
    let mut tally = Tally::default();
    for (name, mutate, on_socket) in mutations {
        let on_server = server.send("GET", "/users/u-1", on_socket).await;
        for source in EventSource::ALL {
            let mut event = source.event("GET", "/users/u-1", &[]);
            mutate(&mut event);
            tally
                .lambda_answers_like_the_server(name, source, &event, &on_server)
                .await;
        }
    }
    tally.report("unparsable event values");
}

/// Sets the event's Host header to `host`, in `multiValueHeaders` too where the event has them (a
/// REST API sends both).
fn set_host(event: &mut serde_json::Value, host: &str) {
    event["headers"]["host"] = host.into();
    if let Some(multi) = event
        .get_mut("multiValueHeaders")
        .and_then(serde_json::Value::as_object_mut)
    {
        multi.insert("host".into(), serde_json::json!([host]));
    }
}

/// Events the runtime delivers that the event libraries could not read: 100,000 headers (past what
/// an `http::HeaderMap` holds: the process exited), a body marked base64 that is not, and a path or
/// query over the 64 KiB an `http::Uri` holds (each a panic in `lambda_http`). Each is answered
/// `400 BAD_REQUEST` with the JSON envelope, in the event source's response format, and with the
/// headers of any other 400 of the contract (here: an invalid Host), the invocation's request id
/// among them.
#[tokio::test]
async fn events_the_event_libraries_cannot_read_are_answered_400() {
    type Mutation = (&'static str, fn(&mut serde_json::Value));
    let mutations: &[Mutation] = &[
        ("100,000 headers", |e| {
            let headers = e["headers"].as_object_mut().unwrap();
            for i in 0..100_000 {
                headers.insert(format!("x-h{i}"), "v".into());
            }
        }),
        ("a body marked base64 that is not", |e| {
            e["body"] = "not base64 %%%".into();
            e["isBase64Encoded"] = true.into();
        }),
    ];
    let long = "a".repeat(70 * 1024);
    let targets = [
        ("a path over 64 KiB", format!("/users/{long}")),
        ("a query over 64 KiB", format!("/users/u-1?q={long}")),
    ];
    let mut tally = Tally::default();
    for source in EventSource::ALL {
        let mut events: Vec<(&str, serde_json::Value)> = Vec::new();
        for (name, mutate) in mutations {
            let mut event = source.event("GET", "/users/u-1", &[]);
            mutate(&mut event);
            events.push((name, event));
        }
        for (name, target) in &targets {
            events.push((name, source.event("GET", target, &[])));
        }
        let mut bad_host = source.event("GET", "/users/u-1", &[]);
        set_host(&mut bad_host, "not a host!");
        let other_400 = lambda::invoke(service(), &bad_host, "hostile").await;
        assert_eq!(other_400.status, 400, "{}: {other_400:?}", source.name());
        for (name, event) in events {
            let answer = lambda::invoke(service(), &event, "hostile").await;
            tally.check(
                (answer.status != 400 || answer.error_code().as_deref() != Some("BAD_REQUEST"))
                    .then(|| {
                        format!(
                            "{name}: {} answered {} {:?}",
                            source.name(),
                            answer.status,
                            answer.body
                        )
                    }),
            );
            tally.check((answer.headers != other_400.headers).then(|| {
                format!(
                    "{name}: {} answered with headers {:?}, another 400 with {:?}",
                    source.name(),
                    answer.headers,
                    other_400.headers
                )
            }));
        }
    }
    tally.report("events the event libraries cannot read");
}
