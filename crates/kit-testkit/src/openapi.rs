//! OpenAPI checks of a running service, with two tools from PyPI: its document validated by
//! `openapi-spec-validator` ([`validate`]), its routes fuzzed from the document by
//! `schemathesis` ([`fuzz`]).
//!
//! Both are pinned in `scripts/python-tools.txt`; `./scripts/test` installs them into a venv
//! of their own and puts it on `PATH`. A test whose tool is missing fails and says so.
//!
//! ```no_run
//! # async fn run(addr: std::net::SocketAddr) {
//! let answer = kit_testkit::http::request(addr, "GET", "/openapi.json", "").await;
//! kit_testkit::openapi::validate(&answer.body).await;
//! let report = kit_testkit::openapi::fuzz(&format!("http://{addr}/openapi.json")).await;
//! assert!(report.contains("Tested: 2\n"), "{report}");
//! # }
//! ```

use std::time::Duration;

use crate::{Process, require_binary, temp_dir};

const INSTALL_HINT: &str = "pip install -r scripts/python-tools.txt (./scripts/test installs it \
     into a venv under ~/.cache/kit and puts that on PATH)";

/// How long `openapi-spec-validator` may take.
const VALIDATE_TIME: Duration = Duration::from_secs(60);

/// How long `schemathesis` may take: far more than [`FUZZ_EXAMPLES`] need.
const FUZZ_TIME: Duration = Duration::from_secs(300);

/// The most cases [`fuzz`] generates per operation and phase.
pub const FUZZ_EXAMPLES: u32 = 100;

/// Checks `document`, the text of an OpenAPI document (2.0, 3.0, 3.1 or 3.2, as it says),
/// with `openapi-spec-validator`.
///
/// # Panics
///
/// If the document is not valid, with the validator's report; if the validator is not
/// installed or does not finish within a minute.
pub async fn validate(document: &str) {
    let validator = require_binary("openapi-spec-validator", INSTALL_HINT);
    let dir = temp_dir("kit-openapi-");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, document)
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", file.display()));
    let report = run(Process::builder(validator).arg(&file), VALIDATE_TIME).await;
    assert_eq!(
        report,
        format!("{}: OK\n", file.display()),
        "openapi-spec-validator found the document invalid"
    );
}

/// Fuzzes the service whose OpenAPI document is at `document_url` with `schemathesis run`,
/// calling its routes at the document's origin, and returns schemathesis's report.
///
/// Every phase runs (examples, coverage, fuzzing, stateful where the document has links),
/// with valid and invalid requests, at most [`FUZZ_EXAMPLES`] cases per operation and
/// phase, from a fixed seed: a run repeats the one before unless the service changed. Every
/// check applies (no `5xx`; statuses, content types, headers and bodies as documented;
/// invalid requests refused; `405` for methods a path does not have...) but
/// `positive_data_acceptance`: a kit service refuses some requests that fit the schema
/// with a business error (`400`), which a schema cannot express (addsvc's "can't sum two
/// zeroes").
///
/// # Panics
///
/// If schemathesis finds a problem or fails, with its report; if it is not installed or
/// does not finish within five minutes.
pub async fn fuzz(document_url: &str) -> String {
    let schemathesis = require_binary("schemathesis", INSTALL_HINT);
    // Its reports and caches land in the working directory: a fresh one, dropped after.
    let dir = temp_dir("kit-schemathesis-");
    let examples = FUZZ_EXAMPLES.to_string();
    let command = Process::builder(schemathesis)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["run", document_url, "--checks", "all"])
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--max-examples", &examples, "--seed", "1"])
        .args(["--generation-database", "none", "--request-timeout", "10"]);
    run(command, FUZZ_TIME).await
}

/// Runs a tool to completion within `limit` and returns its output, or panics with it
/// unless it succeeded.
async fn run(command: crate::ProcessBuilder, limit: Duration) -> String {
    let mut process = command.spawn();
    let status = process.wait_timeout_async(limit).await;
    let output = process.output();
    match status {
        Some(status) if status.success() => output,
        Some(status) => panic!("{status}:\n{output}"),
        None => panic!("still running after {limit:?}:\n{output}"),
    }
}
