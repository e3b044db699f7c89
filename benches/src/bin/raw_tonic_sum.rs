//! `raw-tonic-sum`: the baseline addsvc's gRPC `Sum` is measured against.
//!
//! A plain tonic server implementing addsvc's `pb.Add` service with nothing of kit in
//! between: the generated service trait, Go kit's rules (`kit_benches::go_kit_sum`), business
//! errors in the reply's `err` field as Go kit's addsvc does. It uses addsvc's generated
//! protobuf code, the runtime `kit::runtime::build` picks (as addsvc does) and TCP_NODELAY, so
//! that `benches/http-sum.sh` with `PROTOCOL=grpc` measures what kit adds.
//!
//! Usage: `raw-tonic-sum [--addr 127.0.0.1:8082]` (port 0 picks a free port). Once bound it
//! prints `msg=listening transport=grpc addr=<bound address>` on stderr.

use std::net::SocketAddr;
use std::process::ExitCode;

use pb::add_server::{Add, AddServer};
use pb::{ConcatReply, ConcatRequest, SumReply, SumRequest};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// The service, straight on tonic.
struct RawAdd;

#[tonic::async_trait]
impl Add for RawAdd {
    async fn sum(&self, request: Request<SumRequest>) -> Result<Response<SumReply>, Status> {
        let SumRequest { a, b } = request.into_inner();
        Ok(Response::new(match kit_benches::go_kit_sum(a, b) {
            Ok(v) => SumReply {
                v,
                err: String::new(),
            },
            Err(err) => SumReply {
                v: 0,
                err: err.to_owned(),
            },
        }))
    }

    async fn concat(
        &self,
        request: Request<ConcatRequest>,
    ) -> Result<Response<ConcatReply>, Status> {
        let ConcatRequest { a, b } = request.into_inner();
        Ok(Response::new(if a.len() + b.len() > 10 {
            ConcatReply {
                v: String::new(),
                err: "result exceeds maximum size".to_owned(),
            }
        } else {
            ConcatReply {
                v: a + &b,
                err: String::new(),
            }
        }))
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let addr = match (args.next().as_deref(), args.next()) {
        (None, _) => "127.0.0.1:8082".to_owned(),
        (Some("--addr"), Some(addr)) => addr,
        _ => {
            eprintln!("usage: raw-tonic-sum [--addr HOST:PORT]");
            return ExitCode::from(2);
        }
    };
    let addr: SocketAddr = match addr.parse() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("bad --addr {addr:?}: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match kit::runtime::build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("msg=\"building the runtime failed\" error=\"{err}\"");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("msg=\"server failed\" error=\"{err}\"");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(addr).await?;
    eprintln!(
        "msg=listening transport=grpc addr={}",
        listener.local_addr()?
    );
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(AddServer::new(RawAdd))
        .serve_with_incoming(incoming)
        .await?;
    Ok(())
}

/// tonic's code for addsvc's contract (see `build.rs`).
#[allow(missing_docs, unreachable_pub, clippy::all)]
mod pb {
    tonic::include_proto!("pb");
}
