//! The server's per-call context over real connections: the peer, cancellation when the
//! call ends or its client goes away, and response metadata set through the context.

use std::collections::HashMap;
use std::net::SocketAddr;

use kit::{Code, Context, Endpoint};

use crate::pb;
use crate::support::{TestServer, echo_client, echo_request, within_bound};

#[tokio::test]
async fn before_hooks_and_endpoints_see_the_peer() {
    let server = TestServer::start().await;
    let reply = echo_client(server.channel())
        .call(Context::background(), echo_request("who am I"))
        .await
        .unwrap();
    let peer: SocketAddr = reply.peer.parse().expect("the endpoint saw a peer");
    assert!(peer.ip().is_loopback());
    assert_ne!(peer, server.addr, "the peer is the client's end");
    assert_eq!(server.events.peers_before(), [Some(peer)]);
}

#[tokio::test]
async fn the_context_is_cancelled_when_the_call_ends() {
    let server = TestServer::start().await;
    echo_client(server.channel())
        .call(Context::background(), echo_request("done"))
        .await
        .unwrap();
    let code = within_bound("the context's end", server.events.next_context_done()).await;
    assert_eq!(code, Code::Cancelled);
}

#[tokio::test]
async fn the_context_is_cancelled_when_the_client_goes_away() {
    let server = TestServer::start().await;
    let (ctx, cancel) = Context::background().with_cancel();
    let call = tokio::spawn({
        let echo = echo_client(server.channel());
        async move {
            let request = pb::EchoRequest {
                sleep_millis: 3_600_000,
                ..echo_request("abandoned")
            };
            echo.call(ctx, request).await
        }
    });
    server.events.echo_started.notified().await;
    // The client gives up: tonic resets the stream, hyper drops the server's call.
    cancel.cancel();
    assert_eq!(call.await.unwrap().unwrap_err().code(), Code::Cancelled);

    let code = within_bound("the context's end", server.events.next_context_done()).await;
    assert_eq!(code, Code::Cancelled);
    assert_eq!(server.events.outcomes(), [Some(Code::Cancelled)]);
}

/// An echo request whose endpoint sets `metadata` as response metadata.
fn setting(metadata: &[(&str, &str)], fail_code: i32) -> pb::EchoRequest {
    pb::EchoRequest {
        fail_code,
        response_metadata: metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
        ..echo_request("with metadata")
    }
}

const SET: [(&str, &str); 4] = [
    ("x-set-by", "endpoint"),
    ("x-blob-bin", "raw bytes"),
    ("grpc-status", "0"),           // gRPC's own: skipped
    ("x-bad-value", "line\nbreak"), // not a metadata value: skipped
];

#[tokio::test]
async fn response_metadata_set_through_the_context_arrives_with_a_success() {
    let server = TestServer::start().await;
    let mut raw = pb::echo_client::EchoClient::new(server.channel());
    let response = raw.echo(setting(&SET, 0)).await.unwrap();
    let metadata = response.metadata();
    assert_eq!(metadata.get("x-set-by").unwrap(), "endpoint");
    assert_eq!(
        metadata.get_bin("x-blob-bin").unwrap().to_bytes().unwrap(),
        "raw bytes".as_bytes()
    );
    assert!(metadata.get("x-bad-value").is_none());
    // The server's after hook still runs, next to it.
    assert_eq!(metadata.get("x-served-by").unwrap(), "kit-grpc-test");
    assert_eq!(response.into_inner().message, "with metadata");
}

#[tokio::test]
async fn response_metadata_set_through_the_context_arrives_with_an_error() {
    let server = TestServer::start().await;
    let mut raw = pb::echo_client::EchoClient::new(server.channel());
    let status = raw
        .echo(setting(&SET, Code::NotFound.number()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    let metadata = status.metadata();
    assert_eq!(metadata.get("x-set-by").unwrap(), "endpoint");
    assert_eq!(
        metadata.get_bin("x-blob-bin").unwrap().to_bytes().unwrap(),
        "raw bytes".as_bytes()
    );
    assert_eq!(metadata.get("x-served-by").unwrap(), "kit-grpc-test");
}
