//! HTTP load with `wrk` (installed with apt-get when missing): one run at a fixed connection count,
//! pinned to the load core, read back into a [`RunResult`].

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use super::harness::{Cores, Proc, children_cpu_time};
use super::results::{RunResult, Summary};
use crate::steps;

/// The largest share of failed requests (refused connections too) a load run may have.
const MAX_ERROR_SHARE: f64 = 0.01;

/// Makes sure `wrk` is on PATH, installing it with apt-get (after `apt-get update`) if it is not.
pub fn ensure_wrk() -> Result<()> {
    if wrk_version().is_some() {
        return Ok(());
    }
    for args in [&["update", "-qq"][..], &["install", "-y", "-qq", "wrk"]] {
        let name = format!("apt-get {}", args.join(" "));
        steps::run(&name, Command::new("apt-get").args(args))?;
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
    assert!(
        load.url.starts_with("http://127.0.0.1:"),
        "load only targets this machine"
    );
    let mut wrk = cores.command(cores.load, "wrk");
    wrk.args(["-t1", "--latency", "--timeout", "5s"])
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)));
    for header in load.headers {
        wrk.arg("-H").arg(header);
    }
    let times = |server: &Proc| -> Result<[Duration; 3]> {
        Ok([
            server.cpu_time()?,
            server.user_time()?,
            children_cpu_time()?,
        ])
    };
    let before = times(server)?;
    let output = wrk.arg(load.url).output().context("cannot run wrk")?;
    let after = times(server)?;
    server.check_alive()?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {}{report}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut result = parse(&report).with_context(|| format!("unexpected wrk output:\n{report}"))?;
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

/// Reads wrk's `--latency` report (CPU fields are left at 0).
fn parse(report: &str) -> Result<RunResult> {
    let (mut rps, mut p50_ms, mut p99_ms) = (None, None, None);
    let (mut requests, mut errors) = (0, 0);
    for line in report.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("50%") {
            p50_ms = Some(duration_ms(value.trim())?);
        } else if let Some(value) = line.strip_prefix("99%") {
            p99_ms = Some(duration_ms(value.trim())?);
        } else if let Some(value) = line.strip_prefix("Requests/sec:") {
            rps = Some(value.trim().parse()?);
        } else if let Some((count, _)) = line.split_once(" requests in ") {
            requests = count.trim().parse()?;
        } else if let Some(value) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += value.trim().parse::<u64>()?;
        } else if let Some(value) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            for part in value.split(',') {
                errors += part
                    .split_whitespace()
                    .last()
                    .unwrap_or("0")
                    .parse::<u64>()?;
            }
        }
    }
    let (Some(rps), Some(p50_ms), Some(p99_ms)) = (rps, p50_ms, p99_ms) else {
        bail!("no Requests/sec or latency distribution");
    };
    let summary = Summary {
        rps,
        p50_ms,
        p99_ms,
        server_cpu_pct: 0.0,
        server_user_cpu_pct: 0.0,
        loadgen_cpu_pct: 0.0,
    };
    Ok(RunResult {
        summary,
        requests,
        errors,
    })
}

/// `512.34us`, `1.20ms`, `2.00s` → ms.
fn duration_ms(text: &str) -> Result<f64> {
    let units = [("us", 1e-3), ("ms", 1.0), ("s", 1e3)];
    let Some((number, scale)) = units
        .into_iter()
        .find_map(|(unit, scale)| Some((text.strip_suffix(unit)?, scale)))
    else {
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
        assert_eq!(result.summary.rps, 60000.0);
        assert_eq!(result.summary.p50_ms, 0.5);
        assert_eq!(result.summary.p99_ms, 1.5);
        assert_eq!((result.requests, result.errors), (300000, 8));
        check_errors(&result).unwrap();
    }

    #[test]
    fn a_report_without_numbers_or_with_too_many_failures_is_an_error() {
        assert!(parse("unable to connect to 127.0.0.1:1 Connection refused").is_err());
        assert_eq!(duration_ms("2.00s").unwrap(), 2000.0);
        assert!(duration_ms("3m").is_err());
        let failing = parse(&REPORT.replace("responses: 5", "responses: 5000")).unwrap();
        let error = check_errors(&failing).unwrap_err();
        assert_eq!(
            error.to_string(),
            "5003 of 300000 requests failed; see target/bench/logs"
        );
    }
}
