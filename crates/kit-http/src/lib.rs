//! # kit-http
//!
//! The HTTP/JSON transport of kit, on hyper 1.
//!
//! - [`Server`] serves one [`kit::Endpoint`] over HTTP: a decoder, an encoder, and Go kit's
//!   hooks (`before`, `after`, error encoder, finalizer). It is a `tower::Service`, so it
//!   mounts in an axum `Router` as well as in kit's own [`Router`]. The same `Server`, with
//!   another [handler](server::Handler), serves JSON-RPC.
//! - [`Router`] routes by exact path and method, answering `404` and `405` with JSON errors.
//! - [`serve`] runs a service on a listener, with graceful shutdown on a signal
//!   ([`shutdown_signal`]): in-flight requests finish, then it returns.
//! - [`Client`] turns a URL, an encoder and a decoder into a [`kit::Endpoint`], over a
//!   pooled connection, sending the context's deadline and decoding error answers back into
//!   [`kit::Error`]s.
//! - [`json`] has the JSON codecs for both sides, with Go's case-insensitive key matching.
//! - [`jsonrpc`] serves a table of endpoints as JSON-RPC 2.0 methods (a [`Server`] too, with
//!   the same hooks and limits) and calls remote methods as endpoints (on the [`Client`]).
//!
//! Errors map through kit's classification table both ways: a server answers an error with
//! the status of its code ([`status_of`]) and `{"error": "<message>"}`; a client turns a
//! status back into the code ([`kit::Code::from_http_status`]) with the same message. So a
//! business error (`InvalidArgument`) is `400` on the wire and `InvalidArgument` again in the
//! caller.
//!
//! ## Limits and answers
//!
//! | request | answer |
//! |---|---|
//! | body over the limit (default 1 MiB) | `413`, before the rest is read |
//! | body that does not decode | `400` `{"error":"invalid request body: ..."}` |
//! | unknown path | `404` |
//! | known path, wrong method | `405` with `Allow` |
//! | malformed `kit-timeout` header | `400` |
//! | deadline passes while serving | `504` `{"error":"deadline exceeded"}` |
//! | JSON-RPC: any JSON-RPC error (parse error, unknown method, the endpoint's error...) | `200` with a JSON-RPC error object (see [`jsonrpc`]) |
//! | JSON-RPC: only notifications | `204`, no body |
//! | JSON-RPC: not `POST` | `405` with `Allow: POST` |
//!
//! ## Deadlines
//!
//! The client sends the time left on its context as `kit-timeout` ([`TIMEOUT_HEADER`], in
//! `grpc-timeout` syntax, see [`kit::wire`]); the server makes it the deadline of the
//! request's context, so work stops everywhere once the original caller has given up.

pub mod accept;
mod body;
mod cause;
pub mod client;
mod graceful;
pub mod json;
pub mod jsonrpc;
mod router;
mod serve;
pub mod server;
mod status;

pub use client::{Client, Pool};
pub use router::Router;
pub use serve::{
    ConnectionBudget, DEFAULT_GRACE_PERIOD, Http, Protocol, Serve, serve, shutdown_signal,
};
pub use server::{DEFAULT_BODY_LIMIT, Server, TIMEOUT_HEADER};
pub use status::{HttpStatus, code_for, status_for, status_of};

/// The body of every response kit writes and every request its client sends: one buffer.
pub type Body = http_body_util::Full<bytes::Bytes>;
