//! Structured logging through real servers on loopback: the exact lines an app writes in
//! each format while serving HTTP, JSON-RPC and gRPC calls (request-scoped fields on every
//! line, the logging middleware's outcome), request ids echoed and sanitised, and the log
//! level changed at run time through the debug listener's `/log/level`.
//!
//! Each format runs in a child process (this test binary again, with `KIT_APP_LOGGING`
//! set), since it installs the process's subscriber; the child serves, calls itself over
//! loopback, stops, and the parent compares its standard error line by line.

use std::process::Command;

use kit::middleware::LoggingLayer;
use kit::{Context, Error, request_id};
use kit_app::{App, GrpcServices, ListenAddr, ShutdownFlags};
use kit_testkit::http::{Answer, exchange};
use kit_tracing::Format;

use crate::support::stop_button;

const SCENARIO_ENV: &str = "KIT_APP_LOGGING";

/// Adds numbers, logging as it does.
#[kit::service(http, jsonrpc, grpc, package = "logtest.v1", name = "Adder")]
trait Adder {
    /// The sum; two zeroes are a business error.
    #[kit(http = "POST /sum")]
    async fn sum(&self, ctx: &Context, a: i64, b: i64) -> Result<i64, Error>;
}

struct Add;

impl Adder for Add {
    async fn sum(&self, _ctx: &Context, a: i64, b: i64) -> Result<i64, Error> {
        tracing::info!(a, b, "adding");
        tracing::debug!("hidden until the level changes");
        if a == 0 && b == 0 {
            return Err(Error::invalid_argument("can't sum two zeroes"));
        }
        Ok(a + b)
    }
}

/// Entry point of the child processes; does nothing in a normal test run.
#[test]
fn child() {
    let Ok(format) = std::env::var(SCENARIO_ENV) else {
        return;
    };
    let format: Format = format.parse().unwrap();
    kit_tracing::init_with(format, "info");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(serve_and_call());
}

/// POST `body` to `path` with the extra header lines `headers` (`\r\n`-separated).
async fn post(addr: std::net::SocketAddr, path: &str, headers: &str, body: &str) -> Answer {
    let mut head = format!("POST {path} HTTP/1.1\r\nContent-Length: {}", body.len());
    if !headers.is_empty() {
        head = format!("{head}\r\n{headers}");
    }
    exchange(addr, &head, body.as_bytes()).await
}

async fn serve_and_call() {
    let set = adder::Set::new(Add)
        .layer(|method| LoggingLayer::new(method).success_level(tracing::Level::INFO));
    let free = || ListenAddr::On("127.0.0.1:0".parse().unwrap());
    let (stop, stopped) = stop_button();
    let running = App::new("logtest", ShutdownFlags::default())
        .debug(free())
        .http("http", free(), adder::http::router(&set))
        .http("jsonrpc", free(), adder::jsonrpc::server(&set))
        .grpc(
            "grpc",
            free(),
            GrpcServices::new().add_service(adder::grpc::server(&set)),
        )
        .stop_on(stopped)
        .start()
        .await
        .unwrap();
    let http = running.local_addr("http").unwrap();
    let jsonrpc = running.local_addr("jsonrpc").unwrap();
    let grpc = running.local_addr("grpc").unwrap();
    let debug = running.local_addr("debug").unwrap();

    // HTTP: the caller's request id is used and echoed.
    let sum = post(http, "/sum", "X-Request-Id: req-http", r#"{"a":1,"b":2}"#).await;
    assert_eq!((sum.status, sum.body.as_str()), (200, r#"{"v":3}"#));
    assert_eq!(sum.header("x-request-id"), Some("req-http"));
    // An unacceptable id is replaced by a new one, which is echoed. (Control characters
    // never get this far: hyper answers 400 to a header holding one; spaces, non-ASCII and
    // overlong values do reach the server.)
    for hostile in [
        "two words",
        "caf\u{e9}",
        &"x".repeat(request_id::MAX_LEN + 1),
    ] {
        let header = format!("X-Request-Id: {hostile}");
        let answer = post(http, "/sum", &header, r#"{"a":0,"b":0}"#).await;
        assert_eq!(answer.status, 400);
        let echoed = answer.header("x-request-id").unwrap();
        assert_eq!(echoed.len(), 32, "{echoed:?}");
        tracing::info!(replaced = echoed, "hostile id");
    }

    // JSON-RPC: an error answered with HTTP 200, logged as rejected.
    let rpc = r#"{"jsonrpc":"2.0","id":1,"method":"sum","params":{"a":0,"b":0}}"#;
    let answer = post(jsonrpc, "/rpc", "X-Request-Id: req-rpc", rpc).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-request-id"), Some("req-rpc"));

    // gRPC through the generated client: the context's request id travels as metadata.
    let client = adder::grpc::connect_lazy(&grpc.to_string()).unwrap();
    let ctx = Context::background().with_propagated(request_id::KEY, "req-grpc");
    assert_eq!(client.sum(&ctx, 2, 3).await.unwrap(), 5);

    // The level route: refused cross-origin, refused without JSON, refused when the
    // directives do not parse, then accepted.
    let json = "Content-Type: application/json";
    let body = r#"{"level":"debug"}"#;
    let foreign = format!("{json}\r\nOrigin: http://evil.example");
    let refused = post(debug, kit_app::LOG_LEVEL_PATH, &foreign, body).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("cross-origin request refused"),
        "{}",
        refused.body
    );
    let plain = post(
        debug,
        kit_app::LOG_LEVEL_PATH,
        "Content-Type: text/plain",
        body,
    )
    .await;
    assert_eq!(plain.status, 415, "{}", plain.body);
    let bad = post(
        debug,
        kit_app::LOG_LEVEL_PATH,
        json,
        r#"{"level":"kit=loud"}"#,
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body.contains(r#"invalid log filter \"kit=loud\": "#),
        "{}",
        bad.body
    );
    let same_origin = format!("{json}\r\nOrigin: http://{debug}");
    // This test binary's crate is `it`.
    let body = r#"{"level":"warn,it=debug"}"#;
    let changed = post(debug, kit_app::LOG_LEVEL_PATH, &same_origin, body).await;
    assert_eq!(
        (changed.status, changed.body.as_str()),
        (200, r#"{"level":"it=debug,warn"}"#)
    );
    // Now info lines of other targets (the middleware's, `stopped`) are off, and this
    // crate's debug lines are on, still with the request's fields.
    let sum = post(http, "/sum", "X-Request-Id: req-quiet", r#"{"a":1,"b":1}"#).await;
    assert_eq!(sum.status, 200);
    tracing::debug!("debug is on here");

    stop.send(()).unwrap();
    running.wait().await.unwrap();
}

/// The child's log events for `format`, timestamps removed and the varying parts (client
/// ports, durations, generated ids) replaced by placeholders.
fn events(format: Format) -> Vec<String> {
    let exe = std::env::current_exe().expect("the test executable");
    let output = Command::new(exe)
        .args([
            "--exact",
            "logging::child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SCENARIO_ENV, format.to_string())
        .env_remove("RUST_LOG")
        .output()
        .expect("running the test executable");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stderr}");
    let lines = match format {
        Format::Logfmt => kit_testkit::log_events(&stderr)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        Format::Json => kit_testkit::json_log_events(&stderr),
    };
    lines.iter().map(|line| placeholders(line)).collect()
}

/// `line` with every loopback port, duration and 32-hex-digit id replaced.
fn placeholders(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("127.0.0.1:") {
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            out.push_str("127.0.0.1:PORT");
            rest = &after[digits..];
        } else if let Some(after) = rest
            .strip_prefix("took=")
            .or(rest.strip_prefix("\"took\":\""))
        {
            let end = after.find([' ', '"']).unwrap_or(after.len());
            out.push_str(&rest[..rest.len() - after.len()]);
            out.push('T');
            rest = &after[end..];
        } else if rest.len() >= 32
            && rest.as_bytes()[..32]
                .iter()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            out.push_str("ID");
            rest = &rest[32..];
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[test]
fn logfmt_lines_carry_the_request_fields() {
    let http = r#"transport=http route="POST /sum" peer=127.0.0.1:PORT"#;
    let rpc = r#"transport=jsonrpc route="POST /rpc" peer=127.0.0.1:PORT"#;
    let grpc = "transport=grpc route=/logtest.v1.Adder/Sum peer=127.0.0.1:PORT";
    // tracing-logfmt escapes as `str::escape_debug` does, quotes included.
    let rejected = r#"code=INVALID_ARGUMENT error="can\'t sum two zeroes""#;
    assert_eq!(
        events(Format::Logfmt),
        [
            "level=info msg=listening transport=debug addr=127.0.0.1:PORT".to_owned(),
            "level=info msg=listening transport=http addr=127.0.0.1:PORT".to_owned(),
            "level=info msg=listening transport=jsonrpc addr=127.0.0.1:PORT".to_owned(),
            "level=info msg=listening transport=grpc addr=127.0.0.1:PORT".to_owned(),
            format!("level=info msg=adding a=1 b=2 request_id=req-http {http}"),
            format!("level=info msg=call method=Sum took=T request_id=req-http {http}"),
            format!("level=info msg=adding a=0 b=0 request_id=ID {http}"),
            format!(
                "level=info msg=\"call rejected\" method=Sum took=T {rejected} request_id=ID {http}"
            ),
            "level=info msg=\"hostile id\" replaced=ID".to_owned(),
            format!("level=info msg=adding a=0 b=0 request_id=ID {http}"),
            format!(
                "level=info msg=\"call rejected\" method=Sum took=T {rejected} request_id=ID {http}"
            ),
            "level=info msg=\"hostile id\" replaced=ID".to_owned(),
            format!("level=info msg=adding a=0 b=0 request_id=ID {http}"),
            format!(
                "level=info msg=\"call rejected\" method=Sum took=T {rejected} request_id=ID {http}"
            ),
            "level=info msg=\"hostile id\" replaced=ID".to_owned(),
            format!("level=info msg=adding a=0 b=0 request_id=req-rpc {rpc}"),
            format!(
                "level=info msg=\"call rejected\" method=Sum took=T {rejected} request_id=req-rpc {rpc}"
            ),
            format!("level=info msg=adding a=2 b=3 request_id=req-grpc {grpc}"),
            format!("level=info msg=call method=Sum took=T request_id=req-grpc {grpc}"),
            format!("level=info msg=adding a=1 b=1 request_id=req-quiet {http}"),
            format!(
                "level=debug msg=\"hidden until the level changes\" request_id=req-quiet {http}"
            ),
            "level=debug msg=\"debug is on here\"".to_owned(),
        ]
    );
}

#[test]
fn json_lines_carry_the_request_fields_at_the_top_level() {
    let http = r#""transport":"http","route":"POST /sum","peer":"127.0.0.1:PORT""#;
    let rpc = r#""transport":"jsonrpc","route":"POST /rpc","peer":"127.0.0.1:PORT""#;
    let grpc = r#""transport":"grpc","route":"/logtest.v1.Adder/Sum","peer":"127.0.0.1:PORT""#;
    let rejected = r#""code":"INVALID_ARGUMENT","error":"can't sum two zeroes""#;
    let listening = |t: &str| {
        format!(r#"{{"level":"info","msg":"listening","transport":"{t}","addr":"127.0.0.1:PORT"}}"#)
    };
    assert_eq!(
        events(Format::Json),
        [
            listening("debug"),
            listening("http"),
            listening("jsonrpc"),
            listening("grpc"),
            format!(
                r#"{{"level":"info","msg":"adding","a":1,"b":2,"request_id":"req-http",{http}}}"#
            ),
            format!(
                r#"{{"level":"info","msg":"call","method":"Sum","took":"T","request_id":"req-http",{http}}}"#
            ),
            format!(r#"{{"level":"info","msg":"adding","a":0,"b":0,"request_id":"ID",{http}}}"#),
            format!(
                r#"{{"level":"info","msg":"call rejected","method":"Sum","took":"T",{rejected},"request_id":"ID",{http}}}"#
            ),
            r#"{"level":"info","msg":"hostile id","replaced":"ID"}"#.to_owned(),
            format!(r#"{{"level":"info","msg":"adding","a":0,"b":0,"request_id":"ID",{http}}}"#),
            format!(
                r#"{{"level":"info","msg":"call rejected","method":"Sum","took":"T",{rejected},"request_id":"ID",{http}}}"#
            ),
            r#"{"level":"info","msg":"hostile id","replaced":"ID"}"#.to_owned(),
            format!(r#"{{"level":"info","msg":"adding","a":0,"b":0,"request_id":"ID",{http}}}"#),
            format!(
                r#"{{"level":"info","msg":"call rejected","method":"Sum","took":"T",{rejected},"request_id":"ID",{http}}}"#
            ),
            r#"{"level":"info","msg":"hostile id","replaced":"ID"}"#.to_owned(),
            format!(
                r#"{{"level":"info","msg":"adding","a":0,"b":0,"request_id":"req-rpc",{rpc}}}"#
            ),
            format!(
                r#"{{"level":"info","msg":"call rejected","method":"Sum","took":"T",{rejected},"request_id":"req-rpc",{rpc}}}"#
            ),
            format!(
                r#"{{"level":"info","msg":"adding","a":2,"b":3,"request_id":"req-grpc",{grpc}}}"#
            ),
            format!(
                r#"{{"level":"info","msg":"call","method":"Sum","took":"T","request_id":"req-grpc",{grpc}}}"#
            ),
            format!(
                r#"{{"level":"info","msg":"adding","a":1,"b":1,"request_id":"req-quiet",{http}}}"#
            ),
            format!(
                r#"{{"level":"debug","msg":"hidden until the level changes","request_id":"req-quiet",{http}}}"#
            ),
            r#"{"level":"debug","msg":"debug is on here"}"#.to_owned(),
        ]
    );
}
