//! `lambda-fn`: the user-lookup service as an AWS Lambda function on `lambda_http`.
//!
//! API Gateway (REST and HTTP API), Function URL and ALB events all reach the same contract as the
//! server; `app_core::http::lambda` runs the runtime loop and adapts each event (unsafe values, stage
//! prefix, request id) first.

use std::process::ExitCode;

use app_core::http::lambda;
use app_core::startup::{self, StartupError};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let run = async {
        let service = startup::init().await?;
        lambda::run(service).await.map_err(StartupError::runtime)
    };
    startup::exit("lambda-fn", run.await)
}
