//! `App::start` and `Running`: listeners bound, served, stopped together.

use std::time::Duration;

use kit::Code;
use kit_app::{App, GrpcServices, ListenAddr, ShutdownFlags};
use kit_testkit::http::request;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::{Echo, health, hello_router, stop_button};

fn free_port() -> ListenAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test]
async fn each_listener_serves_on_its_bound_address_until_stopped() {
    let (stop, stopped) = stop_button();
    let running = App::new("test", ShutdownFlags::default())
        .debug(free_port())
        .http("http", free_port(), hello_router())
        .http("spare", ListenAddr::Off, hello_router())
        .grpc("grpc", free_port(), GrpcServices::new().add_service(Echo))
        .stop_on(stopped)
        .start()
        .await
        .unwrap();
    let http = running.local_addr("http").unwrap();
    let debug = running.local_addr("debug").unwrap();
    let grpc = running.local_addr("grpc").unwrap();
    assert_eq!(running.local_addr("spare"), None);
    assert_eq!(running.local_addr("nope"), None);
    for addr in [http, debug, grpc] {
        assert_ne!(addr.port(), 0);
    }

    let hello = request(http, "GET", "/hello", "").await;
    assert_eq!(
        (hello.status, hello.body.as_str()),
        (200, r#"{"hello":"world"}"#)
    );
    let alive = request(debug, "GET", "/health", "").await;
    assert_eq!(
        (alive.status, alive.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    let ready = request(debug, "GET", "/ready", "").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (200, r#"{"status":"ready"}"#)
    );
    // Health reports the server and each added service.
    let serving = ServingStatus::Serving as i32;
    assert_eq!(health(grpc, &["", "test.Echo"]).await, [serving, serving]);

    stop.send(()).unwrap();
    running.wait().await.unwrap();
}

#[tokio::test]
async fn the_stop_turns_readiness_off_while_every_listener_still_serves() {
    let (stop, stopped) = stop_button();
    // A drain delay longer than the test: the listeners keep serving while it lasts.
    let flags = ShutdownFlags {
        drain_delay: Duration::from_secs(3600),
        ..ShutdownFlags::default()
    };
    let app = App::new("test", flags);
    let shutdown = app.shutdown().clone();
    let running = app
        .debug(free_port())
        .http("http", free_port(), hello_router())
        .grpc("grpc", free_port(), GrpcServices::new().add_service(Echo))
        .stop_on(stopped)
        .start()
        .await
        .unwrap();
    let (http, debug) = (running.local_addr("http"), running.local_addr("debug"));
    let (http, debug) = (http.unwrap(), debug.unwrap());
    let grpc = running.local_addr("grpc").unwrap();

    stop.send(()).unwrap();
    shutdown.not_ready().await;
    let ready = request(debug, "GET", "/ready", "").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (503, r#"{"error":"shutting down","code":"UNAVAILABLE"}"#)
    );
    let alive = request(debug, "GET", "/health", "").await;
    assert_eq!(alive.status, 200);
    let hello = request(http, "GET", "/hello", "").await;
    assert_eq!(hello.status, 200);
    let not_serving = ServingStatus::NotServing as i32;
    assert_eq!(
        health(grpc, &["", "test.Echo"]).await,
        [not_serving, not_serving]
    );
}

#[tokio::test]
async fn every_listener_off_is_an_error() {
    let all_off = App::new("test", ShutdownFlags::default())
        .debug(ListenAddr::Off)
        .http("http", ListenAddr::Off, hello_router());
    let none = App::new("test", ShutdownFlags::default());
    for app in [all_off, none] {
        let err = app.start().await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(err.message(), "every listener is off: nothing to serve");
    }
}

#[tokio::test]
async fn a_listener_that_cannot_bind_names_its_transport_and_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap();
    let err = App::new("test", ShutdownFlags::default())
        .debug(free_port())
        .http("jsonrpc", ListenAddr::On(taken), hello_router())
        .start()
        .await
        .unwrap_err();
    let want = format!("binding the jsonrpc listener on {taken}: Address already in use");
    assert!(err.message().starts_with(&want), "{err}");
}

#[tokio::test]
async fn a_listener_that_fails_fails_the_wait() {
    let (_stop, stopped) = stop_button();
    let broken = GrpcServices::new()
        .add_service(Echo)
        .descriptor_set(b"\xff");
    let running = App::new("test", ShutdownFlags::default())
        .http("http", free_port(), hello_router())
        .grpc("grpc", free_port(), broken)
        .stop_on(stopped)
        .start()
        .await
        .unwrap();
    let err = running.wait().await.unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert!(
        err.message().starts_with("building gRPC reflection: "),
        "{err}"
    );
}

/// A registry in memory: what its registrar was asked, in order; its first registrations
/// fail.
#[derive(Debug, Clone, Default)]
struct Registry {
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

#[derive(Debug)]
struct MemoryRegistrar {
    registry: Registry,
    instance: String,
    failures_left: std::sync::atomic::AtomicUsize,
}

impl kit::sd::Registrar for MemoryRegistrar {
    fn register(&self) -> kit::sd::BoxFuture<'_, Result<(), kit::Error>> {
        Box::pin(async move {
            use std::sync::atomic::Ordering;
            let mut log = self.registry.log.lock().unwrap();
            let failing = self.failures_left.load(Ordering::SeqCst) > 0;
            if failing {
                self.failures_left.fetch_sub(1, Ordering::SeqCst);
                log.push(format!("refused {}", self.instance));
                return Err(kit::Error::unavailable("registry down"));
            }
            log.push(format!("register {}", self.instance));
            Ok(())
        })
    }

    fn deregister(&self) -> kit::sd::BoxFuture<'_, Result<(), kit::Error>> {
        Box::pin(async move {
            let mut log = self.registry.log.lock().unwrap();
            log.push(format!("deregister {}", self.instance));
            Ok(())
        })
    }
}

impl Registry {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (bounded) until the log has `n` entries.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..500 {
            if self.log.lock().unwrap().len() >= n {
                return self.log();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the registry's log stayed at {:?}", self.log());
    }
}

#[tokio::test]
async fn listeners_are_registered_with_retries_and_deregistered_when_the_stop_begins() {
    let (stop, stopped) = stop_button();
    let flags = ShutdownFlags {
        drain_delay: Duration::from_secs(3600),
        ..ShutdownFlags::default()
    };
    let registry = Registry::default();
    let app = App::new("test", flags);
    let shutdown = app.shutdown().clone();
    let running = app
        .debug(free_port())
        .http("http", free_port(), hello_router())
        .register({
            let registry = registry.clone();
            move |bound| {
                // One registrar per listener but the debug one.
                Ok(bound
                    .iter()
                    .filter(|(transport, _)| *transport != "debug")
                    .map(|(transport, addr)| {
                        Box::new(MemoryRegistrar {
                            registry: registry.clone(),
                            instance: format!("{transport}={addr}"),
                            failures_left: 2.into(),
                        }) as Box<dyn kit::sd::Registrar>
                    })
                    .collect())
            }
        })
        .stop_on(stopped)
        .start()
        .await
        .unwrap();
    let http = running.local_addr("http").unwrap();
    let instance = format!("http={http}");
    // A registry that refuses at first is tried again until it takes the instance.
    assert_eq!(
        registry.wait_for(3).await,
        [
            format!("refused {instance}"),
            format!("refused {instance}"),
            format!("register {instance}")
        ]
    );

    stop.send(()).unwrap();
    shutdown.not_ready().await;
    assert_eq!(
        registry.wait_for(4).await[3],
        format!("deregister {instance}")
    );
    // Deregistered while the listeners still serve, for the drain delay.
    let hello = request(http, "GET", "/hello", "").await;
    assert_eq!(hello.status, 200);
}
