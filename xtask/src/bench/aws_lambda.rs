//! Phase 5b, Lambda as it runs on AWS: each function process in a CPU cgroup at the share of one core
//! its memory size buys (memory / 1,769 MB) during invocations, unthrottled during init, with the
//! DynamoDB emulator reached over TLS with a certificate of a CA made for the run; the published
//! lambda-perf hello-world figures beside them, and a calibration against them.
//!
//! - **Period.** The quota is enforced per CFS period. 20 ms is the shortest round period at which
//!   the 128 MB quota (7.2% of it, 1.45 ms) stays above the kernel's least quota of 1 ms; the longer
//!   default (100 ms) would let a short burst run at full speed for 7 ms and then stall for 93 ms,
//!   where a slower CPU spreads it out.
//! - **Init.** Published measurements show Lambda does not hold init to the share (lambda-perf's init
//!   at 128 MB matches its larger sizes). The process is moved into its group before the clock starts
//!   (a cgroup v1 move waits for an RCU grace period) and the quota switches at its first `next`
//!   ([`testkit::runtime_api::run_function_in`]). Here init gets one core (the bench pins the function
//!   to the server core), not the two vCPUs reported on Lambda.
//! - **TLS, kept alive.** Every process reaches moto through a [`KeepAliveFront`] that ends TLS
//!   with a certificate of the run's CA and keeps the connection open between calls, as DynamoDB
//!   does (moto's own HTTPS closes every connection, so each call would pay a new handshake);
//!   `lambda-fn` and the floor's client trust the system's bundle plus the run's CA (`SSL_CERT_FILE`,
//!   a bundle the size of the runtime's), the Node.js handler the CA through `NODE_EXTRA_CA_CERTS`.
//!   moto's own time per call (~15 ms here) stays in every figure that calls it.
//! - **CPU time.** Beside wall time, each function's init and first request in CPU time (its
//!   cgroup's count, every thread), and the bare client's first `GetItem` (its process's): where the
//!   cold request's time goes, little distorted by a shared machine.
//! - **Connecting during init.** `lambda-fn` runs twice per round: with `STORE_CONNECT_AT_INIT` at
//!   its default ([`CONNECT_AT_INIT_DEFAULT`]) and set the other way (the same binary, the setting
//!   given explicitly to both; it is a documented tuning option), so the caller's latency and the
//!   bill are reported both ways.
//! - **Calibration** (`figures::Calibration`): what the emulation leaves out of a published init
//!   (the VM, placement, the first touch of every page of the VM's memory) is modelled as a fixed
//!   part plus a part per MiB the process touched during init (its peak RSS at its first `next`),
//!   fitted to the published Rust and Node.js hello worlds at 128 MB, and checked against a third
//!   runtime lambda-perf publishes and this machine runs without an install: the Python hello
//!   world (`bench/python/`). The figures stand for AWS's only when that check holds.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use app_core::startup::CONNECT_AT_INIT_DEFAULT;
use testkit::cgroup::{self, CpuGroup};
use testkit::keepalive_front::KeepAliveFront;
use testkit::lambda::EventSource;
use testkit::moto::{Moto, REGION, RunCa};
use testkit::runtime_api::{self, ColdCpu, CpuShare, ProcessRun};

use super::figures::Calibration;
use super::harness::{bench_dir, free_port, log_file, median, percentile};
use super::peers::Python;
use super::results::{AwsFunction, AwsLambda, AwsSize, Published, PublishedPython};
use super::{Bench, PATH, TABLE, sample_load};

/// The memory sizes measured; 1,769 MB buys one full core.
pub const MEMORY_SIZES: [u32; 4] = [128, 512, 1024, 1769];
/// The memory size of one full core.
const ONE_CORE_MB: f64 = 1769.0;
/// The CFS period of the groups (see the module's docs).
const PERIOD: Duration = Duration::from_millis(20);
/// How close the emulation must come to each published hello-world init at 128 MB.
pub const CALIBRATION_TOLERANCE: f64 = 0.25;

/// lambda-perf's Python hello worlds at 128 MB (x86_64, zip), from the same data file: version,
/// mean Init Duration and Duration of the first invocation, ms.
const PUBLISHED_PYTHON_128: [(&str, f64, f64); 6] = [
    ("3.9", 78.91, 1.43),
    ("3.10", 74.24, 1.33),
    ("3.11", 78.61, 1.30),
    ("3.12", 85.23, 1.85),
    ("3.13", 91.07, 2.06),
    ("3.14", 101.61, 1.89),
];

/// lambda-perf's published hello-world figures (x86_64, zip package), the means of ten cold starts
/// each (Init Duration, and Duration of that first invocation), from its data file of 2026-08-22
/// (read 2026-12-07; the Python rows 2026-12-08): Python's of `python_version`, where published.
pub fn published(python_version: Option<&str>) -> Published {
    let python = PUBLISHED_PYTHON_128
        .iter()
        .find(|(version, ..)| Some(*version) == python_version)
        .map(|&(version, init_ms, duration_ms)| PublishedPython {
            version: version.to_owned(),
            init_ms,
            duration_ms,
        });
    Published {
        source: "lambda-perf (github.com/maxday/lambda-perf), data/2026-08-22.json: x86_64, zip, \
                 mean Init Duration and Duration of 10 cold starts; read 2026-12-07 (the Python rows \
                 2026-12-08)"
            .into(),
        rust_al2023_init_ms: [15.53, 18.15, 15.18],
        node20_init_ms: [138.47, 139.18, 140.58],
        rust_al2023_duration_ms: [1.19, 1.29, 1.12],
        node20_duration_ms: [15.32, 3.01, 3.01],
        sizes_mb: [128, 512, 1024],
        python,
    }
}

/// Runs the phase; where no CPU cgroup can be made, says so in the section (no figures).
pub fn measure(b: &Bench) -> Result<AwsLambda> {
    let date = super::harness::first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let load1 = sample_load("Lambda as on AWS").load1;
    let python = Python::locate()?;
    let mut section = AwsLambda {
        date,
        load1,
        not_measured: None,
        period_ms: PERIOD.as_secs_f64() * 1e3,
        published: published(Some(&python.version)),
        calibration_tolerance: CALIBRATION_TOLERANCE,
        default_connects_at_init: CONNECT_AT_INIT_DEFAULT,
        keepalive_front: true,
        python_version: Some(python.version.clone()),
        sizes: Vec::new(),
    };
    let group = match CpuGroup::create("bench-coldstart", PERIOD) {
        Ok(group) => group,
        Err(why) => {
            println!("bench: Lambda as on AWS not measured: {why}");
            section.not_measured = Some(why);
            return Ok(section);
        }
    };
    let ca = RunCa::create()?;
    let moto = Moto::launch(free_port())?;
    b.runtime.block_on(moto.seed_sample(TABLE))?;
    let front = KeepAliveFront::start(moto.port(), Some(&ca))?;
    let bundle = bundle_with(&ca.ca())?;
    for memory in MEMORY_SIZES {
        section
            .sizes
            .push(one_size(b, &group, &front, &ca, &bundle, &python, memory)?);
    }
    if let Some(calibration) = Calibration::fit(&section) {
        for size in &mut section.sizes {
            for function in size.functions_mut() {
                function.on_aws = calibration.on_aws(function);
            }
        }
    }
    Ok(section)
}

/// The system's bundle of root certificates with the run's CA appended: what `lambda-fn` trusts
/// through `SSL_CERT_FILE` here, as large as the runtime's bundle on Lambda.
fn bundle_with(ca: &std::path::Path) -> Result<PathBuf> {
    let (system, _) = super::root_certificates()?;
    let mut text = std::fs::read_to_string(&system)?;
    text.push_str(&std::fs::read_to_string(ca)?);
    let path = bench_dir().join("bundle-with-run-ca.pem");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Every function at `memory` MB, fresh processes interleaved, one unmeasured round first.
fn one_size(
    b: &Bench,
    group: &CpuGroup,
    front: &KeepAliveFront,
    ca: &RunCa,
    bundle: &std::path::Path,
    python: &Python,
    memory: u32,
) -> Result<AwsSize> {
    let (args, a) = (b.args, &b.artifacts);
    let share = f64::from(memory) / ONE_CORE_MB;
    let memory_text = memory.to_string();
    let env = |mut command: Command| {
        command
            .envs(front.service_env(TABLE))
            .env("AWS_LAMBDA_FUNCTION_NAME", "user-lookup")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &memory_text)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/user-lookup")
            .env("AWS_DEFAULT_REGION", REGION)
            .env("SSL_CERT_FILE", bundle)
            .env("NODE_EXTRA_CA_CERTS", ca.ca());
        command
    };
    let node = |handler: &str| {
        let mut command = env(b.node.lambda(&b.cores));
        command.env("HANDLER_FILE", handler);
        command
    };
    let lambda_fn = |connect_at_init: bool| {
        let mut command = env(b.program(&a.bootstrap, &[]));
        command.env("STORE_CONNECT_AT_INIT", connect_at_init.to_string());
        command
    };
    let event = serde_json::to_vec(&EventSource::HttpApiDefault.event("GET", PATH, &[]))?;
    type Variant<'a> = (&'a str, Box<dyn Fn() -> Command + 'a>, usize);
    let variants: [Variant; 6] = [
        (
            "lambda-fn",
            Box::new(|| lambda_fn(CONNECT_AT_INIT_DEFAULT)),
            args.warm_invokes,
        ),
        (
            "lambda-fn-other-connect-setting",
            Box::new(|| lambda_fn(!CONNECT_AT_INIT_DEFAULT)),
            0,
        ),
        (
            "ceiling-lambda",
            Box::new(|| env(b.program(&a.ceiling_lambda, &[]))),
            args.warm_invokes,
        ),
        (
            "node-lambda",
            Box::new(|| node("./handler.js")),
            args.warm_invokes,
        ),
        ("node-hello", Box::new(|| node("./hello.js")), 0),
        ("python-hello", Box::new(|| env(python.hello(&b.cores))), 0),
    ];
    let cpu = CpuShare {
        group,
        invocations: share,
    };
    let mut runs: [Vec<ProcessRun>; 6] = Default::default();
    let mut first_getitem_ms = Vec::new();
    let mut first_getitem_cpu_ms = Vec::new();
    for i in 0..=args.cold_starts {
        for ((name, command, warm), all) in variants.iter().zip(&mut runs) {
            let log = log_file(&format!("{name}-{memory}mb"))?;
            let run =
                runtime_api::run_function_in(&mut command(), &log, &event, *warm, Some(&cpu))?;
            ensure!(
                run.first_response.contains("Ada Lovelace"),
                "{name} at {memory} MB did not answer u-1: {}",
                run.first_response
            );
            println!(
                "bench: lambda as on AWS {memory} MB process {i}/{}: {name} init {:.1} ms, cold request {:.1} ms",
                args.cold_starts,
                ms(run.init),
                ms(run.cold_start)
            );
            if i > 0 {
                all.push(run);
            }
        }
        let first = first_getitem(b, group, share, front, bundle)?;
        if i > 0 {
            first_getitem_ms.push(first.wall_ms);
            first_getitem_cpu_ms.push(first.cpu_ms);
        }
    }
    let [rust, rust_other, floor, node, node_hello, python_hello] =
        runs.map(|runs| function(&runs));
    let first_getitem_ms_p50 = median(&first_getitem_ms);
    Ok(AwsSize {
        memory_mb: memory,
        share,
        limit_ms: floor.init_ms_p50 + first_getitem_ms_p50,
        first_getitem_ms,
        first_getitem_ms_p50,
        first_getitem_cpu_ms_p50: Some(median(&first_getitem_cpu_ms)),
        rust,
        rust_other_connect: Some(rust_other),
        floor,
        node,
        node_hello,
        python_hello: Some(python_hello),
    })
}

/// What the bare client's first TLS `GetItem` took: wall time and its process's CPU time, ms.
struct FirstGetItem {
    wall_ms: f64,
    cpu_ms: f64,
}

/// One fresh `ceiling-first-getitem` in `group` at `share` throughout: its first TLS `GetItem`.
fn first_getitem(
    b: &Bench,
    group: &CpuGroup,
    share: f64,
    front: &KeepAliveFront,
    bundle: &std::path::Path,
) -> Result<FirstGetItem> {
    #[derive(serde::Deserialize)]
    struct Report {
        first_getitem_us: f64,
        first_getitem_cpu_us: f64,
    }
    let mut command = b.program(&b.artifacts.ceiling_first_getitem, &[&TABLE, &"u-1"]);
    command
        .envs(front.service_env(TABLE))
        .env("SSL_CERT_FILE", bundle);
    group.set_share(Some(share)).map_err(anyhow::Error::msg)?;
    let child = group
        .stopped_command(&command)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run ceiling-first-getitem")?;
    cgroup::wait_stopped(child.id(), Duration::from_secs(10)).map_err(anyhow::Error::msg)?;
    let pid = rustix::process::Pid::from_raw(child.id() as i32).context("a pid")?;
    rustix::process::kill_process(pid, rustix::process::Signal::CONT)?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "ceiling-first-getitem failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: Report = serde_json::from_slice(&output.stdout)
        .context("ceiling-first-getitem printed no report")?;
    Ok(FirstGetItem {
        wall_ms: report.first_getitem_us / 1e3,
        cpu_ms: report.first_getitem_cpu_us / 1e3,
    })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Medians of one function's processes. Billed: Lambda bills a custom runtime's init and the
/// invocation, each rounded up to the millisecond.
fn function(runs: &[ProcessRun]) -> AwsFunction {
    let init: Vec<f64> = runs.iter().map(|r| ms(r.init)).collect();
    let first: Vec<f64> = runs.iter().map(|r| ms(r.cold_start - r.init)).collect();
    let cold: Vec<f64> = runs.iter().map(|r| ms(r.cold_start)).collect();
    let billed: Vec<f64> = runs
        .iter()
        .map(|r| ms(r.init).ceil() + ms(r.cold_start - r.init).ceil())
        .collect();
    let warm: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.warm.iter().map(|d| ms(*d)))
        .collect();
    let cpu: Option<Vec<_>> = runs.iter().map(|r| r.cpu).collect();
    let init_rss: Option<Vec<f64>> = runs.iter().map(|r| r.init_peak_rss_mib).collect();
    let cpu_ms_p50 = |part: fn(&ColdCpu) -> Duration| {
        (cpu.as_ref()).map(|cpu| median(&cpu.iter().map(|c| ms(part(c))).collect::<Vec<_>>()))
    };
    AwsFunction {
        init_ms_p50: median(&init),
        first_request_ms_p50: median(&first),
        cold_request_ms_p50: median(&cold),
        billed_cold_ms_p50: median(&billed),
        warm_ms_p50: (!warm.is_empty()).then(|| median(&warm)),
        warm_ms_p99: (!warm.is_empty()).then(|| percentile(&warm, 0.99)),
        cold_request_ms: cold,
        init_cpu_ms_p50: cpu_ms_p50(|c| c.init),
        first_request_cpu_ms_p50: cpu_ms_p50(|c| c.first_request),
        init_rss_mib_p50: init_rss.map(|rss| median(&rss)),
        on_aws: None,
    }
}
