//! # addsvc
//!
//! kit's canonical example, wire-compatible with Go kit's addsvc: two methods, `Sum` and
//! `Concat`, served over HTTP/JSON, JSON-RPC 2.0 and gRPC, each on its own listener (Thrift
//! joins when its transport lands).
//!
//! It is written the short way: the business logic is the [`Add`] trait and its
//! implementation [`BasicService`] (`service.rs`); `#[kit::service]` generates the
//! messages, endpoints, servers and clients of every transport (module [`add`]);
//! [`endpoints`] adds the middleware every transport shares. `main.rs` (the `addsvc`
//! binary) wires listeners to transports; `bin/addcli.rs` is the command-line client,
//! calling the service through a transport's client [`Set`](add::Set).
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
//! | `GET /openapi.json` | `200`, the service's OpenAPI 3.1 document ([`add::openapi`]) |
//!
//! Keys match case-insensitively (`{"A":1,"B":2}`, as Go kit's client sends), chunked bodies
//! and bodies without a `Content-Type` are accepted.
//!
//! ## The JSON-RPC contract
//!
//! `POST` on any path of the JSON-RPC listener (Go kit's addcli uses `/rpc`): methods `sum`
//! and `concat`, params `{"a":..,"b":..}`, result `{"v":..}`. A business error is an error
//! object with the error text as message and code `-32602` (`InvalidArgument` in kit's
//! classification table); unknown methods are `-32601`, params that do not decode `-32602`,
//! malformed JSON `-32700`. Batches and notifications follow JSON-RPC 2.0 (a request with no
//! answer gets `204`); `"jsonrpc": ""` (Go kit's client) is accepted.
//!
//! ## The gRPC contract
//!
//! Service `pb.Add`, as in `proto/addsvc.proto` (Go kit's; the service's own [`add::proto`]
//! is the same file, checked by a test). Business errors travel in the reply's `err` field with status `OK`, as in Go
//! kit's addsvc; other errors are statuses with the code of kit's table. The listener also
//! serves `grpc.health.v1.Health` (`pb.Add` and `""` are `SERVING`) and server reflection.
//!
//! ## Running it
//!
//! `cargo run -p addsvc` serves HTTP on `127.0.0.1:8081`, gRPC on `127.0.0.1:8082`, JSON-RPC
//! on `127.0.0.1:8084` and the debug listener (`GET /health`) on `127.0.0.1:8080`; `--help`
//! lists the flags. Then `cargo run -p addsvc --bin addcli -- -grpc-addr 127.0.0.1:8082 1 2`
//! prints `1 + 2 = 3` (or `-http-addr 127.0.0.1:8081`, `-jsonrpc-addr 127.0.0.1:8084`).
//!
//! ## Discovery
//!
//! addsvc registers its listeners with `--zk-addr`, `--consul-addr`, `--eureka-url` or
//! `--etcd-addr`, and addcli finds them with the same flags (or `--dns-srv`) and
//! `--transport`, calling through a round-robin balancer with retries; `--repeat N` and
//! `--interval DUR` make it a loop. `--etcd-addr` needs the `etcd` feature, off by default
//! because etcd's client needs `protoc` to build: `cargo run -p addsvc --features etcd`
//! (and `--bin addcli`); without it the flag is refused with a message naming the feature.
//!
//! ## Limits
//!
//! As Go kit's addsvc, Sum takes at most 1 call per second (burst 1) and Concat 100 (burst
//! 100); a refused call is `ResourceExhausted` `rate limit exceeded` (HTTP 429, gRPC
//! RESOURCE_EXHAUSTED, the JSON-RPC code of that code). Each limit sits inside a circuit
//! breaker with gobreaker's defaults, so a burst of refusals opens it: calls then fail at once
//! with `Unavailable` `circuit breaker is open` (503) until `--breaker-timeout` (default 60 s)
//! has passed and a probe call succeeds. The limits are on the endpoints, so every transport
//! shares them; `--no-limits` turns them off (benchmarks do).

pub mod instrumenting;
pub mod service;

pub use instrumenting::Instrumenting;
pub use service::{Add, BasicService, add};

/// The endpoints of `service` with the middleware every transport shares: metrics (the
/// service's counters, see [`Instrumenting`], and per method `example_addsvc_requests_total`,
/// `example_addsvc_request_duration_seconds` and `example_addsvc_requests_in_flight`
/// labelled `method` and `success`, registered with the recorder installed now), logging, and,
/// unless `limits.no_limits`, Go kit's addsvc limits (CONTRACTS.md): Sum at most 1 call per
/// second (burst 1), Concat 100 per second (burst 100), each limit inside a circuit breaker
/// with gobreaker's defaults (it opens after more than 5 failures in a row, refusals of the
/// limit included, and stays open for `limits.breaker_timeout`).
pub fn endpoints(service: impl Add, limits: &kit_app::LimitFlags) -> add::Set {
    use kit::middleware::chain;
    use kit::middleware::circuit_breaker::{CircuitBreaker, Counting};
    use kit::middleware::metrics::RequestMetrics;
    use kit::middleware::rate_limit::RateLimit;

    let service = Instrumenting::new(service);
    let names = RequestMetrics::new("example_addsvc");
    if limits.no_limits {
        return add::Set::with_middleware(service, |method| {
            chain().instrument(&names, method).logging(method)
        });
    }
    add::Set::with_middleware(service, |method| {
        let rate = match method {
            "Sum" => RateLimit::per_second(1).burst(1),
            _ => RateLimit::per_second(100).burst(100),
        };
        let breaker = CircuitBreaker::new(Counting::default().timeout(limits.breaker_timeout));
        chain()
            .instrument(&names, method)
            .logging(method)
            .circuit_breaker(breaker)
            .rate_limit(rate)
    })
}
