//! Integration tests of the kit core, driven through its public API.

mod bridge;
mod circuit_breaker;
mod concurrency;
mod endpoint;
mod hedge;
mod logging;
mod rate_limit;
mod retry;
mod sd;
mod timeout;
