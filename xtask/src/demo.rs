//! `cargo xtask demo`: both targets side by side on this machine, answering the same requests.
//!
//! Builds both binaries, then runs `k8s-server` (the built binary) and `lambda-fn` under
//! `cargo lambda watch` (the local Lambda runtime), both on the embedded store or both on one moto
//! server (the AWS emulator). Sends each the same requests (cases of the contract table) and prints, per request, both
//! statuses, body digests and latencies and whether the answers are identical; then each target's start
//! time and peak memory. Then a second pair with `AUTH=jwt` against an identity provider the demo
//! serves itself gets the authentication cases, side by side the same way (`demo::auth`). Fails if any
//! pair of answers differs or breaks the contract.
//!
//! `--hybrid` shows the import instead (see `hybrid`): `import-fn` on an S3 event, `import-job` on a
//! second file, then both lookup targets answering for the imported users.
//!
//! Everything it starts is stopped on exit, on an error and on Ctrl-C (each process is in its own
//! process group, so a Ctrl-C reaches only this command, which then stops them).

mod auth;
mod hybrid;
mod k8s;
mod table;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use testkit::contract::{self, CASES, Case};
use testkit::lambda_watch::LambdaWatch;
use testkit::moto::Moto;
use testkit::procfs;
use testkit::reply::Reply;
use tokio::signal::unix::{SignalKind, signal};

use crate::steps;
use crate::tools;
use k8s::K8sServer;
use table::{Row, Startup};

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
const SHOWN: &[&str] = &[
    "found",
    "not found",
    "id with a dot",
    "unknown path",
    "CORS preflight",
    "POST",
];

/// The table the DynamoDB mode creates.
const TABLE: &str = "Users";

/// Runs `cargo xtask demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    let cargo_lambda = tools::ensure_cargo_lambda()?;
    println!("demo: cargo-lambda at {}", cargo_lambda.display());
    steps::run(
        "cargo build -p k8s-server -p lambda-fn (every binary)",
        steps::cargo().args(["build", "-p", "k8s-server", "-p", "lambda-fn"]),
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
            result = demo(args), if !args.hybrid => result,
            result = hybrid::demo(), if args.hybrid => result,
        }
    })
}

async fn demo(args: &DemoArgs) -> Result<()> {
    let moto = match args.store {
        Store::Memory => None,
        Store::Dynamodb => Some(seeded_moto().await?),
    };
    let envs = settings(moto.as_ref());
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    println!("==> k8s-server (target/debug/k8s-server) with {envs:?}");
    let server = K8sServer::start(&envs).await?;
    println!("==> lambda-fn under cargo lambda watch, same settings (builds it if needed)");
    let watch = LambdaWatch::start(&envs).await;
    let cases: Vec<&Case> = match args.all {
        true => CASES.iter().collect(),
        false => SHOWN
            .iter()
            .map(|name| contract::case_named(name))
            .collect(),
    };
    let mut rows = Vec::new();
    for case in cases {
        let (on_server, server_took) = timed(server.send(case)).await;
        let (on_lambda, lambda_took) =
            timed(watch.send(case.method, case.target, case.headers)).await;
        rows.push(Row::new(
            case,
            [on_server, on_lambda],
            [server_took, lambda_took],
        ));
    }
    let startup = Startup {
        server_ready: server.ready_after(),
        lambda_cold: watch.cold_start(),
        lambda_first_reply: watch.first_reply(),
        server_peak_kib: procfs::peak_rss_kib(server.pid()),
        lambda_peak_kib: watch.function_pid().and_then(procfs::peak_rss_kib),
    };
    table::print(&rows, &startup);
    let problems: Vec<String> = rows.iter().flat_map(Row::problems).collect();
    if !problems.is_empty() {
        bail!(
            "{} problems (lambda log: {}):\n{}",
            problems.len(),
            watch.log_path().display(),
            problems.join("\n")
        );
    }
    drop((watch, server));
    auth::demo(&envs, args.all).await?;
    let store = match args.store {
        Store::Memory => "embedded",
        Store::Dynamodb => "moto DynamoDB",
    };
    println!("demo: every answer is identical on both targets ({store} store)");
    Ok(())
}

/// The settings both targets get.
fn settings(moto: Option<&Moto>) -> Vec<(&'static str, String)> {
    match moto {
        None => vec![("USER_STORE", "memory".into())],
        Some(moto) => moto.service_env(TABLE),
    }
}

/// moto on a free port with table `Users` holding the sample users.
async fn seeded_moto() -> Result<Moto> {
    println!("==> moto server (installed on first use), table {TABLE} with the sample users");
    // Starting waits for moto to listen: not on a runtime worker.
    let moto = tokio::task::block_in_place(|| Moto::launch(0))?;
    moto.seed_sample(TABLE).await?;
    Ok(moto)
}

async fn timed(reply: impl Future<Output = Reply>) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = reply.await;
    (reply, started.elapsed())
}
