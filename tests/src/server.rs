//! `k8s-server` in this process, on a real socket on an ephemeral port, and a plain HTTP/1.1 client
//! that sends the request target exactly as given (no normalisation, no re-encoding).

use std::net::SocketAddr;
use std::time::Duration;

use app_core::service::UserService;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::reply::Reply;

/// A running server; stops (and drains) when dropped.
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Serves `service` exactly as `k8s-server` does, on `127.0.0.1:0`.
    pub async fn spawn(service: UserService) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(k8s_server::serve(
            listener,
            service,
            async {
                let _ = stopped.await;
            },
            k8s_server::Drain {
                delay: Duration::ZERO,
                timeout: Duration::from_secs(5),
            },
        ));
        Self {
            addr,
            stop: Some(stop),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends one request on a fresh connection.
    pub async fn send(&self, method: &str, target: &str, headers: &[(&str, &str)]) -> Reply {
        send(self.addr, method, target, headers).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Sends `method target` with `headers` to `addr` over HTTP/1.1 and reads the whole reply.
pub async fn send(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Reply {
    try_send(addr, method, target, headers)
        .await
        .unwrap_or_else(|err| panic!("{method} {target}: {err}"))
}

/// Like [`send`], but a failed connection or exchange is an `Err` describing it (load and fault tests
/// count those instead of stopping).
pub async fn try_send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    try_send_body(addr, method, target, headers, Bytes::new()).await
}

/// Like [`try_send`], with a request body.
pub async fn try_send_body(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<Reply, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|err| format!("connect: {err}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| format!("handshake: {err}"))?;
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("a valid method"))
        .uri(target)
        .header(http::header::HOST, addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body)).expect("a valid request");
    let response = sender
        .send_request(request)
        .await
        .map_err(|err| format!("request: {err}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|err| format!("body: {err}"))?
        .to_bytes();
    Ok(Reply::new(parts.status.as_u16(), &parts.headers, &body))
}
