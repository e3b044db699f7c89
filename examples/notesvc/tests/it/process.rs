//! notesvc as a process: its flags, its listeners, its stop.

use kit_testkit::Signal;

use crate::support::{START, notesvc, start};

#[tokio::test]
async fn it_stops_on_sigterm_with_status_0() {
    let mut svc = start().await;
    svc.process.signal(Signal::Term);
    let status = svc.process.wait_timeout_async(START).await.expect("exited");
    assert!(status.success(), "{status:?}\n{}", svc.process.output());
    assert!(svc.process.output().contains("msg=stopped"));
}

#[test]
fn help_explains_the_flags_and_their_defaults() {
    let output = std::process::Command::new(notesvc())
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--http-addr <ADDR>",
        "[default: 127.0.0.1:8081]",
        "--grpc-addr <ADDR>",
        "[default: 127.0.0.1:8082]",
        "--max-notes <N>",
        "[default: 10000]",
    ] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let svc = start().await;
    let taken = svc.http.to_string();
    let output = std::process::Command::new(notesvc())
        .args(["--http-addr", &taken, "--grpc-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let log =
        String::from_utf8(output.stdout).unwrap() + &String::from_utf8(output.stderr).unwrap();
    assert!(
        log.contains(&format!(
            "binding the http listener on {taken}: Address already in use"
        )),
        "{log}"
    );
}
