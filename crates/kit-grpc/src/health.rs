//! The standard gRPC health service, `grpc.health.v1.Health`, tied to a service's shutdown.
//!
//! Load balancers, Kubernetes probes and `grpc_health_probe` ask a gRPC server whether it
//! (service name `""`) or one of its services is `SERVING`, through the protocol in
//! [gRPC's health checking spec](https://github.com/grpc/grpc/blob/master/doc/health-checking.md):
//! `Check` answers once, `Watch` streams every change. tonic-health implements it;
//! [`service_with_shutdown`] sets it up the way a kit server wants it, following a
//! [`Shutdown`]:
//!
//! | shutdown phase | `Check` | open and new `Watch` streams |
//! |---|---|---|
//! | [`Serving`](Phase::Serving) | the reported status (`SERVING` from the start) | the reported status, then each change |
//! | [`NotReady`](Phase::NotReady) | `NOT_SERVING`, for `""` and every registered service | `NOT_SERVING` (once), then nothing more |
//! | [`Draining`](Phase::Draining) | `NOT_SERVING` | end with `UNAVAILABLE` "server shutting down" |
//!
//! So balancers stop sending new calls as soon as the stop begins (during the drain delay),
//! and open `Watch` streams, which never end by themselves (tonic-health ends them only when
//! their service is removed), do not hold a graceful shutdown for its whole grace period:
//! hyper's drain waits for every open stream. They end with `UNAVAILABLE`, the code gRPC
//! servers give calls cut short by a shutdown, which health-checking clients (grpc-go's
//! client-side health checks, Envoy) treat as "retry the watch", against another server or
//! this one once restarted, rather than as an answer; `OK` would claim the watch completed,
//! which the protocol never does. A service never reported is answered `NOT_FOUND`, as the
//! spec asks.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use kit::shutdown::Shutdown;
//! use kit_grpc::health::{self, ServingStatus};
//!
//! let shutdown = Shutdown::new(std::time::Duration::from_secs(5));
//! let (reporter, health) = health::service_with_shutdown(&shutdown, &["pb.Add"]).await;
//! let routes = tonic::service::Routes::new(health);
//! // Serve `routes` with kit_grpc::serve(..).with_graceful_shutdown(shutdown.draining()),
//! // stop with `shutdown.stop_on(kit_http::shutdown_signal())`. The reporter still reports
//! // other changes, for instance a dependency going down:
//! reporter.set_service_status("pb.Add", ServingStatus::NotServing).await;
//! # let _ = routes;
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use kit::shutdown::{Phase, Shutdown};
use tonic::codegen::tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus as WireStatus;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::{HealthService, WatchStream};

pub use tonic_health::ServingStatus;
pub use tonic_health::pb::FILE_DESCRIPTOR_SET;
pub use tonic_health::pb::health_server::{Health, HealthServer};
pub use tonic_health::server::HealthReporter;

/// What an open `Watch` stream ends with once the service drains.
const SHUTTING_DOWN: &str = "server shutting down";

/// The health service following `shutdown` (see the [module docs](self)), reporting the
/// server (`""`) and each of `services` (full names, such as `"pb.Add"`; tonic-generated
/// servers have them as `SERVICE_NAME`) as `SERVING` until the stop begins, and the
/// reporter that changes their statuses meanwhile.
pub async fn service_with_shutdown(
    shutdown: &Shutdown,
    services: &[&str],
) -> (HealthReporter, HealthServer<ShutdownHealth>) {
    let reporter = serving(services).await;
    let health = ShutdownHealth {
        inner: HealthService::from_health_reporter(reporter.clone()),
        shutdown: shutdown.clone(),
    };
    (reporter, HealthServer::new(health))
}

/// The health service, reporting the server (`""`) and each of `services` as `SERVING`,
/// and the reporter that changes their statuses; nothing changes by itself, and open
/// `Watch` streams hold a graceful shutdown until its grace period ends. Prefer
/// [`service_with_shutdown`].
pub async fn service(services: &[&str]) -> (HealthReporter, HealthServer<impl Health + use<>>) {
    let reporter = serving(services).await;
    let health = HealthService::from_health_reporter(reporter.clone());
    (reporter, HealthServer::new(health))
}

/// A reporter with `""` and `services` serving.
async fn serving(services: &[&str]) -> HealthReporter {
    let reporter = HealthReporter::new();
    for name in std::iter::once(&"").chain(services) {
        reporter
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    reporter
}

/// tonic-health's service, answering as a [`Shutdown`] says; made by
/// [`service_with_shutdown`].
#[derive(Debug)]
pub struct ShutdownHealth {
    inner: HealthService,
    shutdown: Shutdown,
}

fn not_serving() -> HealthCheckResponse {
    HealthCheckResponse {
        status: WireStatus::NotServing.into(),
    }
}

#[tonic::async_trait]
impl Health for ShutdownHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let response = self.inner.check(request).await?;
        if self.shutdown.is_ready() {
            Ok(response)
        } else {
            Ok(Response::new(not_serving()))
        }
    }

    type WatchStream = ShutdownWatch;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<ShutdownWatch>, Status> {
        let inner = self.inner.watch(request).await?.into_inner();
        Ok(Response::new(ShutdownWatch {
            inner,
            next_phase: Box::pin(self.shutdown.not_ready()),
            shutdown: self.shutdown.clone(),
            state: WatchState::Watching,
        }))
    }
}

/// A `Watch` stream that follows a [`Shutdown`]; see the [module docs](self).
pub struct ShutdownWatch {
    inner: WatchStream,
    /// Completes when the shutdown reaches the phase after the state's.
    next_phase: Pin<Box<dyn Future<Output = ()> + Send>>,
    shutdown: Shutdown,
    state: WatchState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WatchState {
    /// Passing the reported statuses on.
    Watching,
    /// Not ready: `NOT_SERVING` is owed or sent; waiting for the drain.
    NotReady {
        sent: bool,
    },
    Ended,
}

impl Stream for ShutdownWatch {
    type Item = Result<HealthCheckResponse, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.state == WatchState::Watching {
            if this.next_phase.as_mut().poll(cx).is_pending() {
                return Pin::new(&mut this.inner).poll_next(cx);
            }
            this.state = WatchState::NotReady { sent: false };
            this.next_phase = Box::pin(this.shutdown.draining());
        }
        match this.state {
            WatchState::NotReady { sent: false } => {
                this.state = WatchState::NotReady { sent: true };
                Poll::Ready(Some(Ok(not_serving())))
            }
            WatchState::NotReady { sent: true } => {
                if this.next_phase.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                debug_assert_eq!(this.shutdown.phase(), Phase::Draining);
                this.state = WatchState::Ended;
                Poll::Ready(Some(Err(Status::unavailable(SHUTTING_DOWN))))
            }
            WatchState::Watching | WatchState::Ended => Poll::Ready(None),
        }
    }
}

impl std::fmt::Debug for ShutdownWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownWatch")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
