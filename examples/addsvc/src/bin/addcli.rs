//! addcli: calls addsvc from the command line, like Go kit's addcli.
//!
//! `addcli (-http-addr A | -grpc-addr A | -jsonrpc-addr A) [-method sum|concat] ARG1 ARG2`
//! prints `1 + 2 = 3` or `"x" + "y" = "xy"`; on error it prints `error: <message>` on
//! standard error and exits 1. Usage errors (no address, or more than one) exit 2.
//!
//! Instead of an address, a registry (`--etcd-addr`, `--zk-addr`, `--consul-addr`,
//! `--eureka-url`) and a `--transport`, or `--dns-srv NAME` (asking `--dns-resolver
//! HOST:PORT`, or the system's resolver and its search domains without it), find
//! addsvc's instances; calls then go through a round-robin balancer
//! with retries (3 attempts within 500 ms), so an instance that is down costs a retry,
//! not the call.
//!
//! With `--otlp-endpoint` or `--zipkin-url`, the call is traced: its client span starts the
//! trace that addsvc's spans join, exported before addcli exits.

use std::process::ExitCode;

use std::time::Duration;

use addsvc::{Add, add};
use clap::{ArgGroup, CommandFactory, Parser, ValueEnum};
use kit::middleware::{self, retry::RetryPolicy};
use kit::sd::{Balanced, Endpointer, Instance, RoundRobin};
use kit::{Context, Error};
use kit_app::{DiscoveryFlags, TraceFlags};

/// Calls addsvc's Sum or Concat over one transport: give exactly one address, or a
/// registry to find addsvc's instances in.
///
/// Go-style single-dash flags (-http-addr) are accepted.
#[derive(Debug, Parser)]
#[command(name = "addcli", version, allow_negative_numbers = true)]
#[command(group(ArgGroup::new("address").multiple(false)))]
struct Args {
    /// The addsvc HTTP/JSON listener: HOST:PORT or http://HOST:PORT.
    #[arg(long, value_name = "ADDR", group = "address")]
    http_addr: Option<String>,
    /// The addsvc gRPC listener: HOST:PORT or http://HOST:PORT.
    #[arg(long, value_name = "ADDR", group = "address")]
    grpc_addr: Option<String>,
    /// The addsvc JSON-RPC listener: HOST:PORT (posts to /rpc) or a URL.
    #[arg(long, value_name = "ADDR", group = "address")]
    jsonrpc_addr: Option<String>,
    #[command(flatten)]
    discovery: DiscoveryFlags,
    #[command(flatten)]
    tracing: TraceFlags,
    /// With a registry: the transport whose instances to call.
    #[arg(long, value_enum, default_value_t = Transport::Http)]
    transport: Transport,
    /// The method to call.
    #[arg(long, value_enum, default_value_t = Method::Sum)]
    method: Method,
    /// The first argument (an integer for sum).
    arg1: String,
    /// The second argument (an integer for sum).
    arg2: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Transport {
    Http,
    Grpc,
    Jsonrpc,
}

impl Transport {
    /// A client of addsvc's listener of this transport at `addr`.
    fn client(self, addr: &str) -> Result<add::Set, Error> {
        match self {
            Transport::Http => add::http::client(addr),
            Transport::Grpc => add::grpc::connect_lazy(addr),
            Transport::Jsonrpc => add::jsonrpc::client(addr),
        }
    }

    /// Its name in registries.
    fn name(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::Grpc => "grpc",
            Transport::Jsonrpc => "jsonrpc",
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Method {
    Sum,
    Concat,
}

fn main() -> ExitCode {
    let args: Args = kit_app::parse();
    let tracing = args.tracing.clone();
    kit_app::run_traced_client("addcli", &tracing, run(args))
}

async fn run(args: Args) -> Result<(), Error> {
    let discovered = args.discovery.instancer("addsvc", args.transport.name())?;
    let service = match (
        &args.http_addr,
        &args.grpc_addr,
        &args.jsonrpc_addr,
        discovered,
    ) {
        (Some(addr), _, _, None) => Transport::Http.client(addr)?,
        (_, Some(addr), _, None) => Transport::Grpc.client(addr)?,
        (_, _, Some(addr), None) => Transport::Jsonrpc.client(addr)?,
        (None, None, None, Some(instancer)) => {
            let transport = args.transport;
            let factory = move |instance: &Instance| transport.client(instance.addr());
            let balanced = Balanced::new(Endpointer::new(&instancer, factory), RoundRobin::new());
            let retry = RetryPolicy::default()
                .max_attempts(3)
                .timeout(Duration::from_millis(500));
            add::Set::from_endpoint(middleware::chain().retry(retry).endpoint(balanced))
        }
        (None, None, None, None) => usage("give one address flag, or a registry to find addsvc in"),
        _ => usage("give one address flag or a registry, not both"),
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

/// Exits with a usage error (status 2), as clap does for its own.
fn usage(message: &str) -> ! {
    Args::command()
        .error(clap::error::ErrorKind::MissingRequiredArgument, message)
        .exit()
}

fn parse_int(s: &str) -> Result<i64, Error> {
    s.parse()
        .map_err(|e| Error::invalid_argument(format!("invalid integer {s:?}: {e}")))
}
