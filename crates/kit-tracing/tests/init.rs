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
        "traced" => traced(),
        other => panic!("unknown scenario {other}"),
    }
}

/// `try_init_traced`: kit's server span is exported with its fields but hidden from the log
/// lines, the service's own span is in both, and `set_level` still filters.
fn traced() {
    use kit_testkit::otlp::OtlpReceiver;
    use kit_tracing::otel::{OtlpProtocol, Tracing};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let collector = OtlpReceiver::start().await;
        let tracing = Tracing::builder("svc")
            .otlp(collector.grpc_endpoint(), OtlpProtocol::Grpc)
            .start()
            .unwrap();
        kit_tracing::try_init_traced(kit_tracing::Format::Logfmt, "info", &tracing).unwrap();
        let server = tracing::info_span!(
            target: "kit::server",
            "GET /x",
            otel.kind = "server",
            http.request.method = "GET",
        );
        server.in_scope(|| {
            let _lookup = tracing::info_span!("lookup", user = 7).entered();
            tracing::info!("inside");
        });
        drop(server);
        kit_tracing::set_level("warn").unwrap();
        tracing::info!("hidden");
        tracing.handle().flush().await;
        let spans = collector
            .received()
            .wait_for_spans(2, std::time::Duration::from_secs(10))
            .await;
        let names: Vec<_> = spans.iter().map(|span| span.name.as_str()).collect();
        assert_eq!(names, ["lookup", "GET /x"]);
        assert_eq!(spans[1].attributes["http.request.method"], "GET".into());
    });
}

#[test]
fn try_init_traced_exports_kit_spans_without_logging_their_fields() {
    let output = run_scenario("traced", None);
    assert_eq!(log_lines(&output), ["level=info msg=inside user=7"]);
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
