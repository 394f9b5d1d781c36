//! `cargo xtask cost` (`decide cost`): the Kubernetes-vs-Lambda monthly cost model (see docs/cost.md).
//!
//! The model ([`model`]) gives its [`results::Results`] for a scenario; the tables are rendered from
//! those by the templates `decide/templates/cost-tables.md` (printed through `cost-terminal.md`,
//! and docs/cost.md through `cost.md`), and the same results are written as JSON: docs/cost.json
//! beside the page, and with `--json PATH` for any other scenario.

pub mod chart;
pub mod measured;
pub mod model;
pub mod prices;
pub mod results;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use minijinja::value::Serde;
use minijinja::{UndefinedBehavior, Value, context};

use self::model::{Arch, Scenario};
use self::prices::Prices;
use self::results::Results;
use crate::paths::{display, workspace_root};
use crate::template;

/// Default chart path, relative to the workspace root.
const DEFAULT_SVG: &str = "target/cost/cost.svg";
/// The page `--docs` renders, and the results it is rendered from, relative to the workspace root.
const PAGE: &str = "docs/cost.md";
const PAGE_JSON: &str = "docs/cost.json";

/// Options of `cargo xtask cost`; without any (`None`: as in the seed), it reproduces the seed's example.
#[derive(Debug, Default, Args)]
pub struct CostArgs {
    /// Requests per month for the itemised Lambda bill, e.g. 5000000, 5M, 2.5e9 [default: the seed's 1M]
    #[arg(long, value_parser = parse_count)]
    requests: Option<f64>,
    /// Lambda duration per request in ms, billed rounded up to 1 ms [default: the seed's 200]
    #[arg(long, value_parser = parse_duration_ms)]
    duration_ms: Option<f64>,
    /// Lambda memory in MB [default: the seed's 1024]
    #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(measured::MIN_MEMORY_MB)..=i64::from(measured::MAX_MEMORY_MB)))]
    memory_mb: Option<u32>,
    /// Lambda architecture, which selects the compute price
    #[arg(long, value_enum, default_value_t = Arch::X86_64)]
    arch: Arch,
    /// Kubernetes worker nodes [default: the seed's 3]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    nodes: Option<u32>,
    /// Price of one node in USD per hour [default: t3.medium from the price file]
    #[arg(long, value_parser = parse_usd)]
    node_hourly: Option<f64>,
    /// Load balancer price in USD per month [default: from the price file]
    #[arg(long, value_parser = parse_usd)]
    lb_monthly: Option<f64>,
    /// Add the EKS control plane (which the seed leaves out) to the Kubernetes cost
    #[arg(long)]
    eks_control_plane: bool,
    /// Deduct Lambda's always-free monthly requests and GB-s
    #[arg(long)]
    free_tier: bool,
    /// Take duration and memory from benchmark results JSON [default path: docs/benchmarks.json]
    #[arg(long, value_name = "PATH", conflicts_with_all = ["duration_ms", "memory_mb"])]
    measured: Option<Option<PathBuf>>,
    /// Also list every price with its source page and the date it was read
    #[arg(long)]
    sources: bool,
    /// Render docs/cost.md and docs/cost.json (its scenario: --duration-ms 5 --memory-mb 128) and exit
    #[arg(long, conflicts_with_all = ["requests", "duration_ms", "memory_mb", "nodes", "node_hourly", "lb_monthly", "eks_control_plane", "free_tier", "measured", "svg", "json"])]
    docs: bool,
    /// Where to write the SVG chart [default: target/cost/cost.svg]
    #[arg(long, value_name = "PATH")]
    svg: Option<PathBuf>,
    /// Also write the figures of the tables as JSON to PATH
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

/// Prints the tables and writes the chart (or, with `--docs`, renders the page and its JSON).
pub fn run(args: &CostArgs) -> Result<()> {
    let prices = Prices::embedded()?;
    let root = workspace_root();
    if args.docs {
        let (page, json) = page(&prices)?;
        write(&root.join(PAGE_JSON), &json)?;
        write(&root.join(PAGE), &page)?;
        println!("Written {PAGE} and {PAGE_JSON}");
        return Ok(());
    }
    let measured = (args.measured.as_ref())
        .map(|path| measured::load(path.as_deref()))
        .transpose()?;
    let scenario = Scenario::new(&prices, args, measured);
    let results = Results::new(&prices, &scenario);
    let context = context! { r => Serde(&results), sources => args.sources };
    println!("{}", render("cost-terminal.md", context)?.trim_end());

    let meta = &prices.meta;
    let svg_path = args.svg.clone().unwrap_or_else(|| root.join(DEFAULT_SVG));
    let title = format!(
        "Kubernetes vs Lambda monthly cost ({} list prices, read {})",
        meta.region, meta.read
    );
    write(&svg_path, &chart::render(&scenario, &title))?;
    println!("\nChart written to {}", display(&svg_path));
    if let Some(path) = &args.json {
        write(path, &results.json())?;
        println!("Figures written to {}", display(path));
    }
    Ok(())
}

/// docs/cost.md and docs/cost.json, for the page's scenario.
fn page(prices: &Prices) -> Result<(String, String)> {
    // `cargo xtask cost --duration-ms 5 --memory-mb 128`, as the page says.
    let inputs = CostArgs {
        duration_ms: Some(5.0),
        memory_mb: Some(128),
        ..CostArgs::default()
    };
    let results = Results::new(prices, &Scenario::new(prices, &inputs, None));
    let page = render("cost.md", context! { r => Serde(&results) })?;
    Ok((page, results.json()))
}

/// The cost template `name` (`decide/templates/cost*.md`) rendered with `context`; a name the
/// results do not have is an error, not an empty cell.
fn render(name: &str, context: Value) -> Result<String, minijinja::Error> {
    let mut env = template::environment()?;
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, source) in [
        ("cost.md", include_str!("../../templates/cost.md")),
        (
            "cost-terminal.md",
            include_str!("../../templates/cost-terminal.md"),
        ),
        (
            "cost-tables.md",
            include_str!("../../templates/cost-tables.md"),
        ),
    ] {
        env.add_template(name, source)?;
    }
    env.get_template(name)?.render(context)
}

/// Writes `contents` to `path`, creating its folder.
pub fn write(path: &Path, contents: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

/// `digits` (read from `text`) as an `f64`, or an error saying that `text` is not `what`.
fn number(text: &str, digits: &str, what: &str) -> Result<f64, String> {
    digits
        .parse()
        .map_err(|_| format!("`{text}` is not {what}"))
}

/// Parses a request volume: `1000000`, `1_000_000`, `1e6`, `2.5M`, `10B`, `100k`.
pub fn parse_count(text: &str) -> Result<f64, String> {
    let cleaned = text.trim().replace('_', "");
    let scales = [(['k', 'K'], 1e3), (['m', 'M'], 1e6), (['b', 'B'], 1e9)];
    let (digits, scale) = (scales.into_iter())
        .find_map(|(suffix, scale)| Some((cleaned.strip_suffix(suffix)?, scale)))
        .unwrap_or((&cleaned, 1.0));
    let value = number(text, digits, "a request count (e.g. 5000000, 5M, 2.5e9)")? * scale;
    (value.is_finite() && value >= 0.0)
        .then_some(value)
        .ok_or_else(|| format!("`{text}` must be a finite count >= 0"))
}

/// Parses a Lambda duration: more than 0 and at most the 900,000 ms timeout.
fn parse_duration_ms(text: &str) -> Result<f64, String> {
    let value = number(text, text, "a number")?;
    let max = measured::MAX_DURATION_MS;
    (value > 0.0 && value <= max)
        .then_some(value)
        .ok_or_else(|| format!("must be > 0 and <= {max} (the Lambda timeout)"))
}

/// Parses a non-negative USD amount.
fn parse_usd(text: &str) -> Result<f64, String> {
    let value = number(text, text.trim_start_matches('$'), "an amount")?;
    (value.is_finite() && value >= 0.0)
        .then_some(value)
        .ok_or_else(|| "must be a finite amount >= 0".to_owned())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: CostArgs,
    }

    fn parse(args: &[&str]) -> Result<CostArgs, clap::Error> {
        let argv = std::iter::once("cost").chain(args.iter().copied());
        Cli::try_parse_from(argv).map(|cli| cli.args)
    }

    #[test]
    fn the_committed_page_and_its_figures_are_rendered_from_the_model_and_the_price_list() {
        // GIVEN docs/cost.md and docs/cost.json as committed
        let committed = |path| std::fs::read_to_string(workspace_root().join(path)).unwrap();
        // WHEN they are rendered again
        let (page, json) = page(&Prices::embedded().unwrap()).unwrap();
        // THEN nothing changes
        let stale = "is stale: edit decide/templates/cost*.md, not the page, and run `cargo xtask cost --docs`";
        assert!(json == committed(PAGE_JSON), "{PAGE_JSON} {stale}");
        assert!(page == committed(PAGE), "{PAGE} {stale}");
    }

    #[test]
    fn the_printed_tables_follow_the_options_the_page_does_not_use() {
        // GIVEN the control plane, the free tier, other nodes and arm64 (none of them on the page)
        let args = parse(&[
            "--free-tier",
            "--eks-control-plane",
            "--nodes=2",
            "--node-hourly=0.0208",
            "--lb-monthly=18",
            "--arch=arm64",
        ])
        .unwrap();
        let prices = Prices::embedded().unwrap();
        let results = Results::new(&prices, &Scenario::new(&prices, &args, None));
        // WHEN the tables are rendered for the terminal
        let context = context! { r => Serde(&results), sources => false };
        let text = render("cost-terminal.md", context).unwrap();
        // THEN the control plane is priced, the nodes are not called t3.medium, the free tier is
        // deducted, and both Lambda profiles are bold where the free tier makes them equally cheap
        for line in [
            "| EKS control plane | $0.10/h × 730 h | $73.00 |",
            "| nodes | 2 × node × $0.0208/h × 730 h | $30.37 |",
            "| 1,000,000 requests/month, free tier deducted |",
            "| 1M | $121.37 | **$1.00** | **$1.00** |",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
        assert!(!text.contains("## Prices"));
    }

    #[test]
    fn request_counts_accept_suffixes_and_exponents() {
        // GIVEN / WHEN / THEN the usual ways of writing a volume parse to the same number
        assert_eq!(parse_count("5000000"), Ok(5e6));
        assert_eq!(parse_count("5_000_000"), Ok(5e6));
        assert_eq!(parse_count("5M"), Ok(5e6));
        assert_eq!(parse_count("2.5e9"), Ok(2.5e9));
        assert_eq!(parse_count("100k"), Ok(1e5));
        assert!(parse_count("-1").is_err());
        assert!(parse_count("lots").is_err());
    }

    #[test]
    fn options_follow_lambda_and_refuse_mixing_measured_with_manual_workload() {
        // GIVEN `--measured` alone, with a path, and with --duration-ms; values outside Lambda's limits
        // WHEN they are parsed
        // THEN the default path is implied, the path is kept, the mix and the values are refused
        assert_eq!(parse(&["--measured"]).unwrap().measured, Some(None));
        let with_path = parse(&["--measured", "b.json"]).unwrap().measured;
        assert_eq!(with_path, Some(Some(PathBuf::from("b.json"))));
        assert!(parse(&["--measured", "--duration-ms", "5"]).is_err());
        for refused in [
            ["--memory-mb", "64"],
            ["--memory-mb", "10241"],
            ["--duration-ms", "0"],
        ] {
            assert!(parse(&refused).is_err(), "{refused:?}");
        }
        // AND arm64 is accepted by its Lambda name
        assert_eq!(parse(&["--arch", "arm64"]).unwrap().arch, Arch::Arm64);
    }
}
