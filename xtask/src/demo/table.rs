//! The demo's report: one line per request with both targets' answers, then start-up and memory.

use std::time::Duration;

use crate::bench::harness::{median, percentile};
use testkit::contract::{Case, contract_violations, parity_violation};
use testkit::lambda_watch::LambdaWatch;
use testkit::procfs::peak_rss_kib;
use testkit::reply::Reply;
use testkit::served::K8sServer;

/// The targets, in column order.
const TARGETS: [&str; 2] = ["k8s-server", "lambda-fn (cargo lambda watch)"];

/// How a row fills a column.
type Cell = fn(&Row) -> String;

/// The columns: each one's header and cell.
const COLUMNS: [(&str, Cell); 10] = [
    ("request", |row| row.label.clone()),
    ("k8s", |row| row.answers[0].0.status.to_string()),
    ("lambda", |row| row.answers[1].0.status.to_string()),
    ("body k8s", |row| digest(&row.answers[0].0.body)),
    ("body lambda", |row| digest(&row.answers[1].0.body)),
    ("same", |row| row.same().into()),
    ("k8s ms p50", |row| ms(row.answers[0].1.p50)),
    ("p99", |row| ms(row.answers[0].1.p99)),
    ("lambda ms p50", |row| ms(row.answers[1].1.p50)),
    ("p99", |row| ms(row.answers[1].1.p99)),
];

/// The latency of many sends of one request to one target.
#[derive(Clone, Copy)]
pub struct Latency {
    /// The median.
    pub p50: Duration,
    /// The 99th percentile (nearest rank).
    pub p99: Duration,
}

impl Latency {
    /// The median and p99 of `samples`.
    pub fn of(samples: &[Duration]) -> Latency {
        let ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        let duration = |ms: f64| Duration::from_secs_f64(ms / 1000.0);
        Latency {
            p50: duration(median(&ms)),
            p99: duration(percentile(&ms, 0.99)),
        }
    }
}

/// One request, and what each target answered first ([`TARGETS`] order) and how long it took.
pub struct Row<'a> {
    /// The request sent.
    pub case: &'a Case,
    /// What the first column shows.
    pub label: String,
    /// Both first answers, each with the latency of all the sends.
    pub answers: [(Reply, Latency); 2],
}

impl Row<'_> {
    /// What is wrong with this row: the answers differ, or one breaks the contract.
    pub fn problems(&self) -> Vec<String> {
        let broken = (self.answers.iter().zip(TARGETS))
            .flat_map(|((reply, _), target)| contract_violations(self.case, reply, target));
        self.difference().into_iter().chain(broken).collect()
    }

    /// How the answers differ (in anything but the request id), if they do.
    fn difference(&self) -> Option<String> {
        let [(server, _), (lambda, _)] = &self.answers;
        parity_violation(self.case, server, lambda, TARGETS[1])
    }

    /// `yes` if the answers are the same but for the request id, else `NO`.
    fn same(&self) -> &'static str {
        let same = self.difference().is_none();
        if same { "yes" } else { "NO" }
    }
}

/// Prints one line per row, under a header, in aligned columns.
pub fn print(rows: &[Row]) {
    let header = COLUMNS.map(|(name, _)| name.to_owned());
    let cells = rows.iter().map(|row| COLUMNS.map(|(_, cell)| cell(row)));
    let lines: Vec<[String; 10]> = std::iter::once(header).chain(cells).collect();
    let widths: [usize; 10] = std::array::from_fn(|col| {
        let width = lines.iter().map(|line| line[col].chars().count());
        width.max().unwrap_or(0)
    });
    println!();
    for line in &lines {
        let cells: Vec<String> = (line.iter().zip(widths))
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join(" | ").trim_end());
    }
}

/// Prints each target's start-up time and peak memory.
pub fn print_startup(server: &K8sServer, watch: &LambdaWatch) {
    let na = || "n/a".to_owned();
    let cold = watch
        .cold_start()
        .map_or_else(na, |cold| format!("{} ms", ms(cold)));
    let (ready, first) = (ms(server.ready_after), ms(watch.first_reply()));
    println!(
        "\nstart-up     k8s-server: spawn to first 200 on /readyz: {ready} ms\n             \
         lambda-fn: cold start, process start to first reply (init + first invoke): {cold}\n             \
         lambda-fn: whole first request (cargo run's build or up-to-date check included): {first} ms"
    );
    let mib = |pid: Option<u32>| {
        let kib = pid.and_then(peak_rss_kib);
        kib.map_or_else(na, |kib| format!("{:.1} MiB", kib as f64 / 1024.0))
    };
    println!(
        "peak memory  k8s-server: {}   lambda-fn: {}   (VmHWM, debug builds)\n",
        mib(Some(server.process.pid())),
        mib(watch.function_pid()),
    );
}

/// A short digest of a body: the first 8 hex digits of its 64-bit FNV-1a hash.
fn digest(body: &str) -> String {
    if body.is_empty() {
        return "empty".into();
    }
    let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{:08x}", hash >> 32)
}

/// `METHOD target`, the target cut to 36 characters (with `…` when cut).
pub fn label(case: &Case) -> String {
    match case.target.char_indices().nth(36) {
        Some((end, _)) => format!("{} {}…", case.method, &case.target[..end]),
        None => format!("{} {}", case.method, case.target),
    }
}

/// `duration` in milliseconds, to a tenth.
fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}
