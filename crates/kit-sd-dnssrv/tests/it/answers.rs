//! How an answer becomes a set of instances.

use std::time::Duration;

use kit::Code;
use kit_sd_dnssrv::DnsSrv;
use kit_testkit::dns::Unbound;

use crate::{NAME, instancer, srv, wait_for_set};

const INTERVAL: Duration = Duration::from_millis(200);

#[tokio::test]
async fn targets_are_resolved_to_their_addresses() {
    let dns = Unbound::start(&[
        &srv(60, 8080, "a.svc.test."),
        "a.svc.test. 60 IN A 127.0.0.2",
        "a.svc.test. 60 IN AAAA ::2",
        // A target written as an address is used as it is.
        &srv(60, 8081, "127.0.0.3."),
        &srv(60, 8082, "b.svc.test."),
        "b.svc.test. 60 IN A 127.0.0.4",
        "b.svc.test. 60 IN A 127.0.0.5",
    ])
    .await;
    let instancer = instancer(dns.addr(), INTERVAL);
    wait_for_set(
        &instancer,
        &[
            "127.0.0.2:8080",
            "[::2]:8080",
            "127.0.0.3:8081",
            "127.0.0.4:8082",
            "127.0.0.5:8082",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_target_without_addresses_is_left_out() {
    let dns = Unbound::start(&[
        &srv(60, 8080, "nowhere.svc.test."),
        &srv(60, 8081, "127.0.0.3."),
    ])
    .await;
    let instancer = instancer(dns.addr(), INTERVAL);
    wait_for_set(&instancer, &["127.0.0.3:8081"]).await;
}

#[tokio::test]
async fn a_name_that_does_not_exist_has_no_instances() {
    let dns = Unbound::start(&[]).await;
    let instancer = instancer(dns.addr(), INTERVAL);
    // NXDOMAIN is an answer: resolved, empty, no error.
    wait_for_set(&instancer, &[]).await;
}

#[tokio::test]
async fn a_name_with_other_records_only_has_no_instances() {
    let dns = Unbound::start(&[&format!("{NAME} 60 IN TXT hello")]).await;
    let instancer = instancer(dns.addr(), INTERVAL);
    wait_for_set(&instancer, &[]).await;
}

#[tokio::test]
async fn a_root_target_says_there_is_no_instance() {
    // RFC 2782's "decidedly not available", conventionally with port 0: no error.
    let dns = Unbound::start(&[&srv(60, 0, ".")]).await;
    let instancer = instancer(dns.addr(), INTERVAL);
    wait_for_set(&instancer, &[]).await;
}

#[tokio::test]
async fn a_bad_configuration_is_refused() {
    let err = DnsSrv::new("a..b").instancer().unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.message(), "dns srv: \"a..b\" is not a DNS name");

    let err = DnsSrv::new(NAME)
        .interval(Duration::ZERO)
        .instancer()
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "dns srv: the poll interval must be longer than zero"
    );
}
