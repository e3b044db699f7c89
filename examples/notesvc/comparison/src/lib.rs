//! notesvc on plain axum + tonic: the same service, wire contract and command-line client
//! as the kit version in `../src`, written the way a service is without kit (without what
//! kit-app adds to the kit version, such as gRPC health and reflection: see `../README.md`).

pub mod client;
pub mod grpc;
pub mod http;
pub mod store;

/// The messages, and tonic's client and server, generated from `proto/notes.proto`.
pub mod pb {
    tonic::include_proto!("notes");
}
