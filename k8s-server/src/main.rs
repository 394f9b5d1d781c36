//! `k8s-server`: the user-lookup service as a long-running HTTP server. See the crate docs in `lib.rs`.

use std::process::ExitCode;

/// hyper's per-connection buffers on pages of their own (see the module).
#[global_allocator]
static ALLOCATOR: k8s_server::allocator::ConnectionBuffers =
    k8s_server::allocator::ConnectionBuffers;

#[tokio::main]
async fn main() -> ExitCode {
    let result = k8s_server::run(k8s_server::shutdown_signal()).await;
    app_core::startup::exit("k8s-server", result)
}
