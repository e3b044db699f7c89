//! The instancer: a loop of blocking queries on `/v1/health/service/<name>`.

use std::time::Duration;

use http::Method;
use kit::Error;
use kit::middleware::retry::Backoff;
use kit::sd::{Instance, Instancer, Publisher};
use kit_http::client::{path_segment, push_query};
use serde::Deserialize;

use crate::client::{Client, go_duration};

/// What an instancer asks Consul for (Go kit's `consul.NewInstancer` arguments): a
/// service's instances, those with every tag given, by default only those whose checks all
/// pass.
///
/// ```
/// use std::time::Duration;
/// use kit_sd_consul::HealthQuery;
///
/// let query = HealthQuery::new("addsvc").tag("http").wait(Duration::from_secs(60));
/// ```
#[derive(Debug, Clone)]
pub struct HealthQuery {
    service: String,
    tags: Vec<String>,
    passing_only: bool,
    wait: Duration,
    backoff: Backoff,
}

impl HealthQuery {
    /// The instances of `service` whose checks all pass; blocking queries wait up to 5
    /// minutes (Consul's default); failures are retried after 100 ms, doubling up to 30 s.
    pub fn new(service: &str) -> HealthQuery {
        HealthQuery {
            service: service.to_owned(),
            tags: Vec::new(),
            passing_only: true,
            wait: Duration::from_secs(300),
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(30)),
        }
    }

    /// Only instances with `tag` (with several, instances must have all of them).
    pub fn tag(mut self, tag: &str) -> HealthQuery {
        self.tags.push(tag.to_owned());
        self
    }

    /// Whether to leave out instances with a check that is not `passing` (default `true`).
    pub fn passing_only(mut self, passing_only: bool) -> HealthQuery {
        self.passing_only = passing_only;
        self
    }

    /// How long Consul may hold a blocking query when nothing changes (Consul caps it at 10
    /// minutes).
    pub fn wait(mut self, wait: Duration) -> HealthQuery {
        self.wait = wait;
        self
    }

    /// The waits between attempts after a failure, or an index that cannot block
    /// (each drawn at random up to the backoff's ceiling for that retry).
    pub fn backoff(mut self, backoff: Backoff) -> HealthQuery {
        self.backoff = backoff;
        self
    }

    /// The path and query of a blocking query from `index`.
    fn path(&self, index: u64) -> String {
        let mut path = format!("/v1/health/service/{}", path_segment(&self.service));
        if self.passing_only {
            push_query(&mut path, "passing", 1);
        }
        for tag in &self.tags {
            push_query(&mut path, "tag", tag);
        }
        push_query(&mut path, "index", index);
        push_query(&mut path, "wait", go_duration(self.wait));
        path
    }

    /// How long to wait for the answer to a blocking query: its wait, the up to 1/16 more
    /// Consul adds to spread wake-ups, and the normal timeout on top.
    fn timeout(&self, client: &Client) -> Duration {
        self.wait + self.wait / 16 + client.default_timeout()
    }
}

/// One entry of `/v1/health/service/<name>`: only what makes the address.
#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Node")]
    node: Node,
    #[serde(rename = "Service")]
    service: Service,
}

#[derive(Deserialize)]
struct Node {
    #[serde(rename = "Address", default)]
    address: String,
}

#[derive(Deserialize)]
struct Service {
    #[serde(rename = "Address", default)]
    address: String,
    #[serde(rename = "Port")]
    port: u16,
}

impl Entry {
    /// `Service.Address` (or the node's when empty) and `Service.Port`; IPv6 addresses in
    /// brackets.
    fn instance(&self) -> Instance {
        let host = match self.service.address.as_str() {
            "" => &self.node.address,
            address => address,
        };
        if host.contains(':') && !host.starts_with('[') {
            Instance::from(format!("[{host}]:{}", self.service.port))
        } else {
            Instance::from(format!("{host}:{}", self.service.port))
        }
    }
}

/// Starts the loop of blocking queries for `query`.
pub(crate) fn spawn(client: Client, query: HealthQuery) -> Instancer {
    Instancer::spawn(move |publisher| watch(client, query, publisher))
}

async fn watch(client: Client, query: HealthQuery, publisher: Publisher) {
    let mut index = 0;
    let mut waits = query.backoff.waits();
    loop {
        let backs_off = match health(&client, &query, index).await {
            Ok((instances, answered)) => {
                publisher.update(instances);
                let next = next_index(index, answered);
                index = next.index;
                next.back_off
            }
            Err(err) => {
                tracing::warn!(service = %query.service, error = %err, "consul: health query failed");
                publisher.fail(err);
                // The agent may come back with another history (a restart without its
                // data, a restored snapshot): start over rather than block on an index it
                // may never reach.
                index = 0;
                true
            }
        };
        if backs_off {
            waits.wait().await;
        } else {
            waits.reset();
        }
    }
}

/// One blocking query: the instances and the index answered.
async fn health(
    client: &Client,
    query: &HealthQuery,
    index: u64,
) -> Result<(Vec<Instance>, u64), Error> {
    let answer = client
        .call(Method::GET, &query.path(index), None, query.timeout(client))
        .await?;
    let answered = answer
        .head
        .headers
        .get("x-consul-index")
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
        .ok_or_else(|| {
            Error::internal(format!(
                "consul: the answer to a health query for {:?} has no valid X-Consul-Index",
                query.service
            ))
        })?;
    let entries: Vec<Entry> = serde_json::from_slice(&answer.body).map_err(|err| {
        Error::internal(format!(
            "consul: cannot read the health entries of {:?}: {err}",
            query.service
        ))
    })?;
    Ok((entries.iter().map(Entry::instance).collect(), answered))
}

/// What to ask next, after an answer.
#[derive(Debug, PartialEq, Eq)]
struct Next {
    index: u64,
    /// Whether to wait before asking: the next query would not block.
    back_off: bool,
}

/// The index rules of Consul's blocking queries, from the index `held` (sent) and the
/// index `answered`:
///
/// - an index that went backwards (a restored snapshot, a rebuilt cluster) starts over
///   from 0, whose query answers at once with the new history's index;
/// - an answered index of 0 is an agent bug that would make the next query return at once,
///   again and again: start over, after a backoff;
/// - otherwise block on the answered index.
fn next_index(held: u64, answered: u64) -> Next {
    match answered {
        0 => Next {
            index: 0,
            back_off: true,
        },
        answered if answered < held => Next {
            index: 0,
            back_off: false,
        },
        answered => Next {
            index: answered,
            back_off: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_rules() {
        let next = |index, back_off| Next { index, back_off };
        assert_eq!(next_index(0, 7), next(7, false));
        assert_eq!(next_index(7, 7), next(7, false)); // the wait ran out
        assert_eq!(next_index(7, 9), next(9, false));
        assert_eq!(next_index(9, 3), next(0, false)); // backwards: start over
        assert_eq!(next_index(9, 0), next(0, true)); // broken: back off
        assert_eq!(next_index(0, 0), next(0, true));
    }

    #[test]
    fn query_paths() {
        let query = HealthQuery::new("add svc")
            .tag("http")
            .tag("v1")
            .wait(Duration::from_secs(2));
        assert_eq!(
            query.path(42),
            "/v1/health/service/add%20svc?passing=1&tag=http&tag=v1&index=42&wait=2000ms"
        );
        let all = HealthQuery::new("addsvc").passing_only(false);
        assert_eq!(
            all.path(0),
            "/v1/health/service/addsvc?index=0&wait=300000ms"
        );
    }

    #[test]
    fn instance_addresses() {
        let entry = |node: &str, service: &str| Entry {
            node: Node {
                address: node.to_owned(),
            },
            service: Service {
                address: service.to_owned(),
                port: 8080,
            },
        };
        assert_eq!(
            entry("10.0.0.1", "10.0.0.2").instance(),
            "10.0.0.2:8080".into()
        );
        assert_eq!(entry("10.0.0.1", "").instance(), "10.0.0.1:8080".into());
        assert_eq!(entry("", "::1").instance(), "[::1]:8080".into());
    }
}
