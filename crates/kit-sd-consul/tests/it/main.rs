//! Integration tests of kit-sd-consul against the Consul stand-in of `kit_testkit::consul`
//! (Consul itself cannot be installed here; see the crate docs).

mod discovery;
mod faults;
mod registration;
#[cfg(feature = "tls")]
mod tls;

pub(crate) use kit_testkit::sd::{
    instances, wait_for_error, wait_for_set as wait_for_instances, wait_until,
};
