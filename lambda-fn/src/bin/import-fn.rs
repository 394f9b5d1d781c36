//! `import-fn`: the user import as an AWS Lambda function for S3 event notifications. See
//! `lambda_fn::import`.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    app_core::startup::exit("import-fn", lambda_fn::import::run().await)
}
