//! An immutable, shared list: the storage behind a context's metadata and values.

use std::sync::Arc;

/// A persistent stack: pushing returns a new list sharing the old one as its tail, so a
/// child context never copies or changes its parent's entries.
pub(super) struct Chain<T> {
    head: Option<Arc<Node<T>>>,
}

struct Node<T> {
    item: T,
    next: Chain<T>,
}

impl<T> Chain<T> {
    /// A new list with `item` in front of this one.
    pub(super) fn push(&self, item: T) -> Chain<T> {
        Chain {
            head: Some(Arc::new(Node {
                item,
                next: self.clone(),
            })),
        }
    }

    /// The items, newest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        let mut node = self.head.as_deref();
        std::iter::from_fn(move || {
            let current = node?;
            node = current.next.head.as_deref();
            Some(&current.item)
        })
    }
}

impl<T> Clone for Chain<T> {
    fn clone(&self) -> Chain<T> {
        Chain {
            head: self.head.clone(),
        }
    }
}

impl<T> Default for Chain<T> {
    fn default() -> Chain<T> {
        Chain { head: None }
    }
}
