//! addsvc's OpenAPI document: served on the HTTP listener, valid, and true to the service,
//! by the tools other languages use (kit_testkit::openapi).

use crate::support::start_async;

#[tokio::test]
async fn the_served_document_is_the_services_and_valid() {
    let svc = start_async().await;
    let answer = kit_testkit::http::request(svc.http, "GET", "/openapi.json", "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let served: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(served, addsvc::add::openapi());
    kit_testkit::openapi::validate(&answer.body).await;
}

#[tokio::test]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let svc = start_async().await;
    let report = kit_testkit::openapi::fuzz(&format!("http://{}/openapi.json", svc.http)).await;
    assert!(
        report.contains("API Operations:\n  Selected: 2/2\n  Tested: 2\n"),
        "{report}"
    );
}
