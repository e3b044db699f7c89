//! The addsvc server: every transport on its own listener, one process.

use std::future::IntoFuture;
use std::process::ExitCode;
use std::time::Duration;

use addsvc::flags::{ListenAddr, go_style_args, parse_duration};
use addsvc::{BasicService, add};
use clap::Parser;
use http::Method;
use kit::shutdown::Shutdown;
use kit::{Code, Context, Error, endpoint_fn};
use kit_http::{Router, Server, json};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// addsvc: sums integers and concatenates strings over HTTP/JSON, JSON-RPC 2.0 and gRPC
/// (Go kit compatible), each transport on its own listener.
///
/// Listener addresses are HOST:PORT (numeric host or localhost), Go's :PORT for all
/// interfaces, port 0 for a free port (the bound address is logged), or `off`. Go-style
/// single-dash flags (-http-addr) are accepted.
#[derive(Debug, Parser)]
#[command(name = "addsvc", version)]
struct Args {
    /// Debug listener: `GET /health` (alive), `GET /ready` (ready for calls: 503 once
    /// shutdown has begun).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    debug_addr: ListenAddr,
    /// HTTP/JSON listener: `POST /sum`, `POST /concat`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    http_addr: ListenAddr,
    /// gRPC listener: `pb.Add` (with grpc.health.v1 and server reflection).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8082")]
    grpc_addr: ListenAddr,
    /// JSON-RPC 2.0 listener: methods `sum` and `concat`, `POST` on any path.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8084")]
    jsonrpc_addr: ListenAddr,
    /// After SIGINT/SIGTERM, how long to keep serving while reporting not ready (`/ready`
    /// 503, gRPC health NOT_SERVING), so that probes and balancers stop sending calls
    /// before the listeners close.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    drain_delay: Duration,
    /// How long in-flight requests may take to finish once the listeners close.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    shutdown_grace: Duration,
}

fn main() -> ExitCode {
    let args = Args::parse_from(go_style_args(std::env::args_os()));
    kit_tracing::init("info");
    let runtime = match kit::runtime::build() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "starting the runtime failed");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "addsvc failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let addrs = [
        args.debug_addr,
        args.http_addr,
        args.grpc_addr,
        args.jsonrpc_addr,
    ];
    if addrs.iter().all(|addr| *addr == ListenAddr::Off) {
        return Err(Error::invalid_argument(
            "every listener is off: nothing to serve",
        ));
    }
    let set = addsvc::endpoints(BasicService);

    // Catch signals from here on, before any listener is announced.
    let signal = kit_http::shutdown_signal();
    // On a signal: not ready (readiness probes, gRPC health) at once, still serving for the
    // drain delay, then every listener stops accepting and drains.
    let shutdown = Shutdown::new(args.drain_delay);
    let grace = args.shutdown_grace;
    let mut servers = JoinSet::new();
    if let Some(listener) = bind("debug", args.debug_addr).await? {
        let serve = kit_http::serve(listener, debug_router(&shutdown))
            .with_graceful_shutdown(shutdown.draining())
            .grace_period(grace);
        servers.spawn(serve.into_future());
    }
    if let Some(listener) = bind("http", args.http_addr).await? {
        let router = add::http::router_with_openapi(&set);
        let serve = kit_http::serve(listener, router)
            .with_graceful_shutdown(shutdown.draining())
            .grace_period(grace);
        servers.spawn(serve.into_future());
    }
    if let Some(listener) = bind("grpc", args.grpc_addr).await? {
        let descriptors = add::grpc::file_descriptor_set();
        // pb.Add with health (SERVING until the stop begins; open watches end when draining
        // starts) and reflection (v1 and v1alpha, describing pb.Add and the health service)
        // beside it, behind gRPC's request checks.
        let (_health_reporter, health) =
            kit_grpc::health::service_with_shutdown(&shutdown, &[add::grpc::SERVICE_NAME]).await;
        let routes = tonic::service::Routes::new(add::grpc::server(&set)).add_service(health);
        let routes = kit_grpc::reflection::add_with_health(routes, &[descriptors])
            .map_err(|e| Error::internal(format!("building gRPC reflection: {e}")))?;
        let checks = kit_grpc::checks::RequestChecksLayer::from_descriptor_sets(&[descriptors])
            .map_err(|e| Error::internal(format!("reading the gRPC descriptors: {e}")))?;
        let routes = tower_layer::Layer::layer(&checks, routes);
        let serve = kit_grpc::serve(listener, routes)
            .with_graceful_shutdown(shutdown.draining())
            .grace_period(grace);
        servers.spawn(serve.into_future());
    }
    if let Some(listener) = bind("jsonrpc", args.jsonrpc_addr).await? {
        let server = add::jsonrpc::server(&set);
        let serve = kit_http::serve(listener, server)
            .with_graceful_shutdown(shutdown.draining())
            .grace_period(grace);
        servers.spawn(serve.into_future());
    }
    tokio::spawn(async move { shutdown.stop_on(signal).await });
    while let Some(done) = servers.join_next().await {
        done.map_err(|e| Error::internal(format!("listener task failed: {e}")))?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Binds a listener (unless it is off) and logs where it listens, one logfmt line per
/// listener.
async fn bind(transport: &str, addr: ListenAddr) -> Result<Option<TcpListener>, Error> {
    let ListenAddr::On(addr) = addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        let message = format!("binding the {transport} listener on {addr}: {e}");
        Error::new(Code::from_io_error_kind(e.kind()), message).with_source(e)
    })?;
    let local = listener.local_addr()?;
    tracing::info!(transport, addr = %local, "listening");
    Ok(Some(listener))
}

/// The debug listener's routes: `GET /health` answers while the process runs; `GET /ready`
/// answers `503` once shutdown has begun.
fn debug_router(shutdown: &Shutdown) -> Router {
    let health = endpoint_fn(|_ctx: Context, ()| async {
        Ok::<_, Error>(serde_json::json!({ "status": "ok" }))
    });
    let shutdown = shutdown.clone();
    let ready = endpoint_fn(move |_ctx: Context, ()| {
        let ready = shutdown.is_ready();
        async move {
            if ready {
                Ok(serde_json::json!({ "status": "ready" }))
            } else {
                Err(Error::unavailable("shutting down"))
            }
        }
    });
    let no_body = |_: &http::request::Parts, _| Ok(());
    Router::new()
        .route(
            Method::GET,
            "/health",
            Server::new(health, no_body, json::encode_response),
        )
        .route(
            Method::GET,
            "/ready",
            Server::new(ready, no_body, json::encode_response),
        )
}
