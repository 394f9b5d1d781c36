//! `k8s-server` in this process, on a real socket on an ephemeral port.

use std::net::SocketAddr;
use std::time::Duration;

use app_core::http::AppState;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::http::send;
use crate::reply::Reply;

/// A running server; stops (and drains) when dropped.
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Serves `service` exactly as `k8s-server` does, on `127.0.0.1:0`.
    pub async fn spawn(service: impl Into<AppState>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(k8s_server::serve(
            listener,
            service.into(),
            async {
                let _ = stopped.await;
            },
            k8s_server::Drain {
                delay: Duration::ZERO,
                timeout: Duration::from_secs(5),
            },
            k8s_server::DEFAULT_MAX_CONNECTIONS,
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
