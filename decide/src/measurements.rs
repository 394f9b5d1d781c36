//! What `cargo xtask bench` measured on this machine (`docs/benchmarks.json`), as the models need it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::input::{InputError, read};
use crate::paths::in_workspace;

/// The default measurements: the committed benchmark results.
pub const DEFAULT_PATH: &str = "docs/benchmarks.json";

/// The memory size of the function in `deploy/lambda/template.yaml`: the Lambda figures are read at
/// this size from the bench's "Lambda as it runs on AWS" rows when the run has them.
pub const TEMPLATE_MEMORY_MB: u32 = 128;

/// The bench's name for the server under test.
const SERVER: &str = "k8s-server";

/// Per-request and start-up figures of both targets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measurements {
    /// Which run: the file and the date the bench recorded.
    pub run: String,
    /// Server CPU per request on the DynamoDB store (the deployment's), in core-seconds: busy
    /// share of one core / requests a second, at the bench's most concurrent DynamoDB load.
    pub server_cpu_s_per_request: f64,
    /// The server's median latency on the DynamoDB store with one connection, in ms.
    pub server_latency_ms: f64,
    /// Process start to ready, median, in ms.
    pub server_start_to_ready_ms: f64,
    /// A warm invocation, median, in ms.
    pub lambda_duration_ms: f64,
    /// INIT of a new execution environment, median, in ms.
    pub lambda_init_ms: f64,
    /// The first request of a new environment (INIT + invoke), median, in ms.
    pub lambda_cold_start_ms: f64,
    /// The function's memory setting, in MB.
    pub lambda_memory_mb: u32,
}

#[derive(Deserialize)]
struct File {
    machine: Machine,
    server: Server,
    dynamodb: Section,
    lambda: Lambda,
    /// Lambda at its memory size's CPU share over TLS (absent or null in older runs).
    #[serde(default)]
    lambda_aws: Option<LambdaAws>,
}
#[derive(Deserialize)]
struct LambdaAws {
    date: String,
    sizes: Vec<AwsSize>,
}
#[derive(Deserialize)]
struct AwsSize {
    memory_mb: u32,
    rust: AwsFunction,
}
#[derive(Deserialize)]
struct AwsFunction {
    init_ms_p50: f64,
    cold_request_ms_p50: f64,
    warm_ms_p50: Option<f64>,
    /// Init and cold request as the bench's calibration puts them on AWS (present only when its
    /// calibration against published figures holds).
    #[serde(default)]
    on_aws: Option<OnAws>,
}
#[derive(Deserialize)]
struct OnAws {
    init_ms: f64,
    cold_request_ms: f64,
}
#[derive(Deserialize)]
struct Machine {
    date: String,
}
#[derive(Deserialize)]
struct Server {
    start_to_ready_ms_p50: f64,
}
/// A load section of the bench: each server's points, one per connection count.
#[derive(Deserialize)]
struct Section {
    targets: Vec<Target>,
}
#[derive(Deserialize)]
struct Target {
    name: String,
    points: Vec<Point>,
}
#[derive(Deserialize)]
struct Point {
    connections: u32,
    median: Load,
}
#[derive(Deserialize)]
struct Load {
    rps: f64,
    p50_ms: f64,
    server_cpu_pct: f64,
}
#[derive(Deserialize)]
struct Lambda {
    warm_invoke_ms_p50: f64,
    memory_mb: u32,
    rust: Rust,
}
#[derive(Deserialize)]
struct Rust {
    init_ms_p50: f64,
    cold_start_ms_p50: f64,
}

impl Measurements {
    /// Reads `path` (the benchmark results JSON).
    pub fn load(path: &Path) -> Result<Self, InputError> {
        let file = in_workspace(path);
        Self::parse(&read(path)?, &file)
    }

    /// Parses benchmark results read from `file`; every figure must be positive.
    pub fn parse(text: &str, file: &str) -> Result<Self, InputError> {
        let parsed: File = serde_json::from_str(text)
            .map_err(|error| InputError::field(file, error.line(), "-", error.to_string()))?;
        // The deployment reads DynamoDB, as the Lambda rows do: the server's figures come from
        // the bench's DynamoDB section, not from the embedded store's (about 50 times cheaper).
        let server = parsed
            .dynamodb
            .targets
            .iter()
            .find(|target| target.name == SERVER)
            .filter(|target| !target.points.is_empty())
            .ok_or_else(|| {
                let at = text.find("\"dynamodb\"").unwrap_or(0);
                InputError::field(
                    file,
                    crate::input::line_of(text, at),
                    "dynamodb.targets",
                    format!("no `{SERVER}` target with a measured point"),
                )
            })?;
        let most = server
            .points
            .iter()
            .max_by_key(|p| p.connections)
            .map(|p| &p.median);
        let fewest = server
            .points
            .iter()
            .min_by_key(|p| p.connections)
            .map(|p| &p.median);
        let (most, fewest) = (most.expect("a point"), fewest.expect("a point"));
        // The template's size at its CPU share over TLS when measured; else the whole-core figures.
        let at_share = (parsed.lambda_aws.as_ref()).and_then(|aws| {
            let size = aws
                .sizes
                .iter()
                .find(|s| s.memory_mb == TEMPLATE_MEMORY_MB)?;
            Some((aws, size, size.rust.warm_ms_p50?))
        });
        let (run, duration, init, cold, memory) = match at_share {
            Some((aws, size, warm)) => {
                let (init, cold, calibrated) = match &size.rust.on_aws {
                    Some(on_aws) => (
                        on_aws.init_ms,
                        on_aws.cold_request_ms,
                        ", init calibrated to AWS",
                    ),
                    None => (size.rust.init_ms_p50, size.rust.cold_request_ms_p50, ""),
                };
                (
                    format!(
                        "{file} (bench of {}; Lambda at {TEMPLATE_MEMORY_MB} MB's CPU share over TLS{calibrated}, {})",
                        parsed.machine.date, aws.date
                    ),
                    warm,
                    init,
                    cold,
                    TEMPLATE_MEMORY_MB,
                )
            }
            None => (
                format!("{file} (bench of {})", parsed.machine.date),
                parsed.lambda.warm_invoke_ms_p50,
                parsed.lambda.rust.init_ms_p50,
                parsed.lambda.rust.cold_start_ms_p50,
                parsed.lambda.memory_mb,
            ),
        };
        let m = Measurements {
            run,
            server_cpu_s_per_request: most.server_cpu_pct / 100.0 / most.rps,
            server_latency_ms: fewest.p50_ms,
            server_start_to_ready_ms: parsed.server.start_to_ready_ms_p50,
            lambda_duration_ms: duration,
            lambda_init_ms: init,
            lambda_cold_start_ms: cold,
            lambda_memory_mb: memory,
        };
        for (field, value) in [
            (
                "dynamodb.targets.points.median.rps",
                m.server_cpu_s_per_request,
            ),
            ("dynamodb.targets.points.median.p50_ms", m.server_latency_ms),
            ("server.start_to_ready_ms_p50", m.server_start_to_ready_ms),
            ("lambda.warm_invoke_ms_p50", m.lambda_duration_ms),
            ("lambda.rust.init_ms_p50", m.lambda_init_ms),
            ("lambda.rust.cold_start_ms_p50", m.lambda_cold_start_ms),
        ] {
            if !(value.is_finite() && value > 0.0) {
                let line = text.find(field.rsplit('.').next().unwrap_or(field));
                let line = line.map_or(1, |at| crate::input::line_of(text, at));
                return Err(InputError::field(
                    file,
                    line,
                    field,
                    format!("`{value}` is not a positive number"),
                ));
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_benchmark_results_give_every_figure() {
        let m = Measurements::load(&crate::paths::workspace_root().join(DEFAULT_PATH)).unwrap();
        // The DynamoDB path: hundreds of microseconds of CPU a request (SigV4, the SDK, JSON),
        // not the embedded store's ten.
        assert!(m.server_cpu_s_per_request > 5e-5 && m.server_cpu_s_per_request < 5e-3);
        assert!(m.server_latency_ms > 1.0, "{}", m.server_latency_ms);
        assert_eq!(m.lambda_memory_mb, 128);
        assert!(m.run.contains("docs/benchmarks.json"));
    }

    #[test]
    fn the_lambda_figures_are_the_template_sizes_at_its_cpu_share_when_measured() {
        // GIVEN the committed run with rows of Lambda as on AWS added
        let path = crate::paths::workspace_root().join(DEFAULT_PATH);
        let mut run: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let function = |init: f64, cold: f64, warm: f64| serde_json::json!({"init_ms_p50": init, "cold_request_ms_p50": cold, "warm_ms_p50": warm});
        run["lambda_aws"] = serde_json::json!({
            "date": "2026-12-07 19:00 UTC",
            "sizes": [
                {"memory_mb": 1769, "rust": function(9.0, 14.0, 3.0)},
                {"memory_mb": 128, "rust": function(11.0, 40.0, 25.0)},
            ]
        });

        // WHEN it is read
        let m = Measurements::parse(&run.to_string(), "b.json").unwrap();

        // THEN the Lambda figures are those at 128 MB, the template's size
        assert_eq!(
            (
                m.lambda_init_ms,
                m.lambda_cold_start_ms,
                m.lambda_duration_ms
            ),
            (11.0, 40.0, 25.0)
        );
        assert_eq!(m.lambda_memory_mb, TEMPLATE_MEMORY_MB);
        assert!(m.run.contains("CPU share"), "{}", m.run);
        assert!(!m.run.contains("calibrated"), "{}", m.run);
    }

    #[test]
    fn a_calibrated_run_gives_its_init_and_cold_start_as_on_aws() {
        // GIVEN the committed run with a 128 MB row whose calibration put it on AWS
        let path = crate::paths::workspace_root().join(DEFAULT_PATH);
        let mut run: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        run["lambda_aws"] = serde_json::json!({
            "date": "2026-12-08 05:00 UTC",
            "sizes": [{"memory_mb": 128, "rust": {
                "init_ms_p50": 5.0, "cold_request_ms_p50": 18.0, "warm_ms_p50": 7.0,
                "on_aws": {"init_ms": 22.0, "cold_request_ms": 35.0}
            }}]
        });

        // WHEN it is read
        let m = Measurements::parse(&run.to_string(), "b.json").unwrap();

        // THEN the lab models the cold start AWS would show, and says so
        assert_eq!(
            (
                m.lambda_init_ms,
                m.lambda_cold_start_ms,
                m.lambda_duration_ms
            ),
            (22.0, 35.0, 7.0)
        );
        assert!(m.run.contains("calibrated to AWS"), "{}", m.run);
    }

    #[test]
    fn the_template_runs_the_function_at_the_size_the_figures_are_read_at() {
        let template = crate::paths::workspace_root().join("deploy/lambda/template.yaml");
        let text = std::fs::read_to_string(template).unwrap();
        assert!(
            text.lines()
                .any(|line| line.trim() == format!("MemorySize: {TEMPLATE_MEMORY_MB}")),
            "deploy/lambda/template.yaml no longer sets MemorySize: {TEMPLATE_MEMORY_MB}"
        );
    }

    #[test]
    fn malformed_results_name_the_file_and_line() {
        let error = Measurements::parse("{\n\"machine\": 3\n}", "b.json")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("b.json:2: "), "{error}");
        assert!(!error.contains('\n'));
    }
}
