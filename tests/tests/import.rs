//! The user import through both of its front doors, on moto's S3 and DynamoDB: `import-fn`'s handler
//! fed S3 events built from the real fixture (as the Lambda runtime feeds it), and the real
//! `import-job` binary as a process. The rows it writes are then read through both lookup targets.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use app_core::import::Importer;
use app_core::objects::s3::S3ObjectStore;
use app_core::service::UserService;
use app_core::startup::importer_from_sdk_config;
use app_core::store::dynamodb::DynamoDbStore;
use lambda_fn::import::{IMPORT_FAILED, ImportHandler};
use serde_json::{Value, json};
use testkit::import::{self, JobRun, invoke_logged, run_import_job, s3_event, valid_rows};
use testkit::lambda::{self, EventSource};
use testkit::moto::Moto;
use testkit::server::TestServer;

/// The DynamoDB budget of the imports under test.
const STORE_TIMEOUT: Duration = Duration::from_millis(2000);
/// A deadline no test reaches.
const FAR: Duration = Duration::from_secs(600);

fn moto() -> &'static Moto {
    Moto::shared()
}

/// A bucket and an empty table of their own, for one test.
async fn bucket_and_table(name: &str) -> (String, String) {
    (
        moto().create_bucket(name).await,
        moto().create_table(name).await,
    )
}

/// `import-fn`'s handler writing to `table` on the shared moto, with no deadline margin.
async fn import_fn(table: &str) -> ImportHandler {
    let sdk_config = moto().sdk_config(STORE_TIMEOUT).await;
    ImportHandler::new(importer_from_sdk_config(&sdk_config, table), Duration::ZERO)
}

/// Invokes `handler` for objects `keys` of `bucket`, with `FAR` to go.
async fn invoke(handler: &ImportHandler, bucket: &str, keys: &[&str]) -> Value {
    let objects: Vec<(&str, &str)> = keys.iter().map(|key| (bucket, *key)).collect();
    import::invoke(handler, &s3_event(&objects), SystemTime::now() + FAR)
        .await
        .unwrap_or_else(|err| panic!("the invocation failed: {err:?}"))
}

/// The report written for input `key`, parsed; `None` if there is none.
async fn report(bucket: &str, key: &str) -> Option<Value> {
    let bytes = moto()
        .object(bucket, &format!("reports/{key}.json"))
        .await?;
    Some(serde_json::from_slice(&bytes).expect("the report is JSON"))
}

/// `import-job ARGS` against the shared moto, rows to `table`.
fn job(table: &str, args: &[&str]) -> JobRun {
    let mut env = moto().import_env(table);
    env.push(("STORE_TIMEOUT_MS", STORE_TIMEOUT.as_millis().to_string()));
    tokio::task::block_in_place(|| run_import_job(args, &env))
}

/// A file with valid rows, a blank line, an extra field, a duplicate id and one line of each
/// rejection kind; and what its report must list.
fn mixed_file(prefix: &str) -> (Vec<u8>, Vec<String>, Value) {
    let row = |id: &str, name: &str, email: &str, at: &str| {
        format!(r#"{{"id":"{id}","name":"{name}","email":"{email}","createdAt":"{at}"}}"#)
    };
    let ok_at = "2024-01-15T09:30:00Z";
    let ids: Vec<String> = (1..=4).map(|n| format!("{prefix}-{n}")).collect();
    let mut lines: Vec<Vec<u8>> = vec![
        row(&ids[0], "Ada Lovelace", "ada@example.com", ok_at).into(), // 1
        b"not json".to_vec(),                                          // 2 INVALID_JSON
        b"{\"id\":\"\xff\xfe\"}".to_vec(),                             // 3 INVALID_JSON (not UTF-8)
        format!(r#"{{"id":"{prefix}-x","name":"No Date","email":"n@example.com"}}"#).into(), // 4
        row("bad id!", "Bad Id", "b@example.com", ok_at).into(),       // 5 INVALID_USER_ID
        row(&format!("{prefix}-n"), "   ", "n@example.com", ok_at).into(), // 6 INVALID_NAME
        row(&format!("{prefix}-e"), "No At", "no-at-sign", ok_at).into(), // 7 INVALID_EMAIL
        row(&format!("{prefix}-t"), "Bad Time", "t@example.com", "yesterday").into(), // 8
        format!(r#"{{"id":"{prefix}-l","name":"{}"}}"#, "x".repeat(70 * 1024)).into(), // 9
        b"   ".to_vec(),                                                // 10 blank: skipped
        format!(
            r#"{{"id":"{}","name":"Grace Hopper","email":"grace@example.com","createdAt":"2024-02-01T10:00:00+01:00","role":"admiral"}}"#,
            ids[1]
        )
        .into(), // 11 extra field ignored
        row(&ids[2], "Alan Turing", "alan@example.com", ok_at).into(), // 12
        row(&ids[3], "Old Name", "old@example.com", ok_at).into(),     // 13
        row(&ids[3], "Edsger Dijkstra", "edsger@example.com", ok_at).into(), // 14 same id: wins
    ];
    let mut file = Vec::new();
    for line in lines.iter_mut() {
        file.append(line);
        file.push(b'\n');
    }
    let rejected = json!([
        {"line": 2, "code": "INVALID_JSON"},
        {"line": 3, "code": "INVALID_JSON"},
        {"line": 4, "code": "MISSING_FIELD"},
        {"line": 5, "code": "INVALID_USER_ID"},
        {"line": 6, "code": "INVALID_NAME"},
        {"line": 7, "code": "INVALID_EMAIL"},
        {"line": 8, "code": "INVALID_TIMESTAMP"},
        {"line": 9, "code": "LINE_TOO_LONG"},
    ]);
    (file, ids, rejected)
}

/// Asks both lookup targets (k8s-server over TCP, lambda-fn's handler through an HTTP API event),
/// reading `table` on moto, for `id`; returns both bodies after checking both are 200.
async fn lookup_both(table: &str, id: &str) -> [Value; 2] {
    let store = DynamoDbStore::from_sdk_config(&moto().sdk_config(STORE_TIMEOUT).await, table);
    let service = UserService::new(Arc::new(store));
    let server = TestServer::spawn(service.clone()).await;
    let path = format!("/users/{id}");
    let on_server = server.send("GET", &path, &[]).await;
    let event = EventSource::HttpApiDefault.event("GET", &path, &[]);
    let on_lambda = lambda::invoke(service, &event, "lookup-after-import").await;
    for (target, reply) in [("k8s-server", &on_server), ("lambda-fn", &on_lambda)] {
        assert_eq!(reply.status, 200, "{target} GET {path}: {reply:?}");
    }
    assert_eq!(on_server.body, on_lambda.body, "both targets answer alike");
    [on_server.json(), on_lambda.json()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_the_bad_lines_are_reported_and_both_lookups_serve_every_row_both_importers_wrote()
{
    // GIVEN a file with valid rows and one line of each rejection kind, uploaded under imports/
    let (bucket, table) = bucket_and_table("mixed").await;
    let key = "imports/2026/mixed.jsonl";
    let (file, ids, rejected) = mixed_file("mix");
    moto().put_object(&bucket, key, file).await;

    // WHEN import-fn handles its S3 event
    let answer = invoke(&import_fn(&table).await, &bucket, &[key]).await;

    // THEN the report lists exactly the bad lines with their codes, and counts the valid rows
    let source = format!("s3://{bucket}/{key}");
    let expected = json!({
        "source": source,
        "imported": 5,
        "rejected": rejected,
        "rejectedTotal": 8,
        "complete": true,
        "nextLine": null,
        "error": null,
    });
    let from_fn = moto()
        .object(&bucket, &format!("reports/{key}.json"))
        .await
        .expect("import-fn wrote the report");
    assert_eq!(serde_json::from_slice::<Value>(&from_fn).unwrap(), expected);
    assert_eq!(
        answer,
        json!({"records": [{"object": source, "report": format!("s3://{bucket}/reports/{key}.json"),
            "complete": true, "nextLine": null}]})
    );
    // AND every valid row is served by GET /users/{id} on both targets, the later duplicate winning
    for id in &ids {
        let [on_server, _] = lookup_both(&table, id).await;
        assert_eq!(on_server["data"]["id"], json!(id));
    }
    let [dijkstra, _] = lookup_both(&table, &ids[3]).await;
    assert_eq!(dijkstra["data"]["name"], "Edsger Dijkstra");
    let [hopper, _] = lookup_both(&table, &ids[1]).await;
    assert_eq!(
        hopper["data"],
        json!({"id": ids[1], "name": "Grace Hopper", "email": "grace@example.com",
            "createdAt": "2024-02-01T10:00:00+01:00"})
    );
    assert_eq!(
        moto().items(&table).await.len(),
        4,
        "no rejected line was written"
    );

    // AND import-job, on the same file into a table of its own, writes the same table and the
    // same report (byte for byte), to the same place, and prints it
    let job_table = moto().create_table("mixed-job").await;
    let run = job(&job_table, &[&source]);
    assert_eq!(run.code(), Some(0), "{run:?}");
    assert_eq!(run.stdout.as_bytes(), from_fn.as_slice(), "{run:?}");
    let from_job = moto()
        .object(&bucket, &format!("reports/{key}.json"))
        .await
        .unwrap();
    assert_eq!(from_job, from_fn);
    assert_eq!(moto().items(&job_table).await, moto().items(&table).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_is_imported_keys_are_decoded_and_keys_outside_imports_are_skipped() {
    // GIVEN objects whose keys have spaces, `+` and non-ASCII letters, and one outside imports/
    let (bucket, table) = bucket_and_table("keys").await;
    let spaced = "imports/with space+plus.jsonl";
    let unicode = "imports/2026/ünïcødé users.jsonl";
    let outside = "uploads/not-an-import.jsonl";
    moto()
        .put_object(&bucket, spaced, valid_rows("spaced", 3))
        .await;
    moto()
        .put_object(&bucket, unicode, valid_rows("unicode", 2))
        .await;
    moto()
        .put_object(&bucket, outside, valid_rows("outside", 2))
        .await;

    // WHEN one S3 event names all three (keys URL-encoded as S3 sends them)
    let answer = invoke(
        &import_fn(&table).await,
        &bucket,
        &[spaced, outside, unicode],
    )
    .await;

    // THEN both imports are reported at their decoded keys, the other is skipped with no report
    assert_eq!(
        moto().keys(&bucket, "reports/").await,
        [
            format!("reports/{unicode}.json"),
            format!("reports/{spaced}.json")
        ]
    );
    for (key, imported) in [(spaced, 3), (unicode, 2)] {
        let report = report(&bucket, key).await.unwrap();
        assert_eq!(report["source"], json!(format!("s3://{bucket}/{key}")));
        assert_eq!(
            (report["imported"].as_u64(), &report["complete"]),
            (Some(imported), &json!(true))
        );
    }
    assert_eq!(
        answer["records"][1],
        json!({"object": format!("s3://{bucket}/{outside}"), "skipped": true})
    );
    assert_eq!(
        moto().items(&table).await.len(),
        5,
        "the rows outside imports/ are not written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_file_twice_gives_the_same_table_and_the_same_report() {
    // GIVEN a file imported once
    let (bucket, table) = bucket_and_table("twice").await;
    let key = "imports/twice.jsonl";
    let (file, _, _) = mixed_file("twice");
    moto().put_object(&bucket, key, file).await;
    let handler = import_fn(&table).await;
    invoke(&handler, &bucket, &[key]).await;
    let (first_table, first_report) = (
        moto().items(&table).await,
        report(&bucket, key).await.unwrap(),
    );

    // WHEN the same event arrives again (S3 delivers at least once; Lambda retries)
    invoke(&handler, &bucket, &[key]).await;

    // THEN the table and the report are the same
    assert_eq!(moto().items(&table).await, first_table);
    assert_eq!(report(&bucket, key).await.unwrap(), first_report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_object_is_reported_as_object_not_found_by_both_front_doors() {
    // GIVEN a bucket without the object an event names
    let (bucket, table) = bucket_and_table("missing").await;
    let key = "imports/gone.jsonl";
    let expected = json!({
        "source": format!("s3://{bucket}/{key}"), "imported": 0, "rejected": [],
        "rejectedTotal": 0, "complete": false, "nextLine": null, "error": "OBJECT_NOT_FOUND",
    });

    // WHEN import-fn handles the event, THEN the invocation succeeds and the report says so
    invoke(&import_fn(&table).await, &bucket, &[key]).await;
    assert_eq!(report(&bucket, key).await, Some(expected.clone()));

    // AND import-job prints the same report and exits 1: the import did not complete
    let run = job(&table, &[&format!("s3://{bucket}/{key}")]);
    assert_eq!(run.code(), Some(1), "{run:?}");
    assert_eq!(run.report(), expected);
    assert!(
        run.stderr.trim_end().ends_with("the object does not exist"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_shorter_than_the_import_gives_a_partial_report_and_import_job_finishes_it() {
    // GIVEN a file that takes longer to import than the invocation has left
    let (bucket, table) = bucket_and_table("deadline").await;
    let key = "imports/long.jsonl";
    let rows = 4_000;
    moto()
        .put_object(&bucket, key, valid_rows("long", rows))
        .await;
    let handler = import_fn(&table).await;

    // WHEN import-fn runs with 400 ms to go (and no margin)
    let event = s3_event(&[(&bucket, key)]);
    let deadline = SystemTime::now() + Duration::from_millis(400);
    let answer = import::invoke(&handler, &event, deadline).await;

    // THEN the invocation succeeds with a partial report saying where to go on
    let answer = answer.unwrap_or_else(|err| panic!("the invocation failed: {err:?}"));
    let partial = report(&bucket, key).await.unwrap();
    assert_eq!(partial["complete"], json!(false), "{partial}");
    let next_line = partial["nextLine"].as_u64().expect("nextLine");
    assert!((1..=rows).contains(&next_line), "{partial}");
    assert_eq!(partial["imported"].as_u64(), Some(next_line - 1));
    assert_eq!(answer["records"][0]["nextLine"], json!(next_line));
    println!("import-fn's partial report (400 ms to go): {partial}");
    println!("nextLine: {next_line}");

    // AND import-job --from-line nextLine finishes it: every row is then in the table
    let from = next_line.to_string();
    let run = job(
        &table,
        &[&format!("s3://{bucket}/{key}"), "--from-line", &from],
    );
    assert_eq!(run.code(), Some(0), "{run:?}");
    let finished = run.report();
    assert_eq!(
        (&finished["complete"], finished["imported"].as_u64()),
        (&json!(true), Some(rows - next_line + 1))
    );
    println!("import-job --from-line {next_line}: {finished}");
    // AND its report is written beside the first part's, which stays as import-fn wrote it
    assert_eq!(report(&bucket, key).await, Some(partial));
    let beside = moto()
        .object(
            &bucket,
            &format!("reports/from-line-{next_line}/{key}.json"),
        )
        .await
        .expect("the continuation's report");
    assert_eq!(serde_json::from_slice::<Value>(&beside).unwrap(), finished);
    assert_eq!(moto().items(&table).await.len() as u64, rows);
}

/// `N rows written; line L` in a failure's summary.
fn written_before_failure(summary: &str) -> (u64, u64) {
    let (_, rest) = summary
        .split_once(" (")
        .unwrap_or_else(|| panic!("{summary}"));
    let written = rest.split(' ').next().unwrap().parse().unwrap();
    let line = rest
        .split_once("line ")
        .and_then(|(_, l)| l.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    (written, line)
}

/// Waits until `table` on `dynamodb` holds at least one item (the import is under way), then
/// freezes that moto: DynamoDB hangs from here on.
async fn freeze_once_writing(dynamodb: &Moto, table: &str) {
    let started = std::time::Instant::now();
    while dynamodb.items(table).await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no row written within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    dynamodb.pause();
}

/// Checks, once `dynamodb` runs again, that the rows a failure says were written are in `table`.
async fn rows_said_written_are_there(dynamodb: &Moto, table: &str, summary: &str) {
    let (written, line) = written_before_failure(summary);
    assert_eq!(line, written + 1, "every line is a row: {summary}");
    let items = dynamodb.items(table).await;
    assert!(
        items.len() as u64 >= written,
        "{written} said written, {} in the table",
        items.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_down_fails_the_invocation_and_import_job_exits_1_claiming_only_what_was_written()
{
    // GIVEN objects on S3 (the shared moto) and the users table on a DynamoDB of its own (a second moto)
    let bucket = moto().create_bucket("down").await;
    let dynamodb = tokio::task::block_in_place(|| Moto::launch(0)).unwrap();
    let timeout = Duration::from_millis(500);
    let rows = 30_000;
    for key in ["imports/fn.jsonl", "imports/job.jsonl"] {
        moto()
            .put_object(&bucket, key, valid_rows("down", rows))
            .await;
    }

    // WHEN DynamoDB hangs in the middle of import-fn's import
    let fn_table = dynamodb.create_table("down-fn").await;
    let users =
        DynamoDbStore::from_sdk_config(&dynamodb.sdk_config(timeout).await, fn_table.as_str());
    let objects = S3ObjectStore::from_sdk_config(&moto().sdk_config(timeout).await);
    let handler = ImportHandler::new(
        Importer::new(Arc::new(users), Arc::new(objects)),
        Duration::ZERO,
    );
    let event = s3_event(&[(&bucket, "imports/fn.jsonl")]);
    let invocation =
        tokio::spawn(
            async move { import::invoke(&handler, &event, SystemTime::now() + FAR).await },
        );
    freeze_once_writing(&dynamodb, &fn_table).await;
    let failed = invocation.await.unwrap();
    dynamodb.resume();

    // THEN the invocation fails (the runtime's error response), naming what it wrote and nothing
    // more, without the store's detail; no report is written
    let error = failed.expect_err("the invocation fails");
    assert_eq!(error.error_type, IMPORT_FAILED);
    assert!(
        error
            .error_message
            .contains("the user store is unavailable"),
        "{error:?}"
    );
    assert!(!error.error_message.contains("127.0.0.1"), "{error:?}");
    println!("import-fn's invocation error: {}", error.error_message);
    rows_said_written_are_there(&dynamodb, &fn_table, &error.error_message).await;
    assert_eq!(moto().keys(&bucket, "reports/").await, Vec::<String>::new());

    // AND import-job, with DynamoDB hanging in the middle, exits 1 with one line saying the same
    let job_table = dynamodb.create_table("down-job").await;
    let mut env = moto().import_env(&job_table);
    env.retain(|(name, _)| *name != "AWS_ENDPOINT_URL_DYNAMODB");
    env.push(("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.endpoint().to_owned()));
    env.push(("STORE_TIMEOUT_MS", timeout.as_millis().to_string()));
    let source = format!("s3://{bucket}/imports/job.jsonl");
    let run = tokio::spawn(async move {
        tokio::task::spawn_blocking(move || run_import_job(&[&source], &env))
            .await
            .unwrap()
    });
    freeze_once_writing(&dynamodb, &job_table).await;
    let run = run.await.unwrap();
    dynamodb.resume();
    assert_eq!(run.code(), Some(1), "{run:?}");
    assert!(run.stdout.is_empty(), "no report is printed: {run:?}");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("import-job: import of s3://") && last.contains("unavailable"),
        "{run:?}"
    );
    println!("import-job's last line (exit 1): {last}");
    rows_said_written_are_there(&dynamodb, &job_table, last).await;
    assert_eq!(moto().keys(&bucket, "reports/").await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_job_refuses_bad_arguments_with_2_and_bad_configuration_with_78() {
    let table = "Users";
    for args in [
        &["not-an-s3-uri"][..],
        &["s3://bkt/uploads/outside.jsonl"],
        &["s3://bkt/imports/a.jsonl", "--from-line", "0"],
        &[],
    ] {
        let run = job(table, args);
        assert_eq!(run.code(), Some(2), "{args:?}: {run:?}");
    }
    for (var, value) in [
        ("STORE_TIMEOUT_MS", "soon"),
        ("USERS_TABLE", "no spaces allowed"),
        ("IMPORT_DEADLINE_MARGIN_MS", "-1"),
    ] {
        let mut env = moto().import_env(table);
        env.retain(|(name, _)| *name != var);
        env.push((var, value.to_owned()));
        let run =
            tokio::task::block_in_place(|| run_import_job(&["s3://bkt/imports/a.jsonl"], &env));
        assert_eq!(run.code(), Some(78), "{var}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{var}: {run:?}");
        assert!(
            run.stderr.starts_with(&format!("import-job: {var}")),
            "{var}: {run:?}"
        );
    }
}

/// `lines` lines, every other one a valid row (ids `mem-1`, `mem-3`, ...) and the others rejected
/// in turn as not JSON, a bad e-mail and a bad timestamp: both paths of the import, and more
/// rejections than a report lists.
fn half_rejected(lines: u64) -> String {
    let mut file = String::with_capacity(lines as usize * 100);
    for n in 1..=lines {
        let (email, at) = match (n % 2, n % 3) {
            (1, _) => ("ok@example.com", "2024-01-15T09:30:00Z"),
            (_, 0) => ("no-at-sign", "2024-01-15T09:30:00Z"),
            (_, 1) => ("ok@example.com", "yesterday"),
            _ => {
                file.push_str("not json at all, but about as long as a row of the file\n");
                continue;
            }
        };
        file.push_str(&format!(
            r#"{{"id":"mem-{n}","name":"User {n:07}","email":"{email}","createdAt":"{at}"}}"#
        ));
        file.push('\n');
    }
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_job_memory_does_not_grow_with_the_file() {
    // GIVEN files of 10,000 and 100,000 lines, half of them rows (moto takes about 7 ms per batch
    // of 25: 100,000 rows would take this test past half a minute)
    let (bucket, table) = bucket_and_table("memory").await;
    let sizes = [10_000, 100_000];
    for lines in sizes {
        moto()
            .put_object(
                &bucket,
                &format!("imports/{lines}.jsonl"),
                half_rejected(lines),
            )
            .await;
    }

    // WHEN import-job imports each
    let peaks: Vec<u64> = sizes
        .iter()
        .map(|lines| {
            let started = std::time::Instant::now();
            let run = job(&table, &[&format!("s3://{bucket}/imports/{lines}.jsonl")]);
            let took = started.elapsed().as_secs_f64();
            println!(
                "import-job: {} valid rows of {lines} lines in {took:.1} s (start-up included): {:.0} rows/s",
                lines / 2,
                (lines / 2) as f64 / took
            );
            assert_eq!(run.code(), Some(0), "{run:?}");
            let report = run.report();
            assert_eq!(report["imported"].as_u64(), Some(lines / 2));
            assert_eq!(report["rejectedTotal"].as_u64(), Some(lines / 2));
            assert_eq!(report["rejected"].as_array().map(Vec::len), Some(1_000));
            run.peak_rss_kib
        })
        .collect();

    // THEN the peak resident memory for ten times the lines is within 4 MiB
    eprintln!(
        "import-job peak RSS: 10,000 lines {} KiB, 100,000 lines {} KiB",
        peaks[0], peaks[1]
    );
    assert!(peaks[0] > 0, "VmHWM was read");
    assert!(
        peaks[1] <= peaks[0] + 4 * 1024,
        "peak RSS {} KiB for 100,000 lines vs {} KiB for 10,000",
        peaks[1],
        peaks[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_with_a_line_break_is_refused_and_forges_no_log_line() {
    // GIVEN an S3 event for a key that holds a line break followed by what looks like a log line
    // (S3 stores such keys; moto does not, and the record is refused before any read)
    let (bucket, table) = bucket_and_table("forge").await;
    let forged = "ERROR app_core::import: forged line";
    let key = format!("imports/a\n{forged}.jsonl");

    // WHEN import-fn handles its S3 event, logging as text
    let event = s3_event(&[(&bucket, &key)]);
    let (answer, lines) =
        invoke_logged(&import_fn(&table).await, &event, SystemTime::now() + FAR).await;

    // THEN no log line begins with the forged text: the key is written escaped, on one line
    let answer = answer.unwrap_or_else(|err| panic!("the invocation failed: {err:?}"));
    assert!(
        lines.iter().all(|line| !line.starts_with(forged)),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.contains("refused") && line.contains("imports/a%0A")),
        "the refusal is logged with the key as the event sent it: {lines:#?}"
    );
    // AND the record is refused, saying why; nothing is imported or reported
    assert_eq!(
        answer["records"][0],
        json!({"object": null,
               "error": "an object key to import has no control characters (such as a line break)"})
    );
    assert_eq!(moto().keys(&bucket, "reports/").await, Vec::<String>::new());
    assert!(moto().items(&table).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_too_long_for_its_report_is_refused_saying_so_by_both_front_doors() {
    // GIVEN a 1,015-byte key under imports/: its report's key would be 1,028 bytes
    let (bucket, table) = bucket_and_table("longkey").await;
    let key = format!("imports/{}", "k".repeat(1015 - 8));
    moto()
        .put_object(&bucket, &key, valid_rows("long", 2))
        .await;

    // WHEN import-fn handles its S3 event
    let answer = invoke(&import_fn(&table).await, &bucket, &[&key]).await;

    // THEN the record fails with the reason, not as "outside imports/"; nothing is written
    let record = &answer["records"][0];
    assert_eq!(record["object"], json!(format!("s3://{bucket}/{key}")));
    let error = record["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(
        error.contains("1015 bytes") && error.contains("at most 1011 bytes"),
        "{error}"
    );
    assert!(record.get("skipped").is_none(), "{answer}");
    assert_eq!(moto().keys(&bucket, "reports/").await, Vec::<String>::new());
    assert!(moto().items(&table).await.is_empty());

    // AND import-job refuses the argument (exit 2) with the same reason
    let run = job(&table, &[&format!("s3://{bucket}/{key}")]);
    assert_eq!(run.code(), Some(2), "{run:?}");
    assert!(run.stderr.contains("at most 1011 bytes"), "{run:?}");
    assert!(!run.stderr.contains("only keys under"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_fn_past_its_deadline_starts_no_further_record() {
    // GIVEN an event of three records, one of them a missing object, and no time left
    let (bucket, table) = bucket_and_table("late").await;
    for key in ["imports/a.jsonl", "imports/c.jsonl"] {
        moto().put_object(&bucket, key, valid_rows("late", 3)).await;
    }
    let keys = ["imports/a.jsonl", "imports/b.jsonl", "imports/c.jsonl"];
    let objects: Vec<(&str, &str)> = keys.iter().map(|key| (bucket.as_str(), *key)).collect();

    // WHEN import-fn handles it after its deadline
    let answer = import::invoke(
        &import_fn(&table).await,
        &s3_event(&objects),
        SystemTime::now(),
    )
    .await
    .unwrap_or_else(|err| panic!("the invocation failed: {err:?}"));

    // THEN no record is started: no report is written and the answer says where each starts
    assert_eq!(moto().keys(&bucket, "reports/").await, Vec::<String>::new());
    let expected: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({"complete": false, "nextLine": 1,
                   "object": format!("s3://{bucket}/{key}"), "report": null})
        })
        .collect();
    assert_eq!(answer["records"], json!(expected));
    assert!(moto().items(&table).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_named_twice_in_an_event_keeps_its_complete_report() {
    // GIVEN an event naming a small file, then a file longer than the invocation, then the small
    // file again
    let (bucket, table) = bucket_and_table("twice-in-event").await;
    let (small, long) = ("imports/small.jsonl", "imports/long.jsonl");
    moto()
        .put_object(&bucket, small, valid_rows("small", 3))
        .await;
    moto()
        .put_object(&bucket, long, valid_rows("long", 10_000))
        .await;
    let event = s3_event(&[(&bucket, small), (&bucket, long), (&bucket, small)]);

    // WHEN import-fn has 1.5 s (the long file stops at the deadline)
    let answer = import::invoke(
        &import_fn(&table).await,
        &event,
        SystemTime::now() + Duration::from_millis(1500),
    )
    .await
    .unwrap_or_else(|err| panic!("the invocation failed: {err:?}"));

    // THEN the small file's report is the complete one, not a stale one from its second record
    let small_report = report(&bucket, small).await.unwrap();
    assert_eq!(
        (&small_report["complete"], small_report["imported"].as_u64()),
        (&json!(true), Some(3)),
        "{small_report}"
    );
    assert_eq!(
        report(&bucket, long).await.unwrap()["complete"],
        json!(false)
    );
    assert_eq!(answer["records"][2], answer["records"][0], "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_addresses_no_user_directory_should_hold_are_refused() {
    // GIVEN the lines an attacker would send: NUL, ESC, a right-to-left override and a lone
    // zero-width space as names, an e-mail with a space and a line break, a duplicate id key
    let (bucket, table) = bucket_and_table("hostile-rows").await;
    let at = "2024-01-15T09:30:00Z";
    let user = |id: &str, name: &str, email: &str| {
        json!({"id": id, "name": name, "email": email, "createdAt": at}).to_string()
    };
    let file = [
        user("h-1", "Ada\0", "ada@example.com"),
        user("h-2", "\u{1b}[31mAda", "ada@example.com"),
        user("h-3", "\u{202e}ada", "ada@example.com"),
        user("h-4", "\u{200b}", "ada@example.com"),
        user("h-5", "Ada", "a b\n@c"),
        format!(
            r#"{{"id":"x","id":"h-6","name":"Ada","email":"ada@example.com","createdAt":"{at}"}}"#
        ),
        user("h-7", "Ame\u{301}lie", "amelie@example.com"),
    ]
    .join("\n");
    let key = "imports/hostile.jsonl";
    moto().put_object(&bucket, key, file).await;

    // WHEN import-fn imports it
    invoke(&import_fn(&table).await, &bucket, &[key]).await;

    // THEN each is rejected with its code, and only the last is written, its name in NFC
    let report = report(&bucket, key).await.unwrap();
    assert_eq!(
        report["rejected"],
        json!([
            {"line": 1, "code": "INVALID_NAME"},
            {"line": 2, "code": "INVALID_NAME"},
            {"line": 3, "code": "INVALID_NAME"},
            {"line": 4, "code": "INVALID_NAME"},
            {"line": 5, "code": "INVALID_EMAIL"},
            {"line": 6, "code": "DUPLICATE_KEY"},
        ])
    );
    assert_eq!(moto().items(&table).await.len(), 1);
    let [amelie, _] = lookup_both(&table, "h-7").await;
    assert_eq!(amelie["data"]["name"], json!("Am\u{e9}lie"));
}
