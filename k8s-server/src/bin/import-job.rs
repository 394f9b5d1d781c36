//! `import-job`: the user import as a Kubernetes Job. See `k8s_server::import_job`.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = k8s_server::import_job::Args::parse();
    app_core::startup::exit("import-job", k8s_server::import_job::run(args).await)
}
