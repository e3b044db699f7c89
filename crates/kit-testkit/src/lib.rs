//! Test support for kit: real servers on free loopback ports, started and
//! stopped by the test.
//!
//! kit's integration tests run the real thing: the `addsvc` binaries, and
//! service-discovery or messaging servers such as etcd, ZooKeeper, NATS or
//! RabbitMQ. This crate holds the few helpers those tests share, so that every
//! test follows the same rules:
//!
//! * **A missing server binary fails the test.** [`require_binary`] panics
//!   with a hint on how to install it; nothing is skipped silently.
//! * **Processes are stopped by PID, never by name.** A [`Process`] only ever
//!   signals the child it started, and only while that child has not been
//!   reaped, so the PID cannot have been reused. Dropping a [`Process`] kills
//!   and reaps it; no zombies and no strays are left behind.
//! * **Everything is bounded in time.** Every wait takes a timeout and panics
//!   with the process's captured output when it expires; every [`http`] call
//!   has one too ([`http::DEFAULT_TIMEOUT`] unless given), and its panic says
//!   which request was waiting and what had come so far.
//! * **Async tests wait asynchronously.** The waits of [`Process`] and
//!   [`wait_for_port`] block their thread. In a `#[tokio::test]` (one thread
//!   unless asked otherwise) that stalls every other task of the test, a server
//!   or a client among them, so use their `_async` twins there:
//!   [`Process::wait_for_line_async`], [`Process::wait_for_port_async`],
//!   [`Process::wait_timeout_async`], [`wait_for_port_async`]. A blocking wait
//!   called where a runtime is current says so on standard error.
//! * **Requests are raw when they must be.** [`http`] speaks HTTP/1.1 byte by byte, for
//!   tests of what off-the-shelf clients never send; it reads answers as
//!   HTTP frames them (chunked bodies decoded), one at a time on a keep-alive
//!   [`http::Connection`].
//! * **OpenAPI documents are checked by the tools other languages use**:
//!   [`openapi`] validates a service's document and fuzzes its routes from it.
//! * **Metrics are read back from the real collector**: [`prometheus`] starts Debian's
//!   Prometheus scraping the service and queries what it stored.
//! * **Registries run as themselves**: [`etcd`] starts Debian's etcd (stopped and
//!   restarted with or without its data, with auth, with TLS and client certificates from a
//!   CA made for the test), [`zookeeper`] Debian's ZooKeeper with
//!   a generated configuration, [`dns`] unbound with records changed live. Consul and
//!   Eureka cannot be installed here: [`consul`] and [`eureka`] serve their documented HTTP
//!   APIs in-process, for the tests of `kit-sd-consul` and `kit-sd-eureka`. They are
//!   stand-ins, not the real servers; each module says where it is simpler than the real
//!   thing.
//! * **Metrics servers too**: [`statsd`] runs the npm StatsD daemon and returns what it
//!   aggregated, [`influxdb`] Debian's InfluxDB 1.x with InfluxQL read-back, [`graphite`]
//!   Debian's carbon-cache with its whisper files read back.
//! * **Traces are received by stand-ins**: no Zipkin server or OpenTelemetry Collector can
//!   be installed here, so [`zipkin`] serves Zipkin's span collector (HTTP API v2, JSON) and
//!   [`otlp`] OTLP's trace service (gRPC and HTTP/protobuf) in-process, both recording what
//!   they receive in the one model of [`trace`].
//! * **Instancers are waited on the same way**: [`sd`] waits, bounded, for an instancer's
//!   events, sets and errors, records them, and flaps an instance beside stable ones.
//! * **Backoff is counted, not timed**: [`attempts`] fails a client's attempts at once where
//!   its server should be and counts them against an upper bound from the backoff.
//! * **Partitions are real too**: a [`proxy::Proxy`] between a client and its server can be
//!   cut and healed, so that a server expires a client's session for real.
//! * **Servers listen on loopback only**, on ports from [`free_port`] /
//!   [`free_addr`], with their state in a [`temp_dir`].
//! * **A machine of its own when the test needs one**: [`netns`] runs a test again in
//!   network and mount namespaces it creates (as root), with loopback up and files such as
//!   `/etc/resolv.conf` replaced privately, for code that reads the system's configuration
//!   or needs a fixed port.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use kit_testkit::{Process, Signal, free_addr, require_binary, temp_dir};
//!
//! let sh = require_binary("sh", "apt-get install -y dash");
//! let data = temp_dir("kit-example-");
//! let addr = free_addr();
//!
//! // A stand-in for a real server: prints a logfmt line, then waits.
//! let mut server = Process::builder(&sh)
//!     .name("fake-server")
//!     .current_dir(data.path())
//!     .arg("-c")
//!     .arg(format!("echo msg=listening addr={addr}; exec sleep 30"))
//!     .spawn();
//!
//! let line = server.wait_for_line("msg=listening", Duration::from_secs(5));
//! assert!(line.ends_with(&addr.to_string()));
//!
//! server.signal(Signal::Term);
//! let status = server.wait_timeout(Duration::from_secs(5)).expect("server stopped");
//! assert!(!status.success());
//! // Had it still been running, dropping `server` would have killed it.
//! ```
//!
//! The same in a `#[tokio::test]`, where the server's tasks (or the test's
//! own) must keep running while the test waits:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use kit_testkit::{Process, Signal, require_binary};
//!
//! let sh = require_binary("sh", "apt-get install -y dash");
//! let mut server = Process::builder(&sh)
//!     .args(["-c", "echo msg=listening; exec sleep 30"])
//!     .spawn();
//! server.wait_for_line_async("msg=listening", Duration::from_secs(5)).await;
//! server.signal(Signal::Term);
//! let status = server.wait_timeout_async(Duration::from_secs(5)).await;
//! assert!(status.is_some());
//! # }
//! ```

use std::collections::BTreeSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

pub mod attempts;
pub mod consul;
pub mod dns;
pub mod etcd;
pub mod eureka;
pub mod graphite;
pub mod http;
pub mod influxdb;
pub mod netns;
pub mod openapi;
pub mod otlp;
mod process;
pub mod prometheus;
pub mod proxy;
pub mod sd;
mod stand_in;
pub mod statsd;
pub mod tls;
pub mod trace;
pub mod zipkin;
pub mod zookeeper;

pub use process::{Process, ProcessBuilder, Signal};
pub use tempfile::TempDir;

/// The log events in a process's output: its logfmt lines (those starting with `ts=`, as
/// kit services write them) without the timestamp, so that a test can compare them exactly.
/// Other lines (a test harness's, a panic message) are left out.
///
/// ```
/// let stderr = "running 1 test\nts=2026-01-02T03:04:05Z level=info msg=stopped\n";
/// assert_eq!(kit_testkit::log_events(stderr), ["level=info msg=stopped"]);
/// ```
pub fn log_events(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("ts="))
        .map(|rest| rest.split_once(' ').map_or("", |(_, fields)| fields))
        .collect()
}

/// The JSON log events in a process's output: its JSON lines (those starting with
/// `{"ts":"`, as kit services write them with `--log-format json`) without the `ts` member,
/// so that a test can compare them exactly. Other lines are left out.
///
/// ```
/// let stderr = "running 1 test\n{\"ts\":\"2026-01-02T03:04:05Z\",\"level\":\"info\",\"msg\":\"stopped\"}\n";
/// assert_eq!(kit_testkit::json_log_events(stderr), [r#"{"level":"info","msg":"stopped"}"#]);
/// ```
pub fn json_log_events(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("{\"ts\":\""))
        .map(|rest| match rest.split_once("\",") {
            Some((_, members)) => format!("{{{members}"),
            None => "{}".to_owned(),
        })
        .collect()
}

/// Directories searched by [`require_binary`] after `PATH`: servers are often
/// installed as system daemons there, and `PATH` of a non-root user or of a
/// CI runner may leave them out.
const EXTRA_BIN_DIRS: [&str; 2] = ["/usr/sbin", "/sbin"];

/// Ports already returned by [`free_port`] in this process.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Returns a TCP port on 127.0.0.1 that is free right now.
///
/// The port is found by binding `127.0.0.1:0` and releasing the socket, and is
/// never returned twice in the same test process, so tests running in
/// parallel get distinct ports. Another process can still take the port before
/// the server binds it; that window is short and accepted.
///
/// # Panics
///
/// If no loopback socket can be bound.
pub fn free_port() -> u16 {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    for _ in 0..128 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|err| panic!("cannot bind a TCP socket on 127.0.0.1: {err}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("cannot read the address of a bound socket: {err}"))
            .port();
        if handed_out.insert(port) {
            return port;
        }
    }
    panic!("no free TCP port on 127.0.0.1 that was not already handed out");
}

/// Returns `127.0.0.1:<port>` with a port from [`free_port`].
pub fn free_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()))
}

/// Waits until a TCP connection to `addr` succeeds, polling until `timeout`.
///
/// Prefer [`Process::wait_for_port`] when the server is a [`Process`]: it
/// also stops waiting when the process exits and shows its output.
///
/// This blocks the calling thread: on a thread that runs an async runtime (the
/// body of a `#[tokio::test]`, for one) the runtime's other tasks stall until
/// it returns, a server among them. Use [`wait_for_port_async`] there.
///
/// # Panics
///
/// When no connection succeeded within `timeout`; the message has the last
/// connection error.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) {
    warn_if_on_runtime(
        "kit_testkit::wait_for_port",
        "kit_testkit::wait_for_port_async",
    );
    if let Err(PortWaitError::TimedOut(err)) = poll_port(addr, timeout, || true) {
        port_timed_out(addr, timeout, &err);
    }
}

/// [`wait_for_port`] for async code: connects and waits without blocking the
/// thread, so the runtime's other tasks keep running.
///
/// # Panics
///
/// As [`wait_for_port`] does.
pub async fn wait_for_port_async(addr: SocketAddr, timeout: Duration) {
    if let Err(PortWaitError::TimedOut(err)) = poll_port_async(addr, timeout, || true).await {
        port_timed_out(addr, timeout, &err);
    }
}

fn port_timed_out(addr: SocketAddr, timeout: Duration, err: &io::Error) -> ! {
    panic!(
        "timed out after {timeout:?} waiting for {addr} to accept TCP connections (last error: {err})"
    );
}

/// Why [`poll_port`] or [`poll_port_async`] gave up.
#[derive(Debug)]
enum PortWaitError {
    /// The deadline passed; holds the last connection error.
    TimedOut(io::Error),
    /// `keep_going` returned false.
    Stopped,
}

/// Connects to `addr` until it succeeds, `timeout` passes, or `keep_going`
/// (asked between attempts) returns false.
fn poll_port(
    addr: SocketAddr,
    timeout: Duration,
    mut keep_going: impl FnMut() -> bool,
) -> Result<(), PortWaitError> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempt = remaining.clamp(Duration::from_millis(1), Duration::from_millis(250));
        let err = match TcpStream::connect_timeout(&addr, attempt) {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        if !keep_going() {
            return Err(PortWaitError::Stopped);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(PortWaitError::TimedOut(err));
        }
        thread::sleep(pause.min(remaining));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// [`poll_port`] without blocking the thread.
async fn poll_port_async(
    addr: SocketAddr,
    timeout: Duration,
    mut keep_going: impl FnMut() -> bool,
) -> Result<(), PortWaitError> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempt = remaining.clamp(Duration::from_millis(1), Duration::from_millis(250));
        let err = match tokio::time::timeout(attempt, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(err)) => err,
            Err(_) => io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection within {attempt:?}"),
            ),
        };
        if !keep_going() {
            return Err(PortWaitError::Stopped);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(PortWaitError::TimedOut(err));
        }
        tokio::time::sleep(pause.min(remaining)).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Warns, on standard error (which the test harness shows when the test fails),
/// that the blocking wait `blocking` runs where a tokio runtime is current.
///
/// It does not panic: inside `spawn_blocking` a runtime is current too, and
/// there a blocking wait is right. And blocking the body of a `#[tokio::test]`
/// is harmless while nothing else runs on the runtime.
fn warn_if_on_runtime(blocking: &str, instead: &str) {
    if tokio::runtime::Handle::try_current().is_ok() {
        eprintln!(
            "kit-testkit: {blocking} blocks its thread, where a tokio runtime is current: \
             unless this is a spawn_blocking thread, the runtime's tasks on it stall until \
             the wait is over; use {instead}"
        );
    }
}

/// Finds the executable `name` and returns its path, or fails the test.
///
/// A bare name is looked up in each directory of `PATH`, then in `/usr/sbin`
/// and `/sbin`. A name containing `/` is taken as a path (made absolute
/// against the current directory) and must be an executable file.
///
/// # Panics
///
/// When there is no such executable, with a message that names the binary and
/// says how to install it, `install_hint` being the command to run:
///
/// ```should_panic
/// kit_testkit::require_binary("etcd-not-here", "apt-get install -y etcd-server");
/// // panics: `etcd-not-here` is not installed (not found on PATH or in
/// // /usr/sbin, /sbin): install it with `apt-get install -y etcd-server`
/// ```
pub fn require_binary(name: &str, install_hint: &str) -> PathBuf {
    if name.contains('/') {
        let path = std::path::absolute(name).unwrap_or_else(|_| PathBuf::from(name));
        if is_executable(&path) {
            return path;
        }
        panic!(
            "`{name}` is not installed (no executable file at that path): install it with `{install_hint}`"
        );
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path_var)
        .chain(EXTRA_BIN_DIRS.iter().map(PathBuf::from))
        .filter(|dir| !name.is_empty() && dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate));
    match found {
        Some(path) => path,
        None => panic!(
            "`{name}` is not installed (not found on PATH or in {}): install it with `{install_hint}`",
            EXTRA_BIN_DIRS.join(", ")
        ),
    }
}

/// Whether `path` is a regular file (after following links) with an execute
/// bit set.
fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Creates a fresh directory under the system temp dir, named `prefix`
/// followed by random characters; it is deleted when the [`TempDir`] drops.
///
/// # Panics
///
/// If the directory cannot be created.
pub fn temp_dir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .unwrap_or_else(|err| panic!("cannot create a temp dir with prefix {prefix:?}: {err}"))
}
