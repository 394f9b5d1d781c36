//! HTTP load with `wrk` (installed with apt-get when missing): one run at a fixed connection count,
//! pinned to the load core. wrk reports through the Lua script `wrk-report.lua` (beside this file),
//! whose `done` hook prints the run as one line of JSON, read here into a [`RunResult`].

use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

use super::harness::{Cores, Proc, bench_dir, children_cpu_time};
use super::results::{RunResult, Summary};
use crate::steps;

/// The script that makes wrk print its report as JSON.
const REPORT_SCRIPT: &str = include_str!("wrk-report.lua");

/// The largest share of failed requests (refused connections too) a load run may have.
const MAX_ERROR_SHARE: f64 = 0.01;

/// Makes sure `wrk` is on PATH, installing it with apt-get (after `apt-get update`) if it is not.
pub fn ensure_wrk() -> Result<()> {
    if wrk_version().is_some() {
        return Ok(());
    }
    for args in [&["update", "-qq"][..], &["install", "-y", "-qq", "wrk"]] {
        let name = format!("apt-get {}", args.join(" "));
        let mut apt = Command::new("apt-get");
        apt.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        steps::run(&name, &mut apt)
            .context("wrk is not on PATH: install wrk (apt-get install wrk)")?;
    }
    wrk_version()
        .map(drop)
        .context("wrk is still not on PATH after apt-get install wrk")
}

/// `wrk debian/4.1.0-3+b2`, the first line `wrk -v` prints without its copyright.
pub fn wrk_version() -> Option<String> {
    let output = Command::new("wrk").arg("-v").output().ok()?;
    // wrk -v exits 1 after printing its version and usage, on either stream.
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let line = text.lines().next().filter(|line| line.starts_with("wrk"))?;
    Some(line.split(" [").next().unwrap_or(line).to_owned())
}

/// What one load run asks for: `connections` open connections, each with one request in flight,
/// against `url` (only ever a local address) for `duration`, with extra request headers.
#[derive(Debug, Clone, Copy)]
pub struct Load<'a> {
    pub url: &'a str,
    pub connections: u32,
    pub duration: Duration,
    pub headers: &'a [String],
}

/// Runs `wrk -t1` on the load core against `server` and reads its report; fails when nothing was
/// answered or more than [`MAX_ERROR_SHARE`] of the requests failed.
pub fn run(cores: &Cores, server: &mut Proc, load: &Load) -> Result<RunResult> {
    let mut wrk = command(cores, load)?;
    let times = |server: &Proc| -> Result<[Duration; 3]> {
        Ok([
            server.cpu_time()?,
            server.user_time()?,
            children_cpu_time()?,
        ])
    };
    let before = times(server)?;
    let output = wrk.output().context("cannot run wrk")?;
    let after = times(server)?;
    server.check_alive()?;
    let mut result = read(&output)?;
    let [cpu, user, wrk] = [0, 1, 2].map(|i| {
        let used = after[i].saturating_sub(before[i]);
        100.0 * used.as_secs_f64() / load.duration.as_secs_f64()
    });
    let summary = &mut result.summary;
    (
        summary.server_cpu_pct,
        summary.server_user_cpu_pct,
        summary.loadgen_cpu_pct,
    ) = (cpu, user, wrk);
    check_errors(&result)?;
    Ok(result)
}

/// `wrk -t1` on the load core with `load` and the report script (written to `target/bench`).
fn command(cores: &Cores, load: &Load) -> Result<Command> {
    assert!(
        load.url.starts_with("http://127.0.0.1:"),
        "load only targets this machine"
    );
    let script = bench_dir().join("wrk-report.lua");
    std::fs::create_dir_all(bench_dir())?;
    std::fs::write(&script, REPORT_SCRIPT)
        .with_context(|| format!("cannot write {}", script.display()))?;
    let mut wrk = cores.command(cores.load, "wrk");
    wrk.args(["-t1", "--timeout", "5s", "-s"])
        .arg(&script)
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)));
    for header in load.headers {
        wrk.arg("-H").arg(header);
    }
    wrk.arg(load.url);
    Ok(wrk)
}

/// The run wrk's `output` reports (CPU fields left at 0): the last line of its standard output is
/// the script's JSON, after wrk's own text report.
fn read(output: &Output) -> Result<RunResult> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {}{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let last = stdout.lines().last().unwrap_or_default();
    let report: WrkReport = serde_json::from_str(last)
        .with_context(|| format!("wrk-report.lua printed no report:\n{stdout}"))?;
    Ok(report.into())
}

/// Fails unless some requests were answered and at most [`MAX_ERROR_SHARE`] of them failed.
pub fn check_errors(result: &RunResult) -> Result<()> {
    let failed = result.errors as f64 / (result.requests.max(1) as f64);
    ensure!(
        result.requests > 0 && failed <= MAX_ERROR_SHARE,
        "{} of {} requests failed; see target/bench/logs",
        result.errors,
        result.requests
    );
    Ok(())
}

/// What `wrk-report.lua` prints (the fields a [`RunResult`] takes; it also prints the run's
/// duration, p90, p99.9 and max latency for a reader of wrk's output).
#[derive(Debug, Deserialize)]
struct WrkReport {
    requests: u64,
    errors: WrkErrors,
    latency_us: Latency,
    requests_per_s: f64,
}

/// Failed requests by kind: the sockets' and the answers that were not 2xx or 3xx.
#[derive(Debug, Deserialize)]
struct WrkErrors {
    connect: u64,
    read: u64,
    write: u64,
    status: u64,
    timeout: u64,
}

/// Latency percentiles, µs.
#[derive(Debug, Deserialize)]
struct Latency {
    p50: f64,
    p99: f64,
}

impl From<WrkReport> for RunResult {
    fn from(report: WrkReport) -> RunResult {
        let e = &report.errors;
        RunResult {
            summary: Summary {
                rps: report.requests_per_s,
                p50_ms: report.latency_us.p50 / 1e3,
                p99_ms: report.latency_us.p99 / 1e3,
                server_cpu_pct: 0.0,
                server_user_cpu_pct: 0.0,
                loadgen_cpu_pct: 0.0,
            },
            requests: report.requests,
            errors: e.connect + e.read + e.write + e.status + e.timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::process::ExitStatus;

    use super::*;

    /// What the script prints for a run of 300,000 requests, 8 of which failed.
    const REPORT: &str = r#"{"requests":300000,"duration_us":5000123,"errors":{"connect":0,"read":2,"write":0,"status":5,"timeout":1},"latency_us":{"p50":500,"p90":600,"p99":1500,"p99_9":4100,"max":5000},"requests_per_s":59998.52}"#;

    /// wrk's output: its text report, then the script's line.
    fn output(stdout: &str) -> Output {
        Output {
            status: ExitStatus::default(),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn the_scripts_report_is_read_after_wrks_own() {
        // GIVEN wrk's text report followed by the script's JSON
        let stdout = format!(
            "Running 5s test @ http://127.0.0.1:8080/users/u-1\n  1 threads and 64 connections\nRequests/sec:  59998.52\n{REPORT}\n"
        );

        // WHEN it is read
        let result = read(&output(&stdout)).unwrap();

        // THEN the figures are the script's, in ms, and every kind of error counts
        assert_eq!(result.summary.rps, 59998.52);
        assert_eq!(result.summary.p50_ms, 0.5);
        assert_eq!(result.summary.p99_ms, 1.5);
        assert_eq!((result.requests, result.errors), (300000, 8));
        check_errors(&result).unwrap();
    }

    #[test]
    fn output_without_the_report_or_with_too_many_failures_is_an_error() {
        // GIVEN wrk's output without the script's line, and a report with 5,000 bad answers
        let missing = output("unable to connect to 127.0.0.1:1 Connection refused\n");
        let failing = output(&REPORT.replace(r#""status":5,"#, r#""status":5000,"#));

        // THEN the first is not read, and the second is refused with its counts
        let error = read(&missing).unwrap_err();
        assert!(error.to_string().contains("printed no report"), "{error}");
        let error = check_errors(&read(&failing).unwrap()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "5003 of 300000 requests failed; see target/bench/logs"
        );
    }

    /// Answers `200 ok` to every request of every connection, keep-alive, until the test ends.
    fn serve_ok(listener: TcpListener) {
        let answer = |stream: TcpStream| -> std::io::Result<()> {
            let mut writer = stream.try_clone()?;
            let mut lines = BufReader::new(stream);
            let mut line = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line)? {
                    0 => return Ok(()),
                    _ if line == "\r\n" => {
                        writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")?
                    }
                    _ => {}
                }
            }
        };
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    }

    #[test]
    fn real_wrk_with_the_script_reports_a_run_against_a_local_server() {
        // GIVEN wrk (installed if missing) and a small HTTP server on loopback
        ensure_wrk().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/users/u-1", listener.local_addr().unwrap());
        std::thread::spawn(move || serve_ok(listener));

        // WHEN wrk loads it for a second through the script
        let cores = Cores {
            server: 0,
            load: 0,
            pinned: false,
        };
        let load = Load {
            url: &url,
            connections: 2,
            duration: Duration::from_secs(1),
            headers: &[],
        };
        let output = command(&cores, &load).unwrap().output().unwrap();
        let result = read(&output).unwrap();

        // THEN the report counts answers and no errors, and its figures are in order
        let s = &result.summary;
        assert!(result.requests > 0, "{result:?}");
        assert_eq!(result.errors, 0, "{result:?}");
        assert!(
            s.rps > 0.0 && 0.0 < s.p50_ms && s.p50_ms <= s.p99_ms,
            "{result:?}"
        );
        // The whole report: every field the script promises, the tail in order.
        let stdout = String::from_utf8(output.stdout).unwrap();
        let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        let latency = &json["latency_us"];
        let tail = ["p50", "p90", "p99", "p99_9", "max"].map(|p| latency[p].as_f64().unwrap());
        assert!(tail.is_sorted(), "{json}");
        assert!(json["duration_us"].as_f64().unwrap() >= 1e6, "{json}");
    }
}
