//! What to look up, where, and how often: [`DnsSrv`].

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::Name;
use kit::Error;
use kit::sd::Instancer;

use crate::poll;

/// The poll interval unless [`DnsSrv::interval`] says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// A DNS SRV name to discover instances from, with where and how often to ask: the
/// configuration of a DNS SRV [`Instancer`].
///
/// ```no_run
/// use std::time::Duration;
/// use kit_sd_dnssrv::DnsSrv;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), kit::Error> {
/// // The system's resolver (resolv.conf), every 30 s or sooner when a TTL says so.
/// let instancer = DnsSrv::new("_http._tcp.addsvc.example.").instancer()?;
///
/// // A particular server, every 5 s.
/// let instancer = DnsSrv::new("_http._tcp.addsvc.example.")
///     .resolver("127.0.0.1:5353".parse().unwrap())
///     .interval(Duration::from_secs(5))
///     .instancer()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DnsSrv {
    name: String,
    resolver: Option<SocketAddr>,
    interval: Duration,
    timeout: Option<Duration>,
}

impl DnsSrv {
    /// The SRV records of `name` (such as `_http._tcp.addsvc.example.`), asked of the
    /// system's resolver every [`DEFAULT_INTERVAL`].
    ///
    /// A name without a final dot goes through the system's search domains, as other
    /// programs' look-ups do; a fully qualified one (final dot) is asked as it is.
    pub fn new(name: impl Into<String>) -> DnsSrv {
        DnsSrv {
            name: name.into(),
            resolver: None,
            interval: DEFAULT_INTERVAL,
            timeout: None,
        }
    }

    /// Asks the DNS server at `addr` (UDP, and TCP for answers too large for UDP) instead
    /// of the system's resolver. Only that server answers: the hosts file and search
    /// domains are not used.
    pub fn resolver(mut self, addr: SocketAddr) -> DnsSrv {
        self.resolver = Some(addr);
        self
    }

    /// Asks again every `interval` (sooner when a TTL in the answer runs out first).
    pub fn interval(mut self, interval: Duration) -> DnsSrv {
        self.interval = interval;
        self
    }

    /// How long to wait for the server's answer to one query before trying again or
    /// failing (hickory's default, or the system's `options timeout:`, otherwise).
    pub fn timeout(mut self, timeout: Duration) -> DnsSrv {
        self.timeout = Some(timeout);
        self
    }

    /// An instancer that polls the records: it starts at once, on the current tokio
    /// runtime, and stops when the last clone of the instancer is dropped.
    ///
    /// # Errors
    ///
    /// [`Code::InvalidArgument`](kit::Code::InvalidArgument) when the name is not a DNS
    /// name or the interval is zero; [`Code::FailedPrecondition`](kit::Code::FailedPrecondition)
    /// when the system's resolver configuration cannot be read. A server that does not
    /// answer is no error here: the instancer reports it.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn instancer(&self) -> Result<Instancer, Error> {
        if self.interval.is_zero() {
            return Err(Error::invalid_argument(
                "dns srv: the poll interval must be longer than zero",
            ));
        }
        let name = Name::from_str(&self.name).map_err(|err| {
            Error::invalid_argument(format!("dns srv: {:?} is not a DNS name", self.name))
                .with_source(err)
        })?;
        let mut builder = match self.resolver {
            Some(addr) => {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut server.connections {
                    connection.port = addr.port();
                }
                let mut builder = TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    TokioRuntimeProvider::default(),
                );
                builder.options_mut().use_hosts_file = ResolveHosts::Never;
                builder
            }
            None => TokioResolver::builder_tokio().map_err(|err| {
                Error::failed_precondition(format!(
                    "dns srv: cannot read the system's resolver configuration: {err}"
                ))
            })?,
        };
        if let Some(timeout) = self.timeout {
            builder.options_mut().timeout = timeout;
        }
        let resolver = builder.build().map_err(|err| {
            Error::failed_precondition(format!("dns srv: cannot set up the resolver: {err}"))
        })?;
        let interval = self.interval;
        Ok(Instancer::spawn(move |publisher| {
            poll::run(resolver, name, interval, publisher)
        }))
    }
}
