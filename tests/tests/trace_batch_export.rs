//! `k8s-server`'s batched export ([`traces::export_every`]) sends as soon as a full batch (512
//! spans) waits, not only once a period: a busy pod would otherwise fill its buffer between two
//! ticks and drop spans a collector could take. One test binary of its own: the exporter is
//! process-wide.

use std::time::{Duration, Instant};

use app_core::telemetry::traces::{self, AwsResource};
use testkit::otlp::Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_batch_is_exported_at_once_without_waiting_for_the_period() {
    // GIVEN this process exporting every span, once an hour
    let receiver = Receiver::export_this_process("batch").await;
    tokio::spawn(traces::export_every(Duration::from_secs(3600)));

    // WHEN 600 spans end (more than one batch of 512)
    for _ in 0..600 {
        drop(traces::aws_client_span(
            "S3",
            "GetObject",
            AwsResource::Bucket("b"),
        ));
    }

    // THEN the receiver has a full batch within seconds, long before the period ends
    let started = Instant::now();
    while receiver.spans().len() < 512 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = receiver.spans().len();
    assert!(
        received >= 512,
        "{received} spans received within 5 s: a full batch waited for the hourly period"
    );
}
