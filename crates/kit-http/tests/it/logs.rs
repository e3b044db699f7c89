//! The trace id on the log lines written while a request is served, with kit-tracing's
//! formatter writing into a buffer. A span bridge is process-global: each test installs
//! its own (or none), one test per process as nextest runs them.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use http::Method;
use kit::{Context, Error, endpoint_fn};
use kit_http::{Router, Server, json};
use kit_testkit::http::exchange;
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::support::spawn;

/// A buffer the formatter writes into.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// The line logged with the message `message`.
    fn line(&self, message: &str) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let text = String::from_utf8(bytes.clone()).unwrap();
        text.lines()
            .find(|line| line.contains(&format!(" msg={message} ")))
            .unwrap_or_else(|| panic!("no line {message:?} in {text}"))
            .to_owned()
    }
}

/// `POST /logs`: logs `handling` and answers the trace id of its context.
async fn spawn_logging() -> std::net::SocketAddr {
    let handler = endpoint_fn(|ctx: Context, _: Value| async move {
        tracing::info!("handling");
        Ok::<_, Error>(ctx.trace().map(|trace| trace.trace_id().to_string()))
    });
    spawn(Router::new().route(
        Method::POST,
        "/logs",
        Server::new(handler, json::decode_request, json::encode_response),
    ))
    .await
}

#[tokio::test]
async fn with_a_bridge_a_handlers_lines_carry_the_server_spans_trace_id() {
    use opentelemetry::trace::TracerProvider as _;

    let capture = Capture::default();
    let writer = capture.clone();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(kit_tracing::otel::layer(provider.tracer("test"), 1.0))
        .with(kit_tracing::layer().with_writer(move || writer.clone()));
    let _default = tracing::subscriber::set_default(subscriber);
    let addr = spawn_logging().await;
    let answer = exchange(
        addr,
        "POST /logs HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 2",
        b"{}",
    )
    .await;
    assert_eq!(answer.status, 200);
    // The server span's trace, a new one: the request came with none.
    let trace_id: String = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(trace_id.len(), 32, "{trace_id}");
    let line = capture.line("handling");
    assert!(line.contains(&format!(" trace_id={trace_id}")), "{line}");
}

#[tokio::test]
async fn without_a_bridge_a_handlers_lines_carry_the_incoming_trace_id() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::registry()
        .with(kit_tracing::layer().with_writer(move || writer.clone()));
    let _default = tracing::subscriber::set_default(subscriber);
    let addr = spawn_logging().await;
    let answer = exchange(
        addr,
        "POST /logs HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        b"{}",
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "\"4bf92f3577b34da6a3ce929d0e0e4736\"");
    assert!(kit::trace::span::bridge().is_none());
    let line = capture.line("handling");
    assert!(
        line.contains(" trace_id=4bf92f3577b34da6a3ce929d0e0e4736"),
        "{line}"
    );
}
