//! `import-fn`'s front door: S3 event notifications in, `app_core::import` for each record.
//!
//! What is Lambda's here, and adapted before the import sees it:
//! - The event: every record of an `aws_lambda_events` S3 event, in order; each object key arrives
//!   URL-encoded (`+` for a space) and is decoded by `ObjectLocation::from_event`.
//! - The deadline: the invocation's, less `IMPORT_DEADLINE_MARGIN_MS`. The import stops at a batch
//!   boundary past it and reports `complete: false` with `nextLine`; records after it are not
//!   started; the invocation succeeds.
//! - Failure: a store that fails (S3 or DynamoDB) fails the invocation, so that Lambda's
//!   asynchronous retries and then the on-failure destination take over. The error response carries
//!   `ImportFailure::summary` (no store detail); the log has the detail.
//!
//! Keys outside `imports/` are logged and skipped (no report), so that a trigger set too broadly
//! cannot loop on its own reports.

use std::time::Duration;

use app_core::http::InvocationTrace;
use app_core::import::{ImportOptions, ImportSummary, Importer};
use app_core::objects::{InvalidLocation, ObjectLocation};
use app_core::startup::{self, StartupError};
use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};

/// The `errorType` of an invocation that failed because a store did.
pub const IMPORT_FAILED: &str = "ImportFailed";

/// Starts `import-fn` from the environment (during Lambda's init phase) and handles S3 events until
/// the runtime stops it.
pub async fn run() -> Result<(), StartupError> {
    let (importer, config) = startup::init_import(crate::transport::transport()).await?;
    let handler = ImportHandler::new(importer, config.deadline_margin);
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event| handler.handle(event)))
        .await
        .map_err(StartupError::runtime)
}

/// What the runtime invokes for each S3 event.
#[derive(Debug, Clone)]
pub struct ImportHandler {
    importer: Importer,
    deadline_margin: Duration,
}

impl ImportHandler {
    /// Imports with `importer`, stopping when less than `deadline_margin` of an invocation remains.
    pub fn new(importer: Importer, deadline_margin: Duration) -> Self {
        Self {
            importer,
            deadline_margin,
        }
    }

    /// Imports the object of each record in turn (`Importer::run_all`: the deadline checked before
    /// each, each object once). The answer lists, per record, the object and its report's location
    /// and completeness, or that it was not started, skipped or refused. The first failing store
    /// ends the invocation with an `ImportFailed` error; a retry imports every record again, which
    /// gives the same table and the same reports.
    pub async fn handle(&self, event: LambdaEvent<S3Event>) -> Result<ImportSummary, Diagnostic> {
        let (event, context) = event.into_parts();
        let deadline = context.deadline();
        let remaining = deadline
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        tracing::info!(
            records = event.records.len(),
            remaining_ms = remaining.as_millis() as u64,
            deadline_ms = context.deadline,
            margin_ms = self.deadline_margin.as_millis() as u64,
            "S3 event"
        );
        let options = ImportOptions::default()
            .stop_before(deadline, self.deadline_margin)
            .in_invocation_trace(InvocationTrace::from_context(
                context.xray_trace_id.as_deref(),
            ));
        let sources: Vec<_> = event.records.iter().map(location).collect();
        let imported = self
            .importer
            .run_all(&sources, &options)
            .await
            .map_err(|failure| {
                tracing::error!(
                    error = %failure,
                    transient = failure.error.is_transient(),
                    "import failed: the invocation fails, for Lambda to retry it"
                );
                Diagnostic {
                    error_type: IMPORT_FAILED.to_owned(),
                    error_message: failure.summary(),
                }
            });
        // The invocation's spans leave before its answer: the environment may freeze afterwards.
        app_core::telemetry::traces::flush().await;
        imported
    }
}

/// The object a record names, or why it names none that can be imported (logged): S3 always sends
/// a bucket and a URL-encoded key, so only a hand-made event lacks them; a key with a control
/// character is refused. `bucket` and `key` are logged as `&str` fields, which the log formats
/// write quoted and escaped.
fn location(record: &S3EventRecord) -> Result<ObjectLocation, InvalidLocation> {
    let bucket = record.s3.bucket.name.as_deref().unwrap_or_default();
    let key = record.s3.object.key.as_deref().unwrap_or_default();
    ObjectLocation::from_event(bucket, key).inspect_err(|err| {
        tracing::warn!(bucket, key, error = %err, "the record names no object to import: refused");
    })
}
