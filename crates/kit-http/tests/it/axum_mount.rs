//! A kit server mounted in an axum Router.

use std::future::IntoFuture;

use kit_http::{Server, json};

use crate::support::sum;
use kit_testkit::http::request;

#[tokio::test]
async fn kit_servers_mount_in_axum() {
    let app = axum::Router::new()
        .route_service(
            "/sum",
            Server::new(sum(), json::decode_request, json::encode_response),
        )
        .route("/health", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, app).into_future());

    let answer = request(addr, "POST", "/sum", r#"{"a":40,"b":2}"#).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":42}"#));
    let answer = request(addr, "POST", "/sum", r#"{"a":0,"b":0}"#).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (
            400,
            r#"{"error":"can't sum two zeroes","code":"INVALID_ARGUMENT"}"#
        )
    );
    assert_eq!(request(addr, "GET", "/health", "").await.body, "ok");
}
