//! `decide run` (`cargo xtask decide`): every platform on the traffic, the verdict, the report.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cost::prices::Prices;
use crate::deploy::Deployment;
use crate::input::read;
use crate::lab::{Inputs, Objective, Options, matrix, verdict};
use crate::measurements::{DEFAULT_PATH, Measurements};
use crate::params::Params;
use crate::paths::{display, workspace_root};
use crate::report::Report;
use crate::traffic::{Trace, Volume};

/// The page `--docs` renders, relative to the workspace root.
pub const DOCS_PAGE: &str = "docs/decide.md";
/// Default output folder, relative to the workspace root.
const DEFAULT_OUT: &str = "target/decide";

/// Options of the lab run.
#[derive(Clone, Debug, Args)]
pub struct LabArgs {
    /// Your own trace: a CSV of `second,requests_per_second` rows (a header line is allowed)
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,
    /// Scale the CSV to a volume: requests a month (`100M`, `2.5e9`) or a peak rate (`250rps`)
    #[arg(long, value_parser = Volume::parse)]
    pub volume: Option<Volume>,
    /// Simulated days of the built-in shapes (30.4 = a 730-hour month)
    #[arg(long, default_value_t = 30.416_666_666_666_668)]
    pub days: f64,
    /// The p99 latency objective, in ms
    #[arg(long, default_value_t = 100.0)]
    pub p99_ms: f64,
    /// Failed requests allowed, in % of those offered
    #[arg(long, default_value_t = 0.1)]
    pub error_budget: f64,
    /// Seed of the unpredictable shape's bursts
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Benchmark results to read [default: docs/benchmarks.json]
    #[arg(long, value_name = "PATH")]
    pub measured: Option<PathBuf>,
    /// Platform parameters to read [default: decide/data/platforms.toml]
    #[arg(long, value_name = "PATH")]
    pub params: Option<PathBuf>,
    /// A new account's lower concurrency quota
    #[arg(long)]
    pub new_account: bool,
    /// Reserved concurrency for the function [default: the template's]
    #[arg(long)]
    pub reserved: Option<u32>,
    /// Leave out API Gateway's stage throttle
    #[arg(long)]
    pub no_api_throttle: bool,
    /// Provisioned environments [default: enough for each trace's peak]
    #[arg(long)]
    pub provisioned: Option<u32>,
    /// Lambda duration in ms [default: measured]
    #[arg(long)]
    pub duration_ms: Option<f64>,
    /// Lambda memory in MB [default: the template's]
    #[arg(long)]
    pub memory_mb: Option<u32>,
    /// Where to write report.html and summary.json [default: target/decide]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Render docs/decide.md (built-in shapes, a week, the default objective) and exit
    #[arg(long, conflicts_with_all = ["csv", "volume", "days", "out"])]
    pub docs: bool,
}

impl Default for LabArgs {
    fn default() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: LabArgs,
        }
        Cli::parse_from(["decide"]).args
    }
}

/// Reads every input (failing before anything is written), runs, writes the report.
pub fn run(args: &LabArgs) -> Result<()> {
    let root = workspace_root();
    let inputs = inputs(args)?;
    let csv = args.csv.as_ref().map(|path| Trace::csv(path)).transpose()?;
    let objective = Objective {
        p99_ms: args.p99_ms,
        error_budget_pct: args.error_budget,
    };
    let seconds = (args.days * 86_400.0).round().max(1.0) as usize;
    let started = std::time::Instant::now();
    let report = if args.docs {
        docs_report(&inputs, objective)
    } else {
        let mut traces = matrix(&inputs, seconds, args.seed, objective);
        if let Some(trace) = csv {
            let (trace, volume) = match args.volume {
                Some(volume) => (trace.scaled(volume), volume.label()),
                None => (trace, "as recorded".to_owned()),
            };
            let runs = inputs.run_all(&trace);
            traces.push((verdict(&trace.name, &volume, &runs, objective), runs));
        }
        Report::new(&inputs, objective, seconds, traces)
    };
    let elapsed = started.elapsed();
    if args.docs {
        let path = root.join(DOCS_PAGE);
        crate::cost::write(&path, &report.markdown()?)?;
        println!(
            "Written {} in {:.1} s",
            display(&path),
            elapsed.as_secs_f64()
        );
        return Ok(());
    }
    let out = args.out.clone().unwrap_or_else(|| root.join(DEFAULT_OUT));
    let html = report.html()?;
    crate::cost::write(&out.join("report.html"), &html)?;
    crate::cost::write(&out.join("summary.json"), &report.json())?;
    let page = report.markdown()?;
    let verdict = page
        .split("## Verdict")
        .nth(1)
        .and_then(|rest| rest.split("## ").next())
        .unwrap_or_default();
    println!("# Verdict{}", verdict.trim_end());
    println!(
        "\n{} traces × 4 platforms, {:.1} simulated days each, in {:.1} s",
        report.traces.len(),
        args.days,
        elapsed.as_secs_f64()
    );
    println!("Report: {}", display(&out.join("report.html")));
    println!(
        "Summary and verdict (JSON): {}",
        display(&out.join("summary.json"))
    );
    Ok(())
}

/// The inputs `args` name (or the defaults).
pub fn inputs(args: &LabArgs) -> Result<Inputs> {
    let root = workspace_root();
    let params = match &args.params {
        Some(path) => Params::parse(&read(path)?, &display(path))?,
        None => Params::embedded()?,
    };
    let measured_path = args
        .measured
        .clone()
        .unwrap_or_else(|| root.join(DEFAULT_PATH));
    Ok(Inputs {
        prices: Prices::embedded().context("the price file")?,
        params,
        measured: Measurements::load(&measured_path)?,
        deployment: Deployment::load(&root)?,
        options: Options {
            new_account: args.new_account,
            reserved: args.reserved,
            no_api_throttle: args.no_api_throttle,
            provisioned: args.provisioned,
            duration_ms: args.duration_ms,
            memory_mb: args.memory_mb,
        },
    })
}

/// Simulated days of docs/decide.md's run (a week keeps its staleness test to seconds).
pub const DOCS_DAYS: usize = 7;

/// docs/decide.md's run: every built-in shape for a week at the default objective.
pub fn docs_report(inputs: &Inputs, objective: Objective) -> Report {
    let seconds = DOCS_DAYS * 86_400;
    Report::new(
        inputs,
        objective,
        seconds,
        matrix(inputs, seconds, 1, objective),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_page_is_rendered_from_the_lab() {
        // GIVEN docs/decide.md as committed
        let page = std::fs::read_to_string(workspace_root().join(DOCS_PAGE)).unwrap();
        // WHEN the lab renders it again from the committed inputs
        let args = LabArgs::default();
        let objective = Objective {
            p99_ms: args.p99_ms,
            error_budget_pct: args.error_budget,
        };
        let rendered = docs_report(&inputs(&args).unwrap(), objective)
            .markdown()
            .unwrap();
        // THEN nothing changes
        assert!(
            rendered == page,
            "docs/decide.md is stale: run `cargo xtask decide --docs`"
        );
    }

    #[test]
    fn bad_input_fails_with_one_line_and_writes_nothing() {
        // GIVEN a CSV with a negative rate and an output folder
        let dir = std::env::temp_dir().join(format!("decide-bad-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("traffic.csv");
        std::fs::write(&csv, "second,requests_per_second\n0,3\n1,-4\n").unwrap();
        let out = dir.join("out");
        let args = LabArgs {
            csv: Some(csv),
            out: Some(out.clone()),
            days: 0.01,
            ..LabArgs::default()
        };
        // WHEN the lab runs
        let error = format!("{:#}", run(&args).unwrap_err());
        // THEN one line names the file, the line and the field, and nothing was written
        assert!(
            error.ends_with("traffic.csv:3: requests_per_second: `-4` is negative"),
            "{error}"
        );
        assert!(!error.contains('\n'));
        assert!(!out.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
