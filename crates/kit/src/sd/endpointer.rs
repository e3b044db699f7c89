use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::{Entry, Instance, Instancer, Subscription};
use crate::{Context, Error};

/// Makes the endpoint for an instance (Go kit's `sd.Factory`): typically a client of some
/// transport pointed at the instance's address.
///
/// The endpoint's closer is its `Drop`: when its instance leaves the registry, the
/// [`Endpointer`] drops it, and calls still in flight on it finish first (each holds it).
/// An endpoint that needs an explicit close (a connection to shut down politely) runs it in
/// its `Drop`, or is wrapped in [`Closing`].
///
/// A factory that fails for one instance leaves that instance out (it is logged and tried
/// again at the registry's next change); the other instances still serve.
pub trait Factory<E>: Send + Sync + 'static {
    /// The endpoint for `instance`.
    fn make(&self, instance: &Instance) -> Result<E, Error>;
}

impl<E, F> Factory<E> for F
where
    F: Fn(&Instance) -> Result<E, Error> + Send + Sync + 'static,
{
    fn make(&self, instance: &Instance) -> Result<E, Error> {
        self(instance)
    }
}

/// An endpoint with a closer of its own, run once when the endpoint is dropped: when its
/// instance has left the registry and its last call has finished.
pub struct Closing<E> {
    endpoint: E,
    closer: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl<E> Closing<E> {
    /// `endpoint`, with `closer` to run when it goes.
    pub fn new(endpoint: E, closer: impl FnOnce() + Send + Sync + 'static) -> Closing<E> {
        Closing {
            endpoint,
            closer: Some(Box::new(closer)),
        }
    }
}

impl<E> std::ops::Deref for Closing<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.endpoint
    }
}

impl<E> Drop for Closing<E> {
    fn drop(&mut self) {
        if let Some(closer) = self.closer.take() {
            closer();
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for Closing<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closing")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl<Req, E> crate::Endpoint<Req> for Closing<E>
where
    E: crate::Endpoint<Req>,
    Req: Send,
{
    type Response = E::Response;

    fn call(
        &self,
        ctx: Context,
        req: Req,
    ) -> impl std::future::Future<Output = Result<E::Response, Error>> + Send {
        self.endpoint.call(ctx, req)
    }
}

/// Turns an [`Instancer`]'s instances into endpoints through a [`Factory`], and keeps them
/// (Go kit's `sd.Endpointer`).
///
/// - An instance keeps its endpoint for as long as it stays in the registry: the factory
///   runs once per instance, when it appears, and its endpoint is dropped (closed) when it
///   goes. An update that races with calls never drops or duplicates an instance: each
///   update is applied whole, under one lock, against the instances already held.
/// - While the registry fails, the last good set is kept. With
///   [`EndpointerOptions::invalidate_after`], it is dropped once the registry has been
///   failing for that long, and calls fail until the registry answers again.
/// - Updates are applied by a background task as they come (so that endpoints of removed
///   instances close promptly), and by the next read if it gets there first.
///
/// Cheap to clone: clones share the endpoints.
pub struct Endpointer<E> {
    shared: Arc<Shared<E>>,
}

impl<E> Clone for Endpointer<E> {
    fn clone(&self) -> Self {
        Endpointer {
            shared: self.shared.clone(),
        }
    }
}

struct Shared<E> {
    instancer: Instancer,
    factory: Box<dyn Factory<E>>,
    options: EndpointerOptions,
    state: Mutex<State<E>>,
}

struct State<E> {
    events: Subscription,
    held: BTreeMap<Instance, Arc<Entry<E>>>,
    current: Endpoints<E>,
    /// Since when the registry has been failing, if it is.
    failing_since: Option<Instant>,
}

/// How an [`Endpointer`] treats a failing registry.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct EndpointerOptions {
    /// Drop the endpoints once the registry has been failing for this long (Go kit's
    /// `InvalidateOnError`); `None` (the default) keeps them for as long as it fails.
    pub invalidate_after: Option<Duration>,
}

impl EndpointerOptions {
    /// These options, dropping the endpoints once the registry has been failing for `grace`.
    pub fn invalidate_after(mut self, grace: Duration) -> EndpointerOptions {
        self.invalidate_after = Some(grace);
        self
    }
}

/// A snapshot of an [`Endpointer`]'s endpoints, in instance order.
pub struct Endpoints<E> {
    entries: Arc<[Arc<Entry<E>>]>,
    error: Option<Arc<Error>>,
    resolved: bool,
}

impl<E> Clone for Endpoints<E> {
    fn clone(&self) -> Self {
        Endpoints {
            entries: self.entries.clone(),
            error: self.error.clone(),
            resolved: self.resolved,
        }
    }
}

impl<E> Endpoints<E> {
    /// The endpoints, with their instances and statistics, in instance order.
    pub fn entries(&self) -> &[Arc<Entry<E>>] {
        &self.entries
    }

    /// The registry's error, if its latest read failed.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_deref()
    }

    /// The registry's error, shared.
    pub(super) fn shared_error(&self) -> Option<Arc<Error>> {
        self.error.clone()
    }

    /// Whether the registry has answered at all.
    pub fn is_resolved(&self) -> bool {
        self.resolved
    }
}

impl<E> Endpointer<E>
where
    E: Send + Sync + 'static,
{
    /// Endpoints for `instancer`'s instances, made by `factory`, with the default
    /// [`EndpointerOptions`].
    ///
    /// Within a tokio runtime, a background task applies updates as they come; outside one,
    /// each read applies what came since the last.
    pub fn new(instancer: &Instancer, factory: impl Factory<E>) -> Endpointer<E> {
        Self::with_options(instancer, factory, EndpointerOptions::default())
    }

    /// Endpoints for `instancer`'s instances, made by `factory`, with `options`.
    pub fn with_options(
        instancer: &Instancer,
        factory: impl Factory<E>,
        options: EndpointerOptions,
    ) -> Endpointer<E> {
        let state = State {
            events: instancer.subscribe(),
            held: BTreeMap::new(),
            current: Endpoints {
                entries: Arc::new([]),
                error: None,
                resolved: false,
            },
            failing_since: None,
        };
        let shared = Arc::new(Shared {
            instancer: instancer.clone(),
            factory: Box::new(factory),
            options,
            state: Mutex::new(state),
        });
        let endpointer = Endpointer { shared };
        endpointer.refresh(true);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(follow(
                Arc::downgrade(&endpointer.shared),
                instancer.subscribe(),
            ));
        }
        endpointer
    }

    /// The current endpoints (applying any update not yet applied).
    pub fn endpoints(&self) -> Endpoints<E> {
        self.refresh(false)
    }

    /// The current endpoints once the registry has answered: waits for its first answer
    /// within the context's deadline.
    pub async fn ready(&self, ctx: &Context) -> Result<Endpoints<E>, Error> {
        let endpoints = self.endpoints();
        if endpoints.resolved {
            return Ok(endpoints);
        }
        let mut events = self.shared.instancer.subscribe();
        ctx.run(async {
            loop {
                let endpoints = self.endpoints();
                if endpoints.resolved {
                    return Ok(endpoints);
                }
                if events.next().await.is_none() {
                    return Ok(self.endpoints());
                }
            }
        })
        .await
    }

    /// Applies the latest event if it is new (or `force`), and the invalidation deadline;
    /// returns the endpoints.
    fn refresh(&self, force: bool) -> Endpoints<E> {
        let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        if force || state.events.has_changed() {
            let event = state.events.latest();
            state.current.resolved = event.is_resolved();
            state.current.error = event.shared_error();
            if event.error().is_some() {
                state.failing_since.get_or_insert_with(Instant::now);
            } else {
                state.failing_since = None;
            }
            self.hold(&mut state, event.instances());
        } else if self.invalidated(&state) && !state.held.is_empty() {
            self.hold(&mut state, &[]);
        }
        state.current.clone()
    }

    /// Whether the registry has been failing for longer than the grace period.
    fn invalidated(&self, state: &State<E>) -> bool {
        match (self.shared.options.invalidate_after, state.failing_since) {
            (Some(grace), Some(since)) => since.elapsed() >= grace,
            _ => false,
        }
    }

    /// Holds endpoints for `instances` (none once invalidated): kept ones stay as they are,
    /// new ones are made, and the rest are dropped (closed once idle).
    fn hold(&self, state: &mut State<E>, instances: &[Instance]) {
        let instances = if self.invalidated(state) {
            &[]
        } else {
            instances
        };
        let mut held = BTreeMap::new();
        for instance in instances {
            if let Some(entry) = state.held.remove(instance) {
                held.insert(instance.clone(), entry);
                continue;
            }
            match self.shared.factory.make(instance) {
                Ok(endpoint) => {
                    let entry = Arc::new(Entry::new(instance.clone(), endpoint));
                    held.insert(instance.clone(), entry);
                }
                Err(err) => {
                    tracing::warn!(instance = %instance, error = %err, "sd: no endpoint for instance");
                }
            }
        }
        state.held = held;
        state.current.entries = state.held.values().cloned().collect();
    }

    /// When the endpoints are to be invalidated: if the registry is failing, a grace period
    /// is set and endpoints are still held.
    fn invalidation_due(&self) -> Option<Instant> {
        let state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.held.is_empty() {
            return None;
        }
        Some(state.failing_since? + self.shared.options.invalidate_after?)
    }
}

/// The background task of an endpointer: applies each update as it comes, and the
/// invalidation when it is due, until the endpointer is dropped.
async fn follow<E: Send + Sync + 'static>(shared: Weak<Shared<E>>, mut events: Subscription) {
    loop {
        let due = match shared.upgrade() {
            Some(shared) => {
                let endpointer = Endpointer { shared };
                endpointer.refresh(false);
                endpointer.invalidation_due()
            }
            None => return,
        };
        let next = async {
            match due {
                Some(due) => tokio::time::timeout_at(due, events.next()).await.ok(),
                None => Some(events.next().await),
            }
        };
        if let Some(None) = next.await {
            // The source is gone for good: nothing more will change.
            return;
        }
    }
}

impl<E> fmt::Debug for Endpointer<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("Endpointer")
            .field("instances", &state.held.keys().collect::<Vec<_>>())
            .field("error", &state.current.error)
            .finish_non_exhaustive()
    }
}
