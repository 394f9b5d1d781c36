//! HTTP load with `wrk` (installed with apt-get when missing): one run at a fixed connection count,
//! pinned to the load core, read back into a [`RunResult`].

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::harness::{Cores, Proc, children_cpu_time};
use crate::steps;

/// One load run against one server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// Successful answers per second.
    pub rps: f64,
    /// Median latency, in ms.
    pub p50_ms: f64,
    /// 99th-percentile latency, in ms.
    pub p99_ms: f64,
    /// Answers received.
    pub requests: u64,
    /// Non-2xx answers plus socket errors (a run with any fails the bench).
    pub errors: u64,
    /// CPU the server used, in % of one core (100 = its core was busy the whole run).
    pub server_cpu_pct: f64,
    /// The part of it spent in the server's own code (user space), in % of one core; the rest is the
    /// kernel's (the TCP stack, mostly).
    #[serde(default)]
    pub server_user_cpu_pct: f64,
    /// CPU the load generator used, in % of one core (near 100 = it, not the server, was the limit).
    pub loadgen_cpu_pct: f64,
}

/// Makes sure `wrk` is on PATH, installing it with apt-get (after `apt-get update`) if it is not.
pub fn ensure_wrk() -> Result<()> {
    if wrk_version().is_some() {
        return Ok(());
    }
    steps::run(
        "apt-get update",
        Command::new("apt-get").args(["update", "-qq"]),
    )?;
    steps::run(
        "apt-get install -y wrk",
        Command::new("apt-get").args(["install", "-y", "-qq", "wrk"]),
    )?;
    wrk_version()
        .map(drop)
        .context("wrk is still not on PATH after apt-get install wrk")
}

/// `wrk 4.1.0 ...`, the first line `wrk -v` prints.
pub fn wrk_version() -> Option<String> {
    let output = Command::new("wrk").arg("-v").output().ok()?;
    // wrk -v exits 1 after printing its version and usage.
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    // "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"
    text.lines()
        .next()
        .filter(|line| line.starts_with("wrk"))
        .map(|line| line.split(" [").next().unwrap_or(line).to_owned())
}

/// What one load run asks for.
#[derive(Debug, Clone, Copy)]
pub struct Load<'a> {
    /// `http://127.0.0.1:PORT/PATH` (only ever a local address).
    pub url: &'a str,
    /// Open connections, each with one request in flight.
    pub connections: u32,
    /// How long.
    pub duration: Duration,
    /// Extra request headers.
    pub headers: &'a [String],
}

/// Runs `wrk -t1` on the load core against `server` and reads its report.
pub fn run(cores: &Cores, server: &mut Proc, load: &Load) -> Result<RunResult> {
    assert!(
        load.url.starts_with("http://127.0.0.1:"),
        "load only targets this machine"
    );
    let mut wrk = cores.command(cores.load, "wrk");
    wrk.args(["-t1", "--latency"])
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("5s");
    for header in load.headers {
        wrk.arg("-H").arg(header);
    }
    wrk.arg(load.url);
    let (server_before, user_before, wrk_before) = (
        server.cpu_time()?,
        server.user_time()?,
        children_cpu_time()?,
    );
    let output = wrk.output().context("cannot run wrk")?;
    let (server_after, user_after, wrk_after) = (
        server.cpu_time()?,
        server.user_time()?,
        children_cpu_time()?,
    );
    server.check_alive()?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {}{report}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut result = parse(&report).with_context(|| format!("unexpected wrk output:\n{report}"))?;
    let pct = |used: Duration| 100.0 * used.as_secs_f64() / load.duration.as_secs_f64();
    result.server_cpu_pct = pct(server_after.saturating_sub(server_before));
    result.server_user_cpu_pct = pct(user_after.saturating_sub(user_before));
    result.loadgen_cpu_pct = pct(wrk_after.saturating_sub(wrk_before));
    Ok(result)
}

/// Reads wrk's `--latency` report (CPU fields are left at 0).
fn parse(report: &str) -> Result<RunResult> {
    let mut result = RunResult {
        rps: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        requests: 0,
        errors: 0,
        server_cpu_pct: 0.0,
        server_user_cpu_pct: 0.0,
        loadgen_cpu_pct: 0.0,
    };
    for line in report.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("50%") {
            result.p50_ms = duration_ms(value.trim())?;
        } else if let Some(value) = line.strip_prefix("99%") {
            result.p99_ms = duration_ms(value.trim())?;
        } else if let Some(value) = line.strip_prefix("Requests/sec:") {
            result.rps = value.trim().parse()?;
        } else if let Some((count, _)) = line.split_once(" requests in ") {
            result.requests = count.trim().parse()?;
        } else if let Some(value) = line.strip_prefix("Non-2xx or 3xx responses:") {
            result.errors += value.trim().parse::<u64>()?;
        } else if let Some(value) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            for part in value.split(',') {
                let count = part.split_whitespace().last().unwrap_or("0");
                result.errors += count.parse::<u64>()?;
            }
        }
    }
    if result.rps.is_nan() || result.p50_ms.is_nan() || result.p99_ms.is_nan() {
        bail!("no Requests/sec or latency distribution");
    }
    Ok(result)
}

/// `512.34us`, `1.20ms`, `2.00s` → ms.
fn duration_ms(text: &str) -> Result<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e3)
    } else {
        bail!("not a wrk duration: {text}")
    };
    Ok(number.parse::<f64>()? * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 5s test @ http://127.0.0.1:8080/users/u-1
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.34us  100.00us   5.00ms   90.00%
    Req/Sec    60.00k     2.00k   65.00k    80.00%
  Latency Distribution
     50%  500.00us
     75%  550.00us
     90%  600.00us
     99%    1.50ms
  300000 requests in 5.00s, 60.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:  60000.00
Transfer/sec:     12.00MB
";

    #[test]
    fn a_latency_report_is_read() {
        let result = parse(REPORT).unwrap();
        assert_eq!(result.rps, 60000.0);
        assert_eq!(result.p50_ms, 0.5);
        assert_eq!(result.p99_ms, 1.5);
        assert_eq!(result.requests, 300000);
        assert_eq!(result.errors, 8);
    }

    #[test]
    fn a_report_without_numbers_is_an_error() {
        assert!(parse("unable to connect to 127.0.0.1:1 Connection refused").is_err());
        assert_eq!(duration_ms("2.00s").unwrap(), 2000.0);
        assert!(duration_ms("3m").is_err());
    }
}
