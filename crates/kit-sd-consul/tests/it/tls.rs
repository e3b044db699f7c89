//! HTTPS to the agent: the stand-in behind kit-testkit's TLS front (Consul's `https` port
//! with `verify_incoming` off, then on).

use std::time::Duration;

use kit::middleware::retry::Backoff;
use kit::sd::{Endpointer, Instance, Registrar};
use kit::{Code, Error};
use kit_sd_consul::{Client, HealthQuery, Registration, Tls};
use kit_testkit::consul::{ConsulStandIn, Service};
use kit_testkit::tls::{Certificates, FrontOptions, TlsFront};

use crate::{instances, wait_for_instances, wait_until};

fn https(front: &TlsFront, tls: &Tls) -> Client {
    Client::new(&format!("https://{}", front.addr()))
        .unwrap()
        .tls(tls)
}

fn trusting(certificates: &Certificates) -> Tls {
    Tls::new(&certificates.ca).unwrap()
}

fn quick(query: HealthQuery) -> HealthQuery {
    query.backoff(Backoff::new(
        Duration::from_millis(50),
        Duration::from_millis(200),
    ))
}

#[tokio::test]
async fn registrar_and_instancer_over_https() {
    let consul = ConsulStandIn::start().await;
    consul.add_service(Service::new("add-1", "addsvc", "10.0.0.1", 8080));
    let certificates = Certificates::generate();
    let front = TlsFront::start(consul.addr(), &certificates, FrontOptions::default()).await;
    let client = https(&front, &trusting(&certificates))
        .acl_token("t")
        .unwrap();

    let registrar = client.registrar(Registration::new("self-1", "addsvc", "127.0.0.1", 8081));
    registrar.register().await.unwrap();
    assert_eq!(consul.registrations("self-1"), 1);
    let instancer = client.instancer(HealthQuery::new("addsvc"));
    wait_for_instances(&instancer, &["10.0.0.1:8080", "127.0.0.1:8081"]).await;
    registrar.deregister().await.unwrap();
    wait_for_instances(&instancer, &["10.0.0.1:8080"]).await;
    assert_eq!(
        format!("{client:?}"),
        format!(
            "Client {{ addr: Target(\"https://{}\"), acl_token: Some(\"<redacted>\"), timeout: 10s }}",
            front.addr()
        )
    );
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_fails_and_the_last_good_set_is_kept() {
    let consul = ConsulStandIn::start().await;
    consul.add_service(Service::new("add-1", "addsvc", "10.0.0.1", 8080));
    let certificates = Certificates::generate();
    let front = TlsFront::start(consul.addr(), &certificates, FrontOptions::default()).await;
    let addr = front.addr();
    let client = https(&front, &trusting(&certificates));
    let instancer = client.instancer(quick(HealthQuery::new("addsvc")));
    let endpointer = Endpointer::new(&instancer, |instance: &Instance| {
        Ok::<_, Error>(instance.clone())
    });
    wait_for_instances(&instancer, &["10.0.0.1:8080"]).await;

    // The agent comes back with a certificate of a CA the client does not trust.
    front.stop().await;
    let _other = TlsFront::start_on(
        addr,
        consul.addr(),
        &Certificates::generate(),
        FrontOptions::default(),
    )
    .await;
    let expected = format!(
        "consul at https://{addr}: GET /v1/health/service/addsvc: TLS handshake with 127.0.0.1 \
         failed: invalid peer certificate: UnknownIssuer"
    );
    let event = kit_testkit::sd::wait_for(&instancer, "the TLS error", |event| {
        event.error().is_some_and(|err| err.message() == expected)
    })
    .await;
    assert_eq!(event.error().unwrap().code(), Code::Unavailable);
    assert_eq!(event.instances(), instances(&["10.0.0.1:8080"]));
    let held: Vec<Instance> = endpointer
        .endpoints()
        .entries()
        .iter()
        .map(|entry| entry.instance().clone())
        .collect();
    assert_eq!(held, instances(&["10.0.0.1:8080"]));

    let err = client
        .registrar(Registration::new("self-1", "addsvc", "127.0.0.1", 8081))
        .register()
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Code::Unavailable,
            format!(
                "consul at https://{addr}: PUT /v1/agent/service/register: TLS handshake with \
                 127.0.0.1 failed: invalid peer certificate: UnknownIssuer"
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn an_agent_requiring_client_certificates() {
    let consul = ConsulStandIn::start().await;
    let certificates = Certificates::generate();
    let mutual = FrontOptions {
        require_client_certificate: true,
        ..FrontOptions::default()
    };
    let front = TlsFront::start(consul.addr(), &certificates, mutual).await;
    let registration = Registration::new("self-1", "addsvc", "127.0.0.1", 8081);

    let without = https(&front, &trusting(&certificates));
    let err = without
        .registrar(registration.clone())
        .register()
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Code::Unauthenticated,
            format!(
                "consul at https://{}: PUT /v1/agent/service/register: the server requires a \
                 client certificate and refused the connection without one (TLS alert \
                 CertificateRequired); give one with Tls::client_certificate",
                front.addr()
            )
            .as_str()
        )
    );
    assert_eq!(consul.registrations("self-1"), 0);

    let tls = trusting(&certificates)
        .client_certificate(&certificates.client_cert, &certificates.client_key)
        .unwrap();
    let with = https(&front, &tls);
    with.registrar(registration).register().await.unwrap();
    assert_eq!(consul.registrations("self-1"), 1);
    wait_for_instances(
        &with.instancer(HealthQuery::new("addsvc")),
        &["127.0.0.1:8081"],
    )
    .await;
    wait_until("the stand-in holds the service", || {
        consul.service_ids() == ["self-1"]
    })
    .await;
}
