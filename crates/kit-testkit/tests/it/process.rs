use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kit_testkit::{Process, Signal, free_addr, require_binary, temp_dir};

use crate::panic_message;

const SHORT: Duration = Duration::from_secs(5);

fn sh(script: &str) -> Process {
    Process::builder(require_binary("sh", "apt-get install -y dash"))
        .args(["-c", script])
        .spawn()
}

fn sleep_30() -> Process {
    Process::builder(require_binary("sleep", "apt-get install -y coreutils"))
        .arg("30")
        .spawn()
}

/// Whether a process with this PID exists (a zombie counts).
fn pid_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn wait_for_line_returns_the_line() {
    let process = sh("echo starting; echo 'ready on port 5'; exec sleep 30");
    let line = process.wait_for_line("ready", SHORT);
    assert_eq!(line, "ready on port 5");
    assert!(process.pid() > 0);
    // Earlier lines are kept, in order.
    assert_eq!(process.output(), "starting\nready on port 5\n");
    // Lines seen before the call count too.
    assert_eq!(process.wait_for_line("starting", SHORT), "starting");
}

#[test]
fn stderr_is_captured() {
    let process = sh("echo 'level=info msg=listening' >&2; exec sleep 30");
    let line = process.wait_for_line("msg=listening", SHORT);
    assert_eq!(line, "level=info msg=listening");
}

#[test]
fn wait_for_line_matching_uses_the_predicate() {
    let process = sh("echo port=abc; echo port=8080; exec sleep 30");
    let line = process.wait_for_line_matching(
        |line| {
            line.strip_prefix("port=")
                .is_some_and(|port| port.parse::<u16>().is_ok())
        },
        SHORT,
    );
    assert_eq!(line, "port=8080");
}

#[test]
fn line_printed_just_before_exit_is_found() {
    let process = sh("echo done");
    assert_eq!(process.wait_for_line("done", SHORT), "done");
}

#[test]
fn wait_for_line_timeout_panics_with_output() {
    let process = Process::builder("sh")
        .name("quiet-server")
        .args(["-c", "echo hello; echo 'on stderr' >&2; exec sleep 30"])
        .spawn();
    process.wait_for_line("on stderr", SHORT);
    let start = Instant::now();
    let message = panic_message(|| {
        process.wait_for_line("never printed", Duration::from_millis(300));
    });
    let elapsed = start.elapsed();
    assert!(message.contains("timed out"), "{message}");
    assert!(message.contains("quiet-server"), "{message}");
    assert!(
        message.contains(&format!("pid {}", process.pid())),
        "{message}"
    );
    assert!(message.contains("\"never printed\""), "{message}");
    assert!(message.contains("hello\n"), "{message}");
    assert!(message.contains("on stderr\n"), "{message}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn early_exit_panics_at_once_with_status_and_output() {
    let process = Process::builder("sh")
        .name("crashy")
        .args(["-c", "echo bye; echo 'fatal: no config' >&2; exit 3"])
        .spawn();
    let start = Instant::now();
    let message = panic_message(|| {
        process.wait_for_line("listening", Duration::from_secs(30));
    });
    assert!(start.elapsed() < SHORT, "{:?}", start.elapsed());
    assert!(message.contains("`crashy`"), "{message}");
    assert!(message.contains("exit status: 3"), "{message}");
    assert!(message.contains("bye\n"), "{message}");
    assert!(message.contains("fatal: no config\n"), "{message}");
}

#[test]
fn output_is_complete_after_exit() {
    let mut process = sh("echo a; echo b >&2; echo c; printf 'no newline'");
    let status = process.wait_timeout(SHORT).expect("sh exits");
    assert!(status.success());
    let output = process.output();
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 4, "{output:?}");
    assert!(lines.contains(&"b"), "{output:?}");
    let stdout: Vec<&str> = lines.iter().copied().filter(|l| *l != "b").collect();
    assert_eq!(stdout, ["a", "c", "no newline"]);
}

#[test]
fn env_and_current_dir_are_applied() {
    let dir = temp_dir("kit-testkit-cwd-");
    let process = Process::builder("sh")
        .args(["-c", "echo \"$KIT_GREETING from $(pwd)\"; exec sleep 30"])
        .env("KIT_GREETING", "hi there")
        .current_dir(dir.path())
        .spawn();
    let line = process.wait_for_line("hi there", SHORT);
    let cwd = line.strip_prefix("hi there from ").unwrap();
    assert_eq!(
        PathBuf::from(cwd).canonicalize().unwrap(),
        dir.path().canonicalize().unwrap()
    );
}

#[test]
fn signal_term_stops_sleep() {
    let mut process = sleep_30();
    assert_eq!(process.wait_timeout(Duration::from_millis(50)), None);
    process.signal(Signal::Term);
    let status = process.wait_timeout(SHORT).expect("sleep exits on SIGTERM");
    assert_eq!(status.signal(), Some(15), "{status}");
    // Signalling a reaped process is a no-op: its PID may be someone else's.
    process.signal(Signal::Term);
}

#[test]
fn signal_int_and_kill() {
    for (signal, number) in [(Signal::Int, 2), (Signal::Kill, 9)] {
        let mut process = sleep_30();
        process.signal(signal);
        let status = process.wait_timeout(SHORT).expect("sleep exits");
        assert_eq!(status.signal(), Some(number), "{signal:?}: {status}");
    }
}

#[test]
fn drop_kills_and_reaps() {
    let process = sleep_30();
    let pid = process.pid();
    assert!(pid_exists(pid));
    drop(process);
    // Gone entirely: not running and not a zombie.
    assert!(!pid_exists(pid), "pid {pid} still exists after drop");
}

#[test]
fn drop_after_exit_is_fine() {
    let mut process = sh("exit 0");
    let pid = process.pid();
    assert!(process.wait_timeout(SHORT).unwrap().success());
    drop(process);
    assert!(!pid_exists(pid));
}

#[test]
fn process_wait_for_port() {
    let listener = TcpListener::bind(free_addr()).unwrap();
    let addr = listener.local_addr().unwrap();
    let process = sleep_30();
    process.wait_for_port(addr, SHORT);
}

#[test]
fn process_wait_for_port_stops_when_the_process_exits() {
    let addr = free_addr();
    let process = Process::builder("sh")
        .name("no-listen")
        .args(["-c", "echo 'bind failed' >&2; exit 1"])
        .spawn();
    let start = Instant::now();
    let message = panic_message(|| process.wait_for_port(addr, Duration::from_secs(30)));
    assert!(start.elapsed() < SHORT, "{:?}", start.elapsed());
    assert!(message.contains("`no-listen`"), "{message}");
    assert!(message.contains("exit status: 1"), "{message}");
    assert!(message.contains(&addr.to_string()), "{message}");
    assert!(message.contains("bind failed"), "{message}");
}

#[test]
fn spawn_failure_panics_with_the_name() {
    let message = panic_message(|| {
        Process::builder("/nonexistent/kit-server")
            .arg("--flag")
            .spawn();
    });
    assert!(
        message.contains("failed to start `kit-server` (/nonexistent/kit-server --flag)"),
        "{message}"
    );
    assert!(message.contains("require_binary"), "{message}");
}
