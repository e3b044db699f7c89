//! When the instancer asks again: the interval, the TTLs, and changes followed.

use std::time::{Duration, Instant};

use kit_testkit::dns::Unbound;

use crate::{NAME, instancer, srv, wait_for_set};

/// Longer than any test runs: a change seen within a test was not seen because of it.
const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn added_and_removed_records_are_followed_at_the_interval() {
    // TTLs of an hour: only the interval can bring the changes in.
    let dns = Unbound::start(&[&srv(3600, 8080, "127.0.0.2.")]).await;
    let instancer = instancer(dns.addr(), Duration::from_millis(200));
    wait_for_set(&instancer, &["127.0.0.2:8080"]).await;

    dns.add(&srv(3600, 8081, "127.0.0.3.")).await;
    wait_for_set(&instancer, &["127.0.0.2:8080", "127.0.0.3:8081"]).await;

    // unbound removes a name's records all at once: remove, then put back the one that stays.
    dns.remove(NAME).await;
    dns.add(&srv(3600, 8081, "127.0.0.3.")).await;
    wait_for_set(&instancer, &["127.0.0.3:8081"]).await;
}

#[tokio::test]
async fn a_ttl_shorter_than_the_interval_brings_the_next_poll_forward() {
    let dns = Unbound::start(&[&srv(1, 8080, "127.0.0.2.")]).await;
    let instancer = instancer(dns.addr(), HOUR);
    wait_for_set(&instancer, &["127.0.0.2:8080"]).await;

    dns.remove(NAME).await;
    dns.add(&srv(1, 8081, "127.0.0.3.")).await;
    wait_for_set(&instancer, &["127.0.0.3:8081"]).await;
}

#[tokio::test]
async fn a_target_address_ttl_brings_the_next_poll_forward_too() {
    let dns = Unbound::start(&[
        &srv(3600, 8080, "a.svc.test."),
        "a.svc.test. 1 IN A 127.0.0.2",
    ])
    .await;
    let instancer = instancer(dns.addr(), HOUR);
    wait_for_set(&instancer, &["127.0.0.2:8080"]).await;

    dns.remove("a.svc.test.").await;
    dns.add("a.svc.test. 1 IN A 127.0.0.4").await;
    wait_for_set(&instancer, &["127.0.0.4:8080"]).await;
}

#[tokio::test]
async fn a_negative_answer_ttl_brings_the_next_poll_forward_too() {
    // NXDOMAIN, which the server says may be cached for NEGATIVE_TTL (1 s).
    let dns = Unbound::start(&[]).await;
    let instancer = instancer(dns.addr(), HOUR);
    wait_for_set(&instancer, &[]).await;

    dns.add(&srv(3600, 8080, "127.0.0.2.")).await;
    wait_for_set(&instancer, &["127.0.0.2:8080"]).await;
}

#[tokio::test]
async fn a_ttl_of_zero_leaves_the_interval_in_charge() {
    let interval = Duration::from_secs(1);
    let dns = Unbound::start(&[&srv(0, 8080, "127.0.0.2.")]).await;
    let instancer = instancer(dns.addr(), interval);
    wait_for_set(&instancer, &["127.0.0.2:8080"]).await;
    let queries_before = dns.queries("SRV").await;
    let since = Instant::now();

    // The change comes in at the interval...
    dns.remove(NAME).await;
    dns.add(&srv(0, 8081, "127.0.0.3.")).await;
    wait_for_set(&instancer, &["127.0.0.3:8081"]).await;

    // ...and no sooner: polls are at least an interval apart, so there were at most one
    // per interval elapsed, plus the one under way (a load on the machine only makes them
    // fewer), each of at most two queries (hickory sends a query again when the answer is
    // late). Asking again at once on a TTL of 0 makes dozens a second.
    let queries = dns.queries("SRV").await - queries_before;
    let most = 2 * (since.elapsed().as_secs() / interval.as_secs() + 2);
    assert!(
        queries <= most,
        "{queries} SRV queries in {:?}, with an interval of {interval:?}",
        since.elapsed()
    );
}
