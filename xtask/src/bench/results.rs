//! Everything one bench run measured: what `docs/benchmarks.json` holds and the page is rendered from.
//! Durations are in ms, memory in MiB, CPU in % of one core, sizes in bytes.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::harness::{Cores, median};

/// The whole run.
#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    pub machine: Machine,
    /// The servers on the embedded store, beside the bare-hyper ceiling.
    pub embedded: LoadSection,
    /// The servers on DynamoDB in moto (the emulator), beside the raw `GetItem` loop.
    pub dynamodb: LoadSection,
    /// `k8s-server`'s start-up and memory.
    pub server: ServerFacts,
    /// `k8s-server` holding thousands of open keep-alive connections.
    pub scale: Scale,
    pub lambda: LambdaSection,
    /// Lambda as it runs on AWS: CPU share per memory size, TLS (absent from runs before it).
    #[serde(default)]
    pub lambda_aws: Option<AwsLambda>,
    /// What exporting traces costs both targets (absent from runs before it).
    #[serde(default)]
    pub tracing: Option<Tracing>,
    pub sizes: Sizes,
    /// The criterion benchmarks, fastest first.
    pub micro: Vec<Micro>,
}

impl Results {
    /// Reads a run written by [`Results::write`].
    pub fn read(path: &Path) -> Result<Results> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a bench result", path.display()))
    }

    /// Writes the run as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// The machine and the conditions of the run: `/proc/cpuinfo`'s model, `uname -sr`, `rustc -V`,
/// `node --version`, `wrk -v`, the emulator's name, and the one-minute load average sampled before
/// the builds and before each phase.
#[derive(Debug, Serialize, Deserialize)]
pub struct Machine {
    /// When the measurements started (UTC).
    pub date: String,
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    pub pinning: Cores,
    pub kernel: String,
    pub rustc: String,
    pub node: String,
    pub wrk: String,
    pub dynamodb_emulator: String,
    pub load_average: Vec<LoadSample>,
}

/// The one-minute load average `load1` at the moment `at`.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoadSample {
    pub at: String,
    pub load1: f64,
}

/// Servers measured with the same plan: `runs` interleaved runs of `duration_s` at each connection
/// count.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoadSection {
    pub duration_s: u64,
    pub runs: usize,
    pub connections: Vec<u32>,
    pub targets: Vec<Target>,
}

impl LoadSection {
    /// The medians of the target `name` at `connections`.
    pub fn at(&self, name: &str, connections: u32) -> Option<&Summary> {
        let target = self.targets.iter().find(|t| t.name == name)?;
        let point = target
            .points
            .iter()
            .find(|p| p.connections == connections)?;
        Some(&point.median)
    }
}

/// One server under the plan; a `variant` (a diagnostic) is left out of the chart.
#[derive(Debug, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    pub variant: bool,
    /// One per connection count.
    pub points: Vec<Point>,
    /// After all its runs (none for the raw loop, a new process each run, or a variant).
    pub peak_rss_mib: Option<f64>,
}

/// Every run at one connection count (or count of loop tasks), and their medians field by field.
#[derive(Debug, Serialize, Deserialize)]
pub struct Point {
    pub connections: u32,
    pub runs: Vec<RunResult>,
    pub median: Summary,
}

impl Point {
    /// A point with `runs`, medians computed.
    pub fn new(connections: u32, runs: Vec<RunResult>) -> Point {
        let of = |field: fn(&Summary) -> f64| {
            median(&runs.iter().map(|r| field(&r.summary)).collect::<Vec<_>>())
        };
        let median = Summary {
            rps: of(|s| s.rps),
            p50_ms: of(|s| s.p50_ms),
            p99_ms: of(|s| s.p99_ms),
            server_cpu_pct: of(|s| s.server_cpu_pct),
            server_user_cpu_pct: of(|s| s.server_user_cpu_pct),
            loadgen_cpu_pct: of(|s| s.loadgen_cpu_pct),
        };
        Point {
            connections,
            runs,
            median,
        }
    }
}

/// One load run against one server: its figures, the answers received and the failures (non-2xx
/// answers plus socket errors).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    #[serde(flatten)]
    pub summary: Summary,
    pub requests: u64,
    pub errors: u64,
}

/// The figures of a run, or their medians over runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Successful answers per second.
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The server's CPU (100 = its core was busy the whole run).
    pub server_cpu_pct: f64,
    /// Of which in the server's own code (user space); the rest is the kernel's, mostly TCP
    /// (0 where not split: the raw loop runs as a child, whose times are only summed).
    pub server_user_cpu_pct: f64,
    /// The load generator's (near 100 = it, not the server, was the limit; 0 for the raw loop).
    pub loadgen_cpu_pct: f64,
}

/// `k8s-server`'s start-to-ready (spawn → first 200 on `/readyz`, each fresh process) and the peak
/// RSS of a fresh process after one run at the largest connection count (`peak_rss_requests`
/// answers), after a second identical run (growth per 100,000 requests of it), and of the process
/// that served every embedded-store run.
#[derive(Debug, Serialize, Deserialize)]
pub struct ServerFacts {
    pub start_to_ready_ms: Vec<f64>,
    pub start_to_ready_ms_p50: f64,
    pub peak_rss_mib: f64,
    pub peak_rss_requests: u64,
    pub peak_rss_after_second_run_mib: f64,
    pub rss_growth_kib_per_100k_requests: f64,
    pub peak_rss_after_all_runs_mib: f64,
}

/// One fresh `k8s-server` at the usual largest connection count (`baseline_*`), then at thousands
/// of open keep-alive connections; the medians and the peak RSS after each, and what each
/// connection beyond the baseline added to it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Scale {
    pub baseline_connections: u32,
    pub baseline: Summary,
    pub baseline_peak_rss_mib: f64,
    pub connections: u32,
    pub wide: Summary,
    pub peak_rss_mib: f64,
    pub rss_per_connection_kib: f64,
    /// The widest point, after `connections` on the same process (absent from runs before it).
    #[serde(default)]
    pub widest: Option<Widest>,
}

/// The scale phase's widest point: `--widest-connections` open keep-alive connections, or as many
/// as the open-files limit leaves room for when that is fewer (each socket is an open file in the
/// server and one in wrk, each process under the same limit).
#[derive(Debug, Serialize, Deserialize)]
pub struct Widest {
    /// `--widest-connections`.
    pub requested_connections: u32,
    /// The hard limit of open files the server and wrk ran under (`None`: unlimited).
    pub open_files_hard_limit: Option<u64>,
    /// The files under that limit left to each process's own use (listeners, epoll, stdio, ...).
    pub open_files_reserve: u64,
    /// The connections measured: the requested count, or the limit less the reserve.
    pub connections: u32,
    pub summary: Summary,
    pub peak_rss_mib: f64,
    /// The most connections the server held at once (its open files, sampled every 250 ms).
    #[serde(default)]
    pub most_open_at_once: Option<u32>,
    /// What each connection beyond the scale point's added to the peak RSS.
    pub rss_per_connection_kib: f64,
    /// Derived, not measured: the peak RSS at the requested count along that slope, only when
    /// fewer connections were measured.
    #[serde(default)]
    pub extrapolated_peak_rss_mib_at_requested: Option<f64>,
}

/// The open-files limits of a point: what was asked, the hard limit and the reserve under it.
#[derive(Debug, Clone, Copy)]
pub struct OpenFiles {
    pub requested_connections: u32,
    pub hard_limit: Option<u64>,
    pub reserve: u64,
}

impl OpenFiles {
    /// The connections that fit: the requested count, or the hard limit less the reserve.
    pub fn connections(&self) -> u32 {
        let fit = |hard: u64| hard.saturating_sub(self.reserve);
        let fit = self.hard_limit.map_or(u64::MAX, fit);
        u32::try_from(fit.min(u64::from(self.requested_connections))).unwrap_or(u32::MAX)
    }
}

impl Widest {
    /// The point measured at `connections` (`summary`, `peak_rss_mib`) under `files`, after the
    /// scale point's `from` connections and its peak RSS `from_peak_rss_mib` on the same process.
    pub fn new(
        files: OpenFiles,
        connections: u32,
        summary: Summary,
        peak_rss_mib: f64,
        (from, from_peak_rss_mib): (u32, f64),
    ) -> Widest {
        let added = f64::from(connections.saturating_sub(from).max(1));
        let per_connection_mib = (peak_rss_mib - from_peak_rss_mib) / added;
        let missing = files.requested_connections.saturating_sub(connections);
        Widest {
            requested_connections: files.requested_connections,
            open_files_hard_limit: files.hard_limit,
            open_files_reserve: files.reserve,
            connections,
            summary,
            peak_rss_mib,
            most_open_at_once: None,
            rss_per_connection_kib: per_connection_mib * 1024.0,
            extrapolated_peak_rss_mib_at_requested: (missing > 0)
                .then(|| peak_rss_mib + per_connection_mib * f64::from(missing)),
        }
    }
}

/// The Lambda functions through the Runtime API. The first three fields are `lambda-fn`'s (what
/// `cargo xtask cost --measured` reads), `memory_mb` the size the processes were told.
#[derive(Debug, Serialize, Deserialize)]
pub struct LambdaSection {
    pub warm_invoke_ms_p50: f64,
    pub peak_rss_mib: f64,
    pub memory_mb: u32,
    /// `lambda-fn`, the release `bootstrap`.
    pub rust: Function,
    /// The seed's Node.js handler.
    pub node: Function,
    /// Diagnostic: `lambda-fn` with `SSL_CERT_FILE` naming one root certificate, to show what
    /// loading the trust store costs at init.
    pub rust_one_root_certificate: Function,
    /// The floor: a bare `lambda_runtime` function with a static answer.
    pub floor: Function,
    /// `lambda-fn` with `AUTH=jwt`: its first invocation fetches the key set and verifies a token.
    pub rust_jwt: Function,
}

/// One function, fresh processes: init (spawn → the first `next`), cold start (spawn → the first
/// response), every warm invocation, and the largest peak RSS. Only `lambda-fn` and the Node.js
/// handler get warm invocations.
#[derive(Debug, Serialize, Deserialize)]
pub struct Function {
    pub init_ms: Vec<f64>,
    pub init_ms_p50: f64,
    pub cold_start_ms: Vec<f64>,
    pub cold_start_ms_p50: f64,
    pub warm_invoke_ms: Vec<f64>,
    pub warm_invoke_ms_p50: f64,
    pub warm_invoke_ms_p99: f64,
    pub peak_rss_mib: f64,
}

/// Lambda as it runs on AWS (`aws_lambda`): when and at what load it was measured, or why not, and
/// per memory size each function's figures beside the published reference.
#[derive(Debug, Serialize, Deserialize)]
pub struct AwsLambda {
    pub date: String,
    pub load1: f64,
    /// Why the phase measured nothing (no writable CPU cgroup), and what to do.
    pub not_measured: Option<String>,
    /// The CFS period of the CPU groups.
    pub period_ms: f64,
    pub published: Published,
    /// How close (a fraction) the 128 MB hello-world inits must come to the published ones.
    pub calibration_tolerance: f64,
    /// `STORE_CONNECT_AT_INIT`'s default when measured: `lambda-fn`'s rows ran with it, the variant
    /// with the other setting (runs before it was recorded: `true`).
    #[serde(default = "connected_at_init_by_default")]
    pub default_connects_at_init: bool,
    /// Whether the functions reached moto through the keep-alive front (TLS ended there, the
    /// connection reused as DynamoDB's is) rather than moto's own HTTPS, which closes every
    /// connection (runs before it: `false`).
    #[serde(default)]
    pub keepalive_front: bool,
    /// The `MAJOR.MINOR` of the Python that ran the Python hello world (none in runs before it).
    #[serde(default)]
    pub python_version: Option<String>,
    pub sizes: Vec<AwsSize>,
}

fn connected_at_init_by_default() -> bool {
    true
}

/// lambda-perf's hello-world figures at `sizes_mb`: init, and the duration of the first invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Published {
    pub source: String,
    pub rust_al2023_init_ms: [f64; 3],
    pub node20_init_ms: [f64; 3],
    pub rust_al2023_duration_ms: [f64; 3],
    pub node20_duration_ms: [f64; 3],
    pub sizes_mb: [u32; 3],
    /// The Python hello world of the version measured here, at 128 MB (none in runs before it, or
    /// when lambda-perf publishes no figure for that version).
    #[serde(default)]
    pub python: Option<PublishedPython>,
}

/// lambda-perf's Python hello world of one version at 128 MB: init and first invocation, ms.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishedPython {
    pub version: String,
    pub init_ms: f64,
    pub duration_ms: f64,
}

/// One memory size: its share of a core, the functions, and the limit (the floor's init plus the
/// first TLS `GetItem` of a bare SDK client at that share).
#[derive(Debug, Serialize, Deserialize)]
pub struct AwsSize {
    pub memory_mb: u32,
    pub share: f64,
    pub limit_ms: f64,
    pub first_getitem_ms: Vec<f64>,
    pub first_getitem_ms_p50: f64,
    /// The bare client's first `GetItem`, its CPU time (every thread), ms (none in runs before it
    /// was measured).
    #[serde(default)]
    pub first_getitem_cpu_ms_p50: Option<f64>,
    /// `lambda-fn` as deployed (`STORE_CONNECT_AT_INIT` at its default).
    pub rust: AwsFunction,
    /// `lambda-fn` with `STORE_CONNECT_AT_INIT` set the other way than its default
    /// ([`AwsLambda::default_connects_at_init`]; none in runs before it was measured).
    #[serde(default, alias = "rust_connect_at_first_request")]
    pub rust_other_connect: Option<AwsFunction>,
    /// The bare `lambda_runtime` hello world.
    pub floor: AwsFunction,
    /// The seed's Node.js handler (SDK v3).
    pub node: AwsFunction,
    /// A hello-world Node.js handler (no SDK), lambda-perf's kind.
    pub node_hello: AwsFunction,
    /// A hello-world Python handler (standard library only), the calibration's check (none in runs
    /// before it).
    #[serde(default)]
    pub python_hello: Option<AwsFunction>,
}

impl AwsSize {
    /// Every function measured at this size.
    pub fn functions_mut(&mut self) -> impl Iterator<Item = &mut AwsFunction> {
        [
            &mut self.rust,
            &mut self.floor,
            &mut self.node,
            &mut self.node_hello,
        ]
        .into_iter()
        .chain(self.rust_other_connect.as_mut())
        .chain(self.python_hello.as_mut())
    }
}

/// One function at one size, medians over fresh processes: init, the first request's own duration
/// (first `next` → its response), the cold request as the caller sees it (spawn → first response),
/// what Lambda bills for it (init + first request, each rounded up to the ms), warm invocations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AwsFunction {
    pub init_ms_p50: f64,
    pub first_request_ms_p50: f64,
    pub cold_request_ms_p50: f64,
    pub billed_cold_ms_p50: f64,
    pub warm_ms_p50: Option<f64>,
    pub warm_ms_p99: Option<f64>,
    pub cold_request_ms: Vec<f64>,
    /// CPU time (every thread, as the function's cgroup counts it) of init and of the first
    /// request, ms (none in runs before it was measured).
    #[serde(default)]
    pub init_cpu_ms_p50: Option<f64>,
    #[serde(default)]
    pub first_request_cpu_ms_p50: Option<f64>,
    /// Peak resident memory at the first `next` (what init touched), MiB (none in runs before it
    /// was measured).
    #[serde(default)]
    pub init_rss_mib_p50: Option<f64>,
    /// Init and the cold request with the platform's part of init added, ms: what AWS would show,
    /// written only when the run's calibration holds (`figures::Calibration`); the decision lab
    /// reads them in place of the measured ones.
    #[serde(default)]
    pub on_aws: Option<OnAws>,
}

/// A function's init and cold request as the calibration puts them on AWS, ms.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct OnAws {
    pub init_ms: f64,
    pub cold_request_ms: f64,
}

/// Artifact sizes: `target/server/k8s-server`, the Lambda `bootstrap` and its zip, the part of
/// `bootstrap` that is unwind tables (what `panic = "unwind"` keeps in a stripped binary), and the
/// Node.js handler's `node_modules`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Sizes {
    pub k8s_server: u64,
    pub bootstrap: u64,
    pub bootstrap_zip: u64,
    pub bootstrap_unwind_tables: u64,
    pub node_modules: u64,
}

/// One criterion benchmark, `group/name`, and its median time per iteration.
#[derive(Debug, Serialize, Deserialize)]
pub struct Micro {
    pub name: String,
    pub median_ns: f64,
}

/// What OpenTelemetry tracing costs, exporting over OTLP/HTTP to a receiver in the bench (on
/// loopback, decoding every request): `k8s-server` under wrk with tracing off and with each sampler,
/// and `lambda-fn`'s warm invocations with export off and on.
#[derive(Debug, Serialize, Deserialize)]
pub struct Tracing {
    /// `k8s-server` on the embedded store, `RUST_LOG=info`: one target per way of tracing.
    pub server: LoadSection,
    /// Spans in one request's whole trace (one request to the every-span server, then its export).
    pub spans_per_trace: u64,
    /// Per traced target of `server`: the spans the receiver decoded during its measured runs.
    pub received: Vec<SpansReceived>,
    /// `lambda-fn` (on DynamoDB in the emulator) with export off.
    pub lambda_off: Function,
    /// `lambda-fn` exporting every span (`always_on`), flushed before each response is posted.
    pub lambda_on: Function,
    /// Spans the receiver decoded per `lambda-fn` invocation with export on.
    pub lambda_spans_per_invocation: f64,
}

/// The spans a traced target's measured runs delivered, beside the requests they answered.
#[derive(Debug, Serialize, Deserialize)]
pub struct SpansReceived {
    pub name: String,
    pub spans: u64,
    pub requests: u64,
}

#[cfg(test)]
mod tests {
    use super::OpenFiles;

    fn fit(requested_connections: u32, hard_limit: Option<u64>) -> u32 {
        let files = OpenFiles {
            requested_connections,
            hard_limit,
            reserve: 80,
        };
        files.connections()
    }

    #[test]
    fn the_widest_point_is_what_the_hard_limit_leaves_beside_each_processs_own_files() {
        // 20,000 sockets and 80 files of its own do not fit under 20,000: 19,920 do.
        assert_eq!(fit(20_000, Some(20_000)), 19_920);
        // Enough room, or no limit: the requested count.
        assert_eq!(fit(20_000, Some(20_080)), 20_000);
        assert_eq!(fit(20_000, Some(1_048_576)), 20_000);
        assert_eq!(fit(20_000, None), 20_000);
        // A limit below the reserve leaves none.
        assert_eq!(fit(20_000, Some(50)), 0);
    }
}
