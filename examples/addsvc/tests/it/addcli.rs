//! addcli against a running addsvc: output, errors and exit codes of CONTRACTS.md.

use crate::support::{addcli, start};

#[test]
fn sum_and_concat_print_go_kits_lines() {
    let svc = start();
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
    let svc = start();
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
        no_address
            .stderr
            .contains("give one address flag, or a registry to find addsvc in"),
        "{}",
        no_address.stderr
    );

    let two = addcli(&[
        "-http-addr",
        "127.0.0.1:1",
        "-grpc-addr",
        "127.0.0.1:2",
        "1",
        "2",
    ]);
    assert_eq!(two.code, 2);
    assert!(two.stderr.contains("cannot be used with"), "{}", two.stderr);

    // An address and a registry, or two registries.
    let both = addcli(&[
        "-http-addr",
        "127.0.0.1:1",
        "-consul-addr",
        "127.0.0.1:2",
        "1",
        "2",
    ]);
    assert_eq!(both.code, 2);
    assert!(
        both.stderr
            .contains("give one address flag or a registry, not both"),
        "{}",
        both.stderr
    );
    let registries = addcli(&[
        "-consul-addr",
        "127.0.0.1:1",
        "-eureka-url",
        "http://127.0.0.1:2",
        "1",
        "2",
    ]);
    assert_eq!(registries.code, 2);
    assert!(
        registries.stderr.contains("cannot be used with"),
        "{}",
        registries.stderr
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

#[test]
fn every_transport_gives_the_same_answers() {
    let svc = start();
    for (flag, addr) in [
        ("-http-addr", svc.http),
        ("-grpc-addr", svc.grpc),
        ("-jsonrpc-addr", svc.jsonrpc),
    ] {
        let addr = addr.to_string();
        let run = addcli(&[flag, &addr, "1", "2"]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "1 + 2 = 3\n"),
            "{flag}"
        );
        let run = addcli(&[flag, &addr, "-method", "concat", "x", "y"]);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "\"x\" + \"y\" = \"xy\"\n"),
            "{flag}"
        );
        for (args, message) in [
            (["-method", "sum", "0", "0"], "can't sum two zeroes"),
            (
                ["-method", "concat", "01234", "567890"],
                "result exceeds maximum size",
            ),
        ] {
            let run = addcli(&[&[flag, addr.as_str()], args.as_slice()].concat());
            assert_eq!(
                (run.code, run.stderr.as_str()),
                (1, format!("error: {message}\n").as_str()),
                "{flag} {args:?}"
            );
        }
    }
    // URL forms: JSON-RPC with an explicit path, gRPC with a scheme.
    let run = addcli(&[
        "-jsonrpc-addr",
        &format!("http://{}/rpc", svc.jsonrpc),
        "2",
        "2",
    ]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "2 + 2 = 4\n"));
    let run = addcli(&["--grpc-addr", &format!("http://{}", svc.grpc), "2", "3"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "2 + 3 = 5\n"));
}

#[test]
fn unreachable_grpc_and_jsonrpc_servers_are_errors() {
    let port = kit_testkit::free_port();
    let addr = format!("127.0.0.1:{port}");
    for flag in ["-grpc-addr", "-jsonrpc-addr"] {
        let run = addcli(&[flag, &addr, "1", "2"]);
        assert_eq!(run.code, 1, "{flag}");
        assert!(run.stderr.starts_with("error: "), "{flag}: {}", run.stderr);
    }
}
