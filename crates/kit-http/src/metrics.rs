//! Request metrics recorded by the transport itself, for every request, including those
//! that never reach an endpoint (feature `metrics`).
//!
//! kit's endpoint middleware ([`kit::middleware::metrics`]) sees the calls that reach an
//! endpoint. A client that asks for an unknown path, sends the wrong method, a body that
//! does not parse or is too large, or an unknown JSON-RPC method is answered by the
//! transport before any endpoint runs; these requests are recorded here. Turn it on with
//! [`Router::metrics`](crate::Router::metrics) (plain HTTP) and
//! [`Server::<jsonrpc::Methods>::metrics`](crate::Server::metrics) (JSON-RPC); kit-grpc's
//! `metrics::MetricsLayer` does the same for gRPC with these types.
//!
//! | metric (prefix `kit` by default) | kind | labels |
//! |---|---|---|
//! | `kit_server_request_duration_seconds` | histogram (seconds; its `_count` is the request count) | `transport`, `route`, `code` |
//! | `kit_server_requests_in_flight` | gauge | `transport` |
//!
//! - `transport`: `http`, `jsonrpc` or `grpc`.
//! - `route`: what the server knows the request as, never what the client wrote:
//!   - HTTP: the matched route, method and pattern, `POST /sum` or `GET /notes/{id}` (a
//!     `HEAD` answered by a `GET` route counts as that route);
//!   - JSON-RPC: the method's name, one series per call (a batch of ten calls is ten);
//!   - gRPC: the method's path, `/pkg.Service/Method`.
//!
//!   Everything else is [`OTHER`] (`"other"`): unknown paths (`404`), known paths with a
//!   method they are not routed for (`405`), the router's `OPTIONS` answers and
//!   fallbacks, unknown JSON-RPC methods (`-32601`), JSON-RPC messages that are not JSON
//!   (`-32700`) or not requests (`-32600`), unknown gRPC services and methods
//!   (`UNIMPLEMENTED`), and requests a JSON-RPC or gRPC server refuses before reading a
//!   call (wrong HTTP method, body too large). So however many distinct paths or method
//!   names a hostile client sends, they add no series: the label's values are the routes
//!   the service defines, plus one.
//! - `code`: the outcome, as the name of a [`kit::Code`] (`OK` for a success,
//!   `NOT_FOUND`, `INVALID_ARGUMENT`, ...; at most 17 values), the same names on every
//!   transport (gRPC's status names are kit's). HTTP: the error's code when the server
//!   answered an error, else `OK` below `400` and [`code_for`](crate::code_for) of the
//!   status above (`404` is `NOT_FOUND`, `405` `UNIMPLEMENTED`, `413` and a body that does
//!   not decode `INVALID_ARGUMENT`). JSON-RPC: the call's error's code (`-32601` is
//!   `UNIMPLEMENTED`, `-32700`, `-32600` and `-32602` are `INVALID_ARGUMENT`). A request
//!   abandoned before its answer was ready (the client went away) is `CANCELLED`.
//! - The in-flight gauge counts HTTP requests being served (a JSON-RPC batch is one;
//!   gRPC: calls until their last frame is sent).
//!
//! **Cost.** Every known route's series is made when the route is: the in-flight gauge
//! and the `code="OK"` histogram at once, the other codes' histograms the first time each
//! is recorded (so an exposition lists only outcomes that happened; that first time looks
//! the series up in the recorder installed *globally* then). After that a request costs
//! two clock reads, the gauge's increment and decrement, a histogram record and a
//! reference count's increment and decrement, with no lookup and no allocation in kit: the
//! router already knows the route it matched, and hands the route's handles to the route's
//! server when the router is built. Measured 2026-11-30 on the project's shared 2-CPU VM
//! (`benches/http-sum-inproc.sh`: addsvc's `POST /sum` in process, into kit-metrics's
//! Prometheus recorder; callgrind's counts repeat exactly): the router's transport metrics
//! add about 260 instructions per request (1.2% of the request), with no allocation.
//!
//! ```
//! use http::Method;
//! use kit::{endpoint_fn, Context, Error};
//! use kit_http::metrics::ServerMetrics;
//! use kit_http::{json, Router, Server};
//!
//! let echo = endpoint_fn(|_ctx: Context, v: serde_json::Value| async move { Ok::<_, Error>(v) });
//! let names = ServerMetrics::new("example"); // example_server_request_duration_seconds, ...
//! let router = Router::new()
//!     .route(Method::POST, "/echo", Server::new(echo, json::decode_request, json::encode_response))
//!     .metrics(&names); // route="POST /echo", and route="other" for the rest
//! # let _ = router;
//! ```

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ::metrics::{Gauge, Histogram, SharedString, Unit};
use kit::Code;
pub use kit::middleware::metrics::labels::OTHER;

/// The number of outcomes: `OK` and the 16 error codes.
const OUTCOMES: usize = 17;

/// The names of the transport metrics; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct ServerMetrics {
    duration: SharedString,
    in_flight: SharedString,
}

impl ServerMetrics {
    /// `{prefix}_server_request_duration_seconds` and `{prefix}_server_requests_in_flight`,
    /// described to the installed recorder (Prometheus's help text).
    pub fn new(prefix: &str) -> ServerMetrics {
        let names = ServerMetrics {
            duration: format!("{prefix}_server_request_duration_seconds").into(),
            in_flight: format!("{prefix}_server_requests_in_flight").into(),
        };
        ::metrics::describe_histogram!(
            names.duration.clone(),
            Unit::Seconds,
            "How long the transport took to answer requests, in seconds, by route and outcome."
        );
        ::metrics::describe_gauge!(
            names.in_flight.clone(),
            "Requests the transport is serving."
        );
        names
    }

    /// The duration histogram's name.
    pub fn duration(&self) -> &str {
        &self.duration
    }

    /// The in-flight gauge's name.
    pub fn in_flight(&self) -> &str {
        &self.in_flight
    }

    /// The handles of `route` (a name the service defines: a route pattern, a method name;
    /// never a string a client sent) of `transport`, registered with the recorder installed
    /// now.
    pub fn route(&self, transport: &'static str, route: impl Into<SharedString>) -> RouteMetrics {
        let route = route.into();
        let in_flight = ::metrics::gauge!(self.in_flight.clone(), "transport" => transport);
        let inner = RouteInner {
            name: self.duration.clone(),
            transport,
            route,
            in_flight,
            by_code: Default::default(),
        };
        inner.histogram(0);
        RouteMetrics {
            inner: Arc::new(inner),
        }
    }

    /// The handles of [`OTHER`] of `transport`: what every request the server does not
    /// know by a route of its own is recorded as.
    pub fn other(&self, transport: &'static str) -> RouteMetrics {
        self.route(transport, OTHER)
    }
}

impl Default for ServerMetrics {
    /// The names with prefix `kit`.
    fn default() -> Self {
        ServerMetrics::new("kit")
    }
}

/// The handles of one route of one transport (its histograms by outcome and its
/// transport's in-flight gauge), made by [`ServerMetrics::route`]; clones share them.
#[derive(Clone)]
pub struct RouteMetrics {
    inner: Arc<RouteInner>,
}

struct RouteInner {
    name: SharedString,
    transport: &'static str,
    route: SharedString,
    in_flight: Gauge,
    /// By outcome: 0 is `OK`, then each code by its number.
    by_code: [OnceLock<Histogram>; OUTCOMES],
}

impl RouteInner {
    fn histogram(&self, index: usize) -> &Histogram {
        self.by_code[index].get_or_init(|| {
            let code = Code::from_number(index as i32).map_or("OK", Code::as_str);
            ::metrics::histogram!(
                self.name.clone(),
                "transport" => self.transport,
                "route" => self.route.clone(),
                "code" => code,
            )
        })
    }
}

impl RouteMetrics {
    /// Starts a request: the gauge goes up until the returned [`Call`] ends.
    pub fn begin(&self) -> Call {
        self.inner.in_flight.increment(1.0);
        Call {
            route: self.clone(),
            start: Instant::now(),
            recorded: false,
        }
    }

    /// Records one request that took `duration` and ended with `code` (`None`: a success),
    /// leaving the gauge alone (for the calls inside one request, such as a JSON-RPC
    /// batch's).
    pub fn record(&self, code: Option<Code>, duration: Duration) {
        let index = code.map_or(0, |code| code.number() as usize);
        self.inner.histogram(index).record(duration.as_secs_f64());
    }
}

impl fmt::Debug for RouteMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteMetrics")
            .field("name", &self.inner.name)
            .field("transport", &self.inner.transport)
            .field("route", &self.inner.route)
            .finish()
    }
}

/// A request being served ([`RouteMetrics::begin`]). [`finish`](Call::finish) records its
/// outcome; one dropped unfinished (its future was dropped: the client went away) is
/// recorded as `CANCELLED`. Either way the in-flight gauge comes down.
#[must_use = "a call dropped at once is recorded as cancelled"]
pub struct Call {
    route: RouteMetrics,
    start: Instant,
    recorded: bool,
}

impl Call {
    /// Records the request's outcome (`None`: a success) and duration.
    pub fn finish(mut self, code: Option<Code>) {
        self.route.record(code, self.start.elapsed());
        self.recorded = true;
    }

    /// Ends the request without recording it (its parts were recorded on their own, as
    /// the calls of a JSON-RPC request are).
    pub fn end_unrecorded(mut self) {
        self.recorded = true;
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.recorded {
            self.route
                .record(Some(Code::Cancelled), self.start.elapsed());
        }
        self.route.inner.in_flight.decrement(1.0);
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("route", &self.route)
            .field("start", &self.start)
            .finish()
    }
}
