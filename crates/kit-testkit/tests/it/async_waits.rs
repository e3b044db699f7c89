//! The async waits, on a current-thread runtime (what `#[tokio::test]` gives): while
//! they wait, the runtime's other tasks run, and here each waited-for event needs one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kit_testkit::{Process, free_addr, require_binary, wait_for_port_async};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{async_panic_message, panic_message};

/// A timeout the tests that expect none never come near.
const AMPLE: Duration = Duration::from_secs(5);

/// A child that connects to `addr`, reads a word from it, prints `got <word>` and
/// exits with status 7: it cannot print or exit before the test's server answers.
fn child_awaiting_a_word(addr: SocketAddr) -> Process {
    let bash = require_binary("bash", "apt-get install -y bash");
    let script = format!(
        "exec 3<>/dev/tcp/{}/{}; read -r word <&3; echo \"got $word\"; exit 7",
        addr.ip(),
        addr.port()
    );
    Process::builder(bash)
        .name("awaiting-a-word")
        .args(["-c", &script])
        .spawn()
}

/// A task of the current runtime that accepts one connection and writes `go` on it.
fn say_go(listener: TcpListener) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"go\n").await.unwrap();
    })
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[tokio::test]
async fn wait_for_line_async_lets_the_runtime_run_the_task_the_line_needs() {
    let (listener, addr) = listener().await;
    let process = child_awaiting_a_word(addr);
    let server = say_go(listener);
    let line = process.wait_for_line_async("got", AMPLE).await;
    assert_eq!(line, "got go");
    server.await.unwrap();
}

#[tokio::test]
async fn wait_for_line_matching_async_lets_the_runtime_run_the_task_the_line_needs() {
    let (listener, addr) = listener().await;
    let process = child_awaiting_a_word(addr);
    let server = say_go(listener);
    let line = process
        .wait_for_line_matching_async(|line| line.ends_with(" go"), AMPLE)
        .await;
    assert_eq!(line, "got go");
    server.await.unwrap();
}

#[tokio::test]
async fn wait_timeout_async_lets_the_runtime_run_the_task_the_exit_needs() {
    let (listener, addr) = listener().await;
    let mut process = child_awaiting_a_word(addr);
    let server = say_go(listener);
    let status = process
        .wait_timeout_async(AMPLE)
        .await
        .expect("the child exits once answered");
    assert_eq!(status.code(), Some(7), "{}", process.output());
    assert_eq!(process.output(), "got go\n");
    server.await.unwrap();
}

#[tokio::test]
async fn wait_timeout_async_returns_none_while_running() {
    let (_listener, addr) = listener().await;
    let mut process = child_awaiting_a_word(addr);
    let start = Instant::now();
    assert_eq!(
        process.wait_timeout_async(Duration::from_millis(100)).await,
        None
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn a_blocking_wait_stalls_the_runtime_of_its_thread() {
    // Why the async waits exist: the same wait, blocking, keeps the task from running.
    let (listener, addr) = listener().await;
    let process = child_awaiting_a_word(addr);
    let server = say_go(listener);
    let message = panic_message(|| {
        process.wait_for_line("got", Duration::from_millis(300));
    });
    assert!(message.starts_with("timed out after 300ms"), "{message}");
    assert!(!server.is_finished());
    // Once the runtime gets the thread back, the task answers.
    assert_eq!(process.wait_for_line_async("got", AMPLE).await, "got go");
}

#[tokio::test]
async fn wait_for_port_async_lets_the_runtime_run_the_task_that_listens() {
    let addr = free_addr();
    // Binds only once the runtime runs it: never, were the wait blocking.
    let server = tokio::spawn(async move {
        let listener = TcpListener::bind(addr).await.unwrap();
        let (_conn, peer) = listener.accept().await.unwrap();
        peer
    });
    wait_for_port_async(addr, AMPLE).await;
    // The probe connection reached the task's listener.
    assert!(server.await.unwrap().ip().is_loopback());
}

#[tokio::test]
async fn process_wait_for_port_async_lets_the_runtime_run_the_task_that_listens() {
    let process = Process::builder(require_binary("sleep", "apt-get install -y coreutils"))
        .arg("30")
        .spawn();
    let addr = free_addr();
    let server = tokio::spawn(async move {
        let listener = TcpListener::bind(addr).await.unwrap();
        listener.accept().await.unwrap();
    });
    process.wait_for_port_async(addr, AMPLE).await;
    server.await.unwrap();
}

#[tokio::test]
async fn wait_for_line_async_times_out_with_output() {
    let process = Process::builder("sh")
        .name("quiet-server")
        .args(["-c", "echo hello; exec sleep 30"])
        .spawn();
    process.wait_for_line_async("hello", AMPLE).await;
    let pid = process.pid();
    let start = Instant::now();
    let message = async_panic_message(async move {
        process
            .wait_for_line_async("never printed", Duration::from_millis(300))
            .await;
    })
    .await;
    let elapsed = start.elapsed();
    assert!(
        message.starts_with(&format!(
            "timed out after 300ms waiting for `quiet-server` (pid {pid}) to print a line \
             containing \"never printed\""
        )),
        "{message}"
    );
    assert!(message.contains("hello\n"), "{message}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < AMPLE, "{elapsed:?}");
}

#[tokio::test]
async fn wait_for_line_async_reports_an_early_exit_at_once() {
    let process = Process::builder("sh")
        .name("crashy")
        .args(["-c", "echo 'fatal: no config' >&2; exit 3"])
        .spawn();
    let start = Instant::now();
    let message = async_panic_message(async move {
        process
            .wait_for_line_async("listening", Duration::from_secs(30))
            .await;
    })
    .await;
    assert!(start.elapsed() < AMPLE, "{:?}", start.elapsed());
    assert!(message.contains("`crashy`"), "{message}");
    assert!(message.contains("exit status: 3"), "{message}");
    assert!(message.contains("fatal: no config\n"), "{message}");
}

#[tokio::test]
async fn wait_for_port_async_times_out() {
    let addr = free_addr();
    let start = Instant::now();
    let message = async_panic_message(wait_for_port_async(addr, Duration::from_millis(300))).await;
    let elapsed = start.elapsed();
    assert!(
        message.starts_with(&format!(
            "timed out after 300ms waiting for {addr} to accept TCP connections"
        )),
        "{message}"
    );
    assert!(message.contains("refused"), "{message}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < AMPLE, "{elapsed:?}");
}

#[tokio::test]
async fn process_wait_for_port_async_stops_when_the_process_exits() {
    let addr = free_addr();
    let process = Process::builder("sh")
        .name("no-listen")
        .args(["-c", "echo 'bind failed' >&2; exit 1"])
        .spawn();
    let pid = process.pid();
    let start = Instant::now();
    let message = async_panic_message(async move {
        process
            .wait_for_port_async(addr, Duration::from_secs(30))
            .await;
    })
    .await;
    assert!(start.elapsed() < AMPLE, "{:?}", start.elapsed());
    assert!(
        message.starts_with(&format!(
            "`no-listen` (pid {pid}) exited (exit status: 1) before accepting TCP connections \
             on {addr}"
        )),
        "{message}"
    );
    assert!(message.contains("bind failed"), "{message}");
}
