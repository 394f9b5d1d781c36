//! The import use case: a JSON Lines file of users, read as a stream, validated line by line, written
//! 25 rows a request, with a report of what was written and what was refused.
//!
//! - [`Importer::run`]: what the front doors call for one object: import it, then write its report
//!   beside it (`imports/…` → `reports/imports/….json`; a run from a later line N, its own report
//!   at `reports/from-line-N/imports/….json`); any other key is skipped.
//! - [`Importer::run_all`]: the objects of several records (an S3 event), each once, the deadline
//!   checked before each.
//! - [`import_lines`]: the import of any byte stream into any [`UserWriter`] (a local file into the
//!   embedded store needs no AWS at all).
//! - [`ImportOptions`]: where to start (`--from-line`) and when to stop (a Lambda deadline).
//!
//! A line that breaks a rule is reported and never stops the import. A store or S3 that fails is an
//! [`ImportFailure`], not a report: the caller fails (Lambda retries, the Job exits 1), and the rows
//! written so far are not counted as a report would count them. Writing rows is idempotent (a put per
//! id), so running the same file again, or from the line a run stopped at, gives the same table.

mod config;
mod lines;
mod report;
mod row;

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use thiserror::Error;
use tokio::io::AsyncBufRead;

pub use self::config::ImportConfig;
pub use self::lines::{Line, LineReader, MAX_LINE_BYTES};
pub use self::report::{ImportReport, MAX_LISTED_REJECTIONS, RejectCode, Rejection, ReportError};
use self::row::{Verdict, judge};
use tracing::Instrument;

use crate::http::InvocationTrace;
use crate::telemetry::traces::record_outcome;

use crate::objects::{InvalidLocation, NoReport, ObjectError, ObjectLocation, ObjectStore};
use crate::store::{StoreError, UserBatch, UserWriter};

/// A batch also ends after this many lines, so that a long stretch of rejected or blank lines still
/// reaches a batch boundary, where the deadline is checked.
pub const MAX_BATCH_LINES: u64 = 1_000;

/// How long a read of the input may bring no byte before the import fails as unavailable.
pub const READ_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where an import starts and when it stops early.
pub struct ImportOptions {
    from_line: NonZeroU64,
    should_stop: Option<Box<dyn Fn() -> bool + Send + Sync>>,
    invocation_trace: Option<InvocationTrace>,
}

impl Default for ImportOptions {
    /// From line 1 to the end, with no deadline.
    fn default() -> Self {
        Self {
            from_line: NonZeroU64::MIN,
            should_stop: None,
            invocation_trace: None,
        }
    }
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("from_line", &self.from_line)
            .field("has_deadline", &self.should_stop.is_some())
            .finish()
    }
}

impl ImportOptions {
    /// Each object's `import` span joins `trace`, the invocation's X-Ray trace (as a Lambda front
    /// door's request span does, see `http::trace_context`); with `None` each starts a trace.
    pub fn in_invocation_trace(mut self, trace: Option<InvocationTrace>) -> Self {
        self.invocation_trace = trace;
        self
    }

    /// Lines before `line` are read through and neither imported nor reported (`--from-line`); the
    /// report of a run from a later line is written beside the first part's, not over it.
    pub fn from_line(mut self, line: NonZeroU64) -> Self {
        self.from_line = line;
        self
    }

    /// Stops at the first batch boundary at or after `deadline`.
    pub fn stop_at(self, deadline: Instant) -> Self {
        self.stop_when(move || Instant::now() >= deadline)
    }

    /// Stops at the first batch boundary once less than `margin` remains before `deadline` (a Lambda
    /// invocation's deadline, with `IMPORT_DEADLINE_MARGIN_MS`).
    pub fn stop_before(self, deadline: SystemTime, margin: Duration) -> Self {
        let left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(margin);
        self.stop_at(Instant::now() + left)
    }

    /// Stops at the first batch boundary where `should_stop` returns true (asked once per boundary,
    /// and by [`Importer::run_all`] once before each object).
    pub fn stop_when(mut self, should_stop: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.should_stop = Some(Box::new(should_stop));
        self
    }

    fn should_stop(&self) -> bool {
        self.should_stop.as_ref().is_some_and(|stop| stop())
    }
}

/// Which part failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    /// Writing users failed.
    #[error("the user store failed: {0}")]
    Users(StoreError),
    /// Reading the input or writing the report failed.
    #[error("the object store failed: {0}")]
    Objects(ObjectError),
}

impl ImportError {
    /// True when trying again later may succeed (timeouts, throttling, a store that is down); false for
    /// a missing table or bucket, refused credentials.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Users(err) => err.is_transient(),
            Self::Objects(err) => err.is_transient(),
        }
    }
}

impl ImportError {
    /// What failed, without the store's detail: `the user store is unavailable`, `the object store
    /// failed`, ...
    pub fn summary(&self) -> &'static str {
        match self {
            Self::Users(StoreError::Unavailable(_)) => "the user store is unavailable",
            Self::Users(StoreError::Failed(_)) => "the user store failed",
            Self::Objects(ObjectError::Unavailable(_)) => "the object store is unavailable",
            Self::Objects(ObjectError::Failed(_)) => "the object store failed",
        }
    }
}

/// An import that could not finish because a store failed. Its text is for logs (it carries store
/// details), never for a report or a response: [`ImportFailure::summary`] is the line without them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("import of {object} failed: {error} ({imported} rows written before{})",
    .next_line.map(|line| format!("; line {line} and later not written")).unwrap_or_default())]
pub struct ImportFailure {
    /// What failed.
    pub error: ImportError,
    /// The input, `s3://BUCKET/KEY`.
    pub object: String,
    /// Rows known to be written before the failure.
    pub imported: u64,
    /// The first line whose row may not be written; `None` when every row was (the report was not).
    pub next_line: Option<u64>,
}

impl ImportFailure {
    /// One line without the store's detail, for an error that leaves the process (a Lambda
    /// invocation's error response, a Job's last line): `import of s3://b/imports/a.jsonl did not
    /// finish: the user store is unavailable (75 rows written; line 101 and later not written)`.
    pub fn summary(&self) -> String {
        let not_written = self
            .next_line
            .map(|line| format!("; line {line} and later not written"))
            .unwrap_or_else(|| "; the report was not written".to_owned());
        format!(
            "import of {} did not finish: {} ({} rows written{not_written})",
            self.object,
            self.error.summary(),
            self.imported
        )
    }
}

/// What [`Importer::run`] did with an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The object was imported (or found missing) and the report written at `location`.
    Reported {
        /// The report.
        report: ImportReport,
        /// Where it was written.
        location: ObjectLocation,
    },
    /// The key is outside `imports/`: nothing was read or written.
    Skipped,
    /// The key is under `imports/` but has no report location (too long): nothing was read or
    /// written, and the reason says why.
    Refused(NoReport),
}

impl Outcome {
    /// What this outcome for `source` comes to in the answer of a front door that imports several
    /// objects at once (`import-fn` answers one per S3 record).
    pub fn summary(&self, source: &ObjectLocation) -> ObjectSummary {
        match self {
            Self::Reported { report, location } => ObjectSummary::Reported {
                complete: report.complete,
                next_line: report.next_line,
                object: source.to_string(),
                report: location.to_string(),
            },
            Self::Skipped => ObjectSummary::Skipped {
                object: source.to_string(),
                skipped: true,
            },
            Self::Refused(reason) => ObjectSummary::Refused {
                object: Some(source.to_string()),
                error: reason.to_string(),
            },
        }
    }
}

/// One object's line in a multi-object answer:
/// - `{"complete", "nextLine", "object", "report"}` when it was imported and reported;
/// - `{"complete": false, "nextLine": 1, "object", "report": null}` when the deadline had passed
///   before its turn: nothing was read or written;
/// - `{"object", "skipped": true}` for a key outside `imports/`;
/// - `{"object", "error"}` when it cannot be imported (`object` is `null` when the record names no
///   object that can be: no bucket or key, or a key with a control character).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ObjectSummary {
    /// Imported, and the report written.
    Reported {
        /// Whether the whole object was read.
        complete: bool,
        /// Where a resumed import starts, when not complete.
        #[serde(rename = "nextLine")]
        next_line: Option<u64>,
        /// The object, as `s3://BUCKET/KEY`.
        object: String,
        /// Where its report is.
        report: String,
    },
    /// Not started: the deadline had passed before its turn.
    NotStarted {
        /// Always `false`.
        complete: bool,
        /// Always 1: `import-job` imports it whole.
        #[serde(rename = "nextLine")]
        next_line: u64,
        /// The object, as `s3://BUCKET/KEY`.
        object: String,
        /// Always `null`: no report was written.
        report: Option<String>,
    },
    /// Outside `imports/`: nothing read or written.
    Skipped {
        /// The object.
        object: String,
        /// Always `true`.
        skipped: bool,
    },
    /// Cannot be imported: nothing read or written.
    Refused {
        /// The object, if the record names one that can be written down.
        object: Option<String>,
        /// Why, in one sentence.
        error: String,
    },
}

/// The answer of a front door that imports several objects at once: `{"records": [...]}`, one
/// [`ObjectSummary`] per object, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// One line per object.
    pub records: Vec<ObjectSummary>,
}

impl ObjectSummary {
    /// The line for an event record that names no object that can be imported.
    pub fn refused(reason: &InvalidLocation) -> Self {
        Self::Refused {
            object: None,
            error: reason.to_string(),
        }
    }

    fn not_started(source: &ObjectLocation) -> Self {
        Self::NotStarted {
            complete: false,
            next_line: 1,
            object: source.to_string(),
            report: None,
        }
    }
}

/// Imports objects into the user store and writes their reports. Cheap to clone.
#[derive(Clone)]
pub struct Importer {
    users: Arc<dyn UserWriter>,
    objects: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer").finish_non_exhaustive()
    }
}

impl Importer {
    /// An importer writing users to `users`, reading inputs from and writing reports to `objects`.
    pub fn new(users: Arc<dyn UserWriter>, objects: Arc<dyn ObjectStore>) -> Self {
        Self { users, objects }
    }

    /// Imports the objects of several records in turn (`import-fn`'s S3 event) and answers one
    /// [`ObjectSummary`] per record, in order. Before each record the deadline of `options` is
    /// checked: once it has passed, the remaining objects are not started (no read, no report). An
    /// object named again in the same call is imported once: the later record repeats the earlier
    /// one's summary, and its report is never overwritten by a later, stale one. The first failing
    /// store ends the call.
    pub async fn run_all(
        &self,
        sources: &[Result<ObjectLocation, InvalidLocation>],
        options: &ImportOptions,
    ) -> Result<ImportSummary, ImportFailure> {
        let mut done: HashMap<&ObjectLocation, ObjectSummary> = HashMap::new();
        let mut records = Vec::with_capacity(sources.len());
        for source in sources {
            let source = match source {
                Ok(source) => source,
                Err(invalid) => {
                    records.push(ObjectSummary::refused(invalid));
                    continue;
                }
            };
            if let Some(earlier) = done.get(source) {
                tracing::info!(object = %source, "named again in this event: imported once");
                records.push(earlier.clone());
                continue;
            }
            let summary = if options.should_stop() {
                tracing::warn!(object = %source, "the deadline passed before this object: not started");
                ObjectSummary::not_started(source)
            } else {
                self.run(source, options).await?.summary(source)
            };
            done.insert(source, summary.clone());
            records.push(summary);
        }
        Ok(ImportSummary { records })
    }

    /// Imports `source` and writes the report to [`ObjectLocation::report_location`] (for the
    /// starting line of `options`); a key outside `imports/` is logged and skipped, a key too long
    /// for its report is logged and refused. A missing object gets a report with `OBJECT_NOT_FOUND`.
    ///
    /// With traces exported, the run is an `import` span (the object's bucket and key; the rows
    /// imported and whether it completed), parent of the object read, each batch write and the
    /// report's write.
    pub async fn run(
        &self,
        source: &ObjectLocation,
        options: &ImportOptions,
    ) -> Result<Outcome, ImportFailure> {
        let parent = options.invocation_trace.as_ref().and_then(|t| t.parent());
        let span =
            crate::telemetry::traces::start_trace(parent.as_ref(), || import_span(source)).span;
        let outcome = self
            .run_untraced(source, options)
            .instrument(span.clone())
            .await;
        if let Ok(Outcome::Reported { report, .. }) = &outcome {
            span.record("import.imported", report.imported);
            span.record("import.complete", report.complete);
        }
        record_outcome(&span, &outcome, |failure| failure.error.is_transient());
        outcome
    }

    async fn run_untraced(
        &self,
        source: &ObjectLocation,
        options: &ImportOptions,
    ) -> Result<Outcome, ImportFailure> {
        let location = match source.report_location(options.from_line) {
            Ok(location) => location,
            Err(NoReport::NotAnImport) => {
                tracing::info!(object = %source, "not under imports/: skipped");
                return Ok(Outcome::Skipped);
            }
            Err(reason) => {
                tracing::warn!(object = %source, error = %reason, "not imported");
                return Ok(Outcome::Refused(reason));
            }
        };
        let report = self.import(source, options).await?;
        self.objects
            .put_json(&location, report.to_json())
            .await
            .map_err(|err| ImportFailure {
                error: ImportError::Objects(err),
                object: source.to_string(),
                imported: report.imported,
                next_line: None,
            })?;
        tracing::info!(
            object = %source,
            report = %location,
            imported = report.imported,
            rejected = report.rejected_total,
            complete = report.complete,
            next_line = report.next_line,
            "import reported"
        );
        Ok(Outcome::Reported { report, location })
    }

    /// Imports `source` without writing a report.
    pub async fn import(
        &self,
        source: &ObjectLocation,
        options: &ImportOptions,
    ) -> Result<ImportReport, ImportFailure> {
        match self.objects.open(source).await {
            Ok(Some(reader)) => {
                import_lines(reader, self.users.as_ref(), source.to_string(), options).await
            }
            Ok(None) => Ok(ImportReport::object_not_found(source.to_string())),
            Err(err) => Err(ImportFailure {
                error: ImportError::Objects(err),
                object: source.to_string(),
                imported: 0,
                next_line: Some(options.from_line.get()),
            }),
        }
    }
}

/// Imports the JSON Lines in `input` into `users`; `source` names the input in the report.
///
/// Lines are numbered from 1; blank lines are skipped; each other line is a row or a rejection.
/// Rows are written [`UserBatch::CAPACITY`] at a time (duplicate ids within a request merged, the later
/// row winning). Between batches (also after [`MAX_BATCH_LINES`] lines without a full batch) `options`
/// may stop the run: the report then says `complete: false` and `nextLine`.
pub async fn import_lines<R: AsyncBufRead + Unpin>(
    input: R,
    users: &dyn UserWriter,
    source: String,
    options: &ImportOptions,
) -> Result<ImportReport, ImportFailure> {
    let mut report = ImportReport::started(source);
    let mut lines = LineReader::new(input, READ_IDLE_TIMEOUT);
    let failure = |error, report: &ImportReport, next_line: u64| ImportFailure {
        error,
        object: report.source.clone(),
        imported: report.imported,
        next_line: Some(next_line),
    };
    let unreadable = |err: std::io::Error| {
        ImportError::Objects(ObjectError::Unavailable(format!(
            "reading the object: {err}"
        )))
    };

    while lines.next_number() < options.from_line.get() {
        let skipped = lines.skip_line().await;
        if !skipped.map_err(|err| failure(unreadable(err), &report, lines.next_number()))? {
            break;
        }
    }
    let mut batch = UserBatch::new();
    loop {
        let first_line = lines.next_number();
        let at_end = lines.at_end().await;
        if at_end.map_err(|err| failure(unreadable(err), &report, first_line))? {
            break;
        }
        if options.should_stop() {
            report.next_line = Some(first_line);
            return Ok(report);
        }
        let mut rows = 0;
        let mut read = 0;
        while rows < UserBatch::CAPACITY && read < MAX_BATCH_LINES {
            let next = lines.next_line().await;
            let Some((number, line)) =
                next.map_err(|err| failure(unreadable(err), &report, first_line))?
            else {
                break;
            };
            read += 1;
            let verdict = match line {
                Line::Text(text) => judge(text),
                Line::TooLong => Verdict::Rejected(RejectCode::LineTooLong),
            };
            match verdict {
                Verdict::Blank => {}
                Verdict::Rejected(code) => report.reject(number, code),
                Verdict::Row(user) => {
                    // Fewer rows than the capacity means fewer distinct ids: the push cannot fail.
                    batch
                        .push(user)
                        .expect("a batch takes CAPACITY rows whatever their ids");
                    rows += 1;
                }
            }
        }
        if !batch.is_empty() {
            let written = users.put_batch(&batch).await;
            written.map_err(|err| failure(ImportError::Users(err), &report, first_line))?;
            report.imported += rows as u64;
            batch.clear();
        }
    }
    report.complete = true;
    Ok(report)
}

#[cfg(test)]
mod tests;

/// The span of one object's import (see [`Importer::run`]); a disabled span when traces are off.
fn import_span(source: &ObjectLocation) -> tracing::Span {
    if !crate::telemetry::traces::enabled() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        "import",
        otel.kind = "internal",
        otel.status_code = tracing::field::Empty,
        aws.s3.bucket = source.bucket(),
        aws.s3.key = source.key(),
        import.imported = tracing::field::Empty,
        import.complete = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}
