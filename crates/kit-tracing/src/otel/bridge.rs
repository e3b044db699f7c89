//! kit's span bridge for tracing-opentelemetry: kit's trace positions to OpenTelemetry span
//! contexts and back.

use kit::trace::span::{ParentScope, SpanBridge};
use kit::trace::{SpanId, TraceContext, TraceId};
use opentelemetry::trace::{
    SpanContext, SpanId as OtelSpanId, TraceContextExt as _, TraceFlags, TraceId as OtelTraceId,
    TraceState,
};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The [`SpanBridge`] for spans that tracing-opentelemetry's layer records.
///
/// A caller's trace with its sampling decision deferred (B3 without a sampling state) has no
/// OpenTelemetry equivalent (a span context is sampled or not); the bridge decides it here,
/// by the trace id, with the sampling ratio the bridge was made with, so that every process
/// with the same ratio makes the same decision for the same trace. It draws the decision
/// for a trace kit starts at the same ratio, before the trace's first span is opened, and
/// builds that span sampled when the draw says so, with kit's [`Sampler`](super::Sampler)
/// (which the tracer's provider must use).
#[derive(Debug, Clone, Copy)]
pub struct Bridge {
    /// `ratio` of the id space, as the bound that trace ids' low 63 bits are compared with.
    bound: u64,
}

impl Bridge {
    /// A bridge that samples deferred traces and the traces kit starts at `ratio` (clamped
    /// to 0..=1).
    pub fn new(ratio: f64) -> Bridge {
        Bridge {
            bound: ratio_bound(ratio),
        }
    }

    fn samples(&self, trace_id: TraceId) -> bool {
        low_bits(trace_id) < self.bound
    }
}

/// The bound below which a trace id's low 63 bits are sampled at `ratio`.
pub(crate) fn ratio_bound(ratio: f64) -> u64 {
    let ratio = if ratio.is_nan() {
        0.0
    } else {
        ratio.clamp(0.0, 1.0)
    };
    if ratio >= 1.0 {
        u64::MAX
    } else {
        // Exact for the ratios people write (0.5, 0.01): 2^63 is a power of two.
        (ratio * (1u64 << 63) as f64) as u64
    }
}

/// The low 63 bits of a trace id, the part that is random in every id generator.
pub(crate) fn low_bits(trace_id: TraceId) -> u64 {
    let bytes = trace_id.to_bytes();
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[8..]);
    u64::from_be_bytes(low) & (u64::MAX >> 1)
}

impl Bridge {
    /// `trace`, a position of another process (or of an unsampled call of this one), as
    /// the OpenTelemetry context of a remote parent.
    fn remote(&self, trace: &TraceContext) -> opentelemetry::Context {
        let sampled = trace
            .sampled()
            .unwrap_or_else(|| self.samples(trace.trace_id()));
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let state = match trace.trace_state() {
            "" => TraceState::NONE,
            listed => listed.parse().unwrap_or(TraceState::NONE),
        };
        let remote = SpanContext::new(
            OtelTraceId::from_bytes(trace.trace_id().to_bytes()),
            OtelSpanId::from_bytes(trace.span_id().to_bytes()),
            flags,
            true,
            state,
        );
        opentelemetry::Context::new().with_remote_span_context(remote)
    }
}

/// An unsampled call's position as an OpenTelemetry context, attached while the call is
/// polled: tracing-opentelemetry makes a span opened outside any `tracing` span a child of
/// the current OpenTelemetry context (its layer's default, context activation).
struct Attached(opentelemetry::Context);

impl ParentScope for Attached {
    fn run(&self, poll: &mut dyn FnMut()) {
        let _guard = self.0.clone().attach();
        poll();
    }
}

impl SpanBridge for Bridge {
    fn set_remote_parent(&self, span: &tracing::Span, parent: &TraceContext) {
        // An error means the span is disabled or already started: it then has no place in
        // this trace to set, and the caller gets `context` = None or the started span's.
        let _ = span.set_parent(self.remote(parent));
    }

    fn may_sample(&self, parent: Option<&TraceContext>) -> bool {
        match parent {
            Some(parent) => parent
                .sampled()
                .unwrap_or_else(|| self.samples(parent.trace_id())),
            // A new trace: drawn here, at the ratio, so that a span is opened only for the
            // traces that are sampled (built sampled by `root_context`); no draw at 0 or 1.
            None => match self.bound {
                0 => false,
                u64::MAX => true,
                _ => self.samples(TraceId::random()),
            },
        }
    }

    fn root_context(&self, span: &tracing::Span) -> Option<TraceContext> {
        // The span is built (and the sampler asked) by its first `context`.
        super::sampler::forcing_root(|| self.context(span))
    }

    fn unsampled_parent(&self, trace: &TraceContext) -> Box<dyn ParentScope> {
        Box::new(Attached(self.remote(trace)))
    }

    fn context(&self, span: &tracing::Span) -> Option<TraceContext> {
        if span.is_disabled() {
            return None;
        }
        let cx = span.context();
        let otel = cx.span();
        let own = otel.span_context();
        if !own.is_valid() {
            return None;
        }
        let context = TraceContext::new(
            TraceId::from_bytes(own.trace_id().to_bytes()),
            SpanId::from_bytes(own.span_id().to_bytes()),
        )?
        .with_sampled(Some(own.is_sampled()));
        let state = own.trace_state();
        Some(if *state == TraceState::NONE {
            context
        } else {
            context.with_trace_state(&state.header())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt as _;

    /// `f` with a subscriber whose OpenTelemetry layer samples parent-based, and the bridge.
    fn traced<R>(bridge: Bridge, f: impl FnOnce(&Bridge) -> R) -> R {
        let provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || f(&bridge))
    }

    fn remote(traceparent_flags: Option<bool>) -> TraceContext {
        TraceContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        )
        .unwrap()
        .with_sampled(traceparent_flags)
        .with_trace_state("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
    }

    #[test]
    fn a_span_under_a_remote_parent_joins_its_trace_with_its_decision_and_state() {
        for decision in [true, false] {
            let parent = remote(Some(decision));
            let own = traced(Bridge::new(1.0), |bridge| {
                let span = tracing::info_span!("server");
                bridge.set_remote_parent(&span, &parent);
                bridge.context(&span).unwrap()
            });
            assert_eq!(own.trace_id(), parent.trace_id());
            assert_ne!(own.span_id(), parent.span_id());
            assert_eq!(own.sampled(), Some(decision));
            assert_eq!(own.trace_state(), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        }
    }

    #[test]
    fn a_deferred_decision_is_made_by_the_ratio() {
        for (ratio, sampled) in [(1.0, true), (0.0, false)] {
            let own = traced(Bridge::new(ratio), |bridge| {
                let span = tracing::info_span!("server");
                bridge.set_remote_parent(&span, &remote(None));
                bridge.context(&span).unwrap()
            });
            assert_eq!(own.sampled(), Some(sampled), "ratio {ratio}");
        }
    }

    #[test]
    fn a_span_without_the_layer_or_disabled_has_no_position() {
        let bridge = Bridge::new(1.0);
        // No subscriber at all: the span is disabled.
        assert_eq!(bridge.context(&tracing::info_span!("x")), None);
        // A subscriber without the OpenTelemetry layer.
        let plain = tracing_subscriber::registry();
        tracing::subscriber::with_default(plain, || {
            assert_eq!(bridge.context(&tracing::info_span!("x")), None);
        });
    }

    #[test]
    fn a_span_with_a_parent_may_be_sampled_unless_the_parent_is_not() {
        let (sampled, unsampled, deferred) =
            (remote(Some(true)), remote(Some(false)), remote(None));
        let all = Bridge::new(1.0);
        assert!(all.may_sample(Some(&sampled)));
        assert!(!all.may_sample(Some(&unsampled)));
        assert!(all.may_sample(Some(&deferred)));
        let none = Bridge::new(0.0);
        assert!(none.may_sample(Some(&sampled)));
        assert!(!none.may_sample(Some(&deferred)));
    }

    #[test]
    fn a_new_trace_is_drawn_at_the_ratio() {
        const DRAWS: usize = 2000;
        let count = |ratio| {
            let bridge = Bridge::new(ratio);
            (0..DRAWS).filter(|_| bridge.may_sample(None)).count()
        };
        assert_eq!(count(0.0), 0);
        assert_eq!(count(1.0), DRAWS);
        // Binomial(2000, 0.5): 1000 with a standard deviation of 22; 150 off is 6.7 of them.
        let half = count(0.5);
        assert!((850..=1150).contains(&half), "{half} of {DRAWS}");
    }

    #[test]
    fn a_span_opened_while_an_unsampled_parent_is_attached_is_its_unsampled_child() {
        let parent = remote(Some(false));
        let (child, outside) = traced(Bridge::new(1.0), |bridge| {
            let mut child = None;
            bridge.unsampled_parent(&parent).run(&mut || {
                child = bridge.context(&tracing::info_span!("user"));
            });
            let outside = bridge.context(&tracing::info_span!("user")).unwrap();
            (child.unwrap(), outside)
        });
        assert_eq!(child.trace_id(), parent.trace_id());
        assert_ne!(child.span_id(), parent.span_id());
        assert_eq!(child.sampled(), Some(false));
        // Once polled, the parent is no longer current: a span is a new root again.
        assert_ne!(outside.trace_id(), parent.trace_id());
        assert_eq!(outside.sampled(), Some(true));
    }

    #[test]
    fn the_ratio_bound_splits_the_id_space() {
        assert_eq!(ratio_bound(0.5), 1 << 62);
        assert_eq!(ratio_bound(1.0), u64::MAX);
        assert_eq!(ratio_bound(2.0), u64::MAX);
        assert_eq!(ratio_bound(-1.0), 0);
        assert_eq!(ratio_bound(f64::NAN), 0);
        let high = TraceId::from_hex("0000000000000000c000000000000000").unwrap();
        assert_eq!(low_bits(high), 1 << 62);
        assert!(!Bridge::new(0.5).samples(high));
        let low = TraceId::from_hex("00000000000000003fffffffffffffff").unwrap();
        assert!(Bridge::new(0.5).samples(low));
    }
}
