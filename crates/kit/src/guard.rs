//! Noticing calls that were abandoned mid-way.
//!
//! A call's future can be dropped before it completes: the client went away, a deadline or a
//! cancellation ended it, a server's grace period ran out. Code that must report every call
//! (finalizers, metrics, access logs) holds a [`DropGuard`] while the call runs and disarms
//! it once the call has an outcome; if the future is dropped first, the guard's closure
//! reports the abandoned call.
//!
//! ```
//! use std::cell::Cell;
//! use kit::guard::DropGuard;
//!
//! let abandoned = Cell::new(0);
//! drop(DropGuard::new(|| abandoned.set(abandoned.get() + 1))); // dropped while armed
//! DropGuard::new(|| abandoned.set(abandoned.get() + 1)).disarm(); // finished normally
//! assert_eq!(abandoned.get(), 1);
//! ```

use std::fmt;

/// Runs its closure when dropped, unless [`disarm`](DropGuard::disarm)ed first.
#[must_use = "a guard dropped at once runs its closure at once"]
pub struct DropGuard<F: FnOnce()> {
    on_drop: Option<F>,
}

impl<F: FnOnce()> DropGuard<F> {
    /// A guard that runs `on_drop` if it is dropped while armed.
    pub fn new(on_drop: F) -> Self {
        DropGuard {
            on_drop: Some(on_drop),
        }
    }

    /// A guard that runs nothing: for when there is no one to report to.
    pub fn disarmed() -> Self {
        DropGuard { on_drop: None }
    }

    /// The call completed: drop the guard without running the closure.
    pub fn disarm(mut self) {
        self.on_drop = None;
    }
}

impl<F: FnOnce()> Drop for DropGuard<F> {
    fn drop(&mut self) {
        if let Some(on_drop) = self.on_drop.take() {
            on_drop();
        }
    }
}

impl<F: FnOnce()> fmt::Debug for DropGuard<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard")
            .field("armed", &self.on_drop.is_some())
            .finish()
    }
}
