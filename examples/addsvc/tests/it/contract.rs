//! The HTTP contract of CONTRACTS.md, case by case, against the real binary.

use kit_testkit::http::{exchange, request};

use crate::support::{listening_async, start_async};

/// `(path, body, status, answer)` for every success and business error.
const CASES: &[(&str, &str, u16, &str)] = &[
    ("/sum", r#"{"a":1,"b":2}"#, 200, r#"{"v":3}"#),
    ("/sum", r#"{"a":-5,"b":2}"#, 200, r#"{"v":-3}"#),
    (
        "/sum",
        r#"{"a":0,"b":0}"#,
        400,
        r#"{"error":"can't sum two zeroes","code":"INVALID_ARGUMENT"}"#,
    ),
    (
        "/sum",
        r#"{"a":2147483647,"b":1}"#,
        400,
        r#"{"error":"integer overflow","code":"INVALID_ARGUMENT"}"#,
    ),
    (
        "/sum",
        r#"{"a":-2147483648,"b":-1}"#,
        400,
        r#"{"error":"integer overflow","code":"INVALID_ARGUMENT"}"#,
    ),
    (
        "/sum",
        r#"{"a":3000000000,"b":0}"#,
        200,
        r#"{"v":3000000000}"#,
    ),
    (
        "/sum",
        r#"{"a":2147483646,"b":1}"#,
        200,
        r#"{"v":2147483647}"#,
    ),
    ("/concat", r#"{"a":"x","b":"y"}"#, 200, r#"{"v":"xy"}"#),
    (
        "/concat",
        r#"{"a":"01234","b":"56789"}"#,
        200,
        r#"{"v":"0123456789"}"#,
    ),
    (
        "/concat",
        r#"{"a":"01234","b":"567890"}"#,
        400,
        r#"{"error":"result exceeds maximum size","code":"INVALID_ARGUMENT"}"#,
    ),
];

#[tokio::test]
async fn every_success_and_business_error() {
    let svc = start_async().await;
    for &(path, body, status, answer) in CASES {
        let got = request(svc.http, "POST", path, body).await;
        assert_eq!(
            (got.status, got.body.as_str()),
            (status, answer),
            "POST {path} {body}"
        );
        assert_eq!(
            got.header("content-type"),
            Some("application/json"),
            "POST {path} {body}"
        );
    }
}

#[tokio::test]
async fn what_go_kits_http_client_sends() {
    let svc = start_async().await;
    // Chunked, capitalised keys, a trailing newline, no Content-Type.
    for (path, body, answer) in [
        ("/sum", "{\"A\":1,\"B\":2}\n", r#"{"v":3}"#),
        ("/concat", "{\"A\":\"x\",\"B\":\"y\"}\n", r#"{"v":"xy"}"#),
    ] {
        let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
        let head = format!(
            "POST {path} HTTP/1.1\r\nTransfer-Encoding: chunked\r\nUser-Agent: Go-http-client/1.1"
        );
        let got = exchange(svc.http, &head, chunked.as_bytes()).await;
        assert_eq!((got.status, got.body.as_str()), (200, answer), "{path}");
    }
    // Chunks split mid-object arrive whole.
    let split = "3\r\n{\"A\r\nb\r\n\":40,\"B\":2}\r\n0\r\n\r\n";
    let got = exchange(
        svc.http,
        "POST /sum HTTP/1.1\r\nTransfer-Encoding: chunked",
        split.as_bytes(),
    )
    .await;
    assert_eq!((got.status, got.body.as_str()), (200, r#"{"v":42}"#));
}

#[tokio::test]
async fn bad_requests_get_exact_errors_and_the_server_keeps_serving() {
    let svc = start_async().await;
    let malformed = request(svc.http, "POST", "/sum", "{\"a\": 1,").await;
    assert_eq!(
        (malformed.status, malformed.body.as_str()),
        (
            400,
            r#"{"error":"invalid request body: EOF while parsing a value at line 1 column 8","code":"INVALID_ARGUMENT"}"#
        )
    );
    assert_eq!(malformed.header("content-type"), Some("application/json"));

    let wrong_type = request(svc.http, "POST", "/concat", r#"{"a":1,"b":"y"}"#).await;
    assert_eq!(
        (wrong_type.status, wrong_type.body.as_str()),
        (
            400,
            r#"{"error":"invalid request body: invalid type: integer `1`, expected a string at line 1 column 6","code":"INVALID_ARGUMENT"}"#
        )
    );

    let oversized = exchange(
        svc.http,
        "POST /sum HTTP/1.1\r\nContent-Length: 2000000",
        b"",
    )
    .await;
    assert_eq!(
        (oversized.status, oversized.body.as_str()),
        (
            413,
            r#"{"error":"body exceeds the limit of 1048576 bytes","code":"INVALID_ARGUMENT"}"#
        )
    );

    let wrong_method = request(svc.http, "GET", "/sum", "").await;
    assert_eq!(
        (wrong_method.status, wrong_method.body.as_str()),
        (
            405,
            r#"{"error":"method GET not allowed for /sum","code":"UNIMPLEMENTED"}"#
        )
    );
    assert_eq!(wrong_method.header("allow"), Some("POST, OPTIONS"));

    let unknown = request(svc.http, "POST", "/multiply", r#"{"a":1,"b":2}"#).await;
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (
            404,
            r#"{"error":"no route for /multiply","code":"NOT_FOUND"}"#
        )
    );

    let ok = request(svc.http, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!((ok.status, ok.body.as_str()), (200, r#"{"v":3}"#));
}

#[tokio::test]
async fn the_debug_listener_reports_health() {
    let svc = start_async().await;
    let debug = listening_async(&svc.process, "debug").await;
    let health = request(debug, "GET", "/health", "").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
}
