//! The import's spans, on moto's S3 and DynamoDB, from both of its front doors: `import-fn`'s handler
//! in this process (which exports before it answers) and the real `import-job` binary. One test
//! binary of its own: the exporter is process-wide.

use std::time::{Duration, SystemTime};

use app_core::startup::importer_from_sdk_config;
use lambda_fn::import::ImportHandler;
use testkit::import::{invoke_traced, run_import_job, s3_event, valid_rows};
use testkit::moto::Moto;
use testkit::otlp::{ReceivedSpan, Receiver, tree};
use testkit::recording_proxy::RecordingProxy;

/// The X-Ray header of the invocation, as the Runtime API passes it.
const XRAY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// Each span as `name (kind) [attribute names]` under its parent's, sorted: the tree's shape.
fn shape(spans: &[ReceivedSpan]) -> Vec<String> {
    let name_of = |id: &str| {
        spans
            .iter()
            .find(|s| s.span_id == id)
            .map_or("-".to_owned(), |s| s.name.clone())
    };
    let mut shape: Vec<String> = spans
        .iter()
        .map(|s| {
            let keys: Vec<&str> = s.attributes.keys().map(String::as_str).collect();
            format!(
                "{} > {} ({}) {keys:?} {}",
                name_of(&s.parent_span_id),
                s.name,
                s.kind,
                s.status
            )
        })
        .collect();
    shape.sort();
    shape
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_import_front_doors_trace_the_read_each_batch_write_and_the_report() {
    // GIVEN this process exporting every span to a receiver, and 30 rows (two batch writes) in S3
    let receiver = Receiver::export_this_process("import-fn").await;
    let moto = Moto::shared();
    let bucket = moto.create_bucket("traced").await;
    let table = moto.create_table("traced").await;
    moto.put_object(&bucket, "imports/fn.jsonl", valid_rows("fn", 30))
        .await;
    moto.put_object(&bucket, "imports/job.jsonl", valid_rows("job", 30))
        .await;

    // WHEN import-fn handles the object's S3 event, in an invocation of X-Ray trace XRAY
    let sdk_config = moto.sdk_config(Duration::from_secs(2)).await;
    let handler = ImportHandler::new(
        importer_from_sdk_config(&sdk_config, &table),
        Duration::ZERO,
    );
    let event = s3_event(&[(bucket.as_str(), "imports/fn.jsonl")]);
    invoke_traced(
        &handler,
        &event,
        SystemTime::now() + Duration::from_secs(600),
        Some(XRAY),
    )
    .await
    .expect("the import succeeds");

    // THEN its spans are at the receiver as it answers: the import, parent of the object read, both
    // batch writes and the report's write
    let from_fn = receiver.spans();
    let import = from_fn
        .iter()
        .find(|s| s.name == "import")
        .unwrap_or_else(|| panic!("no import span:\n{}", tree(&from_fn)));
    assert_eq!(import.attributes["aws.s3.key"], "imports/fn.jsonl");
    assert_eq!(import.attributes["import.imported"], "30");
    // (in the invocation's trace, a child of its segment)
    assert_eq!(import.trace_id, "5759e988bd862e3fe1be46a994272793");
    assert_eq!(import.parent_span_id, "53995c3f42cd8ad8");
    let children: Vec<&str> = from_fn
        .iter()
        .filter(|s| s.parent_span_id == import.span_id)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        children,
        [
            "S3.GetObject",
            "DynamoDB.BatchWriteItem",
            "DynamoDB.BatchWriteItem",
            "S3.PutObject"
        ],
        "{}",
        tree(&from_fn)
    );

    // AND import-job, the same import as a process (its AWS calls through a proxy that shows what
    // moto gets), exports the same tree
    let proxy = RecordingProxy::start(([127, 0, 0, 1], moto.port()).into()).await;
    let mut env = moto.import_env(&table);
    for (name, value) in &mut env {
        if name.starts_with("AWS_ENDPOINT_URL") {
            *value = proxy.endpoint();
        }
    }
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()));
    env.push(("OTEL_SERVICE_NAME", "import-job".to_owned()));
    let source = format!("s3://{bucket}/imports/job.jsonl");
    let run = tokio::task::block_in_place(|| run_import_job(&[source.as_str()], &env));
    assert_eq!(run.code(), Some(0), "{run:?}");
    let from_job: Vec<ReceivedSpan> = receiver
        .spans()
        .into_iter()
        .filter(|s| s.service_name == "import-job")
        .collect();
    assert_eq!(shape(&from_job), shape(&from_fn), "{}", tree(&from_job));

    // AND each of its S3 and DynamoDB requests carried the context of its client span
    let mut sent = proxy.header_values("traceparent");
    sent.sort();
    let mut expected: Vec<String> = from_job
        .iter()
        .filter(|s| s.kind == "client")
        .map(|s| format!("00-{}-{}-01", s.trace_id, s.span_id))
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 4, "{}", tree(&from_job));
    assert_eq!(sent, expected);
}
