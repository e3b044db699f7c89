//! `http-sum-inproc MODE CALLS`, MODE one of `kit`, `kit-traced`, `kit-traced-1pct`,
//! `kit-traced-unsampled`, `kit-uninstrumented` and `raw`: addsvc's HTTP `POST /sum` over
//! hyper's HTTP/1.1, in one process, over an in-memory pipe instead of a socket, CALLS times on one
//! keep-alive connection.
//!
//! `kit` serves addsvc's HTTP router (the router, the server, the endpoints, the codecs) on a
//! hyper-util connection, with what addsvc's process has: kit-metrics's Prometheus recorder,
//! kit-tracing's logfmt subscriber at `info` (which logs no line for a successful call), the
//! endpoints' request metrics and logging middleware, and the router's transport metrics.
//! `kit-uninstrumented` is the same without the endpoints' metrics and logging and the
//! router's metrics: the difference is what that instrumentation costs a request. `raw` serves the same work as plain hyper (`kit_benches::raw_http`,
//! what `raw-hyper-sum` serves). kit's `serve` (its accept loop, connection tracking and
//! timeouts) needs a socket and is not part of it: `http-sum-callgrind.sh` measures that. Without sockets there is no
//! event loop whose wake-ups vary with the load on the machine, so callgrind counts the same
//! instructions on every run (`http-sum-inproc.sh`), and the difference between the two is
//! exactly what kit adds to a request. The client's share (writing requests and reading
//! answers from the pipe) is the same in both.
//!
//! `kit-traced` is `kit` with request tracing as addsvc's `--otlp-endpoint` sets it up, at a
//! sample ratio of 1 (`kit-traced-1pct`: 0.01, a typical edge service whose requests all
//! start traces; `kit-traced-unsampled`: 0): the subscriber of
//! `kit_tracing::try_init_traced`, whose OpenTelemetry layer installs kit's span bridge, so
//! the HTTP server opens a span per request, and `kit_tracing::otel::Tracing`'s batch
//! processor exporting the sampled spans over OTLP/gRPC to kit-testkit's `OtlpReceiver`. The
//! receiver runs on a thread of its own, which callgrind does not count (collection is
//! switched on only inside `measured`, on the main thread); the export task runs on the
//! measured runtime, so encoding and sending the spans are counted. `measured` ends with a
//! flush, so every span of the measured requests has been exported when counting stops.

use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const REQUEST: &[u8] = b"POST /sum HTTP/1.1\r\nHost: addsvc\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":1,\"b\":2}";

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(calls)) = (args.next(), args.next().and_then(|n| n.parse().ok())) else {
        eprintln!(
            "usage: http-sum-inproc kit|kit-traced|kit-traced-1pct|kit-traced-unsampled|kit-uninstrumented|raw CALLS"
        );
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (mut client, traced) = runtime.block_on(async move {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let io = TokioIo::new(server);
        let mut traced = None;
        match mode.as_str() {
            "kit"
            | "kit-traced"
            | "kit-traced-1pct"
            | "kit-traced-unsampled"
            | "kit-uninstrumented" => {
                kit_metrics::prometheus::Prometheus::install().expect("the only recorder");
                let ratio = match mode.as_str() {
                    "kit-traced" => Some(1.0),
                    "kit-traced-1pct" => Some(0.01),
                    "kit-traced-unsampled" => Some(0.0),
                    _ => None,
                };
                if let Some(ratio) = ratio {
                    let tracing = kit_tracing::otel::Tracing::builder("addsvc")
                        .otlp(receiver_endpoint(), kit_tracing::otel::OtlpProtocol::Grpc)
                        .sample_ratio(ratio)
                        .start()
                        .expect("tracing starts");
                    kit_tracing::try_init_traced(kit_tracing::Format::Logfmt, "info", &tracing)
                        .expect("the only subscriber");
                    traced = Some(tracing);
                } else {
                    kit_tracing::init("info");
                }
                let router = if mode != "kit-uninstrumented" {
                    let no_limits = kit_app::LimitFlags {
                        no_limits: true,
                        breaker_timeout: std::time::Duration::ZERO,
                    };
                    let set = addsvc::endpoints(addsvc::BasicService, &no_limits);
                    addsvc::add::http::router(&set)
                        .metrics(&kit_http::metrics::ServerMetrics::new("example_addsvc"))
                } else {
                    let set = addsvc::add::Set::with_middleware(addsvc::BasicService, |_| {
                        kit::middleware::chain()
                    });
                    addsvc::add::http::router(&set)
                };
                let connection = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(io, TowerToHyperService::new(router))
                    .into_owned();
                tokio::spawn(connection);
            }
            "raw" => {
                let connection = http1::Builder::new()
                    .serve_connection(io, service_fn(kit_benches::raw_http::handle));
                tokio::spawn(connection);
            }
            other => panic!("unknown mode {other:?}"),
        }
        (client, traced)
    });
    // Whatever happens once (lazy statics, the metrics clock's calibration, which takes a
    // varying number of instructions, the exporter's connection) happens here, before what
    // callgrind counts.
    let handle = traced.as_ref().map(kit_tracing::otel::Tracing::handle);
    runtime.block_on(exchange(&mut client, WARMUP, handle.as_ref()));
    measured(&runtime, &mut client, calls, handle.as_ref());
    if let Some(traced) = handle {
        // Every span exported, none dropped: the count is of the whole path.
        eprintln!(
            "spans exported={} dropped={}",
            traced.exported(),
            traced.dropped()
        );
        assert_eq!(traced.dropped(), 0, "spans were dropped");
    }
}

/// Starts kit-testkit's OTLP receiver on a thread and runtime of its own, for the rest of
/// the process, and returns its gRPC endpoint.
fn receiver_endpoint() -> String {
    let (endpoint, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let receiver = kit_testkit::otlp::OtlpReceiver::start().await;
            endpoint
                .send(receiver.grpc_endpoint())
                .expect("the main thread waits");
            std::future::pending::<()>().await;
        });
    });
    started.recv().expect("the receiver starts")
}

/// Requests served before the measured ones.
const WARMUP: usize = 100;

/// The requests `http-sum-inproc.sh` counts (`--toggle-collect` on this function).
#[inline(never)]
fn measured(
    runtime: &tokio::runtime::Runtime,
    client: &mut DuplexStream,
    calls: usize,
    traced: Option<&kit_tracing::otel::TraceHandle>,
) {
    runtime.block_on(exchange(client, calls, traced));
}

/// Sends `calls` requests one after the other, checking every answer, then has every span
/// ended so far exported, when tracing.
async fn exchange(
    pipe: &mut DuplexStream,
    calls: usize,
    traced: Option<&kit_tracing::otel::TraceHandle>,
) {
    let mut buf = Vec::with_capacity(4096);
    for _ in 0..calls {
        pipe.write_all(REQUEST).await.expect("the server reads");
        buf.clear();
        let body = loop {
            let mut chunk = [0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(5), pipe.read(&mut chunk))
                .await
                .expect("an answer in time")
                .expect("the server writes");
            assert!(n > 0, "the server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let body = &buf[end + 4..];
                if body.len() >= 7 {
                    break body;
                }
            }
        };
        assert!(
            buf.starts_with(b"HTTP/1.1 200 OK\r\n"),
            "{}",
            String::from_utf8_lossy(&buf)
        );
        assert_eq!(body, b"{\"v\":3}");
    }
    if let Some(traced) = traced {
        traced.flush().await;
    }
}
