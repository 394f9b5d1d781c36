//! The decision lab's Kubernetes model, one pod and no autoscaling, against the real `k8s-server`
//! on this machine, below, near and past its capacity.
//!
//! **The pod**: `k8s-server` (the debug build) in a CPU cgroup of the Deployment's CPU request
//! (`deploy/k8s/base/deployment.yaml`, read by `decide::deploy`), the CPU a pod gets on a node whose
//! pods all use theirs; so the model's pod here serves that much CPU (its `cpu_limit` set to the
//! request), and the HPA is pinned to one replica (a fixed replica count).
//!
//! **The store: embedded** (`USER_STORE=memory`), not moto. Past a few hundred requests a second
//! the emulator (one Python process, outside the pod's cgroup) would be the bottleneck, and the test
//! would measure moto, not the rule under test: a pod's capacity is its CPU over the CPU a request
//! costs, and past it requests queue, then fail.
//!
//! **Inputs fed to the model: measured in this run**, not `docs/benchmarks.json` (a release build on
//! DynamoDB, at the bench's moment): the server's CPU per request as the bench measures it (the
//! cgroup's CPU time over the requests answered under a closed loop of [`BUSY_WORKERS`] that keeps
//! it busy; measured again after the past-capacity phase, the two bracketing that prediction, since
//! this host's speed drifts), and its median latency alone (an open loop at [`BASE_RPS`]).
//!
//! **Open loop, not wrk.** wrk (and `testkit::load::Load`) is a closed loop: a connection sends its
//! next request when the last is answered, so it never offers more than the server serves, and past
//! capacity its latency is its connection count over the throughput, never an error. The model's
//! arrivals are open: offered load does not wait for answers. So the load here is
//! `testkit::load::open_loop`: requests at a fixed rate, each on a connection of its own, given up
//! after the model's queue bound (`queue_timeout_s`, the client's timeout) and then counted as failed,
//! as the model counts them. The model runs the same seconds at the same rate.
//!
//! **Bounds**, each with its reason (C = the request's CPU / CPU per request, the predicted capacity).
//! The CPU a request costs on this shared host varies between runs (320 to 650 µs measured while
//! this test was written) and with the load's pattern, so the bounds are wide; they still catch a
//! model wrong by its rules (checked: a pod serving its CPU limit, 1 core, instead of the CPU it gets
//! predicts no failure and twice the requests served at 2 C, and fails both past-capacity bounds):
//! - Half the capacity: the model serves everything at the base latency. Measured: at most
//!   [`BELOW_FAILED_SHARE`] failed, and the median latency within [0.3×, 4×] + 20 ms of the
//!   prediction (4× and 20 ms absorb the host's other load; 0.3× is below any noise in the base).
//! - Near capacity ([`NEAR`] C): the model still serves everything at the base latency, having no
//!   queueing below capacity, where a real queue waits (an M/D/1 queue at 0.75 waits 1.5 service
//!   times, and the capacity estimate itself is ±30 %): at most [`BELOW_FAILED_SHARE`] failed and the
//!   median below the queue bound.
//! - Past capacity ([`PAST`] C): the model serves C a second, queues, and fails what would wait past
//!   the bound (half the requests: what it has not served by the phase's end). Here the model is an
//!   upper bound on what is served, and the test holds it to that: requests answered at most 1.5×
//!   the predicted (more would mean a wrong capacity rule) and at least 0.1× (the pod stays up and
//!   serving), the share failed at least the predicted less 25 points (the same check seen from the
//!   failures), and the median latency of the answered at least 0.3× the predicted (latency grows
//!   towards the bound). The low side is open because past capacity the server also works for
//!   requests their clients have given up on (they wait in its accept queue, request and all),
//!   which the model counts as failed at no cost: measured, 26 to 104 % of the predicted served and
//!   48 to 87 % failed against 50 % predicted, the less served the busier the host (the 26 % with the
//!   whole test suite and three builds running beside it). docs/decide.md says so.
//!
//! Each phase lasts [`PHASE`]; the server idles between phases so that its queue drains.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use decide::cost::prices::Prices;
use decide::deploy::Deployment;
use decide::lab::{Inputs, Options};
use decide::measurements::{DEFAULT_PATH, Measurements};
use decide::params::Params;
use decide::platform::Model;
use decide::platform::kubernetes::Kubernetes;
use testkit::cargo_env::build_binary;
use testkit::cgroup::CpuGroup;
use testkit::load::{Load, Sample, open_loop};
use testkit::paths::{target_dir, workspace_root};
use testkit::ports::free_port;
use testkit::served::Served;

/// The shares of the predicted capacity offered near and past it (and 0.5: half of it).
const NEAR: f64 = 0.75;
const PAST: f64 = 2.0;
/// Half and near capacity: failures allowed, as a share of the requests offered.
const BELOW_FAILED_SHARE: f64 = 0.05;
/// Half the capacity: the median latency within [low × predicted, high × predicted + slack].
const HALF_LATENCY: (f64, f64) = (0.3, 4.0);
const HALF_SLACK_MS: f64 = 20.0;
/// Past capacity: requests answered within [low × predicted, high × predicted] (the model is an
/// upper bound there; the low side only says the pod still serves).
const PAST_SERVED: (f64, f64) = (0.1, 1.5);
/// Past capacity: the share failed at least the predicted less this (a fraction); no upper bound.
const PAST_FAILED_BELOW: f64 = 0.25;
/// Past capacity: the median latency of the answered at least this share of the predicted one.
const PAST_LATENCY_SHARE: f64 = 0.3;

/// The request of the load: a user the embedded store holds.
const PATH: &str = "/users/u-1";
/// The rate at which the server's latency alone is measured (well below its capacity).
const BASE_RPS: f64 = 50.0;
/// Workers of the closed loop that keeps the server busy to measure its CPU per request.
const BUSY_WORKERS: usize = 16;
/// How long each phase offers its load.
const PHASE: Duration = Duration::from_secs(4);

/// The lab's inputs: what `deploy/` declares, the parameters, the committed measurements.
fn inputs() -> Inputs {
    let root = workspace_root();
    Inputs {
        prices: Prices::embedded().unwrap(),
        params: Params::embedded().unwrap(),
        measured: Measurements::load(&root.join(DEFAULT_PATH)).unwrap(),
        deployment: Deployment::load(&root).unwrap(),
        options: Options::default(),
    }
}

/// One pod of the CPU request, no autoscaling, with the CPU per request and latency measured here.
fn one_pod(inputs: &Inputs, cpu_per_request: f64, latency_ms: f64) -> Kubernetes {
    let mut model = inputs.kubernetes();
    model.hpa.min_replicas = 1;
    model.hpa.max_replicas = 1;
    model.cpu_limit = model.cpu_request;
    model.cpu_per_request = cpu_per_request;
    model.latency_ms = latency_ms;
    model
}

/// What the model predicts for `seconds` at `rate`: (served, failed, median latency of a second).
fn predict(model: &Kubernetes, rate: f64, seconds: u64) -> (f64, f64, f64) {
    let (mut state, mut served, mut failed, mut latencies) = (model.start(), 0.0, 0.0, Vec::new());
    for t in 0..seconds {
        let (next, second) = model.step(state, t, rate);
        state = next;
        served += second.served;
        failed += second.timed_out + second.throttled;
        latencies.push(second.latency_ms);
    }
    (served, failed, median(latencies))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// What a phase measured: (answered 200, failed, median latency of the answered in ms).
fn measured(samples: &[Sample]) -> (usize, usize, f64) {
    let answered: Vec<f64> = (samples.iter())
        .filter(|s| s.status() == 200)
        .map(|s| s.latency.as_secs_f64() * 1e3)
        .collect();
    let failed = samples.len() - answered.len();
    (answered.len(), failed, median(answered))
}

#[test]
fn one_pod_below_near_and_past_its_capacity_matches_the_kubernetes_model() {
    let inputs = inputs();
    let cores = inputs.deployment.cpu_request;
    let timeout = Duration::from_secs_f64(inputs.params.kubernetes.queue_timeout_s.value);
    // GIVEN k8s-server on the embedded store in a CPU cgroup of the Deployment's request
    let binary = build_binary("k8s-server");
    let group = CpuGroup::limited("calibrate-pod", cores).unwrap_or_else(|err| panic!("{err}"));
    let port = free_port();
    let mut command: Command = group.command(&binary);
    command.env_clear().envs([
        ("USER_STORE", "memory".to_owned()),
        ("AUTH", "none".to_owned()),
        ("PORT", port.to_string()),
        ("METRICS_PORT", "0".to_owned()),
    ]);
    let log = target_dir().join("calibrate-kubernetes.log");
    let mut server = Served::spawn("k8s-server", &mut command, &log).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    server.wait_ready(&runtime, addr, "/readyz").unwrap();

    // AND its latency alone (an open loop at a low rate) and its CPU per request as the bench
    // measures it, under a closed loop that keeps it busy: the model's inputs
    let probe = runtime.block_on(open_loop(addr, BASE_RPS, PHASE, timeout, PATH));
    let (_, failed, base_ms) = measured(&probe);
    assert_eq!(failed, 0, "failures at {BASE_RPS} requests a second");
    let busy = || {
        let before = group.usage().unwrap();
        let busy = runtime.block_on(async {
            let load = Load::start(addr, BUSY_WORKERS, PATH);
            tokio::time::sleep(PHASE).await;
            load.finish().await
        });
        let cpu_s = (group.usage().unwrap() - before).as_secs_f64();
        let (answered, failed, busy_ms) = measured(&busy);
        assert_eq!(failed, 0, "failures under the closed loop");
        let cpu_per_request = cpu_s / answered as f64;
        println!(
            "busy: {answered} answered ({:.0}/s) using {:.2} cores, {:.0} µs of CPU each, median \
             {busy_ms:.1} ms: predicted capacity {:.0} requests a second",
            answered as f64 / PHASE.as_secs_f64(),
            cpu_s / PHASE.as_secs_f64(),
            cpu_per_request * 1e6,
            cores / cpu_per_request
        );
        cpu_per_request
    };
    let cpu_per_request = busy();
    let capacity = cores / cpu_per_request;
    let model = one_pod(&inputs, cpu_per_request, base_ms);
    println!("alone: median {base_ms:.1} ms");

    let mut problems: Vec<String> = Vec::new();
    for share in [0.5, NEAR, PAST] {
        // WHEN the open loop offers `share` of the predicted capacity, and the model the same
        std::thread::sleep(timeout * 2);
        let rate = share * capacity;
        let before = group.usage().unwrap();
        let samples = runtime.block_on(open_loop(addr, rate, PHASE, timeout, PATH));
        let used = (group.usage().unwrap() - before).as_secs_f64() / PHASE.as_secs_f64();
        server.check_alive().unwrap();
        let (answered, failed, median_ms) = measured(&samples);
        let (p_served, p_failed, p_median_ms) = predict(&model, rate, PHASE.as_secs());
        let seconds = PHASE.as_secs_f64();
        println!(
            "{share} C = {rate:.0}/s: measured {answered} answered ({:.0}/s), {failed} failed, \
             median {median_ms:.1} ms; predicted {p_served:.0} served ({:.0}/s), {p_failed:.0} \
             failed, median {p_median_ms:.1} ms; {used:.2} cores",
            answered as f64 / seconds,
            p_served / seconds
        );
        // THEN served, failed and latency agree within the bounds
        let offered = samples.len() as f64;
        let (answered, failed) = (answered as f64, failed as f64);
        let name = format!("{share} C ({rate:.0} requests a second)");
        if share < 1.0 {
            if failed > offered * BELOW_FAILED_SHARE || p_failed > 0.0 {
                problems.push(format!(
                    "{name}: {failed} of {offered} failed, predicted {p_failed}"
                ));
            }
            // Half the capacity: the base latency. Near it the model, a fluid queue, still says
            // the base latency where a real queue waits (and this host's other load adds to it):
            // there only the queue bound holds.
            let (low, high) = if share < NEAR {
                (
                    HALF_LATENCY.0 * p_median_ms,
                    HALF_LATENCY.1 * p_median_ms + HALF_SLACK_MS,
                )
            } else {
                (0.0, timeout.as_secs_f64() * 1e3)
            };
            if !(low..=high).contains(&median_ms) {
                problems.push(format!(
                    "{name}: median {median_ms:.1} ms, predicted {p_median_ms:.1} ms, bound \
                     [{low:.1}, {high:.1}] ms"
                ));
            }
        } else {
            // The host's speed drifts: the CPU per request measured again after this phase
            // brackets the prediction with the one before.
            std::thread::sleep(timeout * 2);
            let again = one_pod(&inputs, busy(), base_ms);
            let (p_again, _, _) = predict(&again, rate, PHASE.as_secs());
            let (p_low, p_high) = (p_served.min(p_again), p_served.max(p_again));
            let (low, high) = (PAST_SERVED.0 * p_low, PAST_SERVED.1 * p_high);
            if !(low..=high).contains(&answered) {
                problems.push(format!(
                    "{name}: {answered} served, predicted {p_low:.0} to {p_high:.0}, bound \
                     [{low:.0}, {high:.0}]"
                ));
            }
            // What the model has not served by the phase's end waits past the bound or fails.
            let share_failed = failed / offered;
            let p_share_failed = 1.0 - p_served / offered;
            let low = 1.0 - p_high / offered - PAST_FAILED_BELOW;
            if share_failed < low {
                problems.push(format!(
                    "{name}: {:.1} % failed, predicted {:.1} %, bound at least {:.1} %",
                    share_failed * 100.0,
                    p_share_failed * 100.0,
                    low * 100.0
                ));
            }
            if median_ms < PAST_LATENCY_SHARE * p_median_ms || median_ms < 10.0 * base_ms {
                problems.push(format!(
                    "{name}: median {median_ms:.1} ms, predicted {p_median_ms:.1} ms: latency \
                     should grow to at least {PAST_LATENCY_SHARE} of it and 10× the base {base_ms:.1} ms"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
