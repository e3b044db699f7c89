//! The logging middleware's events, captured with a real tracing subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};

use kit::middleware::LoggingLayer;
use kit::{Context, Endpoint, Error, endpoint_fn};
use tower_layer::Layer;
use tracing::Level;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Calls an endpoint that answers `result` under a logging layer, returning the log lines.
async fn log_of(layer: LoggingLayer, result: Result<u8, Error>) -> Vec<String> {
    let result = Mutex::new(Some(result));
    let ep = layer.layer(endpoint_fn(move |_ctx: Context, ()| {
        let result = result.lock().unwrap().take().unwrap();
        async move { result }
    }));
    captured_lines(async {
        let _ = ep.call(Context::background(), ()).await;
    })
    .await
}

/// The log lines written while `work` runs.
async fn captured_lines(work: impl std::future::Future<Output = ()>) -> Vec<String> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    work.await;
    let bytes = captured.0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn success_logs_method_and_duration_at_the_success_level() {
    let lines = log_of(LoggingLayer::new("sum"), Ok(3)).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("DEBUG"), "{lines:?}");
    assert!(lines[0].contains("call method=\"sum\" took="), "{lines:?}");

    let lines = log_of(LoggingLayer::new("sum").success_level(Level::INFO), Ok(3)).await;
    assert!(lines[0].trim_start().starts_with("INFO"), "{lines:?}");
}

#[tokio::test]
async fn business_errors_log_at_info_with_code_and_message() {
    let lines = log_of(
        LoggingLayer::new("sum"),
        Err(Error::invalid_argument("can't sum two zeroes")),
    )
    .await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].trim_start().starts_with("INFO"), "{lines:?}");
    assert!(
        lines[0].contains("code=INVALID_ARGUMENT error=can't sum two zeroes"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn failures_log_at_warn() {
    let lines = log_of(
        LoggingLayer::new("concat"),
        Err(Error::unavailable("backend down")),
    )
    .await;
    assert!(lines[0].trim_start().starts_with("WARN"), "{lines:?}");
    assert!(
        lines[0].contains("call failed method=\"concat\""),
        "{lines:?}"
    );
    assert!(
        lines[0].contains("code=UNAVAILABLE error=backend down"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_classifier_decides_what_is_a_failure() {
    let quiet = kit::error::classify_with(|err: &Error| {
        (err.message() == "backend warming up").then(|| err.code().class().with_failure(false))
    });
    let lines = log_of(
        LoggingLayer::new("sum").classifier(quiet),
        Err(Error::unavailable("backend warming up")),
    )
    .await;
    assert!(lines[0].trim_start().starts_with("INFO"), "{lines:?}");
    assert!(lines[0].contains("call rejected"), "{lines:?}");
}

#[tokio::test]
async fn calls_dropped_before_they_finish_are_logged() {
    let ep = LoggingLayer::new("slow").layer(endpoint_fn(|_ctx: Context, ()| async {
        std::future::pending::<Result<(), Error>>().await
    }));
    let lines = captured_lines(async {
        let call = ep.call(Context::background(), ());
        // The caller gives up: the call's future is dropped mid-way.
        let gave_up = tokio::time::timeout(std::time::Duration::from_millis(1), call).await;
        assert!(gave_up.is_err());
    })
    .await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].trim_start().starts_with("INFO"), "{lines:?}");
    assert!(
        lines[0].contains("call abandoned before it finished method=\"slow\""),
        "{lines:?}"
    );
    assert!(lines[0].contains("code=\"CANCELLED\""), "{lines:?}");
}
