//! A connection flood, bounded in clients and in time and only ever aimed at a server on this
//! machine: many clients that each connect, send the start of a request and never finish it, and
//! connect again once the server closes them (a slowloris-style attack on the number of open
//! connections).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// A flood under way; it stops when [`Flood::stop`] is called, when dropped, or at its time limit.
pub struct Flood {
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    counts: Arc<Counts>,
}

/// What the clients of a flood did.
#[derive(Debug, Default)]
pub struct Counts {
    /// Connections made (`connect()` returned).
    pub connected: AtomicU64,
    /// Connections the server closed.
    pub closed_by_server: AtomicU64,
}

impl Flood {
    /// Starts `clients` clients against `addr`, each sending `head` (an unfinished request head) on
    /// every connection it makes, for at most `limit`.
    pub fn start(addr: SocketAddr, clients: usize, head: Vec<u8>, limit: Duration) -> Flood {
        let (stop, stopped) = watch::channel(false);
        let counts = Arc::new(Counts::default());
        let thread = std::thread::Builder::new()
            .name("flood".into())
            .spawn({
                let counts = counts.clone();
                move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for the flood");
                    let head: Arc<[u8]> = head.into();
                    let deadline = tokio::time::Instant::now() + limit;
                    runtime.block_on(async {
                        let tasks: Vec<_> = (0..clients)
                            .map(|_| {
                                let client = Client {
                                    addr,
                                    head: head.clone(),
                                    counts: counts.clone(),
                                    stopped: stopped.clone(),
                                };
                                tokio::spawn(tokio::time::timeout_at(deadline, client.run()))
                            })
                            .collect();
                        for task in tasks {
                            let _ = task.await;
                        }
                    });
                }
            })
            .expect("the flood thread starts");
        Flood {
            stop,
            thread: Some(thread),
            counts,
        }
    }

    /// What the clients did so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Stops every client (their connections close) and waits for them.
    pub fn stop(mut self) {
        self.end();
    }

    fn end(&mut self) {
        self.stop.send_replace(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.end();
    }
}

/// One client of a flood.
struct Client {
    addr: SocketAddr,
    head: Arc<[u8]>,
    counts: Arc<Counts>,
    stopped: watch::Receiver<bool>,
}

impl Client {
    /// Connects, sends the head, waits for the server to close the connection, again, until stopped.
    async fn run(mut self) {
        let pause = Duration::from_millis(50);
        while !*self.stopped.borrow() {
            let started = Instant::now();
            let Ok(Ok(mut stream)) =
                tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(self.addr)).await
            else {
                tokio::time::sleep(pause.saturating_sub(started.elapsed())).await;
                continue;
            };
            self.counts.connected.fetch_add(1, Ordering::Relaxed);
            if stream.write_all(&self.head).await.is_err() {
                continue;
            }
            let mut buffer = [0u8; 1024];
            tokio::select! {
                _ = async { while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {} } => {
                    self.counts.closed_by_server.fetch_add(1, Ordering::Relaxed);
                }
                _ = self.stopped.wait_for(|stop| *stop) => return,
            }
        }
    }
}
