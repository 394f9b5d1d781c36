//! The demo's report: one line per request with both targets' answers, then start-up and memory.

use std::time::Duration;

use testkit::contract::{Case, contract_violations, parity_violation};
use testkit::lambda_watch::LambdaWatch;
use testkit::reply::Reply;

use super::K8sServer;

/// The targets, in column order.
const TARGETS: [&str; 2] = ["k8s-server", "lambda-fn (cargo lambda watch)"];
/// The columns.
const HEADER: [&str; 8] = [
    "request",
    "k8s",
    "lambda",
    "body k8s",
    "body lambda",
    "same",
    "k8s ms",
    "lambda ms",
];

/// One request, what each target answered ([`TARGETS`] order) and how long it took.
pub struct Row<'a> {
    /// The request sent.
    pub case: &'a Case,
    /// What the first column shows.
    pub label: String,
    /// Both answers.
    pub replies: [Reply; 2],
    /// Both latencies.
    pub took: [Duration; 2],
}

impl Row<'_> {
    /// What is wrong with this row: the answers differ, or one breaks the contract.
    pub fn problems(&self) -> Vec<String> {
        let [server, lambda] = &self.replies;
        let parity = parity_violation(self.case, server, lambda, TARGETS[1]);
        let broken = (self.replies.iter().zip(TARGETS))
            .flat_map(|(reply, target)| contract_violations(self.case, reply, target));
        parity.into_iter().chain(broken).collect()
    }
}

/// Prints one line per row, under a header, in aligned columns.
pub fn print(rows: &[Row]) {
    let mut lines = vec![HEADER.map(String::from)];
    for Row {
        label,
        replies: [server, lambda],
        took,
        ..
    } in rows
    {
        let same = server.without_request_id() == lambda.without_request_id();
        lines.push([
            label.clone(),
            server.status.to_string(),
            lambda.status.to_string(),
            digest(&server.body),
            digest(&lambda.body),
            if same { "yes" } else { "NO" }.into(),
            format!("{:.1}", millis(took[0])),
            format!("{:.1}", millis(took[1])),
        ]);
    }
    let width = |col: usize| lines.iter().map(|l| l[col].chars().count()).max();
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|col| width(col).unwrap_or(0))
        .collect();
    println!();
    for line in &lines {
        let cells: Vec<String> = (line.iter().zip(&widths))
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join(" | ").trim_end());
    }
}

/// Prints each target's start-up time and peak memory.
pub fn print_startup(server: &K8sServer, watch: &LambdaWatch) {
    let cold =
        (watch.cold_start()).map_or_else(|| "n/a".into(), |d| format!("{:.1} ms", millis(d)));
    println!(
        "\nstart-up     k8s-server: spawn to first 200 on /readyz: {:.1} ms\n             \
         lambda-fn: cold start, process start to first reply (init + first invoke): {cold}\n             \
         lambda-fn: whole first request (cargo run's build or up-to-date check included): {:.1} ms",
        millis(server.ready_after),
        millis(watch.first_reply()),
    );
    let mib = |kib: Option<u64>| {
        kib.map_or_else(
            || "n/a".into(),
            |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
        )
    };
    println!(
        "peak memory  k8s-server: {}   lambda-fn: {}   (VmHWM, debug builds)\n",
        mib(server.peak_kib()),
        mib(watch.function_pid().and_then(testkit::procfs::peak_rss_kib)),
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

/// `text` cut to `max` characters, with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
