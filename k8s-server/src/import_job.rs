//! `import-job`'s front door: the user import as a Kubernetes Job (or any one-shot process).
//!
//! `import-job s3://BUCKET/KEY [--from-line N]` imports one object with no deadline, writes the
//! report where `import-fn` writes it (`reports/<KEY>.json`, same bucket) and prints it on stdout.
//! Exit status: 0 when the import completed (rejected lines included); 1 when it did not (a store
//! failed, or the object does not exist: the report says `OBJECT_NOT_FOUND`); 2 for bad arguments
//! (clap's usage error); 78 for bad configuration (one line naming the variable).
//!
//! `--from-line` continues an import that `import-fn` stopped at its deadline (`nextLine`).

use std::io::Write;
use std::num::NonZeroU64;

use app_core::import::{ImportOptions, Outcome};
use app_core::objects::ObjectLocation;
use app_core::startup::{self, StartupError};
use clap::Parser;

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
    match location.report_location() {
        Some(_) => Ok(location),
        None => Err(format!(
            "only keys under {} are imported, and they have a report beside them",
            app_core::objects::IMPORTS_PREFIX
        )),
    }
}

/// Reads the configuration, imports `args.source` and prints its report; `Err` when the import did
/// not complete.
pub async fn run(args: Args) -> Result<(), StartupError> {
    let (importer, _) = startup::init_import(crate::transport::transport()).await?;
    let options = ImportOptions::default().from_line(args.from_line);
    let outcome = importer.run(&args.source, &options).await;
    let report = match outcome {
        Ok(Outcome::Reported { report, .. }) => report,
        // `importable` let only keys with a report location through.
        Ok(Outcome::Skipped) => unreachable!("{} has a report location", args.source),
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
