//! The debug listener's routes: liveness and readiness.

use http::Method;
use kit::shutdown::Shutdown;
use kit::{Context, Error, endpoint_fn};
use kit_http::{Router, Server, json};

/// The routes of a service's debug listener: `GET /health` answers `200`
/// `{"status":"ok"}` while the process runs (liveness); `GET /ready` answers `200`
/// `{"status":"ready"}` until `shutdown` begins, then `503` (readiness: balancers and
/// probes stop sending calls during the drain delay).
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
    Router::new()
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
