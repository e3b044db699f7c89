//! # kit-http
//!
//! The HTTP/JSON transport of kit, on hyper 1.
//!
//! - [`Server`] serves one [`kit::Endpoint`] over HTTP: a [decoder](server::Decoder), an
//!   encoder, and Go kit's hooks (`before`, `after`, error encoder, finalizer). It is a
//!   `tower::Service`, so it mounts in an axum `Router` as well as in kit's own [`Router`].
//!   The same `Server`, with another [handler](server::Handler), serves JSON-RPC.
//! - [`Router`] routes by path (with `{parameters}`) and method, with `HEAD`, `OPTIONS`,
//!   `405` + `Allow`, `404` and fallbacks, as axum's does, at a lower cost per request; it
//!   also serves fixed JSON documents such as a service's OpenAPI document
//!   ([`Router::document`]).
//! - [`serve`] runs a service on a listener, within limits that hold against slow, huge
//!   and many clients (see [server defaults](#server-defaults)), with graceful shutdown on a
//!   signal ([`shutdown_signal`]): in-flight requests finish, then it returns.
//!   [`accept::current_peer`] tells the service which connection a request came in on.
//! - [`Client`] turns a URL, an encoder and a decoder into a [`kit::Endpoint`], over a
//!   pooled connection, sending the context's deadline and propagated metadata, and
//!   decoding error answers back into the same [`kit::Error`]s, with what retries need to
//!   know ([`kit::error::Delivery`]).
//! - [`json`] has the JSON codecs for both sides, standard or Go-compatible
//!   ([`json::go`]: case-insensitive keys, as Go kit clients send them).
//! - `metrics` (feature `metrics`) records every request the transport answers, those that
//!   never reach an endpoint included (unknown paths, refused methods, bodies that do not
//!   parse, unknown JSON-RPC methods), by route and outcome, with whatever a client names
//!   that the service does not know collapsed into one `route="other"`.
//! - `tls` (feature `tls`): the client speaks HTTPS to `https://` URLs over a pool made
//!   with `Pool::with_tls` and `client::Tls` settings (see the [`client`] module docs).
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
//! Every request has an id ([`kit::request_id`]): its `X-Request-Id` header when that is at
//! most 128 bytes of visible ASCII, else a new one. It is in the context as propagated
//! metadata (so kit clients called with the context send it on) and echoed in the
//! response's `X-Request-Id` header. The request is served in a
//! [request scope](kit::request_scope) with the fields `request_id`, `transport` (`http`,
//! or `jsonrpc` for a JSON-RPC server), `route` (`POST /sum`: method and path) and `peer`
//! (the client's address), which kit-tracing adds to every line logged while it is served,
//! without the service passing anything.
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
//! ## Server defaults
//!
//! What [`serve`] (and kit-grpc's `serve`, which shares it) does to a client that is slow,
//! sends too much, or opens too many connections. Every limit has a [`Serve`] method; the
//! tests in `tests/it/limits.rs` play each hostile client against it. "kit" limits are
//! enforced by kit's accept loop and connection supervisor; "hyper"/"h2" ones are hyper's
//! settings, with kit's default where it differs from hyper's.
//!
//! | limit | default | when it is reached | set with | whose |
//! |---|---|---|---|---|
//! | request head read time, from the connect (also bounds protocol detection and the HTTP/2 preface) and from the first byte of each later HTTP/1 request | 10 s | connection closed, no answer | [`header_read_timeout`](Serve::header_read_timeout) | kit |
//! | idle connection (HTTP/1: no request in flight, nothing of the next received; HTTP/2: no stream open) | 120 s, longer than the idle timeouts of common load balancers, so they close first | HTTP/1: closed; HTTP/2: `GOAWAY`, then closed | [`idle_timeout`](Serve::idle_timeout) | kit |
//! | silence once a graceful shutdown began (drain, or `GOAWAY` after the idle timeout), with no request in flight | 1 s | closed (so a client that never acknowledges the `GOAWAY` does not hold the drain) | [`drain_idle_timeout`](Serve::drain_idle_timeout) | kit |
//! | drain after the shutdown signal | 10 s | remaining connections closed | [`grace_period`](Serve::grace_period) | kit |
//! | open connections | three quarters of the process's soft `RLIMIT_NOFILE` (384 under `ulimit -n 512`), one budget shared by all servers of the process | no more accepts until one closes; new connections wait in the kernel's listen backlog | [`max_connections`](Serve::max_connections), [`connection_budget`](Serve::connection_budget) | kit |
//! | failing `accept` (`EMFILE`, `ENFILE`, ...) | pauses of 10 ms doubling to 1 s; a warning at most every 5 s | accepting resumes after the pause | — | kit |
//! | request head size | 64 KiB | HTTP/1: `431`, connection closed; HTTP/2: `431` on the stream | [`max_header_bytes`](Serve::max_header_bytes) | hyper (HTTP/1 `max_buf_size`, HTTP/2 `max_header_list_size`) |
//! | HTTP/1 header fields | 100 | `431`, connection closed | [`max_headers`](Serve::max_headers) | hyper |
//! | HTTP/2 streams open at once | 200 | announced in `SETTINGS`; a stream over it is refused (`REFUSED_STREAM`) | [`http2_max_concurrent_streams`](Serve::http2_max_concurrent_streams) | hyper |
//! | HTTP/2 streams reset by the client before being accepted ("rapid reset") | 20 | `GOAWAY` `ENHANCE_YOUR_CALM`, connection closed | [`http2_max_pending_accept_reset_streams`](Serve::http2_max_pending_accept_reset_streams) | h2 |
//! | HTTP/2 streams reset for the client's errors | hyper's | `GOAWAY` `ENHANCE_YOUR_CALM` | [`http2_max_local_error_reset_streams`](Serve::http2_max_local_error_reset_streams) | hyper |
//! | peer that vanished (crashed host, dropped network path) | TCP keepalive: probes after 15 s without traffic, every 15 s, 9 unanswered close the connection (Linux; as Go's servers) | connection closed by the kernel, requests and all | [`tcp_keepalive`](Serve::tcp_keepalive) | kit (the kernel's keepalive) |
//! | HTTP/2 client that stops answering pings | off (hyper's): pings cost a lock and a clock read per frame received, ~2.5% of a unary gRPC call | connection closed, streams and all | [`http2_keep_alive_interval`](Serve::http2_keep_alive_interval), [`http2_keep_alive_timeout`](Serve::http2_keep_alive_timeout) | hyper |
//! | HTTP/2 request data ahead of the service | 1 MiB per stream and per connection | announced as flow-control windows: the client sends no more until the service reads | [`http2_initial_stream_window_size`](Serve::http2_initial_stream_window_size), [`http2_initial_connection_window_size`](Serve::http2_initial_connection_window_size) | hyper |
//! | request body size, body read time | see [`Server`] | | | kit's `Server` |
//!
//! Everything else is hyper's, reachable through [`Serve::http1`] and [`Serve::http2`],
//! which hand over hyper's builders. Timeouts are kept by one supervisor task per server,
//! which looks at the connections an eighth of the shortest timeout apart (at most once a
//! second): a timeout fires up to two of those ticks late, never early.
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
mod document;
mod graceful;
pub mod json;
pub mod jsonrpc;
mod meter;
#[cfg(feature = "metrics")]
pub mod metrics;
mod query;
mod router;
mod serve;
pub mod server;
mod span;
mod spare;
mod status;

pub use body::RequestBody;
pub use client::{Client, Pool};
pub use query::QueryParams;
pub use router::{AlwaysReady, PathParams, Router};
pub use serve::{
    ConnectionBudget, DEFAULT_GRACE_PERIOD, Http, Protocol, Serve, serve, shutdown_signal,
};
pub use server::{
    DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, REQUEST_ID_HEADER, Server, TIMEOUT_HEADER,
};
pub use status::{HttpStatus, code_for, status_for, status_of};

/// The body of every response kit writes and every request its client sends: one buffer.
pub type Body = http_body_util::Full<bytes::Bytes>;

/// What code generated by kit's macros refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use bytes;
    pub use http;
    pub use http_body;
}
