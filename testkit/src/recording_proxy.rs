//! A TCP proxy on loopback that forwards every connection to one address and keeps what clients
//! sent: put in front of moto, it shows the headers of the requests the AWS SDK really sent (moto
//! keeps none), without changing a byte in either direction.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy (stops with the test's runtime).
#[derive(Clone)]
pub struct RecordingProxy {
    addr: SocketAddr,
    sent: Arc<Mutex<Vec<u8>>>,
    accepted: Arc<AtomicUsize>,
}

impl RecordingProxy {
    /// Starts a proxy on a free port of 127.0.0.1 that forwards to `target` (on the current Tokio
    /// runtime).
    pub async fn start(target: SocketAddr) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let proxy = RecordingProxy {
            addr: listener.local_addr().expect("a bound address"),
            sent: Arc::default(),
            accepted: Arc::default(),
        };
        let sent = proxy.sent.clone();
        let accepted = proxy.accepted.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::Relaxed);
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                tokio::spawn(forward(client, server, sent.clone()));
            }
        });
        proxy
    }

    /// The proxy's `http://` URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many connections clients opened through it so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The values of every `name` header line clients sent so far (name matched in any case), in
    /// order. Request bodies are searched too, which the tests' JSON and JSON Lines never confuse.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        let sent = self.sent.lock().unwrap();
        let prefix = format!("{}:", name.to_ascii_lowercase());
        String::from_utf8_lossy(&sent)
            .split("\r\n")
            .filter(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_owned())
            .collect()
    }
}

/// Copies both ways until either side closes, keeping the client's bytes.
async fn forward(mut client: TcpStream, mut server: TcpStream, sent: Arc<Mutex<Vec<u8>>>) {
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let upstream = async {
        let mut buf = vec![0; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            sent.lock().unwrap().extend_from_slice(&buf[..n]);
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}
