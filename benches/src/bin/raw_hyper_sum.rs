//! `raw-hyper-sum`: the baseline addsvc's HTTP `/sum` is measured against.
//!
//! A plain hyper 1 server that does the same work as addsvc's `POST /sum` with nothing of
//! kit in between: read the whole body, decode `{"a": i64, "b": i64}` with `serde_json`,
//! apply Go kit's addsvc rules and write the JSON answer. It runs on the same runtime kind
//! as addsvc (`kit::runtime::build`: current-thread on one CPU, multi-thread otherwise) and
//! sets TCP_NODELAY as kit-http does, so that `benches/http-sum.sh` measures what kit adds, not a different runtime or
//! socket set-up. It speaks HTTP/1.1 only, which is all `wrk` uses.
//!
//! Usage: `raw-hyper-sum [--addr 127.0.0.1:8080]` (port 0 picks a free port). Once bound it
//! prints `msg=listening transport=http addr=<bound address>` on stderr.

use std::net::SocketAddr;
use std::process::ExitCode;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

fn main() -> ExitCode {
    let addr = match parse_args() {
        Ok(addr) => addr,
        Err(msg) => {
            eprintln!("{msg}\nusage: raw-hyper-sum [--addr HOST:PORT]");
            return ExitCode::from(2);
        }
    };
    let rt = match kit::runtime::build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("msg=\"building the runtime failed\" error=\"{err}\"");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("msg=\"server failed\" addr={addr} error=\"{err}\"");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Result<SocketAddr, String> {
    let mut addr = "127.0.0.1:8080".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs a value")?,
            other => match other.strip_prefix("--addr=") {
                Some(value) => addr = value.to_owned(),
                None => return Err(format!("unknown argument {other:?}")),
            },
        }
    }
    addr.parse()
        .map_err(|err| format!("bad --addr {addr:?}: {err}"))
}

async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    eprintln!(
        "msg=listening transport=http addr={}",
        listener.local_addr()?
    );
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("msg=\"accept failed\" error=\"{err}\"");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            // Connection errors (a client hanging up mid-request) are the client's business.
            let _ = http1::Builder::new()
                .serve_connection(
                    TokioIo::new(stream),
                    service_fn(kit_benches::raw_http::handle::<Incoming>),
                )
                .await;
        });
    }
}
