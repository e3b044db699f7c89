//! One attempt of a call that middleware may make several times (retries, hedges).

use crate::Context;
use crate::context::{CallHandle, CancelHandle};

/// The context of one attempt, with a response slot of its own when the caller's call has
/// one, so that only the attempt whose answer is returned sets the caller's response
/// metadata ([`Context::merge_response`]).
pub(crate) struct Attempt {
    pub(crate) ctx: Context,
    call: Option<CallHandle>,
    cancel: Option<CancelHandle>,
}

impl Attempt {
    /// An attempt of the call under `ctx`; when `cancellable`, it can be cancelled on its
    /// own (a hedge's loser), which costs a cancellation token.
    pub(crate) fn start(ctx: &Context, cancellable: bool) -> Attempt {
        if ctx.has_call() {
            // Dropping the handle cancels the attempt's context.
            let (ctx, call) = ctx.with_call();
            Attempt {
                ctx,
                call: Some(call),
                cancel: None,
            }
        } else if cancellable {
            let (ctx, cancel) = ctx.with_cancel();
            Attempt {
                ctx,
                call: None,
                cancel: Some(cancel),
            }
        } else {
            Attempt {
                ctx: ctx.clone(),
                call: None,
                cancel: None,
            }
        }
    }

    /// The attempt's answer is the call's: its response metadata goes to `caller`.
    pub(crate) fn answer(self, caller: &Context) {
        if let Some(response) = self.call.as_ref().and_then(CallHandle::take_response) {
            caller.merge_response(response);
        }
    }

    /// The attempt lost: its context is cancelled and its response metadata dropped.
    pub(crate) fn cancel(self) {
        if let Some(call) = &self.call {
            call.cancel();
        }
        if let Some(cancel) = &self.cancel {
            cancel.cancel();
        }
    }
}
