//! The notesvc server: HTTP/JSON and gRPC, each on its own listener, one process.

use std::process::ExitCode;

use clap::Parser;
use kit_app::{App, GrpcServices, ListenAddr, ShutdownFlags};
use notesvc::{Store, notes, service::DEFAULT_MAX_NOTES};

/// notesvc: notes in memory over HTTP/JSON and gRPC.
///
/// Listener addresses are HOST:PORT (numeric host or localhost), Go's :PORT for all
/// interfaces, port 0 for a free port (every bound address is logged:
/// `msg=listening transport=http addr=127.0.0.1:41234`), or `off`. SIGINT or SIGTERM stops
/// it after the calls in flight.
#[derive(Debug, Parser)]
#[command(name = "notesvc", version)]
struct Args {
    /// HTTP/JSON listener: `POST /notes`, `GET /notes`, `GET /notes/{id}`,
    /// `DELETE /notes/{id}`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    http_addr: ListenAddr,
    /// gRPC listener: `notes.Notes` (with grpc.health.v1 and server reflection).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8082")]
    grpc_addr: ListenAddr,
    /// The most notes kept; creating one more fails (HTTP 429, gRPC RESOURCE_EXHAUSTED).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_NOTES)]
    max_notes: usize,
    #[command(flatten)]
    shutdown: ShutdownFlags,
}

fn main() -> ExitCode {
    let args: Args = kit_app::parse();
    let set = notes::Set::new(Store::new(args.max_notes));
    let grpc = GrpcServices::new()
        .add_service(notes::grpc::server(&set))
        .descriptor_set(notes::grpc::file_descriptor_set());
    App::new("notesvc", args.shutdown)
        .http(
            "http",
            args.http_addr,
            notes::http::router_with_openapi(&set),
        )
        .grpc("grpc", args.grpc_addr, grpc)
        .run()
}
