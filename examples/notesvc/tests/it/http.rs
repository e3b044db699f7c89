//! The HTTP contract, case by case, against the real binary with raw HTTP/1.1.

use std::net::SocketAddr;

use kit_testkit::http::request;

use crate::support::start;

/// `method path` with `body`: the status and the body of the answer, which is JSON when it
/// has a body.
async fn call(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let answer = request(addr, method, path, body).await;
    if !answer.body.is_empty() {
        assert_eq!(answer.header("content-type"), Some("application/json"));
    }
    (answer.status, answer.body)
}

/// What the answer `(status, body)` is expected to be.
fn answer(status: u16, body: &str) -> (u16, String) {
    (status, body.to_owned())
}

#[tokio::test]
async fn create_get_list_and_delete() {
    let svc = start().await;
    let addr = svc.http;
    assert_eq!(
        call(addr, "GET", "/notes", "").await,
        answer(200, r#"{"notes":[]}"#)
    );
    assert_eq!(
        call(
            addr,
            "POST",
            "/notes",
            r#"{"title":"milk","body":"2 litres"}"#
        )
        .await,
        answer(201, r#"{"id":1,"title":"milk","body":"2 litres"}"#)
    );
    assert_eq!(
        call(addr, "POST", "/notes", r#"{"title":"eggs","body":""}"#).await,
        answer(201, r#"{"id":2,"title":"eggs","body":""}"#)
    );
    assert_eq!(
        call(addr, "GET", "/notes/1", "").await,
        answer(200, r#"{"id":1,"title":"milk","body":"2 litres"}"#)
    );
    assert_eq!(
        call(addr, "GET", "/notes", "").await,
        answer(
            200,
            r#"{"notes":[{"id":1,"title":"milk","body":"2 litres"},{"id":2,"title":"eggs","body":""}]}"#
        )
    );
    assert_eq!(call(addr, "DELETE", "/notes/1", "").await, answer(204, ""));
    let not_found = r#"{"error":"note 1 not found","code":"NOT_FOUND"}"#;
    assert_eq!(
        call(addr, "GET", "/notes/1", "").await,
        answer(404, not_found)
    );
    assert_eq!(
        call(addr, "DELETE", "/notes/1", "").await,
        answer(404, not_found)
    );
    assert_eq!(
        call(addr, "GET", "/notes", "").await,
        answer(200, r#"{"notes":[{"id":2,"title":"eggs","body":""}]}"#)
    );
    // Ids are not reused.
    assert_eq!(
        call(addr, "POST", "/notes", r#"{"title":"tea","body":"green"}"#).await,
        answer(201, r#"{"id":3,"title":"tea","body":"green"}"#)
    );
}

#[tokio::test]
async fn the_list_comes_in_pages() {
    let svc = start().await;
    let addr = svc.http;
    for title in ["a", "b", "c", "d"] {
        let body = format!(r#"{{"title":"{title}","body":""}}"#);
        assert_eq!(call(addr, "POST", "/notes", &body).await.0, 201);
    }
    let ids = |body: &str| -> Vec<u64> {
        let page: serde_json::Value = serde_json::from_str(body).unwrap();
        let notes = page["notes"].as_array().unwrap().iter();
        notes.map(|note| note["id"].as_u64().unwrap()).collect()
    };
    for (query, expected) in [
        ("", vec![1, 2, 3, 4]),
        ("?limit=2", vec![1, 2]),
        ("?after=2", vec![3, 4]),
        ("?after=1&limit=2", vec![2, 3]),
        ("?after=4", vec![]),
        ("?limit=100", vec![1, 2, 3, 4]),
    ] {
        let (status, body) = call(addr, "GET", &format!("/notes{query}"), "").await;
        assert_eq!((status, ids(&body)), (200, expected), "{query}");
    }
    for (query, error) in [
        ("?limit=0", "limit is 0; it must be between 1 and 100"),
        ("?limit=101", "limit is 101; it must be between 1 and 100"),
        (
            "?limit=abc",
            r#"invalid query parameter limit \"abc\": invalid digit found in string"#,
        ),
        (
            "?after=-1",
            r#"invalid query parameter after \"-1\": invalid digit found in string"#,
        ),
    ] {
        let expected = format!(r#"{{"error":"{error}","code":"INVALID_ARGUMENT"}}"#);
        assert_eq!(
            call(addr, "GET", &format!("/notes{query}"), "").await,
            answer(400, &expected),
            "{query}"
        );
    }
}

#[tokio::test]
async fn titles_and_bodies_are_checked() {
    let svc = start().await;
    let addr = svc.http;
    let create = |title: String, body: String| {
        let json = serde_json::json!({ "title": title, "body": body }).to_string();
        async move { call(addr, "POST", "/notes", &json).await }
    };
    let invalid = |message: &str| {
        answer(
            400,
            &format!(r#"{{"error":"{message}","code":"INVALID_ARGUMENT"}}"#),
        )
    };
    assert_eq!(
        create(String::new(), "x".into()).await,
        invalid("title is empty")
    );
    assert_eq!(
        create(" \t".into(), "x".into()).await,
        invalid("title is empty")
    );
    assert_eq!(
        create("t".repeat(201), String::new()).await,
        invalid("title is 201 bytes long; the limit is 200")
    );
    assert_eq!(
        create("t".into(), "b".repeat(4097)).await,
        invalid("body is 4097 bytes long; the limit is 4096")
    );
    // The limits are in bytes: 67 three-byte characters are 201 bytes.
    assert_eq!(
        create("€".repeat(67), String::new()).await,
        invalid("title is 201 bytes long; the limit is 200")
    );
    let (status, body) = create("t".repeat(200), "b".repeat(4096)).await;
    assert_eq!(status, 201, "{body}");
    // Nothing refused was stored.
    let (_, list) = call(addr, "GET", "/notes", "").await;
    assert_eq!(list.matches(r#""id":"#).count(), 1, "{list}");
}

/// The methods of an answer's `Allow` header, sorted, without `OPTIONS` (which kit's router
/// answers and axum's does not).
fn allowed(answer: &kit_testkit::http::Answer) -> Vec<&str> {
    let allow = answer.header("allow").expect("an Allow header");
    let mut methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    methods.retain(|m| *m != "OPTIONS");
    methods.sort();
    methods
}

#[tokio::test]
async fn bad_requests_get_exact_errors_and_the_server_keeps_serving() {
    let svc = start().await;
    let addr = svc.http;
    let invalid = |message: &str| {
        answer(
            400,
            &format!(r#"{{"error":"{message}","code":"INVALID_ARGUMENT"}}"#),
        )
    };
    assert_eq!(
        call(addr, "POST", "/notes", r#"{"title":"#).await,
        invalid("invalid request body: EOF while parsing a value at line 1 column 9")
    );
    assert_eq!(
        call(addr, "POST", "/notes", r#"{"body":"x"}"#).await,
        invalid("invalid request body: missing field `title` at line 1 column 12")
    );
    assert_eq!(
        call(addr, "POST", "/notes", r#"{"title":1,"body":"x"}"#).await,
        invalid(
            "invalid request body: invalid type: integer `1`, expected a string at line 1 column 10"
        )
    );
    assert_eq!(
        call(addr, "GET", "/notes/abc", "").await,
        invalid(r#"invalid path parameter id \"abc\": invalid digit found in string"#)
    );
    assert_eq!(
        call(addr, "DELETE", "/notes/-1", "").await,
        invalid(r#"invalid path parameter id \"-1\": invalid digit found in string"#)
    );
    assert_eq!(
        call(addr, "GET", "/todos", "").await,
        answer(404, r#"{"error":"no route for /todos","code":"NOT_FOUND"}"#)
    );
    assert_eq!(
        call(addr, "GET", "/notes/1/title", "").await,
        answer(
            404,
            r#"{"error":"no route for /notes/1/title","code":"NOT_FOUND"}"#
        )
    );
    let wrong_method = request(addr, "PUT", "/notes/1", "{}").await;
    assert_eq!(
        (wrong_method.status, wrong_method.body.as_str()),
        (
            405,
            r#"{"error":"method PUT not allowed for /notes/1","code":"UNIMPLEMENTED"}"#
        )
    );
    assert_eq!(allowed(&wrong_method), ["DELETE", "GET", "HEAD"]);
    let wrong_method = request(addr, "DELETE", "/notes", "").await;
    assert_eq!(
        (wrong_method.status, wrong_method.body.as_str()),
        (
            405,
            r#"{"error":"method DELETE not allowed for /notes","code":"UNIMPLEMENTED"}"#
        )
    );
    assert_eq!(allowed(&wrong_method), ["GET", "HEAD", "POST"]);
    assert_eq!(
        call(
            addr,
            "POST",
            "/notes",
            r#"{"title":"still here","body":""}"#
        )
        .await,
        answer(201, r#"{"id":1,"title":"still here","body":""}"#)
    );
}
