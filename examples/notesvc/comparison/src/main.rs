//! The notesvc server on plain axum + tonic: HTTP/JSON and gRPC, each on its own listener.

use std::error::Error;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use notesvc_plain::grpc::NotesService;
use notesvc_plain::pb::notes_server::NotesServer;
use notesvc_plain::store::{DEFAULT_MAX_NOTES, Store};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tracing_subscriber::prelude::*;

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
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    http_addr: SocketAddr,
    /// gRPC listener: `notes.Notes`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8082")]
    grpc_addr: SocketAddr,
    /// The most notes kept; creating one more fails (HTTP 429, gRPC RESOURCE_EXHAUSTED).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_NOTES)]
    max_notes: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::new("info");
    tracing_subscriber::registry()
        .with(tracing_logfmt::layer().with_filter(filter))
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(msg = "notesvc failed", error = %err);
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let store = Arc::new(Store::new(args.max_notes));
    // Signals are caught from here on, before any listener is announced.
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    // Both servers stop when `stop` is dropped.
    let (stop, stopped) = watch::channel(());
    let wait = |mut stopped: watch::Receiver<()>| async move { _ = stopped.changed().await };
    let http = listen("http", args.http_addr).await?;
    let http = axum::serve(http, notesvc_plain::http::router(store.clone()))
        .with_graceful_shutdown(wait(stopped.clone()));
    let grpc = listen("grpc", args.grpc_addr).await?;
    let grpc = tonic::transport::Server::builder()
        .add_service(NotesServer::new(NotesService(store)))
        .serve_with_incoming_shutdown(TcpListenerStream::new(grpc), wait(stopped));
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
        drop(stop);
    });
    let (http, grpc) = tokio::join!(http.into_future(), grpc);
    http?;
    grpc?;
    tracing::info!(msg = "stopped");
    Ok(())
}

/// Binds a listener and logs where it listens.
async fn listen(transport: &str, addr: SocketAddr) -> Result<TcpListener, String> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("binding the {transport} listener on {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(msg = "listening", transport, addr = %addr);
    Ok(listener)
}
