//! addsvc's contract over real sockets: the `addsvc` binary started as a process, driven by
//! raw HTTP and JSON-RPC (as Go kit's clients send them), tonic's gRPC client, and the
//! `addcli` binary over each transport.

mod addcli;
mod contract;
mod discovery;
mod flood;
mod grpc;
mod jsonrpc;
mod limits;
mod metrics;
mod openapi;
mod process;
mod schema;
mod support;
mod tracing;

/// A tonic client generated from Go kit's `proto/addsvc.proto` (see `build.rs`).
#[allow(missing_docs, unreachable_pub, clippy::all)]
mod pb {
    tonic::include_proto!("pb");
}
