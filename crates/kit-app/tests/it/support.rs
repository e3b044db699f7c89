//! What the app tests share: a small HTTP service, a gRPC service, a stop button.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::task::{Context as TaskContext, Poll};

use http::Method;
use kit::{Context, Error, endpoint_fn};
use kit_http::{Router, Server, json};
use tokio::sync::oneshot;
use tonic::server::NamedService;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// `GET /hello` answers `{"hello":"world"}`.
pub(crate) fn hello_router() -> Router {
    let hello = endpoint_fn(|_ctx: Context, ()| async {
        Ok::<_, Error>(serde_json::json!({ "hello": "world" }))
    });
    let no_body = |_: &http::request::Parts, _| Ok(());
    Router::new().route(
        Method::GET,
        "/hello",
        Server::new(hello, no_body, json::encode_response),
    )
}

/// A gRPC service named `test.Echo` whose every method is unimplemented: enough to be
/// routed and reported by health.
#[derive(Clone)]
pub(crate) struct Echo;

impl NamedService for Echo {
    const NAME: &'static str = "test.Echo";
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Echo {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: http::Request<tonic::body::Body>) -> Self::Future {
        std::future::ready(Ok(tonic::Status::unimplemented("echo").into_http()))
    }
}

/// A stop signal for [`App::stop_on`](kit_app::App::stop_on), and the button that fires it.
pub(crate) fn stop_button() -> (oneshot::Sender<()>, impl Future<Output = ()> + Send) {
    let (button, pressed) = oneshot::channel();
    (button, async {
        let _ = pressed.await;
    })
}

/// The gRPC health status of each of `services` on the server at `addr`.
pub(crate) async fn health(addr: SocketAddr, services: &[&str]) -> Vec<i32> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    let mut statuses = Vec::new();
    for service in services {
        let request = HealthCheckRequest {
            service: (*service).into(),
        };
        statuses.push(client.check(request).await.unwrap().into_inner().status);
    }
    statuses
}
