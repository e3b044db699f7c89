use std::collections::BTreeMap;
use std::future::pending;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

use super::labels::{CounterFamily, GaugeFamily, HistogramFamily, bool_label, known_or_other};
use super::{InstrumentLayer, RequestMetrics};
use crate::error::Classifier;
use crate::middleware::chain;
use crate::{Code, Context, Endpoint, Error, endpoint_fn};

/// The snapshot as `name{k=v,..}` → value (histograms as their sample count).
fn values(snapshotter: &Snapshotter) -> BTreeMap<String, f64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(samples) => {
                    assert!(samples.iter().all(|s| s.into_inner() >= 0.0), "{samples:?}");
                    samples.len() as f64
                }
            };
            (
                format!("{}{{{}}}", key.key().name(), labels.join(",")),
                value,
            )
        })
        .collect()
}

fn expected(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn sum_endpoint() -> impl Endpoint<(i64, i64), Response = i64> {
    endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move {
        match (a, b) {
            (0, 0) => Err(Error::invalid_argument("can't sum two zeroes")),
            (-1, _) => Err(Error::internal("disk on fire")),
            _ => Ok(a + b),
        }
    })
}

#[tokio::test]
async fn counts_and_times_each_outcome_labelled_by_method_and_success() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let sum = ::metrics::with_local_recorder(&recorder, || {
        let names = RequestMetrics::new("example_addsvc");
        chain().instrument(&names, "Sum").endpoint(sum_endpoint())
    });
    for (a, b) in [(1, 2), (3, 4), (0, 0), (-1, 5)] {
        let _ = sum.call(Context::background(), (a, b)).await;
    }
    assert_eq!(
        values(&snapshotter),
        expected(&[
            // A business error (the caller's fault) is a success; an internal error is not.
            (
                "example_addsvc_requests_total{method=Sum,success=true}",
                3.0
            ),
            (
                "example_addsvc_requests_total{method=Sum,success=false}",
                1.0
            ),
            (
                "example_addsvc_request_duration_seconds{method=Sum,success=true}",
                3.0
            ),
            (
                "example_addsvc_request_duration_seconds{method=Sum,success=false}",
                1.0
            ),
            ("example_addsvc_requests_in_flight{method=Sum}", 0.0),
        ])
    );
}

#[tokio::test]
async fn the_gauge_counts_calls_in_flight() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let slots = std::sync::Mutex::new(Some((entered_tx, release_rx)));
    let slow = endpoint_fn(move |_ctx: Context, ()| {
        let (entered, release) = slots.lock().unwrap().take().expect("called once");
        async move {
            entered.send(()).unwrap();
            release.await.unwrap();
            Ok::<_, Error>(())
        }
    });
    let slow = ::metrics::with_local_recorder(&recorder, || {
        chain()
            .instrument(&RequestMetrics::default(), "Slow")
            .endpoint(slow)
    });
    let call = tokio::spawn(async move { slow.call(Context::background(), ()).await });
    entered_rx.await.unwrap();
    let during = values(&snapshotter);
    assert_eq!(during["kit_requests_in_flight{method=Slow}"], 1.0);
    assert_eq!(during["kit_requests_total{method=Slow,success=true}"], 0.0);
    release_tx.send(()).unwrap();
    call.await.unwrap().unwrap();
    // The snapshot drained every value to 0: the finished call takes it back down by one.
    assert_eq!(
        values(&snapshotter),
        expected(&[
            ("kit_requests_total{method=Slow,success=true}", 1.0),
            ("kit_requests_total{method=Slow,success=false}", 0.0),
            (
                "kit_request_duration_seconds{method=Slow,success=true}",
                1.0
            ),
            (
                "kit_request_duration_seconds{method=Slow,success=false}",
                0.0
            ),
            ("kit_requests_in_flight{method=Slow}", -1.0),
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_call_leaves_the_gauge_and_is_not_a_success() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let stuck = endpoint_fn(|_ctx: Context, ()| pending::<Result<(), Error>>());
    let stuck = ::metrics::with_local_recorder(&recorder, || {
        chain()
            .instrument(&RequestMetrics::default(), "Stuck")
            .endpoint(stuck)
    });
    // The call starts, then its future is dropped when the timeout fires.
    let outcome = tokio::time::timeout(
        Duration::from_secs(1),
        stuck.call(Context::background(), ()),
    )
    .await;
    assert!(outcome.is_err());
    assert_eq!(
        values(&snapshotter),
        expected(&[
            ("kit_requests_total{method=Stuck,success=true}", 0.0),
            ("kit_requests_total{method=Stuck,success=false}", 1.0),
            (
                "kit_request_duration_seconds{method=Stuck,success=true}",
                0.0
            ),
            (
                "kit_request_duration_seconds{method=Stuck,success=false}",
                1.0
            ),
            ("kit_requests_in_flight{method=Stuck}", 0.0),
        ])
    );
}

#[tokio::test]
async fn a_classifier_decides_what_fails() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let strict = |err: &Error| {
        err.code()
            .class()
            .with_failure(err.code() == Code::InvalidArgument)
    };
    let sum = ::metrics::with_local_recorder(&recorder, || {
        let layer = InstrumentLayer::new(&RequestMetrics::default(), "Sum").classifier(strict);
        chain().layer(layer).endpoint(sum_endpoint())
    });
    let _ = sum.call(Context::background(), (0, 0)).await;
    let _ = sum.call(Context::background(), (-1, 0)).await;
    let values = values(&snapshotter);
    assert_eq!(values["kit_requests_total{method=Sum,success=false}"], 1.0);
    assert_eq!(values["kit_requests_total{method=Sum,success=true}"], 1.0);
    assert!(strict.classify(&Error::invalid_argument("x")).failure);
}

#[test]
fn families_record_under_their_labels() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    ::metrics::with_local_recorder(&recorder, || {
        let orders = CounterFamily::new("shop_orders_total", ["region", "express"]).unwrap();
        orders.series(["eu", bool_label(true)]).increment(2);
        orders.series(["eu", bool_label(true)]).increment(3);
        let queue = GaugeFamily::new("shop_queue_depth", ["queue"]).unwrap();
        queue.series(["mail"]).set(7.0);
        let sizes = HistogramFamily::new("shop:basket_items", []).unwrap();
        sizes.series([]).record(4.0);
    });
    assert_eq!(
        values(&snapshotter),
        expected(&[
            ("shop_orders_total{region=eu,express=true}", 5.0),
            ("shop_queue_depth{queue=mail}", 7.0),
            ("shop:basket_items{}", 1.0),
        ])
    );
}

#[test]
fn bad_names_are_errors_when_the_family_is_made() {
    let err = |r: Result<CounterFamily<2>, super::MetricNameError>| r.unwrap_err().to_string();
    assert_eq!(
        err(CounterFamily::new("orders-total", ["a", "b"])),
        r#"metric name "orders-total" is not [a-zA-Z_:][a-zA-Z0-9_:]*"#
    );
    assert_eq!(
        err(CounterFamily::new("orders_total", ["a", "__b"])),
        r#"label name "__b" of metric orders_total is not [a-zA-Z_][a-zA-Z0-9_]* or starts with the reserved __"#
    );
    assert_eq!(
        err(CounterFamily::new("orders_total", ["a", "1b"])),
        r#"label name "1b" of metric orders_total is not [a-zA-Z_][a-zA-Z0-9_]* or starts with the reserved __"#
    );
    assert_eq!(
        err(CounterFamily::new("orders_total", ["a", "a"])),
        r#"label "a" of metric orders_total is named twice"#
    );
    assert_eq!(
        GaugeFamily::new("", []).unwrap_err().to_string(),
        r#"metric name "" is not [a-zA-Z_:][a-zA-Z0-9_:]*"#
    );
}

#[test]
fn unknown_values_collapse_into_one() {
    let known = ["sum", "concat"];
    assert_eq!(known_or_other("sum", &known), "sum");
    assert_eq!(known_or_other("concat", &known), "concat");
    assert_eq!(known_or_other("Sum", &known), "other");
    assert_eq!(known_or_other("../../etc/passwd", &known), "other");
}
