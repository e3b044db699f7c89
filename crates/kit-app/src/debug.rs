//! The debug listener's routes: liveness, readiness and the log level.

use http::header::{CONTENT_TYPE, HOST, ORIGIN};
use http::{Method, StatusCode, request};
use kit::shutdown::Shutdown;
use kit::{Code, Context, Error, endpoint_fn};
use kit_http::{HttpStatus, Router, Server, json};
use serde::{Deserialize, Serialize};

/// The path of the log level route of the debug listener.
pub const LOG_LEVEL_PATH: &str = "/log/level";

/// The routes of a service's debug listener: `GET /health` answers `200`
/// `{"status":"ok"}` while the process runs (liveness); `GET /ready` answers `200`
/// `{"status":"ready"}` until `shutdown` begins, then `503` (readiness: balancers and
/// probes stop sending calls during the drain delay).
///
/// `GET /log/level` answers the log filter in force, `{"level":"info"}`, and
/// `POST /log/level` with `Content-Type: application/json` and a body such as
/// `{"level":"kit_http=debug,info"}` replaces it ([`kit_tracing::set_level`]; `RUST_LOG`
/// syntax) and answers the new one. Since the route changes the process, it refuses what a
/// web page could send: a request whose `Origin` is not the `Host` it was sent to is `403`,
/// a body of another content type is `415` (so a browser must ask first with a preflight,
/// which nothing here answers); directives that do not parse are `400` with the parser's
/// message, `{"error":"invalid log filter \"kit=loud\": ..."}`.
///
/// [`App::debug`](crate::App::debug) serves it; add routes to it (metrics, an admin page)
/// and serve it with [`App::http`](crate::App::http) instead:
///
/// ```
/// use kit_app::{App, ShutdownFlags};
///
/// let app = App::new("svc", ShutdownFlags::default());
/// let debug = kit_app::debug_router(app.shutdown()); // .route(..) more
/// let app = app.http("debug", "127.0.0.1:8080".parse().unwrap(), debug);
/// # drop(app);
/// ```
pub fn debug_router(shutdown: &Shutdown) -> Router {
    let health = endpoint_fn(|_ctx: Context, ()| async {
        Ok::<_, Error>(serde_json::json!({ "status": "ok" }))
    });
    let shutdown = shutdown.clone();
    let ready = endpoint_fn(move |_ctx: Context, ()| {
        let ready = shutdown.is_ready();
        async move {
            if ready {
                Ok(serde_json::json!({ "status": "ready" }))
            } else {
                Err(Error::unavailable("shutting down"))
            }
        }
    });
    let no_body = |_: &http::request::Parts, _| Ok(());
    let get_level = endpoint_fn(|_ctx: Context, ()| async { current_level() });
    let set_level = endpoint_fn(|_ctx: Context, change: LogLevel| async move {
        kit_tracing::set_level(&change.level).map_err(|err| match err {
            kit_tracing::LevelError::Invalid { .. } => Error::invalid_argument(err.to_string()),
            _ => Error::new(Code::FailedPrecondition, err.to_string()),
        })?;
        current_level()
    });
    Router::new()
        .route(
            Method::GET,
            LOG_LEVEL_PATH,
            Server::new(get_level, no_body, json::encode_response),
        )
        .route(
            Method::POST,
            LOG_LEVEL_PATH,
            Server::new(set_level, decode_level_change, json::encode_response),
        )
        .route(
            Method::GET,
            "/health",
            Server::new(health, no_body, json::encode_response),
        )
        .route(
            Method::GET,
            "/ready",
            Server::new(ready, no_body, json::encode_response),
        )
}

/// Adds `GET /metrics` (Prometheus's text exposition of `prometheus`) and `GET /debug/vars`
/// (the same values as expvar-style JSON, see [`kit_metrics::expvar`]) to `router`, the
/// debug listener's; [`App::debug_with_metrics`](crate::App::debug_with_metrics) serves
/// both beside `/health` and `/ready`.
#[cfg(feature = "metrics")]
pub fn metrics_routes(router: Router, prometheus: &kit_metrics::prometheus::Prometheus) -> Router {
    use kit_metrics::{expvar, prometheus::CONTENT_TYPE};

    let no_body = |_: &http::request::Parts, _| Ok(());
    let text = prometheus.clone();
    let exposition = endpoint_fn(move |_ctx: Context, ()| {
        let body = text.render();
        async move { Ok::<_, Error>(body) }
    });
    let encode_text = |_: &Context, body: String| {
        let mut response = http::Response::new(kit_http::Body::from(body));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(CONTENT_TYPE),
        );
        Ok(response)
    };
    let vars = prometheus.clone();
    let vars = endpoint_fn(move |_ctx: Context, ()| {
        let vars = expvar::render(&vars);
        async move { Ok::<_, Error>(vars) }
    });
    router
        .route(
            Method::GET,
            "/metrics",
            Server::new(exposition, no_body, encode_text),
        )
        .route(
            Method::GET,
            "/debug/vars",
            Server::new(vars, no_body, json::encode_response),
        )
}

/// The body of the log level route, both ways.
#[derive(Debug, Serialize, Deserialize)]
struct LogLevel {
    level: String,
}

/// The filter in force, or why there is none to show.
fn current_level() -> Result<LogLevel, Error> {
    kit_tracing::level()
        .map(|level| LogLevel { level })
        .ok_or_else(|| {
            Error::new(
                Code::FailedPrecondition,
                "no kit_tracing subscriber is installed",
            )
        })
}

/// Decodes a change of log level, after refusing what a browser could send from another
/// origin: see [`debug_router`].
fn decode_level_change(parts: &request::Parts, body: bytes::Bytes) -> Result<LogLevel, Error> {
    same_origin(parts)?;
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let is_json = content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(Error::invalid_argument(format!(
            "content type must be application/json, not {}",
            content_type.unwrap_or("none")
        ))
        .with_hint(HttpStatus(StatusCode::UNSUPPORTED_MEDIA_TYPE)));
    }
    json::decode_request(parts, body)
}

/// Refuses a request whose `Origin` header (browsers send it on cross-origin posts) names
/// another host and port than the request's `Host` (or HTTP/2 authority). A request with no
/// `Origin` (curl, scripts) passes.
fn same_origin(parts: &request::Parts) -> Result<(), Error> {
    let Some(origin) = parts.headers.get(ORIGIN) else {
        return Ok(());
    };
    let host = parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, authority)| authority);
    match (origin_host, host) {
        (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(Error::new(
            Code::PermissionDenied,
            format!(
                "cross-origin request refused: Origin {:?} is not this host ({})",
                origin.to_str().unwrap_or("?"),
                host.unwrap_or("none")
            ),
        )),
    }
}
