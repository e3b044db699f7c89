//! `netns`: the test run again in namespaces of its own, and the outer run's verdict.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};

use kit_testkit::netns::{ENV, Namespace};

use crate::panic_message;

/// What the private `/etc/hosts` reads inside.
const HOSTS: &str = "127.0.0.9 db.test\n";

#[test]
fn inside_a_file_is_replaced_loopback_is_up_and_no_other_interface_is_there() {
    const TEST: &str =
        "netns::inside_a_file_is_replaced_loopback_is_up_and_no_other_interface_is_there";
    let hosts_before = std::fs::read_to_string("/etc/hosts").expect("/etc/hosts");
    Namespace::new(TEST)
        .file("/etc/hosts", HOSTS)
        .run(|| async {
            assert_eq!(std::env::var(ENV).as_deref(), Ok(TEST));
            assert_eq!(std::fs::read_to_string("/etc/hosts").unwrap(), HOSTS);
            // The namespace's own interfaces (/proc/net follows the reader's namespace).
            let dev = std::fs::read_to_string("/proc/self/net/dev").unwrap();
            let interfaces: Vec<&str> = dev
                .lines()
                .skip(2)
                .filter_map(|line| line.split(':').next())
                .map(str::trim)
                .collect();
            assert_eq!(interfaces, ["lo"]);
            // Loopback is up: a connection to 127.0.0.1 goes through.
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            client.write_all(b"up").unwrap();
            let mut read = [0; 2];
            listener.accept().unwrap().0.read_exact(&mut read).unwrap();
            assert_eq!(&read, b"up");
        });
    // Outside, the machine's file is as it was (inside, it is the private one throughout).
    assert_eq!(
        std::fs::read_to_string("/etc/hosts").expect("/etc/hosts"),
        hosts_before
    );
}

#[test]
fn a_body_that_fails_inside_fails_the_outer_run_with_its_output() {
    const TEST: &str = "netns::a_body_that_fails_inside_fails_the_outer_run_with_its_output";
    let run = || {
        Namespace::new(TEST).run(|| async { panic!("the body failed") });
    };
    if std::env::var_os(ENV).is_some() {
        // The inner run: fails as its body does.
        run();
        return;
    }
    let message = panic_message(run);
    let head = format!(
        "{TEST} failed in its namespaces (exit status: 101; the line \"kit-testkit netns: \
         passed {TEST}\" is missing); its output:\nkit-testkit netns: entered\n"
    );
    assert!(message.starts_with(&head), "{message}");
    assert!(message.contains("the body failed"), "{message}");
}

#[test]
fn an_inner_run_that_runs_no_test_fails_the_outer_run() {
    // No test has this name: the inner run passes, having run nothing.
    let message = panic_message(|| Namespace::new("netns::no_such_test").run(|| async {}));
    assert!(
        message.starts_with(
            "netns::no_such_test failed in its namespaces (exit status: 0; the line \
             \"kit-testkit netns: passed netns::no_such_test\" is missing); its output:\n\
             kit-testkit netns: entered\n"
        ),
        "{message}"
    );
}

#[test]
fn processes_started_inside_end_with_the_inner_run() {
    const TEST: &str = "netns::processes_started_inside_end_with_the_inner_run";
    const SLEEPER: &str = "sleeper host pid ";
    let run = || {
        Namespace::new(TEST).run(|| async {
            // A child that would outlive the test: not killed, not waited for.
            #[allow(clippy::zombie_processes)]
            let child = std::process::Command::new("sleep")
                .arg("600")
                .spawn()
                .unwrap();
            // Its PID as the machine sees it: /proc is the machine's, and each process's
            // `NSpid` line lists its PID in every namespace, the innermost last.
            let host_pid = std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .find(|pid| {
                    let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
                    status.is_ok_and(|status| {
                        status.lines().any(|line| {
                            line.starts_with("NSpid:")
                                && line.split_whitespace().count() == 3
                                && line.split_whitespace().last() == Some(&child.id().to_string())
                        })
                    })
                })
                .expect("the sleeper in /proc");
            panic!("{SLEEPER}{host_pid}");
        });
    };
    if std::env::var_os(ENV).is_some() {
        run();
        return;
    }
    let message = panic_message(run);
    let host_pid = message
        .lines()
        .find_map(|line| line.split(SLEEPER).nth(1))
        .unwrap_or_else(|| panic!("no sleeper pid in: {message}"))
        .trim_end_matches(|c: char| !c.is_ascii_digit());
    assert!(host_pid.parse::<u32>().is_ok(), "{message}");
    // The inner run has ended, and the kernel ended its namespace's processes with it.
    assert!(
        !std::path::Path::new(&format!("/proc/{host_pid}")).exists(),
        "process {host_pid} outlived the inner run"
    );
}
