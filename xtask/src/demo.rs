//! `cargo xtask demo`: both targets side by side on this machine, answering the same requests.
//!
//! Builds both binaries, runs `k8s-server` and `lambda-fn` (under `cargo lambda watch`) on the
//! embedded store or on one moto server, sends each the same cases of the contract table and prints
//! both answers per request, then start-up times and peak memory; then a second pair with `AUTH=jwt`
//! (against an identity provider served here, keys made for this run) gets the authentication cases.
//! Fails if a pair of answers differs or breaks the contract. `--hybrid`: the import (see `hybrid`).
//! Everything it starts is stopped on exit, on an error and on Ctrl-C.

mod hybrid;
mod table;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use testkit::contract::auth::{self, published_keys};
use testkit::contract::{self, CASES, Case};
use testkit::idp::JwksServer;
use testkit::lambda_watch::LambdaWatch;
use testkit::moto::Moto;
use testkit::ports::free_port;
use testkit::procfs;
use testkit::served::Served;
use tokio::signal::unix::{SignalKind, signal};

use crate::steps::{self, target_dir};
use crate::tools;
use table::Row;

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
        Store::Dynamodb => {
            println!(
                "==> moto server (installed on first use), table {TABLE} with the sample users"
            );
            Some(seeded_moto().await?)
        }
    };
    let envs = match &moto {
        None => vec![("USER_STORE", "memory".into())],
        Some(moto) => moto.service_env(TABLE),
    };
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
        let label = format!("{} {}", case.method, table::shorten(case.target, 36));
        rows.push(compare(&server, &watch, label, case, case.headers).await);
    }
    table::print(&rows);
    table::print_startup(&server, &watch);
    check(&rows, &watch, "")?;
    drop((watch, server));
    demo_auth(&envs, args.all).await?;
    let store = match args.store {
        Store::Memory => "embedded",
        Store::Dynamodb => "moto DynamoDB",
    };
    println!("demo: every answer is identical on both targets ({store} store)");
    Ok(())
}

/// A second pair of targets with `envs` and `AUTH=jwt`, sent the authentication cases.
async fn demo_auth(envs: &[(&str, &str)], all: bool) -> Result<()> {
    let idp = JwksServer::start(&published_keys()).await;
    let settings = auth::settings(&idp.url());
    let mut envs = envs.to_vec();
    envs.extend(settings.iter().map(|(k, v)| (*k, v.as_str())));
    println!(
        "==> AUTH=jwt: both targets again, against a JWKS served by this command at {} \
         (keys generated for this run); `same` compares status, body and the contract headers, \
         WWW-Authenticate included",
        idp.url()
    );
    let server = K8sServer::start(&envs).await?;
    let watch = LambdaWatch::start(&envs).await;
    let cases = auth::cases();
    let mut rows = Vec::new();
    for auth_case in cases
        .iter()
        .filter(|c| all || SHOWN_AUTH.contains(&c.case.name))
    {
        let (case, headers) = (&auth_case.case, auth_case.headers());
        rows.push(compare(&server, &watch, case.name.into(), case, &headers).await);
    }
    table::print(&rows);
    println!();
    check(&rows, &watch, " with AUTH=jwt")?;
    println!("demo: both targets make the same authentication decisions");
    Ok(())
}

/// moto on a free port, table [`TABLE`] holding the sample users.
async fn seeded_moto() -> Result<Moto> {
    // Starting waits for moto to listen: not on a runtime worker.
    let moto = tokio::task::block_in_place(|| Moto::launch(0))?;
    moto.seed_sample(TABLE).await?;
    Ok(moto)
}

/// Sends `case` with `headers` to both targets, timing each.
async fn compare<'a>(
    server: &K8sServer,
    watch: &LambdaWatch,
    label: String,
    case: &'a Case,
    headers: &[(&str, &str)],
) -> Row<'a> {
    let started = Instant::now();
    let on_server = testkit::http::send(server.addr, case.method, case.target, headers).await;
    let server_took = started.elapsed();
    let started = Instant::now();
    let on_lambda = watch.send(case.method, case.target, headers).await;
    Row {
        case,
        label,
        replies: [on_server, on_lambda],
        took: [server_took, started.elapsed()],
    }
}

/// Fails, listing them, if any row has problems.
fn check(rows: &[Row], watch: &LambdaWatch, context: &str) -> Result<()> {
    let problems: Vec<String> = rows.iter().flat_map(Row::problems).collect();
    if !problems.is_empty() {
        bail!(
            "{} problems{context} (lambda log: {}):\n{}",
            problems.len(),
            watch.log_path().display(),
            problems.join("\n")
        );
    }
    Ok(())
}

/// The built `k8s-server` as a child process (killed on drop), ready.
struct K8sServer {
    process: Served,
    addr: SocketAddr,
    ready_after: Duration,
}

impl K8sServer {
    /// Starts `target/debug/k8s-server` on a free port with only `envs` (and `PORT`) in its
    /// environment, and waits for `GET /readyz` to answer 200.
    async fn start(envs: &[(&str, &str)]) -> Result<K8sServer> {
        let port = free_port();
        let mut command = Command::new(target_dir().join("debug/k8s-server"));
        command
            .env_clear()
            .envs(envs.iter().copied())
            .env("METRICS_PORT", "0")
            .env("PORT", port.to_string());
        let log = target_dir().join("demo-k8s-server.log");
        let mut process = Served::spawn("k8s-server", &mut command, &log)?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let ready_after = process.ready(addr, "/readyz").await?;
        Ok(K8sServer {
            process,
            addr,
            ready_after,
        })
    }

    /// Peak resident memory (`VmHWM`), in KiB.
    fn peak_kib(&self) -> Option<u64> {
        procfs::peak_rss_kib(self.process.pid())
    }
}
