//! # kit-grpc
//!
//! The gRPC transport of kit, on tonic.
//!
//! ## Why
//!
//! gRPC is how most organisations that run many services talk between them: a schema
//! (`.proto`) shared by every language, HTTP/2 multiplexing, deadlines and metadata in the
//! protocol, and standard side services (health checking, reflection) that load balancers
//! and tools already speak. A kit service should be reachable that way, and reach others
//! that way, without its business logic knowing: the logic stays a kit
//! [`Endpoint`](kit::Endpoint) and this crate adapts it, as kit-http does for HTTP/JSON.
//!
//! What the adapter adds over plain tonic is what kit adds everywhere: one error type whose
//! code, message and details map to the gRPC status and back ([`status_of`], [`error_of`]),
//! so a business error raised by a server is the same [`kit::Error`] in the calling client;
//! client errors that say whether the request can have run ([`client`]), so retries never
//! run a call twice by accident; deadlines that travel (the client sends its context's
//! remaining time as `grpc-timeout`, the server makes it the request context's deadline and
//! stops work when it passes); a per-call context on the server (the peer, cancellation when
//! the client goes away, response metadata; see [`server`]); metadata that travels
//! (propagated context metadata becomes gRPC metadata); the same endpoint middleware on both
//! sides; and the checks, health and shutdown behaviour a production server needs and tonic
//! leaves out ([`checks`], [`health`]).
//!
//! ### Why tonic, a heavy dependency
//!
//! tonic brings HTTP/2 (h2 and hyper), tower, axum's router and prost: a large build (it is
//! why this is its own crate, which a service enables only if it speaks gRPC). kit wraps it
//! rather than writing its own gRPC because tonic is the gRPC implementation of the Rust
//! ecosystem: it runs gRPC's interoperability tests, its code generator is what Rust
//! services already use for their `.proto` files, and its health and reflection crates are
//! the standard services. Owning an HTTP/2 gRPC stack would cost far more than the build
//! time, and a kit service would no longer be wire-compatible by construction. kit-grpc
//! uses tonic's types in its API (`Request`, `Status`, `GrpcService`, `Routes`) instead of
//! hiding them, so tonic's own features stay available: the [`Client`] runs over any tonic
//! transport (a `Channel`, a balanced channel, a channel behind interceptors or tower layers
//! or a custom connector, a hyper client), the generated servers keep their configuration
//! (compression, message size limits), and the services run under tonic's own server as
//! well as under [`serve()`].
//!
//! ## How
//!
//! - [`Server`] serves one [`Endpoint`](kit::Endpoint) as one method of a tonic service: a
//!   decoder, an encoder and Go kit's hooks (`before`, `after`, finalizer). A generated
//!   service trait delegates each method to one in a single line. [`BoxServer`] erases its
//!   type so it can be a struct field.
//! - [`Client`] calls one remote method as an [`Endpoint`](kit::Endpoint): an encoder, a
//!   decoder and a method path over a tonic transport, with no generated client needed.
//! - [`checks`] refuses requests that are not gRPC, as grpc-go and gRPC's C core do.
//! - [`health`] and [`reflection`] set up the standard `grpc.health.v1.Health` (following
//!   the service's [`Shutdown`](kit::shutdown::Shutdown)) and server-reflection services.
//! - [`serve()`] runs the services on a listener with graceful shutdown and answers expired
//!   deadlines `DEADLINE_EXCEEDED` (see its docs for why it exists next to tonic's server).
//!
//! ## Cargo features
//!
//! | feature | default | what it enables |
//! |---|---|---|
//! | `gzip` | off | gzip compression of messages ([`CompressionEncoding::Gzip`](client::CompressionEncoding)): tonic's `gzip` feature, pulling in flate2 |
//! | `zstd` | off | zstd compression of messages (`CompressionEncoding::Zstd`): tonic's `zstd` feature, pulling in the zstd C library |
//! | `tls` | off | gRPC over TLS for clients: `client::lazy_channel_tls` with kit-http's `client::Tls` settings (re-exported); tonic's `tls-ring` (rustls on ring, no system or webpki roots) and kit-http's `tls` (see [TLS](client#tls)) |
//! | `metrics` | off | `metrics::MetricsLayer`: every call recorded in kit-http's transport metrics by method and status, unknown methods as `route="other"`; kit's and kit-http's `metrics` features (the `metrics` facade) |
//!
//! Compression is set per client ([`Client::send_compressed`], [`Client::accept_compressed`])
//! and per generated server (`AddServer::new(add).send_compressed(..).accept_compressed(..)`);
//! with no feature enabled there is no encoding to choose, and messages travel
//! uncompressed. Message size limits need no feature: [`Client::max_decoding_message_size`]
//! and `max_encoding_message_size` on the client, the generated server's methods of the
//! same names on the server (tonic's defaults: 4 MiB received, no limit sent).
//!
//! ## Where metadata goes
//!
//! | from | to | on the wire |
//! |---|---|---|
//! | a client's context, propagated entries ([`Context::with_propagated`](kit::Context::with_propagated)) | the request | request headers (ASCII keys only; `grpc-` and `-bin` keys are skipped) |
//! | a client's context's deadline | the request | `grpc-timeout` |
//! | a client's `before` functions | the request | request headers |
//! | a server's context ([`Context::set_response_metadata`](kit::Context::set_response_metadata)) and `after` functions, on a success | the response | response headers (gRPC's *initial* metadata): tonic gives a unary success no way to send trailing metadata |
//! | the same, on an error | the status | the trailers-only answer, beside `grpc-status` (gRPC's *trailing* metadata) |
//! | an error's details ([`Error::with_details`](kit::Error::with_details)) | the status | `grpc-status-details-bin`: a `google.rpc.Status` holding a `google.protobuf.Value` |
//!
//! A client's `after` functions see the response headers and trailers of a success, or the
//! metadata of the error status.
//!
//! ### Wiring a generated service
//!
//! With the service's code generated by tonic-prost-build (`tonic_prost_build::compile_protos`
//! with protoc, or `compile_fds` of a descriptor set compiled by the pure-Rust `protox`),
//! the service struct holds one [`BoxServer`] per method and each method of the generated
//! trait is one line:
//!
//! ```ignore
//! use tonic::{Request, Response, Status};
//!
//! struct Add {
//!     sum: kit_grpc::BoxServer<pb::SumRequest, pb::SumReply>,
//!     concat: kit_grpc::BoxServer<pb::ConcatRequest, pb::ConcatReply>,
//! }
//!
//! #[tonic::async_trait]
//! impl pb::add_server::Add for Add {
//!     async fn sum(&self, r: Request<pb::SumRequest>) -> Result<Response<pb::SumReply>, Status> {
//!         self.sum.serve(r).await
//!     }
//!     async fn concat(&self, r: Request<pb::ConcatRequest>) -> Result<Response<pb::ConcatReply>, Status> {
//!         self.concat.serve(r).await
//!     }
//! }
//!
//! let add = Add {
//!     sum: kit_grpc::Server::new(
//!         sum_endpoint,
//!         |r: pb::SumRequest| Ok((r.a, r.b)),
//!         |v| Ok(pb::SumReply { v, err: String::new() }),
//!     )
//!     .boxed(),
//!     concat: /* likewise */,
//! };
//! let shutdown = kit::shutdown::Shutdown::new(drain_delay);
//! let (_reporter, health) =
//!     kit_grpc::health::service_with_shutdown(&shutdown, &[pb::add_server::SERVICE_NAME]).await;
//! let routes = tonic::service::Routes::new(pb::add_server::AddServer::new(add)).add_service(health);
//! let routes = kit_grpc::reflection::add_with_health(routes, &[pb::FILE_DESCRIPTOR_SET])?;
//! let checked = kit_grpc::checks::RequestChecksLayer::from_descriptor_sets(&[pb::FILE_DESCRIPTOR_SET])?
//!     .layer(routes);
//! tokio::spawn({
//!     let shutdown = shutdown.clone();
//!     async move { shutdown.stop_on(kit_http::shutdown_signal()).await }
//! });
//! kit_grpc::serve(listener, checked).with_graceful_shutdown(shutdown.draining()).await;
//! ```
//!
//! (The integration tests wire their test service exactly this way.)
//!
//! ## Example
//!
//! A server method and a client, end to end over loopback, with a hand-written service
//! standing in for generated code:
//!
//! ```
//! use std::time::Duration;
//! use kit::{endpoint_fn, Code, Context, Endpoint, Error};
//!
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct SumRequest {
//!     #[prost(int64, tag = "1")] a: i64,
//!     #[prost(int64, tag = "2")] b: i64,
//! }
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct SumReply {
//!     #[prost(int64, tag = "1")] v: i64,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Server side: the business logic is an endpoint; the adapter maps messages and errors.
//! let sum = kit_grpc::Server::new(
//!     endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move {
//!         if a == 0 && b == 0 {
//!             return Err(Error::invalid_argument("can't sum two zeroes"));
//!         }
//!         Ok(a + b)
//!     }),
//!     |r: SumRequest| Ok((r.a, r.b)),
//!     |v: i64| Ok(SumReply { v }),
//! );
//! # let addr = example::spawn(sum).await;
//!
//! // Client side: the remote method is an endpoint too.
//! let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy();
//! let client = kit_grpc::Client::new(
//!     channel,
//!     "/pb.Add/Sum",
//!     |(a, b): (i64, i64)| SumRequest { a, b },
//!     |reply: SumReply| Ok(reply.v),
//! );
//! let ctx = Context::background().with_timeout(Duration::from_secs(5));
//! assert_eq!(client.call(ctx.clone(), (1, 2)).await?, 3);
//!
//! // The server's business error arrives as the same kit error.
//! let err = client.call(ctx, (0, 0)).await.unwrap_err();
//! assert_eq!((err.code(), err.message()), (Code::InvalidArgument, "can't sum two zeroes"));
//! # Ok(()) }
//! # mod example {
//! #     use super::{SumReply, SumRequest};
//! #     use std::convert::Infallible;
//! #     use std::net::SocketAddr;
//! #     use std::task::{Context, Poll};
//! #     use tonic::codegen::{BoxFuture, http};
//! #     type Sum = kit_grpc::BoxServer<SumRequest, SumReply>;
//! #     // What tonic-prost-build generates for `service Add { rpc Sum(..) returns (..); }`,
//! #     // cut down to the one method.
//! #     #[derive(Clone)] struct AddServer(std::sync::Arc<Sum>);
//! #     impl tonic::server::NamedService for AddServer { const NAME: &'static str = "pb.Add"; }
//! #     struct SumSvc(std::sync::Arc<Sum>);
//! #     impl tonic::server::UnaryService<SumRequest> for SumSvc {
//! #         type Response = SumReply;
//! #         type Future = BoxFuture<tonic::Response<SumReply>, tonic::Status>;
//! #         fn call(&mut self, r: tonic::Request<SumRequest>) -> Self::Future {
//! #             let sum = self.0.clone();
//! #             Box::pin(async move { sum.serve(r).await })
//! #         }
//! #     }
//! #     impl tower_service::Service<http::Request<tonic::body::Body>> for AddServer {
//! #         type Response = http::Response<tonic::body::Body>;
//! #         type Error = Infallible;
//! #         type Future = BoxFuture<Self::Response, Infallible>;
//! #         fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> { Poll::Ready(Ok(())) }
//! #         fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
//! #             let sum = self.0.clone();
//! #             Box::pin(async move {
//! #                 let codec = tonic_prost::ProstCodec::<SumReply, SumRequest>::default();
//! #                 let mut grpc = tonic::server::Grpc::new(codec);
//! #                 Ok(grpc.unary(SumSvc(sum), req).await)
//! #             })
//! #         }
//! #     }
//! #     pub(super) async fn spawn<E, D, C>(sum: kit_grpc::Server<E, D, C>) -> SocketAddr
//! #     where E: kit::Endpoint<(i64, i64), Response = i64>,
//! #           D: Fn(SumRequest) -> Result<(i64, i64), kit::Error> + Send + Sync + 'static,
//! #           C: Fn(i64) -> Result<SumReply, kit::Error> + Send + Sync + 'static {
//! #         let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! #         let addr = listener.local_addr().unwrap();
//! #         let routes = tonic::service::Routes::new(AddServer(std::sync::Arc::new(sum.boxed())));
//! #         tokio::spawn(std::future::IntoFuture::into_future(kit_grpc::serve(listener, routes)));
//! #         addr
//! #     }
//! # }
//! ```
//!
//! ## Deadlines, and where `grpc-timeout` lives
//!
//! On the server, tonic hands every request header to the service as metadata,
//! `grpc-timeout` included (it strips gRPC's reserved headers only from metadata it sends),
//! so [`Server::serve`] reads it there; under [`serve()`] it counts from when the headers
//! arrived. tonic's own `transport::Server` and `Channel` also enforce it themselves,
//! answering `CANCELLED` "Timeout expired" when their timer fires first; see [`serve()`]
//! for when that happens and why kit's helper leaves the deadline to the context instead.
//! A kit [`Client`] enforces the deadline locally and reports `DeadlineExceeded` whichever
//! side noticed first. The server's context is cancelled, besides, when the call ends or
//! its client goes away (see [`server`]).
//!
//! ## Spans
//!
//! While a span bridge is installed ([`kit::trace::span`]; kit-tracing's `otel` layer installs
//! one), each call served by a [`Server`] runs in a server span (target `kit::server`) and
//! each call of a [`Client`] in a client span (target `kit::client`): one span per call
//! (kit's servers and clients are unary). They follow OpenTelemetry's semantic conventions
//! v1.27.0 for gRPC:
//!
//! - the name is the method's full name, `package.Service/Method` (the request path
//!   without its leading `/`); `rpc.system` is `grpc`, `rpc.service` and `rpc.method` the
//!   two halves of the name;
//! - `rpc.grpc.status_code` is the answer's status code, as an integer;
//! - a server span has `server.address`/`server.port` (the connection's local address),
//!   and `client.address`/`client.port` and `network.peer.address`/`network.peer.port` (the
//!   connection's remote address; kit reads no forwarding header for gRPC, so both are the
//!   peer); a client span has `server.address`/`server.port` when the client was told them
//!   ([`Client::server_address`]);
//! - the span is in error (with `error.type` the code's name, `DEADLINE_EXCEEDED`, and the
//!   status message as the description) for every code but `OK` on a client, and on a
//!   server only for the codes the conventions count as the server's fault: `UNKNOWN`,
//!   `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE` and `DATA_LOSS`.
//!
//! A call whose path is not `/service/method` gets a span named after the whole path,
//! without `rpc.service` and `rpc.method`; a server span whose path the server does not know
//! (under tonic's own server, which does not pass it on; [`serve()`] does) is
//! named `grpc`. A call dropped before its answer (the client went away) ends its span
//! without a status code.
//!
//! A call of a method the service does not have is answered `UNIMPLEMENTED` by tonic's router
//! or the generated service before any kit [`Server`] sees it: it has no server
//! span (the client's span records the `UNIMPLEMENTED` answer).
//!
//! ## Runtime
//!
//! Everything here runs on either tokio runtime flavour. tonic's HTTP/2 was measured to lose
//! about 40% of its throughput on a multi-thread runtime with one worker against a
//! current-thread runtime, so pick the runtime with [`kit::runtime::build`], which chooses
//! by the CPUs available.

pub mod checks;
pub mod client;
pub mod descriptor;
pub mod health;
pub mod methods;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod reflection;
mod serve;
pub mod server;
mod span;
mod status;

pub use client::Client;
pub use methods::Methods;
pub use serve::{DEFAULT_GRACE_PERIOD, Grpc, Serve, WithConnectInfo, serve};
pub use server::{BoxServer, Server, TIMEOUT_METADATA};
pub use status::{VALUE_TYPE_URL, error_of, status_of};

/// What code generated by kit's macros refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use tonic;
}

/// Keeps the items it is given when kit-grpc is built with its `tls` feature, and drops
/// them otherwise: code generated by kit's macros (`connect_lazy_tls`) cannot see
/// kit-grpc's features. Not a public API.
#[cfg(feature = "tls")]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_tls {
    ($($item:item)*) => { $($item)* };
}

/// Without the `tls` feature: drops the items it is given (see the other definition).
#[cfg(not(feature = "tls"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_tls {
    ($($item:item)*) => {};
}
