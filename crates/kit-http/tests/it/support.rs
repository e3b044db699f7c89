//! Servers for the tests: a JSON `sum` endpoint served on a free loopback port.

use std::net::SocketAddr;
use std::time::Duration;

use http::Method;
use kit::{Context, Endpoint, Error, endpoint_fn};
use kit_http::{Router, Server, json, serve};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SumRequest {
    pub(crate) a: i64,
    pub(crate) b: i64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct SumReply {
    pub(crate) v: i64,
}

/// Sums; `0 + 0` is a business error; a negative `a` sleeps `-a` milliseconds first.
pub(crate) fn sum() -> impl Endpoint<SumRequest, Response = SumReply> + Clone {
    endpoint_fn(|_ctx: Context, r: SumRequest| async move {
        if r.a < 0 {
            tokio::time::sleep(Duration::from_millis(r.a.unsigned_abs())).await;
        }
        if r.a == 0 && r.b == 0 {
            return Err(Error::invalid_argument("can't sum two zeroes"));
        }
        Ok(SumReply { v: r.a + r.b })
    })
}

/// Serves `router` on a free loopback port until the test's runtime ends.
pub(crate) async fn spawn(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, router).into_future());
    addr
}

/// The `sum` endpoint served with Go-compatible JSON.
pub(crate) fn sum_server() -> Server<impl kit_http::server::Handler> {
    Server::new(sum(), json::go::decode_request, json::encode_response)
}

/// A router with `POST /sum`.
pub(crate) fn sum_router() -> Router {
    Router::new().route(Method::POST, "/sum", sum_server())
}

use std::future::IntoFuture;
