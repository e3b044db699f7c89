//! The registrar: an instance registered with Eureka and kept by heartbeats.

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

use crate::client::Client;

/// This process's instance, as the registrar registers it with Eureka.
///
/// ```
/// use std::time::Duration;
/// use kit_sd_eureka::Registration;
///
/// let registration = Registration::new("addsvc", "addsvc-1", "127.0.0.1", 8081)
///     .lease(Duration::from_secs(30))
///     .heartbeat_every(Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
pub struct Registration {
    app: String,
    id: String,
    ip: String,
    port: u16,
    host_name: Option<String>,
    vip_address: Option<String>,
    metadata: BTreeMap<String, String>,
    lease: Duration,
    heartbeat: Duration,
}

impl Registration {
    /// Instance `id` (unique within the application) of application `app` (upper-cased, as
    /// Eureka names them), reached at `ip:port`, `UP`, with Eureka clients' defaults: a
    /// lease of 90 seconds renewed every 30.
    pub fn new(app: &str, id: &str, ip: &str, port: u16) -> Registration {
        Registration {
            app: app.to_uppercase(),
            id: id.to_owned(),
            ip: ip.to_owned(),
            port,
            host_name: None,
            vip_address: None,
            metadata: BTreeMap::new(),
            lease: Duration::from_secs(90),
            heartbeat: Duration::from_secs(30),
        }
    }

    /// With `host_name` (default: the IP address).
    pub fn host_name(mut self, host_name: &str) -> Registration {
        self.host_name = Some(host_name.to_owned());
        self
    }

    /// With the VIP address `vip` (default: the application's name in lower case).
    pub fn vip_address(mut self, vip: &str) -> Registration {
        self.vip_address = Some(vip.to_owned());
        self
    }

    /// With metadata `key = value`.
    pub fn metadata(mut self, key: &str, value: &str) -> Registration {
        self.metadata.insert(key.to_owned(), value.to_owned());
        self
    }

    /// How long Eureka keeps the instance without a heartbeat (sent in whole seconds,
    /// rounded up).
    pub fn lease(mut self, lease: Duration) -> Registration {
        self.lease = lease;
        self
    }

    /// How often heartbeats are sent.
    pub fn heartbeat_every(mut self, every: Duration) -> Registration {
        self.heartbeat = every;
        self
    }

    /// `/apps/<APP>`.
    fn app_path(&self) -> String {
        format!("/apps/{}", path_segment(&self.app))
    }

    /// `/apps/<APP>/<instanceId>`.
    fn instance_path(&self) -> String {
        format!("{}/{}", self.app_path(), path_segment(&self.id))
    }

    /// The body of `POST /apps/<APP>`.
    fn body(&self) -> Bytes {
        let seconds = |duration: Duration| duration.as_secs_f64().ceil().max(1.0) as u64;
        let body = json!({"instance": {
            "instanceId": self.id,
            "app": self.app,
            "hostName": self.host_name.as_deref().unwrap_or(&self.ip),
            "ipAddr": self.ip,
            "vipAddress": self.vip_address.clone().unwrap_or_else(|| self.app.to_lowercase()),
            "status": "UP",
            "port": {"$": self.port, "@enabled": "true"},
            "securePort": {"$": 443, "@enabled": "false"},
            "dataCenterInfo": {
                "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                "name": "MyOwn",
            },
            "leaseInfo": {
                "renewalIntervalInSecs": seconds(self.heartbeat),
                "durationInSecs": seconds(self.lease),
            },
            "metadata": self.metadata,
        }});
        Bytes::from(body.to_string())
    }
}

/// Registers a [`Registration`] with Eureka and keeps it there with heartbeats.
///
/// - [`register`](Registrar::register) returns once Eureka has the instance (`204`); a
///   background task then sends a heartbeat every
///   [`heartbeat_every`](Registration::heartbeat_every). A heartbeat answered `404` (the
///   server lost the instance: restarted, or the lease ran out) registers it again, as
///   Eureka's own clients do.
/// - [`deregister`](Registrar::deregister) stops the heartbeats and cancels the instance
///   (`DELETE`); an instance already gone counts as cancelled.
/// - Dropping the registrar stops the heartbeats without deregistering: Eureka drops the
///   instance once its lease runs out.
#[derive(Debug)]
pub struct EurekaRegistrar {
    client: Client,
    registration: Registration,
    heartbeats: Mutex<Option<JoinHandle<()>>>,
}

impl EurekaRegistrar {
    pub(crate) fn new(client: Client, registration: Registration) -> EurekaRegistrar {
        EurekaRegistrar {
            client,
            registration,
            heartbeats: Mutex::new(None),
        }
    }

    /// Replaces the heartbeat task with `task` (none: stops it).
    fn set_heartbeats(&self, task: Option<JoinHandle<()>>) {
        let previous = std::mem::replace(
            &mut *self
                .heartbeats
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            task,
        );
        if let Some(previous) = previous {
            previous.abort();
        }
    }
}

impl Registrar for EurekaRegistrar {
    fn register(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            self.set_heartbeats(None);
            register(&self.client, &self.registration).await?;
            let task = tokio::spawn(heartbeats(self.client.clone(), self.registration.clone()));
            self.set_heartbeats(Some(task));
            Ok(())
        })
    }

    fn deregister(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            self.set_heartbeats(None);
            let path = self.registration.instance_path();
            match self.client.call(Method::DELETE, &path, None).await {
                Ok(_) => Ok(()),
                Err(err) if err.code() == Code::NotFound => Ok(()),
                Err(err) => Err(err),
            }
        })
    }
}

impl Drop for EurekaRegistrar {
    fn drop(&mut self) {
        self.set_heartbeats(None);
    }
}

async fn register(client: &Client, registration: &Registration) -> Result<(), Error> {
    client
        .call(
            Method::POST,
            &registration.app_path(),
            Some(registration.body()),
        )
        .await?;
    Ok(())
}

/// Sends a heartbeat at its interval until aborted; registers again when Eureka has lost
/// the instance.
async fn heartbeats(client: Client, registration: Registration) {
    let path = registration.instance_path();
    let mut ticks = tokio::time::interval(registration.heartbeat);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is now: the registration itself started the lease.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match client.call(Method::PUT, &path, None).await {
            Ok(_) => {}
            Err(err) if err.code() == Code::NotFound => {
                tracing::info!(app = %registration.app, instance = %registration.id, "eureka: the server lost the instance; registering it again");
                if let Err(err) = register(&client, &registration).await {
                    tracing::warn!(app = %registration.app, instance = %registration.id, error = %err, "eureka: registering again failed");
                }
            }
            Err(err) => {
                tracing::warn!(app = %registration.app, instance = %registration.id, error = %err, "eureka: heartbeat failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_body() {
        let registration = Registration::new("addsvc", "addsvc-1", "127.0.0.1", 8081)
            .metadata("zone", "z1")
            .lease(Duration::from_millis(2500))
            .heartbeat_every(Duration::from_millis(300));
        let body: serde_json::Value = serde_json::from_slice(&registration.body()).unwrap();
        assert_eq!(
            body,
            json!({"instance": {
                "instanceId": "addsvc-1", "app": "ADDSVC", "hostName": "127.0.0.1",
                "ipAddr": "127.0.0.1", "vipAddress": "addsvc", "status": "UP",
                "port": {"$": 8081, "@enabled": "true"},
                "securePort": {"$": 443, "@enabled": "false"},
                "dataCenterInfo": {
                    "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                    "name": "MyOwn",
                },
                "leaseInfo": {"renewalIntervalInSecs": 1, "durationInSecs": 3},
                "metadata": {"zone": "z1"},
            }})
        );
        assert_eq!(registration.instance_path(), "/apps/ADDSVC/addsvc-1");
    }
}
