//! Carrying request metadata on to the next hop.

use kit::Context;
use tonic::metadata::{AsciiMetadataKey, MetadataMap};

/// A [`before`](super::Server::before) function that puts the named request metadata, when
/// present and ASCII, into the context as *propagated* metadata, so that every kit client
/// called with that context (gRPC or HTTP) sends it on: request ids, tenant or routing keys.
///
/// Keys are parsed once, here, not per call.
///
/// ```
/// use kit::{endpoint_fn, Context, Error};
/// use kit_grpc::server::propagate_metadata;
///
/// let echo = endpoint_fn(|_ctx: Context, s: String| async move { Ok::<_, Error>(s) });
/// let server = kit_grpc::Server::new(echo, |s: String| Ok(s), |s: String| Ok(s))
///     .before(propagate_metadata(["x-request-id"]));
/// # let _ = server;
/// ```
///
/// # Panics
/// If a name is not a valid ASCII metadata key.
pub fn propagate_metadata(
    names: impl IntoIterator<Item = &'static str>,
) -> impl Fn(Context, &MetadataMap) -> Context + Send + Sync + 'static {
    let keys: Vec<(&'static str, AsciiMetadataKey)> = names
        .into_iter()
        .map(|name| {
            let key = AsciiMetadataKey::from_bytes(name.as_bytes())
                .unwrap_or_else(|e| panic!("{name:?} is not a metadata key: {e}"));
            (name, key)
        })
        .collect();
    move |mut ctx: Context, metadata: &MetadataMap| {
        for (name, key) in &keys {
            if let Some(value) = metadata.get(key).and_then(|v| v.to_str().ok()) {
                ctx = ctx.with_propagated(*name, value.to_owned());
            }
        }
        ctx
    }
}
