//! The typed clients `#[kit::service]` generates (`notes::http::client`,
//! `notes::grpc::connect_lazy`) against the running server: the same calls, the same
//! answers and the same errors over either transport.

use kit::{Code, Context};
use notesvc::{Note, Notes, notes};

use crate::support::start_with;

fn note(id: u64, title: &str, body: &str) -> Note {
    Note {
        id,
        title: title.into(),
        body: body.into(),
    }
}

/// Runs the same calls through `service`, a client of a server with room for two notes.
async fn scenario(service: notes::Set) {
    let ctx = Context::background();
    let milk = service
        .create_note(&ctx, "milk".into(), "2 litres".into())
        .await
        .unwrap();
    assert_eq!(milk, note(1, "milk", "2 litres"));
    let eggs = service
        .create_note(&ctx, "eggs".into(), String::new())
        .await
        .unwrap();
    assert_eq!(service.get_note(&ctx, 1).await.unwrap(), milk);
    assert_eq!(
        service.list_notes(&ctx, None, None).await.unwrap(),
        [milk.clone(), eggs.clone()]
    );
    assert_eq!(
        service.list_notes(&ctx, Some(1), Some(5)).await.unwrap(),
        std::slice::from_ref(&eggs)
    );

    let failure = |err: kit::Error| (err.code(), err.message().to_owned());
    let full = service.create_note(&ctx, "tea".into(), String::new()).await;
    assert_eq!(
        failure(full.unwrap_err()),
        (
            Code::ResourceExhausted,
            "the store is full (2 notes): delete some first".to_owned()
        )
    );
    let blank = service
        .create_note(&ctx, String::new(), String::new())
        .await;
    assert_eq!(
        failure(blank.unwrap_err()),
        (Code::InvalidArgument, "title is empty".to_owned())
    );
    let bad_limit = service.list_notes(&ctx, None, Some(101)).await;
    assert_eq!(
        failure(bad_limit.unwrap_err()),
        (
            Code::InvalidArgument,
            "limit is 101; it must be between 1 and 100".to_owned()
        )
    );

    service.delete_note(&ctx, 1).await.unwrap();
    let not_found = (Code::NotFound, "note 1 not found".to_owned());
    assert_eq!(
        failure(service.get_note(&ctx, 1).await.unwrap_err()),
        not_found
    );
    assert_eq!(
        failure(service.delete_note(&ctx, 1).await.unwrap_err()),
        not_found
    );
    assert_eq!(service.list_notes(&ctx, None, None).await.unwrap(), [eggs]);
}

#[tokio::test]
async fn the_http_client() {
    let svc = start_with(&["--max-notes", "2"]).await;
    scenario(notes::http::client(&svc.http.to_string()).unwrap()).await;
}

#[tokio::test]
async fn the_grpc_client() {
    let svc = start_with(&["--max-notes", "2"]).await;
    scenario(notes::grpc::connect_lazy(&svc.grpc.to_string()).unwrap()).await;
}
