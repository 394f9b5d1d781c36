//! Log lines written in a test, in the binaries' text format (`LOG_FORMAT=text`, no colours), read
//! back to check what an operator would see.

use std::sync::{Arc, Mutex};

use tracing_subscriber::util::SubscriberInitExt;

/// Log output kept in memory; cheap to clone (the clones share it).
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    /// Sends this thread's log events here, in the text format, until the guard is dropped.
    pub fn capture_on_this_thread(&self) -> tracing::dispatcher::DefaultGuard {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .set_default()
    }

    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().expect("the log buffer");
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("the log buffer")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
