//! Calling a remote gRPC method as a kit [`Endpoint`].
//!
//! A [`Client`] turns a tonic [`Channel`], a method path, a request encoder and a reply
//! decoder into an endpoint, the counterpart of Go kit's `grpctransport.NewClient`. No
//! generated client is needed: the call goes through tonic's generic unary call with the
//! prost codec, so any prost message pair will do. Each call:
//!
//! 1. ends at once with `DeadlineExceeded` or `Cancelled` if its context is already done;
//! 2. builds the request: the encoded message, the context's remaining time as
//!    `grpc-timeout`, its propagated metadata (keys that are valid ASCII metadata keys, not
//!    `-bin` and not gRPC's own `grpc-` keys), then the `before` functions;
//! 3. sends it over the channel, under the context's deadline and cancellation, so the
//!    caller is answered on time even by a server that never answers;
//! 4. runs the `after` functions on the reply metadata (headers and trailers, or the
//!    status's metadata), then decodes the reply, or turns the status into an [`Error`]
//!    with [`error_of`]: the same code and message the server's error had.
//!
//! Transport failures are `UNAVAILABLE` statuses in tonic, so a refused or reset connection
//! is [`Code::Unavailable`](kit::Code::Unavailable): retryable, and a failure for circuit
//! breakers. When a call fails after its context is done, the context's error wins, so a
//! deadline is always reported as `DeadlineExceeded`, whichever side noticed it first.
//!
//! A [`Channel`] multiplexes calls over HTTP/2 and is cheap to clone: build one per remote
//! address and hand clones to every client of that address.
//!
//! ```no_run
//! use kit::{Context, Endpoint, Error};
//!
//! # #[derive(Clone, PartialEq, prost::Message)] struct SumRequest { #[prost(int64, tag = "1")] a: i64, #[prost(int64, tag = "2")] b: i64 }
//! # #[derive(Clone, PartialEq, prost::Message)] struct SumReply { #[prost(int64, tag = "1")] v: i64 }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // SumRequest and SumReply are the prost messages generated for the service's proto.
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:8082").connect_lazy();
//! let sum = kit_grpc::Client::new(
//!     channel,
//!     "/pb.Add/Sum",
//!     |(a, b): (i64, i64)| SumRequest { a, b },
//!     |reply: SumReply| Ok::<_, Error>(reply.v),
//! );
//! let ctx = Context::background().with_timeout(std::time::Duration::from_secs(1));
//! assert_eq!(sum.call(ctx, (1, 2)).await?, 3);
//! # Ok(()) }
//! ```

use std::marker::PhantomData;
use std::sync::Arc;

use http::uri::PathAndQuery;
use kit::{Context, Endpoint, Error};
use tonic::Request;
use tonic::client::Grpc;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

use crate::error_of;
use crate::server::TIMEOUT_METADATA;

type BeforeFn = Arc<dyn Fn(&Context, &mut MetadataMap) + Send + Sync>;
type AfterFn = Arc<dyn Fn(&Context, &MetadataMap) + Send + Sync>;

/// A remote gRPC method as a kit [`Endpoint`]; see the [module docs](self).
///
/// `Enc` turns the endpoint's request into the request message, `Dec` the reply message
/// `Reply` into the endpoint's response.
pub struct Client<Enc, Dec, Reply> {
    channel: Channel,
    path: PathAndQuery,
    encode: Enc,
    decode: Dec,
    before: Vec<BeforeFn>,
    after: Vec<AfterFn>,
    reply: PhantomData<fn(Reply)>,
}

impl<Enc, Dec, Reply> Client<Enc, Dec, Reply> {
    /// Calls the method at `path` (`"/package.Service/Method"`) over `channel`, encoding
    /// requests with `encode` and decoding replies with `decode`.
    ///
    /// # Panics
    /// If `path` is not a valid URI path.
    pub fn new<Req, P, Resp>(channel: Channel, path: &'static str, encode: Enc, decode: Dec) -> Self
    where
        Enc: Fn(Req) -> P + Send + Sync + 'static,
        Dec: Fn(Reply) -> Result<Resp, Error> + Send + Sync + 'static,
        P: prost::Message + 'static,
        Reply: prost::Message + Default + 'static,
    {
        Client {
            channel,
            path: PathAndQuery::from_static(path),
            encode,
            decode,
            before: Vec::new(),
            after: Vec::new(),
            reply: PhantomData,
        }
    }

    /// Adds a function that may change the request metadata before it is sent; they run in
    /// the order added, after the deadline and propagated metadata are in place.
    pub fn before(
        mut self,
        f: impl Fn(&Context, &mut MetadataMap) + Send + Sync + 'static,
    ) -> Self {
        self.before.push(Arc::new(f));
        self
    }

    /// Adds a function that sees the reply metadata of every call that got an answer: the
    /// response headers and trailers, or the metadata of the error status.
    pub fn after(mut self, f: impl Fn(&Context, &MetadataMap) + Send + Sync + 'static) -> Self {
        self.after.push(Arc::new(f));
        self
    }

    /// The request for one call, before the `before` functions run.
    fn request<P>(&self, ctx: &Context, message: P) -> Request<P> {
        let mut request = Request::new(message);
        let metadata = request.metadata_mut();
        for (key, value) in ctx.propagated() {
            if key.starts_with("grpc-") {
                tracing::debug!(key, "metadata reserved for gRPC: not propagated");
                continue;
            }
            match (
                key.parse::<AsciiMetadataKey>(),
                value.parse::<AsciiMetadataValue>(),
            ) {
                (Ok(key), Ok(value)) => {
                    metadata.append(key, value);
                }
                _ => tracing::debug!(key, "metadata not sendable as gRPC metadata: skipped"),
            }
        }
        if let Some(remaining) = ctx.remaining() {
            let timeout = kit::wire::format_timeout(remaining)
                .parse::<AsciiMetadataValue>()
                .expect("a timeout is always a valid metadata value");
            metadata.insert(TIMEOUT_METADATA, timeout);
        }
        request
    }

    async fn exchange<Req, P, Resp>(&self, ctx: &Context, req: Req) -> Result<Resp, Error>
    where
        Enc: Fn(Req) -> P,
        Dec: Fn(Reply) -> Result<Resp, Error>,
        P: prost::Message + 'static,
        Reply: prost::Message + Default + 'static,
    {
        let mut request = self.request(ctx, (self.encode)(req));
        for before in &self.before {
            before(ctx, request.metadata_mut());
        }
        let mut grpc = Grpc::new(self.channel.clone());
        grpc.ready().await.map_err(|err| {
            Error::unavailable(format!("gRPC channel not ready: {err}")).with_source(err)
        })?;
        let result = grpc
            .unary(
                request,
                self.path.clone(),
                ProstCodec::<P, Reply>::default(),
            )
            .await;
        match result {
            Ok(response) => {
                for after in &self.after {
                    after(ctx, response.metadata());
                }
                (self.decode)(response.into_inner())
            }
            Err(status) => {
                for after in &self.after {
                    after(ctx, status.metadata());
                }
                Err(error_of(status))
            }
        }
    }
}

impl<Req, P, Resp, Enc, Dec, Reply> Endpoint<Req> for Client<Enc, Dec, Reply>
where
    Enc: Fn(Req) -> P + Send + Sync + 'static,
    Dec: Fn(Reply) -> Result<Resp, Error> + Send + Sync + 'static,
    P: prost::Message + 'static,
    Reply: prost::Message + Default + 'static,
    Req: Send,
{
    type Response = Resp;

    async fn call(&self, ctx: Context, req: Req) -> Result<Resp, Error> {
        ctx.run(self.exchange(&ctx, req))
            .await
            .map_err(|err| ctx.err().unwrap_or(err))
    }
}

impl<Enc: Clone, Dec: Clone, Reply> Clone for Client<Enc, Dec, Reply> {
    /// A client of the same method over the same channel (sharing its connections).
    fn clone(&self) -> Self {
        Client {
            channel: self.channel.clone(),
            path: self.path.clone(),
            encode: self.encode.clone(),
            decode: self.decode.clone(),
            before: self.before.clone(),
            after: self.after.clone(),
            reply: PhantomData,
        }
    }
}

impl<Enc, Dec, Reply> std::fmt::Debug for Client<Enc, Dec, Reply> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("path", &self.path)
            .field("before", &self.before.len())
            .field("after", &self.after.len())
            .finish_non_exhaustive()
    }
}
