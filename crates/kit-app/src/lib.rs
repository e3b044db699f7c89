//! # kit-app
//!
//! The `main` of a kit service, so that every example and every service writes only what
//! is its own: its flags, its transports, and one line per listener.
//!
//! Go kit leaves `main` to the service: flags, listeners, signals and graceful shutdown are
//! written again in each one. kit-app holds the conventions that kit's services share:
//!
//! - **Command lines** ([`parse`]): clap-derived arguments that also accept Go-style
//!   single-dash flags (`-http-addr :8081`, see [`go_style_args`]), so Go kit users'
//!   scripts keep working; listener addresses as [`ListenAddr`] (`HOST:PORT`, Go's
//!   `:PORT`, port `0` for a free port, or `off`); durations as Go writes them
//!   ([`parse_duration`]: `10s`, `1m30s`, `250ms`).
//! - **Flag groups** shared by every service, flattened into its arguments:
//!   [`ShutdownFlags`] (`--drain-delay`, `--shutdown-grace`), [`LogFlags`]
//!   (`--log-format logfmt|json`).
//! - **Running** ([`App`]): logging, the runtime, the signals, every listener bound (and
//!   logged as `msg=listening transport=NAME addr=BOUND`) and served until one
//!   [shutdown](kit::shutdown) stops them all in its phases: readiness off at once, the
//!   drain delay, a bounded drain; then exit status 0, or 1 on failure. The
//!   [debug listener](debug_router) answers `/health`, `/ready` and `/log/level` (the log
//!   filter, changeable while running); gRPC listeners
//!   ([`GrpcServices`]) get health following the stop, reflection and request checks.
//! - **Clients** ([`run_client`], with tracing `run_traced_client`): a command-line client's runtime and Go kit's
//!   `error: <message>` with exit status 1.
//!
//! A service's whole `main`, here with a debug, an HTTP and a gRPC listener:
//!
//! ```no_run
//! use std::process::ExitCode;
//! use clap::Parser;
//! use kit_app::{App, GrpcServices, ListenAddr, ShutdownFlags};
//! # fn http_router() -> kit_http::Router { kit_http::Router::new() }
//! # fn grpc_server() -> tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health> {
//! #     tonic_health::pb::health_server::HealthServer::new(
//! #         tonic_health::server::HealthService::from_health_reporter(Default::default()))
//! # }
//! # const FILE_DESCRIPTOR_SET: &[u8] = tonic_health::pb::FILE_DESCRIPTOR_SET;
//!
//! /// mysvc: does something useful over HTTP/JSON and gRPC.
//! #[derive(Parser)]
//! struct Args {
//!     /// Debug listener: `GET /health`, `GET /ready`.
//!     #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
//!     debug_addr: ListenAddr,
//!     /// HTTP/JSON listener.
//!     #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
//!     http_addr: ListenAddr,
//!     /// gRPC listener.
//!     #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8082")]
//!     grpc_addr: ListenAddr,
//!     #[command(flatten)]
//!     shutdown: ShutdownFlags,
//! }
//!
//! fn main() -> ExitCode {
//!     let args: Args = kit_app::parse();
//!     let grpc = GrpcServices::new()
//!         .add_service(grpc_server())
//!         .descriptor_set(FILE_DESCRIPTOR_SET);
//!     App::new("mysvc", args.shutdown)
//!         .debug(args.debug_addr)
//!         .http("http", args.http_addr, http_router())
//!         .grpc("grpc", args.grpc_addr, grpc)
//!         .run()
//! }
//! ```
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `grpc` | on | gRPC listeners: [`App::grpc`], [`GrpcServices`] (kit-grpc, tonic) |
//! | `etcd` | off | `--etcd-addr` in [`RegistryFlags`] and [`DiscoveryFlags`] (kit-sd-etcd) |
//! | `zookeeper` | off | `--zk-addr` in both (kit-sd-zookeeper) |
//! | `consul` | off | `--consul-addr` in both (kit-sd-consul) |
//! | `eureka` | off | `--eureka-url` in both (kit-sd-eureka) |
//! | `dnssrv` | off | `--dns-srv` and `--dns-resolver` in [`DiscoveryFlags`] (kit-sd-dnssrv) |

mod addr;
mod app;
mod args;
mod client;
mod debug;
mod duration;
mod flags;
#[cfg(feature = "grpc")]
mod grpc;
mod registry;

pub use addr::ListenAddr;
pub use app::{App, Bound, Running};
pub use args::{go_style_args, parse};
pub use client::run_client;
#[cfg(feature = "otel")]
pub use client::run_traced_client;
#[cfg(feature = "metrics")]
pub use debug::metrics_routes;
pub use debug::{LOG_LEVEL_PATH, debug_router};
pub use duration::parse_duration;
#[cfg(feature = "otel")]
pub use flags::TraceFlags;
pub use flags::{LimitFlags, LogFlags, ShutdownFlags};
#[cfg(feature = "grpc")]
pub use grpc::GrpcServices;
pub use registry::{DiscoveryFlags, RegistryFlags};
