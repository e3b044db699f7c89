//! `init` / `try_init` install a process-wide subscriber, so each scenario
//! runs in a child process: this test binary re-executes itself with
//! `KIT_TRACING_SCENARIO` set and the parent checks the child's stderr.

use std::process::{Command, Output};

const SCENARIO_ENV: &str = "KIT_TRACING_SCENARIO";

/// Re-runs this binary's `child` test with `scenario`, `RUST_LOG` set to
/// `rust_log` (or removed when `None`).
fn run_scenario(scenario: &str, rust_log: Option<&str>) -> Output {
    let exe = std::env::current_exe().expect("current test executable");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", "child", "--test-threads=1"])
        .env(SCENARIO_ENV, scenario);
    match rust_log {
        Some(value) => cmd.env("RUST_LOG", value),
        None => cmd.env_remove("RUST_LOG"),
    };
    let output = cmd.output().expect("re-run the test binary");
    assert!(
        output.status.success(),
        "scenario {scenario} failed: {output:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The log events the child wrote to stderr, without the timestamp.
fn log_lines(output: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    kit_testkit::log_events(&stderr)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Entry point of the child processes; does nothing in a normal test run.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(SCENARIO_ENV) else {
        return;
    };
    match scenario.as_str() {
        "default" => {
            kit_tracing::init("debug");
            tracing::trace!("hidden");
            tracing::debug!(transport = "http", "listening");
            let err = kit_tracing::try_init("info").expect_err("second init must fail");
            assert!(err.to_string().contains("already set"), "{err}");
        }
        "env" => {
            kit_tracing::try_init("trace").expect("try_init");
            tracing::info!("hidden");
            tracing::warn!(retries = 3, "slow backend");
        }
        "bad-env" => {
            let err = kit_tracing::try_init("info").expect_err("invalid RUST_LOG");
            assert!(err.to_string().contains("RUST_LOG"), "{err}");
            // Nothing was installed, so a later valid call can still succeed.
            assert!(!tracing::dispatcher::has_been_set());
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn init_uses_default_directive_without_rust_log() {
    let output = run_scenario("default", None);
    assert_eq!(
        log_lines(&output),
        ["level=debug msg=listening transport=http"]
    );
}

#[test]
fn init_prefers_rust_log() {
    let output = run_scenario("env", Some("warn"));
    assert_eq!(
        log_lines(&output),
        [r#"level=warn msg="slow backend" retries=3"#]
    );
}

#[test]
fn try_init_rejects_invalid_rust_log() {
    let output = run_scenario("bad-env", Some("kit=notalevel"));
    assert!(log_lines(&output).is_empty());
}
