//! The real `k8s-server` process: what a newcomer and an operator see.

mod support;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use support::{Server, run_to_exit};
use testkit::cgroup::MemoryGroup;
use testkit::contract::auth;
use testkit::flood::Flood;
use testkit::http::{Connection, try_send_blocking};
use testkit::idp::{JwksServer, SigningKey, claims, shared_rsa, unreachable_url};
use testkit::load::{Load, Sample};
use testkit::process::{Signal, Supervised};
use testkit::reply::Reply;

#[test]
fn with_no_configuration_it_serves_the_sample_users() {
    // GIVEN the server started with no configuration at all (embedded store, bundled sample)
    let server = Server::start(&[]);

    // WHEN a newcomer asks for u-1 and for an unknown user
    let (found, ada) = server.get("/users/u-1");
    let (missing, nope) = server.get("/users/nope");

    // THEN u-1 is Ada Lovelace and the unknown user is a JSON 404
    assert_eq!(found, 200);
    assert_eq!(
        ada,
        r#"{"success":true,"data":{"id":"u-1","name":"Ada Lovelace","email":"ada@example.com","createdAt":"2024-01-15T09:30:00Z"}}"#
    );
    assert_eq!(missing, 404);
    assert!(nope.contains(r#""code":"USER_NOT_FOUND""#), "{nope}");
    assert_eq!(server.get("/readyz").0, 200);
}

#[test]
fn bad_configuration_stops_start_up_with_one_line_naming_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("USER_STORE", "redis")], "USER_STORE"),
        (&[("USERS_FILE", "/no/such/users.json")], "USERS_FILE"),
        (&[("STORE_TIMEOUT_MS", "soon")], "STORE_TIMEOUT_MS"),
        (&[("PORT", "http")], "PORT"),
        (&[("METRICS_PORT", "8080")], "METRICS_PORT"),
        (&[("LOG_FORMAT", "yaml")], "LOG_FORMAT"),
        (
            &[("SSL_CERT_FILE", "/no/such/ca-bundle.crt")],
            "SSL_CERT_FILE",
        ),
        (
            &[
                ("USER_STORE", "dynamodb"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
            "AWS_REGION",
        ),
        (&[("AUTH", "jwt")], "JWT_ISSUER"),
        (
            &[
                ("AUTH", "jwt"),
                ("JWT_ISSUER", "https://idp.test/"),
                ("JWT_AUDIENCE", "users-api"),
                ("JWKS_URL", "https://idp.test/jwks"),
                ("JWKS_REFETCH_INTERVAL_SECS", "0"),
            ],
            "JWKS_REFETCH_INTERVAL_SECS",
        ),
        (
            &[
                ("AUTH", "jwt"),
                ("JWT_ISSUER", "https://idp.test/"),
                ("JWT_AUDIENCE", "users-api"),
                ("JWKS_URL", "http://idp.test/jwks"),
            ],
            "JWKS_URL",
        ),
        (
            &[
                ("AUTH", "jwt"),
                ("JWT_ISSUER", "https://idp.test/"),
                ("JWT_AUDIENCE", "users-api"),
                ("JWKS_URL", "http://idp.test/jwks"),
                ("JWKS_ALLOW_INSECURE_HTTP", "yes"),
            ],
            "JWKS_ALLOW_INSECURE_HTTP",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
                ("OTEL_TRACES_SAMPLER", "sometimes"),
            ],
            "OTEL_TRACES_SAMPLER",
        ),
    ];
    for (vars, var) in cases {
        let output = run_to_exit(vars);
        let stderr = String::from_utf8_lossy(&output.stderr);

        assert_eq!(output.status.code(), Some(78), "{vars:?}: {stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{vars:?}: one line expected, got {stderr:?}"
        );
        assert!(
            stderr.starts_with(&format!("k8s-server: {var}")),
            "{vars:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_port_in_use_is_a_one_line_error_and_exit_1_naming_the_address() {
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();

    for (vars, address) in [
        ([("PORT", &*port), ("METRICS_PORT", "0")], &*port),
        ([("PORT", "0"), ("METRICS_PORT", &*port)], &*port),
    ] {
        let output = run_to_exit(&vars);
        let stderr = String::from_utf8_lossy(&output.stderr);

        assert_eq!(output.status.code(), Some(1), "{vars:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{vars:?}: {stderr:?}");
        assert!(
            stderr.starts_with(&format!("k8s-server: cannot listen on 0.0.0.0:{address}: ")),
            "{vars:?}: {stderr}"
        );
    }
}

#[test]
fn with_both_ports_at_0_the_log_names_the_ports_it_picked_and_each_serves_its_routes() {
    // GIVEN the server asked for an ephemeral port for the API and one for /metrics, logging JSON
    let mut server = Supervised::spawn(
        support::command(&[("PORT", "0"), ("METRICS_PORT", "0"), ("LOG_FORMAT", "json")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    )
    .expect("k8s-server starts");

    // WHEN it logs that it listens
    let stdout = BufReader::new(server.take_stdout().expect("piped stdout"));
    let line = stdout
        .lines()
        .map(|line| line.expect("a log line"))
        .find(|line| line.contains(r#""message":"listening""#))
        .expect("a `listening` line before the log ends");
    let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    let port = |field: &str| -> SocketAddr {
        let logged: SocketAddr = entry[field]
            .as_str()
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("no {field} address in {line}"));
        SocketAddr::from((Ipv4Addr::LOCALHOST, logged.port()))
    };
    let (api, metrics) = (port("address"), port("metrics_address"));

    // THEN the API port answers the probes and the metrics port /metrics, each only its own
    let get = |addr, path| try_send_blocking(addr, "GET", path, &[]).unwrap().status;
    assert_ne!(api, metrics);
    assert_eq!(
        [get(api, "/healthz"), get(metrics, "/metrics")],
        [200, 200],
        "{line}"
    );
    assert_eq!(
        [get(api, "/metrics"), get(metrics, "/healthz")],
        [404, 404],
        "{line}"
    );
}

#[test]
fn sigterm_and_sigint_stop_the_server_cleanly() {
    for signal in [Signal::TERM, Signal::INT] {
        let mut server = Server::start(&[]);

        server.signal(signal);

        assert_eq!(
            server.wait(Duration::from_secs(5)),
            Some(0),
            "after {signal:?}"
        );
    }
}

#[test]
fn a_store_outage_is_a_503_and_its_log_line_carries_the_request_id() {
    // GIVEN the server on DynamoDB at an endpoint that is down, logging JSON
    let down = format!("http://127.0.0.1:{}", support::free_port());
    let mut server = Server::start_logging(&[
        ("USER_STORE", "dynamodb"),
        ("AWS_ENDPOINT_URL_DYNAMODB", &down),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("STORE_TIMEOUT_MS", "300"),
        ("LOG_FORMAT", "json"),
    ]);

    // WHEN a caller asks for a user, naming its request id
    let reply = server.get_with("/users/u-1", &[("x-request-id", "outage-req-42")]);
    let log = server.stop_and_read_log();

    // THEN it gets a 503 that names nothing internal, echoing its id
    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(
        reply.error_code().as_deref(),
        Some("STORE_UNAVAILABLE"),
        "{reply:?}"
    );
    assert_eq!(reply.header("x-request-id"), Some("outage-req-42"));
    assert!(
        !reply.body.contains("127.0.0.1") && !reply.body.contains("Users"),
        "{reply:?}"
    );
    // AND the warning about the outage is one JSON log line with that request id and the detail
    let (line, entry) = json_log_line(&log, "user store unavailable");
    assert_eq!(entry["level"], "WARN");
    assert!(line.contains("outage-req-42"), "{line}");
    assert!(line.contains("GetItem on table Users"), "{line}");
    // AND the 5xx itself is an error line of the same request, as tower-http's trace layer writes it
    let (_, entry) = json_log_line(&log, "response failed");
    assert_eq!(entry["level"], "ERROR");
    assert_eq!(entry["target"], "tower_http::trace::on_failure");
    assert_eq!(
        entry["classification"],
        "Status code: 503 Service Unavailable"
    );
    assert_eq!(entry["spans"][0]["request_id"], "outage-req-42");
}

/// The first line of a JSON `log` that contains `needle`, and that line parsed.
fn json_log_line<'a>(log: &'a str, needle: &str) -> (&'a str, serde_json::Value) {
    let line = log
        .lines()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in the log:\n{log}"));
    (line, serde_json::from_str(line).expect("a JSON log line"))
}

/// Clients opening a fresh connection per request at once (as load balancers' health checks and
/// many clients do): enough to keep the listener's accept queue busy, far below its length (1024).
const CONNECTORS: usize = 64;

#[test]
fn on_sigterm_under_load_without_delay_no_request_whose_connection_was_made_is_lost() {
    shutdown_under_load(Duration::ZERO);
}

#[test]
fn on_sigterm_under_load_readiness_turns_first_and_no_request_whose_connection_was_made_is_lost() {
    shutdown_under_load(Duration::from_millis(1000));
}

/// SIGTERM to the server with `SHUTDOWN_DELAY_MS` = `delay` while [`CONNECTORS`] clients each send
/// one request per connection: every request whose connection was established (its `connect()`
/// returned, so the kernel had accepted it: a closed listener refuses) gets its full answer.
fn shutdown_under_load(delay: Duration) {
    // GIVEN the server with that delay, under load, and a kept-alive connection it has answered
    let delay_ms = delay.as_millis().to_string();
    let mut server = Server::start(&[("SHUTDOWN_DELAY_MS", &delay_ms)]);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the load");
    let send = |connection: &mut Connection| {
        runtime
            .block_on(connection.send("GET", "/users/u-1", &[], Default::default()))
            .expect("an answer")
    };
    let mut kept_alive = runtime
        .block_on(Connection::open(server.addr()))
        .expect("a connection");
    let before = send(&mut kept_alive);
    assert!(!before.closes, "{before:?}");
    let load = {
        let _load_runs_here = runtime.enter();
        Load::start(server.addr(), CONNECTORS, "/users/u-1")
    };
    std::thread::sleep(Duration::from_millis(500));

    // WHEN SIGTERM arrives
    let signalled = load.elapsed();
    server.signal(Signal::TERM);

    // THEN during the delay /readyz answers 503 while lookups are still served, each answer
    // closing its connection, the kept-alive one's as a new one's
    if !delay.is_zero() {
        let readyz = std::iter::repeat_with(|| server.try_get("/readyz").map(|reply| reply.status))
            .find(|status| *status != Some(200))
            .flatten();
        assert_eq!(readyz, Some(503), "/readyz before the listener closed");
        let on_kept_alive = send(&mut kept_alive);
        let mut new = runtime
            .block_on(Connection::open(server.addr()))
            .expect("a connection during the delay");
        let on_new = send(&mut new);
        for answer in [&on_kept_alive, &on_new] {
            assert_eq!(answer.reply.status, 200, "{answer:?}");
            assert!(answer.closes, "{answer:?}");
        }
        assert!(runtime.block_on(kept_alive.is_closed()));
    }
    // AND the process exits 0
    let code = server.wait(Duration::from_secs(10));
    let samples = runtime.block_on(load.finish());
    assert_eq!(code, Some(0));
    // AND every request whose connection was made got its full answer; the others were refused
    let connected: Vec<&Sample> = samples.iter().filter(|sample| sample.connected()).collect();
    let lost: Vec<&Sample> = connected
        .iter()
        .copied()
        .filter(|sample| {
            !matches!(&sample.reply, Ok(reply) if reply.status == 200 && reply.body.contains("Ada Lovelace"))
        })
        .collect();
    let after_signal = connected
        .iter()
        .filter(|sample| sample.sent >= signalled)
        .count();
    let refused = samples.len() - connected.len();
    println!(
        "shutdown under load, SHUTDOWN_DELAY_MS={delay_ms}: {} requests connected ({after_signal} sent after SIGTERM), {} lost, {refused} refused",
        connected.len(),
        lost.len()
    );
    let first_lost: Vec<_> = lost.iter().take(5).map(|sample| &sample.reply).collect();
    assert!(
        lost.is_empty(),
        "{} of {} connected requests lost, e.g. {first_lost:?}",
        lost.len(),
        connected.len()
    );
    assert!(refused > 0, "the load should outlast the listener");
}

#[test]
fn metrics_count_requests_by_route_and_status_and_store_lookups_by_outcome() {
    // GIVEN a fresh server that answered one found and one unknown user, and one unknown path
    let server = Server::start(&[]);
    server.get("/users/u-1");
    server.get("/users/nope");
    server.get("/nope");

    // WHEN Prometheus scrapes the metrics port, and a caller asks the public port for /metrics
    let scrape = server.scrape("/metrics");
    let public = server.get_with("/metrics", &[]);

    // THEN the public port has no such route: the contract's JSON 404
    assert_eq!(public.status, 404, "{public:?}");
    assert_eq!(
        public.error_code().as_deref(),
        Some("NOT_FOUND"),
        "{public:?}"
    );
    // AND the metrics port answers in the Prometheus text format, with the contract's request id
    assert_eq!(
        scrape.header("content-type"),
        Some("text/plain; version=0.0.4"),
        "{scrape:?}"
    );
    assert!(scrape.header("x-request-id").is_some(), "{scrape:?}");
    let (status, metrics) = (scrape.status, scrape.body);
    // THEN each request is counted under its route template and status, and each lookup by outcome
    assert_eq!(status, 200);
    let series = |name: &str, labels: &[&str]| {
        metrics
            .lines()
            .find(|line| line.starts_with(name) && labels.iter().all(|label| line.contains(label)))
            .map(|line| line.rsplit(' ').next().unwrap().to_owned())
    };
    let users = r#"route="/users/{id}""#;
    assert_eq!(
        series("http_requests_total", &[users, r#"status="200""#]).as_deref(),
        Some("1"),
        "{metrics}"
    );
    assert_eq!(
        series("http_requests_total", &[users, r#"status="404""#]).as_deref(),
        Some("1"),
        "{metrics}"
    );
    assert_eq!(
        series(
            "http_requests_total",
            &[r#"route="unmatched""#, r#"status="404""#]
        )
        .as_deref(),
        Some("1"),
        "{metrics}"
    );
    assert_eq!(
        series("user_store_lookups_total", &[r#"outcome="found""#]).as_deref(),
        Some("1"),
        "{metrics}"
    );
    assert_eq!(
        series("user_store_lookups_total", &[r#"outcome="not_found""#]).as_deref(),
        Some("1"),
        "{metrics}"
    );
    assert!(
        series(
            "http_request_duration_seconds_bucket",
            &[users, r#"le="0.001""#]
        )
        .is_some(),
        "{metrics}"
    );
    assert!(
        !metrics.contains("nope"),
        "a caller's path must not become a label"
    );
}

#[test]
fn an_oversized_request_head_is_refused_with_431_and_the_server_keeps_serving() {
    let server = Server::start(&[]);
    let padding = "p".repeat(20 * 1024);
    let names: Vec<String> = (0..100).map(|i| format!("x-h{i}")).collect();
    let many: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "v")).collect();

    let huge_status = server
        .get_with("/users/u-1", &[("x-padding", &padding)])
        .status;
    let many_status = server.get_with("/users/u-1", &many).status;
    let (after, _) = server.get("/users/u-1");

    println!("oversized heads: a 20 KiB header -> {huge_status}, 100 headers -> {many_status}");
    assert_eq!((huge_status, many_status, after), (431, 431, 200));
}

#[test]
fn a_client_that_shuts_its_sending_side_after_its_request_is_still_answered() {
    use std::io::{Read, Write};
    // GIVEN the server with its default limits
    let server = Server::start(&[]);

    // WHEN a client sends a request and at once shuts down its side of the connection for
    // writing (as `nc -N` and some proxies do), then reads
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /users/u-1 HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);

    // THEN it gets its answer (the half-closed connection is closed after it)
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    assert!(response.ends_with("}}"), "{response:?}");
}

#[test]
fn a_kept_alive_connection_costs_at_most_15_kib_of_resident_memory_after_others_came_and_went() {
    // GIVEN the server, after 1,500 connections were each answered three times and closed (their
    // memory freed for reuse)
    const CONNECTIONS: u64 = 1_500;
    let server = Server::start(&[("MAX_CONNECTIONS", "4096")]);
    let started = server.rss_kib();
    let open = || -> Vec<std::net::TcpStream> {
        // Each asks at once (a connection gets 10 s for its first request head), then twice more.
        let mut streams: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
                ask(&mut stream);
                stream
            })
            .collect();
        for _ in 0..2 {
            streams.iter_mut().for_each(ask);
        }
        streams
    };
    drop(open());
    std::thread::sleep(Duration::from_secs(1));

    // WHEN 1,500 clients each connect, are answered three times and keep their connection open
    let kept = open();
    let now = server.rss_kib();

    // THEN each open connection costs at most 15 KiB of resident memory over the server's own at
    // start (hyper's two 8 KiB buffers are resident only where written)
    let each = now.saturating_sub(started) as f64 / CONNECTIONS as f64;
    println!("{CONNECTIONS} kept-alive connections: {started} -> {now} KiB, {each:.1} KiB each");
    assert!(each <= 15.0, "{each:.1} KiB per connection");
    drop(kept);
}

/// The deployment's memory limit (`deploy/k8s/base/deployment.yaml`: `limits.memory: 64Mi`).
const DEPLOYMENT_MEMORY_LIMIT: u64 = 64 * 1024 * 1024;

/// The value of the Prometheus sample `series` (name and labels, as rendered) in `metrics`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[test]
fn a_connection_flood_beyond_the_cap_neither_kills_the_server_nor_keeps_a_caller_out() {
    // GIVEN the server with its default connection cap (1,024), inside a memory cgroup with the
    // deployment's 64 MiB limit
    let group = MemoryGroup::create("k8s-server-flood-sec-edge", DEPLOYMENT_MEMORY_LIMIT)
        .unwrap_or_else(|err| panic!("{err}"));
    let server = Server::start_in(&group, &[]);

    // WHEN 1,600 clients each open a connection and send 15.6 KiB of a request head without ever
    // finishing it, connecting again whenever closed (at most 30 s): more than the cap, with the
    // rest in the kernel's queue (1,024). A flood that also fills that queue leaves a caller's
    // SYN nowhere to wait (the kernel drops it and the caller retries after 1, 3, 7 s...): the
    // cap protects the pod's memory, the queue's room decides how long a caller waits.
    let head = format!(
        "GET /users/u-1 HTTP/1.1\r\nHost: flood\r\nX-Padding: {}",
        "p".repeat(16_000)
    );
    let flood = Flood::start(
        server.addr(),
        1_600,
        head.into_bytes(),
        Duration::from_secs(30),
    );
    let started = Instant::now();
    let metrics = loop {
        assert!(
            server.is_running(),
            "k8s-server died under the flood (OOM kills in its cgroup: {})",
            group.oom_kills()
        );
        let metrics = try_send_blocking(server.metrics_addr(), "GET", "/metrics", &[])
            .map(|reply| reply.body)
            .unwrap_or_default();
        let waits = sample(
            &metrics,
            r#"http_connection_cap_waits_total{listener="api"}"#,
        );
        if waits.is_some_and(|waits| waits > 0.0) {
            break metrics;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the cap was not reached within 15 s of the flood: {metrics}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // AND, the cap reached, a caller asks for a user
    let asked = Instant::now();
    let reply = try_send_blocking(server.addr(), "GET", "/users/u-1", &[]);
    let waited = asked.elapsed();
    let after = try_send_blocking(server.metrics_addr(), "GET", "/metrics", &[])
        .map(|reply| reply.body)
        .unwrap_or_default();
    let connected = flood.counts().connected.load(Ordering::Relaxed);
    flood.stop();

    // THEN the caller is answered well before any flood connection's own 10 s header timeout
    // would free a slot: the connections that sent no whole head gave their slots up
    println!(
        "flood: {connected} connections made, the caller answered in {waited:?}, peak memory {} MiB",
        group.peak_bytes() / (1024 * 1024)
    );
    let reply = reply.unwrap_or_else(|err| panic!("the caller got no answer: {err}"));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        waited < Duration::from_secs(8),
        "the caller waited {waited:?}"
    );
    // AND the process was never OOM-killed, its open connections stayed within the cap, and the
    // refusals are on /metrics
    assert!(server.is_running());
    assert_eq!(group.oom_kills(), 0);
    let open = sample(&metrics, r#"http_connections_open{listener="api"}"#);
    assert!(
        open.is_some_and(|open| (1.0..=1024.0).contains(&open)),
        "{metrics}"
    );
    assert!(
        sample(
            &after,
            r#"http_connections_crowded_out_total{listener="api"}"#
        )
        .is_some_and(|closed| closed > 0.0),
        "{after}"
    );
}

/// The server with `AUTH=jwt` against the provider whose JWKS is at `jwks_url`, and `extra`.
fn protected_server(jwks_url: &str, extra: &[(&str, &str)]) -> Server {
    let settings = auth::settings(jwks_url);
    let mut vars: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend_from_slice(extra);
    Server::start(&vars)
}

fn get_with_token(server: &Server, token: &str) -> Reply {
    server.get_with(
        "/users/u-1",
        &[("authorization", &format!("Bearer {token}"))],
    )
}

#[test]
fn a_key_published_after_the_keys_were_fetched_is_taken_and_a_provider_gone_down_changes_nothing() {
    // GIVEN the server with AUTH=jwt, the key set fetched again at most every second, and its
    // provider (served by this test on loopback) publishing one RSA key
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let idp = runtime.block_on(JwksServer::start(&[shared_rsa()]));
    let server = protected_server(&idp.url(), &[("JWKS_REFETCH_INTERVAL_SECS", "1")]);
    assert_eq!(idp.fetches(), 0, "no fetch at start-up");
    let before = get_with_token(&server, &shared_rsa().sign(&claims()));
    assert_eq!(idp.fetches(), 1);

    // WHEN the provider rotates in a new EC key, and a token signed with it comes after the
    // refetch interval
    let rotated = SigningKey::ec("ec-rotated");
    idp.publish(&rotated);
    std::thread::sleep(Duration::from_millis(1100));
    let with_rotated_key = get_with_token(&server, &rotated.sign(&claims()));
    let fetches = idp.fetches();

    // AND then the provider goes down, and fresh tokens come after the refetch interval
    runtime.block_on(idp.stop());
    std::thread::sleep(Duration::from_millis(1100));
    let old_key_after = get_with_token(&server, &shared_rsa().sign(&claims()));
    let new_key_after = get_with_token(&server, &rotated.sign(&claims()));
    let unknown_key_after = get_with_token(&server, &SigningKey::ec("random").sign(&claims()));

    // THEN the rotated key was fetched on its first token and is accepted
    assert_eq!(before.status, 200, "{before:?}");
    assert_eq!(with_rotated_key.status, 200, "{with_rotated_key:?}");
    assert_eq!(fetches, 2, "the unknown kid caused one fetch");
    // AND with the provider down both held keys still verify; an unknown kid is the token's fault
    assert_eq!(old_key_after.status, 200, "{old_key_after:?}");
    assert_eq!(new_key_after.status, 200, "{new_key_after:?}");
    assert_eq!(unknown_key_after.status, 401, "{unknown_key_after:?}");
    assert_eq!(
        unknown_key_after.header("www-authenticate"),
        auth::INVALID,
        "{unknown_key_after:?}"
    );
}

#[test]
fn plain_http_to_the_provider_beyond_loopback_starts_only_when_allowed_and_then_warns() {
    // GIVEN the server with AUTH=jwt, its JWKS on plain http to another host, allowed explicitly
    let mut server = Server::start_logging(&[
        ("AUTH", "jwt"),
        ("JWT_ISSUER", "https://idp.test/"),
        ("JWT_AUDIENCE", "users-api"),
        ("JWKS_URL", "http://idp.test/jwks"),
        ("JWKS_ALLOW_INSECURE_HTTP", "true"),
    ]);

    // WHEN it has started
    let log = server.stop_and_read_log();

    // THEN its log warns, once, naming the URL and the variable that allowed it
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("JWKS_ALLOW_INSECURE_HTTP"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("WARN"), "{log}");
    assert!(warnings[0].contains("http://idp.test/jwks"), "{log}");
}

#[test]
fn a_provider_never_reached_is_a_503_auth_unavailable_with_retry_after() {
    // GIVEN the server with AUTH=jwt and a JWKS URL on which nothing listens
    let server = protected_server(&unreachable_url(), &[]);

    // WHEN a caller presents a well-signed token
    let reply = get_with_token(&server, &shared_rsa().sign(&claims()));

    // THEN it is told to come back, not that its token is bad
    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(reply.error_code().as_deref(), Some("AUTH_UNAVAILABLE"));
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.header("www-authenticate"), None);
}

/// Seconds from `since` until the server closes `stream`, which sends `trickle` one byte a second
/// (nothing once it is sent); `None` if still open after 20 s.
fn closed_after(mut stream: std::net::TcpStream, since: Instant, trickle: &[u8]) -> Option<f64> {
    use std::io::{Read, Write};
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut trickle = trickle.iter();
    let mut buffer = [0u8; 4096];
    while since.elapsed() < Duration::from_secs(20) {
        if let Some(byte) = trickle.next() {
            // A write to a connection the server closed may fail: that is the close.
            if stream.write_all(&[*byte]).is_err() {
                return Some(since.elapsed().as_secs_f64());
            }
        }
        match stream.read(&mut buffer) {
            Ok(0) => return Some(since.elapsed().as_secs_f64()),
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Some(since.elapsed().as_secs_f64()),
        }
    }
    None
}

/// One request on `stream`, its response read whole (the sample user's JSON ends with `}}`).
fn ask(stream: &mut std::net::TcpStream) {
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /users/u-1 HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    while !response.ends_with(b"}}") {
        let read = stream.read(&mut buffer).expect("a response");
        assert!(read > 0, "closed before the response");
        response.extend_from_slice(&buffer[..read]);
    }
    assert!(response.starts_with(b"HTTP/1.1 200"), "{response:?}");
}

#[test]
fn a_connection_gets_10_s_for_each_request_head_from_its_start_and_after_each_response() {
    // GIVEN the server with its default limits
    let server = Server::start(&[]);
    let connect = || std::net::TcpStream::connect(server.addr()).unwrap();
    let trickled = b"GET /users/u-1 HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    let (silent, trickling, kept_alive) = std::thread::scope(|scope| {
        // WHEN one client connects and sends nothing
        let silent = scope.spawn(|| closed_after(connect(), Instant::now(), b""));
        // AND one trickles a request head, a byte a second, from its start
        let trickling = scope.spawn(|| closed_after(connect(), Instant::now(), trickled));
        // AND one asks at once, again after 6 s (kept alive), then trickles its third head
        let kept_alive = scope.spawn(|| {
            let mut stream = connect();
            ask(&mut stream);
            std::thread::sleep(Duration::from_secs(6));
            ask(&mut stream);
            closed_after(stream, Instant::now(), trickled)
        });
        (
            silent.join().unwrap(),
            trickling.join().unwrap(),
            kept_alive.join().unwrap(),
        )
    });

    // THEN each is closed 10 s after its head began to be awaited: from the connection's start,
    // or from the last response (not from the connection's start: the kept-alive one was answered
    // twice and got 10 s for its third head)
    for (what, closed) in [
        ("silent", silent),
        ("trickling", trickling),
        ("kept alive, after its second response", kept_alive),
    ] {
        let closed = closed.unwrap_or_else(|| panic!("{what}: still open after 20 s"));
        assert!(
            (9.5..12.5).contains(&closed),
            "{what}: closed after {closed:.1} s"
        );
    }
}
