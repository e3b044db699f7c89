//! addcli: calls addsvc from the command line, like Go kit's addcli.
//!
//! `addcli (-http-addr A | -grpc-addr A | -jsonrpc-addr A) [-method sum|concat] ARG1 ARG2`
//! prints `1 + 2 = 3` or `"x" + "y" = "xy"`; on error it prints `error: <message>` on
//! standard error and exits 1. Usage errors (no address, or more than one) exit 2.

use std::process::ExitCode;

use addsvc::{Add, add};
use clap::{ArgGroup, Parser, ValueEnum};
use kit::{Context, Error};

/// Calls addsvc's Sum or Concat over one transport: give exactly one address.
///
/// Go-style single-dash flags (-http-addr) are accepted.
#[derive(Debug, Parser)]
#[command(name = "addcli", version, allow_negative_numbers = true)]
#[command(group(ArgGroup::new("transport").required(true).multiple(false)))]
struct Args {
    /// The addsvc HTTP/JSON listener: HOST:PORT or http://HOST:PORT.
    #[arg(long, value_name = "ADDR", group = "transport")]
    http_addr: Option<String>,
    /// The addsvc gRPC listener: HOST:PORT or http://HOST:PORT.
    #[arg(long, value_name = "ADDR", group = "transport")]
    grpc_addr: Option<String>,
    /// The addsvc JSON-RPC listener: HOST:PORT (posts to /rpc) or a URL.
    #[arg(long, value_name = "ADDR", group = "transport")]
    jsonrpc_addr: Option<String>,
    /// The method to call.
    #[arg(long, value_enum, default_value_t = Method::Sum)]
    method: Method,
    /// The first argument (an integer for sum).
    arg1: String,
    /// The second argument (an integer for sum).
    arg2: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Method {
    Sum,
    Concat,
}

fn main() -> ExitCode {
    let args: Args = kit_app::parse();
    kit_app::run_client(run(args))
}

async fn run(args: Args) -> Result<(), Error> {
    let service = match (&args.http_addr, &args.grpc_addr, &args.jsonrpc_addr) {
        (Some(addr), _, _) => add::http::client(addr)?,
        (_, Some(addr), _) => add::grpc::connect_lazy(addr)?,
        (_, _, Some(addr)) => add::jsonrpc::client(addr)?,
        (None, None, None) => unreachable!("clap requires one address"),
    };
    let ctx = Context::background();
    match args.method {
        Method::Sum => {
            let a = parse_int(&args.arg1)?;
            let b = parse_int(&args.arg2)?;
            let v = service.sum(&ctx, a, b).await?;
            println!("{a} + {b} = {v}");
        }
        Method::Concat => {
            let v = service
                .concat(&ctx, args.arg1.clone(), args.arg2.clone())
                .await?;
            println!("{:?} + {:?} = {v:?}", args.arg1, args.arg2);
        }
    }
    Ok(())
}

fn parse_int(s: &str) -> Result<i64, Error> {
    s.parse()
        .map_err(|e| Error::invalid_argument(format!("invalid integer {s:?}: {e}")))
}
