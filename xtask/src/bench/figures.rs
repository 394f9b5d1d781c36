//! What `docs/benchmarks.md` shows beyond the run's own data: ratios, differences, CPU per request,
//! and each target's goal and verdict, computed from one [`Results`]. How they are written (the
//! prose, the tables, the units and decimals) is the template's, `xtask/templates/benchmarks.md`.

use anyhow::{Context, Result};
use serde::Serialize;

use super::harness::median;
use super::results::{
    AwsFunction, AwsLambda, AwsSize, Function, LoadSection, OnAws, Results, Summary, Tracing,
};
use super::tracing_cost;

/// The bare-hyper ceiling's name in the embedded section.
pub const CEILING: &str = "ceiling";
/// `k8s-server`'s name in both sections.
pub const SERVER: &str = "k8s-server";
/// The Node.js server's name in both sections.
const NODE: &str = "node-http";
/// `k8s-server` with `AUTH=jwt`'s name in the embedded section.
const AUTH: &str = "k8s-server, AUTH=jwt";
/// The bare axum router's name in the embedded section.
pub const AXUM: &str = "axum-bare";
/// The raw loop's name in the DynamoDB section.
const RAW: &str = "raw GetItem loop";
/// An in-region DynamoDB round trip, ms, to show what the server's added latency is worth there.
const IN_REGION_GETITEM_MS: f64 = 4.0;
/// Up to this growth of RSS per 100,000 requests (under 3 bytes a request) is allocator and page
/// noise, not growth.
const NOISE_KIB_PER_100K_REQUESTS: f64 = 256.0;

/// The page's context: the run as written to benchmarks.json, and the figures derived from it.
#[derive(Serialize)]
pub struct Figures<'a> {
    pub run: &'a Results,
    pub plan: Plan,
    /// The largest connection count of the embedded store.
    pub most_connections: u32,
    /// The embedded store, at each connection count.
    pub embedded: Vec<EmbeddedAt>,
    /// The embedded-store table, compared with the ceiling.
    pub embedded_table: LoadTable<'a>,
    pub server: ServerChecks,
    pub scale: ScaleChecks,
    pub lambda: LambdaFigures<'a>,
    /// One uncached token verification, per algorithm.
    pub verify_uncached: Vec<Verification>,
    /// Lambda `bootstrap`, MB.
    pub bootstrap_size: Check,
    /// The DynamoDB store, at each connection count.
    pub dynamodb: Vec<DynamodbAt>,
    /// The DynamoDB table, compared with the raw loop.
    pub dynamodb_table: LoadTable<'a>,
    /// The DynamoDB store's latency at its fewest connections (none in a run without the section).
    pub round_trip: Option<RoundTrip>,
    pub breakdown: Breakdown,
    /// Lambda as it runs on AWS, when the run measured it.
    pub aws: Option<AwsFigures>,
    /// What tracing costs, when the run measured it.
    pub tracing: Option<TracingFigures<'a>>,
}

/// The goals and the calibration of Lambda as it runs on AWS.
#[derive(Serialize)]
pub struct AwsFigures {
    /// Fresh processes per function and size.
    pub processes: usize,
    /// The 128 MB hello-world inits over the published ones (1 = equal), as measured: the floor's
    /// and the Node.js hello world's.
    pub floor_vs_published: f64,
    pub node_hello_vs_published: f64,
    /// What the emulation leaves out of an init, fitted and checked (none in runs before the init
    /// memory was measured).
    pub calibration: Option<Calibration>,
    /// The calibration holds: only then are the calibrated figures quoted as AWS's.
    pub calibrated: bool,
    /// Per memory size: the cold request over the limit (goal ≤ 5 ms), and the Node.js handler's
    /// cold request over lambda-fn's.
    pub sizes: Vec<AwsSizeChecks>,
    /// At 128 MB: Node.js handler's cold request / lambda-fn's, calibrated where the run's
    /// calibration holds, else as measured (goal ≥ 30), and as measured.
    pub vs_node_128: Option<Check>,
    pub vs_node_128_raw: Option<f64>,
    /// At 1,769 MB: lambda-fn's init over the floor's, goal ≤ 2 ms.
    pub init_over_floor_1769: Option<Check>,
}

/// What a published init holds that no process here pays (the Firecracker VM, placement, the first
/// touch of each page of the VM's memory), modelled as `fixed_ms + per_mib_ms × MiB` touched during
/// init (the process's peak RSS at its first `next`), and fitted so that the Rust floor and the
/// Node.js hello world each reproduce their published init at 128 MB exactly (their inits here taken
/// over every size, as init is not throttled). The check is a third
/// runtime, fitted on nothing: the Python hello world's init plus the model's part must come within
/// the tolerance of its published figure. Beside it, the other simple model one could fit to the
/// same two runtimes, a CPU that runs init `cpu_factor` times slower plus a fixed part, and how it
/// does on the same check.
#[derive(Serialize)]
pub struct Calibration {
    pub fixed_ms: f64,
    pub per_mib_ms: f64,
    /// The inits (ms) and init memory (MiB) fitted and checked: medians of the four sizes' medians
    /// (init runs unthrottled at every size).
    pub floor_init_ms: f64,
    pub node_hello_init_ms: f64,
    pub floor_rss_mib: f64,
    pub node_hello_rss_mib: f64,
    pub python_version: String,
    pub python_init_ms: f64,
    pub python_rss_mib: f64,
    pub python_calibrated_ms: f64,
    /// None when lambda-perf publishes no figure for this Python version.
    pub python_published_ms: Option<f64>,
    pub python_vs_published: Option<f64>,
    pub cpu_factor: f64,
    pub cpu_fixed_ms: f64,
    pub cpu_python_vs_published: Option<f64>,
    /// Both parts of the fit at least zero (a platform does not give time back).
    pub physical: bool,
    /// Physical, and the Python check within the tolerance.
    pub holds: bool,
}

impl Calibration {
    /// Fits the model to the run's hello worlds and checks it on the Python one; none when the run
    /// lacks a figure it needs (runs before the init memory or the Python hello world).
    pub fn fit(aws: &AwsLambda) -> Option<Calibration> {
        let published = &aws.published;
        let (floor_ms, floor_mib) = init_over_sizes(aws, |s| Some(&s.floor))?;
        let (node_ms, node_mib) = init_over_sizes(aws, |s| Some(&s.node_hello))?;
        let (python_ms, python_rss_mib) = init_over_sizes(aws, |s| s.python_hello.as_ref())?;
        let (floor_gap, node_gap) = (
            published.rust_al2023_init_ms[0] - floor_ms,
            published.node20_init_ms[0] - node_ms,
        );
        let per_mib_ms = (node_gap - floor_gap) / (node_mib - floor_mib);
        let fixed_ms = floor_gap - per_mib_ms * floor_mib;
        let cpu_factor =
            (published.node20_init_ms[0] - published.rust_al2023_init_ms[0]) / (node_ms - floor_ms);
        let cpu_fixed_ms = published.rust_al2023_init_ms[0] - cpu_factor * floor_ms;
        let python_calibrated_ms = python_ms + fixed_ms + per_mib_ms * python_rss_mib;
        let python_published_ms = (published.python.as_ref()).map(|p| p.init_ms);
        let python_vs_published = python_published_ms.map(|p| python_calibrated_ms / p);
        let physical = fixed_ms >= 0.0 && per_mib_ms >= 0.0 && per_mib_ms.is_finite();
        let within = |ratio: f64| (ratio - 1.0).abs() <= aws.calibration_tolerance;
        Some(Calibration {
            fixed_ms,
            per_mib_ms,
            floor_rss_mib: floor_mib,
            node_hello_rss_mib: node_mib,
            python_version: aws.python_version.clone().unwrap_or_default(),
            floor_init_ms: floor_ms,
            node_hello_init_ms: node_ms,
            python_init_ms: python_ms,
            python_rss_mib,
            python_calibrated_ms,
            python_published_ms,
            python_vs_published,
            cpu_factor,
            cpu_fixed_ms,
            cpu_python_vs_published: python_published_ms
                .map(|p| (cpu_fixed_ms + cpu_factor * python_ms) / p),
            physical,
            holds: physical && python_vs_published.is_some_and(within),
        })
    }

    /// The platform's part of `f`'s init, ms, where its init memory was measured.
    fn platform_ms(&self, f: &AwsFunction) -> Option<f64> {
        Some(self.fixed_ms + self.per_mib_ms * f.init_rss_mib_p50?)
    }

    /// `f`'s init and cold request on AWS, when the calibration holds.
    pub fn on_aws(&self, f: &AwsFunction) -> Option<OnAws> {
        let platform = self.platform_ms(f).filter(|_| self.holds)?;
        Some(OnAws {
            init_ms: f.init_ms_p50 + platform,
            cold_request_ms: f.cold_request_ms_p50 + platform,
        })
    }
}

/// One memory size's checks.
#[derive(Serialize)]
pub struct AwsSizeChecks {
    pub memory_mb: u32,
    pub over_limit: Check,
    /// The Node.js handler's cold request / lambda-fn's, as measured and calibrated.
    pub vs_node: f64,
    pub vs_node_calibrated: Option<f64>,
    /// lambda-fn's and the Node.js handler's cold request with the platform's part of init added,
    /// ms: what AWS would show (only when the calibration holds, as `vs_node_calibrated`).
    pub rust_cold_calibrated_ms: Option<f64>,
    pub node_cold_calibrated_ms: Option<f64>,
    /// The limit with the floor's platform part added, and the Node.js handler's calibrated cold
    /// request over it: the most any function could be faster than Node.js on AWS here.
    pub limit_calibrated_ms: Option<f64>,
    pub node_vs_limit_calibrated: Option<f64>,
    /// CPU time (ms) of lambda-fn's cold request (init + first request) over the limit's (the
    /// floor's init + the bare client's first `GetItem`), where measured.
    pub cpu_over_limit_ms: Option<f64>,
    /// The same, its first request alone over the bare client's first `GetItem`.
    pub first_request_cpu_over_limit_ms: Option<f64>,
    /// lambda-fn with `STORE_CONNECT_AT_INIT` the other way than its default: its cold request and
    /// its bill minus the default's, ms.
    pub other_cold_minus_default_ms: Option<f64>,
    pub other_billed_minus_default_ms: Option<f64>,
}

impl AwsFigures {
    fn new(aws: &AwsLambda) -> Option<AwsFigures> {
        let at = |mb: u32| aws.sizes.iter().find(|s| s.memory_mb == mb);
        let small = at(128)?;
        let published = &aws.published;
        let floor_vs_published = small.floor.init_ms_p50 / published.rust_al2023_init_ms[0];
        let node_hello_vs_published = small.node_hello.init_ms_p50 / published.node20_init_ms[0];
        let calibration = Calibration::fit(aws);
        // Only a calibration that holds puts a figure on AWS.
        let calibrated_cold =
            |f: &AwsFunction| Some(calibration.as_ref()?.on_aws(f)?.cold_request_ms);
        let vs_node_calibrated =
            |s: &AwsSize| Some(calibrated_cold(&s.node)? / calibrated_cold(&s.rust)?);
        let vs_node = |s: &AwsSize| s.node.cold_request_ms_p50 / s.rust.cold_request_ms_p50;
        let limit_calibrated = |s: &AwsSize| {
            let floor = calibration.as_ref()?.on_aws(&s.floor)?;
            Some(s.limit_ms + floor.init_ms - s.floor.init_ms_p50)
        };
        Some(AwsFigures {
            processes: small.rust.cold_request_ms.len(),
            floor_vs_published,
            node_hello_vs_published,
            calibrated: calibration.as_ref().is_some_and(|c| c.holds),
            sizes: (aws.sizes.iter())
                .map(|s| AwsSizeChecks {
                    memory_mb: s.memory_mb,
                    over_limit: Check::at_most(s.rust.cold_request_ms_p50 - s.limit_ms, 5.0),
                    vs_node: vs_node(s),
                    vs_node_calibrated: vs_node_calibrated(s),
                    rust_cold_calibrated_ms: calibrated_cold(&s.rust),
                    node_cold_calibrated_ms: calibrated_cold(&s.node),
                    limit_calibrated_ms: limit_calibrated(s),
                    node_vs_limit_calibrated: calibrated_cold(&s.node)
                        .zip(limit_calibrated(s))
                        .map(|(node, limit)| node / limit),
                    cpu_over_limit_ms: cold_cpu(&s.rust)
                        .zip(s.floor.init_cpu_ms_p50)
                        .zip(s.first_getitem_cpu_ms_p50)
                        .map(|((rust, floor), getitem)| rust - floor - getitem),
                    first_request_cpu_over_limit_ms: (s.rust.first_request_cpu_ms_p50)
                        .zip(s.first_getitem_cpu_ms_p50)
                        .map(|(rust, getitem)| rust - getitem),
                    other_cold_minus_default_ms: (s.rust_other_connect.as_ref())
                        .map(|other| other.cold_request_ms_p50 - s.rust.cold_request_ms_p50),
                    other_billed_minus_default_ms: (s.rust_other_connect.as_ref())
                        .map(|other| other.billed_cold_ms_p50 - s.rust.billed_cold_ms_p50),
                })
                .collect(),
            vs_node_128: Some(Check::at_least(
                vs_node_calibrated(small).unwrap_or_else(|| vs_node(small)),
                30.0,
            )),
            vs_node_128_raw: Some(vs_node(small)),
            init_over_floor_1769: at(1769)
                .map(|s| Check::at_most(s.rust.init_ms_p50 - s.floor.init_ms_p50, 2.0)),
            calibration,
        })
    }
}

/// One function's init and init memory over every size: the median of the sizes' medians.
fn init_over_sizes(
    aws: &AwsLambda,
    function: impl Fn(&AwsSize) -> Option<&AwsFunction>,
) -> Option<(f64, f64)> {
    let functions: Option<Vec<&AwsFunction>> = aws.sizes.iter().map(&function).collect();
    let functions = functions.filter(|f| !f.is_empty())?;
    let rss: Option<Vec<f64>> = functions.iter().map(|f| f.init_rss_mib_p50).collect();
    let ms: Vec<f64> = functions.iter().map(|f| f.init_ms_p50).collect();
    Some((median(&ms), median(&rss?)))
}

/// A function's cold request in CPU time (init + first request), ms, where measured.
fn cold_cpu(f: &AwsFunction) -> Option<f64> {
    Some(f.init_cpu_ms_p50? + f.first_request_cpu_ms_p50?)
}

/// How many fresh processes per start-to-ready measurement (and per Lambda function), and how many
/// warm invocations in each Lambda process.
#[derive(Serialize)]
pub struct Plan {
    pub processes: usize,
    pub warm_invokes: usize,
}

/// A figure held to a goal: `value` at least or at most `goal`, and whether it is.
#[derive(Debug, Serialize)]
pub struct Check {
    pub value: f64,
    pub goal: f64,
    pub met: bool,
}

impl Check {
    fn at_least(value: f64, goal: f64) -> Check {
        let met = value >= goal;
        Check { value, goal, met }
    }

    fn at_most(value: f64, goal: f64) -> Check {
        let met = value <= goal;
        Check { value, goal, met }
    }
}

/// One server's medians at one connection count, and what they imply.
#[derive(Serialize)]
pub struct Medians {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub server_cpu_pct: f64,
    /// Server CPU time per answer, µs.
    pub cpu_us: f64,
    /// Of which in user space (none where not measured: the raw loop).
    pub user_us: Option<f64>,
    /// The rest, the kernel's.
    pub kernel_us: f64,
    /// The load generator's CPU (none for the raw loop, which has no load generator).
    pub wrk_cpu_pct: Option<f64>,
    /// With every connection busy, the mean latency is connections / throughput (Little's law).
    pub mean_ms: f64,
    pub p99_over_mean: f64,
}

impl Medians {
    fn new(connections: u32, s: &Summary) -> Medians {
        let cpu_us = s.server_cpu_pct * 1e4 / s.rps;
        let user_us = s.server_user_cpu_pct * 1e4 / s.rps;
        let mean_ms = f64::from(connections) / s.rps * 1e3;
        Medians {
            rps: s.rps,
            p50_ms: s.p50_ms,
            p99_ms: s.p99_ms,
            server_cpu_pct: s.server_cpu_pct,
            cpu_us,
            user_us: (s.server_user_cpu_pct > 0.0).then_some(user_us),
            kernel_us: cpu_us - user_us,
            wrk_cpu_pct: (s.loadgen_cpu_pct > 0.0).then_some(s.loadgen_cpu_pct),
            mean_ms,
            p99_over_mean: s.p99_ms / mean_ms,
        }
    }
}

/// The embedded store at one connection count: the servers' medians, the targets and the variants.
#[derive(Serialize)]
pub struct EmbeddedAt {
    pub connections: u32,
    pub server: Medians,
    pub ceiling: Medians,
    pub node: Medians,
    pub axum: Medians,
    pub auth: Medians,
    /// Throughput ratios.
    pub vs_ceiling: Check,
    pub vs_node: Check,
    pub vs_axum: f64,
    pub auth_vs_without: Check,
    pub p99_vs_ceiling: Check,
    /// User-space CPU per request, Node.js ÷ k8s-server.
    pub node_user_cpu_ratio: f64,
    /// The ceiling's throughput ÷ k8s-server's, the ratio of their mean latencies.
    pub mean_latency_ratio: f64,
    pub variants: Vec<VariantAt>,
}

/// A variant (a diagnostic server) against `k8s-server`.
#[derive(Serialize)]
pub struct VariantAt {
    pub name: String,
    pub rps: f64,
    pub vs_server_pct: f64,
}

/// A section's servers, then its variants, each at every connection count, beside `reference`.
#[derive(Serialize)]
pub struct LoadTable<'a> {
    pub reference: &'static str,
    pub rows: Vec<LoadRow<'a>>,
}

/// One row of a load table: a server at one connection count, against the section's reference.
#[derive(Serialize)]
pub struct LoadRow<'a> {
    pub name: &'a str,
    pub variant: bool,
    pub connections: u32,
    pub medians: Medians,
    /// Throughput ÷ the reference's (none when the reference has no such connection count).
    pub vs_reference: Option<f64>,
}

/// `k8s-server`'s memory and start-up against their goals.
#[derive(Serialize)]
pub struct ServerChecks {
    /// MiB.
    pub peak_rss: Check,
    /// KiB per 100,000 requests.
    pub growth: Check,
    /// ms, median.
    pub start_to_ready: Check,
}

/// Thousands of open connections against their goals.
#[derive(Serialize)]
pub struct ScaleChecks {
    /// Throughput ÷ the baseline's.
    pub throughput: Check,
    /// MiB.
    pub peak_rss: Check,
}

/// The Lambda functions: each with the spread of its cold starts, and the comparisons.
#[derive(Serialize)]
pub struct LambdaFigures<'a> {
    pub rust: FunctionFigures<'a>,
    pub node: FunctionFigures<'a>,
    pub rust_one_root_certificate: FunctionFigures<'a>,
    pub rust_jwt: FunctionFigures<'a>,
    pub floor: FunctionFigures<'a>,
    /// lambda-fn's init over the floor's, ms.
    pub init_over_floor: Check,
    /// How many times faster than the Node.js handler lambda-fn's cold start is.
    pub cold_start_vs_node: Check,
    /// The same with one root certificate.
    pub one_root_vs_node: f64,
    /// lambda-fn's init over the one-certificate diagnostic's, ms.
    pub certificates_ms: f64,
}

/// A function's medians and its fastest and slowest cold start.
#[derive(Serialize)]
pub struct FunctionFigures<'a> {
    #[serde(flatten)]
    pub function: &'a Function,
    pub cold_start_ms_min: f64,
    pub cold_start_ms_max: f64,
}

impl FunctionFigures<'_> {
    fn new(function: &Function) -> FunctionFigures<'_> {
        let cold = function.cold_start_ms.iter().copied();
        FunctionFigures {
            function,
            cold_start_ms_min: cold.clone().fold(f64::INFINITY, f64::min),
            cold_start_ms_max: cold.fold(0.0, f64::max),
        }
    }
}

/// One uncached token verification (criterion), µs; none in a run without the micro-benchmarks.
#[derive(Serialize)]
pub struct Verification {
    pub alg: &'static str,
    pub us: Option<f64>,
}

/// The DynamoDB store at one connection count.
#[derive(Serialize)]
pub struct DynamodbAt {
    pub connections: u32,
    pub server_rps: f64,
    pub raw_rps: f64,
    /// The raw loop's throughput over k8s-server's, %.
    pub throughput_cost_pct: Check,
}

/// k8s-server's latency over the raw `GetItem` round trip.
#[derive(Serialize)]
pub struct RoundTrip {
    pub connections: u32,
    pub server_p50_ms: f64,
    pub raw_p50_ms: f64,
    pub raw_p50_us: f64,
    /// p50 over the raw loop's, %.
    pub over_pct: Check,
    pub added_us: f64,
    pub in_region_ms: f64,
    /// `added_us` on an in-region round trip, %.
    pub in_region_pct: f64,
}

/// What each part of the in-process path costs, ns: differences between criterion benchmarks (none
/// where one was not measured).
#[derive(Serialize)]
pub struct Breakdown {
    pub layers: Option<f64>,
    pub request_uuid: Option<f64>,
    pub metrics: Option<f64>,
    pub logging: Option<f64>,
    pub lookup: Option<f64>,
    pub json_envelope: Option<f64>,
}

/// The medians of `name` at `c` connections in `section`.
pub fn at<'a>(section: &'a LoadSection, name: &str, c: u32) -> Result<&'a Summary> {
    section
        .at(name, c)
        .with_context(|| format!("the run has no {name} at {c} connections"))
}

impl Figures<'_> {
    /// The figures of `run`; fails, naming it, when the run lacks a server the page compares.
    pub fn new(run: &Results) -> Result<Figures<'_>> {
        let e = &run.embedded;
        let most_connections = e.connections.iter().copied().max().unwrap_or(0);
        let s = &run.server;
        let scale = &run.scale;
        let lambda = &run.lambda;
        Ok(Figures {
            run,
            plan: Plan {
                processes: s.start_to_ready_ms.len(),
                warm_invokes: lambda.rust.warm_invoke_ms.len()
                    / lambda.rust.cold_start_ms.len().max(1),
            },
            most_connections,
            embedded: (e.connections.iter())
                .map(|&c| embedded_at(e, c))
                .collect::<Result<_>>()?,
            embedded_table: load_table(e, CEILING),
            server: ServerChecks {
                peak_rss: Check::at_most(s.peak_rss_mib, 10.0),
                growth: Check::at_most(
                    s.rss_growth_kib_per_100k_requests,
                    NOISE_KIB_PER_100K_REQUESTS,
                ),
                start_to_ready: Check::at_most(s.start_to_ready_ms_p50, 20.0),
            },
            scale: ScaleChecks {
                throughput: Check::at_least(scale.wide.rps / scale.baseline.rps, 0.8),
                peak_rss: Check::at_most(scale.peak_rss_mib, 64.0),
            },
            lambda: LambdaFigures {
                rust: FunctionFigures::new(&lambda.rust),
                node: FunctionFigures::new(&lambda.node),
                rust_one_root_certificate: FunctionFigures::new(&lambda.rust_one_root_certificate),
                rust_jwt: FunctionFigures::new(&lambda.rust_jwt),
                floor: FunctionFigures::new(&lambda.floor),
                init_over_floor: Check::at_most(
                    lambda.rust.init_ms_p50 - lambda.floor.init_ms_p50,
                    2.0,
                ),
                cold_start_vs_node: Check::at_least(
                    lambda.node.cold_start_ms_p50 / lambda.rust.cold_start_ms_p50,
                    20.0,
                ),
                one_root_vs_node: lambda.node.cold_start_ms_p50
                    / lambda.rust_one_root_certificate.cold_start_ms_p50,
                certificates_ms: lambda.rust.init_ms_p50
                    - lambda.rust_one_root_certificate.init_ms_p50,
            },
            verify_uncached: ["RS256", "ES256"]
                .into_iter()
                .map(|alg| Verification {
                    alg,
                    us: micro_ns(
                        run,
                        &format!("bearer/verify_uncached_{}", alg.to_lowercase()),
                    )
                    .map(|ns| ns / 1e3),
                })
                .collect(),
            bootstrap_size: Check::at_most(run.sizes.bootstrap as f64 / 1e6, 6.0),
            dynamodb: (run.dynamodb.connections.iter())
                .map(|&c| dynamodb_at(&run.dynamodb, c))
                .collect::<Result<_>>()?,
            dynamodb_table: load_table(&run.dynamodb, RAW),
            round_trip: (run.dynamodb.connections.iter().min())
                .map(|&c| round_trip(&run.dynamodb, c))
                .transpose()?,
            breakdown: breakdown(run),
            aws: run.lambda_aws.as_ref().and_then(AwsFigures::new),
            tracing: run.tracing.as_ref().map(TracingFigures::new).transpose()?,
        })
    }
}

fn embedded_at(e: &LoadSection, c: u32) -> Result<EmbeddedAt> {
    let (ours, ceiling, node) = (at(e, SERVER, c)?, at(e, CEILING, c)?, at(e, NODE, c)?);
    let (axum, auth) = (at(e, AXUM, c)?, at(e, AUTH, c)?);
    let medians = |s| Medians::new(c, s);
    let (server, ceiling_m, node_m) = (medians(ours), medians(ceiling), medians(node));
    let variants = (e.targets.iter().filter(|t| t.variant))
        .map(|variant| {
            let v = at(e, &variant.name, c)?;
            Ok(VariantAt {
                name: variant.name.clone(),
                rps: v.rps,
                vs_server_pct: (v.rps / ours.rps - 1.0) * 100.0,
            })
        })
        .collect::<Result<_>>()?;
    // User-space CPU per request, measured for every server here.
    let user_us = |s: &Summary| s.server_user_cpu_pct * 1e4 / s.rps;
    Ok(EmbeddedAt {
        connections: c,
        vs_ceiling: Check::at_least(ours.rps / ceiling.rps, 0.85),
        vs_node: Check::at_least(ours.rps / node.rps, 2.0),
        vs_axum: ours.rps / axum.rps,
        auth_vs_without: Check::at_least(auth.rps / ours.rps, 0.95),
        p99_vs_ceiling: Check::at_most(ours.p99_ms / ceiling.p99_ms, 2.0),
        node_user_cpu_ratio: user_us(node) / user_us(ours),
        mean_latency_ratio: ceiling.rps / ours.rps,
        variants,
        server,
        ceiling: ceiling_m,
        node: node_m,
        axum: medians(axum),
        auth: medians(auth),
    })
}

fn load_table<'a>(section: &'a LoadSection, reference: &'static str) -> LoadTable<'a> {
    let ordered = (section.targets.iter().filter(|t| !t.variant))
        .chain(section.targets.iter().filter(|t| t.variant));
    let rows = ordered
        .flat_map(|t| {
            t.points.iter().map(move |p| LoadRow {
                name: &t.name,
                variant: t.variant,
                connections: p.connections,
                medians: Medians::new(p.connections, &p.median),
                vs_reference: (section.at(reference, p.connections))
                    .map(|base| p.median.rps / base.rps),
            })
        })
        .collect();
    LoadTable { reference, rows }
}

fn dynamodb_at(d: &LoadSection, c: u32) -> Result<DynamodbAt> {
    let (ours, raw) = (at(d, SERVER, c)?, at(d, RAW, c)?);
    Ok(DynamodbAt {
        connections: c,
        server_rps: ours.rps,
        raw_rps: raw.rps,
        throughput_cost_pct: Check::at_most((raw.rps / ours.rps - 1.0) * 100.0, 10.0),
    })
}

fn round_trip(d: &LoadSection, c: u32) -> Result<RoundTrip> {
    let (ours, raw) = (at(d, SERVER, c)?, at(d, RAW, c)?);
    let added_us = (ours.p50_ms - raw.p50_ms) * 1e3;
    Ok(RoundTrip {
        connections: c,
        server_p50_ms: ours.p50_ms,
        raw_p50_ms: raw.p50_ms,
        raw_p50_us: raw.p50_ms * 1e3,
        over_pct: Check::at_most((ours.p50_ms / raw.p50_ms - 1.0) * 100.0, 10.0),
        added_us,
        in_region_ms: IN_REGION_GETITEM_MS,
        in_region_pct: added_us / (IN_REGION_GETITEM_MS * 10.0),
    })
}

/// The criterion median of `GROUP/NAME`, ns.
fn micro_ns(r: &Results, name: &str) -> Option<f64> {
    r.micro.iter().find(|m| m.name == name).map(|m| m.median_ns)
}

fn breakdown(r: &Results) -> Breakdown {
    let ns = |name| micro_ns(r, &format!("lookup/{name}"));
    let over = |with, without| Some(ns(with)? - ns(without)?);
    Breakdown {
        layers: over("router_get_user", "axum_bare_get_user"),
        request_uuid: ns("request_uuid"),
        metrics: over("server_router_get_user", "router_get_user"),
        logging: over(
            "server_router_get_user_with_info_logging",
            "server_router_get_user",
        ),
        lookup: ns("service_get_user"),
        json_envelope: ns("json_envelope"),
    }
}

/// The largest throughput cost of tracing at the default sampler, %: the goal.
const TRACING_OVERHEAD_GOAL_PCT: f64 = 5.0;

/// What tracing costs: each way of tracing against tracing off, and `lambda-fn`'s added duration.
#[derive(Serialize)]
pub struct TracingFigures<'a> {
    pub run: &'a Tracing,
    /// Per connection count.
    pub at: Vec<TracingAt<'a>>,
    /// Per traced target: what reached the receiver.
    pub received: Vec<Delivery<'a>>,
    /// Fresh `lambda-fn` processes each way, and warm invocations in each.
    pub lambda_processes: usize,
    pub lambda_warm_invokes: usize,
    /// `lambda-fn`'s warm invocations with export on minus off, ms.
    pub lambda_added_p50_ms: f64,
    pub lambda_added_p99_ms: f64,
    /// The same for the cold start (spawn → first response), ms.
    pub lambda_cold_added_ms: f64,
}

/// The ways of tracing at one connection count, and the goal at the default sampler.
#[derive(Serialize)]
pub struct TracingAt<'a> {
    pub connections: u32,
    pub rows: Vec<TracingRow<'a>>,
    pub off_rps: f64,
    pub default_rps: f64,
    /// Throughput lost at the default sampler, %.
    pub default_overhead: Check,
}

/// One way of tracing at one connection count, against tracing off.
#[derive(Serialize)]
pub struct TracingRow<'a> {
    pub name: &'a str,
    pub variant: bool,
    pub medians: Medians,
    /// Throughput lost against tracing off, % (negative: more than off, the runs' noise).
    pub overhead_pct: f64,
    /// p99 ÷ tracing off's.
    pub p99_vs_off: f64,
}

/// What a traced target's measured runs delivered to the receiver.
#[derive(Serialize)]
pub struct Delivery<'a> {
    pub name: &'a str,
    pub spans_per_request: f64,
    /// Of the spans its requests' whole traces hold (sampled or not), %.
    pub exported_pct: f64,
}

impl TracingFigures<'_> {
    fn new(t: &Tracing) -> Result<TracingFigures<'_>> {
        let s = &t.server;
        let at = (s.connections.iter())
            .map(|&c| {
                let off = at(s, tracing_cost::OFF, c)?;
                let rows = (s.targets.iter())
                    .map(|target| {
                        let m = at(s, &target.name, c)?;
                        Ok(TracingRow {
                            name: &target.name,
                            variant: target.variant,
                            medians: Medians::new(c, m),
                            overhead_pct: (1.0 - m.rps / off.rps) * 100.0,
                            p99_vs_off: m.p99_ms / off.p99_ms,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let default = at(s, tracing_cost::DEFAULT, c)?;
                Ok(TracingAt {
                    connections: c,
                    rows,
                    off_rps: off.rps,
                    default_rps: default.rps,
                    default_overhead: Check::at_most(
                        (1.0 - default.rps / off.rps) * 100.0,
                        TRACING_OVERHEAD_GOAL_PCT,
                    ),
                })
            })
            .collect::<Result<_>>()?;
        let whole_trace = t.spans_per_trace.max(1) as f64;
        let received = (t.received.iter())
            .map(|r| {
                let per_request = r.spans as f64 / r.requests.max(1) as f64;
                Delivery {
                    name: &r.name,
                    spans_per_request: per_request,
                    exported_pct: per_request / whole_trace * 100.0,
                }
            })
            .collect();
        let (off, on) = (&t.lambda_off, &t.lambda_on);
        Ok(TracingFigures {
            run: t,
            at,
            received,
            lambda_processes: off.cold_start_ms.len(),
            lambda_warm_invokes: off.warm_invoke_ms.len() / off.cold_start_ms.len().max(1),
            lambda_added_p50_ms: on.warm_invoke_ms_p50 - off.warm_invoke_ms_p50,
            lambda_added_p99_ms: on.warm_invoke_ms_p99 - off.warm_invoke_ms_p99,
            lambda_cold_added_ms: on.cold_start_ms_p50 - off.cold_start_ms_p50,
        })
    }
}
