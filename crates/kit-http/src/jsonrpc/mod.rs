//! JSON-RPC 2.0 over HTTP: endpoints served and called as JSON-RPC methods.
//!
//! Some callers speak JSON-RPC rather than REST-style JSON: Go kit's JSON-RPC transport
//! (its addsvc example listens on one), browser and scripting clients, tools that batch
//! calls. This module serves kit endpoints to them and calls their servers as endpoints,
//! with the same machinery as plain HTTP, so nothing about deadlines, hooks or errors
//! changes with the protocol:
//!
//! - **Server.** A [`Methods`] table maps method names to endpoints, each with a decoder of
//!   its params and an encoder of its result. [`Server::jsonrpc`](crate::Server::jsonrpc)
//!   serves it as a kit [`Server`](crate::Server), on one route, with everything a server
//!   does around a request: the `kit-timeout` deadline, `before`/`after` hooks, the body
//!   limit, the error encoder for HTTP-level failures, finalizers.
//! - **Client.** A [`Client`] is one remote method as a [`kit::Endpoint`], built on the HTTP
//!   [`Client`](crate::Client): pooled connections, the deadline, propagated metadata.
//!
//! # The protocol, as served
//!
//! - `POST` only (another HTTP method is `405`), on any path.
//! - Single requests, batches (run concurrently, answered as an array without the
//!   notifications' answers) and notifications (no `id` member; never answered, even on
//!   error). When nothing is to be answered the reply is `204 No Content` with no body.
//! - The `id` is echoed exactly as sent; `"id": null` is a call, answered with `null`.
//! - The `jsonrpc` member may be `"2.0"`, `""` or absent (Go kit's client sends `""`); every
//!   answer says `"2.0"`.
//! - JSON-RPC errors are answered with HTTP `200`:
//!
//! | failure | code | `id` |
//! |---|---|---|
//! | body not JSON | `-32700` ([`PARSE_ERROR`]) | `null` |
//! | not a request object, bad `id`, empty batch | `-32600` ([`INVALID_REQUEST`]) | `null` |
//! | bad `jsonrpc` or `method` | `-32600` | the call's (`null` without one) |
//! | unknown method | `-32601` (`method not found: NAME`) | the call's |
//! | params that do not decode | `-32602` (`invalid params: ...`) | the call's |
//! | the endpoint fails | its code's JSON-RPC code ([`error_code`]), its message, its details as `data` | the call's |
//!
//! So a business error (`InvalidArgument`) is `-32602` with its message, and a missed
//! deadline is `-32004` `deadline exceeded`. A client reads the code back with
//! [`code_of`].
//!
//! # Example
//!
//! ```
//! use std::future::IntoFuture;
//!
//! use kit::{endpoint_fn, Code, Context, Endpoint, Error};
//! use kit_http::{jsonrpc, serve, Server};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct SumRequest { a: i64, b: i64 }
//! #[derive(Debug, Serialize, Deserialize)]
//! struct SumReply { v: i64 }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sum = endpoint_fn(|_ctx: Context, r: SumRequest| async move {
//!     if r.a == 0 && r.b == 0 {
//!         return Err(Error::invalid_argument("can't sum two zeroes"));
//!     }
//!     Ok(SumReply { v: r.a + r.b })
//! });
//! let methods = jsonrpc::Methods::new()
//!     .method("sum", sum, jsonrpc::decode_params, jsonrpc::encode_result);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(serve(listener, Server::jsonrpc(methods)).into_future());
//!
//! // POST {"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2},"id":1}
//! //   -> {"jsonrpc":"2.0","result":{"v":3},"id":1}
//! let client = jsonrpc::Client::new(
//!     format!("http://{addr}/rpc").parse()?,
//!     "sum",
//!     jsonrpc::encode_params,
//!     jsonrpc::decode_result::<SumReply>,
//! );
//! let reply = client.call(Context::background(), SumRequest { a: 1, b: 2 }).await?;
//! assert_eq!(reply.v, 3);
//! let err = client.call(Context::background(), SumRequest { a: 0, b: 0 }).await.unwrap_err();
//! assert_eq!((err.code(), err.message()), (Code::InvalidArgument, "can't sum two zeroes"));
//! # Ok(()) }
//! ```

mod client;
mod codec;
mod server;
mod wire;

pub use client::Client;
pub use codec::{decode_params, decode_result, encode_params, encode_result, go};
pub use server::{DEFAULT_BATCH_CONCURRENCY, DEFAULT_MAX_BATCH, Methods};
pub use wire::{INVALID_REQUEST, PARSE_ERROR, code_of, error_code};
