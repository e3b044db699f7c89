//! Notes kept in memory, at most a fixed number of them.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::pb::Note;

/// How many notes a store holds unless told otherwise.
pub const DEFAULT_MAX_NOTES: usize = 10_000;
/// The longest title, in bytes.
pub const MAX_TITLE_BYTES: usize = 200;
/// The longest body, in bytes.
pub const MAX_BODY_BYTES: usize = 4096;
/// The most notes one list call returns, and how many it returns by default.
pub const MAX_PAGE: u32 = 100;

/// Why a call failed; each transport maps it to its status.
#[derive(Debug)]
pub enum StoreError {
    /// Bad input.
    Invalid(String),
    /// No note with this id.
    NotFound(u64),
    /// The store holds this many notes already.
    Full(usize),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Invalid(message) => f.write_str(message),
            StoreError::NotFound(id) => write!(f, "note {id} not found"),
            StoreError::Full(max) => {
                write!(f, "the store is full ({max} notes): delete some first")
            }
        }
    }
}

impl std::error::Error for StoreError {}

/// Notes in memory.
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
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a note and returns it with its id.
    pub fn create(&self, title: String, body: String) -> Result<Note, StoreError> {
        if title.trim().is_empty() {
            return Err(StoreError::Invalid("title is empty".into()));
        }
        for (field, text, max) in [
            ("title", &title, MAX_TITLE_BYTES),
            ("body", &body, MAX_BODY_BYTES),
        ] {
            if text.len() > max {
                let len = text.len();
                return Err(StoreError::Invalid(format!(
                    "{field} is {len} bytes long; the limit is {max}"
                )));
            }
        }
        let mut state = self.state();
        if state.notes.len() >= self.max_notes {
            return Err(StoreError::Full(self.max_notes));
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

    /// The note `id`.
    pub fn get(&self, id: u64) -> Result<Note, StoreError> {
        self.state()
            .notes
            .get(&id)
            .cloned()
            .ok_or(StoreError::NotFound(id))
    }

    /// Notes by id, those after `after` only, at most `limit` of them.
    pub fn list(&self, after: Option<u64>, limit: Option<u32>) -> Result<Vec<Note>, StoreError> {
        let limit = limit.unwrap_or(MAX_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(StoreError::Invalid(format!(
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

    /// Deletes the note `id`.
    pub fn delete(&self, id: u64) -> Result<(), StoreError> {
        match self.state().notes.remove(&id) {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound(id)),
        }
    }
}
