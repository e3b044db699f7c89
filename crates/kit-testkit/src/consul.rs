//! A Consul stand-in: the part of Consul's HTTP API that service discovery uses, served
//! in-process on a loopback port.
//!
//! Consul cannot be installed on the machines kit is built on (Debian has no package for
//! it), so the tests of `kit-sd-consul` run against this instead. It follows Consul's
//! documented HTTP API (v1) for:
//!
//! - `GET /v1/health/service/<name>` with `passing`, `tag` (repeatable: every tag must be
//!   present), and **blocking queries**: `index` and `wait` (Go duration syntax, default 5
//!   minutes, at most 10): a query whose `index` is not older than the service's current
//!   index is held until the service changes or the wait is over, and every answer carries
//!   `X-Consul-Index`. Indexes are kept per service name, as Consul does for this endpoint.
//! - `PUT /v1/agent/service/register` with `Check` or `Checks` of the TTL kind only
//!   (`TTL`, `Status`, `DeregisterCriticalServiceAfter`, `CheckID`, `Name`): a TTL check
//!   turns `critical` when not passed within its TTL; a service whose check has been
//!   critical for `DeregisterCriticalServiceAfter` is removed.
//! - `PUT /v1/agent/check/pass/<check id>` (`404` for an unknown check, as Consul 1.x
//!   answers) and `PUT /v1/agent/service/deregister/<service id>` (`404` for an unknown
//!   service).
//! - ACLs, when [`ConsulStandIn::require_acl_token`] is set: a request without the
//!   `X-Consul-Token` header gets `403 Permission denied`, one with another token
//!   `403 ACL not found`.
//!
//! Where it is simpler than Consul, on purpose: one node ([`NODE_NAME`] at
//! [`NODE_ADDRESS`]) that is always healthy; no jitter added to a blocking query's wait;
//! TTL checks expire and critical services are reaped at their exact deadlines (Consul reaps
//! every 30 seconds, and enforces a minimum of one minute for
//! `DeregisterCriticalServiceAfter`); reads without a token are refused rather than
//! filtered; state lives in memory and is lost on [`ConsulStandIn::restart`], as on an
//! agent restarted without its data directory.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use kit_testkit::consul::{ConsulStandIn, Health, Service};
//!
//! let consul = ConsulStandIn::start().await;
//! consul.add_service(Service::new("web-1", "web", "10.0.0.1", 8080).tag("http"));
//! consul.set_health("web-1", Health::Critical);
//! assert_eq!(consul.service_ids(), ["web-1"]);
//! # }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::free_addr;
use crate::stand_in::{Server, json as json_response, query_values, text};

/// The name of the stand-in's one node.
pub const NODE_NAME: &str = "stand-in";

/// The address of the stand-in's one node: a service registered without an address is
/// reached there.
pub const NODE_ADDRESS: &str = "127.0.0.1";

/// The longest blocking query Consul holds.
const MAX_WAIT: Duration = Duration::from_secs(600);

/// The wait of a blocking query that names none.
const DEFAULT_WAIT: Duration = Duration::from_secs(300);

/// A check's status, as Consul names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// `passing`.
    Passing,
    /// `warning`: not passing, so left out of `passing` queries.
    Warning,
    /// `critical`.
    Critical,
}

impl Health {
    fn name(self) -> &'static str {
        match self {
            Health::Passing => "passing",
            Health::Warning => "warning",
            Health::Critical => "critical",
        }
    }

    fn parse(name: &str) -> Option<Health> {
        match name {
            "passing" => Some(Health::Passing),
            "warning" => Some(Health::Warning),
            "critical" => Some(Health::Critical),
            _ => None,
        }
    }
}

/// A service put into the stand-in directly by a test ([`ConsulStandIn::add_service`]),
/// with one check whose status the test sets ([`ConsulStandIn::set_health`]).
#[derive(Debug, Clone)]
pub struct Service {
    id: String,
    name: String,
    address: String,
    port: u16,
    tags: Vec<String>,
    health: Health,
    ttl: Option<Duration>,
}

impl Service {
    /// Service `id` of service `name` at `address:port` (an empty address means the
    /// node's), passing, without tags.
    pub fn new(id: &str, name: &str, address: &str, port: u16) -> Service {
        Service {
            id: id.to_owned(),
            name: name.to_owned(),
            address: address.to_owned(),
            port,
            tags: Vec::new(),
            health: Health::Passing,
            ttl: None,
        }
    }

    /// With `tag`.
    pub fn tag(mut self, tag: &str) -> Service {
        self.tags.push(tag.to_owned());
        self
    }

    /// With its check in `health` at the start.
    pub fn health(mut self, health: Health) -> Service {
        self.health = health;
        self
    }

    /// With a TTL check instead: it turns critical `ttl` after being added (nobody passes
    /// it), and the service is removed once it has been critical for `ttl` again.
    pub fn ttl(mut self, ttl: Duration) -> Service {
        self.ttl = Some(ttl);
        self
    }
}

/// A Consul stand-in on a loopback port; see the [module docs](self). Stopped when dropped.
#[derive(Debug)]
pub struct ConsulStandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    server: Server,
    reaper: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The last index handed out.
    index: u64,
    /// Per service name: the index of its last change.
    name_index: HashMap<String, u64>,
    services: BTreeMap<String, Registered>,
    acl_token: Option<String>,
    /// Sends `index` after each change: wakes blocking queries and the reaper.
    changes: watch::Sender<u64>,
    health_requests: u64,
    last_health_index: Option<u64>,
    registrations: HashMap<String, u64>,
    passes: HashMap<String, u64>,
}

#[derive(Debug)]
struct Registered {
    id: String,
    name: String,
    address: String,
    port: u64,
    tags: Vec<String>,
    meta: Value,
    checks: Vec<Check>,
}

#[derive(Debug)]
struct Check {
    id: String,
    name: String,
    status: Health,
    ttl: Option<Duration>,
    /// When a TTL check not passed again turns critical.
    expires: Option<Instant>,
    deregister_after: Option<Duration>,
    critical_since: Option<Instant>,
}

impl Check {
    fn set_status(&mut self, status: Health, now: Instant) -> bool {
        if self.status == status {
            return false;
        }
        self.status = status;
        self.critical_since = (status == Health::Critical).then_some(now);
        true
    }
}

impl ConsulStandIn {
    /// Starts a stand-in on a free loopback port.
    pub async fn start() -> ConsulStandIn {
        ConsulStandIn::start_on(free_addr()).await
    }

    /// Starts a stand-in on `addr` (for a test that had clients wait for it there).
    ///
    /// # Panics
    ///
    /// If `addr` cannot be bound.
    pub async fn start_on(addr: SocketAddr) -> ConsulStandIn {
        let mut consul = ConsulStandIn {
            addr,
            shared: Shared::new(None),
            running: None,
        };
        consul.run().await;
        consul
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requires `token` in every request's `X-Consul-Token` header from now on.
    pub fn require_acl_token(&self, token: &str) {
        self.shared.lock().acl_token = Some(token.to_owned());
    }

    /// Stops serving, as a crashed agent would: held queries end with their connections.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.reaper.abort();
            running.server.stop().await;
        }
    }

    /// Stops (if running) and starts again on the same address with no services, a lower
    /// index, and the same ACL token: an agent restarted without its data.
    pub async fn restart(&mut self) {
        self.stop().await;
        let token = self.shared.lock().acl_token.clone();
        self.shared = Shared::new(token);
        self.run().await;
    }

    async fn run(&mut self) {
        let shared = self.shared.clone();
        let server = Server::start(self.addr, move |request| {
            let shared = shared.clone();
            async move { shared.handle(request).await }
        })
        .await
        .unwrap_or_else(|err| panic!("consul stand-in: cannot listen on {}: {err}", self.addr));
        let reaper = tokio::spawn(reap(self.shared.clone()));
        self.running = Some(Running { server, reaper });
    }

    /// Adds `service` (replacing one with its id), as if registered with the agent.
    pub fn add_service(&self, service: Service) {
        let now = Instant::now();
        let check = Check {
            id: format!("service:{}", service.id),
            name: format!("Service '{}' check", service.name),
            status: service.health,
            ttl: service.ttl,
            expires: service.ttl.map(|ttl| now + ttl),
            deregister_after: service.ttl,
            critical_since: (service.health == Health::Critical).then_some(now),
        };
        let mut state = self.shared.lock();
        state.insert(Registered {
            id: service.id,
            name: service.name,
            address: service.address,
            port: service.port.into(),
            tags: service.tags,
            meta: json!({}),
            checks: vec![check],
        });
    }

    /// Sets the status of every check of service `id`.
    ///
    /// # Panics
    ///
    /// If there is no such service.
    pub fn set_health(&self, id: &str, health: Health) {
        let now = Instant::now();
        let mut state = self.shared.lock();
        let service = state
            .services
            .get_mut(id)
            .unwrap_or_else(|| panic!("consul stand-in: no service {id:?}"));
        let mut changed = false;
        for check in &mut service.checks {
            changed |= check.set_status(health, now);
        }
        if changed {
            let name = service.name.clone();
            state.touch(&name);
        }
    }

    /// Removes service `id`, if present.
    pub fn remove_service(&self, id: &str) {
        let mut state = self.shared.lock();
        if let Some(service) = state.services.remove(id) {
            state.touch(&service.name);
        }
    }

    /// The ids of the services it holds, sorted.
    pub fn service_ids(&self) -> Vec<String> {
        self.shared.lock().services.keys().cloned().collect()
    }

    /// The status of service `id`'s checks: the worst of them, `None` without the service.
    pub fn health_of(&self, id: &str) -> Option<Health> {
        let state = self.shared.lock();
        let service = state.services.get(id)?;
        Some(worst(&service.checks))
    }

    /// Sets every index back to `index`, as restoring an older snapshot does: clients that
    /// hold a newer index must notice that it went backwards.
    pub fn rewind_index(&self, index: u64) {
        let mut state = self.shared.lock();
        state.index = index;
        for value in state.name_index.values_mut() {
            *value = index;
        }
    }

    /// How many `GET /v1/health/service/...` requests it has answered (since its last
    /// start).
    pub fn health_requests(&self) -> u64 {
        self.shared.lock().health_requests
    }

    /// The `index` of the last `GET /v1/health/service/...` request (0 when it had none).
    pub fn last_health_index(&self) -> Option<u64> {
        self.shared.lock().last_health_index
    }

    /// How many times service `id` was registered through the agent API.
    pub fn registrations(&self, id: &str) -> u64 {
        self.shared
            .lock()
            .registrations
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    /// How many times check `id` was passed through the agent API.
    pub fn check_passes(&self, id: &str) -> u64 {
        self.shared.lock().passes.get(id).copied().unwrap_or(0)
    }
}

impl Drop for ConsulStandIn {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.reaper.abort();
        }
    }
}

impl Shared {
    fn new(acl_token: Option<String>) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State {
                index: 1,
                name_index: HashMap::new(),
                services: BTreeMap::new(),
                acl_token,
                changes: watch::channel(1).0,
                health_requests: 0,
                last_health_index: None,
                registrations: HashMap::new(),
                passes: HashMap::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn handle(&self, request: Request<Bytes>) -> Response<Full<Bytes>> {
        if let Some(refused) = self.refuse_token(&request) {
            return refused;
        }
        let path = request.uri().path().to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = request.method().clone();
        match (method, segments.as_slice()) {
            (Method::GET, ["v1", "health", "service", name]) => {
                self.health_service(&request, name).await
            }
            (Method::PUT, ["v1", "agent", "service", "register"]) => self.register(&request),
            (Method::PUT, ["v1", "agent", "check", "pass", check_id]) => self.pass(check_id),
            (Method::PUT, ["v1", "agent", "service", "deregister", id]) => self.deregister(id),
            (_, ["v1", "health", "service", _])
            | (_, ["v1", "agent", "service", "register"])
            | (_, ["v1", "agent", "check", "pass", _])
            | (_, ["v1", "agent", "service", "deregister", _]) => {
                text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
            }
            _ => text(StatusCode::NOT_FOUND, format!("no such endpoint: {path}")),
        }
    }

    fn refuse_token(&self, request: &Request<Bytes>) -> Option<Response<Full<Bytes>>> {
        let state = self.lock();
        let required = state.acl_token.as_deref()?;
        let given = request
            .headers()
            .get("x-consul-token")
            .and_then(|value| value.to_str().ok());
        match given {
            Some(token) if token == required => None,
            Some(_) => Some(text(StatusCode::FORBIDDEN, "ACL not found")),
            None => Some(text(StatusCode::FORBIDDEN, "Permission denied")),
        }
    }

    async fn health_service(&self, request: &Request<Bytes>, name: &str) -> Response<Full<Bytes>> {
        let passing_only = query_values(request, "passing")
            .next()
            .is_some_and(|value| value != "false" && value != "0");
        let tags: Vec<String> = query_values(request, "tag").collect();
        let wanted_index = match query_values(request, "index").next() {
            None => 0,
            Some(value) => match value.parse::<u64>() {
                Ok(index) => index,
                Err(_) => return text(StatusCode::BAD_REQUEST, "Invalid index"),
            },
        };
        let wait = match query_values(request, "wait").next() {
            None => DEFAULT_WAIT,
            Some(value) => match parse_duration(&value) {
                Some(wait) => wait.min(MAX_WAIT),
                None => return text(StatusCode::BAD_REQUEST, "Invalid wait time"),
            },
        };
        let deadline = Instant::now() + wait;
        let mut changes = {
            let mut state = self.lock();
            state.health_requests += 1;
            state.last_health_index = Some(wanted_index);
            state.changes.subscribe()
        };
        loop {
            let answer = {
                let state = self.lock();
                let index = state.name_index.get(name).copied().unwrap_or(1);
                let ready = wanted_index == 0 || index > wanted_index;
                (ready || Instant::now() >= deadline)
                    .then(|| (index, state.entries(name, &tags, passing_only)))
            };
            if let Some((index, entries)) = answer {
                let mut response = json_response(&entries);
                let headers = response.headers_mut();
                headers.insert("x-consul-index", HeaderValue::from(index));
                headers.insert("x-consul-knownleader", HeaderValue::from_static("true"));
                headers.insert("x-consul-lastcontact", HeaderValue::from_static("0"));
                return response;
            }
            // Woken by any change (or the deadline); the loop decides whether it counts.
            let _ = timeout_at(deadline, changes.changed()).await;
        }
    }

    fn register(&self, request: &Request<Bytes>) -> Response<Full<Bytes>> {
        let body: Value = match serde_json::from_slice(request.body()) {
            Ok(body) => body,
            Err(err) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("Request decode failed: {err}"),
                );
            }
        };
        let name = body["Name"].as_str().unwrap_or_default().to_owned();
        if name.is_empty() {
            return text(StatusCode::BAD_REQUEST, "Missing service name");
        }
        let id = body["ID"]
            .as_str()
            .filter(|id| !id.is_empty())
            .unwrap_or(&name)
            .to_owned();
        let mut definitions: Vec<&Value> = Vec::new();
        if body["Check"].is_object() {
            definitions.push(&body["Check"]);
        }
        if let Some(checks) = body["Checks"].as_array() {
            definitions.extend(checks);
        }
        let now = Instant::now();
        let numbered = definitions.len() > 1;
        let mut checks = Vec::new();
        for (n, definition) in definitions.into_iter().enumerate() {
            match ttl_check(definition, &id, &name, numbered.then_some(n + 1), now) {
                Ok(check) => checks.push(check),
                Err(why) => return text(StatusCode::BAD_REQUEST, why),
            }
        }
        let tags = body["Tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .filter_map(|tag| Some(tag.as_str()?.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let mut state = self.lock();
        *state.registrations.entry(id.clone()).or_default() += 1;
        state.insert(Registered {
            id,
            name,
            address: body["Address"].as_str().unwrap_or_default().to_owned(),
            port: body["Port"].as_u64().unwrap_or(0),
            tags,
            meta: body.get("Meta").cloned().unwrap_or_else(|| json!({})),
            checks,
        });
        text(StatusCode::OK, "")
    }

    fn pass(&self, check_id: &str) -> Response<Full<Bytes>> {
        let now = Instant::now();
        let mut state = self.lock();
        let found = state.services.values_mut().find_map(|service| {
            let check = service
                .checks
                .iter_mut()
                .find(|check| check.id == check_id)?;
            Some((service.name.clone(), check))
        });
        let Some((name, check)) = found else {
            return text(
                StatusCode::NOT_FOUND,
                format!(
                    "Unknown check ID {check_id:?}. Ensure that the check ID is passed, not the check name."
                ),
            );
        };
        let Some(ttl) = check.ttl else {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("CheckID {check_id:?} does not have associated TTL"),
            );
        };
        check.expires = Some(now + ttl);
        let changed = check.set_status(Health::Passing, now);
        *state.passes.entry(check_id.to_owned()).or_default() += 1;
        if changed {
            state.touch(&name);
        } else {
            // A new expiry: the reaper must look again.
            state.changes.send_modify(|_| {});
        }
        text(StatusCode::OK, "")
    }

    fn deregister(&self, id: &str) -> Response<Full<Bytes>> {
        let mut state = self.lock();
        match state.services.remove(id) {
            Some(service) => {
                state.touch(&service.name);
                text(StatusCode::OK, "")
            }
            None => text(
                StatusCode::NOT_FOUND,
                format!(
                    "Unknown service ID {id:?}. Ensure that the service ID is passed, not the service name."
                ),
            ),
        }
    }
}

impl State {
    /// Records a change to service `name`: a new index, and a wake-up for blocked queries.
    fn touch(&mut self, name: &str) {
        self.index += 1;
        self.name_index.insert(name.to_owned(), self.index);
        self.changes.send_replace(self.index);
    }

    fn insert(&mut self, service: Registered) {
        let name = service.name.clone();
        if let Some(old) = self.services.insert(service.id.clone(), service)
            && old.name != name
        {
            self.touch(&old.name);
        }
        self.touch(&name);
    }

    /// The health entries of service `name`, as Consul answers them.
    fn entries(&self, name: &str, tags: &[String], passing_only: bool) -> Value {
        let entries: Vec<Value> = self
            .services
            .values()
            .filter(|service| service.name == name)
            .filter(|service| tags.iter().all(|tag| service.tags.contains(tag)))
            .filter(|service| !passing_only || worst(&service.checks) == Health::Passing)
            .map(|service| {
                let mut checks = vec![json!({
                    "Node": NODE_NAME, "CheckID": "serfHealth", "Name": "Serf Health Status",
                    "Status": "passing", "ServiceID": "", "ServiceName": "",
                })];
                checks.extend(service.checks.iter().map(|check| {
                    json!({
                        "Node": NODE_NAME, "CheckID": check.id, "Name": check.name,
                        "Status": check.status.name(), "ServiceID": service.id,
                        "ServiceName": service.name,
                    })
                }));
                json!({
                    "Node": {
                        "Node": NODE_NAME, "Address": NODE_ADDRESS, "Datacenter": "dc1",
                        "TaggedAddresses": {}, "Meta": {},
                    },
                    "Service": {
                        "ID": service.id, "Service": service.name, "Tags": service.tags,
                        "Address": service.address, "Port": service.port, "Meta": service.meta,
                    },
                    "Checks": checks,
                })
            })
            .collect();
        Value::Array(entries)
    }
}

/// The worst status among `checks` (passing without any).
fn worst(checks: &[Check]) -> Health {
    let rank = |health: Health| match health {
        Health::Passing => 0,
        Health::Warning => 1,
        Health::Critical => 2,
    };
    checks
        .iter()
        .map(|check| check.status)
        .max_by_key(|status| rank(*status))
        .unwrap_or(Health::Passing)
}

/// A TTL check from its definition in a registration; `number` is its position when the
/// service has several (Consul numbers their default ids).
fn ttl_check(
    definition: &Value,
    service_id: &str,
    service_name: &str,
    number: Option<usize>,
    now: Instant,
) -> Result<Check, String> {
    let ttl = definition["TTL"]
        .as_str()
        .ok_or("the stand-in supports TTL checks only")?;
    let ttl = parse_duration(ttl).ok_or_else(|| format!("invalid TTL {ttl:?}"))?;
    let deregister_after = match definition["DeregisterCriticalServiceAfter"].as_str() {
        None => None,
        Some(value) => Some(
            parse_duration(value)
                .ok_or_else(|| format!("invalid DeregisterCriticalServiceAfter {value:?}"))?,
        ),
    };
    let status = match definition["Status"].as_str() {
        None | Some("") => Health::Critical,
        Some(name) => Health::parse(name).ok_or_else(|| format!("invalid Status {name:?}"))?,
    };
    let default_id = match number {
        Some(n) => format!("service:{service_id}:{n}"),
        None => format!("service:{service_id}"),
    };
    Ok(Check {
        id: definition["CheckID"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map_or(default_id, str::to_owned),
        name: definition["Name"]
            .as_str()
            .filter(|name| !name.is_empty())
            .map_or_else(|| format!("Service '{service_name}' check"), str::to_owned),
        status,
        ttl: Some(ttl),
        expires: Some(now + ttl),
        deregister_after,
        critical_since: (status == Health::Critical).then_some(now),
    })
}

/// Turns expired TTL checks critical and removes services critical for too long, each at
/// its deadline, until the stand-in stops.
async fn reap(shared: Arc<Shared>) {
    let mut changes = shared.lock().changes.subscribe();
    loop {
        let now = Instant::now();
        let next = {
            let mut state = shared.lock();
            let mut touched = Vec::new();
            let mut removed = Vec::new();
            let mut next: Option<Instant> = None;
            for service in state.services.values_mut() {
                for check in &mut service.checks {
                    if let Some(expires) = check.expires
                        && check.status != Health::Critical
                    {
                        if expires <= now {
                            check.set_status(Health::Critical, now);
                            touched.push(service.name.clone());
                        } else {
                            next = Some(next.map_or(expires, |next| next.min(expires)));
                        }
                    }
                    if let (Some(after), Some(since)) =
                        (check.deregister_after, check.critical_since)
                    {
                        let due = since + after;
                        if due <= now {
                            removed.push(service.id.clone());
                        } else {
                            next = Some(next.map_or(due, |next| next.min(due)));
                        }
                    }
                }
            }
            for id in removed {
                if let Some(service) = state.services.remove(&id) {
                    touched.push(service.name);
                }
            }
            for name in touched {
                state.touch(&name);
            }
            changes.mark_unchanged();
            next
        };
        let far = now + Duration::from_secs(3600);
        tokio::select! {
            () = sleep_until(next.unwrap_or(far)) => {}
            _ = changes.changed() => {}
        }
    }
}

/// Reads a Go duration (`1h2m3.5s`, `250ms`, `0`): what Consul's `wait`, `TTL` and
/// `DeregisterCriticalServiceAfter` take.
fn parse_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    Some(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("5x"), None);
    }
}
