//! The request a task is serving, for its log lines.
//!
//! kit's servers run each call inside a [`RequestScope`]: the request id, the trace id (when
//! the request is part of a distributed trace, see [`trace`](crate::trace)), the transport,
//! the route and the peer address of the request, set for the task while the call's future
//! is polled. `kit-tracing`'s formatters (logfmt and JSON) append them to every line logged
//! in that task, as `request_id`, `trace_id`, `transport`, `route` and `peer`, so a line logged anywhere in
//! the service's code while it serves a request says which request it was, without the
//! service passing anything.
//!
//! **Why not a `tracing` span.** A span per request is what `tracing` users reach for, and
//! kit's servers opened one until they were measured: with a formatting subscriber
//! installed, the span's fields are formatted when it is created (whether or not any line
//! is logged during the call), and entering and leaving it on every poll goes through the
//! subscriber's span stack. On addsvc's `POST /sum` that was about 10,000 instructions per
//! request, half of what the whole request costs otherwise. A scope costs a thread-local
//! swap per poll and formats its fields only when a line is written. (Request tracing, when
//! it is turned on, makes its own spans.)
//!
//! The scope belongs to the task that polls the call: a task the service spawns does not
//! inherit it (pass what it needs, or run it with [`RequestScope::current`] cloned into a
//! scope of its own).
//!
//! ```
//! use kit::request_scope::RequestScope;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let scope = RequestScope::new("abc-123".into(), "http", "POST /sum".into(), None);
//! let route = scope.scope(async {
//!     RequestScope::with_current(|request| request.route().to_owned())
//! });
//! assert_eq!(route.await.as_deref(), Some("POST /sum"));
//! assert!(RequestScope::with_current(|_| ()).is_none());
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;

use crate::trace::TraceId;

tokio::task_local! {
    static CURRENT: RequestScope;
}

/// What a server knows about the request it serves: see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestScope {
    request_id: String,
    trace_id: Option<TraceId>,
    transport: &'static str,
    route: String,
    peer: Option<SocketAddr>,
}

impl RequestScope {
    /// The scope of a request with id `request_id`, served over `transport` (`"http"`,
    /// `"jsonrpc"`, `"grpc"`, ...) on `route` (`"POST /sum"`, `"/pb.Add/Sum"`), from `peer`.
    pub fn new(
        request_id: String,
        transport: &'static str,
        route: String,
        peer: Option<SocketAddr>,
    ) -> RequestScope {
        RequestScope {
            request_id,
            trace_id: None,
            transport,
            route,
            peer,
        }
    }

    /// This scope with the id of the distributed trace the request is part of.
    pub fn with_trace_id(mut self, trace_id: Option<TraceId>) -> RequestScope {
        self.trace_id = trace_id;
        self
    }

    /// The id of the distributed trace the request is part of, if any.
    pub fn trace_id(&self) -> Option<TraceId> {
        self.trace_id
    }

    /// The request's id (see [`request_id`](crate::request_id)).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The transport the request came over.
    pub fn transport(&self) -> &'static str {
        self.transport
    }

    /// The request's route, as the client sent it: a method and path, or an RPC's path;
    /// empty when the server does not know it.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// The address of the client, when the connection has one.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Each field as a name and a displayable value, in the order log lines show them;
    /// a trace id, a route or a peer that is not known (`None`, empty) is left out.
    pub fn for_each_field<E>(
        &self,
        mut f: impl FnMut(&'static str, &dyn fmt::Display) -> Result<(), E>,
    ) -> Result<(), E> {
        f("request_id", &self.request_id)?;
        if let Some(trace_id) = &self.trace_id {
            f("trace_id", trace_id)?;
        }
        f("transport", &self.transport)?;
        if !self.route.is_empty() {
            f("route", &self.route)?;
        }
        match &self.peer {
            Some(peer) => f("peer", peer),
            None => Ok(()),
        }
    }

    /// Runs `work` with this scope as the task's current one whenever it is polled.
    pub fn scope<F: Future>(self, work: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, work)
    }

    /// `f` of the scope of the request the calling task is serving, if any.
    pub fn with_current<R>(f: impl FnOnce(&RequestScope) -> R) -> Option<R> {
        CURRENT.try_with(f).ok()
    }

    /// A copy of the scope of the request the calling task is serving, if any: for a task
    /// spawned on the request's behalf, to run in a scope of its own.
    pub fn current() -> Option<RequestScope> {
        RequestScope::with_current(RequestScope::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_scope_is_current_only_while_its_work_is_polled() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let scope = RequestScope::new("id-1".into(), "grpc", "/pb.Add/Sum".into(), Some(peer));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let work = tokio::spawn(scope.clone().scope(async move {
            let before = RequestScope::current();
            rx.await.unwrap();
            (before, RequestScope::current())
        }));
        // Another task, polled in between, sees no scope.
        tokio::task::yield_now().await;
        assert_eq!(RequestScope::current(), None);
        tx.send(()).unwrap();
        let (before, after) = work.await.unwrap();
        assert_eq!(before.as_ref(), Some(&scope));
        assert_eq!(after.as_ref(), Some(&scope));
    }

    #[test]
    fn fields_come_in_log_order_and_an_unknown_peer_is_left_out() {
        let names = |scope: &RequestScope| {
            let mut out = Vec::new();
            scope
                .for_each_field(|name, value| {
                    out.push(format!("{name}={value}"));
                    Ok::<_, ()>(())
                })
                .unwrap();
            out
        };
        let peer: SocketAddr = "[::1]:80".parse().unwrap();
        let with_peer = RequestScope::new("r".into(), "http", "GET /x".into(), Some(peer));
        assert_eq!(
            names(&with_peer),
            [
                "request_id=r",
                "transport=http",
                "route=GET /x",
                "peer=[::1]:80"
            ]
        );
        let without = RequestScope::new("r".into(), "jsonrpc", "POST /rpc".into(), None);
        assert_eq!(
            names(&without),
            ["request_id=r", "transport=jsonrpc", "route=POST /rpc"]
        );
        let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
        let traced = without.with_trace_id(trace_id);
        assert_eq!(
            names(&traced),
            [
                "request_id=r",
                "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
                "transport=jsonrpc",
                "route=POST /rpc"
            ]
        );
    }
}
