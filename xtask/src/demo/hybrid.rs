//! `cargo xtask demo --hybrid`: the import's two front doors and both lookup targets on one moto
//! server (S3 and DynamoDB): `import-fn`'s handler and the `import-job` binary each import a file
//! of `xtask/data/imports/` and print their answer and report; then `k8s-server` and `lambda-fn`
//! must answer alike for the imported users (200) and for those whose lines were rejected (404).

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow, ensure};
use app_core::config::Env;
use app_core::import::ImportConfig;
use app_core::startup::importer_from_sdk_config;
use lambda_fn::import::ImportHandler;
use serde_json::Value;
use testkit::import::{event_key, run_job, s3_event};
use testkit::lambda_watch::LambdaWatch;
use testkit::moto::Moto;

use super::{TABLE, env_refs, k8s_server, seeded_moto};
use crate::steps::target_dir;

/// The SAM template's `Timeout` of `import-fn`: the invocation's deadline.
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(300);
/// The file `import-fn` imports, and where it is uploaded.
const FOR_LAMBDA: (&str, &str) = (
    "imports/2026/new hires.jsonl",
    include_str!("../../data/imports/new-hires.jsonl"),
);
/// The file `import-job` imports, and where it is uploaded.
const FOR_JOB: (&str, &str) = (
    "imports/2026/contractors.jsonl",
    include_str!("../../data/imports/contractors.jsonl"),
);
/// Users imported by `import-fn` and by `import-job`: both targets must find them (200).
const IMPORTED: &[&str] = &["imp-101", "imp-102", "imp-105", "imp-201", "imp-203"];
/// Users whose lines were rejected (a bad e-mail, a bad timestamp): both must answer 404.
const REJECTED: &[&str] = &["imp-104", "imp-202"];

/// Runs the hybrid demo; everything it starts stops when it returns.
pub async fn demo() -> Result<()> {
    println!(
        "==> moto server (S3 and DynamoDB): table {TABLE} with the sample users, an import bucket"
    );
    let moto = seeded_moto().await?;
    let bucket = moto.create_bucket("user-import").await;
    let mut env = moto.service_env(TABLE);
    env.push(("AWS_ENDPOINT_URL_S3", moto.endpoint().to_owned()));
    import_fn(&moto, &bucket).await?;
    import_job(&moto, &bucket, &env).await?;
    lookups(&env_refs(&env)).await?;
    println!(
        "\ndemo: import-fn and import-job filled one table; k8s-server and lambda-fn serve it alike"
    );
    Ok(())
}

/// Step 1: `import-fn`'s handler on the S3 event of an upload of [`FOR_LAMBDA`] (the key
/// URL-encoded as S3 sends it, the SAM template's deadline; not under `cargo lambda watch`, whose
/// deadline is always past).
async fn import_fn(moto: &Moto, bucket: &str) -> Result<()> {
    let (key, file) = FOR_LAMBDA;
    upload(moto, bucket, key, file).await;
    let (encoded, seconds) = (event_key(key), LAMBDA_TIMEOUT.as_secs());
    println!(
        "==> import-fn's handler invoked with the S3 event \
         (object key as S3 sends it: {encoded:?}), {seconds}s to its deadline"
    );
    let config = ImportConfig::read(&Env::from_fn(|_: &str| None))?;
    let sdk_config = moto.sdk_config(config.store_timeout).await;
    let importer = importer_from_sdk_config(&sdk_config, TABLE);
    let handler = ImportHandler::new(importer, config.deadline_margin);
    let event = s3_event(&[(bucket, key)]);
    let answer = testkit::import::invoke(&handler, &event, SystemTime::now() + LAMBDA_TIMEOUT)
        .await
        .map_err(|err| anyhow!("import-fn failed: {err:?}"))?;
    println!("import-fn answered: {answer}");
    print_report(moto, bucket, key).await
}

/// Step 2: the `import-job` binary with `env`, as the Kubernetes Job runs it, on [`FOR_JOB`].
async fn import_job(moto: &Moto, bucket: &str, env: &[(&'static str, String)]) -> Result<()> {
    let (key, file) = FOR_JOB;
    let source = upload(moto, bucket, key, file).await;
    println!("==> target/debug/import-job {source:?}");
    let binary = target_dir().join("debug/import-job");
    let run = tokio::task::block_in_place(|| run_job(&binary, &[&source], env));
    let (code, kib) = (run.code(), run.peak_rss_kib);
    ensure!(
        code == Some(0),
        "import-job failed (exit {code:?}): {}",
        run.stderr.trim()
    );
    let report: Value = serde_json::from_str(&run.stdout)
        .with_context(|| format!("import-job printed no report: {}", run.stdout))?;
    println!("import-job exited {code:?}, peak RSS {kib} KiB; it printed:\n{report:#}");
    print_report(moto, bucket, key).await
}

/// Step 3: both lookup targets with `env` answer alike, as [`IMPORTED`] and [`REJECTED`] say.
async fn lookups(env: &[(&str, &str)]) -> Result<()> {
    println!("==> cargo lambda watch (lambda-fn) with {env:?}");
    let watch = LambdaWatch::start(env).await;
    println!("==> k8s-server (target/debug/k8s-server) on the same table");
    let server = k8s_server(env).await?;
    println!("\nuser              k8s     lambda  body (both)");
    let users = (IMPORTED.iter().map(|id| (id, 200))).chain(REJECTED.iter().map(|id| (id, 404)));
    let mut problems = Vec::new();
    for (id, expected) in users {
        let path = format!("/users/{id}");
        let on_server = testkit::http::send(server.addr, "GET", &path, &[]).await;
        let on_lambda = watch.send("GET", &path, &[]).await;
        let (status, body) = (on_server.status, &on_server.body);
        println!("{id:<10} {status:>10} {:>10}  {body}", on_lambda.status);
        if on_server.without_request_id() != on_lambda.without_request_id() {
            problems.push(format!("{path}: the targets differ"));
        }
        if status != expected {
            problems.push(format!("{path}: {status} where {expected} was expected"));
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// Uploads `file` to `bucket` at `key`, says so, and returns its `s3://` address.
async fn upload(moto: &Moto, bucket: &str, key: &str, file: &str) -> String {
    moto.put_object(bucket, key, file).await;
    let source = format!("s3://{bucket}/{key}");
    println!("==> uploaded {source} ({} lines)", file.lines().count());
    source
}

/// Prints the report written beside the input `key`.
async fn print_report(moto: &Moto, bucket: &str, key: &str) -> Result<()> {
    let report_key = format!("reports/{key}.json");
    let report = moto
        .object(bucket, &report_key)
        .await
        .with_context(|| format!("no report at s3://{bucket}/{report_key}"))?;
    let report: Value = serde_json::from_slice(&report)?;
    println!("report s3://{bucket}/{report_key}:\n{report:#}");
    Ok(())
}
