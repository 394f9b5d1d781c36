//! The built `k8s-server` binary as a child process (a `testkit::process::Supervised`, so it never outlives the
//! demo), timed from spawn to its first ready answer.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use testkit::contract::Case;
use testkit::http::{send, try_send};
use testkit::ports::free_port;
use testkit::process::Supervised;
use testkit::reply::Reply;

use crate::steps::target_dir;

/// How long the server may take to become ready.
const READY_LIMIT: Duration = Duration::from_secs(30);
/// How long it may take to drain and exit after SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// A running `k8s-server`; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct K8sServer {
    process: Supervised,
    addr: SocketAddr,
    ready_after: Duration,
}

impl K8sServer {
    /// Starts `target/debug/k8s-server` on a free port with only `envs` (and `PORT`) in its
    /// environment, and waits for `GET /readyz` to answer 200.
    pub async fn start(envs: &[(&str, &str)]) -> Result<K8sServer> {
        let bin = target_dir().join("debug/k8s-server");
        let log_path = target_dir().join("demo-k8s-server.log");
        let port = free_port();
        let mut command = std::process::Command::new(&bin);
        command
            .env_clear()
            .envs(envs.iter().copied())
            .env("METRICS_PORT", "0")
            .env("PORT", port.to_string());
        let started = Instant::now();
        let process = Supervised::spawn_logged(&mut command, &log_path)
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut server = K8sServer {
            process,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            ready_after: Duration::ZERO,
        };
        loop {
            let ready = try_send(server.addr, "GET", "/readyz", &[]).await;
            if ready.is_ok_and(|reply| reply.status == 200) {
                server.ready_after = started.elapsed();
                return Ok(server);
            }
            if !server.process.is_running() {
                bail!(
                    "k8s-server exited during start-up; see {}",
                    log_path.display()
                );
            }
            if started.elapsed() > READY_LIMIT {
                bail!(
                    "k8s-server was not ready within {READY_LIMIT:?}; see {}",
                    log_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// From spawn to the first 200 on `/readyz`.
    pub fn ready_after(&self) -> Duration {
        self.ready_after
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Sends `case`'s request.
    pub async fn send(&self, case: &Case) -> Reply {
        self.send_with(case, case.headers).await
    }

    /// Sends `case`'s method and target with `headers`.
    pub async fn send_with(&self, case: &Case, headers: &[(&str, &str)]) -> Reply {
        send(self.addr, case.method, case.target, headers).await
    }
}

impl Drop for K8sServer {
    fn drop(&mut self) {
        self.process.stop(STOP_LIMIT);
    }
}
