-- wrk's report as data: `wrk -s wrk-report.lua ...` prints, after its text report, one line of
-- JSON that `cargo xtask bench` reads (xtask/src/bench/load.rs). Times are in microseconds.
--   requests        answers received (any status)
--   duration_us     how long the run took
--   errors          failures by kind: connect, read, write, timeout (sockets) and status
--                   (answers that are not 2xx or 3xx)
--   latency_us      p50, p90, p99, p99_9 (the 99.9th percentile) and max
--   requests_per_s  requests / duration, as wrk's "Requests/sec"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p99_9":%d,"max":%d},' ..
    '"requests_per_s":%.2f}\n',
    summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    summary.requests / (summary.duration / 1e6)))
end
