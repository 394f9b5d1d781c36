//! Trace parity: every case of the contract table, sent to `k8s-server`'s router over TCP and
//! through the five Lambda event sources, produces the same span tree (names, kinds, attributes and
//! shape; ids and timing aside), exported over OTLP to a receiver that decodes it with the protocol's
//! own types. One test binary, one process-wide exporter (the subscriber is global).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use app_core::http::AppState;
use app_core::service::UserService;
use app_core::store::dynamodb::DynamoDbStore;
use app_core::telemetry::traces;
use testkit::contract::CASES;
use testkit::contract::auth::published_keys;
use testkit::idp::{self, JwksServer};
use testkit::lambda::{self, EventSource};
use testkit::moto::Moto;
use testkit::otlp::{ReceivedSpan, Receiver, tree};
use testkit::server::{TestServer, jwt_access};

const INVOCATION_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// The X-Ray header of an invocation, as the Runtime API passes it.
const XRAY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// The request span's fields that are ids, also attributes: they differ by design (Lambda's request
/// id is the invocation's).
const IDS: [&str; 3] = ["request_id", "trace_id", "span_id"];

/// A tree with ids replaced by structure: each span as `depth name (kind) {attributes} status`, in a
/// canonical order.
fn shape(spans: &[ReceivedSpan], table: &str) -> Vec<String> {
    fn walk(
        spans: &[ReceivedSpan],
        parent: &str,
        depth: usize,
        table: &str,
        out: &mut Vec<String>,
    ) {
        let mut children: Vec<&ReceivedSpan> = spans
            .iter()
            .filter(|s| s.parent_span_id == parent)
            .collect();
        children.sort_by(|a, b| a.name.cmp(&b.name));
        for span in children {
            let attributes: BTreeMap<_, _> = span
                .attributes
                .iter()
                .filter(|(k, _)| !IDS.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), if v == table { "<table>" } else { v.as_str() }))
                .collect();
            out.push(format!(
                "{depth} {} ({}) {attributes:?} {}",
                span.name, span.kind, span.status
            ));
            walk(spans, &span.span_id, depth + 1, table, out);
        }
    }
    let mut out = Vec::new();
    let ids: Vec<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let roots: Vec<ReceivedSpan> = spans
        .iter()
        .filter(|s| !ids.contains(&s.parent_span_id.as_str()))
        .map(|s| ReceivedSpan {
            parent_span_id: String::new(),
            ..s.clone()
        })
        .collect();
    let mut all: Vec<ReceivedSpan> = roots.clone();
    all.extend(
        spans
            .iter()
            .filter(|s| ids.contains(&s.parent_span_id.as_str()))
            .cloned(),
    );
    walk(&all, "", 0, table, &mut out);
    out
}

/// The server's spans of `trace`: the request span ends just after the response is written, so
/// export until it has arrived (or 2 s passed).
async fn server_trace_of(receiver: &Receiver, trace: &str) -> Vec<ReceivedSpan> {
    for _ in 0..100 {
        traces::flush().await;
        let spans = receiver.trace(trace, 0, Duration::ZERO).await;
        if spans.iter().any(|s| s.kind == "server") {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    receiver.trace(trace, 0, Duration::ZERO).await
}

/// That the last JWKS fetch the provider got carried the `traceparent` of the fetch's client span
/// in `spans`.
fn assert_fetch_carried_its_context(idp: &JwksServer, spans: &[ReceivedSpan]) {
    let fetch = spans
        .iter()
        .find(|s| s.name == "GET" && s.kind == "client")
        .unwrap_or_else(|| panic!("no JWKS fetch span:\n{}", tree(spans)));
    assert_eq!(
        idp.traceparents().last().cloned().flatten(),
        Some(format!("00-{}-{}-01", fetch.trace_id, fetch.span_id))
    );
}

/// The next trace id and a caller's `traceparent` in it.
fn next_trace(n: &mut usize) -> (String, String) {
    *n += 1;
    let trace = trace_id(*n);
    let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
    (trace, traceparent)
}

fn trace_id(n: usize) -> String {
    format!("{n:032x}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_front_door_produces_the_same_span_tree() {
    // GIVEN the process exporting every span to a receiver, and one service on moto's DynamoDB
    let receiver = Receiver::export_this_process("users").await;
    assert!(traces::enabled());
    let moto = Moto::shared();
    let table = moto.sample_table("traces").await;
    let store = DynamoDbStore::from_sdk_config(
        &moto.sdk_config(Duration::from_secs(2)).await,
        table.as_str(),
    );
    let service = UserService::new(Arc::new(store));
    let server = TestServer::spawn(service.clone()).await;

    // WHEN every case goes to the server and through each event source, each in a trace of its own
    let mut failures = Vec::new();
    let mut n = 0;
    for case in CASES {
        n += 1;
        let server_trace = trace_id(n);
        let traceparent = format!("00-{server_trace}-00f067aa0ba902b7-01");
        let mut headers = case.headers.to_vec();
        headers.push(("traceparent", &traceparent));
        server.send(case.method, case.target, &headers).await;
        let on_server = server_trace_of(&receiver, &server_trace).await;
        let expected = shape(&on_server, &table);
        if expected.is_empty() {
            failures.push(format!("{}: no span from the server", case.name));
        }
        for source in EventSource::ALL {
            n += 1;
            let lambda_trace = trace_id(n);
            let traceparent = format!("00-{lambda_trace}-00f067aa0ba902b7-01");
            let mut headers = case.headers.to_vec();
            headers.push(("traceparent", &traceparent));
            let event = source.event(case.method, case.target, &headers);
            lambda::invoke(service.clone(), &event, INVOCATION_ID).await;
            // THEN (Lambda) the invocation's spans are at the receiver when its response is out
            let on_lambda: Vec<_> = receiver
                .spans()
                .into_iter()
                .filter(|s| s.trace_id == lambda_trace)
                .collect();
            // AND the tree is the server's
            let got = shape(&on_lambda, &table);
            if got != expected {
                failures.push(format!(
                    "{} via {}: expected\n{}\ngot\n{}",
                    case.name,
                    source.name(),
                    expected.join("\n"),
                    got.join("\n")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // AND with AUTH=jwt, each front door (on a fresh key cache) traces a request with a token alike:
    // the token check under the request, the first one with the JWKS fetch as its client child,
    // the next one a cache hit without it
    let idp = JwksServer::start(&published_keys()).await;
    let token = format!("Bearer {}", idp::shared_rsa().sign(&idp::claims()));
    let protected = || AppState::new(service.clone(), jwt_access(&idp.url()));
    let server = TestServer::spawn(protected()).await;
    let mut expected = Vec::new();
    for _ in ["fetch", "cache hit"] {
        let (trace, traceparent) = next_trace(&mut n);
        let headers = [
            ("authorization", token.as_str()),
            ("traceparent", &traceparent),
        ];
        assert_eq!(server.send("GET", "/users/u-1", &headers).await.status, 200);
        let spans = server_trace_of(&receiver, &trace).await;
        if expected.is_empty() {
            assert_fetch_carried_its_context(&idp, &spans);
        }
        expected.push(shape(&spans, &table));
    }
    let [first, second] = [&expected[0], &expected[1]];
    for (shape, token_check, fetch) in [
        (
            first,
            "1 auth.token_check (internal) {\"cache.hit\": \"false\"} ",
            true,
        ),
        (
            second,
            "1 auth.token_check (internal) {\"cache.hit\": \"true\"} ",
            false,
        ),
    ] {
        assert!(
            shape.iter().any(|s| s == token_check),
            "{}",
            shape.join("\n")
        );
        let fetched = shape.iter().any(|s| {
            s.starts_with("2 GET (client) ")
                && s.contains(r#""http.request.method": "GET""#)
                && s.contains(r#""http.response.status_code": "200""#)
                && s.contains(&format!(r#""url.full": "{}""#, idp.url()))
                && s.contains(r#""server.address": "127.0.0.1""#)
        });
        assert_eq!(fetched, fetch, "{}", shape.join("\n"));
    }
    for source in EventSource::ALL {
        let state = protected();
        for (i, expected) in expected.iter().enumerate() {
            let (trace, traceparent) = next_trace(&mut n);
            let headers = [
                ("authorization", token.as_str()),
                ("traceparent", &traceparent),
            ];
            let event = source.event("GET", "/users/u-1", &headers);
            lambda::invoke(state.clone(), &event, INVOCATION_ID).await;
            let on_lambda: Vec<_> = receiver
                .spans()
                .into_iter()
                .filter(|s| s.trace_id == trace)
                .collect();
            if i == 0 {
                assert_fetch_carried_its_context(&idp, &on_lambda);
            }
            let got = shape(&on_lambda, &table);
            assert_eq!(
                &got,
                expected,
                "request {i} with a token via {}:\n{}",
                source.name(),
                got.join("\n")
            );
        }
    }

    // AND on Lambda, without a traceparent, the invocation's X-Ray trace is the parent
    let event = EventSource::HttpApiDefault.event("GET", "/users/u-1", &[]);
    lambda::invoke_traced(service.clone(), &event, INVOCATION_ID, Some(XRAY)).await;
    let joined = receiver
        .trace("5759e988bd862e3fe1be46a994272793", 2, Duration::ZERO)
        .await;
    let request = joined
        .iter()
        .find(|s| s.kind == "server")
        .unwrap_or_else(|| panic!("no server span in the X-Ray trace: {joined:?}"));
    assert_eq!(request.parent_span_id, "53995c3f42cd8ad8");
    assert!(
        joined.iter().any(|s| s.name == "DynamoDB.GetItem"),
        "{}",
        tree(&joined)
    );
}
