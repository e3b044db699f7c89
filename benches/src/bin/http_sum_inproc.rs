//! `http-sum-inproc kit|kit-uninstrumented|raw CALLS`: addsvc's HTTP `POST /sum` over hyper's
//! HTTP/1.1, in one process, over an in-memory pipe instead of a socket, CALLS times on one
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
        eprintln!("usage: http-sum-inproc kit|kit-uninstrumented|raw CALLS");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut client = runtime.block_on(async move {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let io = TokioIo::new(server);
        match mode.as_str() {
            "kit" | "kit-uninstrumented" => {
                kit_metrics::prometheus::Prometheus::install().expect("the only recorder");
                kit_tracing::init("info");
                let router = if mode == "kit" {
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
        client
    });
    // Whatever happens once (lazy statics, the metrics clock's calibration, which takes a
    // varying number of instructions) happens here, before what callgrind counts.
    runtime.block_on(exchange(&mut client, WARMUP));
    measured(&runtime, &mut client, calls);
}

/// Requests served before the measured ones.
const WARMUP: usize = 100;

/// The requests `http-sum-inproc.sh` counts (`--toggle-collect` on this function).
#[inline(never)]
fn measured(runtime: &tokio::runtime::Runtime, client: &mut DuplexStream, calls: usize) {
    runtime.block_on(exchange(client, calls));
}

/// Sends `calls` requests one after the other, checking every answer.
async fn exchange(pipe: &mut DuplexStream, calls: usize) {
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
}
