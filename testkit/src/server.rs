//! `k8s-server` in this process, on a real socket on an ephemeral port.

use std::net::SocketAddr;
use std::time::Duration;

use app_core::auth::Access;
use app_core::config::Env;
use app_core::http::AppState;
use app_core::startup::Config;
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

/// The access rule `AUTH=jwt` against the provider whose key set is at `jwks_url`
/// (`contract::auth::settings`), read from the environment a process would get, with keys fetched
/// through the test transport; a fresh key cache each time.
pub fn jwt_access(jwks_url: &str) -> Access {
    let env = crate::contract::auth::settings(jwks_url);
    let config = Config::read(&Env::from_fn(|name| {
        env.iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| value.clone())
    }))
    .expect("AUTH=jwt settings");
    Access::new(&config.auth, &crate::https::transport())
}
