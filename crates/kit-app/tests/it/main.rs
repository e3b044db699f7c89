//! kit-app through its public API: flags parsed as a service parses them, apps serving real
//! listeners on free ports, and `App::run` / `run_client` in child processes.

mod app;
mod flags;
mod logging;
mod metrics;
mod process;
mod support;
