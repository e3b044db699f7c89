//! `kit_grpc::serve`: graceful shutdown, its grace period, connection info, and kit-http's
//! limits on the gRPC protocol.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::{Code, Context, Endpoint};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::pb;
use crate::support::{
    EchoService, Events, TestServer, echo_client, echo_request, routes, sum_client,
};

/// Generous: what a limit of a few hundred milliseconds may take on a loaded machine.
const WITHIN: Duration = Duration::from_secs(10);

/// Serves the test routes with `configure` applied to the `Serve`.
async fn serve_with(
    configure: impl FnOnce(
        kit_grpc::Serve<tonic::service::Routes>,
    ) -> kit_grpc::Serve<tonic::service::Routes>,
) -> SocketAddr {
    let events = Arc::new(Events::default());
    let (routes, _health) = routes(&events).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(configure(kit_grpc::serve(listener, routes)).into_future());
    addr
}

async fn sum_is_served(addr: SocketAddr) {
    let v = sum_client(crate::support::channel(addr))
        .call(Context::background(), (1, 2))
        .await
        .unwrap();
    assert_eq!(v, 3);
}

/// Reads (and skips) frames until the server closes the connection, within `limit`;
/// returns the types of the frames received and the first SETTINGS frame's settings.
async fn frames_until_closed(
    stream: &mut TcpStream,
    limit: Duration,
) -> (Vec<u8>, Vec<(u16, u32)>) {
    let mut kinds = Vec::new();
    let mut settings = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut head = [0u8; 9];
        while stream.read_exact(&mut head).await.is_ok() {
            let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let mut payload = vec![0; len];
            if stream.read_exact(&mut payload).await.is_err() {
                break;
            }
            if head[3] == 0x4 && settings.is_empty() {
                settings = payload
                    .chunks_exact(6)
                    .map(|s| {
                        (
                            u16::from_be_bytes([s[0], s[1]]),
                            u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
                        )
                    })
                    .collect();
            }
            kinds.push(head[3]);
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "still open after {limit:?}; frames so far: {kinds:?}"
    );
    (kinds, settings)
}

#[tokio::test]
async fn shutdown_lets_in_flight_calls_finish_then_stops_accepting() {
    let mut server = TestServer::start().await;
    let echo = echo_client(server.channel());
    let in_flight = tokio::spawn(async move {
        let request = pb::EchoRequest {
            sleep_millis: 200,
            ..echo_request("slow")
        };
        echo.call(Context::background(), request).await
    });
    server.events.echo_started.notified().await;
    server.shut_down();

    let reply = in_flight
        .await
        .unwrap()
        .expect("the in-flight call finishes");
    assert_eq!(reply.message, "slow");
    tokio::time::timeout(WITHIN, &mut server.task)
        .await
        .expect("serve returned")
        .unwrap();

    // The listener is closed: a new connection is refused.
    let err = sum_client(server.channel())
        .call(Context::background(), (1, 2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}

#[tokio::test]
async fn the_grace_period_bounds_the_drain() {
    let mut server = TestServer::start_with_grace(Duration::from_millis(100)).await;
    let echo = echo_client(server.channel());
    let stuck = tokio::spawn(async move {
        let request = pb::EchoRequest {
            sleep_millis: 3_600_000,
            ..echo_request("stuck")
        };
        echo.call(Context::background(), request).await
    });
    server.events.echo_started.notified().await;
    server.shut_down();

    // serve returns although the call never finishes; the call's connection is closed.
    tokio::time::timeout(WITHIN, &mut server.task)
        .await
        .expect("serve returned")
        .unwrap();
    let err = stuck.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err.code(),
            Code::Unavailable | Code::Unknown | Code::Internal
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    type Seen = (Option<SocketAddr>, Option<SocketAddr>);
    let peers: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let events = Arc::new(Events::default());
    let intercepted = pb::echo_server::EchoServer::with_interceptor(EchoService::new(&events), {
        let peers = peers.clone();
        move |request: tonic::Request<()>| {
            let current = kit_http::accept::current_peer().map(|p| p.remote_addr);
            peers.lock().unwrap().push((request.remote_addr(), current));
            Ok(request)
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(kit_grpc::serve(listener, tonic::service::Routes::new(intercepted)).into_future());

    sum_client(crate::support::channel(addr))
        .call(Context::background(), (1, 2))
        .await
        .unwrap();
    let peers = peers.lock().unwrap();
    let (peer, current) = peers[0];
    let peer = peer.expect("the remote address is in the request extensions");
    assert!(peer.ip().is_loopback());
    assert_ne!(peer, addr);
    assert_eq!(current, Some(peer), "kit_http::accept::current_peer agrees");
}

#[tokio::test]
async fn clients_that_send_nothing_or_no_preface_are_closed_after_the_header_read_timeout() {
    const HEADER: Duration = Duration::from_millis(300);
    let addr = serve_with(|s| s.header_read_timeout(HEADER)).await;
    // Nothing, and a prefix of the HTTP/2 preface: closed without a byte.
    let mut clients = Vec::new();
    for sent in [&b""[..], b"PRI"] {
        let start = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(sent).await.unwrap();
        clients.push((sent, start, stream));
    }
    // HTTP/1 to the HTTP/2-only server: h2 sends its settings, reads a bad preface, closes.
    let mut http1 = TcpStream::connect(addr).await.unwrap();
    http1
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    sum_is_served(addr).await;

    for (sent, start, mut stream) in clients {
        let mut got = Vec::new();
        tokio::time::timeout(WITHIN, stream.read_to_end(&mut got))
            .await
            .unwrap_or_else(|_| panic!("{sent:?}: still open"))
            .unwrap();
        assert!(got.is_empty(), "{sent:?}: {got:?}");
        assert!(start.elapsed() >= HEADER, "{sent:?}: closed early");
    }
    let (kinds, _) = frames_until_closed(&mut http1, WITHIN).await;
    assert!(!kinds.contains(&0x1), "no HEADERS, so no answer: {kinds:?}");
    sum_is_served(addr).await;
}

#[tokio::test]
async fn an_idle_connection_gets_a_goaway_after_the_idle_timeout_and_channels_reconnect() {
    const HEADER: Duration = Duration::from_millis(200);
    const IDLE: Duration = Duration::from_millis(1000);
    let addr = serve_with(|s| s.header_read_timeout(HEADER).idle_timeout(IDLE)).await;

    // A plain HTTP/2 connection with one call, then idle.
    let io = hyper_util::rt::TokioIo::new(TcpStream::connect(addr).await.unwrap());
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::post(format!("http://{addr}/test.Echo/Nothing"))
        .header("content-type", "application/grpc")
        .body(tonic::body::Body::empty())
        .unwrap();
    let idle_since = Instant::now();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.headers()["grpc-status"], "12", "unimplemented");
    drop(response);
    tokio::time::timeout(WITHIN, connection)
        .await
        .expect("the idle connection is shut down")
        .unwrap()
        .expect("with a GOAWAY, not an error");
    assert!(idle_since.elapsed() >= IDLE);

    // A tonic channel idle past the timeout calls again as if nothing happened.
    let channel = crate::support::channel(addr);
    let sum = sum_client(channel);
    assert_eq!(sum.call(Context::background(), (1, 2)).await.unwrap(), 3);
    tokio::time::sleep(IDLE * 2).await;
    assert_eq!(sum.call(Context::background(), (2, 2)).await.unwrap(), 4);
}

#[tokio::test]
async fn metadata_over_the_header_limit_is_refused_and_the_channel_keeps_working() {
    let addr = serve_with(|s| s.max_header_bytes(4096)).await;
    let channel = crate::support::channel(addr);
    let mut client = pb::echo_client::EchoClient::new(channel.clone());
    let mut request = tonic::Request::new(echo_request("big"));
    let big: tonic::metadata::MetadataValue<_> = "a".repeat(8000).parse().unwrap();
    request.metadata_mut().insert("x-big", big);
    let status = client.echo(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unknown, "{status:?}");
    assert!(status.message().contains("431"), "{status:?}");

    let reply = client.echo(echo_request("small")).await.unwrap();
    assert_eq!(reply.into_inner().message, "small");
}

#[tokio::test]
async fn http2_keep_alive_and_window_settings_are_configurable() {
    const INTERVAL: Duration = Duration::from_millis(300);
    let addr = serve_with(|s| {
        s.http2_keep_alive_interval(INTERVAL)
            .http2_keep_alive_timeout(INTERVAL)
            .http2_initial_stream_window_size(100_000)
            .http2_max_concurrent_streams(9)
    })
    .await;
    // A client that reads but never answers: the server's keep-alive ping goes unanswered.
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend([0, 0, 0, 0x4, 0, 0, 0, 0, 0]); // empty SETTINGS
    stream.write_all(&hello).await.unwrap();
    let (kinds, settings) = frames_until_closed(&mut stream, WITHIN).await;
    assert!(start.elapsed() >= INTERVAL * 2);
    assert!(kinds.contains(&0x6), "pinged: {kinds:?}");
    assert!(settings.contains(&(0x4, 100_000)), "{settings:?}");
    assert!(settings.contains(&(0x3, 9)), "{settings:?}");
    sum_is_served(addr).await;
}
