use std::fmt;
use std::sync::Arc;

/// One instance of a service: where to reach it, as its registry names it (`host:port`, or
/// a URL where the registry stores those).
///
/// Cheap to clone (one shared string). Instances compare, order and hash by their address,
/// so that a set of them has one entry per address.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instance(Arc<str>);

impl Instance {
    /// An instance at `addr`.
    pub fn new(addr: impl Into<Arc<str>>) -> Instance {
        Instance(addr.into())
    }

    /// Its address.
    pub fn addr(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Instance {
    fn from(addr: &str) -> Instance {
        Instance::new(addr)
    }
}

impl From<String> for Instance {
    fn from(addr: String) -> Instance {
        Instance::new(addr)
    }
}
