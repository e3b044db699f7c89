//! The state of one call a server serves: its cancellation and its response metadata.

use std::any::Any;
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use tokio_util::sync::CancellationToken;

/// Metadata an endpoint or middleware sends back with its answer, on every transport that
/// can carry it: response headers on HTTP and JSON-RPC, trailing metadata on gRPC; and
/// *hints*, typed values for one transport (an HTTP status such as `201 Created`).
///
/// Set it through the call's [`Context`](crate::Context)
/// ([`set_response_metadata`](crate::Context::set_response_metadata) and friends); the
/// transport that served the call takes it and applies it, to successes and errors alike
/// (a `Retry-After` on a rate-limit error, a `Set-Cookie`, a `Location`).
///
/// Keys are stored lowercase, like HTTP header names.
#[derive(Default)]
pub struct ResponseMetadata {
    entries: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    hints: Vec<Box<dyn Any + Send + Sync>>,
}

impl ResponseMetadata {
    /// Sets `key` to `value`, replacing every earlier value of `key`.
    pub fn set(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Cow<'static, str>>) {
        let key = super::lowercase(key.into());
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value.into()));
    }

    /// Adds a value for `key`, keeping earlier ones (for keys that repeat, such as
    /// `set-cookie`).
    pub fn append(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) {
        self.entries
            .push((super::lowercase(key.into()), value.into()));
    }

    /// Sets the hint of type `T`, replacing an earlier one of that type.
    pub fn set_hint<T: Any + Send + Sync>(&mut self, hint: T) {
        self.hints.retain(|h| !h.is::<T>());
        self.hints.push(Box::new(hint));
    }

    /// The first value of `key` (compared case-insensitively).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// Every entry, in the order set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (&**k, &**v))
    }

    /// The hint of type `T`, if set.
    pub fn hint<T: Any>(&self) -> Option<&T> {
        self.hints.iter().find_map(|h| h.downcast_ref())
    }

    /// Whether nothing was set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.hints.is_empty()
    }

    /// Moves everything `other` holds into this one, as if set here afterwards.
    pub fn merge(&mut self, other: ResponseMetadata) {
        for (key, value) in other.entries {
            self.append(key, value);
        }
        for hint in other.hints {
            let type_id = (*hint).type_id();
            self.hints.retain(|h| (**h).type_id() != type_id);
            self.hints.push(hint);
        }
    }
}

impl fmt::Debug for ResponseMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseMetadata")
            .field("entries", &self.entries)
            .field("hints", &self.hints.len())
            .finish()
    }
}

/// What a context shares with the server serving its call.
#[derive(Default)]
pub(super) struct Call {
    response: Mutex<ResponseMetadata>,
    /// Whether anything was ever set in `response`: most calls set nothing, and taking
    /// nothing then needs no lock.
    responded: AtomicBool,
    cancelled: AtomicBool,
    /// Made only when someone waits for the cancellation (`Context::done`, `run`,
    /// `with_cancel`): most calls finish without anyone waiting, and cost no token.
    token: OnceLock<CancellationToken>,
}

thread_local! {
    /// One finished call's state per thread, kept for the next call made on the thread: a
    /// server makes a call state per request, and taking it from here spares an allocation
    /// and a free (about 200 instructions, 1% of an HTTP `/sum`, measured with callgrind).
    static SPARE: Cell<Option<Arc<Call>>> = const { Cell::new(None) };
}

impl Call {
    /// A fresh call state: the thread's spare if it has one, else a new one.
    pub(super) fn start() -> Arc<Call> {
        SPARE
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// The response metadata, to change.
    pub(super) fn response(&self) -> MutexGuard<'_, ResponseMetadata> {
        self.responded.store(true, Ordering::Release);
        self.response.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        // Pairs with the fence in `token`: either this sees the token and cancels it, or
        // `token` sees the flag.
        fence(Ordering::SeqCst);
        if let Some(token) = self.token.get() {
            token.cancel();
        }
    }

    /// Makes `token` the call's cancellation token (a fresh call's, before anyone asked
    /// for it): a call made under a cancellable context is cancelled with it.
    pub(super) fn adopt_token(&self, token: CancellationToken) {
        let adopted = self.token.set(token).is_ok();
        debug_assert!(adopted, "a fresh call has no token yet");
    }

    /// The call's cancellation token, made on first use.
    pub(super) fn token(&self) -> &CancellationToken {
        let token = self.token.get_or_init(CancellationToken::new);
        fence(Ordering::SeqCst);
        if self.cancelled.load(Ordering::SeqCst) {
            token.cancel();
        }
        token
    }
}

/// The server's side of a call whose context came from
/// [`Context::with_call`](crate::Context::with_call).
///
/// Dropping the handle (or calling [`cancel`](CallHandle::cancel)) cancels the call's
/// context, as Go cancels a request's context when the client goes away or the handler
/// returns: a server keeps the handle in the future that serves the call, so the context
/// is cancelled when the call is answered, when its client goes away, and when a shutdown's
/// grace period ends, and work spawned under it stops. Work meant to outlive the call runs
/// under [`Context::without_cancel`](crate::Context::without_cancel).
pub struct CallHandle {
    pub(super) call: Arc<Call>,
}

impl CallHandle {
    /// Cancels the call's context now.
    pub fn cancel(&self) {
        self.call.cancel();
    }

    /// Takes the response metadata set so far, leaving it empty; `None` if nothing was ever
    /// set (most calls), which costs no lock.
    pub fn take_response(&self) -> Option<ResponseMetadata> {
        if !self.call.responded.load(Ordering::Acquire) {
            return None;
        }
        Some(std::mem::take(&mut *self.call.response()))
    }
}

impl Drop for CallHandle {
    fn drop(&mut self) {
        // With no context left that refers to the call (the common end of a call: the
        // server dropped its context first), nothing can see the cancellation: skip it, and
        // its fences.
        match Arc::get_mut(&mut self.call) {
            Some(call) => {
                // No context refers to the call any more, but one may hold a token derived
                // from its own (a call made under this one): that token must see the end.
                if let Some(token) = call.token.take() {
                    token.cancel();
                }
                // Back to new, and kept as the thread's spare.
                *call = Call::default();
                let spare = Some(self.call.clone());
                // A thread being torn down has no spare to keep: the state is just freed.
                let _ = SPARE.try_with(|slot| slot.set(spare));
            }
            None => self.call.cancel(),
        }
    }
}

impl fmt::Debug for CallHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallHandle")
            .field("cancelled", &self.call.is_cancelled())
            .finish_non_exhaustive()
    }
}
