//! The import use case end to end: the embedded store and a local object store where that shows the
//! behaviour, the DynamoDB store on the SDK's canned-response client where the requests matter.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader, ReadBuf};

use super::*;
use crate::domain::UserId;
use crate::objects::InvalidLocation;
use crate::objects::local::LocalObjectStore;
use crate::service::UserService;
use crate::store::UserRepository;
use crate::store::dynamodb::{
    SentBatches, batch_write_item, canned_store, error_body, store_refusing_writes,
};
use crate::store::memory::{MemoryStore, WritableMemoryStore};

const SOURCE: &str = "s3://bkt/imports/users.jsonl";

fn row(id: &str, name: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"{name}","email":"{id}@example.com","createdAt":"2024-01-15T09:30:00Z"}}"#
    )
}

/// `count` valid rows, ids `u-1`..
fn rows(count: usize) -> String {
    (1..=count)
        .map(|n| row(&format!("u-{n}"), "User") + "\n")
        .collect()
}

fn empty_store() -> Arc<WritableMemoryStore> {
    Arc::new(WritableMemoryStore::new(
        MemoryStore::from_users([]).unwrap(),
    ))
}

async fn import(
    store: &dyn UserWriter,
    input: &str,
    options: &ImportOptions,
) -> Result<ImportReport, ImportFailure> {
    import_lines(input.as_bytes(), store, SOURCE.into(), options).await
}

/// Stops at the `n`th batch boundary (counting from 1).
fn stop_at_boundary(n: usize) -> ImportOptions {
    let seen = AtomicUsize::new(0);
    ImportOptions::default().stop_when(move || seen.fetch_add(1, Ordering::SeqCst) + 1 >= n)
}

fn line(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap()
}

#[tokio::test]
async fn exactly_the_bad_lines_are_reported_and_every_good_row_is_served() {
    let long = format!(r#"{{"id":"u-9","name":"{}"}}"#, "x".repeat(MAX_LINE_BYTES));
    let input = [
        row("u-1", "Ada Lovelace"),
        "{not json".into(),
        "".into(),
        r#"{"id":"u-2","name":"Grace"}"#.into(),
        row("u 3", "Bad Id"),
        "   ".into(),
        row("u-4", " "),
        r#"{"id":"u-5","name":"Ed","email":"no-at-sign","createdAt":"2024-01-15T09:30:00Z"}"#
            .into(),
        r#"{"id":"u-6","name":"Tim","email":"t@example.com","createdAt":"last tuesday"}"#.into(),
        long,
        row("u-7", "Alan Turing"),
    ]
    .join("\n");
    let store = empty_store();

    let report = import(&*store, &input, &ImportOptions::default())
        .await
        .unwrap();

    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        json!({
            "source": SOURCE,
            "imported": 2,
            "rejected": [
                {"line": 2, "code": "INVALID_JSON"},
                {"line": 4, "code": "MISSING_FIELD"},
                {"line": 5, "code": "INVALID_USER_ID"},
                {"line": 7, "code": "INVALID_NAME"},
                {"line": 8, "code": "INVALID_EMAIL"},
                {"line": 9, "code": "INVALID_TIMESTAMP"},
                {"line": 10, "code": "LINE_TOO_LONG"},
            ],
            "rejectedTotal": 7,
            "complete": true,
            "nextLine": null,
            "error": null,
        })
    );
    let lookups = UserService::new(store.clone());
    assert_eq!(lookups.get_user("u-1").await.unwrap().name, "Ada Lovelace");
    assert_eq!(lookups.get_user("u-7").await.unwrap().name, "Alan Turing");
    assert_eq!(store.snapshot().users().count(), 2);
}

#[tokio::test]
async fn rows_are_written_25_a_request_with_a_later_duplicate_winning_within_its_request() {
    let sent = SentBatches::default();
    let rule = batch_write_item(&sent)
        .sequence()
        .output(|| BatchWriteItemOutput::builder().build())
        .repeatedly()
        .build();
    let dynamodb = canned_store(&[&rule], Duration::from_secs(1));
    // 60 rows; row 3 repeats u-1 with another name, row 30 repeats u-2 (in the next request).
    let input: String = (1..=60)
        .map(|n| match n {
            3 => row("u-1", "Later"),
            30 => row("u-2", "Next request"),
            n => row(&format!("u-{n}"), "User"),
        } + "\n")
        .collect();

    let report = import(&dynamodb, &input, &ImportOptions::default())
        .await
        .unwrap();

    let sent = sent.lock().unwrap();
    let sizes: Vec<usize> = sent.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [24, 25, 10],
        "25 rows a request, the duplicate merged"
    );
    let first_u1: Vec<&str> = sent[0]
        .iter()
        .filter(|u| u.id.as_str() == "u-1")
        .map(|u| u.name.as_str())
        .collect();
    assert_eq!(first_u1, ["Later"]);
    assert!(
        sent[1]
            .iter()
            .any(|u| u.id.as_str() == "u-2" && u.name == "Next request")
    );
    assert_eq!((report.imported, report.complete), (60, true));
}

#[tokio::test]
async fn the_same_file_twice_gives_the_same_table_and_the_same_report() {
    let input = format!(
        "{}{}\nbad\n{}",
        rows(40),
        row("u-3", "Renamed"),
        row("u-41", "Last")
    );
    let store = empty_store();

    let first = import(&*store, &input, &ImportOptions::default())
        .await
        .unwrap();
    let table_after_first = store.snapshot();
    let second = import(&*store, &input, &ImportOptions::default())
        .await
        .unwrap();

    assert_eq!(first, second);
    assert_eq!(
        store.snapshot().users().count(),
        table_after_first.users().count()
    );
    for user in table_after_first.users() {
        assert_eq!(store.get(&user.id).await.unwrap().as_deref(), Some(user));
    }
    assert_eq!(
        store
            .get(&UserId::parse("u-3").unwrap())
            .await
            .unwrap()
            .unwrap()
            .name,
        "Renamed"
    );
}

#[tokio::test]
async fn a_run_stopped_at_a_boundary_reports_next_line_and_a_run_from_it_finishes_the_file() {
    let input = format!("{}not json\n\n{}", rows(50), rows(30).replace("u-", "v-"));
    let whole = empty_store();
    let full = import(&*whole, &input, &ImportOptions::default())
        .await
        .unwrap();
    let store = empty_store();

    let partial = import(&*store, &input, &stop_at_boundary(3)).await.unwrap();
    let rest = import(
        &*store,
        &input,
        &ImportOptions::default().from_line(line(51)),
    )
    .await
    .unwrap();

    assert_eq!(
        (
            partial.imported,
            partial.complete,
            partial.next_line,
            partial.rejected_total
        ),
        (50, false, Some(51), 0)
    );
    assert_eq!(
        (rest.imported, rest.complete, rest.next_line),
        (30, true, None)
    );
    assert_eq!(
        rest.rejected,
        [Rejection {
            line: 51,
            code: RejectCode::InvalidJson
        }]
    );
    assert_eq!(partial.imported + rest.imported, full.imported);
    assert_eq!(
        store.snapshot().users().count(),
        whole.snapshot().users().count()
    );
    for user in whole.snapshot().users() {
        assert_eq!(store.get(&user.id).await.unwrap().as_deref(), Some(user));
    }
}

#[tokio::test]
async fn a_passed_deadline_stops_before_the_first_batch_and_nothing_is_written() {
    let store = empty_store();
    let deadline_passed = ImportOptions::default().stop_at(Instant::now());
    let margin_exceeds_whats_left = ImportOptions::default().from_line(line(7)).stop_before(
        SystemTime::now() + Duration::from_secs(1),
        Duration::from_secs(2),
    );

    let stopped = import(&*store, &rows(30), &deadline_passed).await.unwrap();
    let from_7 = import(&*store, &rows(30), &margin_exceeds_whats_left)
        .await
        .unwrap();

    assert_eq!(
        (stopped.imported, stopped.complete, stopped.next_line),
        (0, false, Some(1))
    );
    assert_eq!(
        (from_7.imported, from_7.complete, from_7.next_line),
        (0, false, Some(7))
    );
    assert_eq!(store.snapshot().users().count(), 0);
}

#[tokio::test]
async fn a_deadline_far_away_or_reached_only_at_the_end_still_completes() {
    let store = empty_store();
    let far = ImportOptions::default().stop_before(
        SystemTime::now() + Duration::from_secs(900),
        Duration::from_secs(2),
    );

    let report = import(&*store, &rows(30), &far).await.unwrap();
    // Exactly one batch: the second boundary is the end of the input, so the run is complete.
    let at_end = import(&*store, &rows(25), &stop_at_boundary(2))
        .await
        .unwrap();
    assert_eq!((report.imported, report.complete), (30, true));
    assert_eq!(
        (at_end.imported, at_end.complete, at_end.next_line),
        (25, true, None)
    );
}

#[tokio::test]
async fn a_long_stretch_without_rows_still_reaches_a_boundary() {
    let input = "bad\n".repeat(2 * MAX_BATCH_LINES as usize + 5);
    let store = empty_store();

    let report = import(&*store, &input, &stop_at_boundary(2)).await.unwrap();

    assert_eq!(report.next_line, Some(MAX_BATCH_LINES + 1));
    assert_eq!(report.rejected_total, MAX_BATCH_LINES);
    assert_eq!(report.rejected.len(), MAX_LISTED_REJECTIONS);
}

#[tokio::test]
async fn a_throttled_store_fails_the_import_counting_only_what_was_written() {
    let sent = SentBatches::default();
    let rule = batch_write_item(&sent)
        .sequence()
        .output(|| BatchWriteItemOutput::builder().build())
        .http_status(400, Some(error_body("ThrottlingException")))
        .repeatedly()
        .build();
    let dynamodb = canned_store(&[&rule], Duration::from_secs(1));

    let failure = import(&dynamodb, &rows(60), &ImportOptions::default())
        .await
        .unwrap_err();

    assert!(failure.error.is_transient(), "{failure}");
    assert!(matches!(
        failure.error,
        ImportError::Users(StoreError::Unavailable(_))
    ));
    assert_eq!((failure.imported, failure.next_line), (25, Some(26)));
    assert_eq!(failure.object, SOURCE);
    assert_eq!(
        failure.summary(),
        format!(
            "import of {SOURCE} did not finish: the user store is unavailable \
             (25 rows written; line 26 and later not written)"
        ),
        "the summary names the object and the lines, not the store's detail"
    );
}

#[tokio::test]
async fn a_missing_table_fails_the_import_as_not_transient() {
    let (dynamodb, _) = store_refusing_writes("ResourceNotFoundException");

    let failure = import(&dynamodb, &rows(3), &ImportOptions::default())
        .await
        .unwrap_err();

    assert!(!failure.error.is_transient(), "{failure}");
    assert_eq!((failure.imported, failure.next_line), (0, Some(1)));
}

/// A download that breaks after its first bytes.
struct Broken;

impl AsyncRead for Broken {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        )))
    }
}

#[tokio::test]
async fn a_download_that_breaks_is_a_transient_object_store_failure() {
    let head = rows(30);
    let input = BufReader::new(head.as_bytes().chain(Broken));
    let store = empty_store();

    let failure = import_lines(
        input,
        store.as_ref(),
        SOURCE.into(),
        &ImportOptions::default(),
    )
    .await
    .unwrap_err();

    assert!(
        matches!(
            failure.error,
            ImportError::Objects(ObjectError::Unavailable(_))
        ),
        "{failure}"
    );
    assert_eq!((failure.imported, failure.next_line), (25, Some(26)));
    assert_eq!(store.snapshot().users().count(), 25);
}

fn local_importer() -> (
    Importer,
    LocalObjectStore,
    Arc<WritableMemoryStore>,
    tempfile::TempDir,
) {
    let root = tempfile::tempdir().unwrap();
    let objects = LocalObjectStore::new(root.path());
    let users = empty_store();
    let importer = Importer::new(users.clone(), Arc::new(objects.clone()));
    (importer, objects, users, root)
}

#[tokio::test]
async fn run_imports_and_writes_the_report_beside_the_input() {
    let (importer, objects, users, root) = local_importer();
    let source = ObjectLocation::new("bkt", "imports/2026/a b+ü.jsonl").unwrap();
    objects
        .put_json(&source, format!("{}oops\n", rows(3)).into_bytes())
        .await
        .unwrap();

    let outcome = importer
        .run(&source, &ImportOptions::default())
        .await
        .unwrap();

    let Outcome::Reported { report, location } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(location.key(), "reports/imports/2026/a b+ü.jsonl.json");
    let written = std::fs::read(
        root.path()
            .join("bkt/reports/imports/2026/a b+ü.jsonl.json"),
    )
    .unwrap();
    assert_eq!(written, report.to_json());
    assert_eq!(report.source, "s3://bkt/imports/2026/a b+ü.jsonl");
    assert_eq!(
        (report.imported, report.rejected_total, report.complete),
        (3, 1, true)
    );
    assert_eq!(users.snapshot().users().count(), 3);
}

#[tokio::test]
async fn run_reports_a_missing_object_and_skips_keys_outside_imports() {
    let (importer, objects, _, root) = local_importer();
    let missing = ObjectLocation::new("bkt", "imports/none.jsonl").unwrap();
    let outside = ObjectLocation::new("bkt", "uploads/a.jsonl").unwrap();
    objects
        .put_json(&outside, rows(2).into_bytes())
        .await
        .unwrap();

    let reported = importer
        .run(&missing, &ImportOptions::default())
        .await
        .unwrap();
    let skipped = importer
        .run(&outside, &ImportOptions::default())
        .await
        .unwrap();

    let Outcome::Reported { report, .. } = reported else {
        panic!("{reported:?}");
    };
    assert_eq!(report.error, Some(ReportError::ObjectNotFound));
    assert!(
        root.path()
            .join("bkt/reports/imports/none.jsonl.json")
            .is_file()
    );
    assert_eq!(skipped, Outcome::Skipped);
    assert!(!root.path().join("bkt/reports/uploads").exists());
}

#[test]
fn a_multi_object_answer_names_each_object_its_report_and_what_is_left() {
    let source = ObjectLocation::parse_uri(SOURCE).unwrap();
    let mut report = ImportReport::object_not_found(SOURCE.to_owned());
    report.complete = false;
    report.next_line = Some(26);
    let reported = Outcome::Reported {
        location: source.report_location(NonZeroU64::MIN).unwrap(),
        report,
    };
    let outside = ObjectLocation::parse_uri("s3://bkt/elsewhere/users.jsonl").unwrap();
    let summary = ImportSummary {
        records: vec![
            reported.summary(&source),
            ObjectSummary::not_started(&source),
            Outcome::Skipped.summary(&outside),
            ObjectSummary::refused(&InvalidLocation::KeyControl),
        ],
    };

    assert_eq!(
        serde_json::to_string(&summary).unwrap(),
        concat!(
            r#"{"records":[{"complete":false,"nextLine":26,"object":"s3://bkt/imports/users.jsonl","#,
            r#""report":"s3://bkt/reports/imports/users.jsonl.json"},"#,
            r#"{"complete":false,"nextLine":1,"object":"s3://bkt/imports/users.jsonl","report":null},"#,
            r#"{"object":"s3://bkt/elsewhere/users.jsonl","skipped":true},"#,
            r#"{"object":null,"error":"an object key to import has no control characters (such as a line break)"}]}"#
        )
    );
}

#[tokio::test]
async fn what_no_user_directory_should_hold_is_refused_and_names_are_stored_in_nfc() {
    let at = "2024-01-15T09:30:00Z";
    let user = |id: &str, name: &str, email: &str| {
        serde_json::to_string(&json!({"id": id, "name": name, "email": email, "createdAt": at}))
            .unwrap()
    };
    let input = [
        user("u-1", "Ada\0Lovelace", "ada@example.com"),
        user("u-2", "\u{1b}[2J\u{1b}[HAdmin", "ada@example.com"),
        user("u-3", "\u{202e}ecalevoL adA", "ada@example.com"),
        user("u-4", "\u{200b}", "ada@example.com"),
        user("u-5", "Ada", "a b\n@c"),
        user("u-6", "Ada", "ada@localhost"),
        format!(
            r#"{{"id":"x","id":"u-7","name":"Ada","email":"ada@example.com","createdAt":"{at}"}}"#
        ),
        user("u-8", "Ame\u{301}lie", "amelie@example.com"),
    ]
    .join("\n");
    let store = empty_store();

    let report = import(&*store, &input, &ImportOptions::default())
        .await
        .unwrap();

    let codes: Vec<(u64, RejectCode)> = report.rejected.iter().map(|r| (r.line, r.code)).collect();
    assert_eq!(
        codes,
        [
            (1, RejectCode::InvalidName),
            (2, RejectCode::InvalidName),
            (3, RejectCode::InvalidName),
            (4, RejectCode::InvalidName),
            (5, RejectCode::InvalidEmail),
            (6, RejectCode::InvalidEmail),
            (7, RejectCode::DuplicateKey),
        ]
    );
    assert_eq!(report.imported, 1);
    let stored = UserService::new(store.clone())
        .get_user("u-8")
        .await
        .unwrap();
    assert_eq!(stored.name, "Am\u{e9}lie", "stored in NFC");
    assert_eq!(store.snapshot().users().count(), 1, "neither x nor u-7");
}

/// An object store that counts what it is asked to do.
#[derive(Default)]
struct CountingObjects {
    inner: Option<LocalObjectStore>,
    opened: AtomicUsize,
    put: std::sync::Mutex<Vec<(String, Vec<u8>)>>,
}

#[async_trait::async_trait]
impl ObjectStore for CountingObjects {
    async fn open(
        &self,
        location: &ObjectLocation,
    ) -> Result<Option<crate::objects::ObjectReader>, ObjectError> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        match &self.inner {
            Some(inner) => inner.open(location).await,
            None => Ok(None),
        }
    }

    async fn put_json(&self, location: &ObjectLocation, json: Vec<u8>) -> Result<(), ObjectError> {
        self.put
            .lock()
            .unwrap()
            .push((location.key().to_owned(), json.clone()));
        match &self.inner {
            Some(inner) => inner.put_json(location, json).await,
            None => Ok(()),
        }
    }
}

fn sources(keys: &[&str]) -> Vec<Result<ObjectLocation, InvalidLocation>> {
    keys.iter()
        .map(|key| ObjectLocation::new("bkt", *key))
        .collect()
}

#[tokio::test]
async fn once_the_deadline_has_passed_no_further_object_is_read_or_reported() {
    let objects = Arc::new(CountingObjects::default());
    let importer = Importer::new(empty_store(), objects.clone());
    // The deadline passes after the first object's first check: its object is missing (reported),
    // the next two are neither read nor reported, missing or not.
    let checks = AtomicUsize::new(0);
    let options =
        ImportOptions::default().stop_when(move || checks.fetch_add(1, Ordering::SeqCst) >= 1);

    let summary = importer
        .run_all(
            &sources(&["imports/a.jsonl", "imports/b.jsonl", "imports/c.jsonl"]),
            &options,
        )
        .await
        .unwrap();

    assert_eq!(objects.opened.load(Ordering::SeqCst), 1, "one GetObject");
    let put = objects.put.lock().unwrap();
    assert_eq!(put.len(), 1, "one report: {put:?}");
    assert_eq!(
        serde_json::to_value(&summary).unwrap()["records"],
        json!([
            {"complete": false, "nextLine": null, "object": "s3://bkt/imports/a.jsonl",
             "report": "s3://bkt/reports/imports/a.jsonl.json"},
            {"complete": false, "nextLine": 1, "object": "s3://bkt/imports/b.jsonl", "report": null},
            {"complete": false, "nextLine": 1, "object": "s3://bkt/imports/c.jsonl", "report": null},
        ])
    );
}

#[tokio::test]
async fn an_object_named_twice_is_imported_and_reported_once_and_keeps_its_complete_report() {
    let root = tempfile::tempdir().unwrap();
    let local = LocalObjectStore::new(root.path());
    let source = ObjectLocation::new("bkt", "imports/a.jsonl").unwrap();
    local
        .put_json(&source, rows(30).into_bytes())
        .await
        .unwrap();
    let objects = Arc::new(CountingObjects {
        inner: Some(local),
        ..CountingObjects::default()
    });
    let importer = Importer::new(empty_store(), objects.clone());
    // The deadline passes once the first import is done: a second import of the same key would
    // stop at once and write a stale report over the complete one.
    let checks = Arc::new(AtomicUsize::new(0));
    let seen = checks.clone();
    let options =
        ImportOptions::default().stop_when(move || seen.fetch_add(1, Ordering::SeqCst) >= 3);

    let summary = importer
        .run_all(&sources(&["imports/a.jsonl", "imports/a.jsonl"]), &options)
        .await
        .unwrap();

    let put = objects.put.lock().unwrap();
    assert_eq!(put.len(), 1, "one report for the key: {put:?}");
    let report: ImportReport = serde_json::from_slice(
        &std::fs::read(root.path().join("bkt/reports/imports/a.jsonl.json")).unwrap(),
    )
    .unwrap();
    assert_eq!((report.imported, report.complete), (30, true));
    assert_eq!(summary.records[0], summary.records[1]);
    assert_eq!(objects.opened.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_key_too_long_for_its_report_is_refused_saying_so_and_nothing_is_read() {
    let objects = Arc::new(CountingObjects::default());
    let importer = Importer::new(empty_store(), objects.clone());
    let key = format!("imports/{}", "k".repeat(1015 - 8));

    let summary = importer
        .run_all(&sources(&[&key]), &ImportOptions::default())
        .await
        .unwrap();

    let ObjectSummary::Refused { object, error } = &summary.records[0] else {
        panic!("{summary:?}");
    };
    assert_eq!(object.as_deref(), Some(format!("s3://bkt/{key}").as_str()));
    assert!(error.contains("1015 bytes"), "{error}");
    assert!(error.contains("at most 1011 bytes"), "{error}");
    assert!(!error.contains("not under imports/"), "{error}");
    assert_eq!(objects.opened.load(Ordering::SeqCst), 0);
    assert!(objects.put.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_run_from_a_later_line_reports_beside_the_first_part_and_leaves_its_report() {
    let (importer, objects, _, root) = local_importer();
    let source = ObjectLocation::new("bkt", "imports/a.jsonl").unwrap();
    let input = format!("bad\n{}bad\n{}", rows(30), rows(10).replace("u-", "v-"));
    objects.put_json(&source, input.into_bytes()).await.unwrap();
    let first = importer
        .import(&source, &stop_at_boundary(2))
        .await
        .unwrap();
    importer
        .objects
        .put_json(
            &source.report_location(NonZeroU64::MIN).unwrap(),
            first.to_json(),
        )
        .await
        .unwrap();
    let next = line(first.next_line.expect("the first part stopped early"));

    let outcome = importer
        .run(&source, &ImportOptions::default().from_line(next))
        .await
        .unwrap();

    let Outcome::Reported { report, location } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        location.key(),
        format!("reports/from-line-{next}/imports/a.jsonl.json")
    );
    let read = |key: &str| -> ImportReport {
        serde_json::from_slice(&std::fs::read(root.path().join("bkt").join(key)).unwrap()).unwrap()
    };
    assert_eq!(
        read("reports/imports/a.jsonl.json"),
        first,
        "the first part's report stays"
    );
    assert_eq!(read(location.key()), report);
    let lines: Vec<u64> = first
        .rejected
        .iter()
        .chain(&report.rejected)
        .map(|r| r.line)
        .collect();
    assert_eq!(
        lines,
        [1, 32],
        "together the two reports list every rejected line"
    );
    assert_eq!(first.imported + report.imported, 40);
}
