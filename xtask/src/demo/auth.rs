//! The demo's authentication rows: a second pair of targets with `AUTH=jwt` against an identity
//! provider this command serves on loopback (`testkit::idp`: keys generated for this run and thrown
//! away after it), sent the cases of the authentication table (`testkit::contract::auth`).

use anyhow::{Result, bail};
use testkit::contract::auth::{self, AuthCase, published_keys};
use testkit::idp::JwksServer;
use testkit::lambda_watch::LambdaWatch;

use super::k8s::K8sServer;
use super::table::{self, Row};
use super::timed;

/// The authentication cases sent by default: one of each kind (names in `testkit::contract::auth`).
const SHOWN: &[&str] = &[
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

/// Starts both targets with `envs` and `AUTH=jwt`, sends them the authentication cases (every one
/// with `all`) and prints the table; fails if a pair of answers differs or breaks the contract. Both
/// targets and the provider are stopped before it returns.
pub async fn demo(envs: &[(&str, &str)], all: bool) -> Result<()> {
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
    let cases: Vec<AuthCase> = auth::cases()
        .into_iter()
        .filter(|case| all || SHOWN.contains(&case.case.name))
        .collect();
    let mut rows = Vec::new();
    for auth_case in &cases {
        let (case, headers) = (&auth_case.case, auth_case.headers());
        let (on_server, server_took) = timed(server.send_with(case, &headers)).await;
        let (on_lambda, lambda_took) = timed(watch.send(case.method, case.target, &headers)).await;
        rows.push(Row::named(
            case,
            [on_server, on_lambda],
            [server_took, lambda_took],
        ));
    }
    table::print_rows(&rows);
    println!();
    let problems: Vec<String> = rows.iter().flat_map(Row::problems).collect();
    if !problems.is_empty() {
        bail!(
            "{} problems with AUTH=jwt (lambda log: {}):\n{}",
            problems.len(),
            watch.log_path().display(),
            problems.join("\n")
        );
    }
    println!("demo: both targets make the same authentication decisions");
    Ok(())
}
