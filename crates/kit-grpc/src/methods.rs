//! A gRPC service made of [`BoxServer`]s at run time, with no code generated from a `.proto`.
//!
//! tonic's code generator writes, per service, a struct that matches the request path to a
//! method and hands the request to `tonic::server::Grpc` with the method's message types.
//! [`Methods`] does the same from a table filled at run time: each entry is a method name
//! and a [`BoxServer`] whose message types are prost messages. `#[kit::service]` builds its
//! gRPC servers with it; hand-written services can too.
//!
//! ```
//! use kit::{endpoint_fn, Context, Error};
//! use kit_grpc::Methods;
//!
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct Ping {
//!     #[prost(string, tag = "1")]
//!     text: String,
//! }
//!
//! /// The service's full name, as `.proto` files and routers know it.
//! #[derive(Debug, Clone, Copy)]
//! struct Echo;
//! impl tonic::server::NamedService for Echo {
//!     const NAME: &'static str = "demo.Echo";
//! }
//!
//! let echo = endpoint_fn(|_ctx: Context, ping: Ping| async move { Ok::<_, Error>(ping) });
//! let service = Methods::<Echo>::new()
//!     .unary("Echo", kit_grpc::Server::new(echo, Ok, Ok).boxed())
//!     .max_decoding_message_size(64 * 1024);
//! let routes = tonic::service::Routes::new(service);
//! # let _ = routes;
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tonic::body::Body;
use tonic::codec::{CompressionEncoding, EnabledCompressionEncodings};
use tonic::server::{Grpc, NamedService};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

use crate::BoxServer;

type Answer = Pin<Box<dyn Future<Output = http::Response<Body>> + Send>>;

/// Serves one method: decodes the request with the settings, calls, encodes the answer.
type Handler = Arc<dyn Fn(http::Request<Body>, Settings) -> Answer + Send + Sync>;

/// The per-service settings tonic's generated servers have.
#[derive(Debug, Clone, Copy, Default)]
struct Settings {
    accept: EnabledCompressionEncodings,
    send: EnabledCompressionEncodings,
    max_decoding: Option<usize>,
    max_encoding: Option<usize>,
}

/// The unary methods of one gRPC service, `N` naming it (its [`NamedService::NAME`] is the
/// service's full name, `package.Service`): a tower service that tonic's router and
/// [`serve`](crate::serve()) take like a generated one.
///
/// A request for a method not in the table is answered `UNIMPLEMENTED`, as generated
/// servers do. Message size limits and compression are those of generated servers, with
/// the same defaults (4 MiB received, no limit sent, no compression).
pub struct Methods<N> {
    table: Arc<HashMap<String, Handler>>,
    settings: Settings,
    name: PhantomData<fn() -> N>,
}

impl<N: NamedService> Methods<N> {
    /// A service with no methods yet.
    pub fn new() -> Self {
        Methods {
            table: Arc::new(HashMap::new()),
            settings: Settings::default(),
            name: PhantomData,
        }
    }

    /// Serves `server` as the unary method `method` (its name in the `.proto`, such as
    /// `Sum`), at the path `/<N::NAME>/<method>`.
    ///
    /// # Panics
    ///
    /// If the service already has a method of that name: a programming error.
    pub fn unary<P, Q>(mut self, method: &str, server: BoxServer<P, Q>) -> Self
    where
        P: prost::Message + Default + Send + 'static,
        Q: prost::Message + Send + 'static,
    {
        let path = format!("/{}/{method}", N::NAME);
        let handler: Handler = Arc::new(move |request, settings: Settings| {
            let server = server.clone();
            Box::pin(async move {
                let mut grpc = Grpc::new(ProstCodec::<Q, P>::default())
                    .apply_compression_config(settings.accept, settings.send)
                    .apply_max_message_size_config(settings.max_decoding, settings.max_encoding);
                grpc.unary(Unary(server), request).await
            })
        });
        let table = Arc::make_mut(&mut self.table);
        assert!(
            table.insert(path, handler).is_none(),
            "the gRPC method {}/{method} is served twice",
            N::NAME
        );
        self
    }

    /// Accepts requests compressed with `encoding`.
    pub fn accept_compressed(mut self, encoding: CompressionEncoding) -> Self {
        self.settings.accept.enable(encoding);
        self
    }

    /// Compresses responses with `encoding` when the client accepts it.
    pub fn send_compressed(mut self, encoding: CompressionEncoding) -> Self {
        self.settings.send.enable(encoding);
        self
    }

    /// Refuses requests whose message is over `limit` bytes (`OUT_OF_RANGE`, as tonic's
    /// generated servers answer); 4 MiB by default.
    pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
        self.settings.max_decoding = Some(limit);
        self
    }

    /// Fails responses whose message is over `limit` bytes; no limit by default.
    pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
        self.settings.max_encoding = Some(limit);
        self
    }
}

impl<N: NamedService> Default for Methods<N> {
    fn default() -> Self {
        Methods::new()
    }
}

impl<N> Clone for Methods<N> {
    fn clone(&self) -> Self {
        Methods {
            table: self.table.clone(),
            settings: self.settings,
            name: PhantomData,
        }
    }
}

impl<N: NamedService> fmt::Debug for Methods<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut methods: Vec<_> = self.table.keys().collect();
        methods.sort();
        f.debug_struct("Methods")
            .field("service", &N::NAME)
            .field("methods", &methods)
            .field("max_decoding_message_size", &self.settings.max_decoding)
            .field("max_encoding_message_size", &self.settings.max_encoding)
            .finish()
    }
}

impl<N: NamedService> NamedService for Methods<N> {
    const NAME: &'static str = N::NAME;
}

impl<N> tower_service::Service<http::Request<Body>> for Methods<N> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match self.table.get(request.uri().path()) {
            Some(handler) => {
                let answer = handler(request, self.settings);
                Box::pin(async move { Ok(answer.await) })
            }
            None => {
                let answer = Status::unimplemented("").into_http();
                Box::pin(std::future::ready(Ok(answer)))
            }
        }
    }
}

/// A [`BoxServer`] as the unary service `tonic::server::Grpc` calls.
struct Unary<P, Q>(BoxServer<P, Q>);

impl<P: Send + 'static, Q: Send + 'static> tower_service::Service<Request<P>> for Unary<P, Q> {
    type Response = Response<Q>;
    type Error = Status;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Q>, Status>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<P>) -> Self::Future {
        let server = self.0.clone();
        Box::pin(async move { server.serve(request).await })
    }
}
