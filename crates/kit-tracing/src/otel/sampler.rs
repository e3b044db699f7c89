//! kit's sampler: the SDK's `ParentBased(TraceIdRatioBased(ratio))`, except for the new
//! traces whose decision kit's [`Bridge`](super::Bridge) made before opening their first
//! span.
//!
//! A request that starts a trace (no caller's trace) at a ratio between 0 and 1 would
//! otherwise pay for a span whatever the decision: the SDK decides a new trace on the trace
//! id it draws when the span is built, so a server must open the span to learn it. kit's
//! bridge draws the decision first ([`SpanBridge::may_sample`] of no parent), opens no span
//! when it says no, and builds the span of a trace it said yes to with [`forcing_root`]
//! around the build: the one place this sampler samples a new trace whatever its trace id.
//! A new trace started anywhere else (a span of the service's own outside any request) is
//! sampled at the ratio by its trace id, as by the SDK's sampler.
//!
//! [`SpanBridge::may_sample`]: kit::trace::span::SpanBridge::may_sample

use std::cell::Cell;

use opentelemetry::trace::{Link, SpanKind, TraceContextExt as _, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    Sampler as SdkSampler, SamplingDecision, SamplingResult, ShouldSample,
};

thread_local! {
    /// Set while the bridge builds the first span of a trace it decided to sample.
    static FORCED_ROOT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `build` (the build of a new trace's first span, on this thread) with that span
/// sampled by [`Sampler`]; the mark is cleared when `build` returns or unwinds, so that it
/// reaches no other span.
pub(crate) fn forcing_root<R>(build: impl FnOnce() -> R) -> R {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            FORCED_ROOT.set(false);
        }
    }
    FORCED_ROOT.set(true);
    let _clear = Clear;
    build()
}

/// The OpenTelemetry sampler for kit's spans: a span with a parent follows the parent's
/// decision; a new trace is sampled at `ratio` by its trace id (as the SDK's
/// `ParentBased(TraceIdRatioBased(ratio))`), unless kit's bridge decided it already (it
/// draws the decision before a server or client opens the trace's first span, and opens
/// none when the answer is no). [`Tracing`](super::Tracing) builds its provider with it; a
/// provider built by hand for [`layer`](super::layer) should use it with the same ratio, or
/// the new traces kit decided to sample are decided a second time.
#[derive(Debug, Clone)]
pub struct Sampler {
    ratio: SdkSampler,
}

impl Sampler {
    /// Samples new traces at `ratio` (0..=1; outside, the SDK's clamping applies).
    pub fn new(ratio: f64) -> Sampler {
        Sampler {
            ratio: SdkSampler::ParentBased(Box::new(SdkSampler::TraceIdRatioBased(ratio))),
        }
    }
}

impl ShouldSample for Sampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let root = !parent_context.is_some_and(Context::has_active_span);
        if root && FORCED_ROOT.get() {
            return SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                trace_state: TraceState::NONE,
            };
        }
        self.ratio
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

#[cfg(test)]
mod tests {
    use kit::trace::span::SpanBridge as _;
    use opentelemetry::trace::{SpanId, TracerProvider as _};
    use opentelemetry_sdk::trace::{IdGenerator, SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::Sampler;
    use crate::otel::Bridge;

    /// The one trace id of every new trace, chosen against the ratio 0.5: the SDK's
    /// `TraceIdRatioBased` samples the ids whose low 64 bits, shifted right by one, are below
    /// 2^62, which these (all ones) are not.
    const REJECTED: [u8; 16] = [
        0x01, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];
    /// Low bits all zero: sampled at any ratio above 0.
    const ACCEPTED: [u8; 16] = [0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    #[derive(Debug)]
    struct FixedTraceId([u8; 16]);

    impl IdGenerator for FixedTraceId {
        fn new_trace_id(&self) -> opentelemetry::trace::TraceId {
            opentelemetry::trace::TraceId::from_bytes(self.0)
        }
        fn new_span_id(&self) -> SpanId {
            SpanId::from_bytes(kit::trace::SpanId::random().to_bytes())
        }
    }

    /// `f` with a subscriber whose tracer samples with kit's sampler at `ratio` and gives
    /// every new trace the id `trace_id`, and a bridge at the same ratio.
    fn traced<R>(ratio: f64, trace_id: [u8; 16], f: impl FnOnce(&Bridge) -> R) -> R {
        let provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::new(ratio))
            .with_id_generator(FixedTraceId(trace_id))
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || f(&Bridge::new(ratio)))
    }

    fn sampled(bridge: &Bridge, span: &tracing::Span) -> Option<bool> {
        bridge.context(span).unwrap().sampled()
    }

    #[test]
    fn a_new_trace_of_the_services_own_is_sampled_by_its_trace_id_at_the_ratio() {
        for (ratio, trace_id, expected) in [
            (0.0, ACCEPTED, false),
            (1.0, REJECTED, true),
            (0.5, REJECTED, false),
            (0.5, ACCEPTED, true),
        ] {
            let decided = traced(ratio, trace_id, |bridge| {
                sampled(bridge, &tracing::info_span!("job"))
            });
            assert_eq!(
                decided,
                Some(expected),
                "ratio {ratio}, trace id {trace_id:?}"
            );
        }
    }

    #[test]
    fn a_new_trace_kit_decided_is_sampled_whatever_its_trace_id_and_only_it() {
        traced(0.5, REJECTED, |bridge| {
            let before = sampled(bridge, &tracing::info_span!("job"));
            let root = tracing::info_span!("server");
            let own = bridge.root_context(&root).unwrap();
            let after = sampled(bridge, &tracing::info_span!("job"));
            assert_eq!(own.trace_id().to_bytes(), REJECTED);
            assert_eq!(own.sampled(), Some(true));
            // The spans built before and after are decided by the ratio again.
            assert_eq!((before, after), (Some(false), Some(false)));
            // Already built: the decision stands.
            assert_eq!(bridge.root_context(&root).unwrap(), own);
        });
    }

    #[test]
    fn a_span_kit_took_for_a_root_follows_the_parent_it_has() {
        traced(0.5, REJECTED, |bridge| {
            let job = tracing::info_span!("job");
            let inside = job.in_scope(|| bridge.root_context(&tracing::info_span!("server")));
            assert_eq!(inside.unwrap().sampled(), Some(false));
        });
    }
}
