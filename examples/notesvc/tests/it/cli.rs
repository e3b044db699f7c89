//! notesvc-cli against a running notesvc, over each transport.

use kit::Context;
use notesvc::{Notes, notes};

use crate::support::{Run, cli, start};

fn ok(stdout: &str) -> Run {
    Run {
        code: 0,
        stdout: stdout.to_owned(),
        stderr: String::new(),
    }
}

fn failed(message: &str) -> Run {
    Run {
        code: 1,
        stdout: String::new(),
        stderr: format!("error: {message}\n"),
    }
}

#[tokio::test]
async fn every_command_over_each_transport() {
    let svc = start().await;
    let http = svc.http.to_string();
    let grpc = format!("http://{}", svc.grpc);
    for (flag, addr, first) in [("--http-addr", &http, 1), ("--grpc-addr", &grpc, 3)] {
        let (id, next) = (first.to_string(), (first + 1).to_string());
        let run = |args: &[&str]| cli(&[&[flag, addr.as_str()], args].concat());
        assert_eq!(
            run(&["create", "milk", "2 litres"]),
            ok(&format!(
                "{{\"id\":{id},\"title\":\"milk\",\"body\":\"2 litres\"}}\n"
            )),
            "{flag}"
        );
        assert_eq!(
            run(&["create", "eggs"]),
            ok(&format!(
                "{{\"id\":{next},\"title\":\"eggs\",\"body\":\"\"}}\n"
            )),
            "{flag}"
        );
        assert_eq!(
            run(&["get", &id]),
            ok(&format!(
                "{{\"id\":{id},\"title\":\"milk\",\"body\":\"2 litres\"}}\n"
            )),
            "{flag}"
        );
        assert_eq!(run(&["delete", &id]), ok(""), "{flag}");
        assert_eq!(
            run(&["get", &id]),
            failed(&format!("note {id} not found")),
            "{flag}"
        );
        assert_eq!(
            run(&["delete", &id]),
            failed(&format!("note {id} not found")),
            "{flag}"
        );
        assert_eq!(run(&["create", ""]), failed("title is empty"), "{flag}");
        assert_eq!(
            run(&["list"]),
            ok(&format!(
                "{{\"id\":{next},\"title\":\"eggs\",\"body\":\"\"}}\n"
            )),
            "{flag}"
        );
        run(&["delete", &next]);
    }
}

#[tokio::test]
async fn list_prints_every_note_across_pages() {
    let svc = start().await;
    let client = notes::http::client(&svc.http.to_string()).unwrap();
    let ctx = Context::background();
    for i in 1..=205 {
        client
            .create_note(&ctx, format!("note {i}"), String::new())
            .await
            .unwrap();
    }
    for (flag, addr) in [("--http-addr", svc.http), ("--grpc-addr", svc.grpc)] {
        let run = cli(&[flag, &addr.to_string(), "list"]);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{flag}");
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), 205, "{flag}");
        assert_eq!(
            lines[204], r#"{"id":205,"title":"note 205","body":""}"#,
            "{flag}"
        );
    }
}

#[test]
fn usage_errors_exit_2_and_unreachable_servers_exit_1() {
    let no_address = cli(&["list"]);
    assert_eq!(no_address.code, 2);
    assert!(
        no_address
            .stderr
            .contains("<--http-addr <ADDR>|--grpc-addr <ADDR>>"),
        "{}",
        no_address.stderr
    );
    let both = cli(&[
        "--http-addr",
        "127.0.0.1:1",
        "--grpc-addr",
        "127.0.0.1:2",
        "list",
    ]);
    assert_eq!(both.code, 2);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
    let bad_id = cli(&["--http-addr", "127.0.0.1:1", "get", "abc"]);
    assert_eq!(bad_id.code, 2);
    assert!(
        bad_id.stderr.contains("invalid value 'abc'"),
        "{}",
        bad_id.stderr
    );

    let port = kit_testkit::free_port();
    for flag in ["--http-addr", "--grpc-addr"] {
        let run = cli(&[flag, &format!("127.0.0.1:{port}"), "get", "1"]);
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{flag}");
        assert!(run.stderr.starts_with("error: "), "{flag}: {}", run.stderr);
    }
    // The message says what was called and why it failed.
    let run = cli(&["--http-addr", &format!("127.0.0.1:{port}"), "get", "1"]);
    assert!(
        run.stderr.contains(&format!("127.0.0.1:{port}/notes/1"))
            && run.stderr.contains("Connection refused"),
        "{}",
        run.stderr
    );
}
