//! Checks that a request is gRPC before a service reads it, as grpc-go and gRPC's C core
//! do; tonic does none of them.
//!
//! [`RequestChecksLayer`] is a tower layer for the HTTP service that serves gRPC (usually a
//! [`tonic::service::Routes`]). It answers, without calling the service:
//!
//! | request | HTTP status | `grpc-status` | `grpc-message` | as |
//! |---|---|---|---|---|
//! | `content-type` missing or not `application/grpc` (optionally followed by `+subtype` or `;params`) | `415` | `3` (`INVALID_ARGUMENT`) | `invalid gRPC request content-type "<value>"` | grpc-go |
//! | a method other than `POST` | `405` | `13` (`INTERNAL`) | `Received a HEADERS frame with :method "<method>" which should be POST` | grpc-go |
//! | no `te: trailers` header (see [`require_te`](RequestChecksLayer::require_te)) | `200` | `2` (`UNKNOWN`) | `Missing :te header` | gRPC's C core (C++, Python, Ruby, PHP) |
//!
//! and, for the methods whose request is a single message (unary and server-streaming
//! methods, read from the services' descriptors by
//! [`from_descriptor_sets`](RequestChecksLayer::from_descriptor_sets)), it fails the call
//! with `INTERNAL` `cardinality violation: received more than one request message for a
//! method that takes one` as soon as a second message begins. tonic would decode the extra
//! messages and silently drop them.
//!
//! The content-type and method answers follow gRPC's HTTP/2 protocol spec ("gRPC servers
//! SHOULD respond with HTTP status of 415") and copy grpc-go's statuses and messages, so
//! clients and proxies see what they see from Go servers. The spec prescribes no answer for
//! a missing `te`; grpc-go ignores it and grpc-java only logs a warning, but the C core
//! (the strictest widely deployed server) refuses the call, so a client or proxy that drops
//! `te` already fails against much of the gRPC world: kit does the same by default, and
//! [`require_te(false)`](RequestChecksLayer::require_te) accepts such requests for
//! deployments behind a proxy that strips it.
//!
//! Messages are counted from the body's gRPC framing (a 1-byte flag and a 4-byte length
//! before each message) as the bytes pass: the body is neither buffered nor delayed, and
//! the check costs a few comparisons per DATA frame. Methods not in the descriptors (and
//! every method, with [`RequestChecksLayer::new`]) are not counted, so a streaming method
//! missing from the descriptors is never cut short.
//!
//! ## Where it goes
//!
//! Wrap the routes that [`serve`](crate::serve()) (or tonic's server, or any hyper server)
//! runs. Put it outside the gRPC services but inside anything that turns other protocols
//! into gRPC (a gRPC-Web translation layer), which it would otherwise refuse:
//!
//! ```no_run
//! use tower_layer::Layer;
//! use kit_grpc::checks::RequestChecksLayer;
//!
//! # async fn run(routes: tonic::service::Routes, descriptors: &'static [u8]) -> Result<(), Box<dyn std::error::Error>> {
//! // `descriptors`: the encoded FileDescriptorSet of the service's protos, the one the
//! // reflection service takes.
//! let checked = RequestChecksLayer::from_descriptor_sets(&[descriptors])?.layer(routes);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8082").await?;
//! kit_grpc::serve(listener, checked).await;
//! # Ok(()) }
//! ```

mod body;
mod future;
mod layer;
mod service;

pub use body::CheckedBody;
pub use future::ResponseFuture;
pub use layer::RequestChecksLayer;
pub use service::RequestChecks;
