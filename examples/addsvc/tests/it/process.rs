//! The addsvc process: flags, start-up lines, graceful shutdown.

use std::time::Duration;

use kit_testkit::{Process, Signal};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{START, listening, start, start_async};

#[tokio::test]
async fn a_request_in_flight_finishes_after_sigterm() {
    let mut svc = start_async().await;
    // Headers and half of a chunked body: the request is in flight.
    let mut stream = TcpStream::connect(svc.http).await.unwrap();
    let head = "POST /sum HTTP/1.1\r\nHost: addsvc\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"7\r\n{\"a\":1,\r\n").await.unwrap();
    stream.flush().await.unwrap();
    // Give addsvc a moment to read the head: a connection with nothing read yet counts as
    // idle and is closed at once on shutdown. The process gives no sign it has read it, so
    // this waits; 200 ms is ample for a few bytes on loopback, even on a loaded machine.
    tokio::time::sleep(Duration::from_millis(200)).await;

    svc.process.signal(Signal::Term);
    svc.process
        .wait_for_line_async("msg=\"shutting down: draining in-flight requests\"", START)
        .await;

    stream
        .write_all(b"6\r\n\"b\":2}\r\n0\r\n\r\n")
        .await
        .unwrap();
    let answer = kit_testkit::http::read_answer(&mut stream).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));

    let status = svc
        .process
        .wait_timeout_async(START)
        .await
        .expect("addsvc exited after draining");
    assert!(status.success(), "{status:?}\n{}", svc.process.output());
    assert!(svc.process.output().contains("msg=stopped"));
}

#[test]
fn sigint_stops_an_idle_server_with_status_0() {
    let mut svc = start();
    svc.process.signal(Signal::Int);
    let status = svc.process.wait_timeout(START).expect("addsvc exited");
    assert!(status.success(), "{status:?}\n{}", svc.process.output());
}

#[test]
fn go_style_flags_all_interfaces_and_off() {
    let mut svc = Process::builder(env!("CARGO_BIN_EXE_addsvc"))
        .name("addsvc")
        .args([
            "-http-addr",
            ":0",
            "-debug-addr",
            "off",
            "-grpc-addr",
            "off",
            "-jsonrpc-addr",
            "off",
            "-shutdown-grace=1s",
        ])
        .spawn();
    let http = listening(&svc, "http");
    assert!(http.ip().is_unspecified(), "{http}");
    assert_ne!(http.port(), 0);
    svc.signal(Signal::Term);
    assert!(svc.wait_timeout(START).expect("exited").success());
    assert!(
        !svc.output().contains("transport=debug"),
        "{}",
        svc.output()
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    for (args, message) in [
        (
            vec!["--http-addr", "nowhere"],
            "invalid listen address \"nowhere\": no port",
        ),
        (
            vec![
                "--http-addr",
                "off",
                "--debug-addr",
                "off",
                "--grpc-addr",
                "off",
                "--jsonrpc-addr",
                "off",
            ],
            "every listener is off: nothing to serve",
        ),
        (
            vec!["--shutdown-grace", "soon"],
            "invalid duration \"soon\"",
        ),
    ] {
        let mut svc = Process::builder(env!("CARGO_BIN_EXE_addsvc"))
            .name("addsvc")
            .args(&args)
            .spawn();
        let status = svc
            .wait_timeout(Duration::from_secs(20))
            .expect("addsvc exited");
        assert!(!status.success(), "{args:?}");
        assert!(svc.output().contains(message), "{args:?}: {}", svc.output());
    }
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let svc = start();
    let taken = svc.http.to_string();
    let mut second = Process::builder(env!("CARGO_BIN_EXE_addsvc"))
        .name("addsvc-2")
        .args([
            "--http-addr",
            &taken,
            "--debug-addr",
            "off",
            "--grpc-addr",
            "off",
            "--jsonrpc-addr",
            "off",
        ])
        .spawn();
    let status = second
        .wait_timeout(Duration::from_secs(20))
        .expect("exited");
    assert_eq!(status.code(), Some(1));
    assert!(
        second.output().contains(&format!(
            "binding the http listener on {taken}: Address already in use"
        )),
        "{}",
        second.output()
    );
}

#[tokio::test]
async fn shutdown_turns_readiness_off_then_drains_after_the_drain_delay() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let mut svc = crate::support::start_with_async(&["--drain-delay", "3s"]).await;
    let debug = crate::support::listening_async(&svc.process, "debug").await;
    let ready = kit_testkit::http::request(debug, "GET", "/ready", "").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (200, r#"{"status":"ready"}"#)
    );

    svc.process.signal(Signal::Term);
    svc.process
        .wait_for_line_async("msg=\"not ready: draining after the drain delay\"", START)
        .await;
    // Not ready any more, but still serving on every listener.
    let ready = kit_testkit::http::request(debug, "GET", "/ready", "").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (503, r#"{"error":"shutting down","code":"UNAVAILABLE"}"#)
    );
    let sum = kit_testkit::http::request(svc.http, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!((sum.status, sum.body.as_str()), (200, r#"{"v":3}"#));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", svc.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    // The health service turns as the stop begins: watch it get there, then check both.
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "pb.Add".into(),
        })
        .await
        .unwrap()
        .into_inner();
    loop {
        let update = watch.message().await.unwrap().expect("a status");
        if update.status == ServingStatus::NotServing as i32 {
            break;
        }
    }
    crate::support::assert_health(&mut health, ServingStatus::NotServing).await;
    drop(watch);
    drop(health);
    // Then the listeners close and drain, and the process exits cleanly.
    let status = svc
        .process
        .wait_timeout_async(START)
        .await
        .expect("addsvc exited");
    assert!(status.success(), "{status:?}\n{}", svc.process.output());
    let output = svc.process.output();
    let not_ready = output.find("not ready: draining").unwrap();
    let draining = output
        .find("shutting down: draining in-flight requests")
        .unwrap();
    assert!(not_ready < draining, "{output}");
}
