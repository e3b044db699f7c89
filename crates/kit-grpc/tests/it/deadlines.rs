//! Deadlines and cancellation: `grpc-timeout` both ways, enforced on both sides.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Duration;

use http_body::{Body as _, Frame};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kit::{Code, Context, Endpoint};
use prost::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Sleep;
use tonic::codegen::Bytes;

use crate::pb;
use crate::support::{
    EchoService, Events, TestServer, channel, echo_client, echo_request, percent_decode,
};

/// A generated tonic client over a plain hyper HTTP/2 client: unlike tonic's `Channel`, it
/// sends `grpc-timeout` without enforcing it, so what the server answers reaches the test.
fn bare_client(
    addr: SocketAddr,
) -> pb::echo_client::EchoClient<HyperClient<HttpConnector, tonic::body::Body>> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = HyperClient::builder(TokioExecutor::new())
        .http2_only(true)
        .build(connector);
    pb::echo_client::EchoClient::with_origin(client, format!("http://{addr}").parse().unwrap())
}

/// An echo request that sleeps far longer than any test runs, sent with `grpc-timeout`.
fn sleepy_request(timeout: &'static str) -> tonic::Request<pb::EchoRequest> {
    let mut request = tonic::Request::new(pb::EchoRequest {
        sleep_millis: 3_600_000,
        ..echo_request("zzz")
    });
    request
        .metadata_mut()
        .insert("grpc-timeout", timeout.parse().unwrap());
    request
}

/// A request body that holds its one frame back until `sleep` is over.
struct LateBody {
    sleep: Pin<Box<Sleep>>,
    frame: Option<Bytes>,
}

impl http_body::Body for LateBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        ready!(self.sleep.as_mut().poll(cx));
        Poll::Ready(self.frame.take().map(|data| Ok(Frame::data(data))))
    }
}

/// Calls `Echo` by hand: the headers (with `grpc-timeout: 50m`) at once, the message only
/// 200 ms later, after the deadline. Returns `grpc-status` and the decoded `grpc-message`.
async fn call_with_late_message(addr: SocketAddr) -> (String, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);

    let message = echo_request("late").encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    framed.extend_from_slice(&message);
    let body = LateBody {
        sleep: Box::pin(tokio::time::sleep(Duration::from_millis(200))),
        frame: Some(framed.into()),
    };
    let request = http::Request::post(format!("http://{addr}/test.Echo/Echo"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", "50m")
        .body(body)
        .unwrap();
    let response = sender.send_request(request).await.unwrap();

    // The status is in the headers of a trailers-only answer, else in the trailers.
    let (parts, mut body) = response.into_parts();
    let mut fields = parts.headers;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(trailers) = frame.unwrap().into_trailers() {
            fields.extend(trailers);
        }
    }
    let field = |name: &str| {
        fields
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    (field("grpc-status"), percent_decode(&field("grpc-message")))
}

#[tokio::test]
async fn grpc_timeout_becomes_the_server_context_deadline() {
    let server = TestServer::start().await;
    let echo = echo_client(server.channel());

    let ctx = Context::background().with_timeout(Duration::from_secs(60));
    let reply = echo.call(ctx, echo_request("hi")).await.unwrap();
    let remaining = reply
        .remaining_millis
        .expect("the server context has a deadline");
    assert!(remaining > 0 && remaining <= 60_000, "{remaining}");

    let reply = echo
        .call(Context::background(), echo_request("hi"))
        .await
        .unwrap();
    assert_eq!(reply.remaining_millis, None);
}

#[tokio::test]
async fn server_ends_an_expired_call_with_deadline_exceeded() {
    let server = TestServer::start().await;
    let status = bare_client(server.addr)
        .echo(sleepy_request("50m"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert_eq!(status.message(), "deadline exceeded");
    assert_eq!(server.events.outcomes(), [Some(Code::DeadlineExceeded)]);
}

#[tokio::test]
async fn client_reports_deadline_exceeded_end_to_end() {
    let server = TestServer::start().await;
    let ctx = Context::background().with_timeout(Duration::from_millis(100));
    let request = pb::EchoRequest {
        sleep_millis: 3_600_000,
        ..echo_request("zzz")
    };
    let err = echo_client(server.channel())
        .call(ctx, request)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
}

#[tokio::test]
async fn the_deadline_counts_from_the_request_headers() {
    // The message arrives after the deadline: the endpoint never runs, and the answer is
    // DEADLINE_EXCEEDED although the context was built after the deadline had passed.
    let server = TestServer::start().await;
    let (status, message) = call_with_late_message(server.addr).await;
    assert_eq!((&*status, &*message), ("4", "deadline exceeded"));
    assert_eq!(server.events.outcomes(), [Some(Code::DeadlineExceeded)]);
}

/// Under tonic's own server, tonic enforces `grpc-timeout` from the headers ahead of the
/// kit context and answers `CANCELLED` (see `kit_grpc::serve`); kit's client still
/// reports `DeadlineExceeded`, and prompt calls work as under `kit_grpc::serve`.
#[tokio::test]
async fn under_tonics_server_an_expired_call_is_cancelled_but_kit_clients_see_deadline_exceeded() {
    let events = Arc::new(Events::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(pb::echo_server::EchoServer::new(EchoService::new(&events)))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    let (status, message) = call_with_late_message(addr).await;
    assert_eq!((&*status, &*message), ("1", "Timeout expired"));

    let ctx = Context::background().with_timeout(Duration::from_millis(100));
    let request = pb::EchoRequest {
        sleep_millis: 3_600_000,
        ..echo_request("zzz")
    };
    let echo = echo_client(channel(addr));
    let err = echo.call(ctx, request).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");

    let ctx = Context::background().with_timeout(Duration::from_secs(60));
    let reply = echo.call(ctx, echo_request("hi")).await.unwrap();
    assert!(reply.remaining_millis.is_some());
}

/// A TCP listener that accepts connections and never answers on them.
async fn silent_server() -> (SocketAddr, Arc<Notify>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Notify::new());
    let notify = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
            notify.notify_one();
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn client_enforces_the_deadline_against_a_server_that_never_answers() {
    let (addr, _accepted) = silent_server().await;
    let ctx = Context::background().with_timeout(Duration::from_millis(100));
    let err = echo_client(channel(addr))
        .call(ctx, echo_request("anyone?"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
}

#[tokio::test]
async fn cancelling_the_context_ends_the_call() {
    let (addr, accepted) = silent_server().await;
    let (ctx, cancel) = Context::background().with_cancel();
    tokio::spawn(async move {
        accepted.notified().await;
        cancel.cancel();
    });
    let err = echo_client(channel(addr))
        .call(ctx, echo_request("anyone?"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Cancelled, "{err:?}");
}
