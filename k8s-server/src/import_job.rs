//! `import-job`'s front door: the user import as a Kubernetes Job (or any one-shot process).
//!
//! `import-job s3://BUCKET/KEY [--from-line N]` imports one object with no deadline, writes the
//! report where `import-fn` writes it (`reports/<KEY>.json`, same bucket) and prints it on stdout.
//! Exit status: 0 when the import completed (rejected lines included); 1 when it did not (a store
//! failed, or the object does not exist: the report says `OBJECT_NOT_FOUND`); 2 for bad arguments
//! (clap's usage error); 78 for bad configuration (one line naming the variable).
//!
//! `--from-line N` continues an import that `import-fn` stopped at its deadline (`nextLine`). Its
//! report goes beside the first part's, to `reports/from-line-N/<KEY>.json`, so the first part's
//! rejections stay where they were.

use std::io::Write;
use std::num::NonZeroU64;

use app_core::import::{ImportOptions, Outcome};
use app_core::objects::{NoReport, ObjectLocation};
use app_core::startup::{self, StartupError};
use clap::{CommandFactory, Parser};

/// Imports a JSON Lines file of users from S3 into the users table, and writes its report beside it.
#[derive(Debug, Parser)]
#[command(name = "import-job", version, about)]
pub struct Args {
    /// The object to import, s3://BUCKET/imports/...; the report goes to
    /// s3://BUCKET/reports/imports/....json
    #[arg(value_name = "s3://BUCKET/KEY", value_parser = importable)]
    pub source: ObjectLocation,
    /// The first line to import (lines before it are read through): the `nextLine` of a report that
    /// stopped early
    #[arg(long, value_name = "N", default_value = "1")]
    pub from_line: NonZeroU64,
}

/// An `s3://BUCKET/KEY` whose key is under `imports/` (no other key has a report).
fn importable(uri: &str) -> Result<ObjectLocation, String> {
    let location: ObjectLocation = uri.parse().map_err(|err| format!("{err}"))?;
    location
        .report_location(NonZeroU64::MIN)
        .map(|_| location)
        .map_err(|reason| match reason {
            NoReport::NotAnImport => format!(
                "only keys under {} are imported, and they have a report beside them",
                app_core::objects::IMPORTS_PREFIX
            ),
            too_long => too_long.to_string(),
        })
}

impl Args {
    /// The arguments of this process, checked together: exits as clap does (status 2, the usage
    /// line) when they are not usable, e.g. a key whose continuation report (`--from-line`) would
    /// have a key longer than S3 allows.
    pub fn from_command_line() -> Self {
        Self::parse().checked().unwrap_or_else(|err| err.exit())
    }

    /// These arguments, or clap's usage error when the source has no report location for the
    /// starting line.
    pub fn checked(self) -> Result<Self, clap::Error> {
        match self.source.report_location(self.from_line) {
            Ok(_) => Ok(self),
            Err(reason) => Err(Self::command().error(
                clap::error::ErrorKind::ValueValidation,
                format!("{} from line {}: {reason}", self.source, self.from_line),
            )),
        }
    }
}

/// Reads the configuration, imports `args.source` and prints its report; `Err` when the import did
/// not complete.
pub async fn run(args: Args) -> Result<(), StartupError> {
    let (importer, _) = startup::init_import(crate::transport::transport()).await?;
    let options = ImportOptions::default().from_line(args.from_line);
    let outcome = importer.run(&args.source, &options).await;
    app_core::telemetry::traces::flush().await;
    let report = match outcome {
        Ok(Outcome::Reported { report, .. }) => report,
        // `Args::checked` let only keys with a report location through.
        Ok(outcome @ (Outcome::Skipped | Outcome::Refused(_))) => {
            unreachable!("{} has a report location: {outcome:?}", args.source)
        }
        Err(failure) => {
            tracing::error!(error = %failure, transient = failure.error.is_transient(), "import failed");
            return Err(StartupError::runtime(failure.summary()));
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&report.to_json())
        .and_then(|()| stdout.flush())
        .map_err(|err| StartupError::runtime(format_args!("cannot print the report: {err}")))?;
    if report.complete {
        Ok(())
    } else {
        Err(StartupError::runtime(format_args!(
            "import of {} did not complete: {}",
            args.source,
            if report.error.is_some() {
                "the object does not exist"
            } else {
                "it stopped early"
            }
        )))
    }
}
