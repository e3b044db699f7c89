//! The client side: a remote method as an [`Endpoint`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, Uri, request, response};
use kit::{Context, Endpoint, Error};
use serde_json::value::RawValue;
use tracing::Instrument as _;

use super::wire::{Call, Reply};
use crate::Pool;
use crate::json::{CONTENT_TYPE_JSON, to_bytes};

/// What the HTTP client below sends: one call, its params already encoded.
struct Outgoing {
    method: Arc<str>,
    params: Box<RawValue>,
    id: u64,
}

type EncodeCall = fn(Outgoing, &mut request::Parts) -> Result<Bytes, Error>;
type DecodeReply = fn(response::Parts, Bytes) -> Result<Reply, Error>;

/// One method of a remote JSON-RPC server, as an endpoint; see the
/// [module docs](crate::jsonrpc).
///
/// Calls go through a [`kit_http::Client`](crate::Client) (pooled connections, the
/// deadline as `kit-timeout`, propagated metadata as headers, a response limit, non-`2xx`
/// answers read as errors). The JSON-RPC layer numbers its calls from 1, checks that each
/// answer carries its call's id, and turns error objects into [`Error`]s whose code comes
/// back ([`code_of`](super::code_of)), with `data` as the error's details.
pub struct Client<Enc, Dec> {
    http: crate::Client<EncodeCall, DecodeReply>,
    method: Arc<str>,
    encode: Enc,
    decode: Dec,
    next_id: AtomicU64,
}

impl<Enc, Dec> Client<Enc, Dec> {
    /// A client of the method `method` of the server at `uri`, encoding requests into
    /// params with `encode` and decoding results with `decode`
    /// ([`encode_params`](super::encode_params) and [`decode_result`](super::decode_result)
    /// do both with serde), over a pool of its own.
    pub fn new<Req, Resp>(uri: Uri, method: impl Into<Arc<str>>, encode: Enc, decode: Dec) -> Self
    where
        Enc: Fn(Req) -> Result<Box<RawValue>, Error>,
        Dec: Fn(&RawValue) -> Result<Resp, Error>,
    {
        Client {
            http: crate::Client::new(
                Method::POST,
                uri,
                encode_call as EncodeCall,
                decode_reply as DecodeReply,
            ),
            method: method.into(),
            encode,
            decode,
            next_id: AtomicU64::new(1),
        }
    }

    /// Sends calls over `pool`, shared with other clients of the same hosts; see
    /// [`Client::pool`](crate::Client::pool).
    pub fn pool(mut self, pool: Pool) -> Self {
        self.http = self.http.pool(pool);
        self
    }

    /// Adds a function that may change the HTTP request head before it is sent; see
    /// [`Client::before`](crate::Client::before).
    pub fn before(
        mut self,
        f: impl Fn(&Context, &mut request::Parts) + Send + Sync + 'static,
    ) -> Self {
        self.http = self.http.before(f);
        self
    }

    /// Adds a function that sees every HTTP response head; see
    /// [`Client::after`](crate::Client::after).
    pub fn after(mut self, f: impl Fn(&Context, &response::Parts) + Send + Sync + 'static) -> Self {
        self.http = self.http.after(f);
        self
    }

    /// Whether calls of this method are idempotent, so that a retry may send one again even
    /// if it may have run (default `false`: JSON-RPC calls are `POST`s); see
    /// [`Client::idempotent`](crate::Client::idempotent).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.http = self.http.idempotent(idempotent);
        self
    }

    /// The largest answer read, in bytes; see
    /// [`Client::response_limit`](crate::Client::response_limit).
    pub fn response_limit(mut self, limit: usize) -> Self {
        self.http = self.http.response_limit(limit);
        self
    }

    /// The trace header formats sent with calls whose context has a trace; see
    /// [`Client::trace_propagation`](crate::Client::trace_propagation).
    pub fn trace_propagation(mut self, formats: kit::trace::Propagation) -> Self {
        self.http = self.http.trace_propagation(formats);
        self
    }
}

fn encode_call(call: Outgoing, parts: &mut request::Parts) -> Result<Bytes, Error> {
    parts.headers.insert(CONTENT_TYPE, CONTENT_TYPE_JSON);
    to_bytes(&Call::new(&call.method, &call.params, call.id))
}

fn decode_reply(_parts: response::Parts, body: Bytes) -> Result<Reply, Error> {
    serde_json::from_slice(&body)
        .map_err(|err| Error::internal(format!("invalid JSON-RPC answer: {err}")).with_source(err))
}

impl<Req, Resp, Enc, Dec> Endpoint<Req> for Client<Enc, Dec>
where
    Enc: Fn(Req) -> Result<Box<RawValue>, Error> + Send + Sync + 'static,
    Dec: Fn(&RawValue) -> Result<Resp, Error> + Send + Sync + 'static,
    Req: Send,
    Resp: Send,
{
    type Response = Resp;

    async fn call(&self, ctx: Context, req: Req) -> Result<Resp, Error> {
        let params = (self.encode)(req)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let call = Outgoing {
            method: self.method.clone(),
            params,
            id,
        };
        if kit::trace::span::bridge().is_none() {
            let result = self.http.call(ctx, call).await?.into_result(id)?;
            return (self.decode)(&result);
        }
        let span = crate::span::jsonrpc_client(&self.method, self.http.uri(), id, &ctx);
        let reply = self
            .http
            .send(&ctx, call, Some(&span))
            .instrument(span.span().clone())
            .await;
        let result = match reply {
            Ok(reply) => reply.into_result(id).inspect_err(|err| {
                crate::span::jsonrpc_client_error_answer(&span, err);
            }),
            Err(err) => {
                span.failed(&err);
                Err(err)
            }
        }?;
        (self.decode)(&result)
    }
}

impl<Enc, Dec> fmt::Debug for Client<Enc, Dec> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("method", &self.method)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}
