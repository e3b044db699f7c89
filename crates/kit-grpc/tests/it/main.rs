//! kit-grpc over real sockets: the test service of tests/proto/echo.proto served by kit
//! endpoints on loopback, called by kit's client and by tonic's generated clients.

mod calls;
mod checks;
mod client;
mod codegen;
mod context;
mod deadlines;
mod delivery;
mod health;
mod metrics;
mod reflection;
mod serve;
mod server;
mod service_macro;
mod spans;
mod support;
mod tls;
mod trace;

/// The code generated from tests/proto/echo.proto; see [`codegen`].
#[allow(unreachable_pub, clippy::all)]
mod pb {
    include!("generated/test.rs");
}
