//! The long-running server: listens on a TCP port, serves the contract plus the Kubernetes probes, and
//! drains in-flight requests on SIGTERM or SIGINT.
//!
//! All behaviour comes from `app-core`; this crate only owns the socket and the process lifecycle.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use app_core::config::ServerConfig;
use app_core::http::{Readiness, server_router};
use app_core::service::UserService;
use app_core::startup::{self, StartupError};
use tokio::net::TcpListener;

/// Starts the server from the environment and runs it until `shutdown` completes and the drain ends.
pub async fn run(shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), StartupError> {
    let config = ServerConfig::from_env()?;
    let service = startup::init().await?;
    let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port));
    let listener = TcpListener::bind(address)
        .await
        .map_err(|err| StartupError::runtime(format_args!("cannot listen on {address}: {err}")))?;
    tracing::info!(address = %listener.local_addr().map_err(StartupError::runtime)?, "listening");
    let drain = Drain {
        delay: config.shutdown_delay,
        timeout: config.shutdown_timeout,
    };
    serve(listener, service, shutdown, drain)
        .await
        .map_err(StartupError::runtime)
}

/// What happens between the shutdown signal and exit.
#[derive(Debug, Clone, Copy)]
pub struct Drain {
    /// How long to keep accepting connections, with `/readyz` already at 503, so that load balancers
    /// see the pod leave before its listener closes.
    pub delay: Duration,
    /// How long in-flight requests then get to finish.
    pub timeout: Duration,
}

/// Serves on `listener` until `shutdown` completes. Then `/readyz` turns 503 at once; after
/// `drain.delay` no new connection is accepted, and in-flight requests get up to `drain.timeout` to
/// finish.
pub async fn serve(
    listener: TcpListener,
    service: UserService,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Drain,
) -> std::io::Result<()> {
    let readiness = Readiness::new();
    let app = server_router(service, readiness.clone());
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel();
    let signal = {
        let readiness = readiness.clone();
        async move {
            shutdown.await;
            readiness.set_shutting_down();
            tracing::info!(delay = ?drain.delay, "shutting down: /readyz answers 503");
            tokio::time::sleep(drain.delay).await;
            tracing::info!(timeout = ?drain.timeout, "listener closed: draining in-flight requests");
            let _ = draining_tx.send(());
        }
    };
    let deadline = async move {
        if draining_rx.await.is_ok() {
            tokio::time::sleep(drain.timeout).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    readiness.set_ready();
    tokio::select! {
        served = axum::serve(listener, app).with_graceful_shutdown(signal) => served,
        () = deadline => {
            tracing::warn!(timeout = ?drain.timeout, "drain deadline passed; exiting with requests in flight");
            Ok(())
        }
    }?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGTERM (what Kubernetes sends) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate()).expect("SIGTERM handler can be installed");
    tokio::select! {
        _ = sigterm.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
