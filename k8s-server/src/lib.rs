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
    serve(listener, service, shutdown, config.shutdown_timeout)
        .await
        .map_err(StartupError::runtime)
}

/// Serves on `listener` until `shutdown` completes. Then `/readyz` turns 503, no new connection is
/// accepted, and in-flight requests get up to `drain_timeout` to finish.
pub async fn serve(
    listener: TcpListener,
    service: UserService,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain_timeout: Duration,
) -> std::io::Result<()> {
    let readiness = Readiness::new();
    let app = server_router(service, readiness.clone());
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel();
    let signal = {
        let readiness = readiness.clone();
        async move {
            shutdown.await;
            readiness.set_shutting_down();
            tracing::info!(?drain_timeout, "shutting down: draining in-flight requests");
            let _ = draining_tx.send(());
        }
    };
    let deadline = async move {
        if draining_rx.await.is_ok() {
            tokio::time::sleep(drain_timeout).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    readiness.set_ready();
    tokio::select! {
        served = axum::serve(listener, app).with_graceful_shutdown(signal) => served,
        () = deadline => {
            tracing::warn!(?drain_timeout, "drain deadline passed; exiting with requests in flight");
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
