//! `k8s-server`: the user-lookup service as a long-running server, the one crate that knows sockets,
//! signals, the drain and Prometheus. It listens on two TCP ports: `PORT` serves the `app-core`
//! contract plus the Kubernetes probes, `METRICS_PORT` serves `/metrics` (a port the Service does not
//! expose). On SIGTERM or SIGINT it drains the in-flight requests of the first.
//!
//! All behaviour a caller sees comes from `app-core`; this crate owns the sockets, the connection
//! limits, the process lifecycle ([`ServerConfig`]) and the metrics exporter.
//!
//! The crate's second binary, `import-job`, is the user import as a Kubernetes Job: its front door is
//! [`import_job`].

mod config;
pub mod import_job;
mod metrics;
pub mod transport;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use app_core::http::{Contract, Readiness, server_router, with_contract};
use app_core::service::UserService;
use app_core::startup::{self, StartupError};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

pub use config::ServerConfig;

/// Starts the server from the environment and runs it until `shutdown` completes and the drain ends.
/// `/metrics` is served on its own port until the process exits.
pub async fn run(shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), StartupError> {
    let config = ServerConfig::from_env()?;
    let service = startup::init(transport::transport()).await?;
    let listener = listen(config.port).await?;
    let metrics_listener = listen(config.metrics_port).await?;
    tracing::info!(
        address = %listener.local_addr().map_err(StartupError::runtime)?,
        metrics_address = %metrics_listener.local_addr().map_err(StartupError::runtime)?,
        "listening"
    );
    tokio::spawn(serve_metrics(metrics_listener));
    let drain = Drain {
        delay: config.shutdown_delay,
        timeout: config.shutdown_timeout,
    };
    serve(listener, service, shutdown, drain)
        .await
        .map_err(StartupError::runtime)
}

/// A listener on `port` of every interface; a port in use is an error naming the address.
async fn listen(port: u16) -> Result<TcpListener, StartupError> {
    let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    TcpListener::bind(address)
        .await
        .map_err(|err| StartupError::runtime(format_args!("cannot listen on {address}: {err}")))
}

/// What the server answers on its public port: `app-core`'s server routes, behind the contract
/// (`/metrics` is the contract's JSON 404 here: it lives on [`metrics_router`]'s port). Installs the
/// process's Prometheus recorder (once), so that metrics count from the first request.
pub fn router(service: UserService, readiness: Readiness) -> Contract {
    metrics::install();
    server_router(service, readiness)
}

/// What the server answers on its metrics port: `GET /metrics` (Prometheus), behind the same
/// contract (request id, CORS, JSON 404/405). Installs the Prometheus recorder (once).
pub fn metrics_router() -> Contract {
    metrics::install();
    with_contract(metrics::route())
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

/// The limits every connection gets. `axum::serve` offers none of these settings (and runs without
/// the timer that hyper's header read timeout needs), so the connections are served with hyper-util
/// directly; everything above the socket is still the one `app-core` contract.
mod limits {
    use std::time::Duration;

    /// Longest request head (request line and headers) in bytes; more is answered 431.
    pub const MAX_HEAD_BYTES: usize = 16 * 1024;
    /// Most headers in one request; more is answered 431.
    pub const MAX_HEADERS: usize = 64;
    /// How long a client may take to send its request head before the connection is closed (slow
    /// clients otherwise hold connections forever).
    pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
}

/// Serves the API on `listener` until `shutdown` completes. Then `/readyz` turns 503 at once; after
/// `drain.delay` no new connection is accepted, and in-flight requests get up to `drain.timeout` to
/// finish.
pub async fn serve(
    listener: TcpListener,
    service: UserService,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Drain,
) -> std::io::Result<()> {
    let readiness = Readiness::new();
    let app = router(service, readiness.clone());
    let graceful = GracefulShutdown::new();
    let stop_accepting = {
        let readiness = readiness.clone();
        async move {
            shutdown.await;
            readiness.set_shutting_down();
            tracing::info!(delay = ?drain.delay, "shutting down: /readyz answers 503");
            tokio::time::sleep(drain.delay).await;
        }
    };
    readiness.set_ready();
    accept_until(&listener, &app, &graceful, stop_accepting).await;
    drop(listener);
    tracing::info!(timeout = ?drain.timeout, "listener closed: draining in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("stopped"),
        () = tokio::time::sleep(drain.timeout) => {
            tracing::warn!(timeout = ?drain.timeout, "drain deadline passed; exiting with requests in flight");
        }
    }
    Ok(())
}

/// Serves `/metrics` ([`metrics_router`]) on `listener` for as long as the process runs: scrapes
/// may still come while the API drains, and nothing there is worth waiting for at exit.
async fn serve_metrics(listener: TcpListener) {
    let never = std::future::pending();
    accept_until(
        &listener,
        &metrics_router(),
        &GracefulShutdown::new(),
        never,
    )
    .await;
}

/// Accepts connections on `listener` until `stop` completes, and serves each on a task of its own
/// with `app`, under the [`limits`] and watched by `graceful` (which can then drain them).
async fn accept_until(
    listener: &TcpListener,
    app: &Contract,
    graceful: &GracefulShutdown,
    stop: impl Future<Output = ()>,
) {
    let builder = connection_builder();
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(err) => {
                    // Out of file descriptors, usually: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => return,
        };
        let _ = stream.set_nodelay(true);
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(app.clone()),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
}

/// HTTP/1.1 and HTTP/2 (prior knowledge) with the [`limits`].
fn connection_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits::HEADER_READ_TIMEOUT)
        .max_headers(limits::MAX_HEADERS)
        .max_buf_size(limits::MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits::MAX_HEAD_BYTES as u32);
    builder
}

/// Completes on SIGTERM (what Kubernetes sends) or SIGINT (Ctrl-C).
///
/// The handlers are installed when this is called, not when the future is first polled: a signal
/// that arrives once the server answers (the accept loop may serve a connection before it polls the
/// shutdown future) must start the drain, not kill the process with the default action.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate()).expect("SIGTERM handler can be installed");
    let mut sigint = signal(SignalKind::interrupt()).expect("SIGINT handler can be installed");
    async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
    }
}
