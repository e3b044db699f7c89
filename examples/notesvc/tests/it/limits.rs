//! The store's bound: a client that fills it gets `429` / `RESOURCE_EXHAUSTED`, and the
//! server keeps serving reads (and takes notes again once some are deleted).

use kit::{Code, Context};
use kit_testkit::http::{Connection, request};
use notesvc::{Notes, Store};

use crate::support::start_with;

const FULL: &str =
    r#"{"error":"the store is full (50 notes): delete some first","code":"RESOURCE_EXHAUSTED"}"#;

#[tokio::test]
async fn a_client_filling_the_store_is_refused_and_reads_go_on() {
    let svc = start_with(&["--max-notes", "50"]).await;
    let addr = svc.http;
    // The hostile client: four keep-alive connections, creating notes of the longest size
    // as fast as the server answers.
    let body = serde_json::json!({ "title": "t".repeat(200), "body": "b".repeat(4096) });
    let body = body.to_string();
    let attackers: Vec<_> = (0..4)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move {
                let mut conn = Connection::open(addr).await;
                let mut statuses = Vec::new();
                for _ in 0..30 {
                    let answer = conn.request("POST", "/notes", &body).await;
                    if answer.status == 429 {
                        assert_eq!(answer.body, FULL);
                    }
                    statuses.push(answer.status);
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attacker in attackers {
        statuses.extend(attacker.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 50);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 70);

    // Reads are served.
    let one = request(addr, "GET", "/notes/1", "").await;
    assert_eq!(one.status, 200, "{}", one.body);
    let list = request(addr, "GET", "/notes", "").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body.matches(r#""id":"#).count(), 50);

    // gRPC says the same.
    let grpc = notesvc::notes::grpc::connect_lazy(&svc.grpc.to_string()).unwrap();
    let ctx = Context::background();
    let err = grpc
        .create_note(&ctx, "t".into(), String::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(grpc.get_note(&ctx, 50).await.unwrap().id, 50);

    // A deletion makes room for one note.
    assert_eq!(request(addr, "DELETE", "/notes/7", "").await.status, 204);
    let note = r#"{"title":"t","body":""}"#;
    let created = request(addr, "POST", "/notes", note).await;
    assert_eq!(
        (created.status, created.body.as_str()),
        (201, r#"{"id":51,"title":"t","body":""}"#)
    );
    let full = request(addr, "POST", "/notes", note).await;
    assert_eq!((full.status, full.body.as_str()), (429, FULL));
}

#[tokio::test]
async fn the_default_store_holds_ten_thousand_notes() {
    let store = Store::default();
    let ctx = Context::background();
    for _ in 0..10_000 {
        store
            .create_note(&ctx, "t".into(), String::new())
            .await
            .unwrap();
    }
    let err = store
        .create_note(&ctx, "t".into(), String::new())
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Code::ResourceExhausted,
            "the store is full (10000 notes): delete some first"
        )
    );
}
