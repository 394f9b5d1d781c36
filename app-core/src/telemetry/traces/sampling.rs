//! Sampling decided when a trace starts here, before its first span exists, so that the spans of a
//! trace the sampler drops never reach `tracing-opentelemetry`.
//!
//! **Why.** `tracing-opentelemetry` builds an OpenTelemetry span for every `tracing` span it sees
//! (a `SpanBuilder`, each field as an attribute, the ids, the context attached on each enter) and
//! only then asks the SDK's sampler, so a span the sampler drops cost almost what an exported one
//! costs. Here the configured sampler (the same [`Sampler`], so the same rules: parent-based with the
//! configured root, the caller's `traceparent` flags, X-Ray's `Sampled=`) is asked once, by
//! [`start_trace`], when the request's or the import's span is made; a per-layer filter
//! ([`SampledOnly`]) then hides that span, and every span and event below it, from the OpenTelemetry
//! layer when the answer is no. Spans that start a trace anywhere else (none today) are decided by
//! the SDK as before.
//!
//! **Same ids as before.** A dropped trace still has ids for the log lines (the caller's trace id,
//! or a new one, and a new span id for the request, as the SDK made them), and outgoing calls below
//! it still carry a `traceparent` whose flags say "not sampled" ([`dropped_context`]), naming the
//! request's span id as the parent. For a sampled root the trace id the decision was made on is
//! the one the SDK gives the span ([`ChosenIds`]), so a ratio sampler decides once per trace, not
//! twice.

use std::cell::Cell;

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, ShouldSample,
};
use tracing::Span;
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

thread_local! {
    /// The decision for the span [`start_trace`] is making on this thread, while it makes it.
    static DECIDED: Cell<Option<bool>> = const { Cell::new(None) };
    /// The trace id the next root span built on this thread gets ([`ChosenIds`]).
    static NEXT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// A span that starts a trace here, or continues the remote `parent`.
#[derive(Debug)]
pub struct Started {
    /// The span `make` returned.
    pub span: Span,
    /// Its trace id and span id (for the log lines), sampled or not.
    pub ids: SpanContext,
    /// Whether the trace is sampled (the span is exported).
    pub sampled: bool,
}

/// Asks `sampler` about a trace continuing `parent` (or starting here without one), then makes its
/// first span with `make`: when sampled, a span the OpenTelemetry layer builds (its parent set to
/// `parent`), otherwise one the layer never sees, it or anything below it.
pub(super) fn start_trace(
    sampler: &Sampler,
    parent: Option<&opentelemetry::Context>,
    make: impl FnOnce() -> Span,
) -> Started {
    let ids = RandomIdGenerator::default();
    let remote = parent
        .map(|cx| cx.span().span_context().clone())
        .filter(SpanContext::is_valid);
    let trace_id = remote
        .as_ref()
        .map_or_else(|| ids.new_trace_id(), SpanContext::trace_id);
    let decision = sampler
        .should_sample(parent, trace_id, "", &SpanKind::Server, &[], &[])
        .decision;
    let sampled = decision == SamplingDecision::RecordAndSample;
    let span = decided(sampled, make);
    if !sampled {
        let trace_state = remote.map_or_else(TraceState::default, |sc| sc.trace_state().clone());
        let ids = SpanContext::new(
            trace_id,
            ids.new_span_id(),
            TraceFlags::default(),
            false,
            trace_state,
        );
        remember(&span, ids.clone());
        return Started { span, ids, sampled };
    }
    if let Some(parent) = parent {
        let _ = span.set_parent(parent.clone());
    }
    // Building the span here, on this thread, gives a root the trace id just decided on.
    NEXT_TRACE_ID.set(remote.is_none().then_some(trace_id));
    let ids = span.context().span().span_context().clone();
    NEXT_TRACE_ID.set(None);
    Started { span, ids, sampled }
}

/// `make()`, with the OpenTelemetry layer's filter told the decision for the span it makes.
fn decided(sampled: bool, make: impl FnOnce() -> Span) -> Span {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            DECIDED.set(None);
        }
    }
    DECIDED.set(Some(sampled));
    let _reset = Reset;
    make()
}

/// The per-layer filter of the OpenTelemetry layer: a span whose trace [`start_trace`] decided to
/// drop, and every span and event inside one, never reach it; a span outside any span (a trace
/// starting elsewhere) does, and the SDK's sampler decides as usual.
#[derive(Debug, Clone, Copy)]
pub(super) struct SampledOnly;

impl<S> Filter<S> for SampledOnly
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        if meta.is_span()
            && let Some(sampled) = DECIDED.get()
        {
            return sampled;
        }
        // The current span, unless this filter hid it (`Context::span` answers for this filter).
        match cx.current_span().id() {
            Some(id) => cx.span(id).is_some(),
            // An event outside every span has no span to be recorded on.
            None => meta.is_span(),
        }
    }

    fn callsite_enabled(&self, _meta: &'static Metadata<'static>) -> Interest {
        // The answer depends on the span being made and the current span: ask every time.
        Interest::sometimes()
    }
}

/// The ids of a dropped trace's first span, kept on it for [`dropped_context`].
#[derive(Debug)]
struct Dropped(SpanContext);

fn remember(span: &Span, ids: SpanContext) {
    span.with_subscriber(|(id, dispatch)| {
        if let Some(span) = dispatch.downcast_ref::<Registry>().and_then(|r| r.span(id)) {
            span.extensions_mut().insert(Dropped(ids));
        }
    });
}

/// The ids (flags: not sampled) of the dropped trace `span` is in, if it is in one: what outgoing
/// calls propagate so the callee does not sample the trace either.
pub(super) fn dropped_context(span: &Span) -> Option<SpanContext> {
    span.with_subscriber(|(id, dispatch)| {
        let span = dispatch.downcast_ref::<Registry>()?.span(id)?;
        span.scope()
            .find_map(|span| span.extensions().get::<Dropped>().map(|d| d.0.clone()))
    })
    .flatten()
}

/// The SDK's id generator: random ids, except that a root span built by [`start_trace`] gets the
/// trace id its sampling decision was made on.
#[derive(Debug, Default)]
pub(super) struct ChosenIds(RandomIdGenerator);

impl IdGenerator for ChosenIds {
    fn new_trace_id(&self) -> TraceId {
        NEXT_TRACE_ID
            .take()
            .unwrap_or_else(|| self.0.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        self.0.new_span_id()
    }
}
