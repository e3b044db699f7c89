//! The layer, and what it knows about the methods it serves.

use std::collections::HashSet;
use std::sync::Arc;

use tower_layer::Layer;

use super::RequestChecks;

/// The layer that checks requests; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct RequestChecksLayer {
    config: Arc<Config>,
}

/// What the checks need to know, shared by every connection's service.
#[derive(Clone, Debug)]
pub(super) struct Config {
    /// Paths (`/package.Service/Method`) of the methods whose request is one message.
    pub(super) single_message: HashSet<String>,
    pub(super) require_te: bool,
}

impl RequestChecksLayer {
    /// Checks the content-type, method and `te` of every request, and counts no messages.
    pub fn new() -> Self {
        RequestChecksLayer {
            config: Arc::new(Config {
                single_message: HashSet::new(),
                require_te: true,
            }),
        }
    }

    /// Checks the content-type, method and `te` of every request, and the number of request
    /// messages of every method in `descriptor_sets` (encoded `FileDescriptorSet`s, as the
    /// [reflection](crate::reflection) service takes them) that is not client-streaming.
    ///
    /// # Errors
    /// If a descriptor set does not decode.
    pub fn from_descriptor_sets(descriptor_sets: &[&[u8]]) -> Result<Self, prost::DecodeError> {
        let mut layer = RequestChecksLayer::new();
        for (path, client_streaming) in crate::descriptor::method_paths(descriptor_sets)? {
            if !client_streaming {
                layer = layer.single_message_method(path);
            }
        }
        Ok(layer)
    }

    /// Also counts the request messages of the method at `path` (`/package.Service/Method`),
    /// whose request is a single message: for services that have no descriptors.
    pub fn single_message_method(mut self, path: impl Into<String>) -> Self {
        self.config_mut().single_message.insert(path.into());
        self
    }

    /// Whether a request without `te: trailers` is refused (the default, as gRPC's C core
    /// does); turn it off behind a proxy that strips `te`. See the [module docs](super).
    pub fn require_te(mut self, require: bool) -> Self {
        self.config_mut().require_te = require;
        self
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }
}

impl Default for RequestChecksLayer {
    fn default() -> Self {
        RequestChecksLayer::new()
    }
}

impl<S> Layer<S> for RequestChecksLayer {
    type Service = RequestChecks<S>;

    fn layer(&self, inner: S) -> RequestChecks<S> {
        RequestChecks::new(inner, self.config.clone())
    }
}
