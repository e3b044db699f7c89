//! The polling loop: one answer after another, each read whole into a set of instances.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::future::join_all;
use hickory_resolver::TokioResolver;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{Name, RData};
use kit::Error;
use kit::middleware::retry::Backoff;
use kit::sd::{Instance, Publisher};

/// The waits before asking again after failures in a row: drawn at random up to a ceiling
/// from 1 s, doubling, up to 30 s (and never beyond the poll interval).
const BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));

/// Asks for `name`'s records and publishes what it reads, forever: next after the
/// interval or the answer's shortest TTL, whichever comes first; after a failure, after a
/// growing backoff.
pub(crate) async fn run(
    resolver: TokioResolver,
    name: Name,
    interval: Duration,
    publisher: Publisher,
) {
    let mut waits = BACKOFF.waits();
    loop {
        let wait = match resolve(&resolver, &name).await {
            Ok(answer) => {
                waits.reset();
                publisher.update(answer.instances);
                answer
                    .ttl
                    .shortest()
                    .map_or(interval, |ttl| ttl.min(interval))
            }
            Err(err) => {
                tracing::warn!(name = %name, error = %err, "dns srv: no answer; last instances kept");
                publisher.fail(err);
                waits.next_delay().min(interval)
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// One answer, read whole.
#[derive(Debug)]
struct Answer {
    instances: Vec<Instance>,
    ttl: Ttl,
}

/// The shortest TTL among the records an answer was made of, zeros left out: a TTL of 0
/// means "do not cache", which the next poll honours anyway, so it leaves the interval in
/// charge instead of asking again at once.
#[derive(Debug, Default)]
struct Ttl(Option<u32>);

impl Ttl {
    fn include(&mut self, seconds: u32) {
        if seconds > 0 {
            self.0 = Some(self.0.map_or(seconds, |shortest| shortest.min(seconds)));
        }
    }

    fn shortest(&self) -> Option<Duration> {
        self.0
            .map(|seconds| Duration::from_secs(u64::from(seconds)))
    }
}

/// Reads `name`'s SRV records and the addresses of their targets into instances.
async fn resolve(resolver: &TokioResolver, name: &Name) -> Result<Answer, Error> {
    // Each poll asks the server: hickory's cache would answer from the last poll until the
    // TTL ran out, so the interval would be in charge of nothing.
    resolver.clear_cache();
    let mut ttl = Ttl::default();
    let srv = match resolver.srv_lookup(name.clone()).await {
        Ok(srv) => srv,
        Err(err) if err.is_no_records_found() => {
            // The name does not exist, or has no SRV records: the service has no
            // instances. Ask again when the negative answer expires, if sooner.
            if let Some(seconds) = negative_ttl(&err) {
                ttl.include(seconds);
            }
            return Ok(Answer {
                instances: Vec::new(),
                ttl,
            });
        }
        Err(err) => {
            return Err(Error::unavailable(format!(
                "dns srv {name}: lookup failed: {err}"
            )));
        }
    };

    let mut targets = Vec::new();
    for record in srv.answers() {
        // Also in the answer: CNAMEs followed on the way.
        let RData::SRV(srv) = &record.data else {
            continue;
        };
        ttl.include(record.ttl);
        if srv.target.is_root() {
            // RFC 2782: a target of "." says the service is not available at this name.
            continue;
        }
        if srv.port == 0 {
            return Err(Error::failed_precondition(format!(
                "dns srv {name}: a record has port 0 (target {}), so the answer is rejected",
                srv.target
            )));
        }
        targets.push((srv.target.clone(), srv.port));
    }

    // Each target's addresses: written as the target, or looked up (all at once).
    let mut addresses: BTreeMap<&Name, Vec<IpAddr>> = BTreeMap::new();
    let mut names = Vec::new();
    for (target, _) in &targets {
        match literal_ip(target) {
            Some(ip) => {
                addresses.insert(target, vec![ip]);
            }
            None => names.push(target),
        }
    }
    names.sort_unstable();
    names.dedup();
    let lookups = join_all(
        names
            .iter()
            .map(|&target| resolver.lookup_ip(target.clone())),
    )
    .await;
    for (target, lookup) in names.into_iter().zip(lookups) {
        let ips = addresses.entry(target).or_default();
        match lookup {
            Ok(lookup) => {
                for record in lookup.as_lookup().answers() {
                    if let Some(ip) = record.data.ip_addr() {
                        ttl.include(record.ttl);
                        ips.push(ip);
                    }
                }
            }
            Err(err) if err.is_no_records_found() => {
                tracing::warn!(name = %name, target = %target, "dns srv: target has no address; its records are left out");
                if let Some(seconds) = negative_ttl(&err) {
                    ttl.include(seconds);
                }
            }
            Err(err) => {
                return Err(Error::unavailable(format!(
                    "dns srv {name}: lookup of target {target} failed: {err}"
                )));
            }
        }
    }

    let instances = targets
        .iter()
        .flat_map(|(target, port)| {
            let ips = addresses.get(target).into_iter().flatten();
            ips.map(move |ip| Instance::from(SocketAddr::new(*ip, *port).to_string()))
        })
        .collect();
    Ok(Answer { instances, ttl })
}

/// The address a target names when it is written as one (`10.0.0.1.`): used as it is,
/// with no look-up.
fn literal_ip(target: &Name) -> Option<IpAddr> {
    target.to_ascii().trim_end_matches('.').parse().ok()
}

/// How long a "no such records" answer may be cached, when the server said (its SOA).
fn negative_ttl(err: &NetError) -> Option<u32> {
    match err {
        NetError::Dns(DnsError::NoRecordsFound(no_records)) => no_records.negative_ttl,
        _ => None,
    }
}
