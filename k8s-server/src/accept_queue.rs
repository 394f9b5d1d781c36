//! Closing the API listener without resetting a connection the kernel has already accepted.
//!
//! The kernel completes TCP handshakes on its own and queues the connections until the process
//! calls `accept`; closing a listener resets every connection still in that queue, though each
//! client's `connect()` has already returned (and it may have sent its request). So the listener is
//! closed in three steps (`serve` in `lib.rs`):
//!
//! 1. New handshakes stop (Linux): a socket filter on the listener drops every SYN. A client that
//!    connects from then on is not answered; it sends its SYN again about a second later, finds
//!    the port closed and is refused, before its `connect()` returns.
//! 2. For [`HANDSHAKE_GRACE`] the accept loop goes on, so that handshakes under way (SYN answered
//!    before the filter, the client's last ACK still on its way) complete and are served.
//! 3. The connections left in the queue are taken without waiting (until `accept` would block),
//!    and the listener is closed ([`close`]).
//!
//! The guarantee: every connection whose handshake completed before the listener closed is served
//! (its request answered with `Connection: close`; one that sends nothing is closed by the header
//! read timeout), except one whose last handshake packet took longer than [`HANDSHAKE_GRACE`] to
//! arrive (lost and sent again, say): the kernel resets it at the close. Where the filter cannot be
//! set (not Linux, or the call is refused: logged), step 1 is skipped and a connection whose
//! handshake completes between the last `accept` and the close is reset.

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// How long handshakes under way get to complete once new ones are refused: one round trip, with
/// room for a loaded machine (on a pod network a round trip is about a millisecond).
pub const HANDSHAKE_GRACE: Duration = Duration::from_millis(100);

/// Hands every connection still in `listener`'s queue to `serve`, without waiting for more, then
/// closes the listener. Returns how many there were.
pub fn close(listener: TcpListener, mut serve: impl FnMut(TcpStream)) -> std::io::Result<usize> {
    let listener = listener.into_std()?;
    let mut queued = 0;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(true)?;
                serve(TcpStream::from_std(stream)?);
                queued += 1;
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
            // Interrupted, or a connection reset while it was queued: take the next.
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::Interrupted | std::io::ErrorKind::ConnectionAborted
                ) => {}
            // Out of file descriptors, usually: what is left in the queue is reset.
            Err(err) => {
                tracing::warn!(error = %err, "accept failed while emptying the queue");
                break;
            }
        }
    }
    Ok(queued)
}

/// Makes the kernel drop every SYN that reaches `listener` (a classic BPF socket filter), so that
/// no new handshake completes; segments of handshakes under way still pass.
#[cfg(target_os = "linux")]
pub fn refuse_new_handshakes(listener: &TcpListener) -> std::io::Result<()> {
    use libc::{BPF_ABS, BPF_B, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET};
    use socket2::{SockFilter, SockRef};

    // A TCP socket's filter sees the segment from its TCP header: byte 13 holds the flags.
    const FLAGS_OFFSET: u32 = 13;
    const SYN: u32 = 0x02;
    let op = |code: u32| code as u16;
    let drop_syns = [
        SockFilter::new(op(BPF_LD | BPF_B | BPF_ABS), 0, 0, FLAGS_OFFSET),
        // SYN set: skip to the last instruction.
        SockFilter::new(op(BPF_JMP | BPF_JSET | BPF_K), 1, 0, SYN),
        // Keep the whole segment.
        SockFilter::new(op(BPF_RET | BPF_K), 0, 0, u32::MAX),
        // Drop it.
        SockFilter::new(op(BPF_RET | BPF_K), 0, 0, 0),
    ];
    SockRef::from(listener).attach_filter(&drop_syns)
}

/// Not available here: the listener keeps answering SYNs until it closes.
#[cfg(not(target_os = "linux"))]
pub fn refuse_new_handshakes(_: &TcpListener) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}
