//! `k8s-server`: the user-lookup service as a long-running HTTP server. See the crate docs in `lib.rs`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let result = k8s_server::run(k8s_server::shutdown_signal()).await;
    app_core::startup::exit("k8s-server", result)
}
