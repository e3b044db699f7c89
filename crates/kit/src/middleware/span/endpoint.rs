use std::future::Future;

use tracing::Instrument as _;
use tracing::field::Empty;

use crate::trace::span::{INTERNAL_TARGET, bridge, record_error};
use crate::{Context, Endpoint, Error};

/// An endpoint whose calls each get an internal span; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct Spanned<E> {
    inner: E,
    name: &'static str,
}

impl<E> Spanned<E> {
    /// Wraps `inner` so that each call gets a span named `name`.
    pub fn new(inner: E, name: &'static str) -> Self {
        Spanned { inner, name }
    }
}

impl<Req, E> Endpoint<Req> for Spanned<E>
where
    E: Endpoint<Req>,
    Req: Send,
{
    type Response = E::Response;

    fn call(
        &self,
        ctx: Context,
        req: Req,
    ) -> impl Future<Output = Result<E::Response, Error>> + Send {
        let span = match bridge() {
            Some(_) => tracing::info_span!(
                target: INTERNAL_TARGET,
                "internal",
                otel.name = self.name,
                error.type = Empty,
                otel.status_code = Empty,
                otel.status_description = Empty,
            ),
            None => tracing::Span::none(),
        };
        let call = self.inner.call(ctx, req);
        async move {
            if span.is_none() {
                return call.await;
            }
            let result = call.instrument(span.clone()).await;
            if let Err(err) = &result {
                record_error(&span, err.code(), err.message());
            }
            result
        }
    }
}
