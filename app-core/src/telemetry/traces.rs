//! Traces: OpenTelemetry spans from the service's `tracing` spans, exported over OTLP/HTTP.
//!
//! **Why `tracing` + `tracing-opentelemetry`, not the OpenTelemetry API directly.** The service
//! already runs every request in a `tracing` span whose fields every log line carries (the request
//! id); the OpenTelemetry span *is* that span, so the log lines and the trace share one context and
//! one set of ids with no second span stack, and code below the contract (the store, the import)
//! opens an ordinary `tracing` span that becomes a child. When no endpoint is configured no layer is
//! installed and the spans cost what they cost today.
//!
//! **Sampling** is decided when a trace starts here (the request's span, the import's), before its
//! first span exists, by the configured sampler: the spans of a trace it drops never reach
//! `tracing-opentelemetry`, which would otherwise build each of them in full before the SDK
//! dropped it (see `sampling`).
//!
//! **Export.** Finished, sampled spans go into one bounded buffer ([`MAX_BUFFERED_SPANS`]; a span
//! that does not fit is dropped and counted). Nothing on the request path waits on the collector:
//! ending a span is a push under a lock. *When* the buffer is sent is the front door's choice, because
//! it depends on its runtime: `k8s-server` runs [`export_every`] on its runtime (batched, once a
//! second), `lambda-fn` awaits [`flush`] before each invocation's response is posted (the environment
//! freezes afterwards, so nothing may be left to send). One export takes at most
//! [`EXPORT_TIMEOUT`](settings::EXPORT_TIMEOUT); spans whose export failed or timed out are dropped
//! and counted in [`metric::SPANS_DROPPED`](super::metric::SPANS_DROPPED) and a `spans dropped` log
//! line. The HTTP client is the front door's transport (the SDK's connector), so no second client is
//! linked.

mod outgoing;
mod sampling;
mod settings;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_smithy_runtime_api::client::http::{HttpConnector, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use http_body_util::{BodyExt, Limited};
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    Sampler, SdkTracerProvider, Span, SpanData, SpanExporter as _, SpanProcessor,
};
use tracing_subscriber::Layer as _;
use tracing_subscriber::registry::LookupSpan;

pub use outgoing::{TraceParent, http_client_span, record_http_outcome, trace_headers};
pub use sampling::Started;
pub use settings::{
    DEFAULT_SERVICE_NAME, EXPORT_TIMEOUT, ExportSettings, Root, SamplerSetting, TraceSettings,
};

use super::metric;
use crate::transport::Transport;

/// The most finished spans held between two exports; more are dropped and counted.
pub const MAX_BUFFERED_SPANS: usize = 2048;

/// The most spans sent in one export request.
const MAX_EXPORT_BATCH: usize = 512;

/// The largest collector answer read (it is only checked for its status).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The instrumentation scope's name on every span.
const SCOPE: &str = "app-core";

/// The export pipeline, built once when an endpoint is configured.
struct Pipeline {
    buffer: Arc<Buffer>,
    exporter: opentelemetry_otlp::SpanExporter,
    /// One export at a time, in order.
    exporting: tokio::sync::Mutex<()>,
    /// `OTEL_TRACES_SAMPLER`'s sampler, asked when a trace starts ([`start_trace`]).
    sampler: Sampler,
    /// Kept so the tracer's provider lives as long as the process.
    _provider: SdkTracerProvider,
}

static PIPELINE: OnceLock<Pipeline> = OnceLock::new();

/// Whether spans are exported in this process (an endpoint was configured and the pipeline built).
pub fn enabled() -> bool {
    PIPELINE.get().is_some()
}

/// Builds the export pipeline `settings` describe, on `transport`'s connector, and returns the layer
/// that turns `tracing` spans into OpenTelemetry spans; `None` when export is off (nothing is built).
/// Called once, by `telemetry::init`.
pub(super) fn layer<S>(
    settings: &TraceSettings,
    transport: &Transport,
) -> Option<impl tracing_subscriber::Layer<S> + use<S>>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let TraceSettings::Export(export) = settings else {
        return None;
    };
    let resource = resource(export);
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(Connector((transport.connector())()))
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(export.traces_url.as_str())
        .with_timeout(EXPORT_TIMEOUT)
        .with_headers(
            export
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
                .collect(),
        )
        .build()
        .ok()?;
    exporter.set_resource(&resource);
    let buffer = Arc::new(Buffer::default());
    let sampler = sampler(export.sampler);
    let provider = SdkTracerProvider::builder()
        .with_span_processor(Buffered(buffer.clone()))
        .with_sampler(sampler.clone())
        .with_id_generator(sampling::ChosenIds::default())
        .with_resource(resource)
        .build();
    let tracer = provider.tracer(SCOPE);
    let pipeline = Pipeline {
        buffer,
        exporter,
        exporting: tokio::sync::Mutex::new(()),
        sampler,
        _provider: provider,
    };
    PIPELINE.set(pipeline).ok()?;
    Some(
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_target(false)
            .with_level(false)
            // Nothing here reads OpenTelemetry's current context (parents come from the `tracing`
            // span tree, outgoing headers from `Span::context`): attaching it on every enter of
            // every span would be paid for nothing.
            .with_context_activation(false)
            .with_filter(sampling::SampledOnly),
    )
}

/// Makes the first span of a trace that starts here, or continues the remote `parent`, with `make`,
/// after asking the sampler (see `sampling`): a dropped trace's spans never reach OpenTelemetry.
/// With export off, just `make()` (no ids, not sampled).
pub fn start_trace(
    parent: Option<&opentelemetry::Context>,
    make: impl FnOnce() -> tracing::Span,
) -> Started {
    match PIPELINE.get() {
        Some(pipeline) => sampling::start_trace(&pipeline.sampler, parent, make),
        None => Started {
            span: make(),
            ids: opentelemetry::trace::SpanContext::empty_context(),
            sampled: false,
        },
    }
}

fn resource(export: &ExportSettings) -> Resource {
    Resource::builder_empty()
        .with_attributes(
            export
                .resource
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .with_service_name(export.service_name.clone())
        .build()
}

fn sampler(setting: SamplerSetting) -> Sampler {
    let root = |root| match root {
        Root::AlwaysOn => Sampler::AlwaysOn,
        Root::AlwaysOff => Sampler::AlwaysOff,
        Root::Ratio(ratio) => Sampler::TraceIdRatioBased(ratio),
    };
    match setting {
        SamplerSetting::AlwaysOn => Sampler::AlwaysOn,
        SamplerSetting::AlwaysOff => Sampler::AlwaysOff,
        SamplerSetting::Ratio(ratio) => Sampler::TraceIdRatioBased(ratio),
        SamplerSetting::ParentBased(inner) => Sampler::ParentBased(Box::new(root(inner))),
    }
}

/// Sends every span finished so far, and waits for the collector's answer (at most
/// [`EXPORT_TIMEOUT`] a request). What `lambda-fn` awaits before an invocation's response is posted;
/// a no-op when export is off.
pub async fn flush() {
    let Some(pipeline) = PIPELINE.get() else {
        return;
    };
    let _one_at_a_time = pipeline.exporting.lock().await;
    let overflowed = pipeline.buffer.overflowed.swap(0, Ordering::Relaxed);
    if overflowed > 0 {
        dropped(overflowed, "buffer full");
    }
    let spans = std::mem::take(&mut *pipeline.buffer.lock());
    let mut spans = spans.into_iter().peekable();
    while spans.peek().is_some() {
        let batch: Vec<SpanData> = spans.by_ref().take(MAX_EXPORT_BATCH).collect();
        let count = batch.len() as u64;
        if let Err(err) = pipeline.exporter.export(batch).await {
            dropped(count, &err.to_string());
        }
    }
}

/// Exports the finished spans every `period`, and sooner whenever a full export batch is waiting,
/// forever: `k8s-server`'s batched export (spawned on its runtime). Returns at once when export is
/// off. Exporting as soon as a batch is ready, as OpenTelemetry's batch processor does, keeps a busy
/// server from filling the buffer between two ticks and dropping spans a collector could take.
pub async fn export_every(period: Duration) {
    let Some(pipeline) = PIPELINE.get() else {
        return;
    };
    loop {
        // Either a batch is ready or the period is over: both mean export now.
        let _ = tokio::time::timeout(period, pipeline.buffer.batch_ready.notified()).await;
        flush().await;
    }
}

/// Counts and logs spans that will never reach the collector.
fn dropped(count: u64, reason: &str) {
    metrics::counter!(metric::SPANS_DROPPED).increment(count);
    tracing::warn!(spans = count, reason = %reason.escape_debug(), "spans dropped");
}

/// Finished spans waiting for the next export.
#[derive(Debug, Default)]
struct Buffer {
    spans: Mutex<Vec<SpanData>>,
    /// Spans dropped because the buffer was full, since the last export.
    overflowed: AtomicU64,
    /// Woken when the buffer holds a full export batch ([`export_every`] exports at once).
    batch_ready: tokio::sync::Notify,
}

impl Buffer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SpanData>> {
        self.spans
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The span processor: each finished, sampled span into the [`Buffer`]; never waits.
#[derive(Debug)]
struct Buffered(Arc<Buffer>);

impl SpanProcessor for Buffered {
    fn on_start(&self, _span: &mut Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        let mut spans = self.0.lock();
        if spans.len() < MAX_BUFFERED_SPANS {
            spans.push(span);
            if spans.len() == MAX_EXPORT_BATCH {
                self.0.batch_ready.notify_one();
            }
        } else {
            self.0.overflowed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        // Exporting needs the runtime: the front doors call `flush` (async) instead.
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The OTLP exporter's HTTP client: the front door's connector (`crate::transport`), each request
/// bounded by [`EXPORT_TIMEOUT`].
#[derive(Debug)]
struct Connector(SharedHttpConnector);

#[async_trait]
impl HttpClient for Connector {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = HttpRequest::try_from(request.map(SdkBody::from))?;
        let answer = async {
            let response = self.0.call(request).await?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await?
                .to_bytes();
            Ok::<_, HttpError>(Response::builder().status(status).body(body)?)
        };
        tokio::time::timeout(EXPORT_TIMEOUT, answer)
            .await
            .map_err(|_| format!("no answer within {EXPORT_TIMEOUT:?}"))?
    }
}

/// The client span of one AWS call (the AWS SDK conventions: `rpc.system` `aws-api`, `rpc.service`,
/// `rpc.method`; `aws.dynamodb.table_names` or `aws.s3.bucket` as `resource` says), named
/// `{service}.{operation}`; a disabled span, costing nothing, when export is off. Instrument the
/// call's future with it and end with [`record_outcome`].
pub fn aws_client_span(service: &str, operation: &str, resource: AwsResource<'_>) -> tracing::Span {
    if !enabled() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "aws",
        otel.name = format!("{service}.{operation}"),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        rpc.system = "aws-api",
        rpc.service = service,
        rpc.method = operation,
        aws.dynamodb.table_names = tracing::field::Empty,
        aws.s3.bucket = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    match resource {
        AwsResource::Table(table) => span.record("aws.dynamodb.table_names", table),
        AwsResource::Bucket(bucket) => span.record("aws.s3.bucket", bucket),
    };
    span
}

/// What an AWS call works on, as its client span names it.
#[derive(Debug, Clone, Copy)]
pub enum AwsResource<'a> {
    /// A DynamoDB table.
    Table(&'a str),
    /// An S3 bucket.
    Bucket(&'a str),
}

/// Records a call's outcome on its `span`: an error sets the error status and `error.type`,
/// `unavailable` when `transient` says a retry may succeed, else `failed`.
pub fn record_outcome<T, E>(
    span: &tracing::Span,
    result: &Result<T, E>,
    transient: impl Fn(&E) -> bool,
) {
    if let Err(err) = result {
        let error_type = if transient(err) {
            "unavailable"
        } else {
            "failed"
        };
        span.record("error.type", error_type);
        span.record("otel.status_code", "error");
    }
}
