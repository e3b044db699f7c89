//! A Eureka stand-in: the part of Eureka's REST API that service discovery uses, served
//! in-process on a loopback port.
//!
//! A Eureka server is a Java web application that Debian does not package, so the tests of
//! `kit-sd-eureka` run against this instead. It follows Eureka's documented REST operations,
//! JSON only, under `/eureka`:
//!
//! - `POST /eureka/apps/<APP>` with `{"instance": {...}}`: registers (or replaces) an
//!   instance, `204`; `400` with Eureka's messages when `instanceId`, `hostName`, `ipAddr`,
//!   `app` (which must match the path), `dataCenterInfo` or its `name` is missing.
//! - `PUT /eureka/apps/<APP>/<instanceId>`: a heartbeat that renews the lease, `200`, or
//!   `404` for an instance it does not hold (the client is expected to register again).
//! - `DELETE /eureka/apps/<APP>/<instanceId>`: `200`, or `404`.
//! - `GET /eureka/apps/<APP>` with `Accept: application/json`: `{"application": {"name":
//!   ..., "instance": [...]}}`, every instance with its status, or `404` for an application
//!   without instances; `406` without the `Accept` header (Eureka would answer XML).
//!
//! - HTTP basic auth, when [`EurekaStandIn::require_basic_auth`] is set: a request without
//!   the right `Authorization: Basic ...` header gets `401` with `WWW-Authenticate: Basic
//!   realm="Realm"` and Spring Boot's JSON error body, as a Eureka server secured with
//!   Spring Security answers.
//!
//! Application names are upper-cased, as Eureka does. An instance whose lease
//! (`leaseInfo.durationInSecs`, default 90 seconds) passes without a heartbeat is dropped.
//!
//! Where it is simpler than Eureka, on purpose: leases expire at their exact deadlines
//! (Eureka evicts every 60 seconds, and stops evicting in self-preservation mode); answers
//! are not cached (Eureka serves reads from a cache refreshed every 30 seconds); one server,
//! no peers; state is lost on [`EurekaStandIn::restart`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use kit_testkit::eureka::{EurekaStandIn, Instance};
//!
//! let eureka = EurekaStandIn::start().await;
//! eureka.add_instance(Instance::new("web", "web-1", "10.0.0.1", 8080));
//! eureka.set_status("web", "web-1", "DOWN");
//! assert_eq!(eureka.instance_ids("WEB"), ["web-1"]);
//! # }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::free_addr;
use crate::stand_in::{Server, json as json_response, text};

/// The lease of an instance that names none, as in Eureka.
const DEFAULT_LEASE: Duration = Duration::from_secs(90);

/// An instance put into the stand-in directly by a test ([`EurekaStandIn::add_instance`]).
#[derive(Debug, Clone)]
pub struct Instance {
    app: String,
    id: String,
    ip: String,
    port: u16,
    status: String,
    lease: Duration,
}

impl Instance {
    /// Instance `id` of application `app` at `ip:port`, `UP`, with Eureka's default lease.
    pub fn new(app: &str, id: &str, ip: &str, port: u16) -> Instance {
        Instance {
            app: app.to_uppercase(),
            id: id.to_owned(),
            ip: ip.to_owned(),
            port,
            status: "UP".to_owned(),
            lease: DEFAULT_LEASE,
        }
    }

    /// With `status` (`UP`, `DOWN`, `STARTING`, `OUT_OF_SERVICE`, `UNKNOWN`).
    pub fn status(mut self, status: &str) -> Instance {
        self.status = status.to_owned();
        self
    }

    /// With a lease of `lease`: dropped that long after being added, as nobody renews it.
    pub fn lease(mut self, lease: Duration) -> Instance {
        self.lease = lease;
        self
    }
}

/// A Eureka stand-in on a loopback port; see the [module docs](self). Stopped when dropped.
#[derive(Debug)]
pub struct EurekaStandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<Server>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Application name -> instance id -> lease.
    apps: BTreeMap<String, BTreeMap<String, Lease>>,
    registrations: HashMap<(String, String), u64>,
    renewals: HashMap<(String, String), u64>,
    /// The `Authorization` header every request must carry, when basic auth is required.
    authorization: Option<String>,
}

#[derive(Debug)]
struct Lease {
    /// The instance as registered; its `status` is kept current.
    instance: Value,
    duration: Duration,
    expires: Instant,
}

impl EurekaStandIn {
    /// Starts a stand-in on a free loopback port.
    pub async fn start() -> EurekaStandIn {
        EurekaStandIn::start_on(free_addr()).await
    }

    /// Starts a stand-in on `addr` (for a test that had clients wait for it there).
    ///
    /// # Panics
    ///
    /// If `addr` cannot be bound.
    pub async fn start_on(addr: SocketAddr) -> EurekaStandIn {
        let mut eureka = EurekaStandIn {
            addr,
            shared: Arc::default(),
            server: None,
        };
        eureka.run().await;
        eureka
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requires HTTP basic auth with `user` and `password` from now on (until a restart).
    pub fn require_basic_auth(&self, user: &str, password: &str) {
        use base64::Engine as _;
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.shared.lock().authorization = Some(format!("Basic {credentials}"));
    }

    /// Its service URL, as Eureka clients are configured with: `http://<addr>/eureka`.
    pub fn url(&self) -> String {
        format!("http://{}/eureka", self.addr)
    }

    /// Stops serving, as a crashed server would.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }

    /// Stops (if running) and starts again on the same address with no instances.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.shared = Arc::default();
        self.run().await;
    }

    async fn run(&mut self) {
        let shared = self.shared.clone();
        let server = Server::start(self.addr, move |request| {
            let shared = shared.clone();
            async move { shared.handle(&request) }
        })
        .await
        .unwrap_or_else(|err| panic!("eureka stand-in: cannot listen on {}: {err}", self.addr));
        self.server = Some(server);
    }

    /// Adds `instance` (replacing one with its id).
    pub fn add_instance(&self, instance: Instance) {
        let body = json!({
            "instanceId": instance.id, "app": instance.app, "hostName": instance.ip,
            "ipAddr": instance.ip, "status": instance.status,
            "port": {"$": instance.port, "@enabled": "true"},
            "dataCenterInfo": {
                "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                "name": "MyOwn",
            },
        });
        let mut state = self.shared.lock();
        state.insert(instance.app, instance.id, body, instance.lease);
    }

    /// Sets the status of instance `id` of application `app`.
    ///
    /// # Panics
    ///
    /// If there is no such instance.
    pub fn set_status(&self, app: &str, id: &str, status: &str) {
        let mut state = self.shared.lock();
        state.purge(Instant::now());
        let lease = state
            .apps
            .get_mut(&app.to_uppercase())
            .and_then(|instances| instances.get_mut(id))
            .unwrap_or_else(|| panic!("eureka stand-in: no instance {id:?} of {app:?}"));
        lease.instance["status"] = Value::from(status);
    }

    /// The ids of application `app`'s instances (leases not expired), sorted.
    pub fn instance_ids(&self, app: &str) -> Vec<String> {
        let mut state = self.shared.lock();
        state.purge(Instant::now());
        state
            .apps
            .get(&app.to_uppercase())
            .map(|instances| instances.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// How many times instance `id` of `app` was registered through the REST API.
    pub fn registrations(&self, app: &str, id: &str) -> u64 {
        let key = (app.to_uppercase(), id.to_owned());
        self.shared
            .lock()
            .registrations
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    /// How many heartbeats instance `id` of `app` sent that renewed its lease.
    pub fn renewals(&self, app: &str, id: &str) -> u64 {
        let key = (app.to_uppercase(), id.to_owned());
        self.shared.lock().renewals.get(&key).copied().unwrap_or(0)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn handle(&self, request: &Request<Bytes>) -> Response<Full<Bytes>> {
        let path = request.uri().path().to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut state = self.lock();
        if let Some(required) = &state.authorization
            && request
                .headers()
                .get(header::AUTHORIZATION)
                .map(http::HeaderValue::as_bytes)
                != Some(required.as_bytes())
        {
            return unauthorized(&path);
        }
        state.purge(Instant::now());
        match (request.method(), segments.as_slice()) {
            (&Method::GET, ["eureka", "apps", app]) => state.application(request, app),
            (&Method::POST, ["eureka", "apps", app]) => state.register(request, app),
            (&Method::PUT, ["eureka", "apps", app, id]) => state.renew(app, id),
            (&Method::DELETE, ["eureka", "apps", app, id]) => state.cancel(app, id),
            (_, ["eureka", "apps", _] | ["eureka", "apps", _, _]) => {
                text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
            }
            _ => text(StatusCode::NOT_FOUND, format!("no such resource: {path}")),
        }
    }
}

/// Spring Security's refusal of a request without valid credentials, with Spring Boot's
/// error body.
fn unauthorized(path: &str) -> Response<Full<Bytes>> {
    let mut response = json_response(&json!({
        "timestamp": "2026-01-01T00:00:00.000+00:00",
        "status": 401,
        "error": "Unauthorized",
        "path": path,
    }));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Basic realm=\"Realm\""),
    );
    response
}

impl State {
    fn insert(&mut self, app: String, id: String, instance: Value, duration: Duration) {
        let lease = Lease {
            instance,
            duration,
            expires: Instant::now() + duration,
        };
        self.apps.entry(app).or_default().insert(id, lease);
    }

    /// Drops the leases that have expired, and the applications left without instances.
    fn purge(&mut self, now: Instant) {
        for instances in self.apps.values_mut() {
            instances.retain(|_, lease| lease.expires > now);
        }
        self.apps.retain(|_, instances| !instances.is_empty());
    }

    fn application(&self, request: &Request<Bytes>, app: &str) -> Response<Full<Bytes>> {
        let accepts_json = request
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.contains("application/json"));
        if !accepts_json {
            return text(
                StatusCode::NOT_ACCEPTABLE,
                "the stand-in answers JSON only: send Accept: application/json",
            );
        }
        let app = app.to_uppercase();
        match self.apps.get(&app) {
            Some(instances) => {
                let instances: Vec<&Value> =
                    instances.values().map(|lease| &lease.instance).collect();
                json_response(&json!({"application": {"name": app, "instance": instances}}))
            }
            None => text(StatusCode::NOT_FOUND, ""),
        }
    }

    fn register(&mut self, request: &Request<Bytes>, app: &str) -> Response<Full<Bytes>> {
        let app = app.to_uppercase();
        let body: Value = match serde_json::from_slice(request.body()) {
            Ok(body) => body,
            Err(err) => return text(StatusCode::BAD_REQUEST, format!("bad JSON: {err}")),
        };
        let instance = &body["instance"];
        let field = |name: &str| instance[name].as_str().filter(|value| !value.is_empty());
        let id = field("instanceId").or_else(|| field("hostName"));
        let refusal = if id.is_none() {
            Some("Missing instanceId".to_owned())
        } else if field("hostName").is_none() {
            Some("Missing hostname".to_owned())
        } else if field("ipAddr").is_none() {
            Some("Missing ip address".to_owned())
        } else if field("app").is_none() {
            Some("Missing appName".to_owned())
        } else if !field("app").is_some_and(|name| name.eq_ignore_ascii_case(&app)) {
            Some(format!(
                "Mismatched appName, expecting {app} but was {}",
                field("app").unwrap_or_default()
            ))
        } else if !instance["dataCenterInfo"].is_object() {
            Some("Missing dataCenterInfo".to_owned())
        } else if instance["dataCenterInfo"]["name"].as_str().is_none() {
            Some("Missing dataCenterInfo Name".to_owned())
        } else {
            None
        };
        if let Some(refusal) = refusal {
            return text(StatusCode::BAD_REQUEST, refusal);
        }
        let id = id.unwrap_or_default().to_owned();
        let duration = instance["leaseInfo"]["durationInSecs"]
            .as_u64()
            .map_or(DEFAULT_LEASE, Duration::from_secs);
        *self
            .registrations
            .entry((app.clone(), id.clone()))
            .or_default() += 1;
        let mut stored = instance.clone();
        stored["app"] = Value::from(app.as_str());
        self.insert(app, id, stored, duration);
        text(StatusCode::NO_CONTENT, "")
    }

    fn renew(&mut self, app: &str, id: &str) -> Response<Full<Bytes>> {
        let app = app.to_uppercase();
        let Some(lease) = self
            .apps
            .get_mut(&app)
            .and_then(|instances| instances.get_mut(id))
        else {
            return text(StatusCode::NOT_FOUND, "");
        };
        lease.expires = Instant::now() + lease.duration;
        *self.renewals.entry((app, id.to_owned())).or_default() += 1;
        text(StatusCode::OK, "")
    }

    fn cancel(&mut self, app: &str, id: &str) -> Response<Full<Bytes>> {
        let app = app.to_uppercase();
        let removed = self
            .apps
            .get_mut(&app)
            .and_then(|instances| instances.remove(id));
        self.apps.retain(|_, instances| !instances.is_empty());
        match removed {
            Some(_) => text(StatusCode::OK, ""),
            None => text(StatusCode::NOT_FOUND, ""),
        }
    }
}
