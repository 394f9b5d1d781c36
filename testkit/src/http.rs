//! A plain HTTP/1.1 client that sends the request target exactly as given (no normalisation, no
//! re-encoding) and reads the whole reply: one request per connection ([`send`], [`try_send`]), or
//! as many as the server keeps a [`Connection`] open for.

use std::net::SocketAddr;

use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::contract::NO_HOST;
use crate::reply::Reply;

/// How the error of a request whose connection could not be made begins (the kernel refused it,
/// say): any other error came after `connect()` returned.
pub const CONNECT_FAILED: &str = "connect: ";

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
    let mut connection = Connection::open(addr).await?;
    let answer = connection.send(method, target, headers, body).await?;
    Ok(answer.reply)
}

/// One HTTP/1.1 connection, for as many requests as the server keeps it open.
pub struct Connection {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

/// A reply on a [`Connection`], and whether the server said it closes the connection after it.
#[derive(Debug)]
pub struct Answer {
    /// The reply.
    pub reply: Reply,
    /// The response carried `Connection: close`.
    pub closes: bool,
}

impl Connection {
    /// Connects to `addr`; an `Err` says why not (beginning with [`CONNECT_FAILED`] if the TCP
    /// connection could not be made).
    pub async fn open(addr: SocketAddr) -> Result<Connection, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|err| format!("{CONNECT_FAILED}{err}"))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|err| format!("handshake: {err}"))?;
        tokio::spawn(connection);
        Ok(Connection { addr, sender })
    }

    /// Sends `method target` with `headers` and `body` and reads the whole reply.
    pub async fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Answer, String> {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a valid method"))
            .uri(target);
        if !names_host(headers) {
            request = request.header(http::header::HOST, self.addr.to_string());
        }
        for (name, value) in headers.iter().filter(|header| **header != NO_HOST) {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body)).expect("a valid request");
        self.sender
            .ready()
            .await
            .map_err(|err| format!("request: {err}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|err| format!("request: {err}"))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|err| format!("body: {err}"))?
            .to_bytes();
        let closes = parts
            .headers
            .get_all(http::header::CONNECTION)
            .iter()
            .any(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        Ok(Answer {
            reply: Reply::new(parts.status.as_u16(), &parts.headers, &body),
            closes,
        })
    }

    /// Whether the connection has ended (the server closed it, say).
    pub async fn is_closed(&mut self) -> bool {
        self.sender.ready().await.is_err()
    }
}

/// Whether `headers` name the request's `Host` (then they replace the client's own; see
/// [`NO_HOST`]).
pub fn names_host(headers: &[(&str, &str)]) -> bool {
    headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
}

/// [`try_send`] from synchronous code (a thread of its own, a process test): runs the exchange on a
/// runtime of its own.
pub fn try_send_blocking(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("runtime: {err}"))?
        .block_on(try_send(addr, method, target, headers))
}
