//! Request tracing: kit's server and client spans (and the service's own `tracing` spans
//! inside them) exported as OpenTelemetry spans.
//!
//! [`layer`] is tracing-opentelemetry's layer on an OpenTelemetry tracer, with kit's
//! [`Bridge`] installed, which turns on the spans of kit's transports (see
//! [`kit::trace::span`]): one server span per request, one client span per call, the
//! service's own spans nested inside them, and the trace carried on to the next process.
//!
//! ```
//! use opentelemetry::trace::TracerProvider as _;
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! let provider = SdkTracerProvider::builder().build();
//! let subscriber = tracing_subscriber::registry()
//!     .with(kit_tracing::otel::layer(provider.tracer("svc"), 1.0));
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("work");
//!     let bridge = kit::trace::span::bridge().expect("layer installs kit's bridge");
//!     let position = bridge.context(&span).expect("the span is traced");
//!     assert_eq!(position.sampled(), Some(true));
//! });
//! ```
//!
//! [`Tracing`] is the whole export side, started inside the service's tokio runtime:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use kit_tracing::otel::{OtlpProtocol, Tracing};
//!
//! let tracing = Tracing::builder("addsvc")
//!     .otlp("http://127.0.0.1:4317", OtlpProtocol::Grpc)
//!     .zipkin("http://127.0.0.1:9411/api/v2/spans")
//!     .sample_ratio(0.1)
//!     .start()?;
//! kit_tracing::try_init_traced(kit_tracing::Format::Logfmt, "info", &tracing)?;
//! let handle = tracing.handle();
//! // ... serve ...
//! handle.flush_and_stop().await?;
//! # Ok(()) }
//! ```
//!
//! # The model
//!
//! - **Sampling**: a new trace is recorded at the builder's ratio; a span with a parent,
//!   local or from the caller's headers, follows the parent's decision, and a caller that
//!   deferred it gets the same ratio (kit's [`Bridge`]). A request or call that starts a
//!   trace is decided by the bridge before its span is made, and built sampled when the
//!   decision is yes (kit's [`Sampler`], the SDK's `ParentBased(TraceIdRatioBased(ratio))`
//!   but for those); a trace the service starts itself (a span of its own outside any
//!   request) is decided by the sampler at the ratio. A span not sampled costs no export; a
//!   request or call known not to be sampled before its span is made (the caller says so,
//!   or the bridge's draw for a new trace) opens no span at all (see [`kit::trace::span`]'s
//!   unsampled calls).
//! - **Resource**: `service.name` is the builder's service name, on every exporter.
//! - **Export**: each exporter has kit's own batch processor. Ending a span puts it on a
//!   bounded queue (`max_queue`, 2048) without ever waiting: when the queue is full the span
//!   is dropped and counted ([`TraceHandle::dropped`]). A tokio task per exporter takes spans
//!   off the queue and exports them `max_batch` (512) at a time, or what is there every
//!   `interval` (1 s), one export at a time, each bounded by `export_timeout` (5 s). A failed
//!   or timed-out export drops its spans (counted; one warning per exporter per 10 s at most);
//!   nothing is retried, so a collector that is down costs a bounded amount of memory and
//!   time. [`TraceHandle::flush`] exports what is queued; [`TraceHandle::flush_and_stop`],
//!   called as the service exits, also stops the tasks.
//! - **Exporters**: OTLP over gRPC (tonic, the workspace's version) or HTTP with protobuf
//!   bodies (hyper, through opentelemetry-http's hyper client), both from
//!   `opentelemetry-otlp` 0.33.1 without its default reqwest client and without TLS; Zipkin
//!   API v2 JSON from kit's own small exporter on hyper's client, because
//!   `opentelemetry-zipkin` 0.33.0 never writes the service name (`localEndpoint` holds only
//!   an address), so Zipkin would file every span under no service.
//!
//! # Why not the SDK's `BatchSpanProcessor`
//!
//! opentelemetry_sdk 0.33.1's `BatchSpanProcessor` exports on a thread of its own
//! (`OpenTelemetry.Traces.BatchProcessor`) and drives each export with
//! `futures_executor::block_on`. The OTLP exporters over tonic and hyper need a tokio
//! runtime (their connections and timers are tokio's), which that thread does not have, so
//! they would fail or hang there; the SDK's answer is a blocking HTTP client (reqwest's,
//! with its own runtime and TLS stack) or its experimental async-runtime processor. And it
//! counts the spans it drops only internally (logged once at shutdown), while a service
//! should be able to report them. kit's processor runs the export on the service's runtime
//! and counts what it drops and exports.

mod bridge;
mod export;
mod processor;
mod sampler;
mod zipkin;

pub use bridge::Bridge;
pub use export::{Error, ExportStackFilter, OtlpProtocol, TraceHandle, Tracing, TracingBuilder};
pub use sampler::Sampler;

use opentelemetry::trace::Tracer;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// tracing-opentelemetry's layer recording spans with `tracer`, after installing kit's
/// [`Bridge`] (sampling traces whose caller deferred the decision, and those kit starts, at
/// `sample_ratio`) unless a bridge is installed already. `tracer`'s provider should sample
/// with [`Sampler`] at the same ratio: with another sampler, a trace the bridge decided to
/// start is decided again by that sampler.
///
/// Spans carry their fields as attributes and nothing else: not the source location,
/// thread, `tracing` target or busy and idle times that tracing-opentelemetry can add
/// (attributes the semantic conventions do not name, on every span).
pub fn layer<S, T>(tracer: T, sample_ratio: f64) -> OpenTelemetryLayer<S, T>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    T: Tracer + 'static,
    T::Span: Send + Sync,
{
    if kit::trace::span::bridge().is_none() {
        kit::trace::span::install_bridge(Box::leak(Box::new(Bridge::new(sample_ratio))));
    }
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
}

#[cfg(test)]
mod tests {
    use kit::Context;
    use kit::trace::span::{SpanBridge as _, start_client, start_server};
    use kit::trace::{SpanId, TraceContext, TraceId};
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt as _;

    fn traced<R>(f: impl FnOnce() -> R) -> R {
        let provider = SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(super::layer(provider.tracer("t"), 1.0));
        tracing::subscriber::with_default(subscriber, f)
    }

    fn caller() -> TraceContext {
        TraceContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
            SpanId::from_hex("b7ad6b7169203331").unwrap(),
        )
        .unwrap()
        .with_sampled(Some(true))
    }

    #[test]
    fn a_server_span_is_a_child_of_the_caller_and_clients_are_children_of_it() {
        traced(|| {
            let server = tracing::info_span!("server");
            let own = start_server(&server, Some(caller())).unwrap();
            assert_eq!(own.trace_id(), caller().trace_id());
            assert_eq!(own.parent_span_id(), Some(caller().span_id()));
            assert_ne!(own.span_id(), caller().span_id());
            let ctx = Context::background().with_trace(own.clone());

            // Inside the server span: the client span is its child.
            let inside = server.in_scope(|| {
                let client = tracing::info_span!("client");
                start_client(&client, &Context::background()).unwrap()
            });
            assert_eq!(inside.trace_id(), own.trace_id());
            assert_eq!(inside.parent_span_id(), Some(own.span_id()));

            // Inside a span of the service's own: a child of that one.
            let (user, in_user) = server.in_scope(|| {
                let user = tracing::info_span!("lookup");
                let user_id = super::Bridge::new(1.0).context(&user).unwrap().span_id();
                let client = user.in_scope(|| {
                    start_client(&tracing::info_span!("client"), &Context::background()).unwrap()
                });
                (user_id, client)
            });
            assert_eq!(in_user.trace_id(), own.trace_id());
            assert_eq!(in_user.parent_span_id(), Some(user));

            // Outside any span, with the server's context (a task spawned without the
            // span): a child of the context's trace.
            let outside = start_client(&tracing::info_span!("client"), &ctx).unwrap();
            assert_eq!(outside.trace_id(), own.trace_id());
            assert_eq!(outside.parent_span_id(), Some(own.span_id()));

            // Outside any span, with no trace at all: a new trace.
            let root =
                start_client(&tracing::info_span!("client"), &Context::background()).unwrap();
            assert_ne!(root.trace_id(), own.trace_id());
            assert_eq!(root.parent_span_id(), None);
        });
    }

    #[test]
    fn without_a_caller_a_server_span_starts_a_trace() {
        traced(|| {
            let own = start_server(&tracing::info_span!("server"), None).unwrap();
            assert_eq!(own.parent_span_id(), None);
            assert_eq!(own.sampled(), Some(true));
        });
    }

    #[test]
    fn a_disabled_server_span_passes_the_callers_trace_on() {
        // Installs the bridge, then serves with no subscriber: every span is disabled.
        traced(|| ());
        let passed = start_server(&tracing::Span::none(), Some(caller()));
        assert_eq!(passed, Some(caller()));
        assert_eq!(
            start_client(&tracing::Span::none(), &Context::background()),
            None
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn at_ratio_0_a_root_and_an_unsampled_callers_request_are_unsampled_calls() {
        use kit::trace::span::{bridge, unsampled_client, unsampled_server};

        let provider = SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(super::layer(provider.tracer("t"), 0.0));
        let _default = tracing::subscriber::set_default(subscriber);
        // A new trace: not sampled, no parent, and a handler's span joins it.
        let root = unsampled_server(None).expect("ratio 0 samples no new trace");
        let trace = root.trace().clone();
        assert_eq!(trace.sampled(), Some(false));
        assert_eq!(trace.parent_span_id(), None);
        let user = root
            .instrument(async { bridge().unwrap().context(&tracing::info_span!("user")) })
            .await
            .unwrap();
        assert_eq!(user.trace_id(), trace.trace_id());
        assert_eq!(user.sampled(), Some(false));
        // A caller's unsampled trace: a child of the caller's span, not sampled.
        let unsampled = caller().with_sampled(Some(false));
        let call = unsampled_server(Some(&unsampled)).unwrap();
        assert_eq!(call.trace().trace_id(), unsampled.trace_id());
        assert_eq!(call.trace().parent_span_id(), Some(unsampled.span_id()));
        assert_eq!(call.trace().sampled(), Some(false));
        // A sampled caller's request is not: it gets a span.
        assert!(unsampled_server(Some(&caller())).is_none());
        // A client call made with the unsampled call's context sends a child of it.
        let ctx = Context::background().with_trace(call.trace().clone());
        let sent = unsampled_client(&ctx).unwrap();
        assert_eq!(sent.trace_id(), unsampled.trace_id());
        assert_eq!(sent.parent_span_id(), Some(call.trace().span_id()));
        assert_eq!(sent.sampled(), Some(false));
        // Made with a sampled context, it gets a span.
        let sampled = Context::background().with_trace(caller());
        assert_eq!(unsampled_client(&sampled), None);
    }

    /// The one test of this binary with a global subscriber (the others set theirs per
    /// thread).
    #[tokio::test(flavor = "current_thread")]
    async fn the_span_middleware_nests_inside_the_current_span_and_records_errors() {
        use kit::{Code, Endpoint as _, Error, endpoint_fn, middleware};
        use kit_testkit::trace::{AttrValue, SpanKind, Status};
        use tracing::Instrument as _;

        let received = kit_testkit::otlp::record_spans("svc");
        let lookup = middleware::chain().span("lookup").endpoint(endpoint_fn(
            |_ctx: Context, fail: bool| async move {
                if fail {
                    Err(Error::not_found("no such key"))
                } else {
                    Ok(1)
                }
            },
        ));
        let server = tracing::info_span!("request", otel.kind = "server");
        async {
            assert_eq!(lookup.call(Context::background(), false).await.unwrap(), 1);
            let err = lookup.call(Context::background(), true).await.unwrap_err();
            assert_eq!(err.code(), Code::NotFound);
        }
        .instrument(server.clone())
        .await;
        drop(server);
        let spans = received.spans();
        assert_eq!(spans.len(), 3, "{spans:#?}");
        let (ok, failed, request) = (&spans[0], &spans[1], &spans[2]);
        for span in [ok, failed] {
            assert_eq!(span.name, "lookup");
            assert_eq!(span.kind, SpanKind::Internal);
            assert_eq!(span.trace_id, request.trace_id);
            assert_eq!(span.parent_span_id.as_ref(), Some(&request.span_id));
        }
        assert_eq!(ok.status, Status::Unset);
        assert_eq!(ok.attributes.get("error.type"), None);
        assert_eq!(failed.status, Status::Error("no such key".into()));
        assert_eq!(
            failed.attributes.get("error.type"),
            Some(&AttrValue::String("NOT_FOUND".into()))
        );
    }
}
