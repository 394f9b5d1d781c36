//! `docs/benchmarks.md` (summary with the targets checked, details, method), `docs/benchmarks.json`
//! (every run) and `docs/benchmarks.svg`, from one [`Results`].

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::format::count;

use super::results::{Function, LoadSection, Results, Summary, Target};
use super::svg::{self, Bar, Panel};

/// The bare-hyper ceiling's name in the embedded section.
const CEILING: &str = "ceiling";
/// `k8s-server`'s name in both sections.
const SERVER: &str = "k8s-server";
/// The Node.js server's name in both sections.
const NODE: &str = "node-http";
/// The raw loop's name in the DynamoDB section.
const RAW: &str = "raw GetItem loop";
/// A load average above this means other work ran during the measurements.
const QUIET_LOAD: f64 = 0.5;

/// Writes the three files into `dir`.
pub fn write(dir: &Path, results: &Results) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_string_pretty(results)? + "\n";
    for (name, text) in [
        ("benchmarks.json", json),
        ("benchmarks.md", markdown(results)),
        ("benchmarks.svg", chart(results)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// One target of the issue, checked against this run.
struct Check {
    what: String,
    measured: String,
    target: &'static str,
    met: bool,
    note: String,
}

fn checks(r: &Results) -> Vec<Check> {
    let mut checks = Vec::new();
    let section = &r.embedded;
    for &c in &section.connections {
        let (Some(ours), Some(ceiling), Some(node)) = (
            at(section, SERVER, c),
            at(section, CEILING, c),
            at(section, NODE, c),
        ) else {
            continue;
        };
        let (ratio, measured) = throughput_ratio(ours, ceiling);
        checks.push(Check {
            what: format!("k8s-server throughput vs bare hyper, {c} connections"),
            measured,
            target: "≥ 0.85×",
            met: ratio >= 0.85,
            note: ceiling_note(r, c, ceiling),
        });
        let (ratio, measured) = throughput_ratio(ours, node);
        checks.push(Check {
            what: format!("k8s-server throughput vs Node.js http, {c} connections"),
            measured,
            target: "≥ 2×",
            met: ratio >= 2.0,
            note: {
                let user_us = |s: &Summary| s.server_user_cpu_pct * 1e4 / s.rps;
                let mut note = format!(
                    "CPU per request (of which in user space): k8s-server {}, Node.js {}",
                    cpu_per_request(ours),
                    cpu_per_request(node)
                );
                if ours.server_user_cpu_pct > 0.0 && node.server_user_cpu_pct > 0.0 {
                    let _ = write!(
                        note,
                        "; in user space Node.js needs {:.1}× the CPU of k8s-server, but the kernel's \
                         share of each request (loopback TCP, {:.1} vs {:.1} µs) is the same work for both \
                         and caps the ratio of whole requests",
                        user_us(node) / user_us(ours),
                        cpu_us(ours) - user_us(ours),
                        cpu_us(node) - user_us(node)
                    );
                }
                note
            },
        });
        let ratio = ours.p99_ms / ceiling.p99_ms;
        checks.push(Check {
            what: format!("k8s-server p99 vs bare hyper, {c} connections"),
            measured: format!(
                "{:.2} / {:.2} ms = {ratio:.2}×",
                ours.p99_ms, ceiling.p99_ms
            ),
            target: "≤ 2×",
            met: ratio <= 2.0,
            note: if ratio > 2.0 {
                // With every connection busy, the mean latency is connections / throughput (Little's
                // law): the throughput ratio carries straight into the latency ratio.
                let mean_ms = |s: &Summary| f64::from(c) / s.rps * 1e3;
                format!(
                    "with {c} requests always in flight the mean latency is connections / throughput: \
                     {:.2} ms for k8s-server, {:.2} ms for the ceiling ({:.2}×, the throughput ratio); \
                     the p99 is {:.1}× the mean for k8s-server and {:.1}× for the ceiling",
                    mean_ms(ours),
                    mean_ms(ceiling),
                    ceiling.rps / ours.rps,
                    ours.p99_ms / mean_ms(ours),
                    ceiling.p99_ms / mean_ms(ceiling)
                )
            } else {
                String::new()
            },
        });
    }
    let most = r.embedded.connections.iter().copied().max().unwrap_or(0);
    checks.push(Check {
        what: format!(
            "k8s-server peak RSS under {most} connections (VmHWM, fresh process, one run)"
        ),
        measured: format!(
            "{:.1} MiB after {} requests",
            r.server.peak_rss_mib,
            count(r.server.peak_rss_requests as f64)
        ),
        target: "≤ 10 MiB",
        met: r.server.peak_rss_mib <= 10.0,
        note: String::new(),
    });
    let growth = r.server.rss_growth_kib_per_100k_requests;
    checks.push(Check {
        what: "k8s-server memory stays bounded (a second identical run)".into(),
        measured: format!(
            "{:.1} → {:.1} MiB: {growth:+.0} KiB per 100,000 requests",
            r.server.peak_rss_mib, r.server.peak_rss_after_second_run_mib
        ),
        target: "no growth",
        // 256 KiB per 100,000 requests is under 3 bytes a request: allocator and page noise. A leak of
        // one small allocation per request shows as megabytes.
        met: growth <= 256.0,
        note: if growth > 256.0 {
            format!(
                "the process that served every embedded-store run peaked at {:.1} MiB",
                r.server.peak_rss_after_all_runs_mib
            )
        } else {
            String::new()
        },
    });
    checks.push(Check {
        what: "k8s-server start-to-ready (spawn → first 200 on /readyz), median".into(),
        measured: format!("{:.1} ms", r.server.start_to_ready_ms_p50),
        target: "≤ 20 ms",
        met: r.server.start_to_ready_ms_p50 <= 20.0,
        note: String::new(),
    });
    let (rust, node) = (&r.lambda.rust, &r.lambda.node);
    let speedup = node.cold_start_ms_p50 / rust.cold_start_ms_p50;
    checks.push(Check {
        what: "lambda-fn cold start vs the Node.js handler, medians".into(),
        measured: format!(
            "{:.1} ms vs {:.1} ms = {speedup:.1}× faster",
            rust.cold_start_ms_p50, node.cold_start_ms_p50
        ),
        target: "≥ 15× faster",
        met: speedup >= 15.0,
        note: cold_start_note(r),
    });
    checks.push(Check {
        what: "Lambda `bootstrap` size (stripped)".into(),
        measured: format!(
            "{} ({} zipped)",
            mb(r.sizes.bootstrap),
            mb(r.sizes.bootstrap_zip)
        ),
        target: "≤ 6 MB",
        met: r.sizes.bootstrap <= 6_000_000,
        note: bootstrap_note(r),
    });
    let dynamo = &r.dynamodb;
    if let Some(&c) = dynamo.connections.iter().min()
        && let (Some(ours), Some(raw)) = (at(dynamo, SERVER, c), at(dynamo, RAW, c))
    {
        let overhead = ours.p50_ms / raw.p50_ms - 1.0;
        checks.push(Check {
            what: format!(
                "k8s-server latency over the raw GetItem round trip, {c} connection(s), p50"
            ),
            measured: format!(
                "{:.3} vs {:.3} ms = {:+.1}%",
                ours.p50_ms,
                raw.p50_ms,
                overhead * 100.0
            ),
            target: "≤ 10%",
            met: overhead <= 0.10,
            note: {
                let added_us = (ours.p50_ms - raw.p50_ms) * 1e3;
                format!(
                    "k8s-server adds {added_us:.0} µs at p50 (one more HTTP exchange on loopback, and the \
                     contract) to a {:.0} µs round trip to DynamoDB on moto (the emulator) on this machine; the same {added_us:.0} µs \
                     on a 4 ms in-region DynamoDB round trip would be {:.1}%",
                    raw.p50_ms * 1e3,
                    added_us / 40.0
                )
            },
        });
    }
    for &c in &dynamo.connections {
        if let (Some(ours), Some(raw)) = (at(dynamo, SERVER, c), at(dynamo, RAW, c)) {
            let overhead = raw.rps / ours.rps - 1.0;
            checks.push(Check {
                what: format!(
                    "k8s-server throughput cost over the raw GetItem loop, {c} connection(s)"
                ),
                measured: format!(
                    "{} vs {} req/s = {:+.1}%",
                    count(ours.rps),
                    count(raw.rps),
                    overhead * 100.0
                ),
                target: "≤ 10%",
                met: overhead <= 0.10,
                note: format!(
                    "CPU per request: k8s-server {:.0} µs, raw loop {:.0} µs",
                    cpu_us(ours),
                    cpu_us(raw)
                ),
            });
        }
    }
    checks
}

/// `ours / other` in requests per second, and how the summary table shows it.
fn throughput_ratio(ours: &Summary, other: &Summary) -> (f64, String) {
    let ratio = ours.rps / other.rps;
    let shown = format!(
        "{} / {} req/s = {ratio:.2}×",
        count(ours.rps),
        count(other.rps)
    );
    (ratio, shown)
}

/// Server CPU time per answer, µs.
fn cpu_us(s: &Summary) -> f64 {
    s.server_cpu_pct * 1e4 / s.rps
}

/// Server CPU time per answer, µs, and the user-space part of it when it was measured.
fn cpu_per_request(s: &Summary) -> String {
    if s.server_user_cpu_pct > 0.0 {
        format!(
            "{:.1} µs ({:.1} µs)",
            cpu_us(s),
            s.server_user_cpu_pct * 1e4 / s.rps
        )
    } else {
        format!("{:.1} µs", cpu_us(s))
    }
}

/// The criterion median of `lookup/NAME`, ns.
fn micro_ns(r: &Results, name: &str) -> Option<f64> {
    r.micro
        .iter()
        .find(|m| m.name == format!("lookup/{name}"))
        .map(|m| m.median_ns)
}

/// What the Lambda package keeps for unwinding panics.
fn bootstrap_note(r: &Results) -> String {
    if r.sizes.bootstrap_unwind_tables == 0 {
        return String::new();
    }
    format!(
        "the package keeps `panic = \"unwind\"` (set in `[profile.release]`; `cargo lambda build \
         --release` would otherwise build with `panic = \"abort\"`) so that a panicking handler still \
         answers the contract's JSON 500 on Lambda, as on the server, instead of ending the execution \
         environment; its unwind tables alone are {} of the file, besides the landing pads in the code",
        mb(r.sizes.bootstrap_unwind_tables)
    )
}

/// Where lambda-fn's cold start goes.
fn cold_start_note(r: &Results) -> String {
    let (rust, node) = (&r.lambda.rust, &r.lambda.node);
    let mut note = format!(
        "init (spawn → first `next`) is {:.1} of {:.1} ms for lambda-fn, {:.1} of {:.1} ms for Node.js",
        rust.init_ms_p50, rust.cold_start_ms_p50, node.init_ms_p50, node.cold_start_ms_p50
    );
    if let Some(one) = &r.lambda.rust_one_root_certificate {
        let _ = write!(
            note,
            "; {:.1} ms of lambda-fn's init is loading the system's root certificates for the SDK's TLS \
             client (rustls-native-certs reads the bundle and then every file in /etc/ssl/certs): with \
             `SSL_CERT_FILE` naming one root certificate, init is {:.1} ms and the cold start {:.1} ms \
             ({:.1}× faster than Node.js). On Lambda, `SSL_CERT_FILE` set to the runtime's bundle skips \
             the directory; the template leaves it unset, as a wrong path would leave the client with no \
             roots at all",
            rust.init_ms_p50 - one.init_ms_p50,
            one.init_ms_p50,
            one.cold_start_ms_p50,
            node.cold_start_ms_p50 / one.cold_start_ms_p50
        );
    }
    note
}

/// Why k8s-server is below the ceiling, from the diagnostics of this run.
fn ceiling_note(r: &Results, c: u32, ceiling: &Summary) -> String {
    let mut notes = Vec::new();
    if let Some(ours) = at(&r.embedded, SERVER, c) {
        notes.push(format!(
            "CPU per request (of which in user space): k8s-server {}, ceiling {}; the kernel's part \
             (loopback TCP, the same for every server) sets the ceiling, the user-space part is the \
             server's own code",
            cpu_per_request(ours),
            cpu_per_request(ceiling)
        ));
    }
    let diff = |a: &str, b: &str| Some(micro_ns(r, a)? - micro_ns(r, b)?);
    if let (Some(span), Some(uuid), Some(metrics), Some(bare)) = (
        diff(
            "server_router_get_user_with_info_logging",
            "server_router_get_user",
        ),
        micro_ns(r, "request_uuid"),
        diff("server_router_get_user", "router_get_user"),
        micro_ns(r, "axum_bare_get_user"),
    ) {
        notes.push(format!(
            "in process (criterion): the request span with the log subscriber {}, the UUID {}, \
             metrics {}, axum routing + handler alone {}",
            cost(span),
            nanos(uuid),
            cost(metrics),
            nanos(bare)
        ));
    }
    if ceiling.loadgen_cpu_pct >= 90.0 {
        notes.push(format!(
            "wrk used {:.0}% of its core against the ceiling, so the ceiling's figure is a lower bound",
            ceiling.loadgen_cpu_pct
        ));
    }
    let base = at(&r.embedded, SERVER, c);
    for target in r.embedded.targets.iter().filter(|t| t.variant) {
        if let (Some(base), Some(variant)) = (base, target.at(c)) {
            notes.push(format!(
                "{}: {} req/s ({:+.1}%)",
                target.name,
                count(variant.rps),
                (variant.rps / base.rps - 1.0) * 100.0
            ));
        }
    }
    notes.join("; ")
}

fn at<'a>(section: &'a LoadSection, name: &str, c: u32) -> Option<&'a Summary> {
    section.target(name).and_then(|t| t.at(c))
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn markdown(r: &Results) -> String {
    let mut md = String::new();
    let m = &r.machine;
    // The first sample is before the builds, the second when the measurements begin (after the
    // builds settled); later ones include the bench's own busy server and load generator.
    let at_start = m.load_average.get(1).map_or(f64::NAN, |s| s.load1);
    let loads: Vec<String> = m
        .load_average
        .iter()
        .map(|s| format!("{} {:.2}", s.at, s.load1))
        .collect();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `cargo xtask bench` on {}; every figure below comes from that one run on this machine. \
         Do not edit by hand: run the command again (about 15 minutes, most of it release builds). \
         Raw data: [benchmarks.json](benchmarks.json).\n",
        m.date
    );
    let _ = writeln!(
        md,
        "- Machine: {} × {} ({}), {}",
        m.cores, m.cpu, m.kernel, m.rustc
    );
    let _ = writeln!(md, "- Peers: Node.js {}, load generator {}", m.node, m.wrk);
    if m.pinning.pinned {
        let _ = writeln!(
            md,
            "- Pinning (`taskset`): the process under test on core {}; wrk, moto, the Runtime API and the bench itself on core {}",
            m.pinning.server, m.pinning.load
        );
    } else {
        let _ = writeln!(
            md,
            "- **No pinning**: this machine has one core, so server and load generator share it"
        );
    }
    let _ = writeln!(
        md,
        "- Load average (1 min) at each phase: {}. From the second phase on it includes the bench's own \
         server and load generator (about 2 while a load runs)",
        loads.join(", ")
    );
    if at_start > QUIET_LOAD {
        let _ = writeln!(
            md,
            "- **Taken under load**: the load average was {at_start:.2} when the measurements began (above \
             {QUIET_LOAD}); other work shared the cores, so treat the figures as rough"
        );
    }

    let _ = writeln!(md, "\n## Summary: the targets\n");
    let _ = writeln!(md, "| target | measured | goal | |\n|---|---|---|---|");
    let checks = checks(r);
    for check in &checks {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            check.what,
            check.measured,
            check.target,
            if check.met { "met" } else { "**missed**" }
        );
    }
    let notes: Vec<&Check> = checks.iter().filter(|c| !c.note.is_empty()).collect();
    if !notes.is_empty() {
        let _ = writeln!(md);
        for check in notes {
            let _ = writeln!(md, "- {}: {}.", check.what, check.note);
        }
    }
    let _ = writeln!(
        md,
        "\n![throughput, latency, cold start and size](benchmarks.svg)\n"
    );

    let _ = writeln!(md, "## k8s-server on the embedded store\n");
    load_table(&mut md, &r.embedded, Some(CEILING));
    let _ = writeln!(md, "\n## k8s-server on DynamoDB (moto)\n");
    let _ = writeln!(
        md,
        "The same request with `USER_STORE=dynamodb`: one `GetItem` per request on a local table holding the sample users. \
         The raw loop is the floor: the service's own SDK settings calling `GetItem` back to back from the same core, with \
         no HTTP in front (its \"connections\" are concurrent tasks, its CPU column is the loop's own).\n"
    );
    load_table(&mut md, &r.dynamodb, Some(RAW));

    let _ = writeln!(md, "\n## Lambda: cold start and warm invocations\n");
    let _ = writeln!(
        md,
        "Each function runs as a fresh process against a local Runtime API (`xtask/src/bench/runtime_api.rs`) with an \
         API Gateway HTTP API event for `GET /users/u-1`, on DynamoDB (moto). Cold start = spawn → the first response \
         posted back (process start, runtime init, SDK client, the first `GetItem` on a new connection). Warm = event \
         handed out → response posted, for the {} later invocations of each process. `lambda-fn` is the `bootstrap` \
         that `cargo lambda build --release` produces; the Node.js handler is the seed's (`bench/node/handler.js`) \
         under a minimal runtime loop (`bench/node/bootstrap.js`).\n",
        r.lambda.rust.warm_invoke_ms.len() / r.lambda.rust.cold_start_ms.len().max(1)
    );
    let _ = writeln!(
        md,
        "| function | init p50 | cold start p50 | cold start min–max | warm p50 | warm p99 | peak RSS |\n|---|---|---|---|---|---|---|"
    );
    for (name, f) in [
        ("lambda-fn (Rust)", &r.lambda.rust),
        ("Node.js 20 handler, SDK v3", &r.lambda.node),
    ] {
        function_row(&mut md, name, f);
    }
    if let Some(one) = &r.lambda.rust_one_root_certificate {
        let _ = writeln!(
            md,
            "| *lambda-fn, `SSL_CERT_FILE` = one root certificate (diagnostic)* | {:.1} ms | {:.1} ms | | | | {:.1} MiB |",
            one.init_ms_p50, one.cold_start_ms_p50, one.peak_rss_mib
        );
    }

    let most = r.embedded.connections.iter().copied().max().unwrap_or(0);
    let _ = writeln!(md, "\n## Start-up, memory and size\n");
    let _ = writeln!(md, "| what | value |\n|---|---|");
    let ready: Vec<String> = r
        .server
        .start_to_ready_ms
        .iter()
        .map(|v| format!("{v:.1}"))
        .collect();
    let _ = writeln!(
        md,
        "| k8s-server start-to-ready, median (each run, ms) | {:.1} ms ({}) |",
        r.server.start_to_ready_ms_p50,
        ready.join(", ")
    );
    let _ = writeln!(
        md,
        "| k8s-server peak RSS, fresh process: one run at {most} connections / a second run | {:.1} / {:.1} MiB |",
        r.server.peak_rss_mib, r.server.peak_rss_after_second_run_mib
    );
    for (store, section) in [("embedded-store", &r.embedded), ("DynamoDB", &r.dynamodb)] {
        for target in &section.targets {
            if let Some(rss) = target.peak_rss_mib {
                let _ = writeln!(
                    md,
                    "| {} peak RSS after all its {store} runs | {rss:.1} MiB |",
                    target.name
                );
            }
        }
    }
    let _ = writeln!(
        md,
        "| `k8s-server` binary (server profile) | {} |",
        mb(r.sizes.k8s_server)
    );
    let _ = writeln!(md, "| Lambda `bootstrap` | {} |", mb(r.sizes.bootstrap));
    let _ = writeln!(
        md,
        "| Lambda `bootstrap.zip` | {} |",
        mb(r.sizes.bootstrap_zip)
    );
    let _ = writeln!(
        md,
        "| Node.js handler's `node_modules` (SDK v3, unzipped) | {} |",
        mb(r.sizes.node_modules)
    );

    if !r.micro.is_empty() {
        let _ = writeln!(md, "\n## In-process path (criterion)\n");
        let _ = writeln!(
            md,
            "`cargo bench -p k8s-server` (`k8s-server/benches/lookup.rs`), on the server core. `router_*` is the whole \
             contract through the router with `oneshot` (no socket); the last one with the production log subscriber \
             installed (text, `info`), as in the binaries.\n"
        );
        let _ = writeln!(md, "| benchmark | median |\n|---|---|");
        for micro in &r.micro {
            let _ = writeln!(md, "| `{}` | {} |", micro.name, nanos(micro.median_ns));
        }
        breakdown(&mut md, r);
    }

    let _ = writeln!(md, "\n## Method\n");
    let _ = writeln!(
        md,
        "- Load: `wrk -t1 -cN -dD --latency` against `http://127.0.0.1:PORT/users/u-1`, {} runs of {} s per server and \
         connection count, interleaved (run 1 of every server, then run 2, ...) after a warm-up run of each (2 s; 10 s on \
         the DynamoDB emulator); the tables \
         show medians over the runs. wrk keeps one request in flight per connection.\n\
         - CPU columns come from `/proc`: the server's user+system time over the run and wrk's, as % of one core. A \
         server near 100% was the bottleneck; a wrk near 100% means the load generator was. CPU per request (server \
         CPU time / answers) is the figure least disturbed by other work on the machine.\n\
         - Every server answers the same `GET /users/u-1` body (checked before the runs). `k8s-server` runs with its \
         production defaults (all contract layers, `RUST_LOG=info`, text logs to a file); variants below the line \
         isolate the cost of one layer.\n\
         - Peak RSS is `VmHWM` from `/proc/PID/status`. Start-to-ready is spawn → first `200` on `/readyz`, polled \
         every 0.2 ms, over {} fresh processes after one unmeasured start.\n\
         - Lambda figures are local: a real Lambda sandbox adds its own init and network time, and at 128 MB gets a \
         fraction of a core, so compare the two functions with each other rather than with a Lambda bill.",
        r.embedded.runs,
        r.embedded.duration_s,
        r.server.start_to_ready_ms.len()
    );
    md
}

/// What each part of the in-process path costs, as differences between the criterion benchmarks.
fn breakdown(md: &mut String, r: &Results) {
    let ns = |name: &str| {
        r.micro
            .iter()
            .find(|m| m.name == format!("lookup/{name}"))
            .map(|m| m.median_ns)
    };
    let rows = [
        (
            "the contract's layers (request id, span, CORS, metrics, panic guard, dot segments)",
            ns("router_get_user").zip(ns("axum_bare_get_user")),
        ),
        (
            "of which: a UUID v4 for the request id",
            ns("request_uuid").map(|v| (v, 0.0)),
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
            ns("service_get_user").map(|v| (v, 0.0)),
        ),
        (
            "JSON envelope encoding",
            ns("json_envelope").map(|v| (v, 0.0)),
        ),
    ];
    let _ = writeln!(
        md,
        "\nWhere the time of one request goes (differences of the medians above):\n\n| part | per request |\n|---|---|"
    );
    for (part, pair) in rows {
        if let Some((with, without)) = pair {
            let _ = writeln!(md, "| {part} | {} |", cost(with - without));
        }
    }
}

fn load_table(md: &mut String, section: &LoadSection, reference: Option<&str>) {
    let _ = writeln!(
        md,
        "| server | connections | req/s | p50 | p99 | server CPU | CPU per request (of which user space) | wrk CPU | req/s vs {} |\n|---|---|---|---|---|---|---|---|---|",
        reference.unwrap_or("-")
    );
    let mut ordered: Vec<&Target> = section.targets.iter().filter(|t| !t.variant).collect();
    ordered.extend(section.targets.iter().filter(|t| t.variant));
    for target in ordered {
        for point in &target.points {
            let s = &point.median;
            let vs = reference
                .and_then(|name| at(section, name, point.connections))
                .map_or("".into(), |base| format!("{:.2}×", s.rps / base.rps));
            let name = if target.variant {
                format!("*{}*", target.name)
            } else {
                format!("**{}**", target.name)
            };
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {:.3} ms | {:.3} ms | {:.0}% | {} | {} | {vs} |",
                point.connections,
                count(s.rps),
                s.p50_ms,
                s.p99_ms,
                s.server_cpu_pct,
                cpu_per_request(s),
                if s.loadgen_cpu_pct > 0.0 {
                    format!("{:.0}%", s.loadgen_cpu_pct)
                } else {
                    "-".into()
                },
            );
        }
    }
    let _ = writeln!(md);
    for target in &section.targets {
        let _ = writeln!(md, "- {}: {}", target.name, target.description);
    }
}

fn function_row(md: &mut String, name: &str, f: &Function) {
    let min = f
        .cold_start_ms
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let max = f.cold_start_ms.iter().copied().fold(0.0, f64::max);
    let _ = writeln!(
        md,
        "| {name} | {:.1} ms | {:.1} ms | {min:.1}–{max:.1} ms | {:.2} ms | {:.2} ms | {:.1} MiB |",
        f.init_ms_p50,
        f.cold_start_ms_p50,
        f.warm_invoke_ms_p50,
        f.warm_invoke_ms_p99,
        f.peak_rss_mib
    );
}

/// A difference of two medians as a cost: a negative one means the part costs less than the noise
/// between two criterion benchmarks.
fn cost(ns: f64) -> String {
    if ns < 0.0 {
        format!("below the noise ({})", nanos(ns))
    } else {
        nanos(ns)
    }
}

fn nanos(ns: f64) -> String {
    if ns.abs() >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn chart(r: &Results) -> String {
    let mut panels = Vec::new();
    let bars = |section: &LoadSection, c: u32, ours: &str| -> Vec<Bar> {
        section
            .targets
            .iter()
            .filter(|t| !t.variant)
            .filter_map(|t| {
                let s = t.at(c)?;
                Some(Bar {
                    label: t.name.clone(),
                    value: s.rps,
                    text: format!("{} req/s, p99 {:.2} ms", count(s.rps), s.p99_ms),
                    ours: t.name == ours,
                })
            })
            .collect()
    };
    for &c in &r.embedded.connections {
        panels.push(Panel {
            title: format!("Embedded store, {c} connections, one core: requests/s"),
            bars: bars(&r.embedded, c, SERVER),
        });
    }
    if let Some(&c) = r.dynamodb.connections.iter().max() {
        panels.push(Panel {
            title: format!("DynamoDB (moto), {c} connections: requests/s"),
            bars: bars(&r.dynamodb, c, SERVER),
        });
    }
    let cold = |name: &str, f: &Function, ours: bool| Bar {
        label: name.to_owned(),
        value: f.cold_start_ms_p50,
        text: format!("{:.1} ms", f.cold_start_ms_p50),
        ours,
    };
    panels.push(Panel {
        title: "Lambda cold start (spawn → first response), median ms".into(),
        bars: vec![
            cold("lambda-fn", &r.lambda.rust, true),
            cold("Node.js handler", &r.lambda.node, false),
        ],
    });
    panels.push(Panel {
        title: "Deployment size".into(),
        bars: vec![
            Bar {
                label: "bootstrap.zip".into(),
                value: r.sizes.bootstrap_zip as f64,
                text: mb(r.sizes.bootstrap_zip),
                ours: true,
            },
            Bar {
                label: "bootstrap".into(),
                value: r.sizes.bootstrap as f64,
                text: mb(r.sizes.bootstrap),
                ours: true,
            },
            Bar {
                label: "Node.js node_modules".into(),
                value: r.sizes.node_modules as f64,
                text: mb(r.sizes.node_modules),
                ours: false,
            },
        ],
    });
    svg::render(
        &format!("user-lookup benchmarks, {}", r.machine.date),
        &panels,
    )
}
