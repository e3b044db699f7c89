//! The listeners of a service, served until one shutdown stops them all.

use std::fmt;
use std::future::{Future, Pending};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kit::middleware::retry::Backoff;
use kit::sd::Registrar;
use kit::shutdown::Shutdown;
use kit::{Code, Error};
use kit_http::{Http, Protocol};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::{ListenAddr, ShutdownFlags, debug_router};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Serves one bound listener until the stop drains it.
type ServeFn = Box<dyn FnOnce(TcpListener, Stop) -> BoxFuture<Result<(), Error>> + Send>;

/// A service's listeners, each served on its own address until one shutdown stops them all:
/// the `main` of a kit service.
///
/// [`run`](App::run) does what every service's `main` would otherwise write: it sets up
/// logging ([`kit_tracing`], unless a subscriber is already installed) and the
/// [runtime](kit::runtime::build), catches SIGINT and SIGTERM, binds every listener that is
/// not [`off`](ListenAddr::Off) (logging `msg=listening transport=NAME addr=BOUND` for each),
/// and serves them. On a signal it runs the [stop in its phases](kit::shutdown): readiness
/// (`/ready` of the [debug listener](App::debug), gRPC health) turns off at once, the
/// listeners keep serving for the drain delay, then stop accepting and give in-flight
/// requests the grace period. It logs `msg=stopped` and exits 0; a failure (a listener that
/// cannot bind, every listener off) is logged and exits 1.
///
/// ```no_run
/// use std::process::ExitCode;
/// use clap::Parser;
/// use kit_app::{App, ListenAddr, ShutdownFlags};
///
/// /// hello: greets over HTTP.
/// #[derive(Parser)]
/// struct Args {
///     /// Debug listener: `GET /health`, `GET /ready`.
///     #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
///     debug_addr: ListenAddr,
///     /// HTTP listener.
///     #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
///     http_addr: ListenAddr,
///     #[command(flatten)]
///     shutdown: ShutdownFlags,
/// }
///
/// fn main() -> ExitCode {
///     let args: Args = kit_app::parse();
///     let router = kit_http::Router::new(); // the service's routes
///     App::new("hello", args.shutdown)
///         .debug(args.debug_addr)
///         .http("http", args.http_addr, router)
///         .run()
/// }
/// ```
pub struct App {
    name: &'static str,
    shutdown: Shutdown,
    grace: Duration,
    listeners: Vec<Listener>,
    signal: Option<BoxFuture<()>>,
    registrars: Option<MakeRegistrars>,
    log_format: kit_tracing::Format,
    #[cfg(feature = "otel")]
    tracing: Option<crate::TraceFlags>,
}

/// The listeners a service has bound: each one's transport name and address.
pub type Bound = [(&'static str, SocketAddr)];

/// Makes a service's registrars once its listeners are bound.
type MakeRegistrars = Box<dyn FnOnce(&Bound) -> Result<Vec<Box<dyn Registrar>>, Error> + Send>;

struct Listener {
    transport: &'static str,
    addr: ListenAddr,
    serve: ServeFn,
}

/// What a listener's server needs to stop with the others.
struct Stop {
    shutdown: Shutdown,
    grace: Duration,
}

impl Stop {
    /// Runs `serve` until the service drains, then for up to the grace period.
    async fn serve<S, P>(&self, serve: kit_http::Serve<S, Pending<()>, P>)
    where
        S: Send + 'static,
        P: Protocol<S>,
    {
        serve
            .with_graceful_shutdown(self.shutdown.draining())
            .grace_period(self.grace)
            .await;
    }
}

impl App {
    /// A service called `name` (in its failure log line), stopping as `flags` say, with no
    /// listeners yet.
    pub fn new(name: &'static str, flags: ShutdownFlags) -> App {
        App {
            name,
            shutdown: Shutdown::new(flags.drain_delay),
            grace: flags.shutdown_grace,
            listeners: Vec::new(),
            signal: None,
            registrars: None,
            log_format: kit_tracing::Format::Logfmt,
            #[cfg(feature = "otel")]
            tracing: None,
        }
    }

    /// The service's stop sequence, for what else should follow it (a registrar that
    /// deregisters, routes that report readiness).
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Adds the debug listener, transport `debug`, serving [`debug_router`]: `GET /health`
    /// and `GET /ready` (`503` once the stop begins).
    pub fn debug(self, addr: ListenAddr) -> App {
        let router = debug_router(&self.shutdown);
        self.http("debug", addr, router)
    }

    /// Adds the debug listener as [`debug`](App::debug) does, with `GET /metrics`
    /// (Prometheus) and `GET /debug/vars` (expvar-style JSON) of `prometheus` too
    /// ([`metrics_routes`](crate::metrics_routes)).
    #[cfg(feature = "metrics")]
    pub fn debug_with_metrics(
        self,
        addr: ListenAddr,
        prometheus: &kit_metrics::prometheus::Prometheus,
    ) -> App {
        let router = crate::metrics_routes(debug_router(&self.shutdown), prometheus);
        self.http("debug", addr, router)
    }

    /// Adds an HTTP listener (HTTP/1.1 and HTTP/2), named `transport` in log lines and
    /// errors, serving `service` on `addr` with [`kit_http::serve`]: a kit
    /// [`Router`](kit_http::Router) or [`Server`](kit_http::Server), a JSON-RPC server, or
    /// any tower service of HTTP requests.
    pub fn http<S>(self, transport: &'static str, addr: ListenAddr, service: S) -> App
    where
        S: Send + 'static,
        Http: Protocol<S>,
    {
        self.listen(transport, addr, move |listener, stop| {
            Box::pin(async move {
                stop.serve(kit_http::serve(listener, service)).await;
                Ok(())
            })
        })
    }

    /// Adds a gRPC listener, named `transport` in log lines and errors, serving `services`
    /// on `addr` with [`kit_grpc::serve`], with health following the stop, reflection and
    /// request checks (see [`GrpcServices`](crate::GrpcServices)).
    #[cfg(feature = "grpc")]
    pub fn grpc(
        self,
        transport: &'static str,
        addr: ListenAddr,
        services: crate::GrpcServices,
    ) -> App {
        self.listen(transport, addr, move |listener, stop| {
            Box::pin(async move {
                match services.into_routes(&stop.shutdown).await? {
                    crate::grpc::Served::Checked(routes) => {
                        stop.serve(kit_grpc::serve(listener, routes)).await;
                    }
                    #[cfg(feature = "metrics")]
                    crate::grpc::Served::Metered(routes) => {
                        stop.serve(kit_grpc::serve(listener, routes)).await;
                    }
                }
                Ok(())
            })
        })
    }

    fn listen(
        mut self,
        transport: &'static str,
        addr: ListenAddr,
        serve: impl FnOnce(TcpListener, Stop) -> BoxFuture<Result<(), Error>> + Send + 'static,
    ) -> App {
        self.listeners.push(Listener {
            transport,
            addr,
            serve: Box::new(serve),
        });
        self
    }

    /// Registers the service in registries (etcd, ZooKeeper, Consul, Eureka, ...): once every
    /// listener is bound, `registrars` is called with their transports and bound addresses
    /// (the port picked where one was 0) and returns a [`Registrar`] for each listener and
    /// registry ([`RegistryFlags::registrars`](crate::RegistryFlags::registrars) does this
    /// from flags); an error there fails the start.
    ///
    /// Each registrar registers in the background while the service serves: a registry that
    /// is down does not keep the service from starting; its registrar is tried again with
    /// backoff (waits drawn at random up to 100 ms, doubling, up to 10 s), each failure logged as
    /// `msg="registration failed"`, each success as `msg=registered`. When the stop begins
    /// (the service turns not ready, before the drain delay) every registered instance is
    /// deregistered, so that clients stop picking it while it still serves the calls they
    /// made; deregistration gets at most the grace period.
    pub fn register(
        mut self,
        registrars: impl FnOnce(&Bound) -> Result<Vec<Box<dyn Registrar>>, Error> + Send + 'static,
    ) -> App {
        self.registrars = Some(Box::new(registrars));
        self
    }

    /// Logs in `format` (default logfmt) once [`run`](App::run) sets up logging; the
    /// [`LogFlags`](crate::LogFlags) `--log-format` flag gives it.
    pub fn log_format(mut self, format: kit_tracing::Format) -> App {
        self.log_format = format;
        self
    }

    /// Traces requests as `flags` say (no tracing when they name no exporter) once
    /// [`run`](App::run) sets up logging: it starts the exporters inside the runtime,
    /// installs the subscriber with them ([`kit_tracing::try_init_traced`]), logs
    /// `msg="tracing on" exporters=...`, and once the service has stopped exports the spans
    /// still queued (waiting at most the export timeout) before it returns.
    #[cfg(feature = "otel")]
    pub fn tracing(mut self, flags: crate::TraceFlags) -> App {
        self.tracing = Some(flags);
        self
    }

    /// Stops when `signal` completes instead of on SIGINT or SIGTERM: to stop from a test,
    /// or on another event.
    pub fn stop_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> App {
        self.signal = Some(Box::pin(signal));
        self
    }

    /// Runs the service (see [`App`]) and returns the process's exit status: success once
    /// stopped and drained, failure (logged as `msg="NAME failed" error=...`) if it could
    /// not start or a listener failed.
    ///
    /// # Panics
    ///
    /// If `RUST_LOG` is set to directives that do not parse (see [`kit_tracing::init`]).
    pub fn run(self) -> ExitCode {
        let name = self.name;
        let result = match kit::runtime::build() {
            Ok(runtime) => runtime.block_on(self.run_inside()),
            Err(e) => {
                init_logs(self.log_format);
                Err(Error::internal(format!("starting the runtime: {e}")).with_source(e))
            }
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                tracing::error!(error = %err, "{name} failed");
                ExitCode::FAILURE
            }
        }
    }

    /// [`run`](App::run) inside the runtime: logging (and tracing), then the service.
    #[cfg(not(feature = "otel"))]
    async fn run_inside(self) -> Result<(), Error> {
        init_logs(self.log_format);
        self.start().await?.wait().await
    }

    /// [`run`](App::run) inside the runtime: logging and tracing, the service, then the
    /// spans still queued.
    #[cfg(feature = "otel")]
    async fn run_inside(mut self) -> Result<(), Error> {
        let name = self.name;
        let builder = self.tracing.take().and_then(|flags| {
            let sample = flags.trace_sample;
            flags.builder(name).map(|builder| (builder, sample))
        });
        let Some((builder, sample)) = builder else {
            init_logs(self.log_format);
            return self.start().await?.wait().await;
        };
        let exporters = builder.destinations().join(",");
        let traced = match builder.start() {
            Ok(traced) => traced,
            Err(e) => {
                // Logging still, for the failure's line.
                init_logs(self.log_format);
                return Err(Error::invalid_argument(format!("starting tracing: {e}")));
            }
        };
        if tracing::dispatcher::has_been_set() {
            tracing::warn!(
                exporters,
                "a subscriber is installed already: tracing is off"
            );
        } else if let Err(err) = kit_tracing::try_init_traced(self.log_format, "info", &traced) {
            panic!("kit_tracing::try_init_traced failed: {err}");
        } else {
            tracing::info!(exporters, sample, "tracing on");
        }
        let handle = traced.handle();
        let result = async { self.start().await?.wait().await }.await;
        if let Err(err) = handle.flush_and_stop().await {
            tracing::warn!(error = %err, "spans left unexported");
        }
        let (exported, dropped) = (handle.exported(), handle.dropped());
        tracing::info!(exported, dropped, "tracing stopped");
        result
    }

    /// Binds every listener and starts serving them, on the current runtime; the part of
    /// [`run`](App::run) before waiting, for a service that runs its own runtime or a test
    /// that needs the bound addresses.
    ///
    /// ```
    /// use kit_app::{App, ShutdownFlags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), kit::Error> {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let running = App::new("svc", ShutdownFlags::default())
    ///     .debug("127.0.0.1:0".parse().unwrap())
    ///     .stop_on(async { let _ = stopped.await; })
    ///     .start()
    ///     .await?;
    /// let debug = running.local_addr("debug").unwrap();
    /// assert_ne!(debug.port(), 0);
    /// stop.send(()).unwrap();
    /// running.wait().await
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// If every listener is off, a listener cannot bind (the error names its transport
    /// and address), or the registrars cannot be made; the listeners bound until then are
    /// closed.
    ///
    /// # Panics
    ///
    /// Without a [`stop_on`](App::stop_on) signal, if the signal handlers cannot be
    /// installed (see [`kit_http::shutdown_signal`]).
    pub async fn start(self) -> Result<Running, Error> {
        if self.listeners.iter().all(|l| l.addr == ListenAddr::Off) {
            return Err(Error::invalid_argument(
                "every listener is off: nothing to serve",
            ));
        }
        // Catch signals from here on, before any listener is announced.
        let signal = self
            .signal
            .unwrap_or_else(|| Box::pin(kit_http::shutdown_signal()));
        let mut servers = JoinSet::new();
        let mut addrs = Vec::new();
        for listener in self.listeners {
            let ListenAddr::On(addr) = listener.addr else {
                continue;
            };
            let bound = bind(listener.transport, addr).await?;
            addrs.push((listener.transport, bound.local_addr()?));
            let stop = Stop {
                shutdown: self.shutdown.clone(),
                grace: self.grace,
            };
            servers.spawn((listener.serve)(bound, stop));
        }
        if let Some(make) = self.registrars {
            let registrars = make(&addrs)?;
            servers.spawn(keep_registered(
                registrars,
                self.shutdown.clone(),
                self.grace,
            ));
        }
        // On the signal: not ready at once, still serving for the drain delay, then every
        // listener stops accepting and drains.
        let shutdown = self.shutdown;
        servers.spawn(async move {
            shutdown.stop_on(signal).await;
            Ok(())
        });
        Ok(Running { addrs, servers })
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listeners: Vec<_> = self
            .listeners
            .iter()
            .map(|l| (l.transport, l.addr))
            .collect();
        f.debug_struct("App")
            .field("name", &self.name)
            .field("shutdown", &self.shutdown)
            .field("grace", &self.grace)
            .field("listeners", &listeners)
            .finish_non_exhaustive()
    }
}

/// Registers each registrar (again and again, with backoff, until it succeeds or the stop
/// begins), and deregisters them all when the stop begins: those whose registration was
/// cut short by the stop too, since the registry may have taken it.
async fn keep_registered(
    registrars: Vec<Box<dyn Registrar>>,
    shutdown: Shutdown,
    grace: Duration,
) -> Result<(), Error> {
    let registrars: Vec<Arc<dyn Registrar>> = registrars.into_iter().map(Arc::from).collect();
    let mut attempts = JoinSet::new();
    for registrar in &registrars {
        let registrar = registrar.clone();
        attempts.spawn(async move { register(&*registrar).await });
    }
    shutdown.not_ready().await;
    attempts.abort_all();
    let mut leaving = JoinSet::new();
    for registrar in registrars {
        leaving.spawn(async move {
            match tokio::time::timeout(grace, registrar.deregister()).await {
                Ok(Ok(())) => tracing::info!(registrar = ?registrar, "deregistered"),
                Ok(Err(err)) => {
                    tracing::warn!(registrar = ?registrar, error = %err, "deregistration failed");
                }
                Err(_) => tracing::warn!(registrar = ?registrar, "deregistration timed out"),
            }
        });
    }
    while leaving.join_next().await.is_some() {}
    Ok(())
}

/// Registers with `registrar`, trying again with backoff until it succeeds.
async fn register(registrar: &dyn Registrar) {
    let mut waits = Backoff::new(Duration::from_millis(100), Duration::from_secs(10)).waits();
    loop {
        match registrar.register().await {
            Ok(()) => {
                tracing::info!(registrar = ?registrar, "registered");
                return;
            }
            Err(err) => {
                tracing::warn!(registrar = ?registrar, error = %err, "registration failed");
                waits.wait().await;
            }
        }
    }
}

/// Binds a listener on `addr` and logs where it listens, one logfmt line per listener.
async fn bind(transport: &str, addr: SocketAddr) -> Result<TcpListener, Error> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        let message = format!("binding the {transport} listener on {addr}: {e}");
        Error::new(Code::from_io_error_kind(e.kind()), message).with_source(e)
    })?;
    let local = listener.local_addr()?;
    tracing::info!(transport, addr = %local, "listening");
    Ok(listener)
}

/// A started [`App`]: its listeners are bound and serving. Dropping it stops them at once;
/// [`wait`](Running::wait) lets them run until the stop.
#[derive(Debug)]
pub struct Running {
    addrs: Vec<(&'static str, SocketAddr)>,
    servers: JoinSet<Result<(), Error>>,
}

impl Running {
    /// The address the listener named `transport` is bound to (with the port picked when
    /// its address had port 0); `None` if it is off or there is no such listener.
    pub fn local_addr(&self, transport: &str) -> Option<SocketAddr> {
        self.addrs
            .iter()
            .find(|(name, _)| *name == transport)
            .map(|&(_, addr)| addr)
    }

    /// Waits until the service has stopped and every listener has drained, then logs
    /// `msg=stopped`.
    ///
    /// # Errors
    ///
    /// The first failure of a listener; the others are then stopped at once.
    pub async fn wait(mut self) -> Result<(), Error> {
        while let Some(done) = self.servers.join_next().await {
            done.map_err(|e| Error::internal(format!("listener task failed: {e}")))??;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Installs kit's subscriber writing `format` lines unless one is installed already.
///
/// # Panics
///
/// If `RUST_LOG` is set to directives that do not parse (see [`kit_tracing::init`]).
fn init_logs(format: kit_tracing::Format) {
    if !tracing::dispatcher::has_been_set() {
        kit_tracing::init_with(format, "info");
    }
}
