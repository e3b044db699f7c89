//! The business logic: notes kept in memory, with no transport in sight.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use kit::{Context, Error};

/// How many notes a [`Store`] holds unless told otherwise (`--max-notes`).
pub const DEFAULT_MAX_NOTES: usize = 10_000;
/// The longest title, in bytes.
pub const MAX_TITLE_BYTES: usize = 200;
/// The longest body, in bytes: with the default limit, the notes take at most about 42 MB.
pub const MAX_BODY_BYTES: usize = 4096;
/// The most notes one `ListNotes` call returns, and how many it returns by default: a page
/// of the longest notes stays far below gRPC's usual 4 MiB message limit.
pub const MAX_PAGE: u32 = 100;

/// A note.
#[kit::message]
pub struct Note {
    /// Its id, given by the service: 1 for the first note, one more for each next one.
    pub id: u64,
    /// Its title: not blank, at most 200 bytes.
    pub title: String,
    /// Its text: at most 4096 bytes.
    pub body: String,
}

/// Notes kept by a server: implemented by `Store` on the server and by the endpoint `Set`
/// of either transport's client. `#[kit::service]` makes the rest: the messages, the
/// endpoints, the HTTP routes, the gRPC service `notes.Notes`, and their clients.
#[kit::service(http, grpc)]
pub trait Notes {
    /// Stores a note and returns it with its id.
    #[kit(http = "POST /notes", status = 201)]
    async fn create_note(&self, ctx: &Context, title: String, body: String) -> Result<Note, Error>;
    /// The note `id`.
    #[kit(http = "GET /notes/{id}", idempotent)]
    async fn get_note(&self, ctx: &Context, id: u64) -> Result<Note, Error>;
    /// Notes in the order of their ids: those with ids above `after` (all when absent), at
    /// most `limit` of them (1 to 100, 100 when absent).
    #[kit(http = "GET /notes", field = "notes", idempotent)]
    async fn list_notes(
        &self,
        ctx: &Context,
        after: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Vec<Note>, Error>;
    /// Deletes the note `id`.
    #[kit(http = "DELETE /notes/{id}", idempotent)]
    async fn delete_note(&self, ctx: &Context, id: u64) -> Result<(), Error>;
}

/// Notes in memory, at most a fixed number of them.
#[derive(Debug)]
pub struct Store {
    max_notes: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    notes: BTreeMap<u64, Note>,
    last_id: u64,
}

impl Store {
    /// An empty store that holds at most `max_notes` notes.
    pub fn new(max_notes: usize) -> Store {
        Store {
            max_notes,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, and the state is consistent between
        // statements anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Store {
    fn default() -> Store {
        Store::new(DEFAULT_MAX_NOTES)
    }
}

fn not_found(id: u64) -> Error {
    Error::not_found(format!("note {id} not found"))
}

impl Notes for Store {
    async fn create_note(
        &self,
        _ctx: &Context,
        title: String,
        body: String,
    ) -> Result<Note, Error> {
        if title.trim().is_empty() {
            return Err(Error::invalid_argument("title is empty"));
        }
        for (field, text, max) in [
            ("title", &title, MAX_TITLE_BYTES),
            ("body", &body, MAX_BODY_BYTES),
        ] {
            if text.len() > max {
                let len = text.len();
                return Err(Error::invalid_argument(format!(
                    "{field} is {len} bytes long; the limit is {max}"
                )));
            }
        }
        let mut state = self.state();
        if state.notes.len() >= self.max_notes {
            return Err(Error::resource_exhausted(format!(
                "the store is full ({} notes): delete some first",
                self.max_notes
            )));
        }
        state.last_id += 1;
        let note = Note {
            id: state.last_id,
            title,
            body,
        };
        state.notes.insert(note.id, note.clone());
        Ok(note)
    }

    async fn get_note(&self, _ctx: &Context, id: u64) -> Result<Note, Error> {
        self.state()
            .notes
            .get(&id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    async fn list_notes(
        &self,
        _ctx: &Context,
        after: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Vec<Note>, Error> {
        let limit = limit.unwrap_or(MAX_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::invalid_argument(format!(
                "limit is {limit}; it must be between 1 and {MAX_PAGE}"
            )));
        }
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let state = self.state();
        let page = state
            .notes
            .range((from, Bound::Unbounded))
            .take(limit as usize);
        Ok(page.map(|(_, note)| note.clone()).collect())
    }

    async fn delete_note(&self, _ctx: &Context, id: u64) -> Result<(), Error> {
        match self.state().notes.remove(&id) {
            Some(_) => Ok(()),
            None => Err(not_found(id)),
        }
    }
}
