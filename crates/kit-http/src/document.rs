//! Serving a fixed JSON document, such as a service's OpenAPI document.

use bytes::Bytes;
use http::{Method, request};
use http_body::Body as HttpBody;
use kit::{BoxError, Context, Error, endpoint_fn};
use serde::Serialize;

use crate::{Router, Server, json};

impl<B> Router<B>
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Answers `GET path` (and so `HEAD`) with `document` as JSON: `200`, `Content-Type:
    /// application/json`. The document is written once, here; each answer shares the bytes.
    /// A service serves its OpenAPI document this way (what the `router_with_openapi` of
    /// `#[kit::service]` does at `/openapi.json`).
    ///
    /// ```
    /// use kit_http::Router;
    ///
    /// let document = serde_json::json!({ "openapi": "3.1.0" });
    /// let router = Router::new().document("/openapi.json", &document);
    /// assert_eq!(format!("{router:?}"), r#"Router { routes: ["GET /openapi.json"], fallback: false }"#);
    /// ```
    ///
    /// # Panics
    /// As [`route`](Router::route), and if `document` does not serialise to JSON (a map with
    /// keys that are not strings).
    pub fn document<T: Serialize + ?Sized>(self, path: &str, document: &T) -> Self {
        let body = json::to_bytes(document)
            .unwrap_or_else(|err| panic!("cannot serve {path}: {}", err.message()));
        let answer =
            endpoint_fn(move |_ctx: Context, ()| std::future::ready(Ok::<_, Error>(body.clone())));
        let encode = |_ctx: &Context, body: Bytes| Ok(json::response(body));
        self.route(Method::GET, path, Server::new(answer, no_request, encode))
    }
}

/// The request of a document: nothing.
fn no_request(_parts: &request::Parts, _body: Bytes) -> Result<(), Error> {
    Ok(())
}
