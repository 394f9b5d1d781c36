//! A keep-alive front for moto, behaving as an AWS endpoint does on the connection: moto server
//! (werkzeug) answers every request with `Connection: close`, so each SDK call to it opens a new TCP
//! connection (and over HTTPS, a new TLS handshake), where DynamoDB keeps a connection open for the
//! next call. The front is an HTTP/1.1 server on `127.0.0.1` with keep-alive on, over TLS (rustls on
//! ring, with a [`RunCa`]'s leaf certificate) when asked and plain otherwise; it forwards each request
//! to moto over plain HTTP, on a connection of its own that moto then closes, and returns moto's
//! answer without its `Connection: close`.
//!
//! What it emulates: the client's side of a DynamoDB connection (one handshake, then reuse). What it
//! does not: moto's own time per call (milliseconds of Python, against a few for DynamoDB in region),
//! which every call through the front still pays, plus a loopback connection to moto.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::SdkConfig;
use http::header::CONNECTION;
use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::moto::{self, RunCa};

/// A running front; it stops when dropped.
pub struct KeepAliveFront {
    addr: SocketAddr,
    endpoint: String,
    /// The CA a client must trust (over TLS).
    ca: Option<std::path::PathBuf>,
    accepted: Arc<AtomicUsize>,
    /// Its own runtime, so that it serves whatever the caller's thread does (a bench's blocking loop
    /// or a test's runtime).
    runtime: Option<tokio::runtime::Runtime>,
}

impl KeepAliveFront {
    /// Starts a front on a free port of `127.0.0.1` forwarding to moto on `upstream_port`; over HTTPS
    /// with `tls`'s leaf certificate (for `127.0.0.1`) when given, plain HTTP otherwise.
    pub fn start(upstream_port: u16, tls: Option<&RunCa>) -> io::Result<KeepAliveFront> {
        let acceptor = tls.map(acceptor).transpose()?;
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("keepalive-front")
            .enable_all()
            .build()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, upstream_port));
        let counter = accepted.clone();
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).expect("a listener in this runtime");
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(stream, acceptor.clone(), upstream));
            }
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        Ok(KeepAliveFront {
            addr,
            endpoint: format!("{scheme}://{addr}"),
            ca: tls.map(RunCa::ca),
            accepted,
            runtime: Some(runtime),
        })
    }

    /// `https://127.0.0.1:PORT` (or `http://` without TLS).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections it has accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The settings that point the service (either target) at moto's `table` through this front.
    pub fn service_env(&self, table: &str) -> Vec<(&'static str, String)> {
        moto::service_env_at(&self.endpoint, table)
    }

    /// SDK settings pointed at this front (trusting the run's CA alone over TLS), as
    /// [`moto::Moto::sdk_config`] gives for moto itself.
    pub async fn sdk_config(&self, timeout: Duration) -> SdkConfig {
        moto::sdk_config_at(&self.endpoint, self.ca.as_deref(), timeout).await
    }
}

impl Drop for KeepAliveFront {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Never blocks, so a front may be dropped inside another runtime.
            runtime.shutdown_background();
        }
    }
}

/// A TLS acceptor with `ca`'s leaf certificate and key, on ring (the workspace's one crypto library).
fn acceptor(ca: &RunCa) -> io::Result<TlsAcceptor> {
    let (cert, key) = ca.leaf();
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| io::Error::other(format!("{}: {err}", cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(&key)
        .map_err(|err| io::Error::other(format!("{}: {err}", key.display())))?;
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(io::Error::other)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves one client connection, HTTP/1.1 with keep-alive, over TLS when `acceptor` is given.
async fn serve(stream: TcpStream, acceptor: Option<TlsAcceptor>, upstream: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| forward(request, upstream));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true);
    let _ = match acceptor {
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(tls) => http.serve_connection(TokioIo::new(tls), service).await,
            Err(_) => return,
        },
        None => http.serve_connection(TokioIo::new(stream), service).await,
    };
}

/// What the front answers: moto's body, or its own short text when moto could not be reached.
type Body = Either<Incoming, Full<Bytes>>;

/// Sends `request` to moto on a new plain connection (moto closes it after answering) and returns
/// the answer without `Connection: close`, so the client's connection stays open. If moto cannot be
/// reached, a `502` naming why, as a load balancer in front of a failed host answers.
async fn forward(
    request: Request<Incoming>,
    upstream: SocketAddr,
) -> Result<Response<Body>, Infallible> {
    Ok(match to_moto(request, upstream).await {
        Ok(mut response) => {
            response.headers_mut().remove(CONNECTION);
            response.map(Either::Left)
        }
        Err(err) => {
            let mut response = Response::new(Either::Right(Full::new(Bytes::from(format!(
                "keep-alive front: moto on {upstream}: {err}"
            )))));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            response
        }
    })
}

/// One request to moto on a connection of its own.
async fn to_moto(
    request: Request<Incoming>,
    upstream: SocketAddr,
) -> Result<Response<Incoming>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(upstream).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender.send_request(request).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moto::Moto;
    use crate::recording_proxy::RecordingProxy;
    use app_core::store::dynamodb::KEY_ATTRIBUTE;
    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::types::AttributeValue;

    /// How many `GetItem`s each client makes.
    const CALLS: usize = 6;

    /// [`CALLS`] `GetItem`s of u-1 with one client, a moment apart, as a function's warm
    /// invocations make them.
    async fn lookups(config: &SdkConfig, table: &str) {
        let client = Client::new(config);
        for _ in 0..CALLS {
            // The client's pool takes a connection back shortly after the answer's body ends: a call
            // made at once may find it not back yet and open another, which says nothing of the
            // server's side.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let item = client
                .get_item()
                .table_name(table)
                .key(KEY_ATTRIBUTE, AttributeValue::S("u-1".into()))
                .send()
                .await
                .expect("GetItem u-1");
            assert!(item.item().is_some(), "u-1 is in the sample table");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn calls_through_the_front_share_one_tls_connection_where_moto_closes_each() {
        // GIVEN moto with the sample users, a counting TCP proxy straight in front of it, and a
        // keep-alive front over TLS with a CA made for this run
        let moto = Moto::shared();
        let table = moto.sample_table("keepalive").await;
        let direct =
            RecordingProxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, moto.port()))).await;
        let ca = RunCa::create().unwrap_or_else(|err| panic!("{err}"));
        let front = KeepAliveFront::start(moto.port(), Some(&ca)).expect("the front starts");
        assert!(front.endpoint().starts_with("https://127.0.0.1:"));
        let timeout = Duration::from_secs(10);

        // WHEN one SDK client makes its calls straight to moto, and another through the front
        lookups(
            &moto::sdk_config_at(&direct.endpoint(), None, timeout).await,
            &table,
        )
        .await;
        lookups(&front.sdk_config(timeout).await, &table).await;

        // THEN moto's calls took a connection each, the front's one (and one TLS handshake), or
        // two where the client's pool raced a call
        assert_eq!(direct.connections(), CALLS, "moto closes every connection");
        assert!(
            front.connections() <= 2,
            "the front keeps its connection open: {} connections for {CALLS} calls",
            front.connections()
        );
    }
}
