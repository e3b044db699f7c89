//! kit-http over real sockets: servers on loopback, driven by raw HTTP and by kit's client.

mod axum_mount;
mod client;
mod jsonrpc;
mod server;
mod shutdown;
mod support;
