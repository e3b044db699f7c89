//! Integration tests of the kit core, driven through its public API.

mod bridge;
mod endpoint;
mod logging;
mod retry;
mod timeout;
