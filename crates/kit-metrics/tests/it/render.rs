use kit::middleware::chain;
use kit::middleware::metrics::RequestMetrics;
use kit::{Context, Endpoint, Error, endpoint_fn};
use kit_metrics::{expvar, prometheus::Prometheus};

#[tokio::test]
async fn request_metrics_render_as_histograms_and_expvar() {
    let (recorder, prometheus) = Prometheus::builder().build();
    let sum = endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move {
        if a == 0 && b == 0 {
            return Err(Error::invalid_argument("can't sum two zeroes"));
        }
        Ok(a + b)
    });
    let sum = metrics::with_local_recorder(&recorder, || {
        chain()
            .instrument(&RequestMetrics::new("example_addsvc"), "Sum")
            .endpoint(sum)
    });
    for (a, b) in [(1, 2), (0, 0), (3, 4)] {
        let _ = sum.call(Context::background(), (a, b)).await;
    }
    let text = prometheus.render();
    for line in [
        "# TYPE example_addsvc_requests_total counter",
        "example_addsvc_requests_total{method=\"Sum\",success=\"true\"} 3",
        "example_addsvc_requests_total{method=\"Sum\",success=\"false\"} 0",
        "# TYPE example_addsvc_request_duration_seconds histogram",
        "example_addsvc_request_duration_seconds_bucket{method=\"Sum\",success=\"true\",le=\"+Inf\"} 3",
        "example_addsvc_request_duration_seconds_count{method=\"Sum\",success=\"true\"} 3",
        "example_addsvc_requests_in_flight{method=\"Sum\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
    // Trivial calls take far less than the smallest bucket, 5 ms.
    assert!(text.lines().any(|l| l
        == "example_addsvc_request_duration_seconds_bucket{method=\"Sum\",success=\"true\",le=\"0.005\"} 3"));

    let vars = expvar::render(&prometheus);
    assert_eq!(
        vars["example_addsvc_requests_total{method=\"Sum\",success=\"true\"}"],
        3.0
    );
    assert_eq!(
        vars["example_addsvc_requests_in_flight{method=\"Sum\"}"],
        0.0
    );
    let duration =
        &vars["example_addsvc_request_duration_seconds{method=\"Sum\",success=\"true\"}"];
    assert_eq!(duration["count"], 3.0);
    let p50 = duration["p50"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= 0.005, "{duration}");
    assert!(vars["cmdline"].is_array());
}
