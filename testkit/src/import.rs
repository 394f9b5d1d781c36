//! The import's two front doors under test: `import-fn`'s handler fed S3 events built from the real
//! fixture (`tests/fixtures/events/s3-put.json`) the way the Lambda runtime feeds it, and the real
//! `import-job` binary as a process (exit status, stdout, stderr, peak memory). Plus JSON Lines files
//! to import.

use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, SystemTime};

use lambda_fn::import::ImportHandler;
use lambda_http::{Context, LambdaEvent};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};

use crate::cargo_env;
use crate::logs::LogBuffer;
use crate::paths::target_dir;
use crate::process::Supervised;
use crate::procfs;

/// The S3 event notification fixture: one `ObjectCreated:Put` record, as S3 sends it.
pub const S3_PUT: &str = include_str!("../../tests/fixtures/events/s3-put.json");

/// How long an `import-job` run may take before the test fails.
const JOB_LIMIT: Duration = Duration::from_secs(120);

/// `key` encoded as S3 encodes keys in event notifications: `+` for a space, `%XX` for bytes other
/// than letters, digits and `- _ . * /`.
pub fn event_key(key: &str) -> String {
    let mut encoded = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b' ' => encoded.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                encoded.push(byte as char)
            }
            _ => write!(encoded, "%{byte:02X}").expect("writing to a String"),
        }
    }
    encoded
}

/// The S3 event for objects `(bucket, key)` (keys as stored; encoded here), one record each in
/// the fixture's shape, as JSON.
pub fn s3_event(objects: &[(&str, &str)]) -> Value {
    let fixture: Value = serde_json::from_str(S3_PUT).expect("the S3 fixture is JSON");
    let template = fixture["Records"][0].clone();
    let records: Vec<Value> = objects
        .iter()
        .enumerate()
        .map(|(n, (bucket, key))| {
            let mut record = template.clone();
            record["s3"]["bucket"]["name"] = json!(bucket);
            record["s3"]["bucket"]["arn"] = json!(format!("arn:aws:s3:::{bucket}"));
            record["s3"]["object"]["key"] = json!(event_key(key));
            record["s3"]["object"]["sequencer"] = json!(format!("0055AED6DCD9028{n:03X}"));
            record
        })
        .collect();
    json!({ "Records": records })
}

/// Invokes `handler` with `event` (JSON, deserialised into `aws_lambda_events`' `S3Event` from its
/// bytes, as the runtime does) in an invocation whose deadline is `deadline`; the answer as the JSON
/// the runtime would send.
pub async fn invoke(
    handler: &ImportHandler,
    event: &Value,
    deadline: SystemTime,
) -> Result<Value, Diagnostic> {
    invoke_traced(handler, event, deadline, None).await
}

/// Like [`invoke`], in an invocation whose runtime context carries the X-Ray trace header `xray`
/// (`Lambda-Runtime-Trace-Id`), if any.
pub async fn invoke_traced(
    handler: &ImportHandler,
    event: &Value,
    deadline: SystemTime,
    xray: Option<&str>,
) -> Result<Value, Diagnostic> {
    let bytes = serde_json::to_vec(event).expect("the event is JSON");
    let payload = serde_json::from_slice(&bytes).expect("aws_lambda_events reads the S3 event");
    let mut context = Context::default();
    context.request_id = "import-invocation".to_owned();
    context.xray_trace_id = xray.map(str::to_owned);
    context.deadline = deadline
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("a deadline after 1970")
        .as_millis() as u64;
    let answer = handler.handle(LambdaEvent::new(payload, context)).await?;
    Ok(serde_json::to_value(answer).expect("the answer is JSON, as the runtime sends it"))
}

/// Like [`invoke`], with the log lines the handler wrote meanwhile, in the binaries' text format.
/// The lines are read on this thread: the handler must run on it, as it does when awaited directly
/// from a test's body.
pub async fn invoke_logged(
    handler: &ImportHandler,
    event: &Value,
    deadline: SystemTime,
) -> (Result<Value, Diagnostic>, Vec<String>) {
    let logs = LogBuffer::default();
    let guard = logs.capture_on_this_thread();
    let answer = invoke(handler, event, deadline).await;
    drop(guard);
    (answer, logs.lines())
}

/// `n` valid JSON Lines users, ids `PREFIX-1` to `PREFIX-n`, each line padded to about 100 bytes.
pub fn valid_rows(prefix: &str, n: u64) -> String {
    let mut file = String::with_capacity(n as usize * 110);
    for i in 1..=n {
        writeln!(
            file,
            r#"{{"id":"{prefix}-{i}","name":"User {i:07}","email":"user{i}@example.com","createdAt":"2024-01-15T09:30:00Z"}}"#
        )
        .expect("writing to a String");
    }
    file
}

/// `target/debug/import-job`, the code under test (see [`cargo_env::build_binary`]). Panics if the
/// build fails.
pub fn import_job_binary() -> PathBuf {
    cargo_env::build_binary("import-job")
}

/// How an `import-job` run ended.
#[derive(Debug)]
pub struct JobRun {
    /// Its exit status.
    pub status: ExitStatus,
    /// What it printed on stdout (the report).
    pub stdout: String,
    /// What it printed on stderr (its log and, on failure, its last line).
    pub stderr: String,
    /// Its peak resident memory in KiB (`VmHWM`, read while it ran).
    pub peak_rss_kib: u64,
}

impl JobRun {
    /// The exit code (`None` if a signal ended it).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The report it printed, parsed. Panics if stdout is not one JSON document.
    pub fn report(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|err| panic!("import-job printed no report ({err}): {self:?}"))
    }
}

/// Runs `import-job ARGS` ([`import_job_binary`]) with only `envs` in its environment, to its end
/// (at most two minutes).
pub fn run_import_job(args: &[&str], envs: &[(&'static str, String)]) -> JobRun {
    run_job(&import_job_binary(), args, envs)
}

/// Runs the `import-job` binary at `binary` as [`run_import_job`] does (for callers that built it).
pub fn run_job(binary: &std::path::Path, args: &[&str], envs: &[(&'static str, String)]) -> JobRun {
    let dir = target_dir().join("import-job");
    std::fs::create_dir_all(&dir).expect("target/import-job can be created");
    // Unnamed files the system removes when the last handle closes, even if this test panics.
    let output_file = || tempfile::tempfile_in(&dir).expect("a file in target/import-job");
    let (mut stdout_file, mut stderr_file) = (output_file(), output_file());
    let to_child = |file: &std::fs::File| file.try_clone().expect("a file handle can be cloned");
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_clear()
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(to_child(&stdout_file))
        .stderr(to_child(&stderr_file));
    let mut process = Supervised::spawn(&mut command).expect("import-job starts");
    let started = std::time::Instant::now();
    let mut peak_rss_kib = 0;
    let status = loop {
        if let Some(kib) = procfs::peak_rss_kib(process.pid()) {
            peak_rss_kib = peak_rss_kib.max(kib);
        }
        if let Some(status) = process.try_wait().expect("import-job can be waited for") {
            break status;
        }
        assert!(
            started.elapsed() < JOB_LIMIT,
            "import-job {args:?} did not end within {JOB_LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let read = |file: &mut std::fs::File| {
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))
            .expect("the output file can be rewound");
        file.read_to_end(&mut bytes)
            .expect("the output file can be read");
        String::from_utf8_lossy(&bytes).into_owned()
    };
    JobRun {
        status,
        stdout: read(&mut stdout_file),
        stderr: read(&mut stderr_file),
        peak_rss_kib,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_as_s3_encodes_them_and_decoded_back() {
        let key = "imports/2026/new users + more ü.jsonl";
        let encoded = event_key(key);

        assert_eq!(encoded, "imports/2026/new+users+%2B+more+%C3%BC.jsonl");
        let decoded = app_core::objects::ObjectLocation::from_event("bkt", &encoded).unwrap();
        assert_eq!(decoded.key(), key);
    }
}
