//! kit-http over real sockets: servers on loopback, driven by raw HTTP and by kit's client.

mod axum_mount;
mod client;
mod context;
mod h2raw;
mod jsonrpc;
mod limits;
mod logs;
mod metrics;
mod openapi;
mod peer;
mod router;
mod server;
mod service_macro;
mod shutdown;
mod spans;
mod support;
mod tls;
mod trace;
