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
}

/// Starts addsvc with HTTP and debug listeners on free ports plus `extra` flags.
pub(crate) fn start(extra: &[&str]) -> Addsvc {
    let process = Process::builder(env!("CARGO_BIN_EXE_addsvc"))
        .name("addsvc")
        .args(["--http-addr", "127.0.0.1:0", "--debug-addr", "127.0.0.1:0"])
        .args(extra)
        .spawn();
    let http = listening(&process, "http");
    Addsvc { process, http }
}

/// The address a listener logged at start-up (`msg=listening transport=T addr=A`).
pub(crate) fn listening(process: &Process, transport: &str) -> SocketAddr {
    let needle = format!("msg=listening transport={transport} addr=");
    let line = process.wait_for_line(&needle, START);
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
