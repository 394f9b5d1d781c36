//! `cargo xtask bench`: measures both targets on this machine, in one run, beside their ceilings and
//! their Node.js peers, and writes `docs/benchmarks.md`, `docs/benchmarks.json` and
//! `docs/benchmarks.svg`.
//!
//! 1. Build every artifact once: `k8s-server` (server profile), the ceilings (`bench/ceiling`), the Lambda
//!    `bootstrap` and its zip (`cargo lambda build --release`), the criterion benchmark; install wrk
//!    and the Node.js peers' AWS SDK if missing.
//! 2. Embedded store: `k8s-server` (also with `AUTH=jwt`, one token reused), bare hyper and bare axum
//!    servers, and a Node.js `http` server under wrk at fixed connection counts, server on one core, wrk
//!    on the other, runs interleaved.
//! 3. `k8s-server` start-to-ready, memory, and thousands of open keep-alive connections.
//! 4. DynamoDB on moto (the AWS emulator): `k8s-server` and the Node.js server on the DynamoDB store
//!    beside a raw `GetItem` loop on the same table.
//! 5. Lambda: `bootstrap` (also with `AUTH=jwt`), a bare `lambda_runtime` floor and the seed's Node.js
//!    handler, fresh processes through a local Runtime API: init, cold start, warm invocations, RSS.
//! 6. The criterion micro-benchmarks (the lookup, the token verification) and the sizes.
//!
//! Each phase is a function that returns its part of [`Results`]; `benchmarks.json` is that value, and
//! the tables of `benchmarks.md` and the chart are rendered from it alone ([`render`]), so that
//! `--render-only` reproduces them without measuring.
//!
//! Everything listens on and is loaded through 127.0.0.1 only; every load is bounded in time.

mod build;
mod harness;
mod load;
mod micro;
mod peers;
mod render;
mod results;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use clap::{Args, ValueEnum};
use testkit::idp::{self, JwksServer, SigningKey};
use testkit::lambda::EventSource;
use testkit::moto::{Moto, REGION};
use testkit::runtime_api;
use tokio::runtime::Runtime;

use self::build::Artifacts;
use self::harness::{
    Cores, Proc, bench_dir, children_cpu_time, free_port, log_file, median, percentile,
};
use self::load::{Load, RunResult};
use self::peers::Node;
use self::results::{
    Function, LambdaSection, LoadSample, LoadSection, Machine, Point, Results, Scale, ServerFacts,
    Sizes, Target,
};
use crate::steps::workspace_root;

/// The table both stores read in the DynamoDB runs (the seed's handler hard-codes it).
const TABLE: &str = "Users";
/// What the DynamoDB and Lambda phases run DynamoDB on, as the page names it.
const EMULATOR: &str = "moto server";
/// The request every run makes.
const PATH: &str = "/users/u-1";
/// The memory size the Lambda processes are told.
const LAMBDA_MEMORY_MB: u32 = 128;
/// The unmeasured first run of each server.
const WARM_UP: Duration = Duration::from_secs(2);
/// The same on the DynamoDB emulator (moto), which warms its caches for a while.
const DYNAMODB_WARM_UP: Duration = Duration::from_secs(10);
/// The largest share of failed requests a load run may have.
const MAX_ERROR_SHARE: f64 = 0.01;

/// Options of `cargo xtask bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Runs per server and connection count (interleaved; medians are reported)
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Seconds per load run
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Connection counts for the embedded-store servers
    #[arg(long, value_delimiter = ',', default_values_t = [16, 64])]
    connections: Vec<u32>,
    /// Open keep-alive connections of the scale phase (beside the largest of --connections)
    #[arg(long, default_value_t = 5000)]
    scale_connections: u32,
    /// Connection counts for the DynamoDB-store servers (and tasks of the raw GetItem loop)
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16])]
    dynamodb_connections: Vec<u32>,
    /// Fresh processes per function (and per start-to-ready measurement)
    #[arg(long, default_value_t = 7)]
    cold_starts: usize,
    /// Warm invocations per function process
    #[arg(long, default_value_t = 20)]
    warm_invokes: usize,
    /// Measure the artifacts already built (when working on the bench itself)
    #[arg(long)]
    no_build: bool,
    /// Skip the criterion micro-benchmarks
    #[arg(long)]
    no_micro: bool,
    /// After the builds, wait up to this many seconds for the load average to fall below 0.5
    #[arg(long, default_value_t = 150)]
    settle: u64,
    /// Folder of benchmarks.md (whose prose is kept), .json and .svg [default: docs]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Measure nothing: render the tables of benchmarks.md and the chart again from benchmarks.json
    #[arg(long)]
    render_only: bool,
    /// Run this phase alone and print its data (to try a phase; writes no docs)
    #[arg(long, value_enum)]
    phase: Option<Phase>,
}

/// The phases `--phase` runs alone.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Phase {
    Embedded,
    Server,
    Scale,
    Dynamodb,
    Lambda,
    Micro,
}

/// Runs `cargo xtask bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| workspace_root().join("docs"));
    if args.render_only {
        let json = out.join("benchmarks.json");
        let text = std::fs::read_to_string(&json)
            .with_context(|| format!("cannot read {}", json.display()))?;
        let results: Results = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a bench result", json.display()))?;
        render::write_docs(&out, &results)?;
        println!("bench: rendered {}/benchmarks.{{md,svg}}", out.display());
        return Ok(());
    }
    ensure!(
        args.runs > 0 && args.duration > 0 && args.cold_starts > 0,
        "--runs, --duration and --cold-starts must be positive"
    );
    ensure!(
        !args.connections.is_empty() && !args.dynamodb_connections.is_empty(),
        "give at least one connection count"
    );
    let mut loads = vec![sample_load("start")];
    if loads[0].load1 > 0.5 {
        println!(
            "bench: WARNING load average is {:.2}: other work on this machine will show in the numbers",
            loads[0].load1
        );
    }
    load::ensure_wrk()?;
    let node = Node::install()?;
    let artifacts = if args.no_build {
        let artifacts = Artifacts::locate();
        if args.phase.is_none() {
            artifacts.check()?;
        }
        artifacts
    } else {
        Artifacts::build()?
    };
    if !args.no_micro && (args.phase.is_none() || matches!(args.phase, Some(Phase::Micro))) {
        micro::build()?;
    }
    raise_open_files_limit(args.scale_connections)?;

    settle(Duration::from_secs(args.settle));
    let cores = Cores::detect();
    let core_count = std::thread::available_parallelism().map_or(1, usize::from);
    cores.pin_self_to_load()?;
    // One worker: it serves the key set (JWKS) to the processes under test between `block_on`s.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let date = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let key = SigningKey::rsa("bench-rs256");
    let jwks = runtime.block_on(JwksServer::start(&[&key]));
    // Valid for the whole run; every request of a phase sends it, as a real client reuses its token.
    let token = key.sign(&idp::claims_with(
        serde_json::json!({"exp": idp::now() + 4 * 3600}),
    ));
    let b = Bench {
        args,
        cores,
        runtime,
        artifacts,
        node,
        jwks,
        bearer: format!("Bearer {token}"),
    };
    if let Some(phase) = args.phase {
        return one_phase(&b, phase);
    }

    loads.push(sample_load("embedded-store load"));
    let (embedded, rss_after_all_runs) = embedded(&b)?;
    loads.push(sample_load("start-to-ready, memory"));
    let server = server_facts(&b, rss_after_all_runs)?;
    loads.push(sample_load("scale with connections"));
    let scale = scale(&b)?;

    loads.push(sample_load("DynamoDB (moto server) load"));
    let (emulator, aws) = start_emulator(&b.runtime)?;
    let dynamodb = dynamodb_load(&b, &aws)?;
    loads.push(sample_load("Lambda cold starts"));
    let lambda = lambda(&b, &aws)?;
    drop(emulator);
    let Bench {
        cores,
        artifacts,
        node,
        jwks,
        ..
    } = b;

    let micro = if args.no_micro {
        Vec::new()
    } else {
        loads.push(sample_load("criterion"));
        micro::run(&cores)?
    };
    drop(jwks);
    loads.push(sample_load("end"));

    let results = Results {
        machine: Machine {
            date,
            cpu: cpu_model(),
            cores: core_count,
            pinning: cores,
            kernel: command_line("uname", &["-sr"]),
            rustc: command_line("rustc", &["-V"]),
            node: node.version.clone(),
            wrk: load::wrk_version().unwrap_or_default(),
            dynamodb_emulator: EMULATOR.into(),
            load_average: loads,
        },
        embedded,
        dynamodb,
        server,
        scale: Some(scale),
        lambda,
        sizes: Sizes {
            k8s_server: harness::file_size(&artifacts.k8s_server)?,
            bootstrap: harness::file_size(&artifacts.bootstrap)?,
            bootstrap_zip: harness::file_size(&artifacts.bootstrap_zip)?,
            bootstrap_unwind_tables: harness::unwind_table_bytes(&artifacts.bootstrap)?,
            node_modules: node.modules_bytes(),
        },
        micro,
    };
    write(&out, &results)?;
    println!("bench: wrote {}/benchmarks.{{md,json,svg}}", out.display());
    Ok(())
}

/// Runs `phase` alone and prints its data (also written to `target/bench/phase-NAME.json`).
fn one_phase(b: &Bench, phase: Phase) -> Result<()> {
    let data = match phase {
        Phase::Embedded => serde_json::to_value(embedded(b)?.0)?,
        Phase::Server => serde_json::to_value(server_facts(b, 0.0)?)?,
        Phase::Scale => serde_json::to_value(scale(b)?)?,
        Phase::Dynamodb | Phase::Lambda => {
            let (_emulator, aws) = start_emulator(&b.runtime)?;
            match phase {
                Phase::Dynamodb => serde_json::to_value(dynamodb_load(b, &aws)?)?,
                _ => serde_json::to_value(lambda(b, &aws)?)?,
            }
        }
        Phase::Micro => serde_json::to_value(micro::run(&b.cores)?)?,
    };
    let text = serde_json::to_string_pretty(&data)?;
    let file = bench_dir().join(format!("phase-{phase:?}.json").to_lowercase());
    std::fs::write(&file, &text)?;
    println!("{text}\nbench: wrote {}", file.display());
    Ok(())
}

/// Raises this process's soft limit of open files (inherited by what it starts) to the hard limit when
/// it is below what `connections` sockets on each side need, with `prlimit` (util-linux).
fn raise_open_files_limit(connections: u32) -> Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"));
    let numbers: Vec<&str> =
        line.map_or(vec![], |l| l.split_whitespace().skip(3).take(2).collect());
    let [soft, hard] = numbers[..] else {
        bail!("no open-files limit in /proc/self/limits");
    };
    let needed = u64::from(connections) + 1024;
    if soft.parse::<u64>().is_ok_and(|soft| soft >= needed) {
        return Ok(());
    }
    ensure!(
        hard == "unlimited" || hard.parse::<u64>().is_ok_and(|hard| hard >= needed),
        "{connections} connections need {needed} open files; the hard limit is {hard} (ulimit -Hn)"
    );
    let status = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={hard}:{hard}"))
        .status()
        .context("prlimit (util-linux) raises the open-files limit")?;
    ensure!(
        status.success(),
        "prlimit could not raise the open-files limit"
    );
    Ok(())
}

/// Writes `DIR/benchmarks.json` and renders the page and chart from it; a `DIR` without the page
/// gets a copy of `docs/benchmarks.md` (the prose) first.
fn write(dir: &Path, results: &Results) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let page = dir.join("benchmarks.md");
    if !page.exists() {
        std::fs::copy(workspace_root().join("docs/benchmarks.md"), &page)?;
    }
    let json = dir.join("benchmarks.json");
    std::fs::write(&json, serde_json::to_string_pretty(results)? + "\n")
        .with_context(|| format!("cannot write {}", json.display()))?;
    render::write_docs(dir, results)
}

/// How one load run is driven.
enum Driver {
    /// wrk against `url` of server number `server`, with extra request headers.
    Wrk {
        server: usize,
        url: String,
        headers: Vec<String>,
    },
    /// The raw `GetItem` loop, a fresh process per run, with this environment.
    GetItem { env: Vec<(String, String)> },
}

/// One line of a load section.
struct Plan {
    name: &'static str,
    variant: bool,
    driver: Driver,
}

impl Plan {
    fn new(name: &'static str, variant: bool, driver: Driver) -> Plan {
        Plan {
            name,
            variant,
            driver,
        }
    }
}

/// What every phase measures with.
struct Bench<'a> {
    args: &'a BenchArgs,
    cores: Cores,
    runtime: Runtime,
    artifacts: Artifacts,
    node: Node,
    /// The key set the `AUTH=jwt` processes fetch.
    jwks: JwksServer,
    /// `Bearer TOKEN`, a token it verifies.
    bearer: String,
}

impl Bench<'_> {
    /// What makes a process check bearer tokens against [`Bench::jwks`].
    fn auth_env(&self) -> Vec<(String, String)> {
        [
            ("AUTH", "jwt".to_owned()),
            ("JWT_ISSUER", idp::ISSUER.to_owned()),
            ("JWT_AUDIENCE", idp::AUDIENCE.to_owned()),
            ("JWKS_URL", self.jwks.url()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec()
    }

    /// Starts `command` (given its port) as `name` on a free port and waits until `GET ready_path`
    /// answers 200.
    fn start(
        &self,
        name: &str,
        ready_path: &str,
        command: impl FnOnce(u16) -> Command,
    ) -> Result<(Proc, u16)> {
        let port = free_port();
        let mut server = harness::spawn(name, &mut command(port))?;
        server.wait_ready(&self.runtime, local(port), ready_path)?;
        Ok((server, port))
    }

    /// `k8s-server` on `port` with `env` (the embedded store unless `env` says otherwise).
    fn k8s_server(&self, port: u16, env: &[(String, String)]) -> Command {
        let mut command = self
            .cores
            .command(self.cores.server, &self.artifacts.k8s_server);
        command
            .env("PORT", port.to_string())
            .env("METRICS_PORT", "0")
            .envs(env.iter().cloned());
        command
    }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}{PATH}")
}

/// Phase 2: the embedded store. Returns the section and `k8s-server`'s peak RSS.
fn embedded(b: &Bench) -> Result<(LoadSection, f64)> {
    let Bench {
        args,
        cores,
        runtime,
        node,
        ..
    } = b;
    let (k8s, k8s_port) = b.start("k8s-server", "/readyz", |port| b.k8s_server(port, &[]))?;
    // The ceiling serves exactly what k8s-server answers.
    let body = runtime
        .block_on(testkit::http::send(local(k8s_port), "GET", PATH, &[]))
        .body;
    let body_file = bench_dir().join("u-1.json");
    std::fs::write(&body_file, &body)?;
    let (ceiling, ceiling_port) = b.start("ceiling-http", PATH, |port| {
        let mut ceiling = cores.command(cores.server, &b.artifacts.ceiling_http);
        ceiling.arg(port.to_string()).arg(&body_file);
        ceiling
    })?;
    let (node_server, node_port) = b.start("node-server-memory", PATH, |port| {
        let mut node_server = node.server(cores, port);
        let users = workspace_root().join("app-core/data/users.json");
        node_server.env("USERS_FILE", users);
        node_server
    })?;
    let quiet_env = [("RUST_LOG".to_owned(), "warn".to_owned())];
    let (quiet, quiet_port) = b.start("k8s-server-warn", "/readyz", |port| {
        b.k8s_server(port, &quiet_env)
    })?;
    let (axum, axum_port) = b.start("ceiling-axum", PATH, |port| {
        let mut axum = cores.command(cores.server, &b.artifacts.ceiling_axum);
        axum.arg(port.to_string());
        axum
    })?;
    let (jwt, jwt_port) = b.start("k8s-server-jwt", "/readyz", |port| {
        b.k8s_server(port, &b.auth_env())
    })?;
    let bearer = [("authorization", b.bearer.as_str())];
    for (name, port, headers) in [
        ("ceiling-http", ceiling_port, &[][..]),
        ("node-server", node_port, &[]),
        ("ceiling-axum", axum_port, &[]),
        ("k8s-server with AUTH=jwt", jwt_port, &bearer),
    ] {
        let reply = runtime.block_on(testkit::http::send(local(port), "GET", PATH, headers));
        ensure!(
            reply.body == body,
            "{name} answers {} instead of k8s-server's {body}",
            reply.body
        );
    }
    let ports = [
        k8s_port,
        ceiling_port,
        node_port,
        quiet_port,
        axum_port,
        jwt_port,
    ];
    let mut servers = vec![k8s, ceiling, node_server, quiet, axum, jwt];
    let wrk = |server: usize, headers: Vec<String>| Driver::Wrk {
        server,
        url: url(ports[server]),
        headers,
    };
    let plans = vec![
        Plan::new("k8s-server", false, wrk(0, vec![])),
        Plan::new("ceiling", false, wrk(1, vec![])),
        Plan::new("node-http", false, wrk(2, vec![])),
        Plan::new("axum-bare", false, wrk(4, vec![])),
        Plan::new(
            "k8s-server, AUTH=jwt",
            true,
            wrk(5, vec![format!("authorization: {}", b.bearer)]),
        ),
        Plan::new(
            "k8s-server, caller sends x-request-id",
            true,
            wrk(0, vec!["x-request-id: bench-0000000000000001".into()]),
        ),
        Plan::new("k8s-server, RUST_LOG=warn", true, wrk(3, vec![])),
    ];
    let section = measure(b, WARM_UP, &args.connections, &mut servers, &plans)?;
    let rss = servers[0].peak_rss_mib()?;
    Ok((section, rss))
}

/// Phase 3: spawn to the first 200 on `/readyz`, fresh `k8s-server` processes, in ms.
fn start_to_ready(b: &Bench) -> Result<Vec<f64>> {
    let mut times = Vec::new();
    // One unmeasured start first, so that every measured one finds the binary in the page cache.
    for i in 0..=b.args.cold_starts {
        let port = free_port();
        let mut server = harness::spawn("k8s-server-start", &mut b.k8s_server(port, &[]))?;
        let ready = server.wait_ready(&b.runtime, local(port), "/readyz")?;
        if i > 0 {
            times.push(ready.as_secs_f64() * 1e3);
        }
    }
    Ok(times)
}

/// Phase 3b: [`start_to_ready`], then a fresh `k8s-server`, one load run at the largest connection
/// count, its peak RSS; then a second identical run, to see whether memory keeps growing with requests.
/// `peak_rss_after_all_runs_mib` is the embedded-store phase's.
fn server_facts(b: &Bench, peak_rss_after_all_runs_mib: f64) -> Result<ServerFacts> {
    let Bench { args, cores, .. } = b;
    let start_to_ready_ms = start_to_ready(b)?;
    let (mut server, port) = b.start("k8s-server-memory", "/readyz", |port| {
        b.k8s_server(port, &[])
    })?;
    let url = url(port);
    let load = Load {
        url: &url,
        connections: args.connections.iter().copied().max().unwrap_or(64),
        duration: Duration::from_secs(args.duration),
        headers: &[],
    };
    let first = load::run(cores, &mut server, &load)?;
    let first_mib = server.peak_rss_mib()?;
    let second = load::run(cores, &mut server, &load)?;
    let second_mib = server.peak_rss_mib()?;
    Ok(ServerFacts {
        start_to_ready_ms_p50: median(&start_to_ready_ms),
        start_to_ready_ms,
        peak_rss_mib: first_mib,
        peak_rss_requests: first.requests,
        peak_rss_after_second_run_mib: second_mib,
        rss_growth_kib_per_100k_requests: (second_mib - first_mib) * 1024.0 * 1e5
            / second.requests.max(1) as f64,
        peak_rss_after_all_runs_mib,
    })
}

/// Phase 3c: a fresh `k8s-server` under the largest connection count, then under
/// `args.scale_connections` open keep-alive connections, `args.runs` runs each; peak RSS after each.
fn scale(b: &Bench) -> Result<Scale> {
    let Bench { args, cores, .. } = b;
    let (mut server, port) = b.start("k8s-server-scale", "/readyz", |port| {
        b.k8s_server(port, &[])
    })?;
    let url = url(port);
    let mut at = |connections: u32| -> Result<(results::Summary, f64)> {
        let load = Load {
            url: &url,
            connections,
            duration: Duration::from_secs(args.duration),
            headers: &[],
        };
        load::run(
            cores,
            &mut server,
            &Load {
                duration: WARM_UP,
                ..load
            },
        )?;
        let runs = (0..args.runs)
            .map(|_| load::run(cores, &mut server, &load))
            .map(|run| check_errors("k8s-server-scale", connections, run?))
            .collect::<Result<Vec<_>>>()?;
        println!(
            "bench: scale {connections} connections: {:.0} req/s",
            runs[0].rps
        );
        Ok((Point::new(connections, runs).median, server.peak_rss_mib()?))
    };
    let baseline_connections = args.connections.iter().copied().max().unwrap_or(64);
    let (baseline, baseline_peak_rss_mib) = at(baseline_connections)?;
    let (wide, peak_rss_mib) = at(args.scale_connections)?;
    let added = f64::from(
        args.scale_connections
            .saturating_sub(baseline_connections)
            .max(1),
    );
    Ok(Scale {
        baseline_connections,
        baseline,
        baseline_peak_rss_mib,
        connections: args.scale_connections,
        wide,
        peak_rss_mib,
        rss_per_connection_kib: (peak_rss_mib - baseline_peak_rss_mib) * 1024.0 / added,
    })
}

/// Phase 4 set-up: moto (on this process's core, the load core) with the table and the sample
/// users, and the environment that points a process at it with the test credentials.
fn start_emulator(runtime: &Runtime) -> Result<(Moto, Vec<(String, String)>)> {
    let moto = Moto::launch(free_port())?;
    runtime.block_on(moto.seed_sample(TABLE))?;
    let env = moto
        .service_env(TABLE)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    Ok((moto, env))
}

/// Phase 4: the DynamoDB store.
fn dynamodb_load(b: &Bench, aws: &[(String, String)]) -> Result<LoadSection> {
    let Bench {
        args, cores, node, ..
    } = b;
    let (k8s, k8s_port) = b.start("k8s-server-dynamodb", PATH, |port| b.k8s_server(port, aws))?;
    let (node_server, node_port) = b.start("node-server-dynamodb", PATH, |port| {
        let mut node_server = node.server(cores, port);
        node_server.envs(aws.iter().cloned());
        node_server
    })?;
    let ports = [k8s_port, node_port];
    let mut servers = vec![k8s, node_server];
    let wrk = |server: usize| Driver::Wrk {
        server,
        url: url(ports[server]),
        headers: vec![],
    };
    let plans = vec![
        Plan::new("k8s-server", false, wrk(0)),
        Plan::new(
            "raw GetItem loop",
            false,
            Driver::GetItem { env: aws.to_vec() },
        ),
        Plan::new("node-http", false, wrk(1)),
    ];
    measure(
        b,
        DYNAMODB_WARM_UP,
        &args.dynamodb_connections,
        &mut servers,
        &plans,
    )
}

/// Runs every plan at every connection count, `args.runs` times, interleaved (run 1 of everything,
/// then run 2, ...), after one `warm_up` run of each.
fn measure(
    b: &Bench,
    warm_up: Duration,
    connections: &[u32],
    servers: &mut [Proc],
    plans: &[Plan],
) -> Result<LoadSection> {
    let args = b.args;
    let duration = Duration::from_secs(args.duration);
    let most = connections.iter().copied().max().unwrap_or(1);
    for plan in plans {
        drive(&b.cores, servers, plan, most, warm_up)?;
    }
    let mut runs: Vec<Vec<Vec<RunResult>>> = vec![vec![Vec::new(); connections.len()]; plans.len()];
    for round in 1..=args.runs {
        for (c, &conns) in connections.iter().enumerate() {
            for (p, plan) in plans.iter().enumerate() {
                let result = drive(&b.cores, servers, plan, conns, duration)?;
                println!(
                    "bench: run {round}/{} {:<40} c={conns:<3} {:>9.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  cpu {:>3.0}%  loadgen {:>3.0}%",
                    args.runs,
                    plan.name,
                    result.rps,
                    result.p50_ms,
                    result.p99_ms,
                    result.server_cpu_pct,
                    result.loadgen_cpu_pct
                );
                runs[p][c].push(result);
            }
        }
    }
    let targets = plans
        .iter()
        .zip(runs)
        .map(|(plan, by_conns)| {
            let peak_rss_mib = match plan.driver {
                Driver::Wrk { server, .. } if !plan.variant => servers[server].peak_rss_mib().ok(),
                _ => None,
            };
            Target {
                name: plan.name.to_owned(),
                variant: plan.variant,
                points: connections
                    .iter()
                    .zip(by_conns)
                    .map(|(&conns, runs)| Point::new(conns, runs))
                    .collect(),
                peak_rss_mib,
            }
        })
        .collect();
    Ok(LoadSection {
        duration_s: args.duration,
        runs: args.runs,
        connections: connections.to_vec(),
        targets,
    })
}

/// One run of `plan` at `connections` for `duration`.
fn drive(
    cores: &Cores,
    servers: &mut [Proc],
    plan: &Plan,
    connections: u32,
    duration: Duration,
) -> Result<RunResult> {
    let result = match &plan.driver {
        Driver::Wrk {
            server,
            url,
            headers,
        } => load::run(
            cores,
            &mut servers[*server],
            &Load {
                url,
                connections,
                duration,
                headers,
            },
        )?,
        Driver::GetItem { env } => getitem_loop(cores, env, connections, duration)?,
    };
    check_errors(plan.name, connections, result)
}

/// `result`, unless none of its requests was answered or more than [`MAX_ERROR_SHARE`] failed
/// (refused connections too).
fn check_errors(name: &str, connections: u32, result: RunResult) -> Result<RunResult> {
    let failed = result.errors as f64 / (result.requests.max(1) as f64);
    ensure!(
        result.requests > 0 && failed <= MAX_ERROR_SHARE,
        "{name} at c={connections}: {} of {} requests failed; see target/bench/logs",
        result.errors,
        result.requests
    );
    Ok(result)
}

/// One run of the raw `GetItem` loop on the server core.
fn getitem_loop(
    cores: &Cores,
    env: &[(String, String)],
    connections: u32,
    duration: Duration,
) -> Result<RunResult> {
    let artifacts = Artifacts::locate();
    let mut command = cores.command(cores.server, &artifacts.ceiling_getitem);
    command
        .args([TABLE, "u-1"])
        .arg(connections.to_string())
        .arg(duration.as_secs_f64().to_string())
        .envs(env.iter().cloned());
    let before = children_cpu_time()?;
    let output = command.output().context("cannot run ceiling-getitem")?;
    let cpu = children_cpu_time()?.saturating_sub(before);
    if !output.status.success() {
        bail!(
            "ceiling-getitem failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    /// What `bench/ceiling`'s loop prints.
    #[derive(serde::Deserialize)]
    struct Report {
        requests: f64,
        seconds: f64,
        p50_us: f64,
        p99_us: f64,
        errors: f64,
    }
    let report: Report =
        serde_json::from_slice(&output.stdout).context("ceiling-getitem printed no report")?;
    Ok(RunResult {
        rps: report.requests / report.seconds,
        p50_ms: report.p50_us / 1e3,
        p99_ms: report.p99_us / 1e3,
        requests: report.requests as u64,
        errors: report.errors as u64,
        server_cpu_pct: 100.0 * cpu.as_secs_f64() / duration.as_secs_f64(),
        // Not split for the loop: it runs as a child, whose times are only summed.
        server_user_cpu_pct: 0.0,
        loadgen_cpu_pct: 0.0,
    })
}

/// Phase 5: both functions through the Runtime API, on DynamoDB (moto), fresh processes interleaved.
fn lambda(b: &Bench, aws: &[(String, String)]) -> Result<LambdaSection> {
    let Bench {
        args,
        cores,
        artifacts,
        node,
        ..
    } = b;
    let event = serde_json::to_vec(&EventSource::HttpApiDefault.event("GET", PATH, &[]))?;
    let lambda_env = [
        ("AWS_LAMBDA_FUNCTION_NAME", "user-lookup"),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            &LAMBDA_MEMORY_MB.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/user-lookup"),
        ("AWS_DEFAULT_REGION", REGION),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let with_env = |mut command: Command| {
        command
            .envs(aws.iter().cloned())
            .envs(lambda_env.iter().cloned());
        command
    };
    // As the SAM template configures it: SSL_CERT_FILE names the system's one bundle file, so the
    // SDK's HTTPS client parses that and skips the certificate directory.
    let bundle = system_bundle();
    let rust = || {
        let mut command = with_env(cores.command(cores.server, &artifacts.bootstrap));
        command.envs(bundle.map(|file| ("SSL_CERT_FILE", file)));
        command
    };
    let node_fn = || with_env(node.lambda(cores));
    let floor = || with_env(cores.command(cores.server, &artifacts.ceiling_lambda));
    let rust_jwt = || {
        let mut command = rust();
        command.envs(b.auth_env());
        command
    };
    let bearer = [("authorization", b.bearer.as_str())];
    let jwt_event = serde_json::to_vec(&EventSource::HttpApiDefault.event("GET", PATH, &bearer))?;
    // A diagnostic variant: SSL_CERT_FILE naming a file of one certificate (the least TLS can trust).
    let one_root = one_root_certificate(bundle)?;
    let rust_one_root = || {
        let mut command = rust();
        if let Some(file) = &one_root {
            command.env("SSL_CERT_FILE", file);
        }
        command
    };
    let mut runs: [Vec<runtime_api::ProcessRun>; 5] = Default::default();
    // One unmeasured process of each first (page cache, the emulator's caches).
    for i in 0..=args.cold_starts {
        let run = |name, command: &mut Command, event: &[u8], warm| {
            runtime_api::run_function(command, &log_file(name)?, event, warm)
        };
        let r = run("lambda-fn", &mut rust(), &event, args.warm_invokes)?;
        let n = run("node-lambda", &mut node_fn(), &event, args.warm_invokes)?;
        let o = run("lambda-fn-one-root", &mut rust_one_root(), &event, 0)?;
        let f = run("ceiling-lambda", &mut floor(), &event, 0)?;
        let j = run("lambda-fn-jwt", &mut rust_jwt(), &jwt_event, 0)?;
        for (name, run) in [
            ("lambda-fn", &r),
            ("Node.js handler", &n),
            ("lambda-fn", &o),
            ("the bare lambda_runtime floor", &f),
            ("lambda-fn with AUTH=jwt", &j),
        ] {
            let answer: serde_json::Value = serde_json::from_str(&run.first_response)
                .with_context(|| format!("{name} posted {}", run.first_response))?;
            ensure!(
                answer["statusCode"] == 200
                    && answer["body"]
                        .as_str()
                        .is_some_and(|b| b.contains("Ada Lovelace")),
                "{name} did not answer 200 with u-1: {}",
                run.first_response
            );
        }
        println!(
            "bench: lambda process {i}/{}: lambda-fn cold {:.1} ms, Node.js cold {:.1} ms",
            args.cold_starts,
            r.cold_start.as_secs_f64() * 1e3,
            n.cold_start.as_secs_f64() * 1e3
        );
        if i > 0 {
            for (all, run) in runs.iter_mut().zip([r, n, o, f, j]) {
                all.push(run);
            }
        }
    }
    let rust = function(&runs[0]);
    Ok(LambdaSection {
        warm_invoke_ms_p50: rust.warm_invoke_ms_p50,
        peak_rss_mib: rust.peak_rss_mib,
        memory_mb: LAMBDA_MEMORY_MB,
        rust,
        node: function(&runs[1]),
        rust_one_root_certificate: one_root.map(|_| function(&runs[2])),
        floor: Some(function(&runs[3])),
        rust_jwt: Some(function(&runs[4])),
    })
}

/// The system's bundle of root certificates, where Debian or Amazon Linux keep it.
fn system_bundle() -> Option<&'static str> {
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ]
    .into_iter()
    .find(|path| Path::new(path).is_file())
}

/// Writes the first certificate of `bundle` to `target/bench/one-root.pem`; `None` without a bundle.
fn one_root_certificate(bundle: Option<&str>) -> Result<Option<PathBuf>> {
    const END: &str = "-----END CERTIFICATE-----";
    let Some(bundle) = bundle.and_then(|path| std::fs::read_to_string(path).ok()) else {
        return Ok(None);
    };
    let Some(end) = bundle.find(END) else {
        return Ok(None);
    };
    let file = bench_dir().join("one-root.pem");
    std::fs::write(&file, format!("{}\n", &bundle[..end + END.len()]))?;
    Ok(Some(file))
}

fn function(runs: &[runtime_api::ProcessRun]) -> Function {
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    let init: Vec<f64> = runs.iter().map(|r| ms(&r.init)).collect();
    let cold: Vec<f64> = runs.iter().map(|r| ms(&r.cold_start)).collect();
    let warm: Vec<f64> = runs.iter().flat_map(|r| r.warm.iter().map(ms)).collect();
    Function {
        init_ms_p50: median(&init),
        init_ms: init,
        cold_start_ms_p50: median(&cold),
        cold_start_ms: cold,
        warm_invoke_ms_p50: median(&warm),
        warm_invoke_ms_p99: percentile(&warm, 0.99),
        warm_invoke_ms: warm,
        peak_rss_mib: runs.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max),
    }
}

/// Waits until the one-minute load average is below 0.5 (the builds just ended), at most `limit`.
fn settle(limit: Duration) {
    let started = std::time::Instant::now();
    let mut load = harness::load_average();
    if load >= 0.5 && !limit.is_zero() {
        println!(
            "bench: waiting up to {limit:?} for the load average ({load:.2}) to fall below 0.5"
        );
    }
    while load >= 0.5 && started.elapsed() < limit {
        std::thread::sleep(Duration::from_secs(5));
        load = harness::load_average();
    }
}

fn sample_load(at: &str) -> LoadSample {
    LoadSample {
        at: at.to_owned(),
        load1: harness::load_average(),
    }
}

/// The first line a command prints, or `unknown`.
fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

// Not `tests`: that name is the crate of the test plumbing here.
#[cfg(test)]
mod writing {
    use super::*;

    #[test]
    fn a_run_written_to_a_new_folder_gets_the_prose_and_the_tables_of_its_json() {
        // GIVEN the committed run and a folder without a page
        let docs = workspace_root().join("docs");
        let read = |path: PathBuf| std::fs::read_to_string(path).unwrap();
        let results: Results = serde_json::from_str(&read(docs.join("benchmarks.json"))).unwrap();
        let dir = std::env::temp_dir().join(format!("bench-write-{}", std::process::id()));

        // WHEN the run is written there
        write(&dir, &results).unwrap();

        // THEN the page is the committed one (prose copied, the same tables), and the JSON reads back
        let page = read(dir.join("benchmarks.md"));
        let again: Results = serde_json::from_str(&read(dir.join("benchmarks.json"))).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(page == read(docs.join("benchmarks.md")));
        assert_eq!(again.machine.date, results.machine.date);
    }
}
