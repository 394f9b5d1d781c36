//! Ports on 127.0.0.1: one nothing listens on, and whether something listens on one.

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A port nothing listens on right now (the kernel's pick for port 0).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// Whether a connection to `127.0.0.1:port` reaches a listener. A connection from the port to itself
/// (Linux allows one when the port is in the ephemeral range and nothing listens) does not count.
pub fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port))
        .is_ok_and(|stream| stream.local_addr().ok().map(|addr| addr.port()) != Some(port))
}

/// Waits until something listens on `port`, up to `limit`, asking `alive` between attempts (so that a
/// process that exited is reported at once). `Err` says why not.
pub fn wait_listening(
    port: u16,
    limit: Duration,
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let started = Instant::now();
    while !listening(port) {
        alive()?;
        if started.elapsed() > limit {
            return Err(format!("nothing listened on port {port} within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_has_no_listener_until_one_binds_it() {
        let port = free_port();
        assert!(!listening(port));
        let _listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        assert!(listening(port));
    }
}
