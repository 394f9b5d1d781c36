//! The tables of `docs/benchmarks.md` and the chart `docs/benchmarks.svg`, each a pure function of one
//! [`Results`]. The page's prose is written in the page, around `<!-- bench:NAME -->` regions that
//! [`write_docs`] rewrites.

use std::path::Path;

use anyhow::{Context, Result};

use super::results::{Function, LoadSection, Results, Summary, Target};
use crate::chart::{self, Bar, Panel};
use crate::doc_regions::{self, table};
use crate::numbers::{count, mb, nanos};

/// The bare-hyper ceiling's name in the embedded section.
const CEILING: &str = "ceiling";
/// `k8s-server`'s name in both sections.
const SERVER: &str = "k8s-server";
/// The Node.js server's name in both sections.
const NODE: &str = "node-http";
/// `k8s-server` with `AUTH=jwt`'s name in the embedded section.
const AUTH: &str = "k8s-server, AUTH=jwt";
/// The bare axum router's name in the embedded section.
const AXUM: &str = "axum-bare";
/// The raw loop's name in the DynamoDB section.
const RAW: &str = "raw GetItem loop";
/// An in-region DynamoDB round trip, ms, to show what the server's added latency is worth there.
const IN_REGION_GETITEM_MS: f64 = 4.0;

/// Rewrites the regions of `DIR/benchmarks.md` and writes `DIR/benchmarks.svg` from `results`.
pub fn write_docs(dir: &Path, results: &Results) -> Result<()> {
    let page = dir.join("benchmarks.md");
    let doc = std::fs::read_to_string(&page)
        .with_context(|| format!("cannot read {} (its prose is kept)", page.display()))?;
    let doc = doc_regions::rewrite(&doc, "bench", &regions(results)?)
        .with_context(|| format!("{} cannot take the tables", page.display()))?;
    for (path, text) in [(page, doc), (dir.join("benchmarks.svg"), svg(results)?)] {
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Every generated region of the page, by name; fails when the run lacks a server a table needs.
pub fn regions(r: &Results) -> Result<Vec<(&'static str, String)>> {
    Ok(vec![
        ("machine", machine(r)),
        ("targets", targets(r)?),
        ("diagnostics", diagnostics(r)?),
        ("embedded", load_table(&r.embedded, CEILING)),
        ("dynamodb", load_table(&r.dynamodb, RAW)),
        ("lambda", lambda_table(r)),
        ("footprint", footprint(r)),
        ("micro", micro(r)),
        ("breakdown", breakdown(r)),
    ])
}

/// The medians of `name` at `c` connections in `section`.
fn at<'a>(section: &'a LoadSection, name: &str, c: u32) -> Result<&'a Summary> {
    section
        .at(name, c)
        .with_context(|| format!("the run has no {name} at {c} connections"))
}

/// Server CPU time per answer, µs.
fn cpu_us(s: &Summary) -> f64 {
    s.server_cpu_pct * 1e4 / s.rps
}

/// The user-space part of [`cpu_us`].
fn user_us(s: &Summary) -> f64 {
    s.server_user_cpu_pct * 1e4 / s.rps
}

/// Server CPU time per answer, µs, and the user-space part of it when it was measured.
fn cpu_per_request(s: &Summary) -> String {
    if s.server_user_cpu_pct > 0.0 {
        format!("{:.1} µs ({:.1} µs)", cpu_us(s), user_us(s))
    } else {
        format!("{:.1} µs", cpu_us(s))
    }
}

/// The criterion median of `GROUP/NAME`, ns.
fn micro_ns(r: &Results, name: &str) -> Option<f64> {
    r.micro.iter().find(|m| m.name == name).map(|m| m.median_ns)
}

/// A difference of two medians as a cost: a negative one is below the noise between two benchmarks.
fn cost(ns: f64) -> String {
    if ns < 0.0 {
        format!("below the noise ({})", nanos(ns))
    } else {
        nanos(ns)
    }
}

/// `ours` against `other` in req/s, and the ratio.
fn ratio(ours: &Summary, other: &Summary) -> (String, f64) {
    let ratio = ours.rps / other.rps;
    let (a, b) = (count(ours.rps), count(other.rps));
    (format!("{a} / {b} req/s = {ratio:.2}×"), ratio)
}

/// Where and how the run was taken.
fn machine(r: &Results) -> String {
    let m = &r.machine;
    let loads: Vec<String> = m
        .load_average
        .iter()
        .map(|s| format!("{} {:.2}", s.at, s.load1))
        .collect();
    let lines = [
        format!("- Run: {}", m.date),
        format!(
            "- Machine: {} × {} ({}), {}",
            m.cores, m.cpu, m.kernel, m.rustc
        ),
        format!("- Peers: Node.js {}, load generator {}", m.node, m.wrk),
        if m.pinning.pinned {
            format!(
                "- Pinning (`taskset`): the process under test on core {}; wrk, {}, the Runtime API and the bench itself on core {}",
                m.pinning.server, m.dynamodb_emulator, m.pinning.load
            )
        } else {
            "- **No pinning**: this machine has one core, so server and load generator share it"
                .into()
        },
        format!("- Load average (1 min) at each phase: {}", loads.join(", ")),
        format!(
            "- Plan: {} runs of {} s per server and connection count; {} fresh processes per start-to-ready \
             measurement and per Lambda function, {} warm invocations in each",
            r.embedded.runs,
            r.embedded.duration_s,
            r.server.start_to_ready_ms.len(),
            r.lambda.rust.warm_invoke_ms.len() / r.lambda.rust.cold_start_ms.len().max(1)
        ),
    ];
    lines.join("\n")
}

/// The rows of the targets table: what, measured, goal, verdict.
#[derive(Default)]
struct Goals(Vec<Vec<String>>);

impl Goals {
    /// A figure held to `goal`, met or missed.
    fn check(&mut self, what: impl Into<String>, measured: String, goal: &str, met: bool) {
        let verdict = if met { "met" } else { "**missed**" };
        self.0
            .push(vec![what.into(), measured, goal.into(), verdict.into()]);
    }

    /// A figure reported, held to no goal.
    fn report(&mut self, what: impl Into<String>, measured: String) {
        let cells = [what.into(), measured, "reported".into(), "reported".into()];
        self.0.push(cells.into());
    }
}

/// Every target with its measured value, its goal and whether it was met.
fn targets(r: &Results) -> Result<String> {
    let mut goals = Goals::default();
    let e = &r.embedded;
    for &c in &e.connections {
        let ours = at(e, SERVER, c)?;
        for (peer, label, goal) in [(CEILING, "bare hyper", 0.85), (NODE, "Node.js http", 2.0)] {
            let (shown, ratio) = ratio(ours, at(e, peer, c)?);
            let what = format!("k8s-server throughput vs {label}, {c} connections");
            goals.check(what, shown, &format!("≥ {goal}×"), ratio >= goal);
        }
        let ceiling = at(e, CEILING, c)?;
        let p99 = ours.p99_ms / ceiling.p99_ms;
        let shown = format!("{:.2} / {:.2} ms = {p99:.2}×", ours.p99_ms, ceiling.p99_ms);
        let what = format!("k8s-server p99 vs bare hyper, {c} connections");
        goals.check(what, shown, "≤ 2×", p99 <= 2.0);
        let what = format!("the layers' price: k8s-server vs bare axum, {c} connections");
        goals.report(what, ratio(ours, at(e, AXUM, c)?).0);
        let (shown, ratio) = ratio(at(e, AUTH, c)?, ours);
        let what =
            format!("k8s-server with AUTH=jwt, one token reused, vs without, {c} connections");
        goals.check(what, shown, "≥ 0.9×", ratio >= 0.9);
    }
    let s = &r.server;
    let most = e.connections.iter().copied().max().unwrap_or(0);
    let requests = count(s.peak_rss_requests as f64);
    goals.check(
        format!("k8s-server peak RSS under {most} connections (VmHWM, fresh process, one run)"),
        format!("{:.1} MiB after {requests} requests", s.peak_rss_mib),
        "≤ 10 MiB",
        s.peak_rss_mib <= 10.0,
    );
    let (first, second) = (s.peak_rss_mib, s.peak_rss_after_second_run_mib);
    let growth = s.rss_growth_kib_per_100k_requests;
    // Under 3 bytes a request: allocator and page noise (docs/benchmarks.md).
    goals.check(
        "k8s-server memory stays bounded (a second identical run)",
        format!("{first:.1} → {second:.1} MiB: {growth:+.0} KiB per 100,000 requests"),
        "no growth",
        growth <= 256.0,
    );
    let ready = s.start_to_ready_ms_p50;
    goals.check(
        "k8s-server start-to-ready (spawn → first 200 on /readyz), median",
        format!("{ready:.1} ms"),
        "≤ 20 ms",
        ready <= 20.0,
    );
    let scale = &r.scale;
    let (n, base) = (
        count(f64::from(scale.connections)),
        scale.baseline_connections,
    );
    let (wide, baseline) = (count(scale.wide.rps), count(scale.baseline.rps));
    let ratio = scale.wide.rps / scale.baseline.rps;
    goals.check(
        format!("k8s-server throughput with {n} open keep-alive connections vs {base}"),
        format!("{n}: {wide} / {base}: {baseline} req/s = {ratio:.2}×"),
        "≥ 0.8×",
        ratio >= 0.8,
    );
    let (rss, per) = (scale.peak_rss_mib, scale.rss_per_connection_kib);
    goals.check(
        format!("k8s-server peak RSS with {n} open keep-alive connections"),
        format!("{rss:.1} MiB ({per:.1} KiB per connection)"),
        "≤ 64 MiB",
        rss <= 64.0,
    );
    let (rust, node, floor) = (&r.lambda.rust, &r.lambda.node, &r.lambda.floor);
    let (init, floor_init) = (rust.init_ms_p50, floor.init_ms_p50);
    goals.check(
        "lambda-fn init (USER_STORE=dynamodb) over the bare `lambda_runtime` floor, medians",
        format!(
            "{init:.1} vs {floor_init:.1} ms = {:+.1} ms",
            init - floor_init
        ),
        "≤ +2 ms",
        init - floor_init <= 2.0,
    );
    let (ours, theirs) = (rust.cold_start_ms_p50, node.cold_start_ms_p50);
    goals.check(
        "lambda-fn cold start (init + first invoke, first GetItem) vs the Node.js handler, medians",
        format!(
            "{ours:.1} ms vs {theirs:.1} ms = {:.1}× faster",
            theirs / ours
        ),
        "≥ 20× faster",
        theirs / ours >= 20.0,
    );
    goals.report(
        "lambda-fn cold start with AUTH=jwt (first invoke fetches the JWKS, verifies), median",
        format!("{:.1} ms", r.lambda.rust_jwt.cold_start_ms_p50),
    );
    for alg in ["RS256", "ES256"] {
        let name = format!("bearer/verify_uncached_{}", alg.to_lowercase());
        let us = micro_ns(r, &name).map_or("not measured (`--no-micro`)".into(), |ns| {
            format!("{:.1} µs", ns / 1e3)
        });
        goals.report(
            format!("one uncached token verification, {alg} (criterion)"),
            us,
        );
    }
    let (size, zip) = (mb(r.sizes.bootstrap), mb(r.sizes.bootstrap_zip));
    goals.check(
        "Lambda `bootstrap` size (stripped)",
        format!("{size} ({zip} zipped)"),
        "≤ 6 MB",
        r.sizes.bootstrap <= 6_000_000,
    );
    let d = &r.dynamodb;
    if let Some(&c) = d.connections.iter().min() {
        let (ours, raw) = (at(d, SERVER, c)?, at(d, RAW, c)?);
        let over = ours.p50_ms / raw.p50_ms - 1.0;
        goals.check(
            format!("k8s-server latency over the raw GetItem round trip, {c} connection(s), p50"),
            format!(
                "{:.3} vs {:.3} ms = {:+.1}%",
                ours.p50_ms,
                raw.p50_ms,
                over * 100.0
            ),
            "≤ 10%",
            over <= 0.10,
        );
    }
    for &c in &d.connections {
        let (ours, raw) = (at(d, SERVER, c)?, at(d, RAW, c)?);
        let over = raw.rps / ours.rps - 1.0;
        let (a, b) = (count(ours.rps), count(raw.rps));
        goals.check(
            format!("k8s-server throughput cost over the raw GetItem loop, {c} connection(s)"),
            format!("{a} vs {b} req/s = {:+.1}%", over * 100.0),
            "≤ 10%",
            over <= 0.10,
        );
    }
    Ok(table(&["target", "measured", "goal", ""], goals.0))
}

/// Figures derived from the tables that explain the targets (read in docs/benchmarks.md).
fn diagnostics(r: &Results) -> Result<String> {
    let mut rows = Vec::new();
    let mut row = |figure: String, value: String| rows.push(vec![figure, value]);
    let e = &r.embedded;
    for &c in &e.connections {
        let (ours, ceiling, node) = (at(e, SERVER, c)?, at(e, CEILING, c)?, at(e, NODE, c)?);
        let kernel_us = |s: &Summary| cpu_us(s) - user_us(s);
        row(
            format!("user-space CPU per request, Node.js ÷ k8s-server, {c} connections"),
            format!("{:.1}×", user_us(node) / user_us(ours)),
        );
        row(
            format!(
                "kernel CPU per request (loopback TCP), k8s-server / ceiling / Node.js, {c} connections"
            ),
            format!(
                "{:.1} / {:.1} / {:.1} µs",
                kernel_us(ours),
                kernel_us(ceiling),
                kernel_us(node)
            ),
        );
        // With every connection busy, the mean latency is connections / throughput (Little's law).
        let mean_ms = |s: &Summary| f64::from(c) / s.rps * 1e3;
        row(
            format!("mean latency (connections ÷ req/s), k8s-server / ceiling, {c} connections"),
            format!(
                "{:.2} / {:.2} ms = {:.2}×",
                mean_ms(ours),
                mean_ms(ceiling),
                ceiling.rps / ours.rps
            ),
        );
        row(
            format!("p99 ÷ mean latency, k8s-server / ceiling, {c} connections"),
            format!(
                "{:.1}× / {:.1}×",
                ours.p99_ms / mean_ms(ours),
                ceiling.p99_ms / mean_ms(ceiling)
            ),
        );
        for variant in e.targets.iter().filter(|t| t.variant) {
            let v = at(e, &variant.name, c)?;
            row(
                format!("*{}* vs k8s-server, {c} connections", variant.name),
                format!(
                    "{} req/s ({:+.1}%)",
                    count(v.rps),
                    (v.rps / ours.rps - 1.0) * 100.0
                ),
            );
        }
    }
    let (rust, node, one) = (
        &r.lambda.rust,
        &r.lambda.node,
        &r.lambda.rust_one_root_certificate,
    );
    row(
        "lambda-fn init spent loading the system's root certificates".into(),
        format!("{:.1} ms", rust.init_ms_p50 - one.init_ms_p50),
    );
    let (ours, theirs) = (one.cold_start_ms_p50, node.cold_start_ms_p50);
    row(
        "lambda-fn cold start with one root certificate vs the Node.js handler".into(),
        format!(
            "{ours:.1} ms vs {theirs:.1} ms = {:.1}× faster",
            theirs / ours
        ),
    );
    let d = &r.dynamodb;
    if let Some(&c) = d.connections.iter().min() {
        let (ours, raw) = (at(d, SERVER, c)?, at(d, RAW, c)?);
        let added_us = (ours.p50_ms - raw.p50_ms) * 1e3;
        row(
            format!("k8s-server's p50 over the raw GetItem round trip, {c} connection(s)"),
            format!(
                "+{added_us:.0} µs on {:.0} µs ({})",
                raw.p50_ms * 1e3,
                r.machine.dynamodb_emulator
            ),
        );
        row(
            format!("the same on a {IN_REGION_GETITEM_MS:.0} ms in-region DynamoDB round trip"),
            format!("{:+.1}%", added_us / (IN_REGION_GETITEM_MS * 10.0)),
        );
    }
    Ok(table(&["figure", "value"], rows))
}

/// One section's servers: medians per connection count, then what each server is.
fn load_table(section: &LoadSection, reference: &str) -> String {
    let ordered = (section.targets.iter().filter(|t| !t.variant))
        .chain(section.targets.iter().filter(|t| t.variant));
    let ms = |v: f64| format!("{v:.3} ms");
    let row = |t: &Target, c: u32, s: &Summary| {
        let name = if t.variant { "*" } else { "**" };
        let wrk = s.loadgen_cpu_pct;
        let base = section.at(reference, c);
        vec![
            format!("{name}{}{name}", t.name),
            c.to_string(),
            count(s.rps),
            ms(s.p50_ms),
            ms(s.p99_ms),
            format!("{:.0}%", s.server_cpu_pct),
            cpu_per_request(s),
            if wrk > 0.0 {
                format!("{wrk:.0}%")
            } else {
                "-".into()
            },
            base.map_or(String::new(), |base| format!("{:.2}×", s.rps / base.rps)),
        ]
    };
    let rows = ordered.flat_map(|t| {
        t.points
            .iter()
            .map(move |p| row(t, p.connections, &p.median))
    });
    let vs = format!("req/s vs {reference}");
    let header = [
        "server",
        "connections",
        "req/s",
        "p50",
        "p99",
        "server CPU",
        "CPU per request (of which user space)",
        "wrk CPU",
        &vs,
    ];
    table(&header, rows)
}

fn lambda_table(r: &Results) -> String {
    let l = &r.lambda;
    // Only lambda-fn and the Node.js handler have warm invocations (and a spread worth showing).
    let rows = [
        ("lambda-fn (Rust)", &l.rust, true),
        ("Node.js 20 handler, SDK v3", &l.node, true),
        (
            "*lambda-fn, `SSL_CERT_FILE` = one root certificate (diagnostic)*",
            &l.rust_one_root_certificate,
            false,
        ),
        (
            "*lambda-fn, AUTH=jwt (first invoke fetches the JWKS)*",
            &l.rust_jwt,
            false,
        ),
        (
            "*floor: bare `lambda_runtime`, static answer*",
            &l.floor,
            false,
        ),
    ];
    let rows = rows.into_iter().map(|(name, f, warm)| {
        let cold = f.cold_start_ms.iter().copied();
        let (min, max) = (
            cold.clone().fold(f64::INFINITY, f64::min),
            cold.fold(0.0, f64::max),
        );
        let warm = |cell: String| if warm { cell } else { String::new() };
        vec![
            name.into(),
            format!("{:.1} ms", f.init_ms_p50),
            format!("{:.1} ms", f.cold_start_ms_p50),
            warm(format!("{min:.1}–{max:.1} ms")),
            warm(format!("{:.2} ms", f.warm_invoke_ms_p50)),
            warm(format!("{:.2} ms", f.warm_invoke_ms_p99)),
            format!("{:.1} MiB", f.peak_rss_mib),
        ]
    });
    let header = [
        "function",
        "init p50",
        "cold start p50",
        "cold start min–max",
        "warm p50",
        "warm p99",
        "peak RSS",
    ];
    table(&header, rows)
}

/// Start-up, memory and sizes.
fn footprint(r: &Results) -> String {
    let (s, z) = (&r.server, &r.sizes);
    let most = r.embedded.connections.iter().copied().max().unwrap_or(0);
    let ready: Vec<String> = s
        .start_to_ready_ms
        .iter()
        .map(|v| format!("{v:.1}"))
        .collect();
    let mut rows = vec![
        (
            "k8s-server start-to-ready, median (each run, ms)".into(),
            format!("{:.1} ms ({})", s.start_to_ready_ms_p50, ready.join(", ")),
        ),
        (
            format!(
                "k8s-server peak RSS, fresh process: one run at {most} connections / a second run"
            ),
            format!(
                "{:.1} / {:.1} MiB",
                s.peak_rss_mib, s.peak_rss_after_second_run_mib
            ),
        ),
    ];
    for (store, section) in [("embedded-store", &r.embedded), ("DynamoDB", &r.dynamodb)] {
        rows.extend(section.targets.iter().filter_map(|t| {
            let rss = t.peak_rss_mib?;
            Some((
                format!("{} peak RSS after all its {store} runs", t.name),
                format!("{rss:.1} MiB"),
            ))
        }));
    }
    let sizes = [
        ("`k8s-server` binary (server profile)", z.k8s_server),
        ("Lambda `bootstrap`", z.bootstrap),
        (
            "of which unwind tables (`panic = \"unwind\"`)",
            z.bootstrap_unwind_tables,
        ),
        ("Lambda `bootstrap.zip`", z.bootstrap_zip),
        (
            "Node.js handler's `node_modules` (SDK v3, unzipped)",
            z.node_modules,
        ),
    ];
    rows.extend(sizes.map(|(what, bytes)| (what.into(), mb(bytes))));
    table(
        &["what", "value"],
        rows.into_iter().map(|(what, value)| vec![what, value]),
    )
}

/// Every criterion benchmark's median.
fn micro(r: &Results) -> String {
    if r.micro.is_empty() {
        return "Not measured in this run (`--no-micro`).".into();
    }
    let rows = (r.micro.iter()).map(|m| vec![format!("`{}`", m.name), nanos(m.median_ns)]);
    table(&["benchmark", "median"], rows)
}

/// What each part of the in-process path costs, as differences between the criterion benchmarks.
fn breakdown(r: &Results) -> String {
    let ns = |name| micro_ns(r, &format!("lookup/{name}"));
    let alone = |name| ns(name).map(|v| (v, 0.0));
    let parts = [
        (
            "the contract's layers (request id, span, CORS, metrics, panic guard, dot segments)",
            ns("router_get_user").zip(ns("axum_bare_get_user")),
        ),
        (
            "of which: a UUID v4 for the request id",
            alone("request_uuid"),
        ),
        (
            "the metrics recorder installed (`server_router`, as in k8s-server)",
            ns("server_router_get_user").zip(ns("router_get_user")),
        ),
        (
            "the log subscriber installed (`info`: the request span is recorded)",
            ns("server_router_get_user_with_info_logging").zip(ns("server_router_get_user")),
        ),
        (
            "lookup in the embedded store (id rule, map, clone of the user)",
            alone("service_get_user"),
        ),
        ("JSON envelope encoding", alone("json_envelope")),
    ];
    let rows = parts.into_iter().filter_map(|(part, pair)| {
        pair.map(|(with, without)| vec![part.into(), cost(with - without)])
    });
    table(&["part", "per request"], rows)
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
    use crate::steps::workspace_root;

    fn committed() -> Results {
        Results::read(&workspace_root().join("docs/benchmarks.json")).unwrap()
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

        // WHEN the targets are rendered
        let targets = targets(&results).unwrap();

        // THEN those targets are met and missed with their figures, and every target has its row
        let row = format!(
            "| k8s-server throughput vs bare hyper, {c} connections | {} / {} req/s = 2.00× | ≥ 0.85× | met |",
            count(2.0 * ceiling),
            count(ceiling)
        );
        assert!(targets.contains(&row), "{row}\nnot in\n{targets}");
        assert!(
            targets.contains("| Lambda `bootstrap` size (stripped) | 7.00 MB (")
                && targets.contains("| ≤ 6 MB | **missed** |"),
            "{targets}"
        );
        assert_eq!(targets.lines().count(), 2 + 24);
    }

    #[test]
    fn a_run_without_a_server_a_table_needs_is_refused_by_name() {
        // GIVEN a run that lacks the bare axum router
        let mut results = committed();
        results.embedded.targets.retain(|t| t.name != AXUM);

        // WHEN its page is rendered
        let error = regions(&results).unwrap_err();

        // THEN the error names what is missing
        let c = results.embedded.connections[0];
        assert_eq!(
            error.to_string(),
            format!("the run has no {AXUM} at {c} connections")
        );
    }

    #[test]
    fn the_committed_page_and_chart_are_rendered_from_the_committed_json() {
        // GIVEN docs/benchmarks.json and the page and chart committed beside it
        let results = committed();
        let docs = workspace_root().join("docs");
        let page = std::fs::read_to_string(docs.join("benchmarks.md")).unwrap();

        // WHEN they are rendered again
        let rendered = doc_regions::rewrite(&page, "bench", &regions(&results).unwrap()).unwrap();

        // THEN nothing changes: the committed figures are the JSON's (`cargo xtask bench --render-only`)
        assert!(
            rendered == page,
            "docs/benchmarks.md is stale: run `cargo xtask bench --render-only`"
        );
        let chart = std::fs::read_to_string(docs.join("benchmarks.svg")).unwrap();
        assert!(
            svg(&results).unwrap() == chart,
            "docs/benchmarks.svg is stale"
        );
    }
}
