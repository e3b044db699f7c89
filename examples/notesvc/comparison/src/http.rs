//! The HTTP/JSON routes.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::pb::{CreateNoteRequest, ListNotesResponse, Note};
use crate::store::{Store, StoreError};

/// The routes of the service over `store`; errors answer `{"error":..,"code":..}`.
pub fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route("/notes", get(list).post(create))
        .route("/notes/{id}", get(get_note).delete(delete))
        .fallback(|uri: Uri| async move {
            let message = format!("no route for {}", uri.path());
            ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
        })
        .method_not_allowed_fallback(|method: Method, uri: Uri| async move {
            let message = format!("method {method} not allowed for {}", uri.path());
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "UNIMPLEMENTED", message)
        })
        .with_state(store)
}

/// An error answer: `{"error":"<message>","code":"<CODE>"}` with a status.
#[derive(Serialize)]
struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    error: String,
    code: &'static str,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, error: String) -> ApiError {
        ApiError {
            status,
            error,
            code,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        let (status, code) = match err {
            StoreError::Invalid(_) => (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT"),
            StoreError::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            StoreError::Full(_) => (StatusCode::TOO_MANY_REQUESTS, "RESOURCE_EXHAUSTED"),
        };
        ApiError::new(status, code, err.to_string())
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}

/// `value` of the parameter `name` (a `kind` of parameter) as a `T`.
fn parse<T>(kind: &str, name: &str, value: &str) -> Result<T, ApiError>
where
    T: FromStr,
    T::Err: Display,
{
    value
        .parse()
        .map_err(|e| invalid(format!("invalid {kind} {name} {value:?}: {e}")))
}

async fn create(
    State(store): State<Arc<Store>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let request: CreateNoteRequest =
        serde_json::from_slice(&body).map_err(|e| invalid(format!("invalid request body: {e}")))?;
    let note = store.create(request.title, request.body)?;
    Ok((StatusCode::CREATED, Json(note)))
}

async fn get_note(
    State(store): State<Arc<Store>>,
    Path(id): Path<String>,
) -> Result<Json<Note>, ApiError> {
    Ok(Json(store.get(parse("path parameter", "id", &id)?)?))
}

async fn list(
    State(store): State<Arc<Store>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<ListNotesResponse>, ApiError> {
    let after = query.get("after");
    let after = after
        .map(|v| parse("query parameter", "after", v))
        .transpose()?;
    let limit = query.get("limit");
    let limit = limit
        .map(|v| parse("query parameter", "limit", v))
        .transpose()?;
    let notes = store.list(after, limit)?;
    Ok(Json(ListNotesResponse { notes }))
}

async fn delete(
    State(store): State<Arc<Store>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    store.delete(parse("path parameter", "id", &id)?)?;
    Ok(StatusCode::NO_CONTENT)
}
