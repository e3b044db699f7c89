//! The addsvc server: every transport on its own listener, one process.

use std::future::IntoFuture;
use std::process::ExitCode;
use std::time::Duration;

use addsvc::endpoints::Set;
use addsvc::flags::{ListenAddr, go_style_args, parse_duration};
use addsvc::service::BasicService;
use addsvc::transport;
use clap::Parser;
use http::Method;
use kit::{Code, Context, Error, endpoint_fn};
use kit_http::{Router, Server, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
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
    /// Debug listener: `GET /health`.
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
    /// How long in-flight requests may take to finish after SIGINT/SIGTERM.
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
    let set = Set::new(BasicService);

    // Catch signals from here on, before any listener is announced.
    let signal = kit_http::shutdown_signal();
    let (stop, stopped) = watch::channel(false);
    let stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let grace = args.shutdown_grace;
    let mut servers = JoinSet::new();
    if let Some(listener) = bind("debug", args.debug_addr).await? {
        let serve = kit_http::serve(listener, debug_router())
            .with_graceful_shutdown(stopped())
            .grace_period(grace);
        servers.spawn(serve.into_future());
    }
    if let Some(listener) = bind("http", args.http_addr).await? {
        let router = transport::http::router(&set);
        let serve = kit_http::serve(listener, router)
            .with_graceful_shutdown(stopped())
            .grace_period(grace);
        servers.spawn(serve.into_future());
    }
    if let Some(listener) = bind("grpc", args.grpc_addr).await? {
        // pb.Add with health (SERVING until shutdown starts) and reflection beside it.
        let (health_reporter, health) = kit_grpc::health::service(&["pb.Add"]).await;
        let reflection = kit_grpc::reflection::service(&[addsvc::pb::FILE_DESCRIPTOR_SET])
            .map_err(|e| Error::internal(format!("building gRPC reflection: {e}")))?;
        let routes = tonic::service::Routes::new(transport::grpc::server(&set))
            .add_service(health)
            .add_service(reflection);
        let stopping = stopped();
        let serve = kit_grpc::serve(listener, routes)
            .with_graceful_shutdown(async move {
                stopping.await;
                // Health checkers stop routing new calls here while in-flight ones drain.
                health_reporter
                    .set_not_serving::<addsvc::pb::add_server::AddServer<transport::grpc::AddService>>()
                    .await;
            })
            .grace_period(grace);
        servers.spawn(serve.into_future());
    }
    if let Some(listener) = bind("jsonrpc", args.jsonrpc_addr).await? {
        let server = transport::jsonrpc::server(&set);
        let serve = kit_http::serve(listener, server)
            .with_graceful_shutdown(stopped())
            .grace_period(grace);
        servers.spawn(serve.into_future());
    }
    tokio::spawn(async move {
        signal.await;
        let _ = stop.send(true);
    });
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

/// The debug listener's routes.
fn debug_router() -> Router {
    let health = endpoint_fn(|_ctx: Context, ()| async {
        Ok::<_, Error>(serde_json::json!({ "status": "ok" }))
    });
    Router::new().route(
        Method::GET,
        "/health",
        Server::new(
            health,
            |_: &http::request::Parts, _| Ok(()),
            json::encode_response,
        ),
    )
}
