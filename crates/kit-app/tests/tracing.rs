//! `App::tracing`: a service run with `--otlp-endpoint` exports the spans ended just before
//! it stops (flushed on shutdown). Its own test binary: `App::run` installs the global
//! subscriber.

use clap::Parser;
use kit_app::{App, ShutdownFlags, TraceFlags};
use kit_testkit::otlp::OtlpReceiver;
use kit_testkit::trace::SpanKind;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    trace: TraceFlags,
}

#[test]
fn spans_ended_before_the_stop_are_exported_on_shutdown() {
    // The collector on a runtime of its own, as a real one would be another process.
    let collector_runtime = tokio::runtime::Runtime::new().unwrap();
    let collector = collector_runtime.block_on(OtlpReceiver::start());
    let args = Args::parse_from([
        "traced",
        "--otlp-endpoint",
        &collector.grpc_endpoint(),
        "--trace-sample",
        "1",
    ]);
    let code = App::new("traced", ShutdownFlags::default())
        .debug("127.0.0.1:0".parse().unwrap())
        .tracing(args.trace)
        // The stop signal ends a span, then stops the service at once: well inside the
        // exporter's 1 s interval, so only the flush on shutdown can deliver it.
        .stop_on(async {
            tracing::info_span!("last work", job = "cleanup").in_scope(|| ());
        })
        .run();
    assert_eq!(
        format!("{code:?}"),
        format!("{:?}", std::process::ExitCode::SUCCESS)
    );
    let spans = collector.received().spans();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(spans[0].name, "last work");
    assert_eq!(spans[0].kind, SpanKind::Internal);
    assert_eq!(spans[0].service_name.as_deref(), Some("traced"));
    assert_eq!(spans[0].attributes["job"], "cleanup".into());
}
