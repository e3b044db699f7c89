//! The transport metrics against a hostile client: hundreds of distinct method paths add
//! one `route="other"` series; each call's status is its `code`. Read back from
//! kit-metrics's Prometheus exposition.

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::sync::Arc;

use http::uri::PathAndQuery;
use kit::{Code, Context, Endpoint};
use kit_grpc::checks::RequestChecksLayer;
use kit_grpc::metrics::MetricsLayer;
use kit_http::metrics::ServerMetrics;
use kit_metrics::prometheus::Prometheus;
use tokio::net::TcpListener;
use tonic::client::Grpc;
use tonic_prost::ProstCodec;
use tower_layer::Layer;

use crate::codegen::file_descriptor_set;
use crate::pb;
use crate::support::{Events, channel, routes, sum_client};

/// The counts (the histogram's `_count`) and in-flight gauges named `prefix...` in the
/// exposition, as `name{labels}` → value.
fn counts(prometheus: &Prometheus, prefix: &str) -> BTreeMap<String, f64> {
    prometheus
        .render()
        .lines()
        .filter(|line| line.starts_with(prefix))
        .filter(|line| line.contains("_count{") || line.contains("_in_flight{"))
        .map(|line| {
            let (key, value) = line.rsplit_once(' ').expect("a sample line");
            (key.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

#[tokio::test]
async fn unknown_methods_collapse_into_other_and_each_status_is_its_code() {
    // The only test of this binary that installs a recorder (nextest runs each test in a
    // process of its own; under `cargo test` the others record nothing).
    let prometheus = Prometheus::install().expect("no recorder installed yet");
    let names = ServerMetrics::new("hostile_grpc");
    let (routes, _health) = routes(&Arc::new(Events::default())).await;
    let metered = MetricsLayer::new(&names)
        .descriptor_sets(&[file_descriptor_set()])
        .unwrap()
        .layer(RequestChecksLayer::new().layer(routes));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(kit_grpc::serve(listener, metered).into_future());

    let channel = channel(addr);
    let mut grpc = Grpc::new(channel.clone());
    for i in 0..500u64 {
        // Unknown methods of a known service, and unknown services.
        let path = match i % 2 {
            0 => format!("/test.Echo/Probe{i}x{:x}", i.wrapping_mul(0x9E37_79B9)),
            _ => format!("/probe{i}.Svc/Call"),
        };
        grpc.ready().await.unwrap();
        let status = grpc
            .unary(
                tonic::Request::new(pb::SumRequest { a: 1, b: 2 }),
                PathAndQuery::try_from(path.clone()).unwrap(),
                ProstCodec::<pb::SumRequest, pb::SumReply>::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{path}");
    }
    let sum = sum_client(channel.clone());
    for _ in 0..3 {
        assert_eq!(sum.call(Context::background(), (1, 2)).await.unwrap(), 3);
    }
    let err = sum.call(Context::background(), (0, 0)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    let grpc_series = |route: &str, code: &str| {
        format!(
            r#"hostile_grpc_server_request_duration_seconds_count{{transport="grpc",route="{route}",code="{code}"}}"#
        )
    };
    let expected: BTreeMap<String, f64> = [
        (grpc_series("other", "UNIMPLEMENTED"), 500.0),
        (grpc_series("other", "OK"), 0.0),
        (grpc_series("/test.Echo/Sum", "OK"), 3.0),
        (grpc_series("/test.Echo/Sum", "INVALID_ARGUMENT"), 1.0),
        (grpc_series("/test.Echo/Echo", "OK"), 0.0),
        (
            r#"hostile_grpc_server_requests_in_flight{transport="grpc"}"#.to_owned(),
            0.0,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts(&prometheus, "hostile_grpc"), expected);
    let exposition = prometheus.render();
    assert!(!exposition.contains("Probe"), "{exposition}");
    assert!(!exposition.contains("probe"), "{exposition}");

    // The server keeps serving.
    assert_eq!(sum.call(Context::background(), (40, 2)).await.unwrap(), 42);
    assert_eq!(
        counts(&prometheus, "hostile_grpc")[&grpc_series("/test.Echo/Sum", "OK")],
        4.0
    );
}
