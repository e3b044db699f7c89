use tower_layer::Layer;

use super::Spanned;

/// Wraps endpoints in [`Spanned`].
#[derive(Clone, Copy, Debug)]
pub struct SpanLayer {
    name: &'static str,
}

impl SpanLayer {
    /// Spans named `name`.
    pub fn new(name: &'static str) -> Self {
        SpanLayer { name }
    }
}

impl<E> Layer<E> for SpanLayer {
    type Service = Spanned<E>;

    fn layer(&self, inner: E) -> Spanned<E> {
        Spanned::new(inner, self.name)
    }
}
