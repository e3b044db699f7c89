//! The notesvc server: HTTP/JSON and gRPC, each on its own listener, one process.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use kit::Error;
use kit::shutdown::Shutdown;
use notesvc::{Store, notes, service::DEFAULT_MAX_NOTES};
use tokio::net::TcpListener;
use tonic::service::Routes;

/// notesvc: notes in memory over HTTP/JSON and gRPC.
///
/// Port 0 picks a free port; every bound address is logged at start-up
/// (`msg=listening transport=http addr=127.0.0.1:41234`). SIGINT or SIGTERM stops it after
/// the calls in flight.
#[derive(Debug, Parser)]
#[command(name = "notesvc", version)]
struct Args {
    /// HTTP/JSON listener: `POST /notes`, `GET /notes`, `GET /notes/{id}`,
    /// `DELETE /notes/{id}`.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081")]
    http_addr: SocketAddr,
    /// gRPC listener: `notes.Notes`.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8082")]
    grpc_addr: SocketAddr,
    /// The most notes kept; creating one more fails (HTTP 429, gRPC RESOURCE_EXHAUSTED).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_NOTES)]
    max_notes: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    kit_tracing::init("info");
    let runtime = kit::runtime::build().map_err(Error::from);
    match runtime.and_then(|runtime| runtime.block_on(run(args))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "notesvc failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let set = notes::Set::new(Store::new(args.max_notes));
    // Signals are caught from here on, before any listener is announced.
    let signal = kit_http::shutdown_signal();
    let shutdown = Shutdown::default();
    let http = listen("http", args.http_addr).await?;
    let http = kit_http::serve(http, notes::http::router(&set))
        .with_graceful_shutdown(shutdown.draining());
    let grpc = listen("grpc", args.grpc_addr).await?;
    let grpc = kit_grpc::serve(grpc, Routes::new(notes::grpc::server(&set)))
        .with_graceful_shutdown(shutdown.draining());
    tokio::spawn(async move { shutdown.stop_on(signal).await });
    tokio::join!(http.into_future(), grpc.into_future());
    tracing::info!("stopped");
    Ok(())
}

/// Binds a listener and logs where it listens.
async fn listen(transport: &str, addr: SocketAddr) -> Result<TcpListener, Error> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        Error::unavailable(format!("binding the {transport} listener on {addr}: {e}"))
    })?;
    tracing::info!(transport, addr = %listener.local_addr()?, "listening");
    Ok(listener)
}
