//! The client over transports other than a bare `Channel`, and its message limits and
//! compression.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kit::error::Delivery;
use kit::{Code, Context, Endpoint};
use kit_grpc::Client;
use kit_grpc::client::CompressionEncoding;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;

use crate::pb;
use crate::support::{
    EchoClient, EchoService, Events, TestServer, channel, echo_client, echo_request,
};

/// A kit `Echo` client over any transport.
fn echo_over<T>(transport: T) -> EchoClient<T> {
    Client::new(transport, "/test.Echo/Echo", |r| r, Ok)
}

#[tokio::test]
async fn an_intercepted_channel_is_a_transport() {
    let server = TestServer::start().await;
    let intercepted =
        InterceptedService::new(server.channel(), |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("x-request-id", "from-interceptor".parse().unwrap());
            Ok(request)
        });
    let reply = echo_over(intercepted)
        .call(Context::background(), echo_request("hi"))
        .await
        .unwrap();
    assert_eq!(reply.request_id, "from-interceptor");
}

#[tokio::test]
async fn an_interceptor_rejection_is_an_error_raised_on_this_side() {
    let server = TestServer::start().await;
    let refusing = InterceptedService::new(server.channel(), |_: tonic::Request<()>| {
        Err(tonic::Status::unauthenticated("no token"))
    });
    let err = echo_over(refusing)
        .call(Context::background(), echo_request("hi"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message(), err.delivery()),
        (Code::Unauthenticated, "no token", Delivery::Answered)
    );
    assert!(
        server.events.outcomes().is_empty(),
        "nothing reached the server"
    );
}

/// A hyper HTTP/2 client as the transport (what tonic's `Channel` wraps).
fn hyper_client() -> HyperClient<HttpConnector, tonic::body::Body> {
    HyperClient::builder(TokioExecutor::new())
        .http2_only(true)
        .build(HttpConnector::new())
}

#[tokio::test]
async fn a_hyper_client_is_a_transport() {
    let server = TestServer::start().await;
    let origin: http::Uri = format!("http://{}", server.addr).parse().unwrap();
    // A hyper client needs absolute URIs; a small tower service sets the origin.
    let client = echo_over(WithOrigin {
        inner: hyper_client(),
        origin,
    });
    let reply = client
        .call(Context::background(), echo_request("over hyper"))
        .await
        .unwrap();
    assert_eq!(reply.message, "over hyper");

    // Its connect errors are told apart as a Channel's are.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let err = echo_over(WithOrigin {
        inner: hyper_client(),
        origin: format!("http://{closed}").parse().unwrap(),
    })
    .call(Context::background(), echo_request("anyone?"))
    .await
    .unwrap_err();
    assert_eq!(
        (err.code(), err.delivery()),
        (Code::Unavailable, Delivery::NotSent),
        "{err:?}"
    );
}

/// Makes the request URIs absolute (scheme and authority of `origin`), as hyper's client
/// needs them.
#[derive(Clone)]
struct WithOrigin<S> {
    inner: S,
    origin: http::Uri,
}

impl<S, B> tower_service::Service<http::Request<B>> for WithOrigin<S>
where
    S: tower_service::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let mut parts = self.origin.clone().into_parts();
        parts.path_and_query = request.uri().path_and_query().cloned();
        *request.uri_mut() = http::Uri::from_parts(parts).unwrap();
        self.inner.call(request)
    }
}

#[tokio::test]
async fn message_size_limits_apply_both_ways() {
    let server = TestServer::start().await;
    let long = echo_request(&"x".repeat(1000));

    let err = echo_client(server.channel())
        .max_decoding_message_size(100)
        .call(Context::background(), long.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert!(err.message().contains("limit"), "{err:?}");

    let err = echo_client(server.channel())
        .max_encoding_message_size(100)
        .call(Context::background(), long.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");

    // The first reached the server (its endpoint answered), the second never did.
    assert_eq!(server.events.outcomes(), [None]);
    let reply = echo_client(server.channel())
        .max_decoding_message_size(2000)
        .max_encoding_message_size(2000)
        .call(Context::background(), long)
        .await
        .unwrap();
    assert_eq!(reply.message.len(), 1000);
}

/// Serves the test service with its generated server configured by `configure`.
async fn serve_echo(
    configure: impl FnOnce(
        pb::echo_server::EchoServer<EchoService>,
    ) -> pb::echo_server::EchoServer<EchoService>,
) -> SocketAddr {
    let events = Arc::new(Events::default());
    let service = configure(pb::echo_server::EchoServer::new(EchoService::new(&events)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = tonic::service::Routes::new(service);
    tokio::spawn(kit_grpc::serve(listener, routes).into_future());
    addr
}

#[tokio::test]
async fn compression_is_configurable() {
    let addr = serve_echo(|server| {
        server
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
    })
    .await;
    let encodings = Arc::new(Mutex::new(Vec::new()));
    let client = echo_client(channel(addr))
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip)
        .after({
            let encodings = encodings.clone();
            move |_ctx, metadata| {
                let encoding = metadata
                    .get("grpc-encoding")
                    .map(|v| v.to_str().unwrap().to_owned());
                encodings.lock().unwrap().push(encoding);
            }
        });
    let reply = client
        .call(
            Context::background(),
            echo_request(&"compressible ".repeat(100)),
        )
        .await
        .unwrap();
    assert_eq!(reply.message.len(), 1300);
    assert_eq!(*encodings.lock().unwrap(), [Some("gzip".to_owned())]);

    // The request really was compressed: a server that does not accept gzip refuses it.
    let plain = serve_echo(|server| server).await;
    let err = echo_client(channel(plain))
        .send_compressed(CompressionEncoding::Gzip)
        .call(Context::background(), echo_request("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
    assert!(err.message().contains("gzip"), "{err:?}");
}

#[tokio::test]
async fn the_server_side_limits_are_the_generated_servers() {
    let addr = serve_echo(|server| server.max_decoding_message_size(100)).await;
    let err = echo_client(channel(addr))
        .call(Context::background(), echo_request(&"x".repeat(1000)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.delivery()),
        (Code::OutOfRange, Delivery::Answered),
        "{err:?}"
    );
}
