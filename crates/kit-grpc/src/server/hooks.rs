//! The functions a server calls around each request.

use std::sync::Arc;

use kit::guard::DropGuard;
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

    /// A guard that runs the finalizers with a `Cancelled` error if the call is dropped
    /// while it lives.
    pub(crate) fn finalize_if_abandoned<'a>(
        &'a self,
        ctx: &'a Context,
    ) -> DropGuard<impl FnOnce() + 'a> {
        if self.finalizer.is_empty() {
            return DropGuard::disarmed();
        }
        DropGuard::new(move || {
            let err = Error::cancelled();
            for finalizer in &self.finalizer {
                finalizer(ctx, Some(&err));
            }
        })
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
