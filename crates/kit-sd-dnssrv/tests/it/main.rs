//! kit-sd-dnssrv against a real DNS server: unbound on a loopback port
//! (`kit_testkit::dns`), records changed live while the instancer polls.

mod answers;
mod faults;
mod polling;
mod system;

use std::net::SocketAddr;
use std::time::Duration;

use kit::sd::Instancer;
use kit_sd_dnssrv::DnsSrv;

/// The SRV name every test asks for (each test has a server of its own).
const NAME: &str = "_http._tcp.svc.test.";

/// An SRV record of [`NAME`] with `ttl`, `port` and `target`.
fn srv(ttl: u32, port: u16, target: &str) -> String {
    format!("{NAME} {ttl} IN SRV 0 0 {port} {target}")
}

/// The instancer of [`NAME`] at `server`, polling every `interval`.
fn instancer(server: SocketAddr, interval: Duration) -> Instancer {
    DnsSrv::new(NAME)
        .resolver(server)
        .interval(interval)
        .timeout(Duration::from_millis(500))
        .instancer()
        .expect("instancer")
}

pub(crate) use kit_testkit::sd::{instances, wait_for, wait_for_set};
