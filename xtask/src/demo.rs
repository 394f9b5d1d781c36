//! `cargo xtask demo`: both targets side by side on this machine, on the embedded store or on one
//! moto server, sent the same cases of the contract table, then (`AUTH=jwt`, against an identity
//! provider served here) the authentication cases; fails if a pair of answers differs or breaks the
//! contract. `--hybrid`: the import (see `hybrid`). `--traces`: one request's trace from each target,
//! as trees (see `traces`). Everything it starts stops on exit, on an error
//! and on Ctrl-C.

mod hybrid;
mod table;
mod traces;

use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use clap::{Args, ValueEnum};
use testkit::contract::auth::{self, published_keys};
use testkit::contract::{self, CASES, Case, NOT_FROM_A_FUNCTION_URL};
use testkit::idp::JwksServer;
use testkit::lambda_watch::LambdaWatch;
use testkit::moto::Moto;
use testkit::reply::Reply;
use testkit::served::K8sServer;
use tokio::signal::unix::{SignalKind, signal};

use crate::steps::{self, target_dir};
use crate::tools;
use table::{Latency, Row};

/// Options of `cargo xtask demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The store both targets read
    #[arg(long, value_enum, default_value_t = Store::Memory)]
    store: Store,
    /// Send every case of the contract table and of the authentication table, not one of each kind
    #[arg(long)]
    all: bool,
    /// The import instead: import-fn on an S3 event and import-job on a second file (moto's S3 and
    /// DynamoDB), then both lookup targets answering for the imported users
    #[arg(long, conflicts_with_all = ["store", "all"])]
    hybrid: bool,
    /// One request's OpenTelemetry trace from each target (on moto's DynamoDB), side by side as
    /// trees, from an OTLP receiver started by the demo
    #[arg(long, conflicts_with_all = ["store", "all", "hybrid"])]
    traces: bool,
}

/// Where both targets read users from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Store {
    /// The embedded store with the bundled sample users
    Memory,
    /// One moto server (the AWS emulator), table `Users` seeded with the sample users
    Dynamodb,
}

/// The requests sent by default: one of each kind (names of cases in `testkit::contract::CASES`).
const SHOWN: [&str; 6] = [
    "found",
    "not found",
    "id with a dot",
    "unknown path",
    "CORS preflight",
    "POST",
];

/// The authentication cases sent by default: one of each kind (names in `testkit::contract::auth`).
const SHOWN_AUTH: &[&str] = &[
    "no Authorization header",
    "garbage token",
    "valid RS256",
    "valid ES256",
    "expired beyond the 60 s leeway",
    "wrong audience",
    "alg none",
    "HS256 signed with the RSA public key",
    "unknown kid",
    "missing scope",
    "malformed id without a token (401, not 400)",
];

/// The table the DynamoDB mode and `--hybrid` create.
const TABLE: &str = "Users";

/// Runs `cargo xtask demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    let cargo_lambda = tools::ensure_cargo_lambda()?;
    println!("demo: cargo-lambda at {}", cargo_lambda.display());
    steps::run(
        "cargo build -p k8s-server -p lambda-fn (every binary)",
        steps::cargo().arg("build").args(
            testkit::cargo_env::PRODUCT_PACKAGES
                .map(|p| ["-p", p])
                .concat(),
        ),
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Registered before anything starts: from here on, a Ctrl-C is handled here.
        let mut interrupt = signal(SignalKind::interrupt())?;
        tokio::select! {
            biased;
            // Dropping `demo` drops (and so stops) everything it started.
            _ = interrupt.recv() => bail!("interrupted; everything the demo started is stopped"),
            result = demo(args), if !args.hybrid && !args.traces => result,
            result = hybrid::demo(), if args.hybrid => result,
            result = traces::demo(), if args.traces => result,
        }
    })?;
    println!(
        "==> the decision lab: one simulated day of every traffic shape (`cargo xtask decide`: a month)"
    );
    let lab = decide::cli::LabArgs {
        days: 1.0,
        ..decide::cli::LabArgs::default()
    };
    decide::cli::run(&lab)
}

async fn demo(args: &DemoArgs) -> Result<()> {
    let (moto, store) = match args.store {
        Store::Memory => (None, "embedded"),
        Store::Dynamodb => {
            println!(
                "==> moto server (installed on first use), table {TABLE} with the sample users"
            );
            (Some(seeded_moto().await?), "moto DynamoDB")
        }
    };
    let envs = match &moto {
        None => vec![("USER_STORE", "memory".into())],
        Some(moto) => moto.service_env(TABLE),
    };
    let envs = env_refs(&envs);
    println!("==> k8s-server (target/debug/k8s-server) with {envs:?}");
    println!("==> lambda-fn under cargo lambda watch, same settings (builds it if needed)");
    let cases: Vec<&Case> = match args.all {
        true => CASES
            .iter()
            .filter(|case| {
                let left_out = NOT_FROM_A_FUNCTION_URL
                    .iter()
                    .find(|(name, _)| *name == case.name);
                if let Some((name, why)) = left_out {
                    println!("left out: {name}: {why}");
                }
                left_out.is_none()
            })
            .collect(),
        false => SHOWN.map(contract::case_named).to_vec(),
    };
    let requests =
        (cases.into_iter()).map(|case| (table::label(case), case, case.headers.to_vec()));
    compare(&envs, requests, "", table::print_startup).await?;

    let idp = JwksServer::start(&published_keys()).await;
    let url = idp.url();
    println!(
        "==> AUTH=jwt: both targets again, against a JWKS served by this command at {url} \
         (keys generated for this run); `same` compares status, body and the contract headers, \
         WWW-Authenticate included"
    );
    let settings = auth::settings(&url);
    let cases = auth::cases();
    let requests = (cases.iter())
        .filter(|c| args.all || SHOWN_AUTH.contains(&c.case.name))
        .map(|c| (c.case.name.to_owned(), &c.case, c.headers()));
    let envs = [envs, env_refs(&settings)].concat();
    compare(&envs, requests, " with AUTH=jwt", |_, _| println!()).await?;
    println!("demo: both targets make the same authentication decisions");
    println!("demo: every answer is identical on both targets ({store} store)");
    Ok(())
}

/// How many times each request is sent to each target, alternating between them; the table compares
/// the first answers and shows the median and p99 latency of all of them (one sample each would let
/// scheduling noise decide which target looks faster).
const SAMPLES: usize = 200;

/// Starts both targets with `envs`, sends each request (label, case, headers) [`SAMPLES`] times to
/// both, timing each, prints the table and then `report`, and fails, listing them, if a pair of
/// answers differs or breaks the contract.
async fn compare<'a>(
    envs: &[(&str, &str)],
    requests: impl Iterator<Item = (String, &'a Case, Vec<(&'a str, &'a str)>)>,
    context: &str,
    report: impl FnOnce(&K8sServer, &LambdaWatch),
) -> Result<()> {
    let server = k8s_server(envs).await?;
    let watch = LambdaWatch::start(envs).await;
    let mut rows = Vec::new();
    for (label, case, headers) in requests {
        let (method, target) = (case.method, case.target);
        let mut replies: [Option<Reply>; 2] = [None, None];
        let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..SAMPLES {
            let on_server = timed(testkit::http::send(server.addr, method, target, &headers)).await;
            let on_lambda = timed(watch.send(method, target, &headers)).await;
            for (at, (reply, took)) in [on_server, on_lambda].into_iter().enumerate() {
                replies[at].get_or_insert(reply);
                times[at].push(took);
            }
        }
        let [Some(server_reply), Some(lambda_reply)] = replies else {
            unreachable!("SAMPLES is not 0");
        };
        let [server_times, lambda_times] = times;
        rows.push(Row {
            case,
            label,
            answers: [
                (server_reply, Latency::of(&server_times)),
                (lambda_reply, Latency::of(&lambda_times)),
            ],
        });
    }
    table::print(&rows);
    report(&server, &watch);
    let problems: Vec<String> = rows.iter().flat_map(Row::problems).collect();
    ensure!(
        problems.is_empty(),
        "{} problems{context} (lambda log: {}):\n{}",
        problems.len(),
        watch.log_path().display(),
        problems.join("\n")
    );
    Ok(())
}

/// The output of `future`, and how long it took.
async fn timed<T>(future: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let output = future.await;
    (output, started.elapsed())
}

/// The built `k8s-server` with only `envs`, ready.
async fn k8s_server(envs: &[(&str, &str)]) -> Result<K8sServer> {
    K8sServer::start(envs, &target_dir().join("demo-k8s-server.log")).await
}

/// moto on a free port, table [`TABLE`] holding the sample users.
async fn seeded_moto() -> Result<Moto> {
    // Starting waits for moto to listen: not on a runtime worker.
    let moto = tokio::task::block_in_place(|| Moto::launch(0))?;
    moto.seed_sample(TABLE).await?;
    Ok(moto)
}

/// Settings as the `(name, value)` pairs that the targets are started with.
fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}
