//! The test service (`test.Echo` from tests/proto/echo.proto) served by kit endpoints, and
//! the clients and helpers the tests share.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::shutdown::Shutdown;
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use kit_grpc::health::HealthReporter;
use kit_grpc::{BoxServer, Client};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::codegen::file_descriptor_set;
use crate::pb;

/// What the server saw: the outcome of each call as its finalizer reported it, a signal
/// each time the echo endpoint starts, the peer each call's `before` hooks saw, and how
/// each echo call's context ended.
#[derive(Default)]
pub(crate) struct Events {
    outcomes: Mutex<Vec<Option<Code>>>,
    pub(crate) echo_started: Notify,
    peers_before: Mutex<Vec<Option<SocketAddr>>>,
    contexts_done: Mutex<Vec<Code>>,
    pub(crate) context_done: Notify,
}

impl Events {
    /// The finalizer outcomes so far: `None` for a success, the error's code otherwise.
    pub(crate) fn outcomes(&self) -> Vec<Option<Code>> {
        self.outcomes.lock().unwrap().clone()
    }

    /// The remote address of the peer the `before` hooks saw, per call.
    pub(crate) fn peers_before(&self) -> Vec<Option<SocketAddr>> {
        self.peers_before.lock().unwrap().clone()
    }

    /// Waits until the context of an echo call is done, and returns why: the code of
    /// `Context::done`, seen by a task the endpoint spawned.
    pub(crate) async fn next_context_done(&self) -> Code {
        loop {
            let notified = self.context_done.notified();
            if let Some(code) = self.contexts_done.lock().unwrap().pop() {
                return code;
            }
            notified.await;
        }
    }
}

/// The echo endpoint: sleeps and fails on request, and reports what its context held.
fn echo(events: Arc<Events>) -> impl Endpoint<pb::EchoRequest, Response = pb::EchoReply> {
    endpoint_fn(move |ctx: Context, r: pb::EchoRequest| {
        let events = events.clone();
        async move {
            // Work spawned under the call's context, as a service would spawn it.
            tokio::spawn({
                let (ctx, events) = (ctx.clone(), events.clone());
                async move {
                    let code = ctx.done().await.code();
                    events.contexts_done.lock().unwrap().push(code);
                    events.context_done.notify_one();
                }
            });
            for (key, value) in r.response_metadata {
                ctx.set_response_metadata(key, value);
            }
            events.echo_started.notify_one();
            if r.sleep_millis > 0 {
                tokio::time::sleep(Duration::from_millis(r.sleep_millis)).await;
            }
            if r.fail_code != 0 {
                let code = Code::from_number(r.fail_code).unwrap_or(Code::Unknown);
                let err = Error::new(code, r.message);
                if r.fail_details_json.is_empty() {
                    return Err(err);
                }
                return Err(err.with_details(serde_json::from_str(&r.fail_details_json).unwrap()));
            }
            Ok(pb::EchoReply {
                message: r.message,
                remaining_millis: ctx.remaining().map(|d| d.as_millis() as u64),
                request_id: ctx.metadata("x-request-id").unwrap_or_default().to_owned(),
                tenant: ctx.metadata("tenant").unwrap_or_default().to_owned(),
                peer: ctx
                    .peer()
                    .map(|p| p.remote_addr.to_string())
                    .unwrap_or_default(),
            })
        }
    })
}

/// Sums; `0 + 0` is a business error, as addsvc's.
fn sum() -> impl Endpoint<(i64, i64), Response = i64> {
    endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move {
        if a == 0 && b == 0 {
            return Err(Error::invalid_argument("can't sum two zeroes"));
        }
        Ok(a + b)
    })
}

/// Names the answering server in the response metadata.
fn served_by(_ctx: &Context, metadata: &mut MetadataMap) {
    metadata.insert("x-served-by", "kit-grpc-test".parse().unwrap());
}

/// The tonic service: each method delegates to a kit server in one line.
pub(crate) struct EchoService {
    echo: BoxServer<pb::EchoRequest, pb::EchoReply>,
    sum: BoxServer<pb::SumRequest, pb::SumReply>,
}

#[tonic::async_trait]
impl pb::echo_server::Echo for EchoService {
    async fn echo(&self, r: Request<pb::EchoRequest>) -> Result<Response<pb::EchoReply>, Status> {
        self.echo.serve(r).await
    }

    async fn sum(&self, r: Request<pb::SumRequest>) -> Result<Response<pb::SumReply>, Status> {
        self.sum.serve(r).await
    }
}

impl EchoService {
    /// The service, reporting to `events`.
    pub(crate) fn new(events: &Arc<Events>) -> Self {
        let record = {
            let events = events.clone();
            move |_ctx: &Context, err: Option<&Error>| {
                events.outcomes.lock().unwrap().push(err.map(Error::code));
            }
        };
        let peer_before = {
            let events = events.clone();
            move |ctx: Context, _: &MetadataMap| {
                let peer = ctx.peer().map(|p| p.remote_addr);
                events.peers_before.lock().unwrap().push(peer);
                ctx
            }
        };
        EchoService {
            echo: kit_grpc::Server::new(echo(events.clone()), Ok, Ok)
                .before(peer_before)
                .before(kit_grpc::server::propagate_metadata([
                    "x-request-id",
                    "tenant",
                ]))
                .after(served_by)
                .finalizer(record.clone())
                .boxed(),
            sum: kit_grpc::Server::new(
                sum(),
                |r: pb::SumRequest| Ok((r.a, r.b)),
                |v| Ok(pb::SumReply { v }),
            )
            .before(kit_grpc::server::propagate_metadata([
                "x-request-id",
                "tenant",
            ]))
            .after(served_by)
            .finalizer(record)
            .boxed(),
        }
    }
}

/// Everything the test server serves: the echo service, health following `shutdown`, and
/// reflection (v1 and v1alpha, describing health too); and the reporter of its health.
pub(crate) async fn routes_with_shutdown(
    events: &Arc<Events>,
    shutdown: &Shutdown,
) -> (tonic::service::Routes, HealthReporter) {
    let (reporter, health) =
        kit_grpc::health::service_with_shutdown(shutdown, &[pb::echo_server::SERVICE_NAME]).await;
    let routes =
        tonic::service::Routes::new(pb::echo_server::EchoServer::new(EchoService::new(events)))
            .add_service(health);
    let routes = kit_grpc::reflection::add_with_health(routes, &[file_descriptor_set()]).unwrap();
    (routes, reporter)
}

/// [`routes_with_shutdown`] with a shutdown that never starts.
pub(crate) async fn routes(events: &Arc<Events>) -> (tonic::service::Routes, HealthReporter) {
    routes_with_shutdown(events, &Shutdown::default()).await
}

/// A test server running on a free loopback port.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) events: Arc<Events>,
    pub(crate) health: HealthReporter,
    /// What the health service follows (the server itself stops with `shut_down`).
    pub(crate) shutdown: Shutdown,
    stop: Option<oneshot::Sender<()>>,
    pub(crate) task: JoinHandle<()>,
}

impl TestServer {
    /// Serves the test routes with [`kit_grpc::serve`], with a grace period of `grace`.
    pub(crate) async fn start_with_grace(grace: Duration) -> TestServer {
        let events = Arc::new(Events::default());
        let shutdown = Shutdown::new(Duration::from_secs(3600));
        let (routes, health) = routes_with_shutdown(&events, &shutdown).await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(
            kit_grpc::serve(listener, routes)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .grace_period(grace)
                .into_future(),
        );
        TestServer {
            addr,
            events,
            health,
            shutdown,
            stop: Some(tx),
            task,
        }
    }

    /// Serves the test routes with [`kit_grpc::serve`].
    pub(crate) async fn start() -> TestServer {
        TestServer::start_with_grace(kit_grpc::DEFAULT_GRACE_PERIOD).await
    }

    /// Starts the graceful shutdown.
    pub(crate) fn shut_down(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// A channel to the server (connecting on first use).
    pub(crate) fn channel(&self) -> Channel {
        channel(self.addr)
    }
}

/// A lazily connecting channel to `addr`.
pub(crate) fn channel(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

/// A kit client of `Echo` that takes and returns the messages as they are, over transport
/// `T`.
pub(crate) type EchoClient<T = Channel> = Client<
    fn(pb::EchoRequest) -> pb::EchoRequest,
    fn(pb::EchoReply) -> Result<pb::EchoReply, Error>,
    pb::EchoReply,
    T,
>;

/// A kit client of `Echo`.
pub(crate) fn echo_client(channel: Channel) -> EchoClient {
    Client::new(channel, "/test.Echo/Echo", |r| r, Ok)
}

/// A kit client of `Sum`, as a plain `(a, b) -> sum` endpoint.
pub(crate) fn sum_client(channel: Channel) -> impl Endpoint<(i64, i64), Response = i64> + Clone {
    Client::new(
        channel,
        "/test.Echo/Sum",
        |(a, b): (i64, i64)| pb::SumRequest { a, b },
        |r: pb::SumReply| Ok(r.v),
    )
}

/// An echo request for `message`.
pub(crate) fn echo_request(message: &str) -> pb::EchoRequest {
    pb::EchoRequest {
        message: message.to_owned(),
        ..Default::default()
    }
}

/// Undoes the percent-encoding of `grpc-message`.
pub(crate) fn percent_decode(text: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        match (first, tail.get(..2)) {
            (b'%', Some(hex)) => {
                let hex = std::str::from_utf8(hex).unwrap();
                bytes.push(u8::from_str_radix(hex, 16).unwrap());
                rest = &tail[2..];
            }
            _ => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// Waits for `future`, failing the test if it takes longer than a bound no healthy run
/// comes near (so that a missing event fails instead of hanging).
pub(crate) async fn within_bound<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .unwrap_or_else(|_| panic!("{what} never happened"))
}
