//! The system's resolver (no [`DnsSrv::resolver`]): `/etc/resolv.conf` names no port, so
//! its server must answer on port 53. Each test runs again in network and mount namespaces
//! of its own (`kit_testkit::netns`), where a private `/etc/resolv.conf` names unbound on
//! 127.0.0.1:53 and the machine's resolver and network are out of reach.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use kit_sd_dnssrv::DnsSrv;
use kit_testkit::dns::Unbound;
use kit_testkit::netns::Namespace;

use crate::{NAME, srv, wait_for_set};

/// The private `/etc/resolv.conf`: unbound on 127.0.0.1 (port 53, the only one it can
/// name), `test.` as the search domain, and a failed query given up after a second.
const RESOLV_CONF: &str = "nameserver 127.0.0.1\nsearch test.\noptions timeout:1 attempts:1\n";

/// Where the system's resolver asks: port 53 of the nameserver in [`RESOLV_CONF`].
const PORT_53: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 53);

/// How often the instancers ask.
const INTERVAL: Duration = Duration::from_millis(200);

/// Runs `body` in namespaces of its own with [`RESOLV_CONF`] as `/etc/resolv.conf`.
fn in_namespace<F>(test: &str, body: impl FnOnce() -> F)
where
    F: Future<Output = ()>,
{
    Namespace::new(test)
        .file("/etc/resolv.conf", RESOLV_CONF)
        .run(body);
}

#[test]
fn the_system_resolver_follows_records_through_resolv_conf() {
    in_namespace(
        "system::the_system_resolver_follows_records_through_resolv_conf",
        || async {
            let dns = Unbound::start_at(
                PORT_53,
                &[
                    &srv(3600, 8080, "a.svc.test."),
                    "a.svc.test. 3600 IN A 127.0.0.2",
                ],
            )
            .await;
            let instancer = DnsSrv::new(NAME)
                .interval(INTERVAL)
                .instancer()
                .expect("instancer");
            // The SRV record and its target's address, both through resolv.conf.
            wait_for_set(&instancer, &["127.0.0.2:8080"]).await;

            dns.add(&srv(3600, 8081, "127.0.0.3.")).await;
            wait_for_set(&instancer, &["127.0.0.2:8080", "127.0.0.3:8081"]).await;

            dns.remove(NAME).await;
            dns.add(&srv(3600, 8081, "127.0.0.3.")).await;
            wait_for_set(&instancer, &["127.0.0.3:8081"]).await;
        },
    );
}

#[test]
fn a_name_without_a_final_dot_goes_through_the_search_domains() {
    in_namespace(
        "system::a_name_without_a_final_dot_goes_through_the_search_domains",
        || async {
            let dns = Unbound::start_at(PORT_53, &[&srv(3600, 8080, "127.0.0.2.")]).await;
            // `_http._tcp.svc` itself is refused (unbound serves `test.` only); with the
            // search domain it is NAME.
            let relative = NAME.trim_end_matches(".test.");
            assert_eq!(relative, "_http._tcp.svc");
            let instancer = DnsSrv::new(relative)
                .interval(INTERVAL)
                .instancer()
                .expect("instancer");
            wait_for_set(&instancer, &["127.0.0.2:8080"]).await;

            dns.add(&srv(3600, 8081, "127.0.0.3.")).await;
            wait_for_set(&instancer, &["127.0.0.2:8080", "127.0.0.3:8081"]).await;
        },
    );
}
