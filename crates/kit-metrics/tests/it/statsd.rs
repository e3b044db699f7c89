//! StatsD: the real daemon for plain and DogStatsD lines, a UDP socket for the wire format.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use kit_metrics::statsd::{Flavour, StatsdBuilder};
use kit_testkit::statsd::Statsd;
use metrics::{Unit, counter, describe_histogram, gauge, histogram, with_local_recorder};
use serde_json::json;
use tokio::net::UdpSocket;

use crate::{NEVER, SHORT};

#[tokio::test]
async fn counters_timers_and_gauges_reach_the_daemon() {
    let statsd = Statsd::start().await;
    let (recorder, handle) = StatsdBuilder::new(statsd.addr())
        .interval(NEVER)
        .build()
        .await
        .unwrap();
    with_local_recorder(&recorder, || {
        let requests = counter!("kit_requests", "method" => "sum");
        requests.increment(2);
        requests.increment(3);
        gauge!("kit_in_flight").set(7.0);
        gauge!("kit_in_flight").set(2.0);
        // Negative: sent as 0 then -4, or the daemon would take -4 as a change.
        gauge!("kit_balance").set(-4.0);
        describe_histogram!("kit_latency", Unit::Seconds, "latency");
        histogram!("kit_latency").record(0.25);
        histogram!("kit_latency").record(0.5);
        // `*_seconds` without a description: milliseconds too.
        histogram!("kit_request_duration_seconds").record(0.125);
        histogram!("kit_payload_bytes").record(100.0);
    });
    assert_eq!(handle.flush_and_stop().await, 0);
    // 1 counter line, 3 gauge lines, 4 timer lines.
    statsd.wait_for_lines(8).await;
    let flush = statsd.stop().await;
    assert_eq!(flush["counters"]["statsd.bad_lines_seen"], 0);
    assert_eq!(flush["counters"]["kit_requests.method.sum"], 5);
    assert_eq!(
        flush["gauges"],
        json!({"kit_in_flight": 2, "kit_balance": -4})
    );
    assert_eq!(
        flush["timers"],
        json!({"kit_latency": [250, 500], "kit_request_duration_seconds": [125], "kit_payload_bytes": [100]})
    );
    let latency = &flush["timer_data"]["kit_latency"];
    assert_eq!(
        [
            &latency["count"],
            &latency["sum"],
            &latency["lower"],
            &latency["upper"]
        ],
        [&json!(2), &json!(750), &json!(250), &json!(500)]
    );
}

#[tokio::test]
async fn dogstatsd_tags_reach_the_daemon_and_flushes_follow_the_interval() {
    let statsd = Statsd::start().await;
    let (recorder, handle) = StatsdBuilder::new(statsd.addr())
        .flavour(Flavour::DogStatsd)
        .interval(SHORT)
        .build()
        .await
        .unwrap();
    let requests = with_local_recorder(
        &recorder,
        || counter!("kit_requests", "method" => "sum", "success" => "true"),
    );
    requests.increment(1);
    // No flush asked for: the interval sends it.
    statsd.wait_for_lines(1).await;
    requests.increment(2);
    statsd.wait_for_lines(2).await;
    assert_eq!(handle.flush_and_stop().await, 0);
    let flush = statsd.stop().await;
    assert_eq!(flush["counters"]["statsd.bad_lines_seen"], 0);
    // The daemon folds DogStatsD tags into the name, Graphite-style.
    assert_eq!(flush["counters"]["kit_requests;method=sum;success=true"], 3);
}

/// Binds a UDP socket on loopback for the test to read what the backend sends.
async fn listener() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

/// Receives datagrams until `lines` metric lines came, bounded.
async fn receive_lines(socket: &UdpSocket, lines: usize) -> Vec<String> {
    let mut datagrams = Vec::new();
    let mut count = 0;
    let mut buf = vec![0; 65536];
    while count < lines {
        let received = tokio::time::timeout(Duration::from_secs(10), socket.recv(&mut buf)).await;
        let n = received
            .unwrap_or_else(|_| panic!("{count} of {lines} lines in 10s: {datagrams:?}"))
            .unwrap();
        let datagram = String::from_utf8(buf[..n].to_vec()).unwrap();
        count += datagram.lines().count();
        datagrams.push(datagram);
    }
    datagrams
}

#[tokio::test]
async fn flavours_write_their_documented_formats() {
    for (flavour, expected) in [
        (
            Flavour::DogStatsd,
            [
                "kit_requests:1|c|#method:sum,success:true",
                "kit_lag:-2|g|#queue:a_b",
                "kit_request_duration_seconds:250|ms|#method:sum",
            ]
            .as_slice(),
        ),
        (
            Flavour::Influx,
            &[
                "kit_requests,method=sum,success=true:1|c",
                "kit_lag,queue=a_b:0|g",
                "kit_lag,queue=a_b:-2|g",
                "kit_request_duration_seconds,method=sum:250|ms",
            ],
        ),
    ] {
        let (socket, addr) = listener().await;
        let (recorder, handle) = StatsdBuilder::new(addr)
            .flavour(flavour)
            .interval(NEVER)
            .build()
            .await
            .unwrap();
        with_local_recorder(&recorder, || {
            counter!("kit_requests", "method" => "sum", "success" => "true").increment(1);
            gauge!("kit_lag", "queue" => "a b").set(-2.0);
            histogram!("kit_request_duration_seconds", "method" => "sum").record(0.25);
        });
        assert_eq!(handle.flush_and_stop().await, 0);
        let datagrams = receive_lines(&socket, expected.len()).await;
        assert_eq!(datagrams, [expected.join("\n")], "{flavour:?}");
    }
}

#[tokio::test]
async fn lines_are_packed_into_datagrams_under_the_mtu() {
    let (socket, addr) = listener().await;
    let (recorder, handle) = StatsdBuilder::new(addr)
        .mtu(64)
        .interval(NEVER)
        .build()
        .await
        .unwrap();
    with_local_recorder(&recorder, || {
        for i in 0..30 {
            counter!(format!("kit_counter_{i:02}")).increment(i + 1);
        }
    });
    assert_eq!(handle.flush_and_stop().await, 0);
    let datagrams = receive_lines(&socket, 30).await;
    let expected: BTreeSet<String> = (0..30)
        .map(|i| format!("kit_counter_{i:02}:{}|c", i + 1))
        .collect();
    let received: BTreeSet<String> = datagrams
        .iter()
        .flat_map(|d| d.lines().map(str::to_owned))
        .collect();
    assert_eq!(received, expected);
    // Each line is 18-19 bytes: three fit in 64 (with two newlines), a fourth does not.
    assert_eq!(datagrams.len(), 10, "{datagrams:?}");
    for datagram in &datagrams {
        assert!(datagram.len() <= 64, "{datagram:?}");
    }
}

#[tokio::test]
async fn a_daemon_down_at_start_costs_only_dropped_lines() {
    // A loopback port where nothing listens yet: the kernel answers each datagram with
    // "port unreachable", which the next send reports as refused.
    let port = kit_testkit::free_port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (recorder, handle) = StatsdBuilder::new(addr)
        .interval(NEVER)
        .build()
        .await
        .unwrap();
    let requests = with_local_recorder(&recorder, || counter!("kit_requests"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while handle.dropped() == 0 {
        assert!(Instant::now() < deadline, "no send was refused in 10s");
        requests.increment(1);
        handle.flush().await;
    }
    // One line per flush: the refused one.
    assert_eq!(handle.dropped(), 1);
    let error = handle.last_error().unwrap();
    assert!(
        error.ends_with("Connection refused (os error 111)"),
        "{error}"
    );
    // The daemon comes up: the next flush arrives.
    let socket = UdpSocket::bind(addr).await.unwrap();
    requests.increment(5);
    handle.flush().await;
    assert_eq!(receive_lines(&socket, 1).await, ["kit_requests:5|c"]);
    assert_eq!(handle.flush_and_stop().await, 1);
}

#[tokio::test]
async fn values_over_the_cap_are_counted_and_carried_by_sample_rates_on_the_wire() {
    let (socket, addr) = listener().await;
    let (recorder, handle) = StatsdBuilder::new(addr)
        .histogram_cap(64)
        .interval(NEVER)
        .build()
        .await
        .unwrap();
    let latency = with_local_recorder(&recorder, || histogram!("kit_latency"));
    for value in 0..100 {
        latency.record(f64::from(value));
    }
    assert_eq!(recorder.held_histogram_values(), 64);
    handle.flush().await;
    assert_eq!(recorder.held_histogram_values(), 0);
    assert_eq!(handle.histogram_values_over_cap(), 36);
    // The first 64 values; 100 = 36 × 2 + 28 × 1.
    let lines: Vec<String> = receive_lines(&socket, 64)
        .await
        .iter()
        .flat_map(|d| d.lines().map(str::to_owned))
        .collect();
    let expected: Vec<String> = (0..64)
        .map(|v| match v {
            0..36 => format!("kit_latency:{v}|ms|@0.5"),
            _ => format!("kit_latency:{v}|ms"),
        })
        .collect();
    assert_eq!(lines, expected);
    assert_eq!(handle.flush_and_stop().await, 0);
}

#[tokio::test]
async fn the_daemon_counts_every_value_recorded_beyond_the_cap() {
    let statsd = Statsd::start().await;
    let (recorder, handle) = StatsdBuilder::new(statsd.addr())
        .histogram_cap(64)
        .interval(NEVER)
        .build()
        .await
        .unwrap();
    let latency = with_local_recorder(&recorder, || histogram!("kit_latency"));
    for value in 1..=1000 {
        latency.record(f64::from(value));
    }
    handle.flush().await;
    assert_eq!(handle.histogram_values_over_cap(), 936);
    assert_eq!(handle.flush_and_stop().await, 0);
    statsd.wait_for_lines(64).await;
    let flush = statsd.stop().await;
    assert_eq!(flush["counters"]["statsd.bad_lines_seen"], 0);
    let latency = &flush["timer_data"]["kit_latency"];
    // The count is every value; the rest of the timer's statistics are the kept 64's.
    assert_eq!(
        [
            &latency["count"],
            &latency["lower"],
            &latency["upper"],
            &latency["sum"]
        ],
        [&json!(1000), &json!(1), &json!(64), &json!(2080)]
    );
}

/// Hostile load: threads record far more values than the cap while flushes run; what is held
/// stays bounded, and the daemon still counts every value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_values_holds_at_most_the_cap_and_the_daemon_counts_them_all() {
    const THREADS: u64 = 4;
    const VALUES: u64 = 250_000;
    const CAP: usize = 64;
    let statsd = Statsd::start().await;
    let (recorder, handle) = StatsdBuilder::new(statsd.addr())
        .histogram_cap(CAP)
        .interval(NEVER)
        .build()
        .await
        .unwrap();
    let latency = with_local_recorder(&recorder, || histogram!("kit_latency"));
    let writers: Vec<_> = (0..THREADS)
        .map(|_| {
            let latency = latency.clone();
            std::thread::spawn(move || {
                for value in 0..VALUES {
                    latency.record(value as f64);
                }
            })
        })
        .collect();
    let mut flushes = 0;
    let mut held_max = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        // A flush reads one interval out while the next fills: two caps at most.
        held_max = held_max.max(recorder.held_histogram_values());
        handle.flush().await;
        flushes += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for writer in writers {
        writer.join().unwrap();
    }
    assert!(held_max <= 2 * CAP, "{held_max} values held");
    // No flush running: one interval, at most the cap.
    let held = recorder.held_histogram_values();
    assert!(held <= CAP, "{held} values held");
    handle.flush().await;
    assert_eq!(recorder.held_histogram_values(), 0);
    let over_cap = handle.histogram_values_over_cap();
    assert!(over_cap >= THREADS * VALUES - (flushes + 1) * CAP as u64);
    // A marker after the flood: the daemon reads datagrams in order.
    with_local_recorder(&recorder, || counter!("kit_marker").increment(1));
    assert_eq!(handle.flush_and_stop().await, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !statsd.management("counters").await.contains("kit_marker") {
        assert!(Instant::now() < deadline, "no marker in 30s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let flush = statsd.stop().await;
    assert_eq!(flush["counters"]["statsd.bad_lines_seen"], 0);
    assert_eq!(
        flush["timer_data"]["kit_latency"]["count"],
        THREADS * VALUES,
        "{flushes} flushes"
    );
}
