//! What a server does with a request once the shared machinery has run.

use std::fmt;
use std::future::Future;

use bytes::Bytes;
use http::{Method, Response, request};
use kit::{Context, Endpoint, Error};

use crate::Body;

/// The core of a [`Server`](super::Server): turns one request (its context, head and whole
/// body) into a response.
///
/// Everything around it is the same for every kind of server and lives in `Server`: the
/// `kit-timeout` deadline, the `before` functions, the body limit, the error encoder, the
/// `after` functions and the finalizers. kit has two handlers: [`EndpointHandler`] (one
/// endpoint with a decoder and an encoder, built by [`Server::new`](super::Server::new))
/// and [`jsonrpc::Methods`](crate::jsonrpc::Methods) (a table of JSON-RPC methods).
///
/// The trait is sealed: it names what servers have in common so that they share one
/// implementation, and may grow as they do.
pub trait Handler: sealed::Sealed + Send + Sync + 'static {
    /// The one HTTP method this handler serves, if it is picky: a request with another
    /// method is answered `405` (through the error encoder, with an `Allow` header) before
    /// its body is read. `None` serves every method.
    const METHOD: Option<Method> = None;

    /// Answers a request whose body has been read whole; an error goes through the
    /// server's error encoder.
    fn handle(
        &self,
        ctx: &Context,
        parts: &request::Parts,
        body: Bytes,
    ) -> impl Future<Output = Result<Response<Body>, Error>> + Send;
}

pub(crate) mod sealed {
    /// Keeps [`Handler`](super::Handler) implemented inside this crate only.
    pub trait Sealed {}
}

/// The handler of a [`Server`](super::Server) made with [`Server::new`](super::Server::new):
/// decodes the request, calls the endpoint under the request's context, encodes its
/// response.
pub struct EndpointHandler<E, D, C> {
    endpoint: E,
    decode: D,
    encode: C,
}

impl<E, D, C> EndpointHandler<E, D, C> {
    pub(crate) fn new(endpoint: E, decode: D, encode: C) -> Self {
        EndpointHandler {
            endpoint,
            decode,
            encode,
        }
    }
}

impl<E, D, C> sealed::Sealed for EndpointHandler<E, D, C> {}

impl<E, D, C, Req> Handler for EndpointHandler<E, D, C>
where
    E: Endpoint<Req>,
    E::Response: Send,
    D: Fn(&request::Parts, Bytes) -> Result<Req, Error> + Send + Sync + 'static,
    C: Fn(E::Response) -> Result<Response<Body>, Error> + Send + Sync + 'static,
    Req: Send + 'static,
{
    async fn handle(
        &self,
        ctx: &Context,
        parts: &request::Parts,
        body: Bytes,
    ) -> Result<Response<Body>, Error> {
        let request = (self.decode)(parts, body)?;
        let response = ctx.run(self.endpoint.call(ctx.clone(), request)).await?;
        (self.encode)(response)
    }
}

impl<E, D, C> fmt::Debug for EndpointHandler<E, D, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointHandler")
            .field("endpoint", &std::any::type_name::<E>())
            .finish_non_exhaustive()
    }
}
