//! The OpenAPI contract tested from outside: schemathesis generates requests from `docs/openapi.json`
//! and checks `k8s-server`'s answers against it (status codes, content types, headers, schemas).
//! The server runs with `AUTH=jwt` against a JWKS this command serves on loopback (`testkit::idp`),
//! and schemathesis sends a valid token (and checks, among others, that requests without it fail).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;
use testkit::contract::auth;
use testkit::http::try_send_blocking;
use testkit::idp::{JwksServer, claims_with, now, shared_rsa};

use crate::steps::{self, target_dir, workspace_root};
use testkit::python::ensure_tool;

/// Starts the `k8s-server` binary that `cargo test --workspace` built (for its process tests) on a
/// free port with `AUTH=jwt`, runs schemathesis against it with a fixed seed and a valid token, and
/// stops the server.
pub fn run() -> Result<()> {
    let schemathesis = ensure_tool("schemathesis", "schemathesis")?;
    // The JWKS endpoint is served by this runtime's worker while this thread waits on schemathesis.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let idp = runtime.block_on(JwksServer::start(&[shared_rsa()]));
    let token = shared_rsa().sign(&claims_with(json!({"exp": now() + 3600})));
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let server = Server::start(port, &auth::settings(&idp.url()))?;
    let authorization = format!("Bearer {token}");
    // Every generated request would be a 401 (documented, so passing) if the token were refused.
    let probe = try_send_blocking(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        "GET",
        "/users/u-1",
        &[("authorization", &authorization)],
    );
    match probe {
        Ok(reply) if reply.status == 200 => {}
        other => bail!("k8s-server does not accept the token schemathesis would send: {other:?}"),
    }
    let result = steps::run(
        "schemathesis run docs/openapi.json against k8s-server (AUTH=jwt, with a token)",
        Command::new(schemathesis)
            .arg("run")
            .arg(workspace_root().join("docs/openapi.json"))
            .args(["--url", &format!("http://127.0.0.1:{port}")])
            .args(["--header", &format!("Authorization: {authorization}")])
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
    fn start(port: u16, envs: &[(&str, String)]) -> Result<Server> {
        let binary = target_dir().join("debug/k8s-server");
        if !binary.is_file() {
            bail!(
                "{} is missing: `cargo test --workspace` builds it",
                binary.display()
            );
        }
        let child = Command::new(binary)
            .envs(envs.iter().map(|(k, v)| (k, v)))
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
