//! Span export (`kit_tracing::otel::Tracing`) against kit-testkit's OTLP (gRPC and HTTP) and
//! Zipkin receivers.
//!
//! Each test runs on a current-thread runtime with its subscriber as the thread's default, so
//! the export task runs only when the test awaits: spans ended in a row without an await are
//! all queued before the task can take one, which makes queue counts exact.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use kit_testkit::otlp::OtlpReceiver;
use kit_testkit::trace::{AttrValue, Span, SpanKind, Status};
use kit_testkit::zipkin::ZipkinReceiver;
use kit_tracing::otel::{OtlpProtocol, Tracing, TracingBuilder};
use tracing_subscriber::layer::SubscriberExt as _;

const WAIT: Duration = Duration::from_secs(10);

/// Runs `test` on a current-thread runtime.
fn run<F: Future<Output = ()>>(test: impl FnOnce() -> F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test());
}

/// Starts `builder` and makes its layer this thread's subscriber while the guard lives.
fn start(builder: TracingBuilder) -> (Tracing, tracing::subscriber::DefaultGuard) {
    let tracing = builder.start().unwrap();
    let subscriber = tracing_subscriber::registry().with(tracing.layer());
    let guard = tracing::subscriber::set_default(subscriber);
    (tracing, guard)
}

/// A server span with a child span of the service's own, both ended.
fn server_with_child() {
    let server = tracing::info_span!(
        target: "kit::server",
        "GET /users/{id}",
        otel.kind = "server",
        http.request.method = "GET",
        http.response.status_code = 404_i64,
        otel.status_code = "ERROR",
        otel.status_description = "not found",
    );
    server.in_scope(|| {
        let _lookup = tracing::info_span!("lookup", user.id = 7_i64, cached = false).entered();
    });
}

fn by_name<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {spans:#?}"))
}

/// The two spans of [`server_with_child`] as an OTLP receiver records them.
fn assert_otlp_spans(spans: &[Span]) {
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let server = by_name(spans, "GET /users/{id}");
    let lookup = by_name(spans, "lookup");
    assert_eq!(server.service_name.as_deref(), Some("users"));
    assert_eq!(lookup.service_name.as_deref(), Some("users"));
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(lookup.kind, SpanKind::Internal);
    assert_eq!(server.parent_span_id, None);
    assert_eq!(lookup.parent_span_id.as_ref(), Some(&server.span_id));
    assert_eq!(lookup.trace_id, server.trace_id);
    assert_eq!(server.status, Status::Error("not found".into()));
    assert_eq!(
        server.attributes,
        BTreeMap::from([
            ("http.request.method".into(), "GET".into()),
            ("http.response.status_code".into(), AttrValue::Int(404)),
        ])
    );
    assert_eq!(
        lookup.attributes,
        BTreeMap::from([
            ("user.id".into(), AttrValue::Int(7)),
            ("cached".into(), AttrValue::Bool(false)),
        ])
    );
}

fn otlp_exports(protocol: OtlpProtocol) {
    run(|| async move {
        let collector = OtlpReceiver::start().await;
        let endpoint = match protocol {
            OtlpProtocol::Grpc => collector.grpc_endpoint(),
            OtlpProtocol::Http => collector.http_endpoint(),
        };
        let (tracing, _guard) = start(Tracing::builder("users").otlp(endpoint, protocol));
        server_with_child();
        let spans = collector.received().wait_for_spans(2, WAIT).await;
        assert_otlp_spans(&spans);
        assert!(collector.received().rejections().is_empty());
        tracing.handle().flush().await;
        assert_eq!(tracing.handle().exported(), 2);
        assert_eq!(tracing.handle().dropped(), 0);
    });
}

#[test]
fn spans_arrive_over_otlp_grpc() {
    otlp_exports(OtlpProtocol::Grpc);
}

#[test]
fn spans_arrive_over_otlp_http() {
    otlp_exports(OtlpProtocol::Http);
}

#[test]
fn an_otlp_http_endpoint_without_a_path_gets_v1_traces() {
    run(|| async {
        let collector = OtlpReceiver::start().await;
        let endpoint = format!("http://{}", collector.http_addr());
        let (tracing, _guard) = start(Tracing::builder("users").otlp(endpoint, OtlpProtocol::Http));
        server_with_child();
        tracing.handle().flush().await;
        assert_otlp_spans(&collector.received().spans());
    });
}

#[test]
fn spans_arrive_at_zipkin_with_the_service_name() {
    run(|| async {
        let zipkin = ZipkinReceiver::start().await;
        let (tracing, _guard) = start(Tracing::builder("users").zipkin(zipkin.endpoint()));
        server_with_child();
        let spans = zipkin.received().wait_for_spans(2, WAIT).await;
        assert!(zipkin.received().rejections().is_empty());
        assert_eq!(spans.len(), 2, "{spans:#?}");
        let server = by_name(&spans, "GET /users/{id}");
        let lookup = by_name(&spans, "lookup");
        assert_eq!(server.service_name.as_deref(), Some("users"));
        assert_eq!(lookup.service_name.as_deref(), Some("users"));
        assert_eq!(server.kind, SpanKind::Server);
        assert_eq!(lookup.kind, SpanKind::Internal);
        assert_eq!(server.parent_span_id, None);
        assert_eq!(lookup.parent_span_id.as_ref(), Some(&server.span_id));
        assert_eq!(lookup.trace_id, server.trace_id);
        assert_eq!(server.status, Status::Error("not found".into()));
        assert_eq!(
            server.attributes,
            BTreeMap::from([
                ("http.request.method".into(), "GET".into()),
                ("http.response.status_code".into(), "404".into()),
                ("otel.status_code".into(), "ERROR".into()),
                ("error".into(), "not found".into()),
            ])
        );
        assert_eq!(
            lookup.attributes,
            BTreeMap::from([
                ("user.id".into(), "7".into()),
                ("cached".into(), "false".into()),
            ])
        );
        tracing.handle().flush().await;
        assert_eq!(tracing.handle().exported(), 2);
    });
}

#[test]
fn with_the_collector_down_every_span_is_dropped_and_ending_never_waits() {
    run(|| async {
        // A port nothing listens on.
        let closed = kit_testkit::free_addr();
        let (tracing, _guard) = start(
            Tracing::builder("users")
                .otlp(format!("http://{closed}"), OtlpProtocol::Grpc)
                .zipkin(format!("http://{closed}/api/v2/spans"))
                .export_timeout(Duration::from_secs(2)),
        );
        // 5000 spans in a row: on this current-thread runtime the export task cannot run
        // until the test awaits, so an `on_end` that waited for it would never return.
        for _ in 0..5000 {
            drop(tracing::info_span!("work"));
        }
        let handle = tracing.handle();
        handle.flush().await;
        // Two exporters: each span counts once per exporter.
        assert_eq!(handle.dropped(), 2 * 5000);
        assert_eq!(handle.exported(), 0);
    });
}

#[test]
fn a_full_queue_drops_exactly_the_spans_over_its_size() {
    run(|| async {
        let collector = OtlpReceiver::start().await;
        let (tracing, _guard) = start(
            Tracing::builder("users")
                .otlp(collector.grpc_endpoint(), OtlpProtocol::Grpc)
                .max_queue(3)
                .max_batch(2),
        );
        for i in 0..10 {
            drop(tracing::info_span!("work", i));
        }
        let handle = tracing.handle();
        assert_eq!(handle.dropped(), 7);
        handle.flush().await;
        assert_eq!(handle.exported(), 3);
        let spans = collector.received().spans();
        let mut numbers: Vec<_> = spans
            .iter()
            .map(|span| span.attributes["i"].clone())
            .collect();
        numbers.sort_by_key(|n| format!("{n:?}"));
        assert_eq!(
            numbers,
            vec![AttrValue::Int(0), AttrValue::Int(1), AttrValue::Int(2)]
        );
    });
}

#[test]
fn flush_and_stop_delivers_the_spans_ended_just_before_it() {
    run(|| async {
        let collector = OtlpReceiver::start().await;
        let (tracing, _guard) = start(
            Tracing::builder("users")
                .otlp(collector.http_endpoint(), OtlpProtocol::Http)
                // No export by time during the test.
                .interval(Duration::from_secs(3600)),
        );
        drop(tracing::info_span!("first"));
        drop(tracing::info_span!("second"));
        let handle = tracing.handle();
        handle.flush_and_stop().await.unwrap();
        let mut names: Vec<_> = collector
            .received()
            .spans()
            .into_iter()
            .map(|span| span.name)
            .collect();
        names.sort();
        assert_eq!(names, ["first", "second"]);
        assert_eq!(handle.exported(), 2);
        // Stopped: a later span is dropped.
        drop(tracing::info_span!("late"));
        assert_eq!(handle.dropped(), 1);
    });
}

#[test]
fn the_sample_ratio_decides_new_traces() {
    for (ratio, exported) in [(0.0, 0), (1.0, 20)] {
        run(|| async move {
            let collector = OtlpReceiver::start().await;
            let (tracing, _guard) = start(
                Tracing::builder("users")
                    .otlp(collector.grpc_endpoint(), OtlpProtocol::Grpc)
                    .sample_ratio(ratio),
            );
            for _ in 0..20 {
                drop(tracing::info_span!("work"));
            }
            let handle = tracing.handle();
            handle.flush().await;
            assert_eq!(handle.exported(), exported, "ratio {ratio}");
            assert_eq!(handle.dropped(), 0, "ratio {ratio}");
            assert_eq!(
                collector.received().spans().len(),
                exported as usize,
                "ratio {ratio}"
            );
        });
    }
}

#[test]
fn start_refuses_a_ratio_outside_0_to_1_and_a_missing_runtime() {
    let err = Tracing::builder("users").start().unwrap_err();
    assert_eq!(
        err.to_string(),
        "kit_tracing::otel::Tracing must start inside a tokio runtime"
    );
    run(|| async {
        let err = Tracing::builder("users")
            .sample_ratio(1.5)
            .start()
            .unwrap_err();
        assert_eq!(err.to_string(), "sample ratio 1.5 is not within 0..=1");
    });
}

#[test]
fn spans_below_info_are_left_out_and_events_from_warn_up_are_attached_to_their_span() {
    run(|| async {
        let collector = OtlpReceiver::start().await;
        let (tracing, _guard) =
            start(Tracing::builder("levels").otlp(collector.grpc_endpoint(), OtlpProtocol::Grpc));
        {
            let request = tracing::info_span!("request");
            let _entered = request.enter();
            drop(tracing::debug_span!("inner workings"));
            tracing::info!(step = 1, "routine");
            tracing::warn!(attempt = 2_i64, "slow backend");
        }
        tracing.handle().flush().await;
        let spans = collector.received().wait_for_spans(1, WAIT).await;
        assert_eq!(spans.len(), 1, "{spans:#?}");
        let request = &spans[0];
        assert_eq!(request.name, "request");
        let events: Vec<_> = request
            .events
            .iter()
            .map(|event| (event.name.as_str(), event.attributes.get("attempt")))
            .collect();
        assert_eq!(
            events,
            [("slow backend", Some(&AttrValue::Int(2)))],
            "{request:#?}"
        );
    });
}
