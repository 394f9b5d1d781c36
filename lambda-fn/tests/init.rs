//! The function's init as a process against a local Runtime API: what it does before the first
//! invocation.

use std::process::Command;

use testkit::lambda::EventSource;
use testkit::ports::free_port;
use testkit::runtime_api::run_function;

/// Starts the function pointed at a DynamoDB endpoint where nothing listens, with `extra`
/// variables, gives it one invocation, and returns its answer (the response event) and its output.
fn start_against_no_store(extra: &[(&str, &str)]) -> (serde_json::Value, String) {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_lambda-fn"));
    command.env_clear().envs([
        ("USER_STORE", "dynamodb"),
        ("USERS_TABLE", "Users"),
        ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("STORE_TIMEOUT_MS", "300"),
        ("AWS_LAMBDA_FUNCTION_NAME", "user-lookup"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ]);
    command.envs(extra.iter().copied());
    let event = EventSource::HttpApiDefault.event("GET", "/users/u-1", &[]);
    let log = std::env::temp_dir().join(format!(
        "lambda-fn-init-{}-{}.log",
        std::process::id(),
        extra.len()
    ));
    let run = run_function(&mut command, &log, &serde_json::to_vec(&event).unwrap(), 0).unwrap();
    let output = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).ok();
    (serde_json::from_str(&run.first_response).unwrap(), output)
}

const NOT_REACHABLE_AT_START_UP: &str = "user store not reachable at start-up";

#[test]
fn a_store_unreachable_during_init_is_one_warning_and_init_goes_on() {
    // GIVEN the function told to connect during init, pointed at a DynamoDB endpoint where nothing
    // listens
    // WHEN it starts and gets one invocation
    let (answer, output) = start_against_no_store(&[("STORE_CONNECT_AT_INIT", "true")]);

    // THEN init ended (the invocation is answered: the store is unavailable) after one warning
    assert_eq!(answer["statusCode"], 503, "{answer}");
    assert_eq!(
        output.matches(NOT_REACHABLE_AT_START_UP).count(),
        1,
        "{output}"
    );
}

#[test]
fn by_default_the_function_leaves_the_store_to_the_first_lookup() {
    // GIVEN the function with STORE_CONNECT_AT_INIT unset, and no store
    // WHEN it starts and gets one invocation
    let (answer, output) = start_against_no_store(&[]);

    // THEN init tried no connection (no warning); the lookup found the store unavailable
    assert_eq!(answer["statusCode"], 503, "{answer}");
    assert_eq!(
        output.matches(NOT_REACHABLE_AT_START_UP).count(),
        0,
        "{output}"
    );
}
