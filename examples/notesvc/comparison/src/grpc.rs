//! The gRPC service.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::pb::notes_server::Notes;
use crate::pb::{
    CreateNoteRequest, DeleteNoteRequest, DeleteNoteResponse, GetNoteRequest, ListNotesRequest,
    ListNotesResponse, Note,
};
use crate::store::{Store, StoreError};

/// `notes.Notes` over a store.
#[derive(Debug)]
pub struct NotesService(pub Arc<Store>);

impl From<StoreError> for Status {
    fn from(err: StoreError) -> Status {
        match err {
            StoreError::Invalid(_) => Status::invalid_argument(err.to_string()),
            StoreError::NotFound(_) => Status::not_found(err.to_string()),
            StoreError::Full(_) => Status::resource_exhausted(err.to_string()),
        }
    }
}

#[tonic::async_trait]
impl Notes for NotesService {
    async fn create_note(
        &self,
        request: Request<CreateNoteRequest>,
    ) -> Result<Response<Note>, Status> {
        let request = request.into_inner();
        Ok(Response::new(self.0.create(request.title, request.body)?))
    }

    async fn get_note(&self, request: Request<GetNoteRequest>) -> Result<Response<Note>, Status> {
        Ok(Response::new(self.0.get(request.into_inner().id)?))
    }

    async fn list_notes(
        &self,
        request: Request<ListNotesRequest>,
    ) -> Result<Response<ListNotesResponse>, Status> {
        let request = request.into_inner();
        let notes = self.0.list(request.after, request.limit)?;
        Ok(Response::new(ListNotesResponse { notes }))
    }

    async fn delete_note(
        &self,
        request: Request<DeleteNoteRequest>,
    ) -> Result<Response<DeleteNoteResponse>, Status> {
        self.0.delete(request.into_inner().id)?;
        Ok(Response::new(DeleteNoteResponse {}))
    }
}
