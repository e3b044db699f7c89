//! The functions a server calls around each request.

use std::sync::Arc;

use kit::{Context, Error};
use tonic::metadata::MetadataMap;
use tonic::{Response, Status};

use crate::status_of;

type BeforeFn = Arc<dyn Fn(Context, &MetadataMap) -> Context + Send + Sync>;
type AfterFn = Arc<dyn Fn(&Context, &mut MetadataMap) + Send + Sync>;
type FinalizerFn = Arc<dyn Fn(&Context, Option<&Error>) + Send + Sync>;

/// A server's hooks; shared by its clones, copied on write while configuring.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) before: Vec<BeforeFn>,
    pub(crate) after: Vec<AfterFn>,
    pub(crate) finalizer: Vec<FinalizerFn>,
}

impl Hooks {
    /// The request's context once every before function has seen the request metadata.
    pub(crate) fn before(&self, ctx: Context, metadata: &MetadataMap) -> Context {
        self.before.iter().fold(ctx, |ctx, f| f(ctx, metadata))
    }

    /// A guard that reports the request to the finalizers as cancelled if it is dropped
    /// before its answer is ready (the client reset the stream, or the connection closed).
    pub(crate) fn finalize_if_abandoned<'a>(&'a self, ctx: &'a Context) -> AbandonGuard<'a> {
        AbandonGuard {
            hooks: self,
            ctx,
            armed: !self.finalizer.is_empty(),
        }
    }

    /// Turns the outcome into tonic's answer: maps an error to its status, runs the after
    /// functions on the response (or status) metadata, then the finalizers.
    pub(crate) fn finish<Q>(
        &self,
        ctx: &Context,
        result: Result<Q, Error>,
    ) -> Result<Response<Q>, Status> {
        match result {
            Ok(message) => {
                let mut response = Response::new(message);
                for after in &self.after {
                    after(ctx, response.metadata_mut());
                }
                for finalizer in &self.finalizer {
                    finalizer(ctx, None);
                }
                Ok(response)
            }
            Err(err) => {
                let mut status = status_of(&err);
                for after in &self.after {
                    after(ctx, status.metadata_mut());
                }
                for finalizer in &self.finalizer {
                    finalizer(ctx, Some(&err));
                }
                Err(status)
            }
        }
    }
}

/// Reports an abandoned request to the finalizers when dropped, unless disarmed first.
pub(crate) struct AbandonGuard<'a> {
    hooks: &'a Hooks,
    ctx: &'a Context,
    armed: bool,
}

impl AbandonGuard<'_> {
    /// The answer is ready: the normal path reports it.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let err = Error::cancelled();
            for finalizer in &self.hooks.finalizer {
                finalizer(self.ctx, Some(&err));
            }
        }
    }
}
