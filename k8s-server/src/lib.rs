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

mod accept_queue;
pub mod allocator;
mod config;
pub mod import_job;
mod metrics;
pub mod transport;

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app_core::http::{AppState, Contract, Readiness, server_router, with_contract};
use app_core::startup::{self, StartupError};
use app_core::telemetry::traces;
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::Service;

pub use config::{DEFAULT_MAX_CONNECTIONS, ServerConfig, vars};

/// Starts the server from the environment and runs it until `shutdown` completes and the drain ends.
/// `/metrics` is served on its own port until the process exits.
pub async fn run(shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), StartupError> {
    let config = ServerConfig::from_env()?;
    let service = startup::init(transport::transport()).await?;
    // Batched span export (when configured): the pod's spans leave once a second, off the request path.
    tokio::spawn(traces::export_every(TRACE_EXPORT_PERIOD));
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
    let served = serve(listener, service, shutdown, drain, config.max_connections).await;
    // The drained requests' spans.
    traces::flush().await;
    served.map_err(StartupError::runtime)
}

/// How often the server exports the spans finished since the last export.
pub const TRACE_EXPORT_PERIOD: Duration = Duration::from_secs(1);

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
pub fn router(service: impl Into<AppState>, readiness: Readiness) -> Contract {
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
/// the timer that hyper's header read timeout needs), so the connections are served with hyper
/// directly; everything above the socket is still the one `app-core` contract.
mod limits {
    use std::time::Duration;

    /// Longest request head (request line and headers) in bytes; more is answered 431.
    pub const MAX_HEAD_BYTES: usize = 16 * 1024;
    /// Most headers in one request; more is answered 431.
    pub const MAX_HEADERS: usize = 64;
    /// How long a client may take to send its request head before the connection is closed (slow
    /// clients otherwise hold connections forever): counted from the connection's start, then from
    /// the end of each response (see `Heads`).
    pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// While a listener is at its cap, a connection that has not sent a whole request head this long
    /// after it was accepted is closed, to make room (the header read timeout shortened under
    /// pressure, as Envoy's overload manager does): a client that sends its request at once is
    /// served, one that trickles it or sends nothing gives its slot up.
    pub const HEAD_TIMEOUT_AT_CAP: Duration = Duration::from_secs(1);
    /// Most connections open at once on the metrics port (Prometheus scrapes on one).
    pub const METRICS_MAX_CONNECTIONS: usize = 16;
    /// At most one log line about a full listener in this time.
    pub const CAP_WARNING_EVERY: Duration = Duration::from_secs(10);
}

/// Serves the API on `listener` until `shutdown` completes, then drains. At most `max_connections`
/// are open at once: while that many are, no connection is accepted, so new ones wait in the
/// kernel's queue (and, once it is full, their handshakes wait) instead of costing memory; each
/// wait is counted in `http_connection_cap_waits_total` and logged at most every 10 s.
///
/// The drain:
/// 1. At once `/readyz` answers 503 and every response carries `Connection: close` (the connection
///    closes after it), on kept-alive connections as on new ones.
/// 2. Connections are still accepted for `drain.delay`.
/// 3. The listener is closed without resetting a connection the kernel has already accepted
///    ([`accept_queue`]: new handshakes are refused, those under way complete, the queue is served).
///    Then idle kept-alive connections are closed; a connection that has not sent its first
///    request yet is left to send it.
/// 4. In-flight requests get up to `drain.timeout` to finish.
pub async fn serve(
    listener: TcpListener,
    service: impl Into<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Drain,
    max_connections: usize,
) -> std::io::Result<()> {
    let readiness = Readiness::new();
    let app = router(service, readiness.clone());
    let connections = Connections::new(
        &app,
        Some(readiness.clone()),
        Cap::new("api", max_connections),
    );
    readiness.set_ready();
    accept_until(&listener, &connections, shutdown).await;

    readiness.set_shutting_down();
    tracing::info!(delay = ?drain.delay, "shutting down: /readyz answers 503");
    accept_until(&listener, &connections, tokio::time::sleep(drain.delay)).await;
    if let Err(err) = accept_queue::refuse_new_handshakes(&listener) {
        tracing::warn!(
            error = %err,
            "cannot refuse new handshakes: a connection made as the listener closes may be reset"
        );
    }
    let grace = tokio::time::sleep(accept_queue::HANDSHAKE_GRACE);
    accept_until(&listener, &connections, grace).await;
    // What the kernel queued is served even beyond the cap: refusing it would reset those
    // connections (the default cap leaves room for a full queue).
    let queued = accept_queue::close(listener, |stream| {
        let slot = connections.cap.slots.clone().try_acquire_owned().ok();
        connections.serve(stream, slot);
    })
    .unwrap_or_else(|err| {
        tracing::warn!(error = %err, "emptying the accept queue failed: the rest is reset");
        0
    });
    tracing::info!(timeout = ?drain.timeout, queued, "listener closed: draining in-flight requests");
    tokio::select! {
        () = connections.shutdown() => tracing::info!("stopped"),
        () = tokio::time::sleep(drain.timeout) => {
            tracing::warn!(timeout = ?drain.timeout, "drain deadline passed; exiting with requests in flight");
        }
    }
    Ok(())
}

/// Serves `/metrics` ([`metrics_router`]) on `listener` for as long as the process runs: scrapes
/// may still come while the API drains, and nothing there is worth waiting for at exit.
async fn serve_metrics(listener: TcpListener) {
    let cap = Cap::new("metrics", limits::METRICS_MAX_CONNECTIONS);
    let connections = Connections::new(&metrics_router(), None, cap);
    accept_until(&listener, &connections, std::future::pending()).await;
}

/// Accepts connections on `listener` until `stop` completes, and serves each with `connections`;
/// while the cap's connections are all open, accepts none (see [`Cap`]).
async fn accept_until(
    listener: &TcpListener,
    connections: &Connections,
    stop: impl Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    loop {
        let slot = match connections.cap.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                connections.cap.reached();
                tokio::select! {
                    slot = connections.cap.slots.clone().acquire_owned() => {
                        slot.expect("the cap's semaphore is never closed")
                    }
                    () = &mut stop => return,
                }
            }
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => connections.serve(stream, Some(slot)),
                Err(err) => {
                    // Out of file descriptors, usually: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut stop => return,
        }
    }
}

/// The most connections of one listener open at once. At the cap the accept loop stops accepting
/// (nginx's `worker_connections`, Envoy's listener connection limit) rather than accepting and
/// closing: the connections wait in the kernel's queue, which costs the process nothing, and are
/// served as slots free up: while the cap is reached, a connection without a whole request head
/// after [`limits::HEAD_TIMEOUT_AT_CAP`] is closed (`http_connections_crowded_out_total{listener}`),
/// so that a flood of connections that send nothing or trickle their head cannot keep a client that
/// sends its request out. Each time the loop finds the cap reached it counts one wait in
/// `http_connection_cap_waits_total{listener}`, and logs it at most every
/// [`limits::CAP_WARNING_EVERY`]; `http_connections_open{listener}` is the number open.
struct Cap {
    slots: Arc<Semaphore>,
    max: usize,
    listener: &'static str,
    waits: ::metrics::Counter,
    crowded_out: ::metrics::Counter,
    open: ::metrics::Gauge,
    warning: std::sync::Mutex<Warning>,
}

/// The rate-limited log line of a [`Cap`].
#[derive(Default)]
struct Warning {
    last: Option<Instant>,
    waits_since: u64,
}

impl Cap {
    fn new(listener: &'static str, max: usize) -> Self {
        let (waits, crowded_out) = (metrics::cap_waits(listener), metrics::crowded_out(listener));
        // Present (at 0) on the first scrape, not only after the first wait.
        waits.increment(0);
        crowded_out.increment(0);
        Self {
            slots: Arc::new(Semaphore::new(max)),
            max,
            listener,
            waits,
            crowded_out,
            open: metrics::connections_open(listener),
            warning: std::sync::Mutex::default(),
        }
    }

    /// Counts one wait for a free slot, and logs it unless that was done less than
    /// [`limits::CAP_WARNING_EVERY`] ago.
    fn reached(&self) {
        self.waits.increment(1);
        let mut warning = self.warning.lock().unwrap_or_else(|err| err.into_inner());
        warning.waits_since += 1;
        let now = Instant::now();
        if warning
            .last
            .is_none_or(|last| now.duration_since(last) >= limits::CAP_WARNING_EVERY)
        {
            tracing::warn!(
                listener = self.listener,
                max_connections = self.max,
                waits = warning.waits_since,
                "connection cap reached: new connections wait in the kernel's queue"
            );
            warning.last = Some(now);
            warning.waits_since = 0;
        }
    }

    /// Completes when the connection should give its slot up: every [`limits::HEAD_TIMEOUT_AT_CAP`]
    /// until its first request head has arrived, it does if the cap is reached.
    async fn crowded_out(slots: Arc<Semaphore>, heads: Arc<Heads>) {
        loop {
            tokio::time::sleep(limits::HEAD_TIMEOUT_AT_CAP).await;
            if heads.asked() {
                return std::future::pending().await;
            }
            if slots.available_permits() == 0 {
                return;
            }
        }
    }
}

/// Connections served alike: HTTP/1.1 with the [`limits`], `app` on each, each on a task of its
/// own, tracked so that [`Connections::shutdown`] can drain them, at most [`Cap`] at once. (HTTP/2 is
/// not served: no client of this API needs it, and detecting the protocol of each connection costs
/// every request.)
struct Connections {
    builder: http1::Builder,
    app: Contract,
    cap: Cap,
    /// While this is not ready, each response carries `Connection: close`.
    draining: Option<Readiness>,
    /// Set by [`Connections::shutdown`]; each connection holds a receiver until it ends.
    stop: watch::Sender<bool>,
}

impl Connections {
    fn new(app: &Contract, draining: Option<Readiness>, cap: Cap) -> Self {
        let mut builder = http1::Builder::new();
        builder
            // Ours, armed once per connection (`Heads`): hyper's arms a timer for every request.
            .header_read_timeout(None)
            // While a request is answered, hyper otherwise reads on to notice the client leaving,
            // and each such read takes a fresh 8 KiB buffer (the request still holds the old one):
            // an allocation per request. A client that leaves is noticed when its answer is written.
            .half_close(true)
            .max_headers(limits::MAX_HEADERS)
            .max_buf_size(limits::MAX_HEAD_BYTES);
        Self {
            builder,
            app: app.clone(),
            cap,
            draining,
            stop: watch::Sender::new(false),
        }
    }

    /// Serves `stream` on a task of its own, which holds `slot` (of the [`Cap`]) until it ends.
    fn serve(&self, stream: TcpStream, slot: Option<OwnedSemaphorePermit>) {
        let _ = stream.set_nodelay(true);
        let (app, draining) = (self.app.clone(), self.draining.clone());
        let heads = Arc::new(Heads::new());
        let service = service_fn({
            let heads = heads.clone();
            move |request| {
                heads.arrived();
                let response = app.clone().call(request);
                let draining = draining.clone();
                let heads = heads.clone();
                // Boxed: hyper keeps a box the size of this future for each connection from its
                // start to its end; boxed, that box holds a pointer, and this future's memory is
                // only taken while a request is answered.
                let answer: InFlight = Box::pin(async move {
                    let mut response = response.await?;
                    heads.awaited();
                    if draining.is_some_and(|readiness| !readiness.is_ready()) {
                        response
                            .headers_mut()
                            .insert(CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok(response)
                });
                answer
            }
        });
        let connection = self.builder.serve_connection(TokioIo::new(stream), service);
        let mut stop = self.stop.subscribe();
        let open = self.cap.open.clone();
        open.increment(1.0);
        let crowded_out = Cap::crowded_out(self.cap.slots.clone(), heads.clone());
        let crowded_out_count = self.cap.crowded_out.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let mut deadline = std::pin::pin!(tokio::time::sleep(limits::HEADER_READ_TIMEOUT));
            let result = tokio::select! {
                result = heads.guard(connection.as_mut(), deadline.as_mut()) => result,
                () = async { let _ = stop.wait_for(|stop| *stop).await; } => {
                    // hyper's graceful shutdown closes an idle connection, lets a busy one finish
                    // its request, and also closes one that has not sent its first request yet:
                    // that one is left to send it (answered with `Connection: close`, or closed by
                    // the header read timeout).
                    if heads.asked() {
                        connection.as_mut().graceful_shutdown();
                    }
                    heads.guard(connection, deadline).await
                }
                () = crowded_out => {
                    crowded_out_count.increment(1);
                    tracing::debug!("closed: no request head while the connection cap is reached");
                    Ok(())
                }
            };
            match result {
                Ok(()) => {}
                Err(HeadWait::Failed(err)) => {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                // As hyper's own header read timeout would have it logged.
                Err(HeadWait::TimedOut) => {
                    tracing::debug!(
                        error = "read header from client timeout",
                        "connection ended with an error"
                    );
                }
            }
            open.decrement(1.0);
            drop((slot, stop));
        });
    }

    /// Closes the idle kept-alive connections, lets each busy one finish its request, and
    /// completes when all have ended.
    async fn shutdown(self) {
        self.stop.send_replace(true);
        self.stop.closed().await;
    }
}

/// The answer to one request of a connection, as hyper holds it while it is answered.
type InFlight =
    std::pin::Pin<Box<dyn Future<Output = Result<axum::response::Response, Infallible>> + Send>>;

/// The request heads of one connection, for the header read timeout and the [`Cap`]: whether one
/// has arrived, and since when the next one is awaited.
///
/// hyper's own header read timeout arms a timer (a boxed sleep, put in and taken out of the timer
/// wheel) for every request head. This one is armed once per connection: each request records, in
/// an atomic, that a head arrived and when its response was ready (from then on the next head is
/// awaited), and the connection's one deadline is checked only when it passes, then moved on to
/// [`limits::HEADER_READ_TIMEOUT`] after the wait began (tokio moves a deadline later without
/// touching its wheel). So the defence is the same: a connection that does not complete a head
/// within 10 s of its start or of its last response (a slowloris trickle, an idle kept-alive
/// connection) is closed. The wait starts when the response is ready rather than when hyper has
/// written it (a client that does not read a response for 10 s is closed as well).
struct Heads {
    /// The connection's start: `awaited_since` counts from it.
    start: tokio::time::Instant,
    /// Nanoseconds after `start` at which the next head began to be awaited, or [`Heads::BUSY`]
    /// while a request is being answered.
    awaited_since: AtomicU64,
    asked: AtomicBool,
}

/// How a connection guarded by [`Heads::guard`] ended, when not well.
enum HeadWait {
    Failed(hyper::Error),
    TimedOut,
}

impl Heads {
    const BUSY: u64 = u64::MAX;

    fn new() -> Self {
        Self {
            start: tokio::time::Instant::now(),
            awaited_since: AtomicU64::new(0),
            asked: AtomicBool::new(false),
        }
    }

    /// Whether a request head has arrived on this connection.
    fn asked(&self) -> bool {
        self.asked.load(Ordering::Relaxed)
    }

    /// A request head arrived: no head is awaited until its response is ready.
    fn arrived(&self) {
        self.asked.store(true, Ordering::Relaxed);
        self.awaited_since.store(Self::BUSY, Ordering::Relaxed);
    }

    /// A response is ready: the next head is awaited from now on.
    fn awaited(&self) {
        let since = self
            .start
            .elapsed()
            .as_nanos()
            .min(u128::from(Self::BUSY - 1)) as u64;
        self.awaited_since.store(since, Ordering::Relaxed);
    }

    /// Runs `connection` to its end, or until a head has been awaited for
    /// [`limits::HEADER_READ_TIMEOUT`] by `deadline` (the connection's one timer).
    async fn guard<C>(
        &self,
        mut connection: std::pin::Pin<&mut C>,
        mut deadline: std::pin::Pin<&mut tokio::time::Sleep>,
    ) -> Result<(), HeadWait>
    where
        C: Future<Output = hyper::Result<()>>,
    {
        loop {
            tokio::select! {
                biased;
                result = connection.as_mut() => return result.map_err(HeadWait::Failed),
                () = deadline.as_mut() => {
                    let due = match self.awaited_since.load(Ordering::Relaxed) {
                        Self::BUSY => tokio::time::Instant::now() + limits::HEADER_READ_TIMEOUT,
                        since => self.start + Duration::from_nanos(since) + limits::HEADER_READ_TIMEOUT,
                    };
                    if due <= tokio::time::Instant::now() {
                        return Err(HeadWait::TimedOut);
                    }
                    deadline.as_mut().reset(due);
                }
            }
        }
    }
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
