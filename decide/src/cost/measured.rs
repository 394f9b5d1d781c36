//! Reads the Lambda duration and memory from the benchmark results (`--measured`).

use std::path::Path;

use anyhow::{Context, Result, anyhow, ensure};
use serde::{Deserialize, Serialize};

use crate::paths::display;
use crate::paths::workspace_root;

/// Default benchmark results file, relative to the workspace root.
const DEFAULT_PATH: &str = "docs/benchmarks.json";
/// Smallest memory size Lambda accepts, in MB.
pub const MIN_MEMORY_MB: u32 = 128;
/// Largest memory size Lambda accepts, in MB.
pub const MAX_MEMORY_MB: u32 = 10_240;
/// Longest Lambda invocation (the 15-minute timeout), in ms.
pub const MAX_DURATION_MS: f64 = 900_000.0;

/// The part of the benchmark results this command reads (schema in docs/cost.md); other fields are
/// ignored.
#[derive(Deserialize)]
struct BenchmarkFile {
    lambda: LambdaResults,
    /// Lambda at each memory size's CPU share (runs of `cargo xtask bench` since 2026-12): the warm
    /// median at the priced size is what Lambda would bill, where `lambda`'s is on a whole core.
    #[serde(default)]
    lambda_aws: Option<AtShare>,
}

#[derive(Deserialize)]
struct AtShare {
    sizes: Vec<AtShareSize>,
}

#[derive(Deserialize)]
struct AtShareSize {
    memory_mb: u32,
    rust: AtShareFunction,
}

#[derive(Deserialize)]
struct AtShareFunction {
    warm_ms_p50: Option<f64>,
}

#[derive(Deserialize)]
struct LambdaResults {
    warm_invoke_ms_p50: f64,
    peak_rss_mib: f64,
    memory_mb: Option<u32>,
}

/// What a benchmark run measured, as read from `path`: the median warm invocation time (at the
/// priced size's CPU share where the run measured it, else on a whole core), the peak resident
/// memory, and the memory to price (the recorded setting, else the smallest size that fits the peak
/// RSS).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measured {
    pub path: String,
    pub duration_ms: f64,
    /// The duration is the one measured at the priced size's CPU share.
    pub at_share: bool,
    pub memory_mb: u32,
    pub peak_rss_mib: f64,
}

/// Loads `path` (by default [`DEFAULT_PATH`]); fails with a one-line message naming the path if it
/// is missing or invalid.
pub fn load(path: Option<&Path>) -> Result<Measured> {
    let path = &path.map_or_else(|| workspace_root().join(DEFAULT_PATH), Path::to_path_buf);
    let text = std::fs::read_to_string(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => anyhow!(
            "benchmark results not found: {} (pass --measured PATH; schema in docs/cost.md)",
            display(path)
        ),
        _ => anyhow!("cannot read benchmark results {}: {err}", display(path)),
    })?;
    parse(&text, path).with_context(|| format!("invalid benchmark results {}", display(path)))
}

/// Parses benchmark results JSON read from `path`.
fn parse(text: &str, path: &Path) -> Result<Measured> {
    let BenchmarkFile { lambda, lambda_aws } = serde_json::from_str(text)?;
    for (name, value) in [
        ("warm_invoke_ms_p50", lambda.warm_invoke_ms_p50),
        ("peak_rss_mib", lambda.peak_rss_mib),
    ] {
        ensure!(
            value.is_finite() && value > 0.0,
            "lambda.{name} must be positive"
        );
    }
    // `as` saturates: an RSS beyond u32 fails the range check below like any other too large one.
    let fitted = lambda.peak_rss_mib.ceil().max(f64::from(MIN_MEMORY_MB)) as u32;
    let memory_mb = lambda.memory_mb.unwrap_or(fitted);
    ensure!(
        (MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&memory_mb),
        "Lambda memory {memory_mb} MB is outside {MIN_MEMORY_MB}..={MAX_MEMORY_MB} MB"
    );
    let at_share = (lambda_aws.iter())
        .flat_map(|aws| &aws.sizes)
        .find(|size| size.memory_mb == memory_mb)
        .and_then(|size| size.rust.warm_ms_p50)
        .filter(|ms| ms.is_finite() && *ms > 0.0);
    Ok(Measured {
        path: display(path),
        duration_ms: at_share.unwrap_or(lambda.warm_invoke_ms_p50),
        at_share: at_share.is_some(),
        memory_mb,
        peak_rss_mib: lambda.peak_rss_mib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_the_recorded_setting_else_the_peak_rss_rounded_up_to_a_lambda_size() {
        // GIVEN benchmark results with and without the configured memory, plus unrelated fields
        let parsed = |lambda: &str| {
            let text = format!(r#"{{"k8s": {{"rps": 1}}, "lambda": {lambda}}}"#);
            parse(&text, Path::new("benchmarks.json"))
        };
        let small = parsed(r#"{"warm_invoke_ms_p50": 4.3, "peak_rss_mib": 23.5}"#).unwrap();
        let recorded = r#"{"warm_invoke_ms_p50": 3, "peak_rss_mib": 200.2, "memory_mb": 512}"#;
        let unrecorded = r#"{"warm_invoke_ms_p50": 3, "peak_rss_mib": 200.2}"#;
        // WHEN / THEN the duration is kept, a small RSS gets Lambda's 128 MB minimum, a recorded
        // setting wins, and otherwise the RSS is rounded up to whole MB
        assert_eq!((small.duration_ms, small.memory_mb), (4.3, 128));
        assert_eq!(parsed(recorded).unwrap().memory_mb, 512);
        assert_eq!(parsed(unrecorded).unwrap().memory_mb, 201);
    }

    #[test]
    fn the_duration_is_the_one_at_the_priced_sizes_cpu_share_when_the_run_measured_it() {
        // GIVEN a run with the whole-core warm median and the at-share rows of two sizes
        let text = r#"{"lambda": {"warm_invoke_ms_p50": 4.4, "peak_rss_mib": 7.2, "memory_mb": 128},
            "lambda_aws": {"sizes": [
                {"memory_mb": 1769, "rust": {"warm_ms_p50": 5.2}},
                {"memory_mb": 128, "rust": {"warm_ms_p50": 7.4}}]}}"#;
        // WHEN it is read
        let measured = parse(text, Path::new("benchmarks.json")).unwrap();
        // THEN the 128 MB row's duration is priced, as Lambda would bill it at that share
        assert_eq!((measured.duration_ms, measured.at_share), (7.4, true));
        // AND a run without the at-share rows keeps the whole-core figure, and says so
        let whole = parse(
            r#"{"lambda": {"warm_invoke_ms_p50": 4.4, "peak_rss_mib": 7.2, "memory_mb": 128}}"#,
            Path::new("benchmarks.json"),
        )
        .unwrap();
        assert_eq!((whole.duration_ms, whole.at_share), (4.4, false));
    }

    #[test]
    fn missing_file_error_is_one_line_and_names_the_path() {
        // GIVEN a path that does not exist
        let path = Path::new("does/not/exist/benchmarks.json");
        // WHEN it is loaded
        let message = format!("{:#}", load(Some(path)).unwrap_err());
        // THEN the message is a single line naming the path
        assert!(
            message.contains("does/not/exist/benchmarks.json"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
    }
}
