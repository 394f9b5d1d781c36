//! `import-job`: the user import as a Kubernetes Job. See `k8s_server::import_job`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = k8s_server::import_job::Args::from_command_line();
    app_core::startup::exit("import-job", k8s_server::import_job::run(args).await)
}
