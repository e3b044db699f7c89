//! notesvc's contract over real sockets: the `notesvc` binary started as a process, driven
//! by raw HTTP, by a gRPC client compiled from the hand-written `proto/notes.proto`, by the
//! typed clients `#[kit::service]` generates, and by the `notesvc-cli` binary.
//!
//! `NOTESVC_BIN` and `NOTESVC_CLI_BIN` run the same tests against other builds of the
//! server and the command-line client (the plain axum + tonic version in `comparison/`).

mod cli;
mod clients;
mod grpc;
mod http;
mod limits;
mod openapi;
mod process;
mod proto;
mod support;

/// A tonic client generated from `proto/notes.proto` (see `build.rs`).
#[allow(missing_docs, unreachable_pub, clippy::all)]
mod pb {
    tonic::include_proto!("notes");
}
