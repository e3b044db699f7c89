//! The gRPC contract against the real binary, with a client compiled from the hand-written
//! `proto/notes.proto` (what any gRPC client sends), not the one `#[kit::service]` makes.

use tonic::Code;
use tonic::transport::Channel;

use crate::pb::notes_client::NotesClient;
use crate::pb::{
    CreateNoteRequest, DeleteNoteRequest, DeleteNoteResponse, GetNoteRequest, ListNotesRequest,
    Note,
};
use crate::support::start;

/// A channel to `addr`, connecting on its first call.
fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

fn client(addr: std::net::SocketAddr) -> NotesClient<Channel> {
    NotesClient::new(channel(addr))
}

fn note(id: u64, title: &str, body: &str) -> Note {
    Note {
        id,
        title: title.into(),
        body: body.into(),
    }
}

fn create(title: &str, body: &str) -> CreateNoteRequest {
    CreateNoteRequest {
        title: title.into(),
        body: body.into(),
    }
}

/// The code and message of a failed call.
fn failure<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> (Code, String) {
    let status = result.unwrap_err();
    (status.code(), status.message().to_owned())
}

#[tokio::test]
async fn create_get_list_and_delete() {
    let svc = start().await;
    let mut notes = client(svc.grpc);
    let created = notes.create_note(create("milk", "2 litres")).await.unwrap();
    assert_eq!(created.into_inner(), note(1, "milk", "2 litres"));
    notes.create_note(create("eggs", "")).await.unwrap();

    let got = notes.get_note(GetNoteRequest { id: 1 }).await.unwrap();
    assert_eq!(got.into_inner(), note(1, "milk", "2 litres"));

    let all = ListNotesRequest::default();
    let list = notes.list_notes(all).await.unwrap().into_inner();
    assert_eq!(
        list.notes,
        [note(1, "milk", "2 litres"), note(2, "eggs", "")]
    );
    let page = ListNotesRequest {
        after: Some(1),
        limit: Some(1),
    };
    let list = notes.list_notes(page).await.unwrap().into_inner();
    assert_eq!(list.notes, [note(2, "eggs", "")]);

    let deleted = notes
        .delete_note(DeleteNoteRequest { id: 1 })
        .await
        .unwrap();
    assert_eq!(deleted.into_inner(), DeleteNoteResponse {});
    let list = notes.list_notes(ListNotesRequest::default()).await;
    assert_eq!(list.unwrap().into_inner().notes, [note(2, "eggs", "")]);
}

#[tokio::test]
async fn errors_are_statuses_with_the_services_messages() {
    let svc = start().await;
    let mut notes = client(svc.grpc);
    let not_found = (Code::NotFound, "note 7 not found".to_owned());
    assert_eq!(
        failure(notes.get_note(GetNoteRequest { id: 7 }).await),
        not_found
    );
    assert_eq!(
        failure(notes.delete_note(DeleteNoteRequest { id: 7 }).await),
        not_found
    );
    let invalid = |message: &str| (Code::InvalidArgument, message.to_owned());
    assert_eq!(
        failure(notes.create_note(create("", "body")).await),
        invalid("title is empty")
    );
    assert_eq!(
        failure(notes.create_note(create(&"t".repeat(201), "")).await),
        invalid("title is 201 bytes long; the limit is 200")
    );
    assert_eq!(
        failure(notes.create_note(create("t", &"b".repeat(4097))).await),
        invalid("body is 4097 bytes long; the limit is 4096")
    );
    let zero = ListNotesRequest {
        after: None,
        limit: Some(0),
    };
    assert_eq!(
        failure(notes.list_notes(zero).await),
        invalid("limit is 0; it must be between 1 and 100")
    );
    // Nothing refused was stored, and the server still serves.
    let list = notes.list_notes(ListNotesRequest::default()).await;
    assert_eq!(list.unwrap().into_inner().notes, []);
}

#[tokio::test]
async fn unknown_methods_are_unimplemented() {
    let svc = start().await;
    let mut grpc = tonic::client::Grpc::new(channel(svc.grpc));
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<GetNoteRequest, Note>::default();
    let status = grpc
        .unary(
            tonic::Request::new(GetNoteRequest { id: 1 }),
            http::uri::PathAndQuery::from_static("/notes.Notes/UpdateNote"),
            codec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}
