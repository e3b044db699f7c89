//! The spans of gRPC calls, opened only while a span bridge is installed (see
//! [`kit::trace::span`]): a server span per served call, a client span per call made.
//!
//! Their names and fields are in the [crate docs](crate#spans).

use std::net::SocketAddr;

use kit::Code;
use kit::trace::span::{CLIENT_TARGET, SERVER_TARGET, record_error};
use tracing::Span;
use tracing::field::Empty;

/// The name of a server span whose method is not known.
const UNKNOWN_PATH: &str = "grpc";

/// The server span of a call of the method at `path` (`None` when the server did not say,
/// as tonic's own server does not), over a connection from `remote` to `local`.
pub(crate) fn server(
    path: Option<&str>,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
) -> Span {
    let (name, service, method) = names(path.unwrap_or(UNKNOWN_PATH));
    let span = tracing::info_span!(
        target: SERVER_TARGET,
        "grpc.server",
        otel.name = name,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = Empty,
        server.address = Empty,
        server.port = Empty,
        client.address = Empty,
        client.port = Empty,
        network.peer.address = Empty,
        network.peer.port = Empty,
        otel.status_code = Empty,
        otel.status_description = Empty,
        error.type = Empty,
    );
    if let Some(local) = local {
        span.record("server.address", tracing::field::display(local.ip()));
        span.record("server.port", i64::from(local.port()));
    }
    if let Some(remote) = remote {
        span.record("client.address", tracing::field::display(remote.ip()));
        span.record("client.port", i64::from(remote.port()));
        span.record("network.peer.address", tracing::field::display(remote.ip()));
        span.record("network.peer.port", i64::from(remote.port()));
    }
    span
}

/// The client span of a call of the method at `path`, to `server` (host and port) when
/// known.
pub(crate) fn client(path: &str, server: Option<&(String, u16)>) -> Span {
    let (name, service, method) = names(path);
    let span = tracing::info_span!(
        target: CLIENT_TARGET,
        "grpc.client",
        otel.name = name,
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = Empty,
        server.address = Empty,
        server.port = Empty,
        otel.status_code = Empty,
        otel.status_description = Empty,
        error.type = Empty,
    );
    if let Some((host, port)) = server {
        span.record("server.address", host.as_str());
        span.record("server.port", i64::from(*port));
    }
    span
}

/// Records the answer on a server span: `None` for `OK`, else the status's code and
/// message; in error only for the server's faults.
pub(crate) fn record_server_status(span: &Span, status: Option<(Code, &str)>) {
    let Some((code, message)) = status else {
        return record_ok(span);
    };
    span.record("rpc.grpc.status_code", i64::from(code.number()));
    if kit::trace::span::is_server_fault(code) {
        record_error(span, code, message);
    }
}

/// Records the call's outcome on a client span: every error is one.
pub(crate) fn record_client_status(span: &Span, error: Option<&kit::Error>) {
    let Some(err) = error else {
        return record_ok(span);
    };
    span.record("rpc.grpc.status_code", i64::from(err.code().number()));
    record_error(span, err.code(), err.message());
}

/// Records gRPC's `OK` (0), which is not an error.
fn record_ok(span: &Span) {
    span.record("rpc.grpc.status_code", 0_i64);
}

/// The span name, `rpc.service` and `rpc.method` of the method at `path`: `/pkg.S/M` gives
/// `pkg.S/M`, `pkg.S` and `M`; a path of another shape names the span alone.
fn names(path: &str) -> (&str, Option<&str>, Option<&str>) {
    let name = path.strip_prefix('/').unwrap_or(path);
    match name.split_once('/') {
        Some((service, method))
            if !service.is_empty() && !method.is_empty() && !method.contains('/') =>
        {
            (name, Some(service), Some(method))
        }
        _ => (name, None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn a_path_names_the_span_service_and_method() {
        assert_eq!(
            names("/pb.Add/Sum"),
            ("pb.Add/Sum", Some("pb.Add"), Some("Sum"))
        );
        assert_eq!(names("/Plain/M"), ("Plain/M", Some("Plain"), Some("M")));
        assert_eq!(names("/a/b/c"), ("a/b/c", None, None));
        assert_eq!(names("/nomethod/"), ("nomethod/", None, None));
        assert_eq!(names(""), ("", None, None));
    }
}
