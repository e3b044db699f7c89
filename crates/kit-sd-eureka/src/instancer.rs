//! The instancer: polls `GET <service URL>/apps/<APP>`.

use std::time::Duration;

use http::Method;
use kit::middleware::retry::Backoff;
use kit::sd::{Instance, Instancer, Publisher};
use kit::{Code, Error};
use kit_http::client::path_segment;
use serde::Deserialize;

use crate::client::Client;

/// What an instancer asks Eureka for: the `UP` instances of an application, read every
/// [`interval`](AppQuery::interval).
///
/// ```
/// use std::time::Duration;
/// use kit_sd_eureka::AppQuery;
///
/// let query = AppQuery::new("addsvc").interval(Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct AppQuery {
    app: String,
    interval: Duration,
    backoff: Backoff,
}

impl AppQuery {
    /// The `UP` instances of `app` (Eureka's names are upper-case; so is this one), read
    /// every 30 seconds (Eureka clients' default); failures are retried after 100 ms,
    /// doubling, never waiting longer than the interval.
    pub fn new(app: &str) -> AppQuery {
        AppQuery {
            app: app.to_uppercase(),
            interval: Duration::from_secs(30),
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(30)),
        }
    }

    /// How often to read the application.
    pub fn interval(mut self, interval: Duration) -> AppQuery {
        self.interval = interval;
        self
    }

    /// The waits before reading again after a failure (drawn at random up to the backoff's
    /// ceiling for each retry),
    /// each at most the interval.
    pub fn backoff(mut self, backoff: Backoff) -> AppQuery {
        self.backoff = backoff;
        self
    }
}

/// `GET /apps/<APP>`'s answer: only what makes the instances.
#[derive(Deserialize)]
struct AppAnswer {
    application: Application,
}

#[derive(Deserialize)]
struct Application {
    /// Older servers write a lone instance as an object, not a one-element array.
    #[serde(default)]
    instance: OneOrMany,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<EurekaInstance>),
    One(Box<EurekaInstance>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EurekaInstance {
    #[serde(default)]
    status: String,
    #[serde(default)]
    ip_addr: String,
    #[serde(default)]
    host_name: String,
    port: Port,
}

/// `{"$": 8080, "@enabled": "true"}`; the number is a string in some servers' answers.
#[derive(Deserialize)]
struct Port {
    #[serde(rename = "$")]
    number: PortNumber,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PortNumber {
    Number(u16),
    Text(String),
}

impl EurekaInstance {
    /// `ipAddr:port` (`hostName` when there is no address), if the instance is `UP`.
    fn instance(&self) -> Option<Instance> {
        if self.status != "UP" {
            return None;
        }
        let host = if self.ip_addr.is_empty() {
            &self.host_name
        } else {
            &self.ip_addr
        };
        let port = match &self.port.number {
            PortNumber::Number(port) => *port,
            PortNumber::Text(text) => text.parse().ok()?,
        };
        if host.contains(':') && !host.starts_with('[') {
            Some(Instance::from(format!("[{host}]:{port}")))
        } else {
            Some(Instance::from(format!("{host}:{port}")))
        }
    }
}

/// Starts the polling loop for `query`.
pub(crate) fn spawn(client: Client, query: AppQuery) -> Instancer {
    Instancer::spawn(move |publisher| poll(client, query, publisher))
}

async fn poll(client: Client, query: AppQuery, publisher: Publisher) {
    let mut retry = 0u32;
    loop {
        let wait = match fetch(&client, &query).await {
            Ok(instances) => {
                publisher.update(instances);
                retry = 0;
                query.interval
            }
            Err(err) => {
                tracing::warn!(app = %query.app, error = %err, "eureka: reading the application failed");
                publisher.fail(err);
                retry = retry.saturating_add(1);
                query.backoff.random_delay(retry - 1).min(query.interval)
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// The application's `UP` instances; none when Eureka does not know it (`404`: an
/// application exists only while it has instances).
async fn fetch(client: &Client, query: &AppQuery) -> Result<Vec<Instance>, Error> {
    let path = format!("/apps/{}", path_segment(&query.app));
    let answer = match client.call(Method::GET, &path, None).await {
        Ok(answer) => answer,
        Err(err) if err.code() == Code::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    up_instances(&answer.body).map_err(|err| {
        Error::internal(format!(
            "eureka: cannot read the instances of {}: {err}",
            query.app
        ))
    })
}

/// The `UP` instances in an answer to `GET /apps/<APP>`.
fn up_instances(body: &[u8]) -> serde_json::Result<Vec<Instance>> {
    let decoded: AppAnswer = serde_json::from_slice(body)?;
    let instances = match decoded.application.instance {
        OneOrMany::Many(instances) => instances,
        OneOrMany::One(instance) => vec![*instance],
    };
    Ok(instances
        .iter()
        .filter_map(EurekaInstance::instance)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Vec<Instance> {
        up_instances(json.as_bytes()).unwrap()
    }

    #[test]
    fn answers_in_every_shape() {
        let many = r#"{"application": {"name": "A", "instance": [
            {"status": "UP", "ipAddr": "10.0.0.1", "hostName": "a1", "port": {"$": 80, "@enabled": "true"}},
            {"status": "DOWN", "ipAddr": "10.0.0.2", "hostName": "a2", "port": {"$": 80, "@enabled": "true"}},
            {"status": "UP", "ipAddr": "", "hostName": "a3.example", "port": {"$": "81", "@enabled": "true"}},
            {"status": "UP", "ipAddr": "::1", "hostName": "a4", "port": {"$": 82, "@enabled": "true"}}
        ]}}"#;
        assert_eq!(
            read(many),
            ["10.0.0.1:80", "a3.example:81", "[::1]:82"].map(Instance::from)
        );
        let one = r#"{"application": {"name": "A", "instance":
            {"status": "UP", "ipAddr": "10.0.0.1", "hostName": "a1", "port": {"$": 80, "@enabled": "true"}}}}"#;
        assert_eq!(read(one), [Instance::from("10.0.0.1:80")]);
        assert!(read(r#"{"application": {"name": "A"}}"#).is_empty());
    }
}
