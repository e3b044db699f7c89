//! # addsvc
//!
//! kit's canonical example, wire-compatible with Go kit's addsvc: two methods, `Sum` and
//! `Concat`, served over every transport kit has (HTTP/JSON today; gRPC, JSON-RPC and
//! Thrift listeners join it as their transports land).
//!
//! It is laid out the way a kit service is meant to be, one layer per file, each only
//! knowing the one below:
//!
//! 1. [`service`]: the business logic behind a trait, with its business errors;
//! 2. [`endpoints`]: each method as a kit endpoint, with the middleware every transport
//!    shares, and the request/response types;
//! 3. [`transport`]: the wire, server and client side per transport;
//! 4. `main.rs` (the `addsvc` binary) wires listeners to transports; `bin/addcli.rs` is the
//!    command-line client, calling the service through a transport's client
//!    [`Set`](endpoints::Set).
//!
//! ## The HTTP contract
//!
//! | request | answer |
//! |---|---|
//! | `POST /sum` `{"a":1,"b":2}` | `200` `{"v":3}` |
//! | `POST /concat` `{"a":"x","b":"y"}` | `200` `{"v":"xy"}` |
//! | `POST /sum` `{"a":0,"b":0}` | `400` `{"error":"can't sum two zeroes"}` |
//! | `POST /sum` `{"a":2147483647,"b":1}` | `400` `{"error":"integer overflow"}` |
//! | `POST /concat` with a result over 10 bytes | `400` `{"error":"result exceeds maximum size"}` |
//! | a body that is not JSON | `400` `{"error":"invalid request body: ..."}` |
//! | a body over 1 MiB | `413` |
//! | `GET /sum` | `405` |
//! | an unknown path | `404` |
//!
//! Keys match case-insensitively (`{"A":1,"B":2}`, as Go kit's client sends), chunked bodies
//! and bodies without a `Content-Type` are accepted.
//!
//! ## Running it
//!
//! `cargo run -p addsvc` serves HTTP on `127.0.0.1:8081` and the debug listener (`GET
//! /health`) on `127.0.0.1:8080`; `--help` lists the flags. Then
//! `cargo run -p addsvc --bin addcli -- -http-addr 127.0.0.1:8081 1 2` prints `1 + 2 = 3`.

pub mod endpoints;
pub mod flags;
pub mod service;
pub mod transport;
