//! Integration tests of the kit core, driven through its public API.

mod bridge;
mod concurrency;
mod endpoint;
mod logging;
mod rate_limit;
mod timeout;
