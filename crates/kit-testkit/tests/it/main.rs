//! Integration tests of kit-testkit, run against real child processes.

mod async_waits;
mod binaries;
mod etcd;
mod http;
mod netns;
mod ports;
mod process;
mod proxy;
mod traces;
mod zookeeper;

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`, which must panic, and returns its panic message.
pub(crate) fn panic_message(f: impl FnOnce()) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => panic!("expected a panic"),
        Err(payload) => payload_text(payload),
    }
}

/// Runs `fut` as a task of the current runtime; it must panic, and its panic
/// message is returned.
pub(crate) async fn async_panic_message<T>(fut: impl Future<Output = T> + Send + 'static) -> String
where
    T: Send + 'static,
{
    match tokio::spawn(fut).await {
        Ok(_) => panic!("expected a panic"),
        Err(err) => payload_text(err.into_panic()),
    }
}

fn payload_text(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        panic!("panic payload is not a string")
    }
}
