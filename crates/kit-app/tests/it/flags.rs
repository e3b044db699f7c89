//! The flags a service declares with kit-app's types and groups, parsed as its `main` does.

use std::ffi::OsString;
use std::time::Duration;

use clap::Parser;
use kit_app::{ListenAddr, ShutdownFlags, go_style_args};

/// A service's arguments: two listeners and the shutdown group.
#[derive(Debug, Parser)]
#[command(name = "svc")]
struct Args {
    /// Debug listener.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    debug_addr: ListenAddr,
    /// HTTP listener.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    http_addr: ListenAddr,
    #[command(flatten)]
    shutdown: ShutdownFlags,
}

fn parse(args: &[&str]) -> Result<Args, String> {
    let args = std::iter::once("svc").chain(args.iter().copied());
    Args::try_parse_from(go_style_args(args.map(OsString::from))).map_err(|e| e.to_string())
}

#[test]
fn defaults() {
    let args = parse(&[]).unwrap();
    assert_eq!(
        args.debug_addr,
        ListenAddr::On("127.0.0.1:8080".parse().unwrap())
    );
    assert_eq!(
        args.http_addr,
        ListenAddr::On("127.0.0.1:8081".parse().unwrap())
    );
    assert_eq!(args.shutdown.drain_delay, Duration::ZERO);
    assert_eq!(args.shutdown.shutdown_grace, Duration::from_secs(10));
    assert_eq!(args.shutdown, ShutdownFlags::default());
}

#[test]
fn go_style_and_double_dash_flags() {
    let args = parse(&[
        "-http-addr",
        ":0",
        "-debug-addr=off",
        "--drain-delay",
        "1m30s",
        "-shutdown-grace=1.5s",
    ])
    .unwrap();
    assert_eq!(args.http_addr, ListenAddr::On("0.0.0.0:0".parse().unwrap()));
    assert_eq!(args.debug_addr, ListenAddr::Off);
    assert_eq!(args.shutdown.drain_delay, Duration::from_secs(90));
    assert_eq!(args.shutdown.shutdown_grace, Duration::from_millis(1500));
}

#[test]
fn bad_values_are_usage_errors_that_say_why() {
    for (args, first_line) in [
        (
            ["--http-addr", "nowhere"],
            "error: invalid value 'nowhere' for '--http-addr <ADDR>': invalid listen address \
             \"nowhere\": no port (want HOST:PORT, :PORT or off)",
        ),
        (
            ["-shutdown-grace", "soon"],
            "error: invalid value 'soon' for '--shutdown-grace <DURATION>': invalid duration \
             \"soon\": no number before \"soon\" (want e.g. 10s, 1m30s, 250ms)",
        ),
        (
            ["--drain-delay=-1s", "-debug-addr=off"],
            "error: invalid value '-1s' for '--drain-delay <DURATION>': invalid duration \
             \"-1s\": must not be negative (want e.g. 10s, 1m30s, 250ms)",
        ),
    ] {
        let err = parse(&args).unwrap_err();
        assert_eq!(err.lines().next(), Some(first_line), "{args:?}");
    }
}

#[test]
fn help_explains_the_shutdown_flags() {
    let help = parse(&["--help"]).unwrap_err();
    for line in [
        "--drain-delay <DURATION>",
        "After SIGINT/SIGTERM, how long to keep serving while reporting not ready",
        "[default: 0s]",
        "--shutdown-grace <DURATION>",
        "How long in-flight requests may take to finish once the listeners close",
        "[default: 10s]",
    ] {
        assert!(help.contains(line), "{line:?} in {help}");
    }
}
