//! addsvc under a connection flood, with the server defaults: a descriptor limit of 512 and
//! 700 connections that never send a byte.

use std::time::Duration;

use kit_testkit::{Process, Signal};
use tokio::net::TcpStream;

use crate::support::START;

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {status}"))
}

#[tokio::test]
async fn a_flood_of_silent_connections_under_a_low_descriptor_limit_leaves_addsvc_serving() {
    // The descriptor limit is lowered for addsvc alone, by the shell that then runs it.
    let mut svc = Process::builder("bash")
        .name("addsvc")
        .args([
            "-c",
            r#"ulimit -n 512 && exec "$0" "$@""#,
            env!("CARGO_BIN_EXE_addsvc"),
            "--http-addr",
            "127.0.0.1:0",
            "--grpc-addr",
            "off",
            "--jsonrpc-addr",
            "off",
            "--debug-addr",
            "off",
        ])
        .spawn();
    let needle = "msg=listening transport=http addr=";
    let line = svc.wait_for_line_async(needle, START).await;
    let addr: std::net::SocketAddr = line
        .split(needle)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let answer = kit_testkit::http::request(addr, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!(answer.status, 200);
    let rss_before = rss_kib(svc.pid());

    // 700 connections against 512 descriptors. The default budget (three quarters of the
    // limit: 384) is accepted; the kernel queues what its listen backlog holds (128 here)
    // and drops the rest's SYNs, which those clients retry.
    let flood: Vec<_> = (0..700)
        .map(|_| {
            tokio::spawn(async move {
                let stream = TcpStream::connect(addr).await;
                std::future::pending::<()>().await;
                drop(stream);
            })
        })
        .collect();
    svc.wait_for_line_async("connection limit reached", START)
        .await;
    let rss_flooded = rss_kib(svc.pid());

    // A client behind the flood is served once the header read timeout (10 s by default)
    // has closed the silent connections ahead of it (and its SYN retry came round).
    let answer = kit_testkit::http::request_timeout(
        addr,
        "POST",
        "/sum",
        r#"{"a":2,"b":3}"#,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":5}"#));

    let output = svc.output();
    assert!(
        !output.contains("accepting a connection failed"),
        "the budget kept accept from running out of descriptors:\n{output}"
    );
    assert!(
        output.matches("connection limit reached").count() <= 3,
        "warned at most once every few seconds:\n{output}"
    );
    // Well under what 700 connections with full buffers would hold (15 KB each).
    assert!(
        rss_flooded < rss_before + 8 * 1024,
        "{rss_before} KiB before, {rss_flooded} KiB with 384 connections open"
    );

    for attacker in flood {
        attacker.abort();
    }
    svc.signal(Signal::Term);
    let status = svc.wait_timeout_async(START).await.expect("addsvc exited");
    assert!(status.success(), "{status:?}\n{}", svc.output());
}
