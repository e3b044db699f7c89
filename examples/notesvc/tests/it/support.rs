//! Starting notesvc and running notesvc-cli.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use kit_testkit::Process;

/// How long start-up may take.
pub(crate) const START: Duration = Duration::from_secs(20);

/// A running notesvc and the addresses it logged.
pub(crate) struct Notesvc {
    pub(crate) process: Process,
    pub(crate) http: SocketAddr,
    pub(crate) grpc: SocketAddr,
}

/// The program under test: `default`, unless the environment variable `var` names another.
fn program(var: &str, default: &str) -> OsString {
    std::env::var_os(var).unwrap_or_else(|| default.into())
}

/// The notesvc program under test.
pub(crate) fn notesvc() -> OsString {
    program("NOTESVC_BIN", env!("CARGO_BIN_EXE_notesvc"))
}

/// Starts notesvc with both listeners on free ports.
pub(crate) async fn start() -> Notesvc {
    start_with(&[]).await
}

/// Starts notesvc with both listeners on free ports, plus `extra` flags.
pub(crate) async fn start_with(extra: &[&str]) -> Notesvc {
    let process = Process::builder(notesvc())
        .name("notesvc")
        .args(["--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"])
        .args(extra)
        .spawn();
    let http = listening(&process, "http").await;
    let grpc = listening(&process, "grpc").await;
    Notesvc {
        process,
        http,
        grpc,
    }
}

/// The address a listener logged at start-up (`msg=listening transport=T addr=A`).
async fn listening(process: &Process, transport: &str) -> SocketAddr {
    let needle = format!("msg=listening transport={transport} addr=");
    let line = process.wait_for_line_async(&needle, START).await;
    let addr = line
        .split(&needle)
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next();
    addr.unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"))
}

/// What a run of notesvc-cli did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs notesvc-cli with `args` to completion.
pub(crate) fn cli(args: &[&str]) -> Run {
    let program = program("NOTESVC_CLI_BIN", env!("CARGO_BIN_EXE_notesvc-cli"));
    let output = Command::new(program)
        .args(args)
        .output()
        .expect("running notesvc-cli");
    Run {
        code: output.status.code().expect("notesvc-cli exited normally"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}
