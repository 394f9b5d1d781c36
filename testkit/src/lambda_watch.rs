//! `lambda-fn` under `cargo lambda watch`: cargo-lambda's local Lambda emulator (the Lambda runtime API
//! and the function URL), with the real `lambda_http` runtime loop in a real `lambda-fn` process.
//!
//! What `cargo lambda watch` 1.9.2 does, as found out for this helper:
//! - Run in the workspace root, it serves `http://ADDR/lambda-url/<function>/<path>` and starts the
//!   binary named `<function>` with `cargo run --bin <function>` (a debug build) on the first request
//!   to it; that request waits for the build.
//! - The function inherits the watch process's environment, so the settings given to
//!   [`LambdaWatch::start`] are set there (after the service's own settings and the AWS SDK's are
//!   removed, so that nothing from the caller's shell leaks in, and what cargo set for this process,
//!   see [`crate::cargo_env`]).
//! - It restarts the function when sources change; `--ignore-changes` turns that off, since others may
//!   edit the tree during a test. A function that exits is not restarted and requests to it hang, so
//!   the log is watched for that. A cold start is therefore the first request to a fresh watch
//!   ([`LambdaWatch::cold_start`]).
//! - Its default CORS layer adds headers and answers preflights itself; `--disable-cors` leaves CORS to
//!   the function, which is what is under test.
//! - The invocation deadline it sends (`Lambda-Runtime-Deadline-Ms`) is the timeout (600000), not a
//!   time since the epoch as Lambda sends: to the function every invocation is already past its
//!   deadline. `import-fn`, which stops at its deadline, is therefore driven through its handler
//!   with a real deadline (`crate::import::invoke`), not under the watch.
//! - The function runs in a session of its own: signalling the watch's process group does not reach it.
//!   On SIGTERM cargo-lambda stops it; a function whose emulator is gone exits at its next poll. Drop
//!   also kills whatever of the watch's descendants is left.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cargo_env;
use crate::http::{try_send, try_send_body};
use crate::paths::{target_dir, workspace_root};
use crate::ports::free_port;
use crate::process::{self, Signal, Supervised};
use crate::procfs;
use crate::reply::Reply;

/// The function: the binary `cargo lambda watch` runs, and the name in the function URL.
pub const FUNCTION: &str = "lambda-fn";

/// How long the first request may take: it waits for a debug build of `lambda-fn`.
const BUILD_LIMIT: Duration = Duration::from_secs(600);
/// How long any later request may take.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);
/// How long the emulator has to stop its function after SIGTERM before everything left is killed.
const STOP_LIMIT: Duration = Duration::from_secs(10);
/// How often the warm-up looks for the function process (the resolution of [`LambdaWatch::cold_start`]).
const POLL: Duration = Duration::from_millis(5);

/// The AWS SDK's settings: removed, with the service's own (`app_core::config::vars::ALL`,
/// `k8s_server::vars::ALL`), from the environment the function inherits.
const AWS_SETTINGS: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// A running `cargo lambda watch` on `127.0.0.1`, warmed up; stopped (with its function) when dropped.
pub struct LambdaWatch {
    addr: SocketAddr,
    log: PathBuf,
    /// The `cargo-lambda` process, which stops when this process ends, however it ends.
    watch: Supervised,
    first_reply: Duration,
    cold_start: Option<Duration>,
}

impl LambdaWatch {
    /// Starts `cargo lambda watch` on a free port with `envs` for the function, and waits until the
    /// function has answered a first request (which builds it if needed: up to 10 minutes).
    ///
    /// Panics if cargo-lambda is not installed (never skips): `cargo xtask test` installs it.
    pub async fn start(envs: &[(&str, &str)]) -> LambdaWatch {
        let mut watch = Self::spawn(envs);
        watch.warm_up().await;
        watch
    }

    /// How long the first request took: the build (if `lambda-fn` was not up to date), `cargo run`'s
    /// up-to-date check, the function's start-up and its first invocation.
    pub fn first_reply(&self) -> Duration {
        self.first_reply
    }

    /// The function's cold start: from the moment its process runs `lambda-fn` (after the build and
    /// `cargo run`'s exec; seen within a few milliseconds) to its first reply, through the emulator.
    pub fn cold_start(&self) -> Option<Duration> {
        self.cold_start
    }

    /// The emulator's output (and the function's), for failure messages.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The `lambda-fn` process the emulator runs, once started.
    pub fn function_pid(&self) -> Option<u32> {
        procfs::descendants(self.watch.pid())
            .into_iter()
            .find(|p| p.comm == FUNCTION && p.state != 'Z')
            .map(|p| p.pid)
    }

    /// Sends `method path_and_query` with `headers` to the function URL and reads the whole reply.
    pub async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = self.url(path_and_query);
        match tokio::time::timeout(REQUEST_LIMIT, try_send(self.addr, method, &url, headers)).await
        {
            Ok(Ok(reply)) => reply,
            Ok(Err(err)) => {
                self.check_running();
                panic!("{method} {url}: {err}; see {}", self.log.display())
            }
            Err(_) => {
                self.check_running();
                panic!(
                    "{method} {url}: no reply within {REQUEST_LIMIT:?}; see {}",
                    self.log.display()
                )
            }
        }
    }

    /// Invokes the function directly with `payload` as the event (the emulator's Invoke API, as
    /// `aws lambda invoke` would), whatever it holds: the status and body of the emulator's answer.
    pub async fn invoke_raw(&self, payload: &str) -> Reply {
        let url = format!("/2015-03-31/functions/{FUNCTION}/invocations");
        let headers = [("content-type", "application/json")];
        let answer = try_send_body(self.addr, "POST", &url, &headers, payload.to_owned().into());
        match tokio::time::timeout(REQUEST_LIMIT, answer).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(err)) => panic!("invoke: {err}; see {}", self.log.display()),
            Err(_) => panic!(
                "invoke: no answer within {REQUEST_LIMIT:?}; see {}",
                self.log.display()
            ),
        }
    }

    /// `/lambda-url/lambda-fn` + `path_and_query`: the emulator removes the prefix before the function
    /// sees the path.
    fn url(&self, path_and_query: &str) -> String {
        format!("/lambda-url/{FUNCTION}{path_and_query}")
    }

    fn spawn(envs: &[(&str, &str)]) -> LambdaWatch {
        let cargo_lambda = cargo_lambda();
        let port = free_port();
        let dir = target_dir().join("lambda-watch");
        std::fs::create_dir_all(&dir).expect("target/lambda-watch can be created");
        let log = dir.join(format!("watch-{port}.log"));
        let mut command = Command::new(&cargo_lambda);
        command
            .args(["lambda", "watch", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .args(["--ignore-changes", "--disable-cors"])
            .current_dir(workspace_root())
            .env("PATH", path_with(cargo_lambda.parent()));
        cargo_env::remove_inherited(&mut command);
        let service_vars = app_core::config::vars::ALL
            .iter()
            .chain(k8s_server::vars::ALL);
        for var in service_vars.chain(AWS_SETTINGS) {
            command.env_remove(var);
        }
        command.envs(envs.iter().copied());
        let watch = Supervised::spawn_logged(&mut command, &log)
            .expect("cargo lambda watch can be started");
        LambdaWatch {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            log,
            watch,
            first_reply: Duration::ZERO,
            cold_start: None,
        }
    }

    /// Sends `GET /` until the function answers it (a 404 from the contract), printing progress while
    /// the function builds.
    async fn warm_up(&mut self) {
        let started = Instant::now();
        eprintln!(
            "lambda-watch: cargo lambda watch on {} (log: {}); the first request builds {FUNCTION} if needed",
            self.addr,
            self.log.display()
        );
        let url = self.url("/");
        let mut reported = 0;
        let mut checked = Instant::now();
        let mut function_started = None;
        loop {
            let sent = Instant::now();
            let request = try_send(self.addr, "GET", &url, &[]);
            tokio::pin!(request);
            let outcome = loop {
                tokio::select! {
                    outcome = &mut request => break outcome,
                    () = tokio::time::sleep(POLL) => {}
                }
                if function_started.is_none() && self.function_child().is_some() {
                    function_started = Some(Instant::now());
                }
                if checked.elapsed() < Duration::from_secs(1) {
                    continue;
                }
                checked = Instant::now();
                self.check_running();
                let waited = started.elapsed();
                assert!(
                    waited < BUILD_LIMIT,
                    "{FUNCTION} did not answer within {BUILD_LIMIT:?}; see {}",
                    self.log.display()
                );
                if waited.as_secs() / 15 > reported {
                    reported = waited.as_secs() / 15;
                    eprintln!(
                        "lambda-watch: waiting for the first reply ({}s): {}",
                        waited.as_secs(),
                        self.log_tail(1)
                    );
                }
            };
            match outcome {
                Ok(reply) => {
                    self.first_reply = sent.elapsed();
                    self.cold_start = function_started.map(|started| started.elapsed());
                    assert!(
                        reply.header("x-request-id").is_some(),
                        "the first reply did not come from {FUNCTION}: {reply:?}; see {}",
                        self.log.display()
                    );
                    eprintln!(
                        "lambda-watch: {FUNCTION} answered after {:.1}s",
                        started.elapsed().as_secs_f64()
                    );
                    return;
                }
                // The emulator is not listening yet.
                Err(err)
                    if err.starts_with(crate::http::CONNECT_FAILED)
                        && started.elapsed() < REQUEST_LIMIT =>
                {
                    self.check_running();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => panic!(
                    "cargo lambda watch on {}: {err}; see {}",
                    self.addr,
                    self.log.display()
                ),
            }
        }
    }

    /// The function process, if cargo-lambda's child runs `lambda-fn` by now (it is `cargo run` first).
    fn function_child(&self) -> Option<u32> {
        procfs::children(self.watch.pid())
            .into_iter()
            .find(|pid| procfs::stat(*pid).is_some_and(|p| p.comm == FUNCTION))
    }

    /// Panics (with the end of the log) if the emulator or its function has exited.
    fn check_running(&self) {
        let problem = if !self.watch.is_running() {
            "cargo lambda watch exited"
        } else if std::fs::read_to_string(&self.log).is_ok_and(|log| log.contains("ERROR command"))
        {
            // cargo-lambda's line when `cargo run` (the build or the function) ends.
            "lambda-fn exited (a failed build or start-up)"
        } else {
            return;
        };
        panic!(
            "{problem}; see {}:\n{}",
            self.log.display(),
            self.log_tail(30)
        );
    }

    fn log_tail(&self, lines: usize) -> String {
        process::log_tail(&self.log, lines)
    }
}

impl Drop for LambdaWatch {
    /// Stops cargo-lambda (on SIGTERM it stops its function), then kills whatever of its descendants is
    /// left: they run in sessions of their own.
    fn drop(&mut self) {
        let family = procfs::descendants(self.watch.pid());
        self.watch.stop(STOP_LIMIT);
        let own_group = procfs::stat(std::process::id()).map(|p| p.pgid);
        for member in family.iter().filter(|p| procfs::is_running(p.pid)) {
            if Some(member.pgid) != own_group {
                process::signal_group(member.pgid, Signal::KILL);
            }
            process::signal_process(member.pid, Signal::KILL);
        }
    }
}

/// The virtual environment `tools/python/install cargo-lambda` fills from
/// `tools/python/cargo-lambda.txt` (the pinned release).
pub fn venv_dir() -> PathBuf {
    target_dir().join("ci-venv/cargo-lambda")
}

/// cargo-lambda: `$CARGO_LAMBDA`, else the one in [`venv_dir`]. Panics if it is missing.
pub fn cargo_lambda() -> PathBuf {
    let path = match std::env::var_os("CARGO_LAMBDA") {
        Some(path) => PathBuf::from(path),
        None => venv_dir().join("bin/cargo-lambda"),
    };
    assert!(
        path.is_file(),
        "cargo-lambda is not installed at {}: run `cargo xtask test` (installs it there), or \
         `bash tools/python/install cargo-lambda`, or set CARGO_LAMBDA to its path",
        path.display(),
    );
    path
}

/// `$PATH` with `dir` in front (cargo-lambda finds its bundled zig next to itself).
fn path_with(dir: Option<&Path>) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let dirs = dir
        .map(Path::to_path_buf)
        .into_iter()
        .chain(std::env::split_paths(&rest));
    std::env::join_paths(dirs).expect("PATH entries without ':'")
}
