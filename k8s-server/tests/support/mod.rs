//! Runs the real `k8s-server` binary as a child process with a chosen environment, and talks to it
//! over plain HTTP/1.1.

#![allow(dead_code)] // each test file uses part of this

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_k8s-server");

/// A running `k8s-server`; killed if still running when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary with an empty environment plus `vars` (so nothing from the caller's shell leaks in).
pub fn command(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.env_clear().envs(vars.iter().copied());
    command
}

/// Runs the binary to completion (for start-up failures).
pub fn run_to_exit(vars: &[(&str, &str)]) -> Output {
    command(vars).output().expect("k8s-server runs")
}

impl Server {
    /// Starts the binary on a free port with `vars` and waits until `/healthz` answers.
    pub fn start(vars: &[(&str, &str)]) -> Server {
        Self::start_with(vars, Stdio::null())
    }

    /// Like [`Server::start`], keeping the log (stdout) for [`Server::stop_and_read_log`].
    pub fn start_logging(vars: &[(&str, &str)]) -> Server {
        Self::start_with(vars, Stdio::piped())
    }

    fn start_with(vars: &[(&str, &str)], stdout: Stdio) -> Server {
        let port = free_port();
        let port_text = port.to_string();
        let mut all: Vec<(&str, &str)> =
            vars.iter().copied().filter(|(k, _)| *k != "PORT").collect();
        all.push(("PORT", &port_text));
        let child = command(&all)
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("k8s-server starts");
        let mut server = Server { child, port };
        let started = Instant::now();
        while server.try_get("/healthz").is_none() {
            if let Some(status) = server.child.try_wait().unwrap() {
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

    /// `GET path`: the status and body, or `None` if the connection failed.
    pub fn try_get(&self, path: &str) -> Option<(u16, String)> {
        get(self.port, path)
    }

    /// `GET path`: the status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.try_get(path)
            .unwrap_or_else(|| panic!("GET {path}: no answer"))
    }

    /// Stops the server (SIGTERM, then waits) and returns what it logged.
    pub fn stop_and_read_log(&mut self) -> String {
        self.signal("TERM");
        self.wait(Duration::from_secs(5));
        let mut log = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            stdout.read_to_string(&mut log).expect("the log is UTF-8");
        }
        log
    }

    /// `GET path` with extra request headers: the status and the raw response head and body.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        request(
            self.port,
            &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n"),
        )
        .unwrap_or_else(|| panic!("GET {path}: no answer"))
    }

    /// Sends a signal (`TERM`, `INT`) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                started.elapsed() < limit,
                "k8s-server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `GET` on a fresh connection: the status and body, or `None` if the connection failed.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let (status, response) = request(port, &get_request(path))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())?;
    Some((status, body))
}

/// Writes `raw` on a fresh connection: the status and the whole raw response.
fn request(port: u16, raw: &str) -> Option<(u16, String)> {
    exchange(TcpStream::connect(("127.0.0.1", port)).ok()?, raw)
}

/// A plain `GET path` request, closing the connection after the answer.
pub fn get_request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

/// Writes `raw` on `stream` and reads the answer: the status and the whole raw response.
pub fn exchange(mut stream: TcpStream, raw: &str) -> Option<(u16, String)> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(raw.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    Some((status, response))
}
