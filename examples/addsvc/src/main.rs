//! The addsvc server: every transport on its own listener, one process.
//!
//! With a registry flag it registers each listener there at start and deregisters it when
//! the stop begins (kit-app's `RegistryFlags`). `--etcd-addr` needs the `etcd` feature, off
//! by default because etcd's client needs `protoc` to build: `cargo run -p addsvc --features
//! etcd`; a build without it refuses the flag with a message naming the feature.

use std::process::ExitCode;

use addsvc::{BasicService, add};
use clap::Parser;
use kit_app::{
    App, GrpcServices, LimitFlags, ListenAddr, RegistryFlags, ShutdownFlags, TraceFlags,
};
use kit_http::metrics::ServerMetrics;
use kit_metrics::prometheus::Prometheus;

/// addsvc: sums integers and concatenates strings over HTTP/JSON, JSON-RPC 2.0 and gRPC
/// (Go kit compatible), each transport on its own listener.
///
/// Listener addresses are HOST:PORT (numeric host or localhost), Go's :PORT for all
/// interfaces, port 0 for a free port (the bound address is logged), or `off`. Go-style
/// single-dash flags (-http-addr) are accepted.
///
/// --etcd-addr needs the `etcd` feature (off by default: etcd's client needs protoc to
/// build): `cargo run -p addsvc --features etcd`.
#[derive(Debug, Parser)]
#[command(name = "addsvc", version)]
struct Args {
    /// Debug listener: `GET /health` (alive), `GET /ready` (ready for calls: 503 once
    /// shutdown has begun), `GET /metrics` (Prometheus), `GET /debug/vars` (expvar JSON).
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
    #[command(flatten)]
    shutdown: ShutdownFlags,
    #[command(flatten)]
    limits: LimitFlags,
    #[command(flatten)]
    registry: RegistryFlags,
    #[command(flatten)]
    tracing: TraceFlags,
}

fn main() -> ExitCode {
    let args: Args = kit_app::parse();
    // Before the endpoints, whose metric handles bind to the recorder installed then.
    let prometheus = match Prometheus::install() {
        Ok(prometheus) => prometheus,
        Err(err) => {
            eprintln!("addsvc: metrics: {err}");
            return ExitCode::FAILURE;
        }
    };
    let set = addsvc::endpoints(BasicService, &args.limits);
    // Every request each transport answers, those that reach no endpoint included, by
    // route and outcome (unknown paths and methods as route="other").
    let transport = ServerMetrics::new("example_addsvc");
    let grpc = GrpcServices::new()
        .add_service(add::grpc::server(&set))
        .descriptor_set(add::grpc::file_descriptor_set())
        .metrics(&transport);
    let registry = args.registry;
    App::new("addsvc", args.shutdown)
        .tracing(args.tracing)
        .register(move |bound| registry.registrars("addsvc", bound))
        .debug_with_metrics(args.debug_addr, &prometheus)
        .http(
            "http",
            args.http_addr,
            add::http::router_with_openapi(&set).metrics(&transport),
        )
        .grpc("grpc", args.grpc_addr, grpc)
        .http(
            "jsonrpc",
            args.jsonrpc_addr,
            add::jsonrpc::server(&set).metrics(&transport),
        )
        .run()
}
