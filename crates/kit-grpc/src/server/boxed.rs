//! A server whose endpoint, decoder and encoder types are erased.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kit::{Endpoint, Error};
use tonic::{Request, Response, Status};

use super::Server;

pub(crate) type ServeFuture<'a, Q> =
    Pin<Box<dyn Future<Output = Result<Response<Q>, Status>> + Send + 'a>>;

/// A [`Server`] known only by its request and reply messages, made by [`Server::boxed`].
///
/// A [`Server`]'s type names its decoder and encoder, which are usually closures and so
/// cannot be written down; a `BoxServer<pb::SumRequest, pb::SumReply>` can be a field of the
/// struct that implements a generated tonic service. It costs one allocation per call, for
/// the boxed future (tonic's generated methods box theirs anyway).
///
/// ```
/// use kit::{endpoint_fn, Context, Error};
/// use kit_grpc::BoxServer;
///
/// struct SumRequest { a: i64, b: i64 }
/// struct SumReply { v: i64 }
///
/// // The struct a generated service trait would be implemented for.
/// struct Add {
///     sum: BoxServer<SumRequest, SumReply>,
/// }
///
/// let add = Add {
///     sum: kit_grpc::Server::new(
///         endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move { Ok::<_, Error>(a + b) }),
///         |r: SumRequest| Ok((r.a, r.b)),
///         |v: i64| Ok(SumReply { v }),
///     )
///     .boxed(),
/// };
/// # let _ = add.sum;
/// ```
pub struct BoxServer<P, Q> {
    inner: Arc<dyn Serve<P, Q>>,
}

/// [`Server::serve`] behind a pointer.
pub(super) trait Serve<P, Q>: Send + Sync {
    fn serve_boxed(&self, request: Request<P>) -> ServeFuture<'_, Q>;

    /// The same, owning the server: a future that borrows nothing.
    fn serve_shared(self: Arc<Self>, request: Request<P>) -> ServeFuture<'static, Q>;
}

impl<E, D, C, Req, P, Q> Serve<P, Q> for Server<E, D, C>
where
    E: Endpoint<Req>,
    E::Response: Send,
    D: Fn(P) -> Result<Req, Error> + Send + Sync + 'static,
    C: Fn(E::Response) -> Result<Q, Error> + Send + Sync + 'static,
    Req: Send + 'static,
    P: Send + 'static,
    Q: Send + 'static,
{
    fn serve_boxed(&self, request: Request<P>) -> ServeFuture<'_, Q> {
        Box::pin(self.serve(request))
    }

    fn serve_shared(self: Arc<Self>, request: Request<P>) -> ServeFuture<'static, Q> {
        Box::pin(async move { self.serve(request).await })
    }
}

impl<P, Q> BoxServer<P, Q> {
    pub(super) fn new(server: impl Serve<P, Q> + 'static) -> Self {
        BoxServer {
            inner: Arc::new(server),
        }
    }

    /// Handles one call of the method; see [`Server::serve`].
    pub fn serve(
        &self,
        request: Request<P>,
    ) -> impl Future<Output = Result<Response<Q>, Status>> + Send + '_ {
        self.inner.serve_boxed(request)
    }
}

impl<P, Q> BoxServer<P, Q> {
    /// Serves `request` with a future that owns a handle on the server (one allocation,
    /// the future's), for callers that need a `'static` future.
    pub(crate) fn serve_owned(&self, request: Request<P>) -> ServeFuture<'static, Q> {
        self.inner.clone().serve_shared(request)
    }
}

impl<P, Q> Clone for BoxServer<P, Q> {
    fn clone(&self) -> Self {
        BoxServer {
            inner: self.inner.clone(),
        }
    }
}

impl<P, Q> std::fmt::Debug for BoxServer<P, Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoxServer").finish_non_exhaustive()
    }
}
