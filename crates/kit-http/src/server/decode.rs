//! Turning HTTP requests into endpoint requests.

use std::future::Future;

use bytes::Bytes;
use futures_util::FutureExt;
use http::request;
use http_body::Body as HttpBody;
use kit::{BoxError, Context, Error};

use crate::RequestBody;

/// Turns an HTTP request into an endpoint's request: the server side of a codec.
///
/// The common case is a plain function of the request head and the whole body,
/// `Fn(&request::Parts, Bytes) -> Result<Req, Error>`, such as
/// [`json::decode_request`](crate::json::decode_request): every such function is a decoder.
/// Path parameters of the route are in the head's extensions ([`PathParams`](crate::PathParams)).
///
/// Implement the trait for a decoder that must wait for something or see more: it gets the
/// request's [`Context`] (deadline, peer, metadata), the head as `&mut` (so axum's
/// `FromRequestParts` extractors work on it) and the body as a [`RequestBody`], which it
/// may stream or read whole; the server's body limit and timeouts apply either way.
///
/// ```
/// use bytes::Bytes;
/// use kit::{Context, Error};
/// use kit_http::{server::Decoder, RequestBody};
///
/// /// Reads the body as UTF-8 text, tagged with the caller's address.
/// struct TaggedText;
///
/// impl Decoder<String> for TaggedText {
///     async fn decode<B>(
///         &self,
///         ctx: &Context,
///         _parts: &mut http::request::Parts,
///         body: RequestBody<B>,
///     ) -> Result<String, Error>
///     where
///         B: http_body::Body + Send,
///         B::Data: Send,
///         B::Error: Into<kit::BoxError>,
///     {
///         let bytes: Bytes = body.bytes().await?;
///         let text = String::from_utf8(bytes.to_vec())
///             .map_err(|_| Error::invalid_argument("body is not UTF-8"))?;
///         let peer = ctx.peer().map(|p| p.remote_addr.to_string()).unwrap_or_default();
///         Ok(format!("{peer}: {text}"))
///     }
/// }
/// ```
pub trait Decoder<Req>: Send + Sync + 'static {
    /// Decodes one request.
    fn decode<B>(
        &self,
        ctx: &Context,
        parts: &mut request::Parts,
        body: RequestBody<B>,
    ) -> impl Future<Output = Result<Req, Error>> + Send
    where
        B: HttpBody + Send,
        B::Data: Send,
        B::Error: Into<BoxError>;
}

impl<F, Req> Decoder<Req> for F
where
    F: Fn(&request::Parts, Bytes) -> Result<Req, Error> + Send + Sync + 'static,
{
    fn decode<B>(
        &self,
        _ctx: &Context,
        parts: &mut request::Parts,
        body: RequestBody<B>,
    ) -> impl Future<Output = Result<Req, Error>> + Send
    where
        B: HttpBody + Send,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        // Not `async`: an `async fn` would hold the body as its argument besides the future
        // reading it, and an `async` block would hold that future twice (captured, and moved
        // to be awaited). Every future above this one holds it.
        body.bytes()
            .map(move |bytes| bytes.and_then(|bytes| self(parts, bytes)))
    }
}
