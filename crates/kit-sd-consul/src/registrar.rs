//! The registrar: a service with a TTL check, registered with the local agent and kept
//! passing by a background task.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use kit::sd::{BoxFuture, Registrar};
use kit::{Code, Error};
use kit_http::client::path_segment;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::client::{Client, go_duration};

/// This process's instance, as the registrar registers it with the agent: a service with
/// one TTL check.
///
/// ```
/// use std::time::Duration;
/// use kit_sd_consul::Registration;
///
/// let registration = Registration::new("addsvc-1", "addsvc", "127.0.0.1", 8081)
///     .tag("http")
///     .ttl(Duration::from_secs(15));
/// ```
#[derive(Debug, Clone)]
pub struct Registration {
    id: String,
    name: String,
    address: String,
    port: u16,
    tags: Vec<String>,
    meta: BTreeMap<String, String>,
    ttl: Duration,
    deregister_critical_after: Option<Duration>,
    keep_alive: Option<Duration>,
}

impl Registration {
    /// Service `id` (unique on the agent) of service `name`, reached at `address:port`,
    /// with a TTL check of 10 seconds, passed every third of it, and removed by Consul
    /// once critical for a minute.
    pub fn new(id: &str, name: &str, address: &str, port: u16) -> Registration {
        Registration {
            id: id.to_owned(),
            name: name.to_owned(),
            address: address.to_owned(),
            port,
            tags: Vec::new(),
            meta: BTreeMap::new(),
            ttl: Duration::from_secs(10),
            deregister_critical_after: Some(Duration::from_secs(60)),
            keep_alive: None,
        }
    }

    /// With `tag`.
    pub fn tag(mut self, tag: &str) -> Registration {
        self.tags.push(tag.to_owned());
        self
    }

    /// With metadata `key = value`.
    pub fn meta(mut self, key: &str, value: &str) -> Registration {
        self.meta.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The check's TTL: the service turns critical when not passed for this long.
    pub fn ttl(mut self, ttl: Duration) -> Registration {
        self.ttl = ttl;
        self
    }

    /// How long the service may stay critical before Consul removes it (Consul's minimum is
    /// one minute); `None` keeps it, critical, until deregistered.
    pub fn deregister_critical_after(mut self, after: Option<Duration>) -> Registration {
        self.deregister_critical_after = after;
        self
    }

    /// How often the check is passed (default: a third of the TTL).
    pub fn keep_alive_every(mut self, every: Duration) -> Registration {
        self.keep_alive = Some(every);
        self
    }

    /// The id of its TTL check: `service:<id>`.
    pub fn check_id(&self) -> String {
        format!("service:{}", self.id)
    }

    fn keep_alive(&self) -> Duration {
        self.keep_alive.unwrap_or(self.ttl / 3)
    }

    /// The body of `PUT /v1/agent/service/register`.
    fn body(&self) -> Bytes {
        let mut check = json!({
            "CheckID": self.check_id(),
            "Name": format!("Service '{}' TTL", self.name),
            "TTL": go_duration(self.ttl),
            // Passing from the start, so that the instance serves as soon as registered.
            "Status": "passing",
        });
        if let Some(after) = self.deregister_critical_after {
            check["DeregisterCriticalServiceAfter"] = go_duration(after).into();
        }
        let body = json!({
            "ID": self.id,
            "Name": self.name,
            "Address": self.address,
            "Port": self.port,
            "Tags": self.tags,
            "Meta": self.meta,
            "Check": check,
        });
        Bytes::from(body.to_string())
    }
}

/// Registers a [`Registration`] with the agent and keeps its TTL check passing (Go kit's
/// `consul.Registrar`, with the TTL check Go kit leaves to its users).
///
/// - [`register`](Registrar::register) returns once the agent has the service, with its
///   check passing; a background task then passes the check every
///   [`keep_alive_every`](Registration::keep_alive_every). When the agent no longer knows
///   the check (restarted without its data, or the service was reaped after being critical),
///   the task registers the service again.
/// - [`deregister`](Registrar::deregister) stops the task and removes the service; a service
///   already gone counts as removed.
/// - Dropping the registrar stops the task without deregistering: the check then turns
///   critical after its TTL and Consul removes the service after
///   [`deregister_critical_after`](Registration::deregister_critical_after).
#[derive(Debug)]
pub struct ConsulRegistrar {
    client: Client,
    registration: Registration,
    keep_alive: Mutex<Option<JoinHandle<()>>>,
}

impl ConsulRegistrar {
    pub(crate) fn new(client: Client, registration: Registration) -> ConsulRegistrar {
        ConsulRegistrar {
            client,
            registration,
            keep_alive: Mutex::new(None),
        }
    }

    /// Replaces the keep-alive task with `task` (none: stops it).
    fn set_keep_alive(&self, task: Option<JoinHandle<()>>) {
        let previous = std::mem::replace(
            &mut *self
                .keep_alive
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            task,
        );
        if let Some(previous) = previous {
            previous.abort();
        }
    }
}

impl Registrar for ConsulRegistrar {
    fn register(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            self.set_keep_alive(None);
            register(&self.client, &self.registration).await?;
            let task = tokio::spawn(keep_alive(self.client.clone(), self.registration.clone()));
            self.set_keep_alive(Some(task));
            Ok(())
        })
    }

    fn deregister(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            self.set_keep_alive(None);
            let path = format!(
                "/v1/agent/service/deregister/{}",
                path_segment(&self.registration.id)
            );
            match self
                .client
                .call(Method::PUT, &path, None, self.client.default_timeout())
                .await
            {
                Ok(_) => Ok(()),
                Err(err) if err.code() == Code::NotFound => Ok(()),
                Err(err) => Err(err),
            }
        })
    }
}

impl Drop for ConsulRegistrar {
    fn drop(&mut self) {
        self.set_keep_alive(None);
    }
}

async fn register(client: &Client, registration: &Registration) -> Result<(), Error> {
    client
        .call(
            Method::PUT,
            "/v1/agent/service/register",
            Some(registration.body()),
            client.default_timeout(),
        )
        .await?;
    Ok(())
}

/// Passes the check at its interval until aborted; registers again when the agent has
/// lost it.
async fn keep_alive(client: Client, registration: Registration) {
    let path = format!(
        "/v1/agent/check/pass/{}",
        path_segment(registration.check_id())
    );
    let mut ticks = tokio::time::interval(registration.keep_alive());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is now: the check was passed by the registration itself.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let passed = client
            .call(Method::PUT, &path, None, client.default_timeout())
            .await;
        match passed {
            Ok(_) => {}
            Err(err) if check_unknown(&err) => {
                tracing::info!(service = %registration.id, "consul: the agent lost the service; registering it again");
                if let Err(err) = register(&client, &registration).await {
                    tracing::warn!(service = %registration.id, error = %err, "consul: registering again failed");
                }
            }
            Err(err) => {
                tracing::warn!(service = %registration.id, error = %err, "consul: passing the TTL check failed");
            }
        }
    }
}

/// Whether a failed pass says the agent does not know the check: `404` from Consul 1.x,
/// a `500` "does not have associated TTL" from older agents.
fn check_unknown(err: &Error) -> bool {
    err.code() == Code::NotFound
        || (err.code() == Code::Internal && err.message().contains("does not have associated TTL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_body() {
        let registration = Registration::new("a-1", "a", "127.0.0.1", 80)
            .tag("http")
            .meta("zone", "z1")
            .ttl(Duration::from_secs(3));
        let body: serde_json::Value = serde_json::from_slice(&registration.body()).unwrap();
        assert_eq!(
            body,
            json!({
                "ID": "a-1", "Name": "a", "Address": "127.0.0.1", "Port": 80,
                "Tags": ["http"], "Meta": {"zone": "z1"},
                "Check": {
                    "CheckID": "service:a-1", "Name": "Service 'a' TTL", "TTL": "3000ms",
                    "Status": "passing", "DeregisterCriticalServiceAfter": "60000ms",
                },
            })
        );
        assert_eq!(registration.keep_alive(), Duration::from_secs(1));
    }

    #[test]
    fn unknown_checks_old_and_new() {
        assert!(check_unknown(&Error::not_found("Unknown check ID")));
        assert!(check_unknown(&Error::internal(
            "consul at x: PUT /v1/agent/check/pass/service:a: 500 Internal Server Error: CheckID \"service:a\" does not have associated TTL"
        )));
        assert!(!check_unknown(&Error::internal("boom")));
        assert!(!check_unknown(&Error::unavailable("connection refused")));
    }
}
