//! `docs/benchmarks.md` and the chart `docs/benchmarks.svg`, each a pure function of one [`Results`]
//! (what `docs/benchmarks.json` holds). The page is the template `xtask/templates/benchmarks.md`,
//! which holds all its prose and table layout, rendered with the run and the [`Figures`] derived from
//! it; the filters below write numbers as the page shows them.

use std::path::Path;

use anyhow::{Context, Result};
use minijinja::value::Serde;
use minijinja::{UndefinedBehavior, Value};

use super::figures::{Figures, SERVER, at};
use super::results::{Function, LoadSection, Results, Target};
use crate::chart::{self, Bar, Panel};
use crate::numbers::{count, mb, nanos};

/// The page's template, where its prose and tables are edited.
const TEMPLATE: &str = include_str!("../../templates/benchmarks.md");

/// Writes `DIR/benchmarks.md` and `DIR/benchmarks.svg` from `results`.
pub fn write_docs(dir: &Path, results: &Results) -> Result<()> {
    for (name, text) in [
        ("benchmarks.md", page(results)?),
        ("benchmarks.svg", svg(results)?),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The page, rendered from the template; fails when the run lacks a server the page compares, or
/// when the template names something the run does not have.
pub fn page(results: &Results) -> Result<String> {
    let figures = Figures::new(results)?;
    let mut env = decide::template::environment()?;
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // `count`, `fixed` and `num` are the shared set-up's.
    env.add_filter("mb", mb);
    env.add_filter("nanos", nanos);
    env.add_filter("signed", |value: f64, decimals: usize| {
        format!("{value:+.decimals$}")
    });
    env.add_filter(
        "verdict",
        |met: bool| if met { "met" } else { "**missed**" },
    );
    let context = Value::from(Serde(&figures));
    decide::template::render(env, "benchmarks.md", TEMPLATE, context)
        .context("xtask/templates/benchmarks.md cannot be rendered")
}

/// `docs/benchmarks.svg`: throughput per section, cold start, sizes.
pub fn svg(r: &Results) -> Result<String> {
    let bars = |section: &LoadSection, c: u32| -> Result<Vec<Bar>> {
        let shown = section.targets.iter().filter(|t| !t.variant);
        let bar = |t: &Target| {
            let s = at(section, &t.name, c)?;
            let text = format!("{} req/s, p99 {:.2} ms", count(s.rps), s.p99_ms);
            Ok(bar(&t.name, s.rps, text, t.name == SERVER))
        };
        shown.map(bar).collect()
    };
    let mut panels = Vec::new();
    for &c in &r.embedded.connections {
        let title = format!("Embedded store, {c} connections, one core: requests/s");
        panels.push(Panel {
            title,
            bars: bars(&r.embedded, c)?,
        });
    }
    if let Some(&c) = r.dynamodb.connections.iter().max() {
        let emulator = &r.machine.dynamodb_emulator;
        panels.push(Panel {
            title: format!("DynamoDB store on {emulator}, {c} connections: requests/s"),
            bars: bars(&r.dynamodb, c)?,
        });
    }
    let cold = |label, f: &Function, ours| {
        let ms = f.cold_start_ms_p50;
        bar(label, ms, format!("{ms:.1} ms"), ours)
    };
    panels.push(Panel {
        title: "Lambda cold start (spawn → first response), median ms".into(),
        bars: vec![
            cold("lambda-fn", &r.lambda.rust, true),
            cold("Node.js handler", &r.lambda.node, false),
            cold("bare lambda_runtime floor", &r.lambda.floor, false),
        ],
    });
    let size = |label, bytes: u64, ours| bar(label, bytes as f64, mb(bytes), ours);
    panels.push(Panel {
        title: "Deployment size".into(),
        bars: vec![
            size("bootstrap.zip", r.sizes.bootstrap_zip, true),
            size("bootstrap", r.sizes.bootstrap, true),
            size("Node.js node_modules", r.sizes.node_modules, false),
        ],
    });
    let title = format!("user-lookup benchmarks, {}", r.machine.date);
    Ok(chart::bars(&title, &panels))
}

fn bar(label: &str, value: f64, text: String, ours: bool) -> Bar {
    Bar {
        label: label.to_owned(),
        value,
        text,
        ours,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::figures::{AXUM, CEILING};
    use crate::steps::workspace_root;

    fn committed() -> Results {
        Results::read(&workspace_root().join("docs/benchmarks.json")).unwrap()
    }

    /// The rows of the page's table whose header line is `header`.
    fn table<'a>(page: &'a str, header: &str) -> Vec<&'a str> {
        let mut lines = page.lines().skip_while(|line| *line != header).skip(2);
        lines
            .by_ref()
            .take_while(|line| line.starts_with('|'))
            .collect()
    }

    #[test]
    fn lambda_as_on_aws_without_a_cpu_cgroup_is_marked_not_measured_with_what_to_do() {
        // GIVEN a run whose machine had no writable CPU cgroup
        let mut results = committed();
        let why = format!(
            "no CPU cgroup controller: {}",
            testkit::cgroup::CPU_GROUP_HELP
        );
        results.lambda_aws = Some(crate::bench::results::AwsLambda {
            date: "2026-12-07 19:00 UTC".into(),
            load1: 0.1,
            not_measured: Some(why.clone()),
            period_ms: 20.0,
            published: crate::bench::aws_lambda::published(Some("3.11")),
            calibration_tolerance: 0.25,
            default_connects_at_init: true,
            keepalive_front: true,
            python_version: Some("3.11".into()),
            sizes: Vec::new(),
        });

        // WHEN the page is rendered
        let page = page(&results).unwrap();

        // THEN the section says so and what to do, with no figures
        let section = page
            .split("## Lambda as it runs on AWS")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap();
        assert!(
            section.contains(&format!("**Not measured** in this run: {why}")),
            "{section}"
        );
        assert!(section.contains("run as root"), "{section}");
        assert!(!section.contains("| memory (share) |"), "{section}");
    }

    /// One hello world's init: ms, and MiB touched.
    type Init = (f64, f64);

    /// The committed run with the floor's, the Node.js and the Python 3.11 hello worlds' inits set
    /// at every size.
    fn hello_worlds(floor: Init, node: Init, python: Init) -> Results {
        let set = |f: &mut crate::bench::results::AwsFunction, (ms, mib): Init| {
            (f.init_ms_p50, f.init_rss_mib_p50) = (ms, Some(mib));
        };
        let mut results = committed();
        let aws = results.lambda_aws.as_mut().unwrap();
        aws.python_version = Some("3.11".into());
        aws.published = crate::bench::aws_lambda::published(Some("3.11"));
        for size in &mut aws.sizes {
            set(&mut size.floor, floor);
            set(&mut size.node_hello, node);
            let mut hello = size.floor.clone();
            set(&mut hello, python);
            size.python_hello = Some(hello);
        }
        results
    }

    #[test]
    fn the_calibration_fits_two_runtimes_and_holds_only_if_it_carries_to_python() {
        // GIVEN a run whose floor inits in 3.53 ms touching 4 MiB (12 ms under the published
        // 15.53 ms) and whose Node.js hello world inits in 78.47 ms touching 44 MiB (60 ms under the
        // published 138.47 ms): a fit of 7.2 ms + 1.2 ms per MiB; at 128 MB lambda-fn's cold
        // request 18 ms touching 7 MiB, the Node.js handler's 700 ms touching 60
        let section = |python_ms: f64| {
            let mut results = hello_worlds((3.53, 4.0), (78.47, 44.0), (python_ms, 20.0));
            let small = &mut results.lambda_aws.as_mut().unwrap().sizes[0];
            (small.rust.cold_request_ms_p50, small.rust.init_rss_mib_p50) = (18.0, Some(7.0));
            (small.node.cold_request_ms_p50, small.node.init_rss_mib_p50) = (700.0, Some(60.0));
            let page = page(&results).unwrap();
            page.split("## Lambda as it runs on AWS")
                .nth(1)
                .unwrap()
                .to_owned()
        };

        // WHEN the Python 3.11 hello world inits in 50 ms touching 20 MiB (+ 7.2 + 24 = 81.2 ms,
        // ×1.03 of the published 78.61 ms)
        let holds = section(50.0);
        // AND WHEN it inits in 90 ms (121.2 ms, ×1.54)
        let fails = section(90.0);

        // THEN the fit is on the page, the Python check decides the verdict, and only a calibration
        // that holds quotes cold requests as AWS's
        assert!(holds.contains("**7.2 ms + 1.20 ms per MiB**"), "{holds}");
        assert!(
            holds.contains("= **81.2 ms** against 78.61 ms published (×1.03;"),
            "{holds}"
        );
        assert!(holds.contains("**The calibration holds**"), "{holds}");
        // (lambda-fn 18 + 7.2 + 8.4, the Node.js handler 700 + 7.2 + 72)
        assert!(
            holds.contains("| 128 MB | 33.6 ms | 779 ms | 23.2× |"),
            "{holds}"
        );
        assert!(
            fails.contains("= **121.2 ms** against 78.61 ms published (×1.54;"),
            "{fails}"
        );
        assert!(
            fails.contains("**The calibration fails**: the model does not carry"),
            "{fails}"
        );
        assert!(!fails.contains("**On AWS, by the calibration**"), "{fails}");
    }

    #[test]
    fn a_fit_with_a_part_below_zero_fails_however_close_python_comes() {
        // GIVEN a run whose Node.js hello world touches less memory during init than the floor:
        // its larger gap to the published init gives a negative part per MiB
        let results = hello_worlds((3.53, 44.0), (78.47, 4.0), (70.0, 20.0));

        // WHEN the page is rendered
        let page = page(&results).unwrap();

        // THEN the calibration fails as not physical and nothing is quoted as AWS's
        assert!(
            page.contains("**The calibration fails**: the fit is not physical"),
            "{page}"
        );
        assert!(!page.contains("**On AWS, by the calibration**"));
    }

    #[test]
    fn a_run_without_init_memory_has_no_calibration_and_quotes_nothing_as_aws() {
        // GIVEN a run that predates the init memory measurement
        let mut results = committed();
        for size in &mut results.lambda_aws.as_mut().unwrap().sizes {
            size.floor.init_rss_mib_p50 = None;
        }
        // WHEN the page is rendered
        let page = page(&results).unwrap();
        // THEN it says the figures are not AWS's
        assert!(page.contains("has no\ncalibration"), "{page}");
        assert!(!page.contains("**On AWS, by the calibration**"));
    }

    #[test]
    fn every_target_row_has_its_measured_value_goal_and_verdict() {
        // GIVEN the committed run, with k8s-server made twice as fast as the ceiling at 16
        // connections and the package made 7 MB
        let mut results = committed();
        let c = results.embedded.connections[0];
        let ceiling = at(&results.embedded, CEILING, c).unwrap().rps;
        let target = &mut results.embedded.targets[0];
        assert_eq!(target.name, SERVER);
        target.points[0].median.rps = 2.0 * ceiling;
        results.sizes.bootstrap = 7_000_000;

        // WHEN the page is rendered
        let page = page(&results).unwrap();

        // THEN those targets are met and missed with their figures, and every target has its row
        let targets = table(&page, "| target | measured | goal | |");
        let row = format!(
            "| k8s-server throughput vs bare hyper, {c} connections | {} / {} req/s = 2.00× | ≥ 0.85× | met |",
            count(2.0 * ceiling),
            count(ceiling)
        );
        assert!(
            targets.contains(&row.as_str()),
            "{row}\nnot in\n{targets:#?}"
        );
        let size = format!(
            "| Lambda `bootstrap` size (stripped) | 7.00 MB ({:.2} MB zipped) | ≤ 6 MB | **missed** |",
            results.sizes.bootstrap_zip as f64 / 1e6
        );
        assert!(targets.contains(&size.as_str()), "{targets:#?}");
        assert_eq!(targets.len(), 25);
    }

    #[test]
    fn the_widest_point_is_extrapolated_to_the_requested_count_only_when_fewer_were_open() {
        use crate::bench::results::{OpenFiles, Widest};
        // GIVEN the committed run (72.3 MiB at 5,000 connections) with a widest point of 20,000
        // asked, measured at 252.8 MiB: once under a hard limit of 20,000 less 80 (19,920 open),
        // once under no limit (20,000 open)
        let widest = |hard_limit| {
            // (a run whose 5,000 point peaked at 72.3 MiB, set here so the figures below do not
            // follow the committed run)
            let mut results = committed();
            (results.scale.connections, results.scale.peak_rss_mib) = (5_000, 72.3);
            results.scale.wide.rps = 62_298.0;
            let files = OpenFiles {
                requested_connections: 20_000,
                hard_limit,
                reserve: 80,
            };
            let from = (results.scale.connections, results.scale.peak_rss_mib);
            let summary = results.scale.wide.clone();
            let point = Widest::new(files, files.connections(), summary, 252.8, from);
            results.scale.widest = Some(point);
            page(&results).unwrap()
        };
        let row = |page: &str| {
            let targets = table(page, "| target | measured | goal | |");
            let row = targets
                .iter()
                .find(|row| row.contains("open keep-alive connections ("));
            row.map(|row| row.to_string())
        };

        // WHEN the page is rendered
        let limited = widest(Some(20_000));
        let unlimited = widest(None);

        // THEN the limited run's row and memory bullet give 20,000's peak along the slope from
        // 5,000 (180.5 MiB / 14,920 connections = 12.39 KiB each, + 80 × 12.39 KiB = 253.8 MiB),
        // labelled as extrapolated
        let limited_row = row(&limited).expect("a row for 19,920 connections of 20,000 asked");
        assert!(
            limited_row.starts_with(
                "| k8s-server peak RSS with 19,920 open keep-alive connections (20,000 asked: the \
                 open-files hard limit, 20,000, less 80 each process keeps for itself) | 252.8 MiB"
            ),
            "{limited_row}"
        );
        assert!(
            limited_row.contains(
                "(12.4 KiB per connection beyond 5,000); **extrapolated** to 20,000 along that \
                 slope, not measured: 253.8 MiB |"
            ),
            "{limited_row}"
        );
        assert!(
            limited.contains("so at 20,000 it is\n  **extrapolated** along that slope: 253.8 MiB"),
            "{limited}"
        );
        assert!(limited.contains("needs a\n  memory limit above 254 MiB (extrapolated)"));
        // AND the unlimited run's has the measured figure alone
        for label in ["**extrapolated**", "(extrapolated)"] {
            assert!(!unlimited.contains(label), "{unlimited}");
        }
        let unlimited_row = table(&unlimited, "| target | measured | goal | |")
            .into_iter()
            .find(|row| row.contains("with 20,000 open keep-alive connections"))
            .expect("a row for 20,000 connections");
        assert!(
            unlimited_row
                .contains("| 252.8 MiB at 62,298 req/s (12.3 KiB per connection beyond 5,000) |"),
            "{unlimited_row}"
        );
        assert!(
            unlimited.contains("memory limit above 253 MiB and `MAX_CONNECTIONS` above 20,000")
        );
    }

    #[test]
    fn a_run_before_the_widest_point_says_it_was_not_measured() {
        // GIVEN a run written before the widest point
        let mut results = committed();
        results.scale.widest = None;

        // WHEN the page is rendered
        let page = page(&results).unwrap();

        // THEN its row and the memory bullet say it was not measured
        let targets = table(&page, "| target | measured | goal | |");
        let row = "| k8s-server peak RSS at the widest point (`--widest-connections`) | not measured in this run (it predates the widest point) | reported | reported |";
        assert!(targets.contains(&row), "{targets:#?}");
        assert!(
            page.contains(
                "The widest point (`--widest-connections`) was not measured in this run."
            )
        );
    }

    #[test]
    fn a_run_without_the_micro_benchmarks_says_so_where_their_figures_go() {
        // GIVEN the committed run without its criterion figures (`--no-micro`)
        let mut results = committed();
        results.micro.clear();

        // WHEN the page is rendered
        let page = page(&results).unwrap();

        // THEN the verification rows and the micro section say so, and the breakdown has no row
        let targets = table(&page, "| target | measured | goal | |");
        let rs256 = "| one uncached token verification, RS256 (criterion) | not measured (`--no-micro`) | reported | reported |";
        assert!(targets.contains(&rs256), "{targets:#?}");
        assert!(page.contains("\nNot measured in this run (`--no-micro`).\n"));
        assert!(table(&page, "| part | per request |").is_empty());
    }

    #[test]
    fn a_run_without_a_server_the_page_compares_is_refused_by_name() {
        // GIVEN a run that lacks the bare axum router
        let mut results = committed();
        results.embedded.targets.retain(|t| t.name != AXUM);

        // WHEN its page is rendered
        let error = page(&results).unwrap_err();

        // THEN the error names what is missing
        let c = results.embedded.connections[0];
        assert_eq!(
            error.to_string(),
            format!("the run has no {AXUM} at {c} connections")
        );
    }

    #[test]
    fn the_committed_page_and_chart_are_rendered_from_the_committed_json_and_template() {
        // GIVEN docs/benchmarks.json and the page and chart committed beside it
        let results = committed();
        let docs = workspace_root().join("docs");
        let read = |name| std::fs::read_to_string(docs.join(name)).unwrap();

        // WHEN they are rendered again
        let (page, chart) = (page(&results).unwrap(), svg(&results).unwrap());

        // THEN nothing changes: the committed figures are the JSON's, the prose the template's
        assert!(
            page == read("benchmarks.md"),
            "docs/benchmarks.md is stale: run `cargo xtask bench --render-only`"
        );
        assert!(
            chart == read("benchmarks.svg"),
            "docs/benchmarks.svg is stale: run `cargo xtask bench --render-only`"
        );
    }
}
