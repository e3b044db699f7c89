//! The transports that carry the endpoints. Each has a server side (serving a
//! [`Set`](crate::endpoints::Set)) and a client side (making one); Thrift and NATS will sit
//! beside these in the same shape.

pub mod grpc;
pub mod http;
pub mod jsonrpc;

use ::http::Uri;
use kit::Error;

/// The base URL of an instance given as `host:port` or as an `http://` URL (a trailing
/// slash is dropped, a path kept), as Go kit's addcli accepts them.
pub fn base_url(instance: &str) -> Result<String, Error> {
    if instance.starts_with("https://") {
        return Err(Error::invalid_argument(format!(
            "invalid address {instance:?}: plain http only (no TLS yet)"
        )));
    }
    Ok(if instance.starts_with("http://") {
        instance.trim_end_matches('/').to_owned()
    } else {
        format!("http://{instance}")
    })
}

/// Parses `url`, naming the `instance` it came from when it is not valid.
fn parse_uri(instance: &str, url: &str) -> Result<Uri, Error> {
    url.parse()
        .map_err(|e| Error::invalid_argument(format!("invalid address {instance:?}: {e}")))
}
