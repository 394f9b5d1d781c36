//! A small, bounded load: a few workers sending the same request in a loop, each answer recorded with
//! when it was sent and how long it took; or an open-loop load at a fixed rate ([`open_loop`]). Only
//! ever aimed at a server on this machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::http::{CONNECT_FAILED, try_send};
use crate::reply::Reply;

/// The pause between two requests of one worker, which bounds the request rate.
const PACE: Duration = Duration::from_millis(5);

/// The error of a request of [`open_loop`] given up after its timeout.
pub const TIMED_OUT: &str = "timed out";

/// One request under load.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When it was sent, from the start of the load.
    pub sent: Duration,
    /// How long the answer took.
    pub latency: Duration,
    /// The answer, or why there was none.
    pub reply: Result<Reply, String>,
}

impl Sample {
    /// When the answer arrived, from the start of the load.
    pub fn answered(&self) -> Duration {
        self.sent + self.latency
    }

    /// Whether its TCP connection was established (`connect()` returned), whatever came next.
    pub fn connected(&self) -> bool {
        !matches!(&self.reply, Err(err) if err.starts_with(CONNECT_FAILED))
    }

    /// The status, or 0 when there was no answer.
    pub fn status(&self) -> u16 {
        self.reply.as_ref().map_or(0, |reply| reply.status)
    }
}

/// A load in progress.
pub struct Load {
    started: Instant,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<Sample>>>,
}

impl Load {
    /// Starts `workers` loops of `GET target` against `addr`.
    pub fn start(addr: SocketAddr, workers: usize, target: &'static str) -> Load {
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|_| {
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let sent = started.elapsed();
                        let reply = try_send(addr, "GET", target, &[]).await;
                        samples.push(Sample {
                            sent,
                            latency: started.elapsed() - sent,
                            reply,
                        });
                        tokio::time::sleep(PACE).await;
                    }
                    samples
                })
            })
            .collect();
        Load {
            started,
            stop,
            workers,
        }
    }

    /// Time since the load started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Stops the workers and returns every sample, in the order they were sent.
    pub async fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        let mut samples = Vec::new();
        for worker in self.workers {
            samples.extend(worker.await.expect("a load worker panicked"));
        }
        samples.sort_by_key(|sample| sample.sent);
        samples
    }
}

/// An open-loop load: `rate` requests a second of `GET target` for `duration`, each sent at its own
/// time on a connection of its own whatever the earlier ones are doing (as independent clients
/// arrive; a closed loop such as [`Load`] or wrk waits for answers and so never offers more than
/// the server serves), and given up after `timeout` (its reply is then the error [`TIMED_OUT`]).
/// Returns every sample, in the order they were sent.
pub async fn open_loop(
    addr: SocketAddr,
    rate: f64,
    duration: Duration,
    timeout: Duration,
    target: &'static str,
) -> Vec<Sample> {
    let started = Instant::now();
    let count = (rate * duration.as_secs_f64()).round() as usize;
    let mut requests = Vec::with_capacity(count);
    for i in 0..count {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let sent = started.elapsed();
        requests.push(tokio::spawn(async move {
            let reply = tokio::time::timeout(timeout, try_send(addr, "GET", target, &[]))
                .await
                .unwrap_or_else(|_| Err(TIMED_OUT.to_owned()));
            Sample {
                sent,
                latency: started.elapsed() - sent,
                reply,
            }
        }));
    }
    let mut samples = Vec::with_capacity(count);
    for request in requests {
        samples.push(request.await.expect("a request task panicked"));
    }
    samples
}
