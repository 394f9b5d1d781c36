//! An OTLP/HTTP trace receiver on loopback: `POST /v1/traces` bodies decoded as
//! `ExportTraceServiceRequest` with the protocol's own types (`opentelemetry-proto`, prost), kept as
//! [`ReceivedSpan`]s. It can also hang (accept and never answer), to test a slow collector.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app_core::config::Env;
use app_core::telemetry::{self, LogSettings, traces};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use tokio::net::TcpListener;

/// One span as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits, empty for a root span.
    pub parent_span_id: String,
    /// The span's name.
    pub name: String,
    /// `server`, `client`, `internal`, ...
    pub kind: &'static str,
    /// Attributes as text (numbers in decimal).
    pub attributes: BTreeMap<String, String>,
    /// `error` when the span's status is an error, else empty.
    pub status: &'static str,
    /// The resource's `service.name`.
    pub service_name: String,
}

/// A running receiver (stops with the test's runtime).
#[derive(Clone)]
pub struct Receiver {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    hang: Arc<AtomicBool>,
}

impl Receiver {
    /// Starts a receiver on a free port of 127.0.0.1 (on the current Tokio runtime).
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let receiver = Receiver {
            addr: listener.local_addr().expect("a bound address"),
            spans: Arc::default(),
            hang: Arc::default(),
        };
        let serving = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let serving = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| serving.clone().answer(req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        receiver
    }

    /// Starts a receiver and makes this process export every span to it as `service_name`
    /// (`telemetry::init` with the standard variables; once per process, as the subscriber is global).
    pub async fn export_this_process(service_name: &str) -> Receiver {
        let receiver = Receiver::start().await;
        let endpoint = receiver.endpoint();
        let settings = LogSettings::read(&Env::from_fn(|name| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
            "OTEL_TRACES_SAMPLER" => Some("always_on".to_owned()),
            "OTEL_SERVICE_NAME" => Some(service_name.to_owned()),
            _ => None,
        }))
        .expect("trace settings");
        telemetry::init(&settings, &crate::https::transport());
        assert!(
            traces::enabled(),
            "traces were already set up otherwise in this process"
        );
        receiver
    }

    /// `http://127.0.0.1:PORT`, the value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, requests are read and never answered (`false`: answered again).
    pub fn hang(&self, hang: bool) {
        self.hang.store(hang, Ordering::SeqCst);
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// Every span received since the last call, which forgets them (a long run counts its spans
    /// this way without keeping them all).
    pub fn take_spans(&self) -> Vec<ReceivedSpan> {
        std::mem::take(&mut *self.spans.lock().unwrap())
    }

    /// The spans of the trace `trace_id`, once `count` of them arrived (or what arrived within
    /// `within`).
    pub async fn trace(&self, trace_id: &str, count: usize, within: Duration) -> Vec<ReceivedSpan> {
        let started = Instant::now();
        loop {
            let spans: Vec<_> = self
                .spans()
                .into_iter()
                .filter(|s| s.trace_id == trace_id)
                .collect();
            if spans.len() >= count || started.elapsed() > within {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn answer(self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
        let path_ok = req.uri().path() == "/v1/traces";
        let body = req.into_body().collect().await?.to_bytes();
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let decoded = path_ok
            .then(|| ExportTraceServiceRequest::decode(body))
            .and_then(Result::ok);
        let status = match decoded {
            Some(request) => {
                self.spans.lock().unwrap().extend(spans_of(request));
                StatusCode::OK
            }
            None => StatusCode::BAD_REQUEST,
        };
        Ok(Response::builder()
            .status(status)
            .header("content-type", "application/x-protobuf")
            .body(Full::new(Bytes::new()))
            .expect("a valid response"))
    }
}

fn spans_of(request: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let service_name = resource_spans
            .resource
            .map(|r| attributes(r.attributes))
            .and_then(|mut a| a.remove("service.name"))
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                spans.push(ReceivedSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: match span.kind {
                        1 => "internal",
                        2 => "server",
                        3 => "client",
                        4 => "producer",
                        5 => "consumer",
                        _ => "unspecified",
                    },
                    name: span.name,
                    attributes: attributes(span.attributes),
                    status: match span.status.map(|s| s.code) {
                        Some(2) => "error",
                        _ => "",
                    },
                    service_name: service_name.clone(),
                });
            }
        }
    }
    spans
}

fn attributes(
    attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
) -> BTreeMap<String, String> {
    attributes
        .into_iter()
        .map(|kv| {
            let value = match kv.value.and_then(|v| v.value) {
                Some(Value::StringValue(s)) => s,
                Some(Value::IntValue(i)) => i.to_string(),
                Some(Value::BoolValue(b)) => b.to_string(),
                Some(Value::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key, value)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spans as an indented tree (children under their parent, in start order of arrival): what
/// `cargo xtask demo` prints, and what a failing test shows.
pub fn tree(spans: &[ReceivedSpan]) -> String {
    fn walk(spans: &[ReceivedSpan], parent: &str, depth: usize, out: &mut String) {
        for span in spans.iter().filter(|s| s.parent_span_id == parent) {
            let status = if span.status.is_empty() {
                ""
            } else {
                " [error]"
            };
            out.push_str(&format!(
                "{}{} ({}){status}\n",
                "  ".repeat(depth),
                span.name,
                span.kind
            ));
            walk(spans, &span.span_id, depth + 1, out);
        }
    }
    let ids: Vec<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut out = String::new();
    for root in spans
        .iter()
        .filter(|s| !ids.contains(&s.parent_span_id.as_str()))
    {
        out.push_str(&format!("{} ({})\n", root.name, root.kind));
        walk(spans, &root.span_id, 1, &mut out);
    }
    out
}
