//! The import's memory does not grow with the file: the heap's peak while importing 100,000 lines
//! stays within a small margin of the peak for 10,000 lines. Its own test binary, because it counts
//! every allocation of the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use app_core::import::{ImportOptions, ImportReport, import_lines};
use app_core::store::memory::{MemoryStore, WritableMemoryStore};
use tokio::io::{AsyncRead, BufReader, ReadBuf};

/// The system allocator, counting the bytes held now and the most held since the last reset.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let held = HELD.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(held, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// `lines` lines made up as they are read (the test holds no file, not even a whole long line): rows
/// for 25 ids over and over, every 10th line not JSON, every 10,000th line 1 MiB of `x`.
struct Generated {
    line: u64,
    lines: u64,
    /// The rest of the current short line.
    pending: Vec<u8>,
    offset: usize,
    /// How many `x` of the current long line are still to come.
    long_left: usize,
}

impl Generated {
    fn new(lines: u64) -> Self {
        Self {
            line: 0,
            lines,
            pending: Vec::with_capacity(256),
            offset: 0,
            long_left: 0,
        }
    }

    fn start_line(&mut self) {
        self.line += 1;
        let n = self.line;
        self.pending.clear();
        self.offset = 0;
        if n.is_multiple_of(10_000) {
            self.long_left = 1 << 20;
        } else if n.is_multiple_of(10) {
            self.pending.extend_from_slice(b"not json");
        } else {
            let id = n % 25;
            let row = format!(
                r#"{{"id":"u-{id}","name":"User {n}","email":"u{id}@example.com","createdAt":"2024-01-15T09:30:00Z"}}"#
            );
            self.pending.extend_from_slice(row.as_bytes());
        }
        self.pending.push(b'\n');
    }
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.long_left == 0 && self.offset == self.pending.len() {
            if self.line == self.lines {
                return Poll::Ready(Ok(()));
            }
            self.start_line();
        }
        if self.long_left > 0 {
            let take = buf.remaining().min(self.long_left);
            buf.put_slice(&[b'x'; 4096][..take.min(4096)]);
            self.long_left -= take.min(4096);
            return Poll::Ready(Ok(()));
        }
        let start = self.offset;
        let take = buf.remaining().min(self.pending.len() - start);
        buf.put_slice(&self.pending[start..start + take]);
        self.offset += take;
        Poll::Ready(Ok(()))
    }
}

/// Imports `lines` generated lines into an embedded store; returns the report and the most heap the
/// import held above what was held before it started.
fn import_peak(lines: u64) -> (ImportReport, usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let store = WritableMemoryStore::new(MemoryStore::from_users([]).unwrap());
    let options = ImportOptions::default();
    let baseline = HELD.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let report = runtime
        .block_on(import_lines(
            BufReader::new(Generated::new(lines)),
            &store,
            "s3://bkt/imports/generated.jsonl".into(),
            &options,
        ))
        .unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - baseline;
    (report, peak)
}

#[test]
fn importing_ten_times_the_lines_needs_no_more_memory() {
    let (small, small_peak) = import_peak(10_000);
    let (large, large_peak) = import_peak(100_000);

    eprintln!("peak heap: {small_peak} bytes for 10,000 lines, {large_peak} for 100,000");
    // The imports did the work: rows written, bad and long lines rejected, all of them counted.
    assert_eq!((small.imported, small.rejected_total), (9_000, 1_000));
    assert_eq!((large.imported, large.rejected_total), (90_000, 10_000));
    assert_eq!(large.rejected.len(), 1_000);
    assert!(large.complete);
    // Memory: one line buffer, the read buffer, the first 1,000 rejections and 25 users; no 1 MiB line
    // and nothing that grows with the line count.
    assert!(
        large_peak <= small_peak + 64 * 1024,
        "peak heap {large_peak} bytes for 100,000 lines vs {small_peak} for 10,000"
    );
    assert!(large_peak < 256 * 1024, "peak heap {large_peak} bytes");
}
