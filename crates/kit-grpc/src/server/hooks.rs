//! The functions a server calls around each request.

use std::sync::Arc;

use kit::context::ResponseMetadata;
use kit::guard::DropGuard;
use kit::{Context, Error};
use tonic::metadata::{
    AsciiMetadataKey, AsciiMetadataValue, BinaryMetadataKey, BinaryMetadataValue, MetadataMap,
};
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

    /// Turns the outcome into tonic's answer: maps an error to its status, adds `response`
    /// (the metadata set through the context) to the response (or status) metadata, runs
    /// the after functions on it, then the finalizers.
    pub(crate) fn finish<Q>(
        &self,
        ctx: &Context,
        response: Option<&ResponseMetadata>,
        result: Result<Q, Error>,
    ) -> Result<Response<Q>, Status> {
        match result {
            Ok(message) => {
                let mut answer = Response::new(message);
                if let Some(response) = response {
                    add_response_metadata(response, answer.metadata_mut());
                }
                for after in &self.after {
                    after(ctx, answer.metadata_mut());
                }
                for finalizer in &self.finalizer {
                    finalizer(ctx, None);
                }
                Ok(answer)
            }
            Err(err) => {
                let mut status = status_of(&err);
                if let Some(response) = response {
                    add_response_metadata(response, status.metadata_mut());
                }
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

/// Adds the entries of `response` to `metadata`. A key ending in `-bin` is binary metadata
/// (the value's bytes, base64-encoded on the wire); keys of gRPC's own (`grpc-`) and
/// entries that are not valid metadata are skipped, with a debug log.
fn add_response_metadata(response: &ResponseMetadata, metadata: &mut MetadataMap) {
    for (key, value) in response.iter() {
        if key.starts_with("grpc-") {
            tracing::debug!(key, "response metadata reserved for gRPC: not sent");
            continue;
        }
        let added = if key.ends_with("-bin") {
            BinaryMetadataKey::from_bytes(key.as_bytes())
                .map(|key| {
                    metadata.append_bin(key, BinaryMetadataValue::from_bytes(value.as_bytes()));
                })
                .is_ok()
        } else {
            match (
                AsciiMetadataKey::from_bytes(key.as_bytes()),
                AsciiMetadataValue::try_from(value),
            ) {
                (Ok(key), Ok(value)) => {
                    metadata.append(key, value);
                    true
                }
                _ => false,
            }
        };
        if !added {
            tracing::debug!(
                key,
                "response metadata not sendable as gRPC metadata: skipped"
            );
        }
    }
}
