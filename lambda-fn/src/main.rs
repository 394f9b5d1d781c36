//! `lambda-fn`: the user-lookup service as an AWS Lambda function. See the crate docs in `lib.rs`.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    app_core::startup::exit("lambda-fn", lambda_fn::run().await)
}
