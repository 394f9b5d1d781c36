//! How the reports and charts of `bench` write numbers: counts (the lab's, `decide::numbers`), bytes,
//! durations (pinned byte for byte by the staleness tests of docs/benchmarks.{md,svg}).

pub use decide::numbers::count;

/// Bytes in decimal megabytes, e.g. `6.14 MB`.
pub fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// Nanoseconds in ns below one microsecond, in µs from there, e.g. `63 ns`, `1.03 µs`.
pub fn nanos(ns: f64) -> String {
    if ns.abs() >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}
