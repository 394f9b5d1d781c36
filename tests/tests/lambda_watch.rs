//! `lambda-fn` end to end under the local Lambda runtime: `cargo lambda watch` runs the real binary (its
//! `lambda_http` loop polling the emulator's runtime API), and every case of the contract table goes to
//! it as a real HTTP request through the emulator's function URL. Each reply must match the server's
//! (in this process, on the same embedded store) and the contract.
//!
//! The first run builds `lambda-fn` (debug) inside the watch, which can take minutes. cargo-lambda must
//! be installed (`cargo xtask test` does it); the test fails, never skips, without it.

use std::collections::HashSet;
use std::sync::Arc;

use app_core::service::UserService;
use app_core::store::memory::MemoryStore;
use testkit::contract::{CASES, NOT_FROM_A_FUNCTION_URL, contract_violations, parity_violation};
use testkit::lambda_watch::LambdaWatch;
use testkit::server::TestServer;

/// The front door's name in failure messages.
const DOOR: &str = "cargo lambda watch";

/// Cases the emulator cannot carry for a reason outside this code, each with the reason; printed on
/// every run, with the ones a Function URL never delivers (`NOT_FROM_A_FUNCTION_URL`: the Host cases).
/// With cargo-lambda 1.9.2 every other case (percent-encoded ids, `%2F`, `%00`, non-UTF-8,
/// invalid escapes, encoded dot segments, query strings, preflight) reaches the function and comes
/// back unchanged.
const EXCLUDED: &[(&str, &str)] = &[(
    "two request ids are replaced (neither is the one)",
    "cargo lambda watch's Function URL keeps one of two same-named headers, where AWS joins them \
     with commas; the parity suite sends the joined form to every Lambda event source",
)];

#[tokio::test]
async fn lambda_fn_under_cargo_lambda_watch_answers_every_case_like_the_server() {
    // GIVEN lambda-fn under cargo lambda watch and the server, both on the embedded sample users
    let watch = LambdaWatch::start(&[("USER_STORE", "memory")]).await;
    let server = TestServer::spawn(UserService::new(Arc::new(MemoryStore::sample()))).await;
    println!(
        "first reply from cargo lambda watch after {:.1}s (function cold start: {:?})",
        watch.first_reply().as_secs_f64(),
        watch.cold_start()
    );

    let mut failures = Vec::new();
    let mut generated_ids = HashSet::new();
    let mut sent = 0;
    for case in CASES {
        if let Some((_, why)) = (EXCLUDED.iter())
            .chain(NOT_FROM_A_FUNCTION_URL)
            .find(|(name, _)| *name == case.name)
        {
            println!("excluded: {}: {why}", case.name);
            continue;
        }
        // WHEN the case is sent to both
        let on_server = server.send(case.method, case.target, case.headers).await;
        let on_lambda = watch.send(case.method, case.target, case.headers).await;
        sent += 1;

        // THEN the function answers as the server does, and as the contract says: the request id is
        // the caller's when sane, else the invocation's (the emulator's, fresh for each request)
        failures.extend(parity_violation(case, &on_server, &on_lambda, DOOR));
        failures.extend(contract_violations(case, &on_lambda, DOOR));
        let kept = case.headers.contains(&("x-request-id", "trace-abc-123"));
        if let Some(id) = on_lambda.header("x-request-id").filter(|_| !kept)
            && !generated_ids.insert(id.to_owned())
        {
            failures.push(format!("{}: {DOOR}: request id {id} reused", case.name));
        }
    }
    println!(
        "{sent} of {} cases sent through cargo lambda watch",
        CASES.len()
    );
    assert!(
        failures.is_empty(),
        "{} problems (log: {}):\n{}",
        failures.len(),
        watch.log_path().display(),
        failures.join("\n")
    );
}

/// Events no front door would send (truncated, of the wrong shape, of no known source): the runtime
/// cannot read them, so no HTTP answer is possible; what matters is that the function reports the
/// invocation as failed and goes on serving, with no panic and no restart.
#[tokio::test]
async fn malformed_and_truncated_events_fail_the_invocation_not_the_function() {
    use testkit::lambda::EventSource;

    let watch = LambdaWatch::start(&[("USER_STORE", "memory")]).await;
    let pid = watch.function_pid();
    let mut payloads: Vec<(String, String)> = EventSource::ALL
        .iter()
        .map(|source| {
            let event = source.event("GET", "/users/u-1", &[]).to_string();
            (
                format!("{} truncated", source.name()),
                event[..event.len() / 2].to_owned(),
            )
        })
        .collect();
    for (name, payload) in [
        ("empty object", "{}"),
        ("an array", "[1, 2, 3]"),
        ("a string", r#""GET /users/u-1""#),
        (
            "ALB event with a number for the method",
            r#"{"requestContext":{"elb":{"targetGroupArn":"arn"}},"httpMethod":5,"path":"/users/u-1"}"#,
        ),
        ("not JSON", "GET /users/u-1 HTTP/1.1"),
    ] {
        payloads.push((name.to_owned(), payload.to_owned()));
    }

    let mut failures = Vec::new();
    for (name, payload) in &payloads {
        let answer = watch.invoke_raw(payload).await;
        // The runtime reports a failed invocation as an error object, never as an HTTP response.
        if answer.body.contains("statusCode") || answer.body.contains("panicked") {
            failures.push(format!("{name}: {} {}", answer.status, answer.body));
        }
    }
    let after = watch.send("GET", "/users/u-1", &[]).await;

    println!(
        "malformed events: {} invocations failed cleanly, {} problems",
        payloads.len() - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(after.status, 200, "the function still answers afterwards");
    assert_eq!(
        watch.function_pid(),
        pid,
        "the function process must not have been restarted"
    );
    let log = std::fs::read_to_string(watch.log_path()).unwrap_or_default();
    assert!(
        !log.contains("panicked"),
        "a panic in the function log: {}",
        watch.log_path().display()
    );
    // Each one was seen and reported as a failed invocation: what is not JSON by the runtime's
    // deserialization, JSON that is no event of a known source by the handler's reading of it.
    let reported = log
        .matches("deserialization into LambdaEvent<T> failed")
        .count()
        + log
            .matches("this function expects a JSON payload from Amazon API Gateway")
            .count();
    assert_eq!(
        reported,
        payloads.len(),
        "failed invocations in {}",
        watch.log_path().display()
    );
}

/// `lambda-fn` registers no extension, so Lambda ends its execution environment without warning:
/// each invocation's metrics (EMF lines) must be in the log by the time it has answered, with no
/// shutdown to flush them.
#[tokio::test]
async fn an_invocations_metrics_are_in_the_log_while_the_function_still_runs() {
    use std::time::{Duration, Instant};
    use testkit::procfs;

    // GIVEN lambda-fn under cargo lambda watch
    let watch = LambdaWatch::start(&[("USER_STORE", "memory")]).await;

    // WHEN it answers a request
    assert_eq!(watch.send("GET", "/users/u-1", &[]).await.status, 200);
    let pid = watch
        .function_pid()
        .expect("cargo lambda watch runs lambda-fn after its first reply");

    // THEN the request's EMF line reaches the log (through cargo lambda watch's pipe) while the
    // function still runs
    let emf_line = |log: &str| {
        log.lines()
            .any(|line| line.contains("\"_aws\"") && line.contains("\"http_requests_total\""))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut log = String::new();
    while Instant::now() < deadline {
        log = std::fs::read_to_string(watch.log_path()).unwrap_or_default();
        if emf_line(&log) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        emf_line(&log),
        "no EMF line for http_requests_total in the log 5 s after the answer; see {}",
        watch.log_path().display()
    );
    assert!(
        procfs::stat(pid).is_some_and(|p| p.state != 'Z'),
        "lambda-fn (pid {pid}) exited after one request; see {}",
        watch.log_path().display()
    );
    assert!(!log.contains("panicked"), "a panic in the function log");
}
