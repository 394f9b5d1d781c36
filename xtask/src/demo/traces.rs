//! `cargo xtask demo --traces`: one request's trace from each target, side by side as trees, from an
//! OTLP receiver started here (`testkit::otlp`): `k8s-server` and `lambda-fn` (under cargo lambda
//! watch) on one moto table, each sent `GET /users/u-1` in a trace of its own.

use std::time::Duration;

use anyhow::{Result, ensure};
use testkit::lambda_watch::LambdaWatch;
use testkit::otlp::{Receiver, tree};

use super::{TABLE, env_refs, k8s_server, seeded_moto};

/// The two traces' ids (a caller's `traceparent` starts each).
const K8S_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const LAMBDA_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Runs the demo.
pub async fn demo() -> Result<()> {
    println!("==> moto server, table {TABLE} with the sample users; an OTLP receiver on loopback");
    let moto = seeded_moto().await?;
    let receiver = Receiver::start().await;
    let mut envs = moto.service_env(TABLE);
    envs.push(("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()));
    envs.push(("OTEL_TRACES_SAMPLER", "always_on".to_owned()));
    let envs = env_refs(&envs);
    println!(
        "==> k8s-server and lambda-fn (cargo lambda watch), exporting to {}",
        receiver.endpoint()
    );
    let server = k8s_server(&envs).await?;
    let watch = LambdaWatch::start(&envs).await;
    let traceparent = |trace: &str| format!("00-{trace}-00f067aa0ba902b7-01");
    let k8s_parent = traceparent(K8S_TRACE);
    let lambda_parent = traceparent(LAMBDA_TRACE);
    testkit::http::send(
        server.addr,
        "GET",
        "/users/u-1",
        &[("traceparent", &k8s_parent)],
    )
    .await;
    watch
        .send("GET", "/users/u-1", &[("traceparent", &lambda_parent)])
        .await;
    // The server exports once a second; the function before it answers.
    let on_k8s = receiver.trace(K8S_TRACE, 2, Duration::from_secs(5)).await;
    let on_lambda = receiver
        .trace(LAMBDA_TRACE, 2, Duration::from_secs(5))
        .await;
    let (left, right) = (tree(&on_k8s), tree(&on_lambda));
    let heading = format!("k8s-server (trace {K8S_TRACE:.8}…)");
    println!("\n{heading:<44}lambda-fn (trace {LAMBDA_TRACE:.8}…)");
    let (left, right): (Vec<&str>, Vec<&str>) = (left.lines().collect(), right.lines().collect());
    for row in 0..left.len().max(right.len()) {
        println!(
            "{:<44}{}",
            left.get(row).copied().unwrap_or_default(),
            right.get(row).copied().unwrap_or_default()
        );
    }
    ensure!(
        !on_k8s.is_empty() && !on_lambda.is_empty(),
        "a target exported no span (lambda log: {})",
        watch.log_path().display()
    );
    println!("\ndemo: each target's request is one trace, continued from the caller's traceparent");
    Ok(())
}
