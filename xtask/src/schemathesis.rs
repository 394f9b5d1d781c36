//! The OpenAPI contract tested from outside: schemathesis generates requests from the document and
//! checks `k8s-server`'s answers against it (status codes, content types, headers, schemas), in both
//! configurations: with `AUTH=jwt` against a JWKS this command serves on loopback (`testkit::idp`),
//! from `docs/openapi.json`, with a valid token (and checks, among others, that requests without it
//! fail); and with `AUTH=none`, from the document the server serves at `/openapi.json`.

use std::process::Command;

use anyhow::{Result, ensure};
use app_core::config::vars;
use serde_json::json;
use testkit::contract::auth;
use testkit::http::try_send_blocking;
use testkit::idp::{JwksServer, claims_with, now, shared_rsa};
use testkit::python::ensure_tool;
use testkit::served::K8sServer;

use crate::steps::{self, target_dir, workspace_root};

/// Runs schemathesis against `k8s-server` with `AUTH=jwt`, then with `AUTH=none`.
pub fn run() -> Result<()> {
    let schemathesis = ensure_tool("schemathesis", "schemathesis")?;
    with_jwt(&schemathesis)?;
    open(&schemathesis)
}

/// Starts the `k8s-server` binary that `cargo test --workspace` built (for its process tests) on a
/// free port with `AUTH=none`, and runs schemathesis with a fixed seed against the document it
/// serves (no token asked for).
fn open(schemathesis: &std::path::Path) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let log = target_dir().join("schemathesis-k8s-server-open.log");
    let server = runtime.block_on(K8sServer::start(&[(vars::AUTH, "none")], &log))?;
    // The server stops when this returns.
    steps::run(
        "schemathesis run /openapi.json against k8s-server (AUTH=none)",
        Command::new(schemathesis)
            .arg("run")
            .arg(format!("http://{}/openapi.json", server.addr))
            .args(["--url", &format!("http://{}", server.addr)])
            .args(["--max-examples", "50", "--seed", "1"])
            .current_dir(target_dir()),
    )
}

/// Starts the `k8s-server` binary that `cargo test --workspace` built (for its process tests) on a
/// free port with `AUTH=jwt`, runs schemathesis against it with a fixed seed and a valid token, and
/// stops the server.
fn with_jwt(schemathesis: &std::path::Path) -> Result<()> {
    // The JWKS endpoint is served by this runtime's worker while this thread waits on schemathesis.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let idp = runtime.block_on(JwksServer::start(&[shared_rsa()]));
    let token = shared_rsa().sign(&claims_with(json!({"exp": now() + 3600})));
    let log = target_dir().join("schemathesis-k8s-server.log");
    let server = runtime.block_on(K8sServer::start(&auth::settings(&idp.url()), &log))?;
    let authorization = format!("Bearer {token}");
    // Every generated request would be a 401 (documented, so passing) if the token were refused.
    let headers = [("authorization", authorization.as_str())];
    let probe = try_send_blocking(server.addr, "GET", "/users/u-1", &headers);
    let accepted = probe.as_ref().is_ok_and(|reply| reply.status == 200);
    ensure!(
        accepted,
        "k8s-server does not accept the token schemathesis would send: {probe:?}"
    );
    // The server stops when this returns.
    steps::run(
        "schemathesis run docs/openapi.json against k8s-server (AUTH=jwt, with a token)",
        Command::new(schemathesis)
            .arg("run")
            .arg(workspace_root().join("docs/openapi.json"))
            .args(["--url", &format!("http://{}", server.addr)])
            .args(["--header", &format!("Authorization: {authorization}")])
            .args(["--max-examples", "50", "--seed", "1"])
            // schemathesis keeps its state in the working folder: keep it out of the repository.
            .current_dir(target_dir()),
    )
}
