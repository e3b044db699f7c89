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
//! not the call. A killed instance stays registered until its lease or TTL runs out, so a
//! third of the calls may meet it: unlike services, which keep kit's default retry budget
//! (retries at most 20% of calls), addcli lets every call use its three attempts, as Go
//! kit's addcli does (one caller making one call at a time cannot amplify an outage beyond
//! that). Sum and Concat are pure, so the calls are marked idempotent
//! ([`RetryPolicy::idempotent`]): a call that may have reached an instance before it died
//! (its connection lost after the request was written) is retried too, not only one that
//! never left.
//!
//! `--repeat N` makes N calls in a row, `--interval DUR` apart (Go's duration syntax, such as
//! `5ms`; default none): one line per call, the result on standard output or `error:
//! <message>` on standard error, then, if any failed, `error: F of N calls failed` and exit
//! status 1. With a registry, the calls share one balancer, so they go round the instances, and
//! instances that come and go are followed while the loop runs.
//!
//! `--etcd-addr` needs the `etcd` feature, off by default because etcd's client needs
//! `protoc` to build: `cargo run -p addsvc --features etcd --bin addcli`; a build without it
//! refuses the flag with a message naming the feature.
//!
//! With `--otlp-endpoint` or `--zipkin-url`, the call is traced: its client span starts the
//! trace that addsvc's spans join, exported before addcli exits.

use std::process::ExitCode;

use std::time::Duration;

use addsvc::{Add, add};
use clap::{ArgGroup, CommandFactory, Parser, ValueEnum};
use kit::middleware;
use kit::middleware::retry::{RetryBudget, RetryPolicy};
use kit::sd::{Balanced, Endpointer, Instance, RoundRobin};
use kit::{Context, Error};
use kit_app::{DiscoveryFlags, TraceFlags};

/// Calls addsvc's Sum or Concat over one transport: give exactly one address, or a
/// registry to find addsvc's instances in.
///
/// Go-style single-dash flags (-http-addr) are accepted. --etcd-addr needs the `etcd`
/// feature (off by default: etcd's client needs protoc to build): `cargo run -p addsvc
/// --features etcd --bin addcli`.
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
    /// Make N calls in a row, one output line each; exit 1 if any failed.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    repeat: u64,
    /// With --repeat: the pause between two calls (such as 5ms).
    #[arg(long, value_name = "DUR", default_value = "0s", value_parser = kit_app::parse_duration)]
    interval: Duration,
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
            // Sum and Concat are pure: a call that may have run is safe to send again. One
            // caller making one call at a time cannot amplify an outage beyond its own three
            // attempts, so every call may use them all (a budget of two retries per call).
            let retry = RetryPolicy::default()
                .max_attempts(3)
                .timeout(Duration::from_millis(500))
                .idempotent(true)
                .budget(RetryBudget::new(2.0, 0, Duration::from_secs(10)));
            add::Set::from_endpoint(middleware::chain().retry(retry).endpoint(balanced))
        }
        (None, None, None, None) => usage("give one address flag, or a registry to find addsvc in"),
        _ => usage("give one address flag or a registry, not both"),
    };
    let call = Call::parse(&args)?;
    if args.repeat == 1 {
        return call.run(&service).await.map(|line| println!("{line}"));
    }
    let mut failed = 0;
    for n in 0..args.repeat {
        if n > 0 {
            tokio::time::sleep(args.interval).await;
        }
        match call.run(&service).await {
            Ok(line) => println!("{line}"),
            Err(err) => {
                failed += 1;
                eprintln!("error: {err}");
            }
        }
    }
    if failed > 0 {
        let message = format!("{failed} of {} calls failed", args.repeat);
        return Err(Error::unavailable(message));
    }
    Ok(())
}

/// One call, its arguments parsed.
enum Call {
    Sum(i64, i64),
    Concat(String, String),
}

impl Call {
    fn parse(args: &Args) -> Result<Call, Error> {
        Ok(match args.method {
            Method::Sum => Call::Sum(parse_int(&args.arg1)?, parse_int(&args.arg2)?),
            Method::Concat => Call::Concat(args.arg1.clone(), args.arg2.clone()),
        })
    }

    /// Makes the call; its output line on success.
    async fn run(&self, service: &add::Set) -> Result<String, Error> {
        let ctx = Context::background();
        Ok(match self {
            Call::Sum(a, b) => {
                let v = service.sum(&ctx, *a, *b).await?;
                format!("{a} + {b} = {v}")
            }
            Call::Concat(a, b) => {
                let v = service.concat(&ctx, a.clone(), b.clone()).await?;
                format!("{a:?} + {b:?} = {v:?}")
            }
        })
    }
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
