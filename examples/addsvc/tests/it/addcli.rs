//! addcli against a running addsvc: output, errors and exit codes of CONTRACTS.md.

use crate::support::{addcli, start};

#[test]
fn sum_and_concat_print_go_kits_lines() {
    let svc = start(&[]);
    let addr = svc.http.to_string();

    let run = addcli(&["-http-addr", &addr, "-method", "sum", "1", "2"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "1 + 2 = 3\n", "")
    );

    let run = addcli(&[
        "--http-addr",
        &format!("http://{addr}/"),
        "--method=concat",
        "x",
        "y",
    ]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "\"x\" + \"y\" = \"xy\"\n")
    );

    // Sum is the default method, negative numbers are arguments.
    let run = addcli(&["-http-addr", &addr, "-5", "2"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "-5 + 2 = -3\n"));
}

#[test]
fn errors_print_the_servers_message_and_exit_1() {
    let svc = start(&[]);
    let addr = svc.http.to_string();
    for (args, message) in [
        (vec!["0", "0"], "can't sum two zeroes"),
        (vec!["2147483647", "1"], "integer overflow"),
        (
            vec!["-method", "concat", "01234", "567890"],
            "result exceeds maximum size",
        ),
        (
            vec!["1", "two"],
            "invalid integer \"two\": invalid digit found in string",
        ),
    ] {
        let run = addcli(&[&["-http-addr", addr.as_str()], args.as_slice()].concat());
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (1, "", format!("error: {message}\n").as_str()),
            "{args:?}"
        );
    }
}

#[test]
fn an_unreachable_server_is_an_error() {
    let port = kit_testkit::free_port();
    let run = addcli(&["-http-addr", &format!("127.0.0.1:{port}"), "1", "2"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!("error: POST http://127.0.0.1:{port}/sum: Connection refused (os error 111)\n")
    );
}

#[test]
fn usage_errors_exit_2() {
    let no_address = addcli(&["1", "2"]);
    assert_eq!(no_address.code, 2);
    assert!(
        no_address.stderr.contains("--http-addr <ADDR>"),
        "{}",
        no_address.stderr
    );

    let bad_method = addcli(&["-http-addr", "127.0.0.1:1", "-method", "multiply", "1", "2"]);
    assert_eq!(bad_method.code, 2);
    assert!(
        bad_method.stderr.contains("invalid value 'multiply'"),
        "{}",
        bad_method.stderr
    );

    let one_arg = addcli(&["-http-addr", "127.0.0.1:1", "1"]);
    assert_eq!(one_arg.code, 2);
}
