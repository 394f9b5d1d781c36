//! `cargo xtask demo --hybrid`: the import's two front doors and both lookup targets on one moto
//! server (S3 and DynamoDB). 1. `import-fn`'s handler gets the S3 event of an upload of
//! `xtask/data/imports/new-hires.jsonl` (the key URL-encoded as S3 sends it, the SAM template's
//! 300 s deadline; not under `cargo lambda watch`, whose deadline is always past). 2. The
//! `import-job` binary imports `xtask/data/imports/contractors.jsonl`, as the Kubernetes Job
//! would. Each prints its answer and report. 3. `k8s-server` and `lambda-fn` must answer alike for
//! imported users (200) and for users whose lines were rejected (404).

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use app_core::config::Env;
use app_core::import::ImportConfig;
use app_core::startup::importer_from_sdk_config;
use lambda_fn::import::ImportHandler;
use serde_json::Value;
use testkit::import::{event_key, run_job, s3_event};
use testkit::lambda_watch::LambdaWatch;
use testkit::moto::Moto;

use super::{K8sServer, TABLE, seeded_moto};

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
/// Users looked up afterwards, and the status both targets must answer: imported by `import-fn`,
/// imported by `import-job`, and rejected (a bad e-mail, a bad timestamp).
const LOOKUPS: &[(&str, u16)] = &[
    ("imp-101", 200),
    ("imp-102", 200),
    ("imp-105", 200),
    ("imp-201", 200),
    ("imp-203", 200),
    ("imp-104", 404),
    ("imp-202", 404),
];

/// Runs the hybrid demo; everything it starts stops when it returns.
pub async fn demo() -> Result<()> {
    println!(
        "==> moto server (S3 and DynamoDB): table {TABLE} with the sample users, an import bucket"
    );
    let moto = seeded_moto().await?;
    let bucket = moto.create_bucket("user-import").await;
    let mut env = moto.service_env(TABLE);
    env.push(("AWS_ENDPOINT_URL_S3", moto.endpoint().to_owned()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // 1. import-fn, on the S3 event of an upload
    let (key, file) = FOR_LAMBDA;
    moto.put_object(&bucket, key, file).await;
    println!(
        "==> uploaded s3://{bucket}/{key} ({} lines)",
        file.lines().count()
    );
    println!(
        "==> import-fn's handler invoked with the S3 event (object key as S3 sends it: {:?}), \
         {}s to its deadline",
        event_key(key),
        LAMBDA_TIMEOUT.as_secs()
    );
    let config = ImportConfig::read(&Env::from_fn(|_: &str| None))?;
    let sdk_config = moto.sdk_config(config.store_timeout).await;
    let handler = ImportHandler::new(
        importer_from_sdk_config(&sdk_config, TABLE),
        config.deadline_margin,
    );
    let event = s3_event(&[(&bucket, key)]);
    let answer = testkit::import::invoke(&handler, &event, SystemTime::now() + LAMBDA_TIMEOUT)
        .await
        .map_err(|err| anyhow::anyhow!("import-fn failed: {err:?}"))?;
    println!("import-fn answered: {answer}");
    print_report(&moto, &bucket, key).await?;

    // 2. import-job, as the Kubernetes Job runs it
    let (key, file) = FOR_JOB;
    moto.put_object(&bucket, key, file).await;
    let source = format!("s3://{bucket}/{key}");
    println!("==> uploaded {source} ({} lines)", file.lines().count());
    println!("==> target/debug/import-job {source:?}");
    let binary = crate::steps::target_dir().join("debug/import-job");
    let run = tokio::task::block_in_place(|| run_job(&binary, &[&source], &env));
    println!(
        "import-job exited {:?}, peak RSS {} KiB; it printed:\n{}",
        run.code(),
        run.peak_rss_kib,
        pretty(run.stdout.trim())?
    );
    ensure!(
        run.code() == Some(0),
        "import-job failed: {}",
        run.stderr.trim()
    );
    print_report(&moto, &bucket, key).await?;

    // 3. Both lookup targets on the table both importers filled
    println!("==> cargo lambda watch (lambda-fn) with {env_refs:?}");
    let watch = LambdaWatch::start(&env_refs).await;
    println!("==> k8s-server (target/debug/k8s-server) on the same table");
    let server = K8sServer::start(&env_refs).await?;
    println!(
        "\n{:<10} {:>10} {:>10}  body (both)",
        "user", "k8s", "lambda"
    );
    let mut problems = Vec::new();
    for (id, expected) in LOOKUPS {
        let path = format!("/users/{id}");
        let on_server = testkit::http::send(server.addr, "GET", &path, &[]).await;
        let on_lambda = watch.send("GET", &path, &[]).await;
        println!(
            "{id:<10} {:>10} {:>10}  {}",
            on_server.status, on_lambda.status, on_server.body
        );
        if on_server.without_request_id() != on_lambda.without_request_id() {
            problems.push(format!("{path}: the targets differ"));
        }
        if on_server.status != *expected {
            problems.push(format!(
                "{path}: {} where {expected} was expected",
                on_server.status
            ));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    println!(
        "\ndemo: import-fn and import-job filled one table; k8s-server and lambda-fn serve it alike"
    );
    Ok(())
}

/// Prints the report written beside the input `key`.
async fn print_report(moto: &Moto, bucket: &str, key: &str) -> Result<()> {
    let report_key = format!("reports/{key}.json");
    let report = moto
        .object(bucket, &report_key)
        .await
        .with_context(|| format!("no report at s3://{bucket}/{report_key}"))?;
    println!(
        "report s3://{bucket}/{report_key}:\n{}",
        pretty(std::str::from_utf8(&report)?)?
    );
    Ok(())
}

fn pretty(json: &str) -> Result<String> {
    let value: Value = serde_json::from_str(json).with_context(|| format!("not JSON: {json}"))?;
    Ok(serde_json::to_string_pretty(&value)?)
}
