//! # kit-http
//!
//! The HTTP/JSON transport of kit, on hyper 1.
//!
//! - [`Server`] serves one [`kit::Endpoint`] over HTTP: a [decoder](server::Decoder), an
//!   encoder, and Go kit's hooks (`before`, `after`, error encoder, finalizer). It is a
//!   `tower::Service`, so it mounts in an axum `Router` as well as in kit's own [`Router`].
//!   The same `Server`, with another [handler](server::Handler), serves JSON-RPC.
//! - [`Router`] routes by path (with `{parameters}`) and method, with `HEAD`, `OPTIONS`,
//!   `405` + `Allow`, `404` and fallbacks, as axum's does, at a lower cost per request.
//! - [`serve`] runs a service on a listener, with graceful shutdown on a signal
//!   ([`shutdown_signal`]): in-flight requests finish, then it returns.
//! - [`Client`] turns a URL, an encoder and a decoder into a [`kit::Endpoint`], over a
//!   pooled connection, sending the context's deadline and propagated metadata, and
//!   decoding error answers back into the same [`kit::Error`]s, with what retries need to
//!   know ([`kit::error::Delivery`]).
//! - [`json`] has the JSON codecs for both sides, standard or Go-compatible
//!   ([`json::go`]: case-insensitive keys, as Go kit clients send them).
//! - [`jsonrpc`] serves a table of endpoints as JSON-RPC 2.0 methods (a [`Server`] too, with
//!   the same hooks and limits) and calls remote methods as endpoints (on the [`Client`]).
//!
//! ## Errors on the wire
//!
//! This crate owns the mapping of kit's codes to HTTP, both ways: a server answers an error
//! with the status of its code ([`status_for`], or the [`HttpStatus`] hint an error carries,
//! see [`status_of`]) and the body `{"error":"<message>","code":"<CODE>"}`, plus
//! `"details"` when the error has some. Go kit's clients read `error` and ignore the rest;
//! kit's client reads the code back by name, so codes that share a status (`Aborted` and
//! `AlreadyExists` are both `409`) survive the round trip, and falls back to the status
//! ([`code_for`]) for servers that are not kit. Servers redact the messages of `Internal`,
//! `Unknown` and `DataLoss` errors by default
//! ([`Server::redact_private_errors`]).
//!
//! ## The request context
//!
//! Each request gets a context of its own (see [`kit::context`]): the `kit-timeout` header
//! as its deadline, the connection's peer, and what `before` hooks add. It is cancelled when
//! the request is answered, when the client goes away and when a shutdown's grace period
//! ends. Response metadata that the endpoint or middleware sets through it becomes response
//! headers, and an [`http::StatusCode`] hint becomes the status of a successful answer
//! (`201 Created`); both apply before the `after` hooks run.
//!
//! ## Limits and answers
//!
//! | request | answer |
//! |---|---|
//! | body over the limit (default 1 MiB, [`Server::body_limit`]) | `413`, before the rest is read |
//! | body not received within the body timeout (default 30 s, [`Server::body_timeout`]) | `408` |
//! | body still arriving at the request's deadline | `504` |
//! | body in a transfer coding other than `chunked` | `501` |
//! | body that does not decode | `400` `{"error":"invalid request body: ...","code":"INVALID_ARGUMENT"}` |
//! | unknown path | `404` |
//! | known path, wrong method | `405` with `Allow` |
//! | `OPTIONS` on a path with no `OPTIONS` route | `204` with `Allow` |
//! | malformed `kit-timeout` header | `400` |
//! | deadline passes while serving | `504` `{"error":"deadline exceeded","code":"DEADLINE_EXCEEDED"}` |
//! | JSON-RPC: any JSON-RPC error (parse error, unknown method, the endpoint's error...) | `200` with a JSON-RPC error object (see [`jsonrpc`]) |
//! | JSON-RPC: a batch over the limit (default 100 requests) | `200` with one `-32600` error; nothing runs |
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

pub use body::RequestBody;
pub use client::{Client, Pool};
pub use router::{AlwaysReady, PathParams, Router};
pub use serve::{DEFAULT_GRACE_PERIOD, Http, Protocol, Serve, serve, shutdown_signal};
pub use server::{DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, Server, TIMEOUT_HEADER};
pub use status::{HttpStatus, code_for, status_for, status_of};

/// The body of every response kit writes and every request its client sends: one buffer.
pub type Body = http_body_util::Full<bytes::Bytes>;
