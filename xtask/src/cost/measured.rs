//! Reads the Lambda duration and memory from the benchmark results (`--measured`).

use std::path::Path;

use anyhow::{Context, Result, anyhow, ensure};
use serde::Deserialize;

use super::display;

/// Default benchmark results file, relative to the workspace root.
pub const DEFAULT_PATH: &str = "docs/benchmarks.json";
/// Smallest memory size Lambda accepts, in MB.
pub const MIN_MEMORY_MB: u32 = 128;
/// Largest memory size Lambda accepts, in MB.
pub const MAX_MEMORY_MB: u32 = 10_240;
/// Longest Lambda invocation (the 15-minute timeout), in ms.
pub const MAX_DURATION_MS: f64 = 900_000.0;

/// The part of the benchmark results this command reads; other fields are ignored.
#[derive(Debug, Deserialize)]
struct BenchmarkFile {
    lambda: LambdaResults,
}

#[derive(Debug, Deserialize)]
struct LambdaResults {
    warm_invoke_ms_p50: f64,
    peak_rss_mib: f64,
    /// Memory the function was configured with, if the benchmark recorded it.
    #[serde(default)]
    memory_mb: Option<u32>,
}

/// Duration and memory to price, taken from a benchmark run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    /// Median warm invocation time, in ms.
    pub duration_ms: f64,
    /// Memory to configure: the recorded setting, else the smallest size that fits the peak RSS.
    pub memory_mb: u32,
    /// Peak resident memory seen, in MiB.
    pub peak_rss_mib: f64,
}

/// Loads `path`; fails with a one-line message naming the path if it is missing or invalid.
pub fn load(path: &Path) -> Result<Measured> {
    let text = std::fs::read_to_string(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => anyhow!(
            "benchmark results not found: {} (pass --measured PATH; schema in docs/cost.md)",
            display(path)
        ),
        _ => anyhow!("cannot read benchmark results {}: {err}", display(path)),
    })?;
    parse(&text).with_context(|| format!("invalid benchmark results {}", display(path)))
}

/// Parses benchmark results JSON.
pub fn parse(text: &str) -> Result<Measured> {
    let file: BenchmarkFile = serde_json::from_str(text)?;
    let lambda = file.lambda;
    ensure!(
        lambda.warm_invoke_ms_p50.is_finite() && lambda.warm_invoke_ms_p50 > 0.0,
        "lambda.warm_invoke_ms_p50 must be positive"
    );
    ensure!(
        lambda.peak_rss_mib.is_finite() && lambda.peak_rss_mib > 0.0,
        "lambda.peak_rss_mib must be positive"
    );
    let fitted = lambda.peak_rss_mib.ceil().max(f64::from(MIN_MEMORY_MB));
    let memory_mb = match lambda.memory_mb {
        Some(mb) => mb,
        // `fitted` is a whole number in [128, f64::MAX]; the range check below catches the rest.
        None => fitted.min(f64::from(u32::MAX)) as u32,
    };
    ensure!(
        (MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&memory_mb),
        "Lambda memory {memory_mb} MB is outside {MIN_MEMORY_MB}..={MAX_MEMORY_MB} MB"
    );
    Ok(Measured {
        duration_ms: lambda.warm_invoke_ms_p50,
        memory_mb,
        peak_rss_mib: lambda.peak_rss_mib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_rss_rounds_up_to_the_smallest_lambda_size() {
        // GIVEN a benchmark with a 4.3 ms p50 and 23.5 MiB peak RSS, plus unrelated fields
        let json =
            r#"{"k8s": {"rps": 1}, "lambda": {"warm_invoke_ms_p50": 4.3, "peak_rss_mib": 23.5}}"#;
        // WHEN it is parsed
        let measured = parse(json).unwrap();
        // THEN the duration is kept and memory is Lambda's 128 MB minimum
        assert_eq!(measured.duration_ms, 4.3);
        assert_eq!(measured.memory_mb, 128);
    }

    #[test]
    fn recorded_memory_setting_wins_over_rss() {
        // GIVEN a benchmark that records the configured memory
        let json =
            r#"{"lambda": {"warm_invoke_ms_p50": 3, "peak_rss_mib": 200.2, "memory_mb": 512}}"#;
        // WHEN / THEN the configured size is priced
        assert_eq!(parse(json).unwrap().memory_mb, 512);
        // AND without it the RSS is rounded up to whole MB
        let json = r#"{"lambda": {"warm_invoke_ms_p50": 3, "peak_rss_mib": 200.2}}"#;
        assert_eq!(parse(json).unwrap().memory_mb, 201);
    }

    #[test]
    fn missing_file_error_is_one_line_and_names_the_path() {
        // GIVEN a path that does not exist
        let path = Path::new("does/not/exist/benchmarks.json");
        // WHEN it is loaded
        let message = format!("{:#}", load(path).unwrap_err());
        // THEN the message is a single line naming the path
        assert!(
            message.contains("does/not/exist/benchmarks.json"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
    }
}
