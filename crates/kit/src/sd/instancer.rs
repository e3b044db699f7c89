use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::{Instance, ManualRegistrar};
use crate::Error;

/// What an [`Instancer`] knows: the current set of instances, and the registry's last error
/// if its latest attempt to read them failed.
///
/// Instancers send **whole sets**, never diffs: a subscriber that misses intermediate
/// updates (a watch channel keeps only the latest) still ends up with the registry's state,
/// and nothing can be applied twice or out of order. The set is sorted and has no
/// duplicates.
#[derive(Clone, Debug, Default)]
pub struct Event {
    instances: Arc<[Instance]>,
    error: Option<Arc<Error>>,
    resolved: bool,
}

impl Event {
    /// The instances, sorted, without duplicates. After an error these are the last ones
    /// read successfully.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The registry's error, if its latest read failed.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_deref()
    }

    /// The registry's error, shared.
    pub(super) fn shared_error(&self) -> Option<Arc<Error>> {
        self.error.clone()
    }

    /// Whether the registry has answered at all (with instances or an error): `false` only
    /// before its first answer.
    pub fn is_resolved(&self) -> bool {
        self.resolved
    }
}

/// A stream of a service's instances, as a registry reports them (Go kit's `sd.Instancer`).
///
/// Cheap to clone: clones share one source. A registry's instancer runs a background task
/// (its watch or polling loop) that stops when the last clone is dropped. Subscribers read
/// the latest [`Event`] and wait for changes with [`Instancer::subscribe`].
///
/// ```
/// use kit::sd::{Instance, Instancer};
///
/// let (instancer, publisher) = Instancer::manual();
/// assert!(!instancer.current().is_resolved());
/// publisher.update(["10.0.0.2:8080", "10.0.0.1:8080", "10.0.0.1:8080"].map(Instance::from));
/// let event = instancer.current();
/// assert_eq!(event.instances(), ["10.0.0.1:8080", "10.0.0.2:8080"].map(Instance::from));
///
/// let fixed = Instancer::fixed(["127.0.0.1:8081".into()]);
/// assert_eq!(fixed.current().instances().len(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct Instancer {
    events: watch::Receiver<Event>,
    _task: Option<Arc<TaskGuard>>,
}

impl Instancer {
    /// An instancer that always reports `instances` (Go kit's `sd.FixedInstancer`).
    pub fn fixed(instances: impl IntoIterator<Item = Instance>) -> Instancer {
        let (instancer, publisher) = Instancer::manual();
        publisher.update(instances);
        instancer
    }

    /// An instancer updated from code through its [`Publisher`]: for tests, for lists read
    /// from configuration that can change, and for registries written outside kit. The
    /// publisher also makes [registrars](Publisher::registrar), for a registry that lives
    /// in the process.
    pub fn manual() -> (Instancer, Publisher) {
        let (tx, rx) = watch::channel(Event::default());
        let instancer = Instancer {
            events: rx,
            _task: None,
        };
        (instancer, Publisher { events: tx })
    }

    /// An instancer fed by `source`, a task spawned on the current tokio runtime with the
    /// publisher to report to: a registry's watch or polling loop. The task is aborted when
    /// the last clone of the instancer is dropped.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn<F, Fut>(source: F) -> Instancer
    where
        F: FnOnce(Publisher) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (mut instancer, publisher) = Instancer::manual();
        let task = tokio::spawn(source(publisher));
        instancer._task = Some(Arc::new(TaskGuard(task.abort_handle())));
        instancer
    }

    /// The latest event.
    pub fn current(&self) -> Event {
        self.events.borrow().clone()
    }

    /// A receiver of events: it holds the latest and is told of each change (intermediate
    /// ones may be skipped, never the latest). It keeps the source's task running while held.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            events: self.events.clone(),
            _task: self._task.clone(),
        }
    }
}

/// A subscriber's view of an [`Instancer`]: the latest event, and a way to wait for the
/// next.
#[derive(Debug)]
pub struct Subscription {
    events: watch::Receiver<Event>,
    _task: Option<Arc<TaskGuard>>,
}

impl Subscription {
    /// The latest event, marking it seen.
    pub fn latest(&mut self) -> Event {
        self.events.borrow_and_update().clone()
    }

    /// Whether an event came since the last one seen.
    pub fn has_changed(&self) -> bool {
        self.events.has_changed().unwrap_or(false)
    }

    /// Waits for an event not yet seen and returns it; `None` once the source is gone for
    /// good (its publisher dropped), after which the last event stays as it was.
    pub async fn next(&mut self) -> Option<Event> {
        self.events.changed().await.ok()?;
        Some(self.latest())
    }
}

/// The sending side of an [`Instancer`]: a registry's loop reports what it reads through it.
#[derive(Debug)]
pub struct Publisher {
    events: watch::Sender<Event>,
}

impl Publisher {
    /// Reports the current set of instances, clearing any error. Subscribers are told only
    /// if something changed.
    pub fn update(&self, instances: impl IntoIterator<Item = Instance>) {
        let instances: Vec<Instance> = instances.into_iter().collect();
        self.change(|set| {
            *set = instances;
            true
        });
    }

    /// Edits the current set with `edit` (which says whether it touched it) atomically with
    /// every other change, and reports the result as [`update`](Publisher::update) does.
    pub(super) fn change(&self, edit: impl FnOnce(&mut Vec<Instance>) -> bool) {
        self.events.send_if_modified(|event| {
            let mut instances = event.instances.to_vec();
            if !edit(&mut instances) {
                return false;
            }
            instances.sort_unstable();
            instances.dedup();
            if event.resolved && event.error.is_none() && *event.instances == *instances {
                return false;
            }
            *event = Event {
                instances: instances.into(),
                error: None,
                resolved: true,
            };
            true
        });
    }

    /// A [`Registrar`](super::Registrar) that adds `instance` to this publisher's set on
    /// `register` and takes it out on `deregister`: the registry of an instancer made with
    /// [`Instancer::manual`]. See [`ManualRegistrar`].
    pub fn registrar(&self, instance: impl Into<Instance>) -> ManualRegistrar {
        let publisher = Publisher {
            events: self.events.clone(),
        };
        ManualRegistrar::new(publisher, instance.into())
    }

    /// Reports that reading the registry failed; the last instances read stay in the event.
    pub fn fail(&self, error: Error) {
        self.events.send_modify(|event| {
            event.error = Some(Arc::new(error));
            event.resolved = true;
        });
    }

    /// The latest event sent.
    pub fn current(&self) -> Event {
        self.events.borrow().clone()
    }

    /// Whether every instancer and subscription is gone, so that nobody listens any more.
    pub fn is_closed(&self) -> bool {
        self.events.is_closed()
    }

    /// Completes when every instancer and subscription is gone.
    pub async fn closed(&self) {
        self.events.closed().await;
    }
}

/// Aborts an instancer's source task when the last instancer or subscription holding it goes.
#[derive(Debug)]
struct TaskGuard(AbortHandle);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}
