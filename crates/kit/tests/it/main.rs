//! Integration tests of the kit core, driven through its public API.

mod bridge;
mod endpoint;
mod hedge;
mod logging;
mod retry;
mod timeout;
