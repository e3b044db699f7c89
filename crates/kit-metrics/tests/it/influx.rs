//! InfluxDB 1.x: points read back with InfluxQL.

use std::time::Duration;

use kit_metrics::influx::InfluxBuilder;
use kit_testkit::influxdb::InfluxDb;
use metrics::{counter, gauge, histogram, with_local_recorder};
use serde_json::{Value, json};

use crate::{NEVER, SHORT};

/// The columns and rows of the first series of a query's answer, or `None` when nothing
/// matched.
fn series(answer: &Value) -> Option<(Value, Value)> {
    let series = answer["results"][0]["series"].get(0)?;
    Some((series["columns"].clone(), series["values"].clone()))
}

/// The `count` of each `kit_requests` point in database `kit`, oldest first.
async fn request_counts(influx: &InfluxDb) -> Vec<Value> {
    let answer = influx
        .query("kit", "SELECT \"count\" FROM kit_requests")
        .await;
    let (_, values) = series(&answer).expect("kit_requests written");
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[1].clone())
        .collect()
}

#[tokio::test]
async fn counters_gauges_and_histogram_summaries_read_back() {
    let influx = InfluxDb::start().await;
    influx.create_database("kit").await;
    let (recorder, handle) = InfluxBuilder::new(influx.url(), "kit")
        .interval(NEVER)
        .build()
        .unwrap();
    with_local_recorder(&recorder, || {
        counter!("kit_requests", "method" => "sum", "success" => "true").increment(3);
        gauge!("kit_in_flight").set(2.5);
        for value in [4.0, 1.0, 3.0, 2.0] {
            histogram!("kit_payload", "method" => "sum").record(value);
        }
    });
    assert_eq!(handle.flush_and_stop().await, 0);

    let answer = influx
        .query(
            "kit",
            "SELECT \"count\", \"method\", \"success\" FROM kit_requests",
        )
        .await;
    let (columns, values) = series(&answer).expect("kit_requests written");
    assert_eq!(columns, json!(["time", "count", "method", "success"]));
    assert_eq!(
        values[0].as_array().unwrap()[1..],
        [json!(3), json!("sum"), json!("true")]
    );

    let answer = influx
        .query("kit", "SELECT \"value\" FROM kit_in_flight")
        .await;
    let (_, values) = series(&answer).expect("kit_in_flight written");
    assert_eq!(values[0][1], 2.5);

    let answer = influx
        .query(
            "kit",
            "SELECT \"count\", \"sum\", \"min\", \"max\", \"p50\", \"p90\", \"p95\", \"p99\" \
             FROM kit_payload WHERE \"method\" = 'sum'",
        )
        .await;
    let (_, values) = series(&answer).expect("kit_payload written");
    assert_eq!(
        values[0].as_array().unwrap()[1..],
        [
            json!(4),
            json!(10),
            json!(1),
            json!(4),
            json!(2),
            json!(4),
            json!(4),
            json!(4)
        ]
    );
}

#[tokio::test]
async fn flushes_follow_the_interval() {
    let influx = InfluxDb::start().await;
    influx.create_database("kit").await;
    let (recorder, handle) = InfluxBuilder::new(influx.url(), "kit")
        .interval(SHORT)
        .build()
        .unwrap();
    let requests = with_local_recorder(&recorder, || counter!("kit_requests"));
    requests.increment(1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // No flush asked for: poll until the interval's flush is there.
    loop {
        let answer = influx
            .query("kit", "SELECT sum(\"count\") FROM kit_requests")
            .await;
        if let Some((_, values)) = series(&answer) {
            assert_eq!(values[0][1], 1);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no flush within 30s: {answer}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(handle.flush_and_stop().await, 0);
}

#[tokio::test]
async fn a_missing_database_drops_points_with_the_servers_error() {
    let influx = InfluxDb::start().await;
    let (recorder, handle) = InfluxBuilder::new(influx.url(), "nope")
        .interval(NEVER)
        .build()
        .unwrap();
    with_local_recorder(&recorder, || {
        counter!("kit_requests").increment(1);
        gauge!("kit_in_flight").set(1.0);
    });
    handle.flush().await;
    assert_eq!(handle.dropped(), 2);
    assert_eq!(
        handle.last_error().unwrap(),
        format!(
            "POST http://{}/write?db=nope&precision=ms: 404 Not Found: \
             {{\"error\":\"database not found: \\\"nope\\\"\"}}",
            influx.addr()
        )
    );
    // The last flush sends the gauge again (gauges go out every flush): one more dropped.
    assert_eq!(handle.flush_and_stop().await, 3);
}

#[tokio::test]
async fn a_server_down_at_start_or_going_away_costs_only_dropped_points() {
    let mut influx = InfluxDb::configure();
    let (recorder, handle) = InfluxBuilder::new(influx.url(), "kit")
        .interval(NEVER)
        .build()
        .unwrap();
    let requests = with_local_recorder(&recorder, || counter!("kit_requests"));
    let refused = format!(
        "POST http://{}/write?db=kit&precision=ms: client error (Connect): tcp connect error: \
         Connection refused (os error 111)",
        influx.addr()
    );

    requests.increment(1);
    handle.flush().await;
    assert_eq!(handle.dropped(), 1);
    assert_eq!(handle.last_error().as_deref(), Some(refused.as_str()));

    influx.resume().await;
    influx.create_database("kit").await;
    requests.increment(2);
    handle.flush().await;
    assert_eq!(handle.dropped(), 1);

    influx.stop().await;
    requests.increment(4);
    handle.flush().await;
    assert_eq!(handle.dropped(), 2);

    influx.resume().await;
    requests.increment(8);
    handle.flush().await;
    assert_eq!(handle.flush_and_stop().await, 2);
    let counts = request_counts(&influx).await;
    assert_eq!(counts, [json!(2), json!(8)]);
}

#[tokio::test]
async fn a_histogram_over_the_cap_keeps_its_count_sum_min_and_max_exact() {
    let influx = InfluxDb::start().await;
    influx.create_database("kit").await;
    let (recorder, handle) = InfluxBuilder::new(influx.url(), "kit")
        .histogram_cap(64)
        .interval(NEVER)
        .build()
        .unwrap();
    let payload = with_local_recorder(&recorder, || histogram!("kit_payload"));
    for value in 1..=1000 {
        payload.record(f64::from(value));
    }
    assert_eq!(recorder.held_histogram_values(), 64);
    handle.flush().await;
    assert_eq!(handle.histogram_values_over_cap(), 936);
    assert_eq!(handle.flush_and_stop().await, 0);
    let answer = influx
        .query(
            "kit",
            "SELECT \"count\", \"sum\", \"min\", \"max\", \"p50\", \"p99\" FROM kit_payload",
        )
        .await;
    let (_, values) = series(&answer).expect("kit_payload written");
    // Count, sum, min and max over all 1000; percentiles over the first 64 kept.
    assert_eq!(
        values[0].as_array().unwrap()[1..],
        [
            json!(1000),
            json!(500500),
            json!(1),
            json!(1000),
            json!(32),
            json!(64)
        ]
    );
}

#[tokio::test]
async fn a_server_that_hangs_costs_a_bounded_wait_and_the_dropped_points() {
    let influx = InfluxDb::start().await;
    influx.create_database("kit").await;
    let timeout = Duration::from_millis(300);
    let (recorder, handle) = InfluxBuilder::new(influx.url(), "kit")
        .interval(NEVER)
        .timeout(timeout)
        .build()
        .unwrap();
    let requests = with_local_recorder(&recorder, || counter!("kit_requests"));

    // Frozen, the server accepts the connection and never answers: the write gives up at
    // its timeout, and the exit does not wait for it longer than that.
    influx.freeze();
    requests.increment(1);
    handle.flush().await;
    assert_eq!(handle.dropped(), 1);
    assert_eq!(
        handle.last_error(),
        Some(format!(
            "POST {}/write?db=kit&precision=ms: no answer within 300ms",
            influx.url()
        ))
    );

    // Running again, it takes the next flush.
    influx.thaw();
    requests.increment(2);
    assert_eq!(handle.flush_and_stop().await, 1);
    let counts = request_counts(&influx).await;
    // The write given up on was still in the frozen server's socket, and it applied it
    // when it woke: `dropped` counts the points whose delivery was not confirmed, which is
    // at least what was lost. Nothing is sent twice.
    assert_eq!(counts, [json!(1), json!(2)]);
}
