//! The server side: a table of methods, served as a [`Server`]'s handler.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use http::header::CONTENT_TYPE;
use http::{Method, Response, StatusCode, request};
use http_body::Body as HttpBody;
use kit::request_scope::RequestScope;
use kit::{BoxError, Code, Context, Endpoint, Error};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;
use tracing::Instrument as _;

use super::wire::{Answer, ErrorObject, Request};
use crate::json::{CONTENT_TYPE_JSON, to_bytes};
use crate::meter::Slot;
use crate::server::{Handler, sealed};
use crate::{Body, RequestBody, Server};

/// The default largest number of requests in a batch.
pub const DEFAULT_MAX_BATCH: usize = 100;

/// The default number of requests of one batch that run at the same time.
pub const DEFAULT_BATCH_CONCURRENCY: usize = 8;

type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Box<RawValue>, Error>> + Send + 'a>>;

/// The methods a JSON-RPC server answers, by name; serve them with [`Server::jsonrpc`].
///
/// Each method is an endpoint with a decoder of its params and an encoder of its result,
/// as each route of an HTTP server is an endpoint with a decoder and an encoder.
///
/// Batches are bounded: at most [`max_batch`](Methods::max_batch) requests (default
/// [`DEFAULT_MAX_BATCH`]; a larger batch is refused whole with `-32600` before any of it
/// runs), of which at most [`batch_concurrency`](Methods::batch_concurrency) run at a time
/// (default [`DEFAULT_BATCH_CONCURRENCY`]), yielding to the server's other work as they go.
pub struct Methods {
    /// Each method, with where its transport metrics go.
    table: HashMap<Box<str>, (Box<dyn Callable>, Slot)>,
    max_batch: usize,
    batch_concurrency: usize,
    /// The metrics of what is no known method's call: unknown methods, invalid requests,
    /// messages that fail whole, requests refused at the HTTP level.
    other: Slot,
    /// The names of the transport metrics, once turned on.
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::ServerMetrics>,
}

impl Default for Methods {
    fn default() -> Self {
        Methods {
            table: HashMap::new(),
            max_batch: DEFAULT_MAX_BATCH,
            batch_concurrency: DEFAULT_BATCH_CONCURRENCY,
            other: Slot::default(),
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }
}

/// One method with its codecs, its types erased.
trait Callable: Send + Sync {
    fn call<'a>(&'a self, ctx: &'a Context, params: &'a RawValue) -> CallFuture<'a>;
}

struct Bound<E, D, C> {
    endpoint: E,
    decode: D,
    encode: C,
}

impl<E, D, C, Req> Callable for Bound<E, D, C>
where
    E: Endpoint<Req>,
    D: Fn(&RawValue) -> Result<Req, Error> + Send + Sync,
    C: Fn(E::Response) -> Result<Box<RawValue>, Error> + Send + Sync,
{
    fn call<'a>(&'a self, ctx: &'a Context, params: &'a RawValue) -> CallFuture<'a> {
        Box::pin(async move {
            let request = (self.decode)(params)?;
            let response = self.endpoint.call(ctx.clone(), request).await?;
            (self.encode)(response)
        })
    }
}

impl Methods {
    /// An empty table.
    pub fn new() -> Self {
        Methods::default()
    }

    /// Answers calls of `name` with `endpoint`: `decode` turns the call's params (`null`
    /// when the call has none) into the endpoint's request, `encode` turns its response
    /// into the call's result. [`decode_params`](super::decode_params) and
    /// [`encode_result`](super::encode_result) do both with serde.
    ///
    /// # Panics
    /// If `name` is already in the table.
    pub fn method<E, D, C, Req>(
        mut self,
        name: impl Into<String>,
        endpoint: E,
        decode: D,
        encode: C,
    ) -> Self
    where
        E: Endpoint<Req>,
        D: Fn(&RawValue) -> Result<Req, Error> + Send + Sync + 'static,
        C: Fn(E::Response) -> Result<Box<RawValue>, Error> + Send + Sync + 'static,
        Req: 'static,
    {
        let name = name.into().into_boxed_str();
        assert!(
            !self.table.contains_key(&name),
            "JSON-RPC method {name:?} is added twice"
        );
        let bound = Bound {
            endpoint,
            decode,
            encode,
        };
        let slot = Slot::default();
        #[cfg(feature = "metrics")]
        if let Some(names) = &self.metrics {
            slot.set(names.route("jsonrpc", String::from(name.clone())));
        }
        self.table.insert(name, (Box::new(bound), slot));
        self
    }

    /// The largest number of requests a batch may hold (default [`DEFAULT_MAX_BATCH`]); a
    /// larger batch is answered with one `-32600` error and none of it runs.
    ///
    /// # Panics
    /// If `max` is zero.
    pub fn max_batch(mut self, max: usize) -> Self {
        assert!(max > 0, "a batch limit of zero refuses every batch");
        self.max_batch = max;
        self
    }

    /// How many requests of one batch run at the same time (default
    /// [`DEFAULT_BATCH_CONCURRENCY`]); answers keep the order of the requests.
    ///
    /// # Panics
    /// If `concurrency` is zero.
    pub fn batch_concurrency(mut self, concurrency: usize) -> Self {
        assert!(
            concurrency > 0,
            "a batch needs to run at least one request at a time"
        );
        self.batch_concurrency = concurrency;
        self
    }

    /// The answer to a request body: `None` when it asks for none (notifications only).
    async fn answer(&self, ctx: &Context, body: &[u8]) -> Result<Option<Bytes>, Error> {
        let start = self.other.start();
        let fail = |error: ErrorObject| {
            self.other.record(start, Some(Code::InvalidArgument));
            message_error(error)
        };
        let message: &RawValue = match serde_json::from_slice(body) {
            Ok(message) => message,
            Err(err) => return fail(ErrorObject::parse_error(err)),
        };
        if !message.get().starts_with('[') {
            return match self.call(ctx, message).await {
                Some(answer) => to_bytes(&answer).map(Some),
                None => Ok(None),
            };
        }
        let mut deserializer = serde_json::Deserializer::from_str(message.get());
        let batch = match (BoundedBatch {
            max: self.max_batch,
        })
        .deserialize(&mut deserializer)
        {
            Ok(Some(batch)) => batch,
            Ok(None) => {
                let why = format!("batch exceeds the limit of {} requests", self.max_batch);
                return fail(ErrorObject::invalid_request(why));
            }
            Err(err) => return fail(ErrorObject::parse_error(err)),
        };
        if batch.is_empty() {
            return fail(ErrorObject::invalid_request("empty batch"));
        }
        // A bounded number of calls at a time, answers in the order of the requests; each
        // call first spends from the task's cooperative budget, so that a batch of calls
        // that all finish at once still lets the server's other work run in between.
        let mut requests = batch.into_iter();
        let mut running = FuturesOrdered::new();
        let mut answers: Vec<Answer<'_>> = Vec::new();
        loop {
            while running.len() < self.batch_concurrency {
                match requests.next() {
                    Some(raw) => running.push_back(self.call_in_batch(ctx, raw)),
                    None => break,
                }
            }
            match running.next().await {
                Some(answer) => answers.extend(answer),
                None => break,
            }
        }
        if answers.is_empty() {
            Ok(None)
        } else {
            to_bytes(&answers).map(Some)
        }
    }

    /// Runs one request of a batch, after spending from the task's cooperative budget.
    async fn call_in_batch<'a>(&self, ctx: &Context, raw: &'a RawValue) -> Option<Answer<'a>> {
        tokio::task::coop::consume_budget().await;
        self.call(ctx, raw).await
    }

    /// Calls the method `request` names (with the metrics slot it is recorded in and when it
    /// started).
    async fn run(
        &self,
        ctx: &Context,
        request: &Request<'_>,
    ) -> (
        Result<Box<RawValue>, Error>,
        &Slot,
        Option<std::time::Instant>,
    ) {
        match self.table.get(request.method.as_str()) {
            Some((method, slot)) => {
                let start = slot.start();
                (ctx.run(method.call(ctx, request.params)).await, slot, start)
            }
            None => {
                let err = Error::unimplemented(format!("method not found: {}", request.method));
                (Err(err), &self.other, self.other.start())
            }
        }
    }

    /// Runs one request of a message; `None` for a notification, which is never answered.
    async fn call<'a>(&self, ctx: &Context, raw: &'a RawValue) -> Option<Answer<'a>> {
        let request = match Request::parse(raw) {
            Ok(request) => request,
            // Invalid requests are answered even without an id: with `null` then.
            Err((id, invalid)) => {
                self.other
                    .record(self.other.start(), Some(Code::InvalidArgument));
                return Some(Answer::error(id.unwrap_or(RawValue::NULL), invalid));
            }
        };
        let unsampled = kit::trace::span::unsampled_server(ctx.trace());
        let (outcome, slot, start) = match (kit::trace::span::bridge(), unsampled) {
            (None, _) => self.run(ctx, &request).await,
            // Not sampled: no span, the call's own unsampled position in the trace.
            (Some(_), Some(unsampled)) => {
                let trace = unsampled.trace().clone();
                let scope = RequestScope::current()
                    .map(|scope| scope.with_trace_id(Some(trace.trace_id())));
                let ctx = ctx.with_trace(trace);
                let run = unsampled.instrument(self.run(&ctx, &request));
                match scope {
                    Some(scope) => scope.scope(run).await,
                    None => run.await,
                }
            }
            (Some(_), None) => {
                let span = crate::span::jsonrpc_server(
                    request.method.as_str(),
                    request.id.map(RawValue::get),
                );
                let trace = kit::trace::span::start_server(&span, ctx.trace().cloned());
                let (ctx, scope) = match trace {
                    Some(trace) => {
                        let scope = RequestScope::current()
                            .map(|scope| scope.with_trace_id(Some(trace.trace_id())));
                        (ctx.with_trace(trace), scope)
                    }
                    None => (ctx.clone(), None),
                };
                let run = self.run(&ctx, &request).instrument(span.clone());
                let ran = match scope {
                    Some(scope) => scope.scope(run).await,
                    None => run.await,
                };
                if let Err(err) = &ran.0 {
                    crate::span::jsonrpc_server_failed(&span, err);
                }
                ran
            }
        };
        slot.record(start, outcome.as_ref().err().map(Error::code));
        match request.id {
            Some(id) => Some(Answer::new(id, outcome)),
            None => {
                if let Err(err) = outcome {
                    tracing::debug!(method = request.method, %err, "JSON-RPC notification failed");
                }
                None
            }
        }
    }
}

impl sealed::Sealed for Methods {}

impl Handler for Methods {
    const TRANSPORT: &'static str = "jsonrpc";

    const METHOD: Option<Method> = Some(Method::POST);

    const RECORDS_CALLS: bool = true;

    const OPENS_SPANS: bool = true;

    async fn handle<B>(
        &self,
        ctx: &Context,
        _parts: &mut request::Parts,
        body: RequestBody<B>,
    ) -> Result<Response<Body>, Error>
    where
        B: HttpBody + Send,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let body = body.bytes().await?;
        let mut response = Response::new(Body::default());
        match self.answer(ctx, &body).await? {
            Some(answer) => {
                *response.body_mut() = Body::new(answer);
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, CONTENT_TYPE_JSON);
            }
            None => *response.status_mut() = StatusCode::NO_CONTENT,
        }
        Ok(response)
    }
}

impl Server<Methods> {
    /// Serves the JSON-RPC `methods` on one HTTP route: a `POST` with a request or a batch
    /// in its body (any other HTTP method is answered `405`). See the
    /// [`jsonrpc`](crate::jsonrpc) module.
    pub fn jsonrpc(methods: Methods) -> Self {
        let other = methods.other.clone();
        let mut server = Server::with_handler(methods);
        crate::server::sealed::Sealed::attach_metrics(&mut server, other);
        server
    }

    /// Records the server's calls in the transport metrics `names` (feature `metrics`), as
    /// transport `jsonrpc`: each call of a method in the table under the method's name
    /// (`route="sum"`), with its outcome; everything else as `route="other"`: calls of
    /// unknown methods (`UNIMPLEMENTED`), invalid requests and messages that are not JSON
    /// (`INVALID_ARGUMENT`), and requests refused before any call is read (`405`, a body
    /// over the limit). See [`metrics`](crate::metrics). The series are registered with
    /// the recorder installed now.
    ///
    /// # Panics
    /// If the server has been cloned already.
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, names: &crate::metrics::ServerMetrics) -> Self {
        let methods = self.handler_mut();
        for (name, (_, slot)) in &methods.table {
            slot.set(names.route("jsonrpc", String::from(name.clone())));
        }
        methods.other.set(names.other("jsonrpc"));
        methods.metrics = Some(names.clone());
        self
    }
}

/// The answer to a message that fails as a whole (not JSON, a batch that cannot run): one
/// error object with `"id": null`.
fn message_error(error: ErrorObject) -> Result<Option<Bytes>, Error> {
    to_bytes(&Answer::error(RawValue::NULL, error)).map(Some)
}

/// Reads a batch as raw requests, keeping none past the first `max` (`None` when there are
/// more), so that a huge batch costs no more memory than a full one.
struct BoundedBatch {
    max: usize,
}

impl<'de> DeserializeSeed<'de> for BoundedBatch {
    type Value = Option<Vec<&'de RawValue>>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for BoundedBatch {
    type Value = Option<Vec<&'de RawValue>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch of requests")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut batch = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max));
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            if batch.len() == self.max {
                // The rest is skipped without being kept (serde_json wants the array read
                // to its end).
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                return Ok(None);
            }
            batch.push(raw);
        }
        Ok(Some(batch))
    }
}

impl fmt::Debug for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.table.keys().map(|name| &**name).collect();
        names.sort_unstable();
        f.debug_struct("Methods")
            .field("methods", &names)
            .field("max_batch", &self.max_batch)
            .field("batch_concurrency", &self.batch_concurrency)
            .finish()
    }
}
