//! notesvc's OpenAPI document: served on the HTTP listener, valid, and true to the service
//! (path parameters, paging query, 201 and 204), by the tools other languages use.

use crate::support::start;

#[tokio::test]
async fn the_served_document_is_the_services_and_valid() {
    let svc = start().await;
    let answer = kit_testkit::http::request(svc.http, "GET", "/openapi.json", "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let served: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(served, notesvc::notes::openapi());
    kit_testkit::openapi::validate(&answer.body).await;
}

#[tokio::test]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let svc = start().await;
    let report = kit_testkit::openapi::fuzz(&format!("http://{}/openapi.json", svc.http)).await;
    assert!(
        report.contains("API Operations:\n  Selected: 4/4\n  Tested: 4\n"),
        "{report}"
    );
}
