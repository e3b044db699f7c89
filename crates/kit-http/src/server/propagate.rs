//! Carrying request headers on to the next hop.

use http::header::HeaderName;
use http::request;
use kit::Context;

/// A [`before`](super::Server::before) function that puts the named request headers, when
/// present, into the context as *propagated* metadata, so that every kit client called with
/// that context sends them on (request ids, tenant or routing headers, baggage).
///
/// Header names are parsed once, here, not per request.
///
/// ```
/// use kit::{endpoint_fn, Context, Error};
/// use kit_http::{json, server::propagate_headers, Server};
///
/// let echo = endpoint_fn(|_ctx: Context, v: serde_json::Value| async move { Ok::<_, Error>(v) });
/// let server = Server::new(echo, json::decode_request, json::encode_response)
///     .before(propagate_headers(["x-request-id", "x-tenant"]));
/// # let _ = server;
/// ```
///
/// # Panics
/// If a name is not a valid header name.
pub fn propagate_headers(
    names: impl IntoIterator<Item = &'static str>,
) -> impl Fn(Context, &request::Parts) -> Context + Send + Sync + 'static {
    let names: Vec<(&'static str, HeaderName)> = names
        .into_iter()
        .map(|name| {
            let parsed = HeaderName::from_bytes(name.as_bytes())
                .unwrap_or_else(|e| panic!("{name:?} is not a header name: {e}"));
            (name, parsed)
        })
        .collect();
    move |mut ctx: Context, parts: &request::Parts| {
        for (name, header) in &names {
            if let Some(value) = parts.headers.get(header).and_then(|v| v.to_str().ok()) {
                ctx = ctx.with_propagated(*name, value.to_owned());
            }
        }
        ctx
    }
}
