//! addsvc's metrics (CONTRACTS.md) scraped by a real Prometheus from the debug listener,
//! and the same values as expvar JSON on `/debug/vars`.

use kit_testkit::http::request;
use kit_testkit::prometheus::Prometheus;

use crate::support::{listening_async, start_async};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_contract_metrics() {
    let addsvc = start_async().await;
    let debug = listening_async(&addsvc.process, "debug").await;
    let prometheus = Prometheus::start(&[debug]).await;

    // Sum allows 1 call per second, so one Sum; a business error goes through Concat.
    let sum = request(addsvc.http, "POST", "/sum", r#"{"a":40,"b":2}"#).await;
    assert_eq!((sum.status, sum.body.trim()), (200, r#"{"v":42}"#));
    let concat = request(addsvc.http, "POST", "/concat", r#"{"a":"abc","b":"de"}"#).await;
    assert_eq!(
        (concat.status, concat.body.trim()),
        (200, r#"{"v":"abcde"}"#)
    );
    let too_long = request(
        addsvc.http,
        "POST",
        "/concat",
        r#"{"a":"abcdef","b":"ghijk"}"#,
    )
    .await;
    assert_eq!(too_long.status, 400);

    let summed = prometheus
        .wait_for("example_addsvc_integers_summed", |v| v == 42.0)
        .await;
    assert_eq!(summed, 42.0);
    let characters = prometheus
        .wait_for("example_addsvc_characters_concatenated", |v| v == 5.0)
        .await;
    assert_eq!(characters, 5.0);
    // The business error is not the service's failure: both Concat calls are successes.
    let concats =
        r#"example_addsvc_request_duration_seconds_count{method="Concat",success="true"}"#;
    assert_eq!(prometheus.wait_for(concats, |v| v == 2.0).await, 2.0);
    let sums = r#"example_addsvc_request_duration_seconds_count{method="Sum",success="true"}"#;
    assert_eq!(prometheus.wait_for(sums, |v| v == 1.0).await, 1.0);
    let failed =
        r#"example_addsvc_request_duration_seconds_count{method="Concat",success="false"}"#;
    assert_eq!(prometheus.wait_for(failed, |v| v == 0.0).await, 0.0);
    // Buckets, not a summary, so Prometheus can compute quantiles.
    let p99 = r#"histogram_quantile(0.99, example_addsvc_request_duration_seconds_bucket{method="Sum",success="true"})"#;
    let p99 = prometheus.wait_for(p99, |v| v > 0.0).await;
    assert!(p99 <= 10.0, "{p99}");

    let vars = request(debug, "GET", "/debug/vars", "").await;
    assert_eq!(vars.header("content-type"), Some("application/json"));
    let vars: serde_json::Value = serde_json::from_str(&vars.body).unwrap();
    assert_eq!(vars["example_addsvc_integers_summed"], 42.0);
    assert_eq!(vars["example_addsvc_characters_concatenated"], 5.0);
    let concat =
        &vars[r#"example_addsvc_request_duration_seconds{method="Concat",success="true"}"#];
    assert_eq!(concat["count"], 2.0);
    assert!(concat["p50"].as_f64().unwrap() > 0.0, "{concat}");
    assert_eq!(
        vars[r#"example_addsvc_requests_in_flight{method="Sum"}"#],
        0.0
    );

    let metrics = request(debug, "GET", "/metrics", "").await;
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
}

/// The transport metrics: every request each listener answers by route and code, what a
/// client names that addsvc does not know as `route="other"`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transports_record_every_request_and_unknown_names_as_other() {
    let addsvc = start_async().await;
    let debug = listening_async(&addsvc.process, "debug").await;

    let sum = request(addsvc.http, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!(sum.status, 200);
    for path in ["/no-such-path", "/etc/passwd", "/sum/../x"] {
        assert_eq!(request(addsvc.http, "GET", path, "").await.status, 404);
    }
    let unknown = r#"{"jsonrpc":"2.0","method":"rm -rf","id":1}"#;
    let answer = request(addsvc.jsonrpc, "POST", "/", unknown).await;
    assert!(answer.body.contains("-32601"), "{}", answer.body);
    let concat = r#"{"jsonrpc":"2.0","method":"concat","params":{"a":"x","b":"y"},"id":2}"#;
    let answer = request(addsvc.jsonrpc, "POST", "/", concat).await;
    assert!(answer.body.contains(r#""result""#), "{}", answer.body);
    // A gRPC listener builds its routes, and with them its methods' series, in its own task
    // after it logs `listening`: one answered call says they exist. A Concat, so that Sum's
    // series is still at zero.
    use addsvc::Add as _;
    let grpc = addsvc::add::grpc::connect_lazy(&addsvc.grpc.to_string()).unwrap();
    let joined = grpc
        .concat(&kit::Context::background(), "x".to_owned(), "y".to_owned())
        .await
        .unwrap();
    assert_eq!(joined, "xy");

    let metrics = request(debug, "GET", "/metrics", "").await.body;
    let count = |transport: &str, route: &str, code: &str| {
        let key = format!(
            r#"example_addsvc_server_request_duration_seconds_count{{transport="{transport}",route="{route}",code="{code}"}} "#
        );
        let line = metrics.lines().find(|l| l.starts_with(&key));
        line.map(|l| l[key.len()..].to_owned())
    };
    assert_eq!(count("http", "POST /sum", "OK").as_deref(), Some("1"));
    assert_eq!(count("http", "other", "NOT_FOUND").as_deref(), Some("3"));
    assert_eq!(count("jsonrpc", "concat", "OK").as_deref(), Some("1"));
    assert_eq!(
        count("jsonrpc", "other", "UNIMPLEMENTED").as_deref(),
        Some("1")
    );
    assert_eq!(count("grpc", "/pb.Add/Concat", "OK").as_deref(), Some("1"));
    assert_eq!(count("grpc", "/pb.Add/Sum", "OK").as_deref(), Some("0"));
    for client_string in ["passwd", "no-such-path", "rm -rf"] {
        assert!(!metrics.contains(client_string), "{metrics}");
    }
}
