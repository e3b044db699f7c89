//! `accept::current_peer`: code serving a request sees the connection it came in on.

use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::sync::Arc;

use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use kit_http::accept::current_peer;
use kit_testkit::http::Connection;
use tokio::net::{TcpListener, TcpStream};

/// Answers `remote local` as the service's `call` and its response future see them.
fn who(_: Request<Incoming>) -> impl Future<Output = Result<Response<kit_http::Body>, Infallible>> {
    let at_call = current_peer().expect("served by kit_http::serve");
    async move {
        // Yield once: the peer is there whenever the future is polled, not only at first.
        tokio::task::yield_now().await;
        let peer = current_peer().expect("served by kit_http::serve");
        assert!(Arc::ptr_eq(&peer, &at_call), "one peer per connection");
        let local = peer.local_addr.expect("the local address is known");
        Ok(Response::new(
            format!("{} {local}", peer.remote_addr).into(),
        ))
    }
}

#[tokio::test]
async fn the_service_sees_its_peer_on_http1_and_http2() {
    assert!(current_peer().is_none(), "no peer outside a server");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(kit_http::serve(listener, tower::service_fn(who)).into_future());

    // HTTP/1: two requests on one connection, two on another.
    for _ in 0..2 {
        let stream = TcpStream::connect(addr).await.unwrap();
        let expected = format!("{} {addr}", stream.local_addr().unwrap());
        let mut conn = Connection::from_stream(stream);
        for _ in 0..2 {
            assert_eq!(conn.request("GET", "/", "").await.body, expected);
        }
    }

    // HTTP/2: hyper runs each stream as a task of its own; several at once.
    let stream = TcpStream::connect(addr).await.unwrap();
    let expected = format!("{} {addr}", stream.local_addr().unwrap());
    let (client, connection) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(connection);
    let mut responses = Vec::new();
    for _ in 0..3 {
        let mut client = client.clone().ready().await.unwrap();
        let request = Request::get(format!("http://{addr}/")).body(()).unwrap();
        responses.push(client.send_request(request, true).unwrap().0);
    }
    for response in responses {
        let mut body = response.await.unwrap().into_body();
        let mut text = Vec::new();
        while let Some(chunk) = body.data().await {
            text.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(String::from_utf8(text).unwrap(), expected);
    }

    // hyper-util's client over HTTP/2 as well, through the same service type.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<kit_http::Body>();
    let response = client
        .request(
            Request::get(format!("http://{addr}/"))
                .body(kit_http::Body::default())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let (remote, local) = text.split_once(' ').unwrap();
    assert_eq!(local, addr.to_string());
    assert!(remote.starts_with("127.0.0.1:") && remote != addr.to_string());
}

#[tokio::test]
async fn before_hooks_and_endpoints_see_the_peer_over_http_and_jsonrpc() {
    use kit::{Context, Error, endpoint_fn};
    use kit_http::{Router, Server, json, jsonrpc};

    // The endpoint answers the peer it sees; the before hook tags it as metadata.
    let whoami = || {
        endpoint_fn(|ctx: Context, _: serde_json::Value| async move {
            let peer = ctx.peer().expect("the peer is in the context");
            Ok::<_, Error>(format!(
                "{} {}",
                peer.remote_addr,
                ctx.metadata("x-seen-by-hook").unwrap_or("-")
            ))
        })
    };
    let tag = |ctx: Context, _: &http::request::Parts| {
        let remote = ctx
            .peer()
            .map(|p| p.remote_addr.to_string())
            .unwrap_or_default();
        ctx.with_metadata("x-seen-by-hook", remote)
    };
    let http = Server::new(whoami(), json::decode_request, json::encode_response).before(tag);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        kit_http::serve(
            listener,
            Router::new().route(http::Method::POST, "/who", http),
        )
        .into_future(),
    );
    let stream = TcpStream::connect(addr).await.unwrap();
    let client = stream.local_addr().unwrap();
    let mut conn = Connection::from_stream(stream);
    let answer = conn.request("POST", "/who", "{}").await;
    assert_eq!(answer.body, format!("\"{client} {client}\""));

    let methods = jsonrpc::Methods::new().method(
        "who",
        whoami(),
        jsonrpc::decode_params,
        jsonrpc::encode_result,
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(kit_http::serve(listener, Server::jsonrpc(methods).before(tag)).into_future());
    let stream = TcpStream::connect(addr).await.unwrap();
    let client = stream.local_addr().unwrap();
    let mut conn = Connection::from_stream(stream);
    let answer = conn
        .request("POST", "/rpc", r#"{"jsonrpc":"2.0","method":"who","id":1}"#)
        .await;
    assert_eq!(
        answer.body,
        format!(r#"{{"jsonrpc":"2.0","result":"{client} {client}","id":1}}"#)
    );
}
