//! The demo's report: one row per request with both targets' answers, then start-up and memory.

use std::time::Duration;

use testkit::contract::{Case, contract_violations, parity_violation};
use testkit::reply::Reply;

/// The targets, in column order.
const TARGETS: [&str; 2] = ["k8s-server", "lambda-fn (cargo lambda watch)"];

/// One request and what each target answered, and how long it took.
pub struct Row<'a> {
    case: &'a Case,
    /// What the first column shows.
    label: String,
    replies: [Reply; 2],
    took: [Duration; 2],
}

/// How fast each target started, and its peak memory.
pub struct Startup {
    /// `k8s-server`: from spawn to the first 200 on `/readyz`.
    pub server_ready: Duration,
    /// `lambda-fn`: from its process's start to its first reply (see `LambdaWatch::cold_start`).
    pub lambda_cold: Option<Duration>,
    /// `lambda-fn`: the whole first request to the watch (with the build, if one was needed, and
    /// `cargo run`'s up-to-date check).
    pub lambda_first_reply: Duration,
    /// Peak resident memory (`VmHWM`) of each process, in KiB.
    pub server_peak_kib: Option<u64>,
    /// See `server_peak_kib`.
    pub lambda_peak_kib: Option<u64>,
}

impl<'a> Row<'a> {
    /// A row for `case`, shown as its method and target: `replies` and `took` in [`TARGETS`] order.
    pub fn new(case: &'a Case, replies: [Reply; 2], took: [Duration; 2]) -> Row<'a> {
        Row {
            case,
            label: format!("{} {}", case.method, shorten(case.target, 36)),
            replies,
            took,
        }
    }

    /// Like [`Row::new`], shown by the case's name (cases that differ in their headers only).
    pub fn named(case: &'a Case, replies: [Reply; 2], took: [Duration; 2]) -> Row<'a> {
        Row {
            label: case.name.to_owned(),
            ..Row::new(case, replies, took)
        }
    }

    /// Whether both answers are the same (but for the request id, which each target generates).
    fn identical(&self) -> bool {
        self.replies[0].without_request_id() == self.replies[1].without_request_id()
    }

    /// What is wrong with this row: the answers differ, or one breaks the contract.
    pub fn problems(&self) -> Vec<String> {
        let [server, lambda] = &self.replies;
        let mut problems: Vec<String> = parity_violation(self.case, server, lambda, TARGETS[1])
            .into_iter()
            .collect();
        for (reply, target) in self.replies.iter().zip(TARGETS) {
            problems.extend(contract_violations(self.case, reply, target));
        }
        problems
    }
}

/// Prints the table and the start-up and memory lines.
pub fn print(rows: &[Row], startup: &Startup) {
    print_rows(rows);
    print_startup(startup);
}

/// Prints one line per row, under a header.
pub fn print_rows(rows: &[Row]) {
    let header = [
        "request",
        "k8s",
        "lambda",
        "body k8s",
        "body lambda",
        "same",
        "k8s ms",
        "lambda ms",
    ];
    let mut lines = vec![header.map(String::from)];
    for row in rows {
        let [server, lambda] = &row.replies;
        lines.push([
            row.label.clone(),
            server.status.to_string(),
            lambda.status.to_string(),
            digest(&server.body),
            digest(&lambda.body),
            if row.identical() { "yes" } else { "NO" }.into(),
            format!("{:.1}", millis(row.took[0])),
            format!("{:.1}", millis(row.took[1])),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|col| {
            lines
                .iter()
                .map(|l| l[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    println!();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join(" | ").trim_end());
    }
}

/// Prints each target's start-up time and peak memory.
fn print_startup(startup: &Startup) {
    let cold = startup
        .lambda_cold
        .map_or_else(|| "n/a".into(), |cold| format!("{:.1} ms", millis(cold)));
    println!(
        "\nstart-up     k8s-server: spawn to first 200 on /readyz: {:.1} ms\n             \
         lambda-fn: cold start, process start to first reply (init + first invoke): {cold}\n             \
         lambda-fn: whole first request (cargo run's build or up-to-date check included): {:.1} ms",
        millis(startup.server_ready),
        millis(startup.lambda_first_reply),
    );
    println!(
        "peak memory  k8s-server: {}   lambda-fn: {}   (VmHWM, debug builds)\n",
        mib(startup.server_peak_kib),
        mib(startup.lambda_peak_kib),
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

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".into(),
        |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
    )
}
