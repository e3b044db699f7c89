//! Integration tests of kit-testkit, run against real child processes.

mod binaries;
mod ports;
mod process;

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`, which must panic, and returns its panic message.
pub(crate) fn panic_message(f: impl FnOnce()) -> String {
    let payload: Box<dyn Any + Send> = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => panic!("expected a panic"),
        Err(payload) => payload,
    };
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        panic!("panic payload is not a string")
    }
}
