//! Everything one bench run measured: what `docs/benchmarks.json` holds and the report is made from.

use serde::{Deserialize, Serialize};

use super::harness::{Cores, median};
use super::load::RunResult;

/// The whole run.
#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    /// Where and when.
    pub machine: Machine,
    /// The servers on the embedded store (and the bare-hyper ceiling).
    pub embedded: LoadSection,
    /// The servers on DynamoDB in moto, the emulator (and the raw `GetItem` loop).
    pub dynamodb: LoadSection,
    /// `k8s-server` facts besides throughput.
    pub server: ServerFacts,
    /// `k8s-server` holding thousands of open keep-alive connections (absent from older runs).
    #[serde(default)]
    pub scale: Option<Scale>,
    /// `lambda-fn` and the Node.js handler through the Runtime API. `warm_invoke_ms_p50`,
    /// `peak_rss_mib` and `memory_mb` at this level are `lambda-fn`'s (`cargo xtask cost --measured`
    /// reads them).
    pub lambda: LambdaSection,
    /// Artifact sizes.
    pub sizes: Sizes,
    /// The criterion micro-benchmarks of the in-process path.
    pub micro: Vec<Micro>,
}

/// The machine and the conditions of the run.
#[derive(Debug, Serialize, Deserialize)]
pub struct Machine {
    /// When the measurements started (UTC).
    pub date: String,
    /// `/proc/cpuinfo`'s model name.
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// Core assignment.
    pub pinning: Cores,
    /// `uname -sr`.
    pub kernel: String,
    /// `rustc -V`.
    pub rustc: String,
    /// `node --version`.
    pub node: String,
    /// `wrk -v`.
    pub wrk: String,
    /// What served DynamoDB in the DynamoDB and Lambda phases, as the page names it.
    pub dynamodb_emulator: String,
    /// One-minute load average sampled at each phase (before the builds, then before each phase).
    pub load_average: Vec<LoadSample>,
}

/// The load average at one moment.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoadSample {
    /// Which moment.
    pub at: String,
    /// The one-minute load average then.
    pub load1: f64,
}

/// Servers measured with the same load plan.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoadSection {
    /// Seconds per run.
    pub duration_s: u64,
    /// Runs per server and connection count (interleaved).
    pub runs: usize,
    /// The connection counts.
    pub connections: Vec<u32>,
    /// Each server.
    pub targets: Vec<Target>,
}

impl LoadSection {
    /// The target named `name`.
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }
}

/// One server under the load plan.
#[derive(Debug, Serialize, Deserialize)]
pub struct Target {
    /// Its name in the report.
    pub name: String,
    /// Whether it belongs in the summary (diagnostic variants do not).
    pub variant: bool,
    /// One entry per connection count.
    pub points: Vec<Point>,
    /// Peak RSS after all its runs, in MiB (none for the raw loop, a new process each run).
    pub peak_rss_mib: Option<f64>,
}

impl Target {
    /// The medians at `connections`.
    pub fn at(&self, connections: u32) -> Option<&Summary> {
        self.points
            .iter()
            .find(|p| p.connections == connections)
            .map(|p| &p.median)
    }
}

/// All runs at one connection count.
#[derive(Debug, Serialize, Deserialize)]
pub struct Point {
    /// Open connections (or concurrent loop tasks).
    pub connections: u32,
    /// Every run.
    pub runs: Vec<RunResult>,
    /// Their medians.
    pub median: Summary,
}

impl Point {
    /// A point with `runs`, medians computed.
    pub fn new(connections: u32, runs: Vec<RunResult>) -> Point {
        let of = |field: fn(&RunResult) -> f64| median(&runs.iter().map(field).collect::<Vec<_>>());
        let median = Summary {
            rps: of(|r| r.rps),
            p50_ms: of(|r| r.p50_ms),
            p99_ms: of(|r| r.p99_ms),
            server_cpu_pct: of(|r| r.server_cpu_pct),
            server_user_cpu_pct: of(|r| r.server_user_cpu_pct),
            loadgen_cpu_pct: of(|r| r.loadgen_cpu_pct),
        };
        Point {
            connections,
            runs,
            median,
        }
    }
}

/// Medians over runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Answers per second.
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th-percentile latency, ms.
    pub p99_ms: f64,
    /// Server CPU, % of one core.
    pub server_cpu_pct: f64,
    /// Of which in user space, % of one core (0 in results written before it was measured).
    #[serde(default)]
    pub server_user_cpu_pct: f64,
    /// Load generator CPU, % of one core.
    pub loadgen_cpu_pct: f64,
}

/// `k8s-server` facts besides throughput.
#[derive(Debug, Serialize, Deserialize)]
pub struct ServerFacts {
    /// Spawn to the first 200 on `/readyz`, each fresh process, ms.
    pub start_to_ready_ms: Vec<f64>,
    /// Their median.
    pub start_to_ready_ms_p50: f64,
    /// Peak RSS of a fresh process after one run at the largest connection count, MiB.
    pub peak_rss_mib: f64,
    /// Requests that run answered.
    pub peak_rss_requests: u64,
    /// Peak RSS after a second, identical run, MiB (more than the first = memory grows with requests).
    pub peak_rss_after_second_run_mib: f64,
    /// Growth between the two runs per 100,000 requests of the second run, KiB.
    pub rss_growth_kib_per_100k_requests: f64,
    /// Peak RSS of the process that served every embedded-store run, MiB.
    pub peak_rss_after_all_runs_mib: f64,
}

/// One fresh `k8s-server` under a load at the usual connection count, then at thousands.
#[derive(Debug, Serialize, Deserialize)]
pub struct Scale {
    /// The usual connection count, and the medians there.
    pub baseline_connections: u32,
    /// Medians at `baseline_connections`.
    pub baseline: Summary,
    /// Peak RSS after the baseline runs, MiB.
    pub baseline_peak_rss_mib: f64,
    /// Open keep-alive connections of the wide runs.
    pub connections: u32,
    /// Medians at `connections`.
    pub wide: Summary,
    /// Peak RSS after the wide runs, MiB.
    pub peak_rss_mib: f64,
    /// What each connection beyond the baseline added to the peak RSS, KiB.
    pub rss_per_connection_kib: f64,
}

/// The Lambda functions.
#[derive(Debug, Serialize, Deserialize)]
pub struct LambdaSection {
    /// `lambda-fn`'s median warm invocation, ms.
    pub warm_invoke_ms_p50: f64,
    /// `lambda-fn`'s peak RSS after its invocations (largest over the processes), MiB.
    pub peak_rss_mib: f64,
    /// The memory size the processes were told (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    pub memory_mb: u32,
    /// `lambda-fn` (the release `bootstrap`).
    pub rust: Function,
    /// The seed's Node.js handler.
    pub node: Function,
    /// Diagnostic: `lambda-fn` with `SSL_CERT_FILE` naming one root certificate instead of the system
    /// store, to show what loading the trust store costs at init (no warm invocations).
    pub rust_one_root_certificate: Option<Function>,
    /// The floor: a bare `lambda_runtime` function with a static answer (no warm invocations).
    #[serde(default)]
    pub floor: Option<Function>,
    /// `lambda-fn` with `AUTH=jwt`: its first invocation fetches the key set and verifies the token.
    #[serde(default)]
    pub rust_jwt: Option<Function>,
}

/// One function measured through the Runtime API.
#[derive(Debug, Serialize, Deserialize)]
pub struct Function {
    /// Spawn to the first `next` request (the init phase), each fresh process, ms.
    pub init_ms: Vec<f64>,
    /// Their median.
    pub init_ms_p50: f64,
    /// Spawn to the first response, each fresh process, ms.
    pub cold_start_ms: Vec<f64>,
    /// Their median.
    pub cold_start_ms_p50: f64,
    /// Every warm invocation of every process, ms.
    pub warm_invoke_ms: Vec<f64>,
    /// Their median.
    pub warm_invoke_ms_p50: f64,
    /// Their 99th percentile.
    pub warm_invoke_ms_p99: f64,
    /// Largest peak RSS over the processes, MiB.
    pub peak_rss_mib: f64,
}

/// Artifact sizes in bytes.
#[derive(Debug, Serialize, Deserialize)]
pub struct Sizes {
    /// `target/server/k8s-server`.
    pub k8s_server: u64,
    /// `target/lambda/lambda-fn/bootstrap`.
    pub bootstrap: u64,
    /// `bootstrap.zip`, the Lambda deployment package.
    pub bootstrap_zip: u64,
    /// The part of `bootstrap` that is unwind tables (`.eh_frame`, `.eh_frame_hdr`,
    /// `.gcc_except_table`): what `panic = "unwind"` keeps in a stripped binary.
    #[serde(default)]
    pub bootstrap_unwind_tables: u64,
    /// The Node.js handler's `node_modules` (uncompressed).
    pub node_modules: u64,
}

/// One criterion benchmark.
#[derive(Debug, Serialize, Deserialize)]
pub struct Micro {
    /// `group/name`.
    pub name: String,
    /// Median time per iteration, ns.
    pub median_ns: f64,
}
