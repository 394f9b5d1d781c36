//! Runs the real `k8s-server` binary as a child process with a chosen environment, and talks to it
//! over HTTP/1.1 with the test kit's client.

#![allow(dead_code)] // each test file uses part of this

pub mod manifests;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use testkit::cgroup::MemoryGroup;
use testkit::http::try_send_blocking;
pub use testkit::ports::free_port;
use testkit::process::{Signal, Supervised};
use testkit::reply::Reply;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_k8s-server");

/// A running `k8s-server`; stopped (with SIGKILL) when dropped, also if this process dies first.
pub struct Server {
    process: Supervised,
    pub port: u16,
    /// Where `/metrics` is served.
    pub metrics_port: u16,
}

/// The binary with an empty environment plus `vars` (so nothing from the caller's shell leaks in).
pub fn command(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.env_clear().envs(vars.iter().copied());
    command
}

/// Runs the binary to completion (for start-up failures). A binary still running after 30 s
/// accepted what it should have refused: it is killed and the test fails, instead of hanging.
pub fn run_to_exit(vars: &[(&str, &str)]) -> Output {
    let mut child = command(vars)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("k8s-server runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child
        .try_wait()
        .expect("k8s-server can be waited for")
        .is_none()
    {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!(
                "k8s-server did not exit within 30 s with {vars:?}: it started instead of refusing"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("k8s-server's output")
}

impl Server {
    /// Starts the binary on a free port, with `/metrics` on another, with `vars` (their `PORT` and
    /// `METRICS_PORT` replaced) and waits until `/healthz` answers.
    pub fn start(vars: &[(&str, &str)]) -> Server {
        Self::start_with(vars, Stdio::null(), None)
    }

    /// Like [`Server::start`], inside memory cgroup `group` from its first instruction on.
    pub fn start_in(group: &MemoryGroup, vars: &[(&str, &str)]) -> Server {
        Self::start_with(vars, Stdio::null(), Some(group))
    }

    /// Like [`Server::start`], keeping the log (stdout) for [`Server::stop_and_read_log`].
    pub fn start_logging(vars: &[(&str, &str)]) -> Server {
        Self::start_with(vars, Stdio::piped(), None)
    }

    fn start_with(vars: &[(&str, &str)], stdout: Stdio, group: Option<&MemoryGroup>) -> Server {
        let port = free_port();
        // Two picks in a row are almost always different; the server refuses the same port twice.
        let metrics_port = std::iter::repeat_with(free_port)
            .find(|other| *other != port)
            .expect("another free port");
        let (port_text, metrics_port_text) = (port.to_string(), metrics_port.to_string());
        let mut all: Vec<(&str, &str)> = vars
            .iter()
            .copied()
            .filter(|(k, _)| !["PORT", "METRICS_PORT"].contains(k))
            .collect();
        all.extend([("PORT", &*port_text), ("METRICS_PORT", &metrics_port_text)]);
        let mut command = match group {
            Some(group) => {
                let mut command = group.command(Path::new(BIN));
                command.env_clear().envs(all.iter().copied());
                command
            }
            None => command(&all),
        };
        let process = Supervised::spawn(
            command
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(Stdio::inherit()),
        )
        .expect("k8s-server starts");
        let mut server = Server {
            process,
            port,
            metrics_port,
        };
        let started = Instant::now();
        while server.try_get("/healthz").is_none() {
            if let Some(status) = server.process.try_wait().unwrap() {
                panic!("k8s-server exited during start-up: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "k8s-server did not answer /healthz within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Its resident memory (`VmRSS`), KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.pid()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc status")
    }

    /// Whether the process still runs.
    pub fn is_running(&self) -> bool {
        self.process.is_running()
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Where it serves `/metrics`.
    pub fn metrics_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.metrics_port))
    }

    /// `GET path` on the metrics port.
    pub fn scrape(&self, path: &str) -> Reply {
        try_send_blocking(self.metrics_addr(), "GET", path, &[])
            .unwrap_or_else(|err| panic!("GET {path} on the metrics port: {err}"))
    }

    /// `GET path`: the reply, or `None` if the connection failed.
    pub fn try_get(&self, path: &str) -> Option<Reply> {
        try_send_blocking(self.addr(), "GET", path, &[]).ok()
    }

    /// `GET path`: the status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let reply = self.get_with(path, &[]);
        (reply.status, reply.body)
    }

    /// `GET path` with extra request headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        try_send_blocking(self.addr(), "GET", path, headers)
            .unwrap_or_else(|err| panic!("GET {path}: {err}"))
    }

    /// Stops the server (SIGTERM, then waits) and returns what it logged.
    pub fn stop_and_read_log(&mut self) -> String {
        self.signal(Signal::TERM);
        self.wait(Duration::from_secs(5));
        let mut log = String::new();
        if let Some(mut stdout) = self.process.take_stdout() {
            stdout.read_to_string(&mut log).expect("the log is UTF-8");
        }
        log
    }

    /// Sends a signal (`Signal::TERM`, `Signal::INT`) to the process.
    pub fn signal(&self, signal: Signal) {
        self.process.signal(signal);
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let status = self.process.wait_for(limit);
        assert!(status.is_some(), "k8s-server did not exit within {limit:?}");
        status.and_then(|status| status.code())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.process.kill();
    }
}
