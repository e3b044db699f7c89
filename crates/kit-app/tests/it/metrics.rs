//! Pushed metrics and the stop: what a service recorded up to its last answer reaches the
//! real StatsD daemon when it flushes after `Running::wait`, with nothing lost at exit.

use std::time::Duration;

use http::Method;
use kit::middleware::chain;
use kit::middleware::metrics::RequestMetrics;
use kit::{Context, Error, endpoint_fn};
use kit_app::{App, ListenAddr, ShutdownFlags};
use kit_http::{Router, Server, json};
use kit_metrics::statsd::StatsdBuilder;
use kit_testkit::http::request;
use kit_testkit::statsd::Statsd;

use crate::support::stop_button;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_was_served_before_the_stop_is_flushed_after_it() {
    let statsd = Statsd::start().await;
    // No interval flush during the test: everything goes in the flush at exit.
    let (recorder, handle) = StatsdBuilder::new(statsd.addr())
        .interval(Duration::from_secs(3600))
        .build()
        .await
        .unwrap();
    // Global, as a service installs it: the calls are served on the runtime's threads.
    metrics::set_global_recorder(recorder).unwrap();
    let hello = endpoint_fn(|_ctx: Context, ()| async {
        Ok::<_, Error>(serde_json::json!({ "hello": "world" }))
    });
    let hello = chain()
        .instrument(&RequestMetrics::new("svc"), "Hello")
        .endpoint(hello);
    let no_body = |_: &http::request::Parts, _| Ok(());
    let router = Router::new().route(
        Method::GET,
        "/hello",
        Server::new(hello, no_body, json::encode_response),
    );
    let (stop, stopped) = stop_button();
    let running = App::new("svc", ShutdownFlags::default())
        .http("http", "127.0.0.1:0".parse::<ListenAddr>().unwrap(), router)
        .stop_on(stopped)
        .start()
        .await
        .unwrap();
    let addr = running.local_addr("http").unwrap();
    for _ in 0..25 {
        assert_eq!(request(addr, "GET", "/hello", "").await.status, 200);
    }
    stop.send(()).unwrap();
    running.wait().await.unwrap();
    assert_eq!(handle.flush_and_stop().await, 0);

    // One counter line, one gauge line, 25 timer lines.
    statsd.wait_for_lines(27).await;
    let flush = statsd.stop().await;
    assert_eq!(flush["counters"]["statsd.bad_lines_seen"], 0);
    assert_eq!(
        flush["counters"]["svc_requests_total.method.Hello.success.true"],
        25
    );
    assert_eq!(
        flush["timer_data"]["svc_request_duration_seconds.method.Hello.success.true"]["count"],
        25
    );
    assert_eq!(flush["gauges"]["svc_requests_in_flight.method.Hello"], 0);
}
