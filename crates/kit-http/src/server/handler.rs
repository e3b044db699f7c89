//! What a server does with a request once the shared machinery has run.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use futures_util::{FutureExt, TryFutureExt};
use http::{Method, Response, request};
use http_body::Body as HttpBody;
use kit::{BoxError, Context, Endpoint, Error};

use super::Decoder;
use crate::{Body, RequestBody};

/// The core of a [`Server`](super::Server): turns one request (its context, head and body)
/// into a response.
///
/// Everything around it is the same for every kind of server and lives in `Server`: the
/// request context (deadline, peer, cancellation, response metadata), the `before`
/// functions, the body limit and timeout, the error encoder, the `after` functions and the
/// finalizers. kit has two handlers: [`EndpointHandler`] (one endpoint with a decoder and an
/// encoder, built by [`Server::new`](super::Server::new)) and
/// [`jsonrpc::Methods`](crate::jsonrpc::Methods) (a table of JSON-RPC methods).
///
/// The trait is sealed: it names what servers have in common so that they share one
/// implementation, and may grow as they do.
pub trait Handler: sealed::Sealed + Send + Sync + 'static {
    /// The one HTTP method this handler serves, if it is picky: a request with another
    /// method is answered `405` (through the error encoder, with an `Allow` header) before
    /// its body is read. `None` serves every method.
    const METHOD: Option<Method> = None;

    /// The transport named in the request's scope, on its log lines (`transport=http`).
    const TRANSPORT: &'static str = "http";

    /// Whether the handler records its calls in the transport metrics itself (as a
    /// JSON-RPC server does, call by call), so that the server records only the requests
    /// it answers with an error before or instead of the handler (see the `metrics`
    /// module, feature `metrics`).
    const RECORDS_CALLS: bool = false;

    /// Whether the handler opens the server spans itself (as a JSON-RPC server does, one per
    /// call), so that the server opens none for the request (see `kit_http`'s spans).
    const OPENS_SPANS: bool = false;

    /// Answers a request; an error goes through the server's error encoder.
    fn handle<B>(
        &self,
        ctx: &Context,
        parts: &mut request::Parts,
        body: RequestBody<B>,
    ) -> impl Future<Output = Result<Response<Body>, Error>> + Send
    where
        B: HttpBody + Send,
        B::Data: Send,
        B::Error: Into<BoxError>;
}

pub(crate) mod sealed {
    use crate::meter::Slot;

    /// Keeps [`Handler`](super::Handler) and [`AlwaysReady`](crate::AlwaysReady)
    /// implemented inside this crate only.
    pub trait Sealed {
        /// Records the requests this service answers under the route whose handles `slot`
        /// will hold (a router's route; nothing for a service that is not a server).
        fn attach_metrics(&mut self, _slot: Slot) {}

        /// Names the route pattern this service answers (`/notes/{id}`), for its spans
        /// (nothing for a service that is not a server).
        fn attach_route(&mut self, _pattern: &str) {}
    }
}

/// The handler of a [`Server`](super::Server) made with [`Server::new`](super::Server::new):
/// decodes the request (into `Req`), calls the endpoint under the request's deadline,
/// encodes its response.
pub struct EndpointHandler<E, D, C, Req> {
    endpoint: E,
    decode: D,
    encode: C,
    request: PhantomData<fn() -> Req>,
}

impl<E, D, C, Req> EndpointHandler<E, D, C, Req> {
    pub(crate) fn new(endpoint: E, decode: D, encode: C) -> Self {
        EndpointHandler {
            endpoint,
            decode,
            encode,
            request: PhantomData,
        }
    }
}

impl<E, D, C, Req> sealed::Sealed for EndpointHandler<E, D, C, Req> {}

impl<E, D, C, Req> Handler for EndpointHandler<E, D, C, Req>
where
    E: Endpoint<Req>,
    E::Response: Send,
    D: Decoder<Req>,
    C: Fn(&Context, E::Response) -> Result<Response<Body>, Error> + Send + Sync + 'static,
    Req: Send + 'static,
{
    fn handle<B>(
        &self,
        ctx: &Context,
        parts: &mut request::Parts,
        body: RequestBody<B>,
    ) -> impl Future<Output = Result<Response<Body>, Error>> + Send
    where
        B: HttpBody + Send,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        // Combinators, not `async`: an `async fn` would hold the body as its argument besides
        // the decoder's future, and an `async` block would hold that future twice (captured,
        // and moved to be awaited). The server's future holds this one.
        self.decode
            .decode(ctx, parts, body)
            // Cancellation is the server's: it drops this future when the client goes away.
            .and_then(move |request| {
                ctx.run_until_deadline(self.endpoint.call(ctx.clone(), request))
            })
            .map(move |response| response.and_then(|response| (self.encode)(ctx, response)))
    }
}

impl<E, D, C, Req> fmt::Debug for EndpointHandler<E, D, C, Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointHandler")
            .field("endpoint", &std::any::type_name::<E>())
            .finish_non_exhaustive()
    }
}
