//! Registry flags: where a service registers its listeners, and where a client finds them.
//!
//! Every registry keeps a service's instances in the layout of `../shared/CONTRACTS.md`,
//! the one Go kit's own instancers read, per transport (`http`, `grpc`, `jsonrpc`, ...):
//!
//! | registry | an instance of `service`'s `transport` listener at `host:port` |
//! |---|---|
//! | etcd | key `/services/<service>/<transport>/<host:port>`, value `host:port`, under a lease |
//! | ZooKeeper | an ephemeral sequential node under `/services/<service>/<transport>`, data `host:port` |
//! | Consul | service `<service>`, tag `<transport>`, id `<service>-<transport>-<host:port>`, with a TTL check |
//! | Eureka | application `<SERVICE>-<TRANSPORT>`, instance id `<host:port>`, with heartbeats |

use std::net::SocketAddr;

use clap::Args;
use kit::Error;
use kit::sd::{Instancer, Registrar};

use crate::Bound;

/// Where the service registers its listeners: flatten it into a service's arguments and
/// hand [`registrars`](RegistryFlags::registrars) to [`App::register`](crate::App::register).
/// Each listener but `debug` is registered in each registry given, at start, and taken out
/// when the stop begins.
#[derive(Debug, Clone, Default, Args)]
pub struct RegistryFlags {
    /// Register each listener in etcd at HOST:PORT (several: comma-separated), under
    /// `/services/<service>/<transport>/` with a lease kept alive.
    #[cfg(feature = "etcd")]
    #[arg(long, value_name = "HOST:PORT")]
    pub etcd_addr: Option<String>,
    /// Not in this build (see [`without_etcd`]): never set, the flag is refused.
    #[cfg(not(feature = "etcd"))]
    #[doc(hidden)]
    #[arg(long, hide = true, value_parser = without_etcd)]
    pub etcd_addr: Option<std::convert::Infallible>,
    /// Register each listener in ZooKeeper at HOST:PORT (several: comma-separated), as an
    /// ephemeral node under `/services/<service>/<transport>`.
    #[cfg(feature = "zookeeper")]
    #[arg(long, value_name = "HOST:PORT")]
    pub zk_addr: Option<String>,
    /// Register each listener with the Consul agent at HOST:PORT (or a URL), as the service
    /// tagged with its transport, with a TTL check kept passing.
    #[cfg(feature = "consul")]
    #[arg(long, value_name = "HOST:PORT")]
    pub consul_addr: Option<String>,
    /// Register each listener with the Eureka server at URL (its service URL, such as
    /// http://HOST:PORT/eureka), as application SERVICE-TRANSPORT, with heartbeats.
    #[cfg(feature = "eureka")]
    #[arg(long, value_name = "URL")]
    pub eureka_url: Option<String>,
    /// The host to register for listeners bound to all interfaces (`:8081`): the address
    /// clients reach this process at. Listeners bound to one address register that address.
    #[arg(long, value_name = "HOST")]
    pub advertise_host: Option<String>,
}

impl RegistryFlags {
    /// The registrars of `service`'s `bound` listeners, all but `debug`: one per listener and
    /// registry given.
    ///
    /// # Errors
    ///
    /// A registry address that does not parse, or a listener bound to all interfaces
    /// without `--advertise-host`.
    pub fn registrars(
        &self,
        service: &str,
        bound: &Bound,
    ) -> Result<Vec<Box<dyn Registrar>>, Error> {
        if !self.is_set() {
            return Ok(Vec::new());
        }
        let mut registrars = Vec::new();
        for &(transport, addr) in bound.iter().filter(|(t, _)| *t != "debug") {
            registrars.extend(self.registrars_of(service, transport, addr)?);
        }
        Ok(registrars)
    }

    /// The registrars of one listener, one per registry given.
    fn registrars_of(
        &self,
        service: &str,
        transport: &str,
        addr: SocketAddr,
    ) -> Result<Vec<Box<dyn Registrar>>, Error> {
        let host = self.host(transport, addr)?;
        let port = addr.port();
        let instance = join_host_port(&host, port);
        let made: Vec<Option<Result<Box<dyn Registrar>, Error>>> = vec![
            #[cfg(feature = "etcd")]
            self.etcd_addr.as_ref().map(|endpoints| {
                let config = kit_sd_etcd::Config::new(endpoints.split(','));
                let key = format!(
                    "{}{instance}",
                    kit_sd_etcd::service_prefix(service, transport)
                );
                let registrar = kit_sd_etcd::Client::new(config).registrar(key, instance.clone());
                Ok(Box::new(registrar) as Box<dyn Registrar>)
            }),
            #[cfg(feature = "zookeeper")]
            self.zk_addr.as_ref().map(|servers| {
                let client = kit_sd_zookeeper::Client::builder(servers.as_str()).build()?;
                let path = zookeeper_path(service, transport);
                let registrar = kit_sd_zookeeper::Registrar::new(&client, path, instance.clone())?;
                Ok(Box::new(registrar) as Box<dyn Registrar>)
            }),
            #[cfg(feature = "consul")]
            self.consul_addr.as_ref().map(|agent| {
                let id = format!("{service}-{transport}-{instance}");
                let registration =
                    kit_sd_consul::Registration::new(&id, service, &host, port).tag(transport);
                let registrar = kit_sd_consul::Client::new(agent)?.registrar(registration);
                Ok(Box::new(registrar) as Box<dyn Registrar>)
            }),
            #[cfg(feature = "eureka")]
            self.eureka_url.as_ref().map(|url| {
                let app = format!("{service}-{transport}");
                let registration = kit_sd_eureka::Registration::new(&app, &instance, &host, port);
                let registrar = kit_sd_eureka::Client::new(url)?.registrar(registration);
                Ok(Box::new(registrar) as Box<dyn Registrar>)
            }),
        ];
        let _ = (service, instance, port);
        made.into_iter().flatten().collect()
    }

    /// Whether any registry is given.
    pub fn is_set(&self) -> bool {
        [
            #[cfg(feature = "etcd")]
            self.etcd_addr.is_some(),
            #[cfg(feature = "zookeeper")]
            self.zk_addr.is_some(),
            #[cfg(feature = "consul")]
            self.consul_addr.is_some(),
            #[cfg(feature = "eureka")]
            self.eureka_url.is_some(),
        ]
        .contains(&true)
    }

    /// The host to register for the listener at `addr`.
    fn host(&self, transport: &str, addr: SocketAddr) -> Result<String, Error> {
        match &self.advertise_host {
            Some(host) => Ok(host.clone()),
            None if addr.ip().is_unspecified() => Err(Error::invalid_argument(format!(
                "the {transport} listener is bound to all interfaces ({addr}): \
                 set --advertise-host to the host clients should use"
            ))),
            None => Ok(addr.ip().to_string()),
        }
    }
}

/// Where a client finds a service's instances: in one registry (the flags of
/// [`RegistryFlags`], for the registries a service registers in), or in DNS SRV records.
/// At most one may be given.
#[derive(Debug, Clone, Default, Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("registry").multiple(false)))]
pub struct DiscoveryFlags {
    /// Find the instances in etcd at HOST:PORT (several: comma-separated).
    #[cfg(feature = "etcd")]
    #[arg(long, value_name = "HOST:PORT", group = "registry")]
    pub etcd_addr: Option<String>,
    /// Not in this build (see [`without_etcd`]): never set, the flag is refused.
    #[cfg(not(feature = "etcd"))]
    #[doc(hidden)]
    #[arg(long, hide = true, value_parser = without_etcd)]
    pub etcd_addr: Option<std::convert::Infallible>,
    /// Find the instances in ZooKeeper at HOST:PORT (several: comma-separated).
    #[cfg(feature = "zookeeper")]
    #[arg(long, value_name = "HOST:PORT", group = "registry")]
    pub zk_addr: Option<String>,
    /// Find the instances through the Consul agent at HOST:PORT (or a URL): passing ones only.
    #[cfg(feature = "consul")]
    #[arg(long, value_name = "HOST:PORT", group = "registry")]
    pub consul_addr: Option<String>,
    /// Find the instances in the Eureka server at URL: `UP` ones only.
    #[cfg(feature = "eureka")]
    #[arg(long, value_name = "URL", group = "registry")]
    pub eureka_url: Option<String>,
    /// Find the instances in the SRV records of NAME: each record's target addresses with
    /// its port (the name says the service and transport; `--transport` is not used).
    #[cfg(feature = "dnssrv")]
    #[arg(long, value_name = "NAME", group = "registry")]
    pub dns_srv: Option<String>,
    /// With `--dns-srv`: the DNS server to ask, instead of the system's resolvers (not in
    /// the one-registry group: it goes with `--dns-srv`).
    #[cfg(feature = "dnssrv")]
    #[arg(long, value_name = "HOST:PORT", requires = "dns_srv")]
    pub dns_resolver: Option<std::net::SocketAddr>,
}

impl DiscoveryFlags {
    /// An instancer of `service`'s `transport` listeners, from the registry given; `None`
    /// when none was.
    ///
    /// # Errors
    ///
    /// A registry address that does not parse.
    pub fn instancer(&self, service: &str, transport: &str) -> Result<Option<Instancer>, Error> {
        #[cfg(feature = "etcd")]
        if let Some(endpoints) = &self.etcd_addr {
            let client = kit_sd_etcd::Client::new(kit_sd_etcd::Config::new(endpoints.split(',')));
            return Ok(Some(
                client.instancer(kit_sd_etcd::service_prefix(service, transport)),
            ));
        }
        #[cfg(feature = "zookeeper")]
        if let Some(servers) = &self.zk_addr {
            let client = kit_sd_zookeeper::Client::builder(servers.as_str()).build()?;
            let path = zookeeper_path(service, transport);
            return Ok(Some(kit_sd_zookeeper::instancer(&client, path)?));
        }
        #[cfg(feature = "consul")]
        if let Some(agent) = &self.consul_addr {
            let query = kit_sd_consul::HealthQuery::new(service).tag(transport);
            return Ok(Some(kit_sd_consul::Client::new(agent)?.instancer(query)));
        }
        #[cfg(feature = "eureka")]
        if let Some(url) = &self.eureka_url {
            let query = kit_sd_eureka::AppQuery::new(&format!("{service}-{transport}"));
            return Ok(Some(kit_sd_eureka::Client::new(url)?.instancer(query)));
        }
        #[cfg(feature = "dnssrv")]
        if let Some(name) = &self.dns_srv {
            let mut query = kit_sd_dnssrv::DnsSrv::new(name.as_str());
            if let Some(resolver) = self.dns_resolver {
                query = query.resolver(resolver);
            }
            return query.instancer().map(Some);
        }
        let _ = (service, transport);
        Ok(None)
    }
}

/// The value parser of `--etcd-addr` in a build without the `etcd` feature (its client
/// needs `protoc` to build, so services leave it off by default): the flag is still known,
/// hidden from `--help`, and refused with a message naming the feature rather than clap's
/// "unexpected argument".
#[cfg(not(feature = "etcd"))]
fn without_etcd(_: &str) -> Result<std::convert::Infallible, String> {
    Err(
        "this build has no etcd support: build it with the `etcd` cargo feature \
         (etcd's client needs protoc to build)"
            .to_owned(),
    )
}

/// The ZooKeeper node under which `service`'s `transport` instances live.
#[cfg(feature = "zookeeper")]
fn zookeeper_path(service: &str, transport: &str) -> String {
    format!("/services/{service}/{transport}")
}

/// `host:port`, with an IPv6 host in brackets.
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(all(test, not(feature = "etcd")))]
mod tests {
    use clap::Parser;

    use super::{DiscoveryFlags, RegistryFlags};

    #[derive(Debug, Parser)]
    struct Service {
        #[command(flatten)]
        registry: RegistryFlags,
    }

    #[derive(Debug, Parser)]
    struct Client {
        #[command(flatten)]
        discovery: DiscoveryFlags,
    }

    const REFUSED: &str = "error: invalid value '127.0.0.1:2379' for '--etcd-addr \
        <ETCD_ADDR>': this build has no etcd support: build it with the `etcd` cargo feature \
        (etcd's client needs protoc to build)";

    #[test]
    fn etcd_addr_without_the_feature_names_it() {
        let args = ["svc", "--etcd-addr", "127.0.0.1:2379"];
        let service = Service::try_parse_from(args).unwrap_err();
        let client = Client::try_parse_from(args).unwrap_err();
        for err in [service, client] {
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
            assert_eq!(err.to_string().lines().next(), Some(REFUSED));
        }
    }
}
