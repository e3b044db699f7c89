//! Integration tests of the kit core, driven through its public API.

mod bridge;
mod circuit_breaker;
mod endpoint;
mod hedge;
mod logging;
mod retry;
mod timeout;
