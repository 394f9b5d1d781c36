//! OpenTelemetry on the real `k8s-server` process, with an OTLP receiver on loopback that decodes
//! what it gets with the protocol's own types (`testkit::otlp`) and moto's DynamoDB.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use testkit::moto::Moto;
use testkit::otlp::{ReceivedSpan, Receiver, tree};
use testkit::recording_proxy::RecordingProxy;
use testkit::served::K8sServer;

/// A caller's W3C trace context.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn log_file(name: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("tracing-test")
        .tempdir()
        .expect("a temporary folder")
        .keep();
    dir.join(format!("{name}.log"))
}

async fn server(receiver: &Receiver, extra: &[(&'static str, &str)], log: &Path) -> K8sServer {
    let moto = Moto::shared();
    let table = moto.sample_table("tracing").await;
    let mut env = moto.service_env(&table);
    env.retain(|(name, _)| !extra.iter().any(|(replaced, _)| replaced == name));
    env.push(("LOG_FORMAT", "json".into()));
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()));
    env.push(("OTEL_SERVICE_NAME", "users-k8s".into()));
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    K8sServer::start(&env, log)
        .await
        .expect("k8s-server starts")
}

fn span<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in\n{}", tree(spans)))
}

#[tokio::test]
async fn a_request_continues_the_callers_trace_with_a_dynamodb_child_span() {
    // GIVEN the server exporting to a receiver, on moto's DynamoDB
    let receiver = Receiver::start().await;
    let log = log_file("continued");
    // (with the request and response log lines, which are at DEBUG; DynamoDB through a proxy that
    // shows the requests moto gets)
    let proxy = RecordingProxy::start(([127, 0, 0, 1], Moto::shared().port()).into()).await;
    let extra = [
        ("RUST_LOG", "info,tower_http=debug"),
        ("AWS_ENDPOINT_URL_DYNAMODB", &proxy.endpoint()),
    ];
    let server = server(&receiver, &extra, &log).await;

    // WHEN a caller in trace TRACE_ID asks for u-1
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let reply = testkit::http::send(
        server.addr,
        "GET",
        "/users/u-1",
        &[("traceparent", &traceparent)],
    )
    .await;
    assert_eq!(reply.status, 200);

    // THEN the receiver gets the server span, a child of the caller's, with the HTTP conventions,
    // and the GetItem as its client child
    let spans = receiver.trace(TRACE_ID, 2, Duration::from_secs(5)).await;
    let request = span(&spans, "GET /users/{id}");
    assert_eq!(request.kind, "server");
    assert_eq!(request.parent_span_id, CALLER_SPAN);
    assert_eq!(request.service_name, "users-k8s");
    for (key, value) in [
        ("http.request.method", "GET"),
        ("url.path", "/users/u-1"),
        ("http.route", "/users/{id}"),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(
            request.attributes.get(key).map(String::as_str),
            Some(value),
            "{key}"
        );
    }
    let get_item = span(&spans, "DynamoDB.GetItem");
    assert_eq!(get_item.kind, "client");
    assert_eq!(get_item.parent_span_id, request.span_id);
    assert_eq!(get_item.attributes["rpc.method"], "GetItem");
    assert_eq!(get_item.attributes["rpc.service"], "DynamoDB");
    assert!(get_item.attributes["aws.dynamodb.table_names"].starts_with("tracing"));
    assert_eq!(get_item.status, "");

    // AND the GetItem request moto got carried that client span's context, unsigned (so no proxy
    // or collector adding or changing it can break the signature)
    assert_eq!(
        proxy.header_values("traceparent"),
        [format!("00-{TRACE_ID}-{}-01", get_item.span_id)]
    );
    let authorization = proxy.header_values("authorization");
    assert!(
        authorization.len() == 1 && !authorization[0].contains("traceparent"),
        "{authorization:?}"
    );

    // AND the request's log lines carry its trace and span ids
    let logs = std::fs::read_to_string(&log).unwrap();
    let request_lines: Vec<&str> = logs.lines().filter(|l| l.contains(TRACE_ID)).collect();
    assert!(
        !request_lines.is_empty(),
        "no log line with the trace id:\n{logs}"
    );
    for line in request_lines {
        assert!(
            line.contains(&format!(r#""span_id":"{}""#, request.span_id)),
            "{line}"
        );
    }
}

#[tokio::test]
async fn a_request_without_traceparent_starts_a_trace_and_sampling_off_exports_nothing() {
    // GIVEN one server sampling everything and one sampling nothing
    let receiver = Receiver::start().await;
    let on = server(&receiver, &[], &log_file("on")).await;
    let off_receiver = Receiver::start().await;
    let off = server(
        &off_receiver,
        &[("OTEL_TRACES_SAMPLER", "always_off")],
        &log_file("off"),
    )
    .await;

    // WHEN each answers a request without a trace context
    assert_eq!(
        testkit::http::send(on.addr, "GET", "/users/u-1", &[])
            .await
            .status,
        200
    );
    assert_eq!(
        testkit::http::send(off.addr, "GET", "/users/u-1", &[])
            .await
            .status,
        200
    );

    // THEN the first exports a new trace (a root server span), the second nothing at all
    let started = Instant::now();
    while receiver.spans().len() < 2 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spans = receiver.spans();
    let request = span(&spans, "GET /users/{id}");
    assert_eq!(request.parent_span_id, "");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        off_receiver.spans(),
        [],
        "sampler always_off exported spans"
    );
}

#[tokio::test]
async fn a_hung_collector_slows_no_request_and_its_spans_are_counted_as_dropped() {
    // GIVEN a receiver that accepts and never answers
    let receiver = Receiver::start().await;
    receiver.hang(true);
    let log = log_file("hung");
    let server = server(&receiver, &[], &log).await;

    // WHEN requests come for 3 s (several export periods, each export timing out)
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(3) {
        let sent = Instant::now();
        assert_eq!(
            testkit::http::send(server.addr, "GET", "/users/u-1", &[])
                .await
                .status,
            200
        );
        slowest = slowest.max(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // THEN no request waited on the collector (the bound: a lookup's normal time, well under the
    // 500 ms export timeout)
    assert!(
        slowest < Duration::from_millis(400),
        "slowest request took {slowest:?}"
    );

    // AND once the last export has timed out (an export period plus its timeout, with room), every
    // lost span is counted in otel_spans_dropped_total, and the `spans dropped` log lines (one per
    // failed export) account for exactly that many
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let logs = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let logged: u64 = lines
        .iter()
        .filter(|line| line["message"] == "spans dropped")
        .map(|line| line["spans"].as_u64().expect("a `spans` count"))
        .sum();
    let metrics = metrics_address(&lines);
    let exposition = testkit::http::send(metrics, "GET", "/metrics", &[])
        .await
        .body;
    let counted: u64 = exposition
        .lines()
        .find_map(|line| line.strip_prefix("otel_spans_dropped_total "))
        .unwrap_or_else(|| panic!("no otel_spans_dropped_total in\n{exposition}"))
        .parse()
        .expect("a count");
    assert!(counted > 0, "{exposition}");
    assert_eq!(logged, counted, "{logs}");
}

/// Where the server serves `/metrics`, from its `listening` log line.
fn metrics_address(lines: &[serde_json::Value]) -> SocketAddr {
    let listening = lines
        .iter()
        .find(|line| line["message"] == "listening")
        .expect("a `listening` log line");
    let logged: SocketAddr = listening["metrics_address"]
        .as_str()
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("no metrics address in {listening}"));
    SocketAddr::from(([127, 0, 0, 1], logged.port()))
}
