//! The router: path parameters, HEAD, OPTIONS, 404/405 through its hooks, fallbacks, and
//! tower services that need `poll_ready`.

use std::convert::Infallible;
use std::time::Duration;

use http::Method;
use kit::{Context, Error, endpoint_fn};
use kit_http::server::Summary;
use kit_http::{Body, PathParams, Router, Server, json};
use kit_testkit::http::{Connection, request};
use tokio::sync::{Semaphore, mpsc};
use tower::ServiceBuilder;

use crate::support::spawn;

fn note_server() -> Server<impl kit_http::server::Handler> {
    let get = endpoint_fn(
        |_ctx: Context, (id, file): (u64, Option<String>)| async move {
            Ok::<_, Error>(serde_json::json!({ "id": id, "file": file }))
        },
    );
    Server::new(
        get,
        |parts: &http::request::Parts, _body| {
            let params = PathParams::of(parts);
            Ok((params.parse("id")?, params.get("file").map(str::to_owned)))
        },
        json::encode_response,
    )
}

#[tokio::test]
async fn path_parameters_reach_the_decoder_decoded() {
    let router = Router::new()
        .route(Method::GET, "/notes/{id}", note_server())
        .route(Method::GET, "/notes/{id}/files/{*file}", note_server())
        .route(Method::GET, "/notes/latest", note_server());
    let addr = spawn(router).await;

    let answer = request(addr, "GET", "/notes/7", "").await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#"{"file":null,"id":7}"#)
    );
    let answer = request(addr, "GET", "/notes/7/files/a%20b/c.txt", "").await;
    assert_eq!(answer.body, r#"{"file":"a b/c.txt","id":7}"#);
    // The most specific route wins: `latest` is not an id.
    let answer = request(addr, "GET", "/notes/latest", "").await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (
            400,
            r#"{"error":"missing path parameter id","code":"INVALID_ARGUMENT"}"#
        )
    );
    let answer = request(addr, "GET", "/notes/%FF", "").await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (
            400,
            r#"{"error":"path parameter is not valid UTF-8","code":"INVALID_ARGUMENT"}"#
        )
    );
}

#[tokio::test]
async fn head_options_and_wrong_methods_answer_as_http_says() {
    let router = Router::new()
        .route(Method::GET, "/notes/{id}", note_server())
        .route(Method::DELETE, "/notes/{id}", note_server());
    let addr = spawn(router).await;

    let get = request(addr, "GET", "/notes/1", "").await;
    let mut connection = Connection::open(addr).await;
    let head = connection.request("HEAD", "/notes/1", "").await;
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
    // The connection is still in step after a HEAD answer.
    let again = connection.request("GET", "/notes/2", "").await;
    assert_eq!(again.body, r#"{"file":null,"id":2}"#);

    let options = request(addr, "OPTIONS", "/notes/1", "").await;
    assert_eq!((options.status, options.body.as_str()), (204, ""));
    assert_eq!(options.header("allow"), Some("GET, DELETE, HEAD, OPTIONS"));

    let post = request(addr, "POST", "/notes/1", "{}").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, DELETE, HEAD, OPTIONS"));
    assert_eq!(
        post.body,
        r#"{"error":"method POST not allowed for /notes/1","code":"UNIMPLEMENTED"}"#
    );
}

#[tokio::test]
async fn the_routers_own_answers_go_through_its_hooks() {
    let (tx, mut seen) = mpsc::unbounded_channel();
    let router = Router::new()
        .route(Method::POST, "/sum", crate::support::sum_server())
        .after(|_ctx: &Context, parts: &mut http::response::Parts| {
            parts
                .headers
                .insert("x-router", http::HeaderValue::from_static("kit"));
        })
        .finalizer(move |_ctx: &Context, summary: &Summary<'_>| {
            let _ = tx.send((
                summary.request.method.to_string(),
                summary.status.as_u16(),
                summary.error.map(|e| e.code()),
            ));
        });
    let addr = spawn(router).await;

    let missing = request(addr, "GET", "/nope", "").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-router"), Some("kit"));
    assert_eq!(request(addr, "GET", "/sum", "").await.status, 405);
    assert_eq!(request(addr, "OPTIONS", "/sum", "").await.status, 204);
    // A route's answer is its server's business, not the router's.
    assert_eq!(
        request(addr, "POST", "/sum", r#"{"a":1,"b":1}"#)
            .await
            .status,
        200
    );
    let mut reported = Vec::new();
    for _ in 0..3 {
        reported.push(seen.recv().await.unwrap());
    }
    assert_eq!(
        reported,
        [
            ("GET".to_owned(), 404, Some(kit::Code::NotFound)),
            ("GET".to_owned(), 405, Some(kit::Code::Unimplemented)),
            ("OPTIONS".to_owned(), 204, None),
        ]
    );
    assert!(seen.try_recv().is_err());
}

#[tokio::test]
async fn unknown_paths_go_to_the_fallback() {
    let fallback = tower::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
        Ok::<_, Infallible>(http::Response::new(Body::from(format!(
            "fallback for {}",
            req.uri().path()
        ))))
    });
    let router = Router::new()
        .route(Method::POST, "/sum", crate::support::sum_server())
        .fallback(fallback);
    let addr = spawn(router).await;
    let answer = request(addr, "GET", "/elsewhere", "").await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "fallback for /elsewhere")
    );
    // A known path with the wrong method is still the router's 405.
    assert_eq!(request(addr, "GET", "/sum", "").await.status, 405);
}

#[tokio::test]
async fn tower_services_that_need_poll_ready_are_served() {
    // One call at a time: the second waits for the first (it would panic if `call` came
    // without `poll_ready`).
    let gate = std::sync::Arc::new(Semaphore::new(0));
    let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
    let wait = {
        let gate = gate.clone();
        endpoint_fn(move |_ctx: Context, _: serde_json::Value| {
            let gate = gate.clone();
            let started_tx = started_tx.clone();
            async move {
                let _ = started_tx.send(());
                let _permit = gate.acquire().await.unwrap();
                Ok::<_, Error>(1)
            }
        })
    };
    let limited = ServiceBuilder::new()
        .concurrency_limit(1)
        .service(Server::new(
            wait,
            json::decode_request,
            json::encode_response,
        ));
    let addr = spawn(Router::new().route_service(Method::POST, "/one", limited)).await;

    let first = tokio::spawn(async move { request(addr, "POST", "/one", "{}").await });
    started.recv().await.unwrap();
    let second = tokio::spawn(async move { request(addr, "POST", "/one", "{}").await });
    // The second is held by the limit, not started.
    let held = tokio::time::timeout(Duration::from_millis(200), started.recv()).await;
    assert!(held.is_err(), "the concurrency limit let a second call in");
    gate.add_permits(2);
    assert_eq!(first.await.unwrap().status, 200);
    assert_eq!(second.await.unwrap().status, 200);
}

#[tokio::test]
async fn a_pattern_that_conflicts_is_refused_when_routed() {
    let result = std::panic::catch_unwind(|| {
        Router::new()
            .route(Method::GET, "/notes/{id}", note_server())
            .route(Method::GET, "/notes/{name}", note_server())
    });
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.starts_with("cannot route /notes/{name}:"),
        "{message}"
    );
}

#[tokio::test]
async fn a_document_is_served_as_json_on_get_and_head() {
    let document = serde_json::json!({ "openapi": "3.1.0", "paths": {} });
    let router = Router::new().document("/openapi.json", &document);
    let addr = spawn(router).await;

    let answer = request(addr, "GET", "/openapi.json", "").await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#"{"openapi":"3.1.0","paths":{}}"#)
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let answer = request(addr, "HEAD", "/openapi.json", "").await;
    assert_eq!(
        (
            answer.status,
            answer.header("content-length"),
            answer.body.as_str()
        ),
        (200, Some("30"), "")
    );
    let answer = request(addr, "POST", "/openapi.json", "{}").await;
    assert_eq!(
        (answer.status, answer.header("allow")),
        (405, Some("GET, HEAD, OPTIONS"))
    );
}
