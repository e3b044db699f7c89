//! The server side: a table of methods, served as a [`Server`]'s handler.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::future::join_all;
use http::header::CONTENT_TYPE;
use http::{Method, Response, StatusCode, request};
use kit::{Context, Endpoint, Error};
use serde_json::value::RawValue;

use super::wire::{Answer, ErrorObject, Request};
use crate::json::{CONTENT_TYPE_JSON, to_bytes};
use crate::server::{Handler, sealed};
use crate::{Body, Server};

type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Box<RawValue>, Error>> + Send + 'a>>;

/// The methods a JSON-RPC server answers, by name; serve them with [`Server::jsonrpc`].
///
/// Each method is an endpoint with a decoder of its params and an encoder of its result,
/// as each route of an HTTP server is an endpoint with a decoder and an encoder.
#[derive(Default)]
pub struct Methods {
    table: HashMap<Box<str>, Box<dyn Callable>>,
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
        self.table.insert(name, Box::new(bound));
        self
    }

    /// The answer to a request body: `None` when it asks for none (notifications only).
    async fn answer(&self, ctx: &Context, body: &[u8]) -> Result<Option<Bytes>, Error> {
        let message: &RawValue = match serde_json::from_slice(body) {
            Ok(message) => message,
            Err(err) => {
                let answer = Answer::error(RawValue::NULL, ErrorObject::parse_error(err));
                return to_bytes(&answer).map(Some);
            }
        };
        if !message.get().starts_with('[') {
            return match self.call(ctx, message).await {
                Some(answer) => to_bytes(&answer).map(Some),
                None => Ok(None),
            };
        }
        let batch: Vec<&RawValue> = match serde_json::from_str(message.get()) {
            Ok(batch) => batch,
            Err(err) => {
                let answer = Answer::error(RawValue::NULL, ErrorObject::parse_error(err));
                return to_bytes(&answer).map(Some);
            }
        };
        if batch.is_empty() {
            let answer = Answer::error(RawValue::NULL, ErrorObject::invalid_request("empty batch"));
            return to_bytes(&answer).map(Some);
        }
        // Every call of a batch runs at once; answers keep the order of the requests.
        let answers: Vec<Answer<'_>> = join_all(batch.iter().map(|raw| self.call(ctx, raw)))
            .await
            .into_iter()
            .flatten()
            .collect();
        if answers.is_empty() {
            Ok(None)
        } else {
            to_bytes(&answers).map(Some)
        }
    }

    /// Runs one request of a message; `None` for a notification, which is never answered.
    async fn call<'a>(&self, ctx: &Context, raw: &'a RawValue) -> Option<Answer<'a>> {
        let request = match Request::parse(raw) {
            Ok(request) => request,
            // Invalid requests are answered even without an id: with `null` then.
            Err((id, invalid)) => {
                return Some(Answer::error(id.unwrap_or(RawValue::NULL), invalid));
            }
        };
        let outcome = match self.table.get(request.method.as_str()) {
            Some(method) => ctx.run(method.call(ctx, request.params)).await,
            None => Err(Error::unimplemented(format!(
                "method not found: {}",
                request.method
            ))),
        };
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
    const METHOD: Option<Method> = Some(Method::POST);

    async fn handle(
        &self,
        ctx: &Context,
        _parts: &request::Parts,
        body: Bytes,
    ) -> Result<Response<Body>, Error> {
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
        Server::with_handler(methods)
    }
}

impl fmt::Debug for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.table.keys().map(|name| &**name).collect();
        names.sort_unstable();
        f.debug_struct("Methods").field("methods", &names).finish()
    }
}
