//! Graphite: carbon-cache's whisper files read back.

use kit_metrics::graphite::GraphiteBuilder;
use kit_testkit::graphite::Carbon;
use metrics::{counter, gauge, histogram, with_local_recorder};

use crate::NEVER;

#[tokio::test]
async fn counters_gauges_and_histogram_summaries_reach_whisper() {
    let carbon = Carbon::start().await;
    let (recorder, handle) = GraphiteBuilder::new(carbon.addr()).interval(NEVER).build();
    with_local_recorder(&recorder, || {
        counter!("kit.requests", "method" => "sum", "success" => "true").increment(3);
        gauge!("kit.in_flight").set(2.0);
        for value in [4.0, 1.0, 3.0, 2.0] {
            histogram!("kit.payload", "method" => "sum").record(value);
        }
    });
    assert_eq!(handle.flush_and_stop().await, 0);
    let value = |name: &'static str| {
        let carbon = &carbon;
        async move {
            let points = carbon
                .wait_for_points(name, |points| !points.is_empty())
                .await;
            assert_eq!(points.len(), 1, "{name}: {points:?}");
            points[0].1
        }
    };
    // Tags are stored sorted by name, whatever the order sent.
    assert_eq!(value("kit.requests;success=true;method=sum").await, 3.0);
    assert_eq!(value("kit.in_flight").await, 2.0);
    for (stat, expected) in [
        ("count", 4.0),
        ("sum", 10.0),
        ("min", 1.0),
        ("max", 4.0),
        ("p50", 2.0),
        ("p90", 4.0),
        ("p95", 4.0),
        ("p99", 4.0),
    ] {
        let name = format!("kit.payload.{stat};method=sum").leak();
        assert_eq!(value(name).await, expected, "{stat}");
    }
}

#[tokio::test]
async fn carbon_down_at_start_and_going_away_costs_only_dropped_lines() {
    let mut carbon = Carbon::configure();
    let (recorder, handle) = GraphiteBuilder::new(carbon.addr()).interval(NEVER).build();
    let requests = with_local_recorder(&recorder, || counter!("kit.requests"));
    let has = |value: f64| move |points: &[(u32, f64)]| points.iter().any(|p| p.1 == value);

    // Down at start: the flush is dropped and says why.
    requests.increment(1);
    handle.flush().await;
    assert_eq!(handle.dropped(), 1);
    let refused = format!(
        "carbon at {}: Connection refused (os error 111)",
        carbon.addr()
    );
    assert_eq!(handle.last_error().as_deref(), Some(refused.as_str()));

    // Up: the next flush arrives.
    carbon.resume().await;
    requests.increment(2);
    handle.flush().await;
    carbon.wait_for_points("kit.requests", has(2.0)).await;
    assert_eq!(handle.dropped(), 1);

    // Gone (killed): the open connection is noticed closed, the new one refused.
    carbon.stop().await;
    requests.increment(4);
    handle.flush().await;
    assert_eq!(handle.dropped(), 2);
    assert_eq!(handle.last_error().as_deref(), Some(refused.as_str()));

    // Back: a new connection carries the next flush.
    carbon.resume().await;
    requests.increment(8);
    handle.flush().await;
    carbon.wait_for_points("kit.requests", has(8.0)).await;
    assert_eq!(handle.flush_and_stop().await, 2);
}
