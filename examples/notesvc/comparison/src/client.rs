//! A typed client of the service over either transport.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::json;
use tonic::transport::{Channel, Endpoint};

use crate::pb::notes_client::NotesClient;
use crate::pb::{
    CreateNoteRequest, DeleteNoteRequest, GetNoteRequest, ListNotesRequest, ListNotesResponse, Note,
};

/// A client of notesvc over HTTP/JSON or gRPC.
#[derive(Debug, Clone)]
pub enum Client {
    /// Over HTTP/JSON: the base URL and a connection pool.
    Http(String, reqwest::Client),
    /// Over gRPC.
    Grpc(NotesClient<Channel>),
}

/// A failed call: the server's message, or why the server was not reached.
#[derive(Debug)]
pub struct ClientError(pub String);

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClientError {}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> ClientError {
        ClientError(status.message().to_owned())
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(err: reqwest::Error) -> ClientError {
        // reqwest's message leaves the cause (connection refused, ...) to its sources.
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        ClientError(message)
    }
}

/// `http://` and `addr`, unless `addr` has a scheme.
fn url(addr: &str) -> String {
    let addr = addr.trim_end_matches('/');
    if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    }
}

impl Client {
    /// A client of the HTTP/JSON listener at `addr` (`HOST:PORT` or a URL).
    pub fn http(addr: &str) -> Client {
        Client::Http(url(addr), reqwest::Client::new())
    }

    /// A client of the gRPC listener at `addr`, connecting on its first call.
    pub fn grpc(addr: &str) -> Result<Client, ClientError> {
        let endpoint = Endpoint::from_shared(url(addr)).map_err(|e| ClientError(e.to_string()))?;
        Ok(Client::Grpc(NotesClient::new(endpoint.connect_lazy())))
    }

    /// Stores a note and returns it with its id.
    pub async fn create_note(&self, title: String, body: String) -> Result<Note, ClientError> {
        match self {
            Client::Http(base, http) => {
                let note = json!({ "title": title, "body": body });
                json(send(http.post(format!("{base}/notes")).json(&note)).await?).await
            }
            Client::Grpc(grpc) => {
                let request = CreateNoteRequest { title, body };
                Ok(grpc.clone().create_note(request).await?.into_inner())
            }
        }
    }

    /// The note `id`.
    pub async fn get_note(&self, id: u64) -> Result<Note, ClientError> {
        match self {
            Client::Http(base, http) => {
                json(send(http.get(format!("{base}/notes/{id}"))).await?).await
            }
            Client::Grpc(grpc) => Ok(grpc
                .clone()
                .get_note(GetNoteRequest { id })
                .await?
                .into_inner()),
        }
    }

    /// Notes by id, those after `after` only, at most `limit` of them.
    pub async fn list_notes(
        &self,
        after: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Vec<Note>, ClientError> {
        let page: ListNotesResponse = match self {
            Client::Http(base, http) => {
                let mut query = Vec::new();
                query.extend(after.map(|after| ("after", after.to_string())));
                query.extend(limit.map(|limit| ("limit", limit.to_string())));
                let request = http.get(format!("{base}/notes")).query(&query);
                json(send(request).await?).await?
            }
            Client::Grpc(grpc) => {
                let request = ListNotesRequest { after, limit };
                grpc.clone().list_notes(request).await?.into_inner()
            }
        };
        Ok(page.notes)
    }

    /// Deletes the note `id`.
    pub async fn delete_note(&self, id: u64) -> Result<(), ClientError> {
        match self {
            Client::Http(base, http) => {
                send(http.delete(format!("{base}/notes/{id}"))).await?;
            }
            Client::Grpc(grpc) => {
                grpc.clone().delete_note(DeleteNoteRequest { id }).await?;
            }
        }
        Ok(())
    }
}

/// Sends `request`; an answer that is not a success is the error in its body.
async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
    let response = request.send().await?;
    if response.status().is_success() {
        return Ok(response);
    }
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
    }
    let body: ErrorBody = response.json().await?;
    Err(ClientError(body.error))
}

async fn json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
    Ok(response.json().await?)
}
