//! The OpenAPI contract tested from outside: schemathesis generates requests from `docs/openapi.json`
//! and checks `k8s-server`'s answers against it (status codes, content types, headers, schemas).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::steps::{self, target_dir, workspace_root};
use testkit::python::ensure_tool;

/// Starts the `k8s-server` binary that `cargo test --workspace` built (for its process tests) on a
/// free port, runs schemathesis against it with a fixed seed, and stops the server.
pub fn run() -> Result<()> {
    let schemathesis = ensure_tool("schemathesis", "schemathesis")?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let server = Server::start(port)?;
    let result = steps::run(
        "schemathesis run docs/openapi.json against k8s-server",
        Command::new(schemathesis)
            .arg("run")
            .arg(workspace_root().join("docs/openapi.json"))
            .args(["--url", &format!("http://127.0.0.1:{port}")])
            .args(["--max-examples", "50", "--seed", "1"])
            // schemathesis keeps its state in the working folder: keep it out of the repository.
            .current_dir(target_dir()),
    );
    drop(server);
    result
}

/// The server under test; killed on drop.
struct Server(Child);

impl Server {
    fn start(port: u16) -> Result<Server> {
        let binary = target_dir().join("debug/k8s-server");
        if !binary.is_file() {
            bail!(
                "{} is missing: `cargo test --workspace` builds it",
                binary.display()
            );
        }
        let child = Command::new(binary)
            .env("PORT", port.to_string())
            // An ephemeral metrics port: 9090 may be taken by another server on this machine.
            .env("METRICS_PORT", "0")
            .stdout(Stdio::null())
            .spawn()?;
        let server = Server(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("k8s-server did not listen on port {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
