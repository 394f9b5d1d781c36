//! A plain HTTP/1.1 client that sends the request target exactly as given (no normalisation, no
//! re-encoding), one request per connection, and reads the whole reply.

use std::net::SocketAddr;

use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::reply::Reply;

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
