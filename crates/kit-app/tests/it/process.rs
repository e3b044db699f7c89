//! `App::run` and `run_client` as a process runs them: logging set up, exit statuses.
//! Each scenario runs in a child process (this test binary again, with `KIT_APP_SCENARIO`
//! set), since they install the process's logging and exit.

use std::net::SocketAddr;
use std::process::{Command, ExitCode, Output};

use kit_app::{App, ListenAddr, ShutdownFlags};

use crate::support::hello_router;

const SCENARIO_ENV: &str = "KIT_APP_SCENARIO";

/// Entry point of the child processes; does nothing in a normal test run.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(SCENARIO_ENV) else {
        return;
    };
    let free = || ListenAddr::On("127.0.0.1:0".parse().unwrap());
    let code = match scenario.as_str() {
        // Stops as soon as it has started.
        "serve" => App::new("demo", ShutdownFlags::default())
            .debug(free())
            .http("http", free(), hello_router())
            .stop_on(async {})
            .run(),
        "all-off" => App::new("demo", ShutdownFlags::default())
            .http("http", ListenAddr::Off, hello_router())
            .run(),
        "client-error" => kit_app::run_client(async { Err("can't sum two zeroes") }),
        other => panic!("unknown scenario {other}"),
    };
    std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 });
}

/// Runs `scenario` in a child process.
fn run(scenario: &str) -> Output {
    let exe = std::env::current_exe().expect("the test executable");
    Command::new(exe)
        .args([
            "--exact",
            "process::child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SCENARIO_ENV, scenario)
        .env_remove("RUST_LOG")
        .output()
        .expect("running the test executable")
}

/// The child's standard error.
fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn run_logs_each_listener_and_exits_0_once_stopped() {
    let output = run("serve");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stderr = stderr(&output);
    let lines = kit_testkit::log_events(&stderr);
    assert!(lines.len() > 2, "{lines:?}");
    for (line, transport) in lines.iter().zip(["debug", "http"]) {
        let prefix = format!("level=info msg=listening transport={transport} addr=");
        let addr = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{lines:?}"));
        let addr: SocketAddr = addr.parse().unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    }
    assert_eq!(lines.last().copied(), Some("level=info msg=stopped"));
}

#[test]
fn run_logs_a_failure_and_exits_1() {
    let output = run("all-off");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        kit_testkit::log_events(&stderr(&output)),
        [r#"level=error msg="demo failed" error="every listener is off: nothing to serve""#]
    );
}

#[test]
fn a_client_error_is_printed_and_exits_1() {
    let output = run("client-error");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .lines()
            .any(|line| line == "error: can't sum two zeroes"),
        "{stderr}"
    );
}
