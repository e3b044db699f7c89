//! The JSON-RPC contract of CONTRACTS.md against the real binary.

use kit_testkit::http::{exchange, request};
use serde_json::{Value, json};

use crate::support::start_async;

/// POSTs `body` to the JSON-RPC listener's `/rpc` and parses the answer.
async fn call(addr: std::net::SocketAddr, body: &str) -> (u16, Value) {
    let answer = request(addr, "POST", "/rpc", body).await;
    let value = if answer.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body))
    };
    (answer.status, value)
}

#[tokio::test]
async fn methods_results_and_business_errors() {
    let svc = start_async().await;
    for (req, expected) in [
        (
            json!({"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2},"id":1}),
            json!({"jsonrpc":"2.0","result":{"v":3},"id":1}),
        ),
        (
            json!({"jsonrpc":"2.0","method":"concat","params":{"a":"x","b":"y"},"id":"c"}),
            json!({"jsonrpc":"2.0","result":{"v":"xy"},"id":"c"}),
        ),
        (
            json!({"jsonrpc":"2.0","method":"sum","params":{"a":0,"b":0},"id":2}),
            json!({"jsonrpc":"2.0","error":{"code":-32602,"message":"can't sum two zeroes"},"id":2}),
        ),
        (
            json!({"jsonrpc":"2.0","method":"sum","params":{"a":2147483647,"b":1},"id":3}),
            json!({"jsonrpc":"2.0","error":{"code":-32602,"message":"integer overflow"},"id":3}),
        ),
        (
            json!({"jsonrpc":"2.0","method":"concat","params":{"a":"01234","b":"567890"},"id":4}),
            json!({"jsonrpc":"2.0","error":{"code":-32602,"message":"result exceeds maximum size"},"id":4}),
        ),
        (
            json!({"jsonrpc":"2.0","method":"multiply","params":{"a":1,"b":2},"id":5}),
            json!({"jsonrpc":"2.0","error":{"code":-32601,"message":"method not found: multiply"},"id":5}),
        ),
    ] {
        assert_eq!(
            call(svc.jsonrpc, &req.to_string()).await,
            (200, expected),
            "{req}"
        );
    }
}

#[tokio::test]
async fn bad_requests_and_the_server_keeps_serving() {
    let svc = start_async().await;
    let (status, answer) = call(
        svc.jsonrpc,
        r#"{"jsonrpc":"2.0","method":"sum","params":{"a":"x"},"id":1}"#,
    )
    .await;
    assert_eq!(
        (status, &answer["error"]["code"], &answer["id"]),
        (200, &json!(-32602), &json!(1))
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid params: "),
        "{answer}"
    );

    let (status, answer) = call(svc.jsonrpc, r#"{"jsonrpc":"2.0","method":"sum","#).await;
    assert_eq!(
        (status, &answer["error"]["code"], &answer["id"]),
        (200, &json!(-32700), &Value::Null)
    );

    let (status, answer) = call(
        svc.jsonrpc,
        r#"{"jsonrpc":"1.0","method":"sum","params":{"a":1,"b":2},"id":1}"#,
    )
    .await;
    assert_eq!((status, &answer["error"]["code"]), (200, &json!(-32600)));

    // A notification gets no answer at all.
    let notified = request(
        svc.jsonrpc,
        "POST",
        "/rpc",
        r#"{"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2}}"#,
    )
    .await;
    assert_eq!((notified.status, notified.body.as_str()), (204, ""));

    let (status, _) = call(
        svc.jsonrpc,
        r#"{"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2},"id":9}"#,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn batches() {
    let svc = start_async().await;
    let batch = json!([
        {"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2},"id":1},
        {"jsonrpc":"2.0","method":"concat","params":{"a":"x","b":"y"},"id":2},
        {"jsonrpc":"2.0","method":"sum","params":{"a":5,"b":5}},
        {"jsonrpc":"2.0","method":"sum","params":{"a":0,"b":0},"id":3},
    ]);
    let (status, answer) = call(svc.jsonrpc, &batch.to_string()).await;
    assert_eq!(status, 200);
    let mut answers = answer.as_array().expect("an array").clone();
    answers.sort_by_key(|a| a["id"].as_i64());
    assert_eq!(
        answers,
        [
            json!({"jsonrpc":"2.0","result":{"v":3},"id":1}),
            json!({"jsonrpc":"2.0","result":{"v":"xy"},"id":2}),
            json!({"jsonrpc":"2.0","error":{"code":-32602,"message":"can't sum two zeroes"},"id":3}),
        ]
    );
}

#[tokio::test]
async fn what_go_kits_jsonrpc_client_sends() {
    let svc = start_async().await;
    // `"jsonrpc": ""`, ids from 0, capitalised params, chunked, no Content-Type.
    let body = "{\"jsonrpc\":\"\",\"method\":\"sum\",\"params\":{\"A\":20,\"B\":22},\"id\":0}\n";
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let answer = exchange(
        svc.jsonrpc,
        "POST /rpc HTTP/1.1\r\nTransfer-Encoding: chunked",
        chunked.as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let value: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(value, json!({"jsonrpc":"2.0","result":{"v":42},"id":0}));
}
