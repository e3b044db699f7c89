//! Making sense of the error chains hyper hands out.

use std::error::Error as StdError;

use kit::Code;

/// The innermost error of a chain: the one with the useful words ("Connection refused").
pub(crate) fn root_cause<'a>(err: &'a (dyn StdError + 'static)) -> &'a (dyn StdError + 'static) {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause
}

/// The code of the first I/O error in the chain, if there is one.
pub(crate) fn io_code(err: &(dyn StdError + 'static)) -> Option<Code> {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return Some(Code::from_io_error_kind(io.kind()));
        }
        cause = current.source();
    }
    None
}
