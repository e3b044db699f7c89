//! Starting addsvc and running addcli.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use kit_testkit::Process;

/// How long start-up may take.
pub(crate) const START: Duration = Duration::from_secs(20);

/// A running addsvc and the addresses it logged.
pub(crate) struct Addsvc {
    pub(crate) process: Process,
    pub(crate) http: SocketAddr,
    pub(crate) grpc: SocketAddr,
    pub(crate) jsonrpc: SocketAddr,
}

/// Every listener on a free loopback port.
pub(crate) const ALL_ON_FREE_PORTS: [&str; 8] = [
    "--debug-addr",
    "127.0.0.1:0",
    "--http-addr",
    "127.0.0.1:0",
    "--grpc-addr",
    "127.0.0.1:0",
    "--jsonrpc-addr",
    "127.0.0.1:0",
];

/// Starts addsvc with every listener on a free port.
pub(crate) fn start() -> Addsvc {
    start_with(&[])
}

/// Starts addsvc with every listener on a free port, plus `extra` flags.
pub(crate) fn start_with(extra: &[&str]) -> Addsvc {
    let process = spawn(extra);
    let http = listening(&process, "http");
    let grpc = listening(&process, "grpc");
    let jsonrpc = listening(&process, "jsonrpc");
    Addsvc {
        process,
        http,
        grpc,
        jsonrpc,
    }
}

/// [`start`] for async tests: waits without blocking the test's runtime.
pub(crate) async fn start_async() -> Addsvc {
    start_with_async(&[]).await
}

/// [`start_with`] for async tests: waits without blocking the test's runtime.
pub(crate) async fn start_with_async(extra: &[&str]) -> Addsvc {
    let process = spawn(extra);
    let http = listening_async(&process, "http").await;
    let grpc = listening_async(&process, "grpc").await;
    let jsonrpc = listening_async(&process, "jsonrpc").await;
    Addsvc {
        process,
        http,
        grpc,
        jsonrpc,
    }
}

/// addsvc with every listener on a free port and `extra` flags; without its rate limits
/// and circuit breakers (`--no-limits`, as CONTRACTS.md asks of every test but the limits'
/// own) unless `extra` holds `--limits` (which is taken out).
fn spawn(extra: &[&str]) -> Process {
    let limited = extra.contains(&"--limits");
    let extra = extra.iter().filter(|arg| **arg != "--limits");
    Process::builder(env!("CARGO_BIN_EXE_addsvc"))
        .name("addsvc")
        .args(ALL_ON_FREE_PORTS)
        .args((!limited).then_some("--no-limits"))
        .args(extra)
        .spawn()
}

/// The needle of a listener's start-up line (`msg=listening transport=T addr=A`).
fn listening_needle(transport: &str) -> String {
    format!("msg=listening transport={transport} addr=")
}

/// The address a listener logged at start-up.
pub(crate) fn listening(process: &Process, transport: &str) -> SocketAddr {
    let needle = listening_needle(transport);
    address_in(&process.wait_for_line(&needle, START), &needle)
}

/// [`listening`] for async tests.
pub(crate) async fn listening_async(process: &Process, transport: &str) -> SocketAddr {
    let needle = listening_needle(transport);
    address_in(&process.wait_for_line_async(&needle, START).await, &needle)
}

/// The address after `needle` in a start-up line.
fn address_in(line: &str, needle: &str) -> SocketAddr {
    let addr = line
        .split(&needle)
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    addr.parse()
        .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"))
}

/// What addcli did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs addcli with `args` to completion.
pub(crate) fn addcli(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_addcli"))
        .args(args)
        .output()
        .expect("running addcli");
    Run {
        code: output.status.code().expect("addcli exited normally"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Asserts that the gRPC health service answers `expected` for the server (`""`) and for
/// `pb.Add`.
pub(crate) async fn assert_health(
    health: &mut tonic_health::pb::health_client::HealthClient<tonic::transport::Channel>,
    expected: tonic_health::pb::health_check_response::ServingStatus,
) {
    for service in ["", "pb.Add"] {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, expected as i32, "{service:?}");
    }
}
