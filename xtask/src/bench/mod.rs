//! `cargo xtask bench`: measures both targets on this machine, in one run, beside their ceilings and
//! their Node.js peers, and writes `docs/benchmarks.{md,json,svg}`.
//!
//! 1. Build every artifact once ([`build`]); install wrk and the Node.js peers' AWS SDK if missing.
//! 2. Embedded store: `k8s-server` (also with `AUTH=jwt`, one token reused), bare hyper and bare axum
//!    servers, and a Node.js `http` server under wrk at fixed connection counts, server on one core,
//!    wrk on the other, runs interleaved.
//! 3. `k8s-server` start-to-ready, memory, and thousands of open keep-alive connections.
//! 4. DynamoDB on moto (the AWS emulator): `k8s-server` and the Node.js server on the DynamoDB store
//!    beside a raw `GetItem` loop on the same table.
//! 5. Lambda: `bootstrap` (also with `AUTH=jwt`), a bare `lambda_runtime` floor and the seed's Node.js
//!    handler, fresh processes through a local Runtime API: init, cold start, warm invocations, RSS.
//!    Then Lambda as it runs on AWS ([`aws_lambda`]): the CPU share of each memory size, TLS to the
//!    emulator, the published reference (`--phase lambda-aws --merge` runs it alone into the docs).
//!    Then what tracing costs ([`tracing_cost`]): `k8s-server` with tracing off and with each sampler,
//!    `lambda-fn`'s warm invocations with export off and on, to OTLP receivers in this process.
//! 6. The criterion micro-benchmarks (the lookup, the token verification) and the sizes.
//!
//! Each phase is a function that returns its part of [`Results`]; `benchmarks.json` is that value,
//! every run in full. `benchmarks.md` is rendered from it alone through the template
//! `xtask/templates/benchmarks.md` (all the page's prose and table layout), and the chart beside it
//! ([`render`]), so that `--render-only` renders them again without measuring. Everything listens on
//! and is loaded through 127.0.0.1 only; every load is bounded in time.

mod aws_lambda;
mod build;
mod figures;
pub(crate) mod harness;
mod load;
mod micro;
mod peers;
mod render;
mod results;
mod tracing_cost;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use clap::{Args, ValueEnum};
use testkit::idp::{self, JwksServer, SigningKey};
use testkit::lambda::EventSource;
use testkit::moto::{Moto, REGION};
use testkit::procfs;
use testkit::runtime_api::{self, ProcessRun};
use tokio::runtime::Runtime;

use self::build::Artifacts;
use self::harness::{Cores, Proc, bench_dir, free_port, log_file, median, percentile};
use self::load::Load;
use self::peers::Node;
use self::results::{
    Function, LambdaSection, LoadSample, LoadSection, Machine, OpenFiles, Point, Results,
    RunResult, Scale, ServerFacts, Sizes, Summary, Target, Widest,
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
/// No environment beyond what a process of the bench always gets.
const NO_ENV: [(&str, &str); 0] = [];
/// The unmeasured first run of each server.
const WARM_UP: Duration = Duration::from_secs(2);
/// The same on the DynamoDB emulator (moto), which warms its caches for a while.
const DYNAMODB_WARM_UP: Duration = Duration::from_secs(10);
/// The shortest run, unmeasured or measured, at the scale phase's widest point: each run opens its
/// connections again, and opening 20,000 overflows the server's accept queue, whose dropped
/// connections wrk retries for seconds (a 3-second run at 19,000 answered nothing here).
const WIDEST_RUN: Duration = Duration::from_secs(20);

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
    /// The scale phase's widest point: open keep-alive connections, measured after
    /// --scale-connections (fewer when the open-files hard limit leaves room for fewer)
    #[arg(long, default_value_t = 20000)]
    widest_connections: u32,
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
    /// Folder of benchmarks.json, .md and .svg [default: docs]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Measure nothing: render benchmarks.md (xtask/templates/benchmarks.md) and the chart again
    /// from benchmarks.json
    #[arg(long)]
    render_only: bool,
    /// Run this phase alone and print its data (to try a phase; writes no docs unless --merge)
    #[arg(long, value_enum)]
    phase: Option<Phase>,
    /// With --phase lambda-aws: put its data into benchmarks.json in place of the last run's and
    /// render the page again (the rest of the page keeps its run and date)
    #[arg(long, requires = "phase")]
    merge: bool,
}

/// The phases `--phase` runs alone.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Phase {
    Embedded,
    Server,
    Scale,
    Dynamodb,
    Lambda,
    LambdaAws,
    Tracing,
    Micro,
}

/// Runs `cargo xtask bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let out = (args.out.clone()).unwrap_or_else(|| workspace_root().join("docs"));
    if args.render_only {
        render::write_docs(&out, &Results::read(&out.join("benchmarks.json"))?)?;
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
    ensure!(
        args.widest_connections > args.scale_connections,
        "--widest-connections must be above --scale-connections"
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
    let artifacts = match args.no_build {
        true => Artifacts::locate(),
        false => Artifacts::build()?,
    };
    if args.phase.is_none() {
        artifacts.check()?;
    }
    let micro = !args.no_micro && matches!(args.phase, None | Some(Phase::Micro));
    if micro {
        micro::build()?;
    }
    raise_open_files_limit(args.scale_connections, args.widest_connections)?;
    settle(Duration::from_secs(args.settle));
    let date = harness::first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    // Before the pinning, which leaves this process one core.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let b = Bench::new(args, artifacts, node)?;
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
    loads.push(sample_load("tracing overhead"));
    let tracing = Some(tracing_cost::measure(&b, &aws)?);
    drop(emulator);
    loads.push(sample_load("Lambda as on AWS"));
    let lambda_aws = Some(aws_lambda::measure(&b)?);
    let micro = if micro {
        loads.push(sample_load("criterion"));
        micro::run(&b.cores)?
    } else {
        Vec::new()
    };
    loads.push(sample_load("end"));

    let a = &b.artifacts;
    let results = Results {
        machine: Machine {
            date,
            cpu: procfs::cpu_model().unwrap_or_else(|| "unknown".into()),
            cores,
            pinning: b.cores,
            kernel: harness::first_line("uname", &["-sr"]),
            rustc: harness::first_line("rustc", &["-V"]),
            node: b.node.version.clone(),
            wrk: load::wrk_version().unwrap_or_default(),
            dynamodb_emulator: EMULATOR.into(),
            load_average: loads,
        },
        embedded,
        dynamodb,
        server,
        scale,
        lambda,
        lambda_aws,
        tracing,
        sizes: Sizes {
            k8s_server: harness::file_size(&a.k8s_server)?,
            bootstrap: harness::file_size(&a.bootstrap)?,
            bootstrap_zip: harness::file_size(&a.bootstrap_zip)?,
            bootstrap_unwind_tables: harness::unwind_table_bytes(&a.bootstrap)?,
            node_modules: b.node.modules_bytes(),
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
        Phase::Dynamodb | Phase::Lambda | Phase::Tracing => {
            let (_emulator, aws) = start_emulator(&b.runtime)?;
            match phase {
                Phase::Dynamodb => serde_json::to_value(dynamodb_load(b, &aws)?)?,
                Phase::Tracing => serde_json::to_value(tracing_cost::measure(b, &aws)?)?,
                _ => serde_json::to_value(lambda(b, &aws)?)?,
            }
        }
        Phase::LambdaAws => {
            let section = aws_lambda::measure(b)?;
            if b.args.merge {
                let out = (b.args.out.clone()).unwrap_or_else(|| workspace_root().join("docs"));
                let mut results = Results::read(&out.join("benchmarks.json"))?;
                results.lambda_aws = Some(section);
                write(&out, &results)?;
                println!(
                    "bench: merged into {}/benchmarks.{{md,json,svg}}",
                    out.display()
                );
                return Ok(());
            }
            serde_json::to_value(section)?
        }
        Phase::Micro => serde_json::to_value(micro::run(&b.cores)?)?,
    };
    let text = serde_json::to_string_pretty(&data)?;
    let file = bench_dir().join(format!("phase-{phase:?}.json").to_lowercase());
    std::fs::write(&file, &text)?;
    println!("{text}\nbench: wrote {}", file.display());
    Ok(())
}

/// The open files each process of the scale phase keeps beside its sockets, under the same limit
/// (each has its own): `k8s-server` 12 (stdio, two listeners, epoll and eventfd of its runtime, ...),
/// wrk `-t1` 6 (measured in `/proc/PID/fd` at 19,990 connections), and a margin of 64.
const OPEN_FILES_RESERVE: u64 = 80;

/// The open files a process holding `connections` sockets needs.
fn open_files_for(connections: u32) -> u64 {
    u64::from(connections) + OPEN_FILES_RESERVE
}

/// Raises this process's soft limit of open files (inherited by what it starts) to the hard limit;
/// when the hard limit is below what `wanted` sockets on each side need, first tries to raise both
/// (which root with `CAP_SYS_RESOURCE` may do, up to `fs.nr_open`). Fails when even `required`
/// sockets do not fit; between the two, the scale phase measures what fits ([`OpenFiles`]).
fn raise_open_files_limit(required: u32, wanted: u32) -> Result<()> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let wanted = open_files_for(wanted.max(required));
    // `None` is unlimited.
    if limit.maximum.is_some_and(|hard| hard < wanted) {
        let raised = Rlimit {
            current: Some(wanted),
            maximum: Some(wanted),
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return Ok(());
        }
    }
    let needed = open_files_for(required);
    ensure!(
        limit.maximum.is_none_or(|hard| hard >= needed),
        "{required} connections need {needed} open files; the hard limit is {:?} (ulimit -Hn; \
         root may raise it up to fs.nr_open)",
        limit.maximum
    );
    if limit.current == limit.maximum {
        return Ok(());
    }
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit).context("cannot raise the open-files limit")
}

/// The widest point's limits: `--widest-connections` under this process's hard limit (which
/// [`raise_open_files_limit`] set, and what it starts inherits).
fn widest_open_files(requested_connections: u32) -> OpenFiles {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    OpenFiles {
        requested_connections,
        hard_limit: limit.maximum,
        reserve: OPEN_FILES_RESERVE,
    }
}

/// Writes `DIR/benchmarks.json` and renders the page and chart from it.
fn write(dir: &Path, results: &Results) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    results.write(&dir.join("benchmarks.json"))?;
    render::write_docs(dir, results)
}

/// What every phase measures with.
struct Bench<'a> {
    args: &'a BenchArgs,
    cores: Cores,
    /// One worker: it serves the key set (JWKS) to the processes under test between `block_on`s.
    runtime: Runtime,
    artifacts: Artifacts,
    node: Node,
    /// The key set the `AUTH=jwt` processes fetch.
    jwks: JwksServer,
    /// `authorization: Bearer TOKEN`, a token valid for the whole run that every request of an
    /// `AUTH=jwt` phase sends, as a real client reuses its token.
    bearer: (&'static str, String),
}

/// A server under load: its process, its port on 127.0.0.1 and how long it took to answer.
struct Server {
    process: Proc,
    port: u16,
    ready_after: Duration,
}

impl Server {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}{PATH}", self.port)
    }
}

impl Bench<'_> {
    /// Pins this process to the load core and starts the identity provider.
    fn new(args: &BenchArgs, artifacts: Artifacts, node: Node) -> Result<Bench<'_>> {
        let cores = Cores::detect();
        cores.pin_self_to_load()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let key = SigningKey::rsa("bench-rs256");
        let jwks = runtime.block_on(JwksServer::start(&[&key]));
        let claims = idp::claims_with(serde_json::json!({"exp": idp::now() + 4 * 3600}));
        let bearer = ("authorization", format!("Bearer {}", key.sign(&claims)));
        Ok(Bench {
            args,
            cores,
            runtime,
            artifacts,
            node,
            jwks,
            bearer,
        })
    }

    /// `--duration`: how long each measured load run takes.
    fn duration(&self) -> Duration {
        Duration::from_secs(self.args.duration)
    }

    /// What makes a process check bearer tokens against [`Bench::jwks`].
    fn auth_env(&self) -> [(&'static str, String); 4] {
        [
            ("AUTH", "jwt".to_owned()),
            ("JWT_ISSUER", idp::ISSUER.to_owned()),
            ("JWT_AUDIENCE", idp::AUDIENCE.to_owned()),
            ("JWKS_URL", self.jwks.url()),
        ]
    }

    /// `authorization: Bearer TOKEN` as wrk takes it.
    fn bearer_header(&self) -> String {
        format!("{}: {}", self.bearer.0, self.bearer.1)
    }

    /// `program` with `args` on the server core.
    fn program(&self, program: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Command {
        let mut command = self.cores.command(self.cores.server, program);
        command.args(args.iter().map(|arg| arg.as_ref()));
        command
    }

    /// Starts `command` (given its port) as `name` on a free port and waits until `GET ready_path`
    /// answers 200.
    fn start(
        &self,
        name: &str,
        ready_path: &str,
        command: impl FnOnce(u16) -> Command,
    ) -> Result<Server> {
        let port = free_port();
        let mut process = harness::spawn(name, &mut command(port))?;
        let ready_after = process.wait_ready(&self.runtime, local(port), ready_path)?;
        Ok(Server {
            process,
            port,
            ready_after,
        })
    }

    /// A fresh `k8s-server` named `name` with `env` (the embedded store unless `env` says otherwise).
    fn k8s_server<K, V>(&self, name: &str, env: impl IntoIterator<Item = (K, V)>) -> Result<Server>
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        self.start(name, "/readyz", |port| {
            let mut command = self.program(&self.artifacts.k8s_server, &[]);
            command
                .env("PORT", port.to_string())
                .env("METRICS_PORT", "0")
                .envs(env);
            command
        })
    }

    /// One wrk run: `connections` against `server` for `duration`, with extra `headers`.
    fn load(
        &self,
        server: &mut Server,
        connections: u32,
        duration: Duration,
        headers: &[String],
    ) -> Result<RunResult> {
        let url = server.url();
        let load = Load {
            url: &url,
            connections,
            duration,
            headers,
        };
        load::run(&self.cores, &mut server.process, &load)
    }

    /// GET [`PATH`] on `port` with `headers`.
    fn get(&self, port: u16, headers: &[(&str, &str)]) -> String {
        let reply = testkit::http::send(local(port), "GET", PATH, headers);
        self.runtime.block_on(reply).body
    }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// How one line of a load section is driven.
enum Driver {
    /// wrk against server number `server` of the section, with extra request headers.
    Wrk { server: usize, headers: Vec<String> },
    /// The raw `GetItem` loop, a fresh process per run, with this environment.
    GetItem(Vec<(String, String)>),
}

/// One line of a load section: its name, whether it is a variant (a diagnostic), how it is driven.
type Plan = (&'static str, bool, Driver);

/// wrk on server number `server` with `headers`.
fn wrk(server: usize, headers: &[String]) -> Driver {
    let headers = headers.to_vec();
    Driver::Wrk { server, headers }
}

/// Phase 2: the embedded store. Returns the section and `k8s-server`'s peak RSS.
fn embedded(b: &Bench) -> Result<(LoadSection, f64)> {
    let a = &b.artifacts;
    let k8s = b.k8s_server("k8s-server", NO_ENV)?;
    // The ceiling serves exactly what k8s-server answers.
    let body = b.get(k8s.port, &[]);
    let body_file = bench_dir().join("u-1.json");
    std::fs::write(&body_file, &body)?;
    let ceiling = b.start("ceiling-http", PATH, |port| {
        b.program(&a.ceiling_http, &[&port.to_string(), &body_file])
    })?;
    let node = b.start("node-server-memory", PATH, |port| {
        let mut node = b.node.server(&b.cores, port);
        node.env(
            "USERS_FILE",
            workspace_root().join("app-core/data/users.json"),
        );
        node
    })?;
    let quiet = b.k8s_server("k8s-server-warn", [("RUST_LOG", "warn")])?;
    let axum = b.start("ceiling-axum", PATH, |port| {
        b.program(&a.ceiling_axum, &[&port.to_string()])
    })?;
    let jwt = b.k8s_server("k8s-server-jwt", b.auth_env())?;
    let bearer = [(b.bearer.0, b.bearer.1.as_str())];
    for (name, server, headers) in [
        ("ceiling-http", &ceiling, &[][..]),
        ("node-server", &node, &[]),
        ("ceiling-axum", &axum, &[]),
        ("k8s-server with AUTH=jwt", &jwt, &bearer),
    ] {
        let answer = b.get(server.port, headers);
        ensure!(
            answer == body,
            "{name} answers {answer} instead of k8s-server's {body}"
        );
    }
    let mut servers = vec![k8s, ceiling, node, quiet, axum, jwt];
    let request_id = "x-request-id: bench-0000000000000001".to_owned();
    let plans = [
        ("k8s-server", false, wrk(0, &[])),
        ("ceiling", false, wrk(1, &[])),
        ("node-http", false, wrk(2, &[])),
        ("axum-bare", false, wrk(4, &[])),
        ("k8s-server, AUTH=jwt", true, wrk(5, &[b.bearer_header()])),
        (
            "k8s-server, caller sends x-request-id",
            true,
            wrk(0, &[request_id]),
        ),
        ("k8s-server, RUST_LOG=warn", true, wrk(3, &[])),
    ];
    let connections = &b.args.connections;
    let section = measure(b, WARM_UP, connections, &mut servers, &plans)?;
    Ok((section, servers[0].process.peak_rss_mib()?))
}

/// Phase 3: start-to-ready of fresh `k8s-server` processes; then a fresh one, one load run at the
/// largest connection count and its peak RSS, then a second identical run, to see whether memory
/// keeps growing with requests. `peak_rss_after_all_runs_mib` is the embedded-store phase's.
fn server_facts(b: &Bench, peak_rss_after_all_runs_mib: f64) -> Result<ServerFacts> {
    let mut start_to_ready_ms = Vec::new();
    // One unmeasured start first, so that every measured one finds the binary in the page cache.
    for i in 0..=b.args.cold_starts {
        let server = b.k8s_server("k8s-server-start", NO_ENV)?;
        if i > 0 {
            start_to_ready_ms.push(server.ready_after.as_secs_f64() * 1e3);
        }
    }
    let mut server = b.k8s_server("k8s-server-memory", NO_ENV)?;
    let (most, duration) = (largest(&b.args.connections), b.duration());
    let run = |server: &mut Server| {
        let run = b.load(server, most, duration, &[]);
        run.context("k8s-server-memory")
    };
    let first = run(&mut server)?;
    let first_mib = server.process.peak_rss_mib()?;
    let second = run(&mut server)?;
    let second_mib = server.process.peak_rss_mib()?;
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

/// Phase 3b: a fresh `k8s-server` under the largest connection count, then under
/// `--scale-connections` open keep-alive connections, then under `--widest-connections` (or as many
/// as the open files allow, [`OpenFiles`]), `--runs` runs each; peak RSS after each.
fn scale(b: &Bench) -> Result<Scale> {
    let args = b.args;
    let files = widest_open_files(args.widest_connections);
    let widest = files.connections();
    ensure!(
        widest > args.scale_connections,
        "the open-files hard limit ({}, ulimit -Hn) leaves room for {widest} connections, not \
         more than --scale-connections {}: raise it (root with CAP_SYS_RESOURCE) to {}",
        files.hard_limit.unwrap_or_default(),
        args.scale_connections,
        open_files_for(args.widest_connections)
    );
    // Every connection of the phase open at once: above the default cap (MAX_CONNECTIONS, 1024)
    // the rest would wait in the kernel's queue.
    let cap = (widest + 1024).to_string();
    let mut server = b.k8s_server("k8s-server-scale", [("MAX_CONNECTIONS", cap.as_str())])?;
    let sockets = OpenSockets::of(server.process.pid());
    // The point's median, its peak RSS and the most connections the server held at once.
    let mut at = |connections: u32, shortest: Duration| -> Result<(Summary, f64, u32)> {
        let mut most_open = 0;
        let mut run = |duration: Duration| {
            // The last run's connections closed first, so that each run counts its own.
            sockets.wait_closed();
            let (run, most) =
                sockets.most_during(|| b.load(&mut server, connections, duration, &[]));
            most_open = most_open.max(most);
            run.with_context(|| format!("k8s-server-scale at c={connections}"))
        };
        run(WARM_UP.max(shortest))?;
        let runs = (0..args.runs)
            .map(|_| run(b.duration().max(shortest)))
            .collect::<Result<Vec<_>>>()?;
        let median = Point::new(connections, runs).median;
        let peak_rss_mib = server.process.peak_rss_mib()?;
        println!(
            "bench: scale {connections} connections: {:.0} req/s, peak RSS {peak_rss_mib:.1} MiB, \
             at most {most_open} open at once",
            median.rps
        );
        Ok((median, peak_rss_mib, most_open))
    };
    let baseline_connections = largest(&args.connections);
    let (baseline, baseline_peak_rss_mib, _) = at(baseline_connections, Duration::ZERO)?;
    let (wide, peak_rss_mib, _) = at(args.scale_connections, Duration::ZERO)?;
    let (summary, widest_peak_rss_mib, most_open) = at(widest, WIDEST_RUN)?;
    let mut widest = Widest::new(
        files,
        widest,
        summary,
        widest_peak_rss_mib,
        (args.scale_connections, peak_rss_mib),
    );
    widest.most_open_at_once = Some(most_open);
    if let Some(extrapolated) = widest.extrapolated_peak_rss_mib_at_requested {
        println!(
            "bench: scale {} connections of {} asked (open-files hard limit {}, {} kept): {:.1} KiB \
             per connection beyond {}; at {} extrapolated, not measured: {extrapolated:.1} MiB",
            widest.connections,
            widest.requested_connections,
            widest.open_files_hard_limit.unwrap_or_default(),
            widest.open_files_reserve,
            widest.rss_per_connection_kib,
            args.scale_connections,
            widest.requested_connections,
        );
    }
    let added = args
        .scale_connections
        .saturating_sub(baseline_connections)
        .max(1);
    Ok(Scale {
        baseline_connections,
        baseline,
        baseline_peak_rss_mib,
        connections: args.scale_connections,
        wide,
        peak_rss_mib,
        rss_per_connection_kib: (peak_rss_mib - baseline_peak_rss_mib) * 1024.0 / f64::from(added),
        widest: Some(widest),
    })
}

/// The connections a server process holds: its open files, less the fewest it was seen with (its
/// own: listeners, epoll, stdio, ...).
struct OpenSockets {
    fd_dir: PathBuf,
    own: AtomicUsize,
}

impl OpenSockets {
    fn of(pid: u32) -> OpenSockets {
        let fd_dir = PathBuf::from(format!("/proc/{pid}/fd"));
        OpenSockets {
            fd_dir,
            own: AtomicUsize::new(usize::MAX),
        }
    }

    fn now(&self) -> usize {
        let open = std::fs::read_dir(&self.fd_dir).map_or(0, |entries| entries.count());
        let own = self.own.fetch_min(open, Ordering::Relaxed).min(open);
        open - own
    }

    /// Waits (up to 10 s) until the server has closed the connections of the last run.
    fn wait_closed(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.now() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `work` and returns its result with the most connections held at once meanwhile
    /// (sampled every 250 ms).
    fn most_during<T>(&self, work: impl FnOnce() -> T) -> (T, u32) {
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let sampler = scope.spawn(|| {
                let mut most = 0;
                while !done.load(Ordering::Relaxed) {
                    most = most.max(self.now());
                    std::thread::sleep(Duration::from_millis(250));
                }
                most
            });
            let result = work();
            done.store(true, Ordering::Relaxed);
            let most = sampler.join().unwrap_or(0);
            (result, u32::try_from(most).unwrap_or(u32::MAX))
        })
    }
}

fn largest(connections: &[u32]) -> u32 {
    connections.iter().copied().max().unwrap_or(64)
}

/// Phase 4 set-up: moto (on this process's core, the load core) with the table and the sample
/// users, and the environment that points a process at it with the test credentials.
fn start_emulator(runtime: &Runtime) -> Result<(Moto, Vec<(String, String)>)> {
    let moto = Moto::launch(free_port())?;
    runtime.block_on(moto.seed_sample(TABLE))?;
    let env = moto.service_env(TABLE).into_iter();
    let env = env.map(|(k, v)| (k.to_owned(), v)).collect();
    Ok((moto, env))
}

/// Phase 4: the DynamoDB store.
fn dynamodb_load(b: &Bench, aws: &[(String, String)]) -> Result<LoadSection> {
    let k8s = b.k8s_server("k8s-server-dynamodb", aws.iter().cloned())?;
    let node = b.start("node-server-dynamodb", PATH, |port| {
        let mut node = b.node.server(&b.cores, port);
        node.envs(aws.iter().cloned());
        node
    })?;
    let plans = [
        ("k8s-server", false, wrk(0, &[])),
        ("raw GetItem loop", false, Driver::GetItem(aws.to_vec())),
        ("node-http", false, wrk(1, &[])),
    ];
    let connections = &b.args.dynamodb_connections;
    measure(b, DYNAMODB_WARM_UP, connections, &mut [k8s, node], &plans)
}

/// Runs every plan at every connection count, `--runs` times, interleaved (run 1 of everything,
/// then run 2, ...), after one `warm_up` run of each (none when `warm_up` is zero).
fn measure(
    b: &Bench,
    warm_up: Duration,
    connections: &[u32],
    servers: &mut [Server],
    plans: &[Plan],
) -> Result<LoadSection> {
    let args = b.args;
    let mut drive = |(name, _, driver): &Plan, connections: u32, duration: Duration| {
        let result = match driver {
            Driver::Wrk { server, headers } => {
                b.load(&mut servers[*server], connections, duration, headers)
            }
            Driver::GetItem(env) => getitem_loop(&b.cores, env, connections, duration),
        };
        result.with_context(|| format!("{name} at c={connections}"))
    };
    for plan in plans.iter().filter(|_| !warm_up.is_zero()) {
        drive(plan, largest(connections), warm_up)?;
    }
    let mut runs: Vec<Vec<Vec<RunResult>>> = vec![vec![Vec::new(); connections.len()]; plans.len()];
    for round in 1..=args.runs {
        for (c, &conns) in connections.iter().enumerate() {
            for (p, plan) in plans.iter().enumerate() {
                let result = drive(plan, conns, b.duration())?;
                let s = &result.summary;
                println!(
                    "bench: run {round}/{} {:<40} c={conns:<3} {:>9.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  cpu {:>3.0}%  loadgen {:>3.0}%",
                    args.runs,
                    plan.0,
                    s.rps,
                    s.p50_ms,
                    s.p99_ms,
                    s.server_cpu_pct,
                    s.loadgen_cpu_pct
                );
                runs[p][c].push(result);
            }
        }
    }
    let targets = plans
        .iter()
        .zip(runs)
        .map(|((name, variant, driver), by_conns)| {
            let peak_rss_mib = match driver {
                Driver::Wrk { server, .. } if !variant => {
                    servers[*server].process.peak_rss_mib().ok()
                }
                _ => None,
            };
            let points = connections.iter().zip(by_conns);
            Target {
                name: (*name).to_owned(),
                variant: *variant,
                points: points
                    .map(|(&conns, runs)| Point::new(conns, runs))
                    .collect(),
                peak_rss_mib,
            }
        });
    Ok(LoadSection {
        duration_s: args.duration,
        runs: args.runs,
        connections: connections.to_vec(),
        targets: targets.collect(),
    })
}

/// One run of the raw `GetItem` loop on the server core.
fn getitem_loop(
    cores: &Cores,
    env: &[(String, String)],
    connections: u32,
    duration: Duration,
) -> Result<RunResult> {
    /// What `bench/ceiling`'s loop prints.
    #[derive(serde::Deserialize)]
    struct Report {
        requests: f64,
        seconds: f64,
        p50_us: f64,
        p99_us: f64,
        errors: f64,
    }
    let mut command = cores.command(cores.server, Artifacts::locate().ceiling_getitem);
    command
        .args([TABLE, "u-1", &connections.to_string()])
        .arg(duration.as_secs_f64().to_string())
        .envs(env.iter().cloned());
    let before = harness::children_cpu_time()?;
    let output = command.output().context("cannot run ceiling-getitem")?;
    let cpu = harness::children_cpu_time()?.saturating_sub(before);
    if !output.status.success() {
        bail!(
            "ceiling-getitem failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: Report =
        serde_json::from_slice(&output.stdout).context("ceiling-getitem printed no report")?;
    let result = RunResult {
        summary: Summary {
            rps: report.requests / report.seconds,
            p50_ms: report.p50_us / 1e3,
            p99_ms: report.p99_us / 1e3,
            server_cpu_pct: 100.0 * cpu.as_secs_f64() / duration.as_secs_f64(),
            server_user_cpu_pct: 0.0,
            loadgen_cpu_pct: 0.0,
        },
        requests: report.requests as u64,
        errors: report.errors as u64,
    };
    load::check_errors(&result)?;
    Ok(result)
}

/// `command` told what Lambda tells a function (name, memory size, ...) and pointed at DynamoDB
/// `aws`.
fn as_lambda(mut command: Command, aws: &[(String, String)]) -> Command {
    command
        .envs(aws.iter().cloned())
        .env("AWS_LAMBDA_FUNCTION_NAME", "user-lookup")
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            LAMBDA_MEMORY_MB.to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/user-lookup")
        .env("AWS_DEFAULT_REGION", REGION);
    command
}

/// `lambda-fn` (the release `bootstrap`) on the server core as [`as_lambda`] tells it, trusting
/// the root certificates in the file `certificates`.
fn lambda_fn(b: &Bench, aws: &[(String, String)], certificates: &Path) -> Command {
    let mut command = as_lambda(b.program(&b.artifacts.bootstrap, &[]), aws);
    command.env("SSL_CERT_FILE", certificates);
    command
}

/// The API Gateway HTTP API event for `GET` [`PATH`] with `headers`.
fn lambda_event(headers: &[(&str, &str)]) -> Result<Vec<u8>> {
    let event = EventSource::HttpApiDefault.event("GET", PATH, headers);
    Ok(serde_json::to_vec(&event)?)
}

/// One fresh process of the function `name` through the Runtime API: `event` once cold, then `warm`
/// times; fails unless its first answer is 200 with the user u-1.
fn fresh_process(
    name: &str,
    command: &mut Command,
    event: &[u8],
    warm: usize,
) -> Result<ProcessRun> {
    let run = runtime_api::run_function(command, &log_file(name)?, event, warm)?;
    let answer: serde_json::Value = serde_json::from_str(&run.first_response)
        .with_context(|| format!("{name} posted {}", run.first_response))?;
    let found = answer["body"]
        .as_str()
        .is_some_and(|b| b.contains("Ada Lovelace"));
    ensure!(
        answer["statusCode"] == 200 && found,
        "{name} did not answer 200 with u-1: {}",
        run.first_response
    );
    Ok(run)
}

/// Phase 5: the functions through the Runtime API, on DynamoDB (moto), fresh processes interleaved.
fn lambda(b: &Bench, aws: &[(String, String)]) -> Result<LambdaSection> {
    let (args, a) = (b.args, &b.artifacts);
    let with_env = |command: Command| as_lambda(command, aws);
    // As the SAM template configures it: SSL_CERT_FILE names the system's one bundle file, so the
    // SDK's HTTPS client parses that and skips the certificate directory. The diagnostic variant
    // names a file of one certificate instead (the least TLS can trust).
    let (bundle, one_root) = root_certificates()?;
    let rust = |certificates: &Path| lambda_fn(b, aws, certificates);
    let (plain, with_token) = (
        lambda_event(&[])?,
        lambda_event(&[(b.bearer.0, &b.bearer.1)])?,
    );
    // Each function: its name, a fresh process, its event and its warm invocations.
    type Variant<'a> = (&'a str, Box<dyn Fn() -> Command + 'a>, &'a [u8], usize);
    let variants: [Variant; 5] = [
        (
            "lambda-fn",
            Box::new(|| rust(&bundle)),
            &plain,
            args.warm_invokes,
        ),
        (
            "node-lambda",
            Box::new(|| with_env(b.node.lambda(&b.cores))),
            &plain,
            args.warm_invokes,
        ),
        (
            "lambda-fn-one-root",
            Box::new(|| rust(&one_root)),
            &plain,
            0,
        ),
        (
            "ceiling-lambda",
            Box::new(|| with_env(b.program(&a.ceiling_lambda, &[]))),
            &plain,
            0,
        ),
        (
            "lambda-fn-jwt",
            Box::new(|| {
                let mut command = rust(&bundle);
                command.envs(b.auth_env());
                command
            }),
            &with_token,
            0,
        ),
    ];
    let mut runs: [Vec<ProcessRun>; 5] = Default::default();
    // One unmeasured process of each first (page cache, the emulator's caches).
    for i in 0..=args.cold_starts {
        for ((name, command, event, warm), all) in variants.iter().zip(&mut runs) {
            let run = fresh_process(name, &mut command(), event, *warm)?;
            let cold_ms = run.cold_start.as_secs_f64() * 1e3;
            println!(
                "bench: lambda process {i}/{}: {name} cold start {cold_ms:.1} ms",
                args.cold_starts
            );
            if i > 0 {
                all.push(run);
            }
        }
    }
    let [rust, node, rust_one_root_certificate, floor, rust_jwt] = runs.map(|runs| function(&runs));
    Ok(LambdaSection {
        warm_invoke_ms_p50: rust.warm_invoke_ms_p50,
        peak_rss_mib: rust.peak_rss_mib,
        memory_mb: LAMBDA_MEMORY_MB,
        rust,
        node,
        rust_one_root_certificate,
        floor,
        rust_jwt,
    })
}

/// The system's bundle of root certificates (where Debian or Amazon Linux keep it), and a file of its
/// first certificate alone, `target/bench/one-root.pem`.
fn root_certificates() -> Result<(PathBuf, PathBuf)> {
    const END: &str = "-----END CERTIFICATE-----";
    let bundles = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ];
    let bundle = (bundles.into_iter().map(PathBuf::from))
        .find(|path| path.is_file())
        .context("no bundle of root certificates: apt-get install ca-certificates")?;
    let text = std::fs::read_to_string(&bundle)?;
    let end = text
        .find(END)
        .context("a certificate bundle without a certificate")?
        + END.len();
    let one = bench_dir().join("one-root.pem");
    std::fs::write(&one, format!("{}\n", &text[..end]))?;
    Ok((bundle, one))
}

/// Medians of the processes' runs.
fn function(runs: &[ProcessRun]) -> Function {
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
    let mut load = procfs::load_average();
    if load >= 0.5 && !limit.is_zero() {
        println!(
            "bench: waiting up to {limit:?} for the load average ({load:.2}) to fall below 0.5"
        );
    }
    while load >= 0.5 && started.elapsed() < limit {
        std::thread::sleep(Duration::from_secs(5));
        load = procfs::load_average();
    }
}

fn sample_load(at: &str) -> LoadSample {
    let load1 = procfs::load_average();
    LoadSample {
        at: at.to_owned(),
        load1,
    }
}

// Not `tests`: that name is the crate of the test plumbing here.
#[cfg(test)]
mod writing {
    use super::*;

    #[test]
    fn a_run_written_to_a_new_folder_gets_the_page_of_its_json() {
        // GIVEN the committed run and a folder without a page
        let docs = workspace_root().join("docs");
        let results = Results::read(&docs.join("benchmarks.json")).unwrap();
        let dir = std::env::temp_dir().join(format!("bench-write-{}", std::process::id()));

        // WHEN the run is written there
        write(&dir, &results).unwrap();

        // THEN the page is the committed one, and the JSON reads back
        let read = |path: PathBuf| std::fs::read_to_string(path).unwrap();
        let page = read(dir.join("benchmarks.md"));
        let again = Results::read(&dir.join("benchmarks.json")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(page == read(docs.join("benchmarks.md")));
        assert_eq!(again.machine.date, results.machine.date);
    }
}
