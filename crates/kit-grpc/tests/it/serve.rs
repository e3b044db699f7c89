//! `kit_grpc::serve`: graceful shutdown, its grace period, connection info.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::{Code, Context, Endpoint};
use tokio::net::TcpListener;

use crate::pb;
use crate::support::{EchoService, Events, TestServer, echo_client, echo_request, sum_client};

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
    (&mut server.task).await.unwrap();

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
    (&mut server.task).await.unwrap();
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
    let peers: Arc<Mutex<Vec<Option<SocketAddr>>>> = Arc::default();
    let events = Arc::new(Events::default());
    let intercepted = pb::echo_server::EchoServer::with_interceptor(EchoService::new(&events), {
        let peers = peers.clone();
        move |request: tonic::Request<()>| {
            peers.lock().unwrap().push(request.remote_addr());
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
    let peer = peers[0].expect("the remote address is in the request extensions");
    assert!(peer.ip().is_loopback());
    assert_ne!(peer, addr);
}
