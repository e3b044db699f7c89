//! # notesvc
//!
//! kit's REST + gRPC example: notes kept in memory, served over HTTP/JSON and gRPC, each on
//! its own listener, with a typed client of either transport and a command-line client.
//!
//! The business logic is the [`Notes`] trait and its implementation [`Store`]
//! (`service.rs`); `#[kit::service]` generates everything else: the messages, the endpoint
//! [`Set`](notes::Set), the HTTP routes and client ([`notes::http`]), the gRPC service and
//! client ([`notes::grpc`]) and the `.proto` ([`notes::proto`]). `main.rs` (the `notesvc`
//! binary) puts the two transports on listeners with kit-app; `bin/notesvc-cli.rs` calls the
//! service through a transport's client. `README.md` counts its lines against the same
//! service on plain axum + tonic (`comparison/`).
//!
//! ## The HTTP contract
//!
//! A note is `{"id":1,"title":"...","body":"..."}`. Errors are
//! `{"error":"<message>","code":"<CODE>"}` with the status of the code.
//!
//! | request | answer |
//! |---|---|
//! | `POST /notes` `{"title":"t","body":"b"}` | `201` the note, with its new id |
//! | `POST /notes` with a blank title | `400` `{"error":"title is empty","code":"INVALID_ARGUMENT"}` |
//! | `POST /notes` with a title over 200 bytes or a body over 4096 bytes | `400` `{"error":"title is 201 bytes long; the limit is 200",...}` |
//! | `POST /notes` when the store is full (`--max-notes`, default 10,000) | `429` `{"error":"the store is full (10000 notes): delete some first","code":"RESOURCE_EXHAUSTED"}` |
//! | `GET /notes/{id}` | `200` the note, or `404` `{"error":"note 7 not found","code":"NOT_FOUND"}` |
//! | `GET /notes` | `200` `{"notes":[...]}`: the first 100 notes by id |
//! | `GET /notes?after=ID&limit=N` | `200` `{"notes":[...]}`: at most N (1 to 100) notes with ids above ID |
//! | `DELETE /notes/{id}` | `204` with no body, or `404` |
//! | `GET /notes/abc` | `400` `{"error":"invalid path parameter id \"abc\": invalid digit found in string",...}` |
//! | a body that is not JSON | `400` `{"error":"invalid request body: ...",...}` |
//! | an unknown path / a wrong method | `404` / `405` with `Allow` |
//!
//! ## The gRPC contract
//!
//! Service `notes.Notes` ([`notes::proto`] prints its `.proto`): `CreateNote`, `GetNote`,
//! `ListNotes` (`repeated Note notes`), `DeleteNote`. Errors are statuses: `INVALID_ARGUMENT`,
//! `NOT_FOUND` and `RESOURCE_EXHAUSTED` with the messages above. The listener also serves
//! `grpc.health.v1` and server reflection.
//!
//! ## Running it
//!
//! `cargo run -p notesvc` serves HTTP on `127.0.0.1:8081` and gRPC on `127.0.0.1:8082`
//! (`--http-addr`, `--grpc-addr`; port 0 picks a free port, logged at start-up;
//! `--max-notes`, default 10,000; `--help` lists the rest); then
//! `cargo run -p notesvc --bin notesvc-cli -- --http-addr 127.0.0.1:8081 create hello world`
//! (or `--grpc-addr 127.0.0.1:8082`; commands `create`, `get`, `list`, `delete`).

pub mod service;

pub use service::{Note, Notes, Store, notes};
