//! Changing the log filter while the process runs.

use std::error::Error;
use std::fmt;
use std::sync::OnceLock;

use tracing_subscriber::{EnvFilter, Registry, reload};

/// The handle to the filter of the subscriber [`init_with`](crate::init_with) installed.
static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Keeps `handle` for [`set_level`]; called once, by the init that installed it.
pub(crate) fn install(handle: reload::Handle<EnvFilter, Registry>) {
    // Only the one successful global init gets here.
    let _ = FILTER.set(handle);
}

/// Replaces the log filter of the subscriber installed by [`init`](crate::init) (or
/// [`init_with`](crate::init_with)) with `directives`, as `RUST_LOG` writes them: a default
/// level and levels per target, such as `"info"` or `"kit_http=debug,info"`.
///
/// The new filter applies at once to every event and span, including those whose
/// callsites were already registered. The whole filter is replaced: levels set before and
/// not repeated in `directives` are gone.
///
/// ```
/// // Before any init there is no filter to change.
/// let err = kit_tracing::set_level("debug").unwrap_err();
/// assert_eq!(err.to_string(), "no kit_tracing subscriber is installed: call kit_tracing::init first");
/// ```
///
/// # Errors
///
/// When `directives` do not parse (the filter is then left as it was; the message quotes
/// the parser's), or no kit subscriber is installed.
pub fn set_level(directives: &str) -> Result<(), LevelError> {
    let handle = FILTER.get().ok_or(LevelError::NotInstalled)?;
    let filter = EnvFilter::try_new(directives).map_err(|err| LevelError::Invalid {
        directives: directives.to_owned(),
        err,
    })?;
    handle.reload(filter).map_err(LevelError::Gone)
}

/// The log filter now in force, as directives [`set_level`] takes (`EnvFilter`'s
/// rendering: per-target directives first, the default level last); `None` when no kit
/// subscriber is installed.
pub fn level() -> Option<String> {
    FILTER.get()?.with_current(|f| f.to_string()).ok()
}

/// Why [`set_level`] could not change the filter.
#[derive(Debug)]
#[non_exhaustive]
pub enum LevelError {
    /// The directives do not parse.
    Invalid {
        /// The directives as given.
        directives: String,
        /// What the parser said.
        err: tracing_subscriber::filter::ParseError,
    },
    /// No subscriber was installed by [`init`](crate::init) or
    /// [`init_with`](crate::init_with).
    NotInstalled,
    /// The subscriber is gone (the process is shutting down).
    Gone(reload::Error),
}

impl fmt::Display for LevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LevelError::Invalid { directives, err } => {
                write!(f, "invalid log filter {directives:?}: {err}")
            }
            LevelError::NotInstalled => {
                f.write_str("no kit_tracing subscriber is installed: call kit_tracing::init first")
            }
            LevelError::Gone(err) => write!(f, "the log filter cannot be changed: {err}"),
        }
    }
}

impl Error for LevelError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            LevelError::Invalid { err, .. } => Some(err),
            LevelError::NotInstalled => None,
            LevelError::Gone(err) => Some(err),
        }
    }
}
