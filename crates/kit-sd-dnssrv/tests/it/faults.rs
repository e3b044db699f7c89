//! Broken answers, a server that stops answering, a flapping instance, a factory that fails.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kit::middleware::retry::Backoff;

use kit::sd::{Balanced, Endpointer, Factory, Instance, RoundRobin};
use kit::{BoxEndpoint, Code, Context, Endpoint, Error, endpoint_fn};
use kit_testkit::attempts::Attempts;
use kit_testkit::dns::Unbound;
use kit_testkit::free_addr;
use kit_testkit::sd::check_flapping;

use crate::{NAME, instancer, instances, srv, wait_for, wait_for_set};

const INTERVAL: Duration = Duration::from_millis(200);

#[tokio::test]
async fn a_record_with_port_zero_rejects_the_answer_and_the_last_set_stays() {
    let dns = Unbound::start(&[&srv(60, 8080, "127.0.0.2.")]).await;
    let instancer = instancer(dns.addr(), INTERVAL);
    wait_for_set(&instancer, &["127.0.0.2:8080"]).await;

    dns.add(&srv(60, 0, "a.svc.test.")).await;
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.message(),
        "dns srv _http._tcp.svc.test.: a record has port 0 (target a.svc.test.), so the answer is rejected"
    );
    assert_eq!(event.instances(), instances(&["127.0.0.2:8080"]));

    // Mended: the next answer clears the error.
    dns.remove(NAME).await;
    dns.add(&srv(60, 8081, "127.0.0.3.")).await;
    wait_for_set(&instancer, &["127.0.0.3:8081"]).await;
}

/// A factory of endpoints that answer with their instance's address, failing for the
/// instance `broken` if given.
fn factory(broken: Option<&'static str>) -> impl Factory<BoxEndpoint<(), String>> {
    move |instance: &Instance| {
        if Some(instance.addr()) == broken {
            return Err(Error::unavailable("cannot connect"));
        }
        let addr = instance.addr().to_owned();
        Ok(BoxEndpoint::new(endpoint_fn(move |_ctx: Context, ()| {
            let addr = addr.clone();
            async move { Ok::<_, Error>(addr) }
        })))
    }
}

/// The instances an endpointer holds endpoints for.
fn held<E>(endpointer: &Endpointer<E>) -> Vec<Instance>
where
    E: Send + Sync + 'static,
{
    let endpoints = endpointer.endpoints();
    endpoints
        .entries()
        .iter()
        .map(|entry| entry.instance().clone())
        .collect()
}

#[tokio::test]
async fn a_server_that_stops_answering_is_an_error_and_the_last_set_stays() {
    let mut dns = Unbound::start(&[&srv(60, 8080, "127.0.0.2.")]).await;
    let instancer = instancer(dns.addr(), INTERVAL);
    let endpointer = Endpointer::new(&instancer, factory(None));
    wait_for_set(&instancer, &["127.0.0.2:8080"]).await;

    dns.stop().await;
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        "dns srv _http._tcp.svc.test.: lookup failed: request timed out"
    );
    assert_eq!(event.instances(), instances(&["127.0.0.2:8080"]));
    assert_eq!(held(&endpointer), instances(&["127.0.0.2:8080"]));
    assert_eq!(
        endpointer.endpoints().error().map(Error::code),
        Some(Code::Unavailable)
    );

    // Back (with the records it started with): the error clears.
    dns.restart().await;
    dns.add(&srv(60, 8081, "127.0.0.3.")).await;
    wait_for_set(&instancer, &["127.0.0.2:8080", "127.0.0.3:8081"]).await;
}

#[tokio::test]
async fn a_server_down_at_the_start_is_asked_again_until_it_answers() {
    let mut dns = Unbound::start(&[&srv(60, 8080, "127.0.0.2.")]).await;
    dns.stop().await;
    let instancer = instancer(dns.addr(), Duration::from_secs(3600));
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        "dns srv _http._tcp.svc.test.: lookup failed: request timed out"
    );
    assert!(event.instances().is_empty());

    // The retries back off from 1 s, far from the hour of the interval.
    dns.restart().await;
    wait_for_set(&instancer, &["127.0.0.2:8080"]).await;
}

/// An instance that comes and goes over many polls beside a stable one. unbound removes a
/// name's records all at once, so the flapping record is the address of the second SRV
/// record's target: without it the target has no address, and its record is left out.
#[tokio::test]
async fn a_flapping_instance_never_disturbs_the_stable_one() {
    let dns = Unbound::start(&[
        &srv(60, 8080, "stable.svc.test."),
        "stable.svc.test. 60 IN A 127.0.0.2",
        &srv(60, 8081, "flapping.svc.test."),
    ])
    .await;
    let instancer = instancer(dns.addr(), Duration::from_millis(50));
    check_flapping(
        &instancer,
        &["127.0.0.2:8080"],
        "127.0.0.3:8081",
        async || dns.add("flapping.svc.test. 60 IN A 127.0.0.3").await,
        async || dns.remove("flapping.svc.test.").await,
    )
    .await;
}

/// How many queries one look-up may send before it fails: the first and hickory's two
/// retries (its `ResolverOpts::attempts`, which kit-sd-dnssrv leaves as it is).
const QUERIES_PER_LOOKUP: usize = 3;

/// While the server refuses every query, the instancer asks again only as the crate's
/// backoff says (1 s doubling to 30 s, below the interval of an hour).
#[tokio::test]
async fn queries_refused_are_asked_again_with_backoff() {
    let attempts = Attempts::dns_refused(free_addr());
    let since = Instant::now();
    let instancer = instancer(attempts.addr(), Duration::from_secs(3600));
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        "dns srv _http._tcp.svc.test.: lookup failed: DNS error: error response: Query Refused"
    );
    let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    attempts
        .check_backs_off(backoff, QUERIES_PER_LOOKUP, since, Duration::from_secs(3))
        .await;
}

#[tokio::test]
async fn a_factory_failing_for_one_instance_leaves_the_others_serving() {
    let dns = Unbound::start(&[
        &srv(60, 8080, "127.0.0.2."),
        &srv(60, 8081, "127.0.0.3."),
        &srv(60, 8082, "127.0.0.4."),
    ])
    .await;
    let instancer = instancer(dns.addr(), INTERVAL);
    let endpointer = Endpointer::new(&instancer, factory(Some("127.0.0.3:8081")));
    wait_for_set(
        &instancer,
        &["127.0.0.2:8080", "127.0.0.3:8081", "127.0.0.4:8082"],
    )
    .await;
    assert_eq!(
        held(&endpointer),
        instances(&["127.0.0.2:8080", "127.0.0.4:8082"])
    );

    let balanced = Balanced::new(endpointer, RoundRobin::new());
    let mut answered = BTreeSet::new();
    for _ in 0..4 {
        answered.insert(
            balanced
                .call(Context::background(), ())
                .await
                .expect("a call"),
        );
    }
    assert_eq!(
        answered,
        BTreeSet::from(["127.0.0.2:8080".to_owned(), "127.0.0.4:8082".to_owned()])
    );
}
