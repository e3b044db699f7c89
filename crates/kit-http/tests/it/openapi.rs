//! The OpenAPI document `#[kit::service]` writes for a REST service (path and query
//! parameters, `201`, `204`, `404`), served beside its routes, validated and fuzzed by the
//! tools other languages use (kit_testkit::openapi).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kit::{Context, Error};

use crate::support::spawn;

/// A note.
#[kit::message]
pub(crate) struct Note {
    /// Its number, given at creation.
    pub(crate) id: u64,
    pub(crate) title: String,
    pub(crate) tags: Vec<String>,
    /// How much it matters, if anyone said.
    pub(crate) score: Option<f64>,
}

/// Keeps notes in memory.
#[kit::service(http)]
pub(crate) trait Notes {
    /// Adds a note.
    #[kit(http = "POST /notes", status = 201)]
    async fn create(
        &self,
        ctx: &Context,
        title: String,
        tags: Vec<String>,
        score: Option<f64>,
    ) -> Result<Note, Error>;
    /// A note by number.
    #[kit(http = "GET /notes/{id}")]
    async fn get(&self, ctx: &Context, id: u64) -> Result<Note, Error>;
    /// The notes with a tag, or all of them, up to `limit`.
    #[kit(http = "GET /notes")]
    async fn list(
        &self,
        ctx: &Context,
        tag: Option<String>,
        limit: Option<u32>,
    ) -> Result<Vec<Note>, Error>;
    /// Renames a note.
    #[kit(http = "PATCH /notes/{id}")]
    async fn rename(&self, ctx: &Context, id: u64, title: String) -> Result<Note, Error>;
    /// Removes a note.
    #[kit(http = "DELETE /notes/{id}")]
    async fn delete(&self, ctx: &Context, id: u64) -> Result<(), Error>;
}

#[derive(Clone, Default)]
struct Memory(Arc<Mutex<BTreeMap<u64, Note>>>);

impl Memory {
    fn with_note<T>(&self, id: u64, f: impl FnOnce(&mut Note) -> T) -> Result<T, Error> {
        let mut notes = self.0.lock().unwrap();
        let note = notes
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(format!("no note {id}")))?;
        Ok(f(note))
    }
}

impl Notes for Memory {
    async fn create(
        &self,
        _ctx: &Context,
        title: String,
        tags: Vec<String>,
        score: Option<f64>,
    ) -> Result<Note, Error> {
        let mut notes = self.0.lock().unwrap();
        let id = notes.last_key_value().map_or(1, |(id, _)| id + 1);
        let note = Note {
            id,
            title,
            tags,
            score,
        };
        notes.insert(id, note.clone());
        Ok(note)
    }

    async fn get(&self, _ctx: &Context, id: u64) -> Result<Note, Error> {
        self.with_note(id, |note| note.clone())
    }

    async fn list(
        &self,
        _ctx: &Context,
        tag: Option<String>,
        limit: Option<u32>,
    ) -> Result<Vec<Note>, Error> {
        let notes = self.0.lock().unwrap();
        let tagged = notes
            .values()
            .filter(|note| tag.as_ref().is_none_or(|tag| note.tags.contains(tag)));
        let limit = limit.map_or(usize::MAX, |limit| limit as usize);
        Ok(tagged.take(limit).cloned().collect())
    }

    async fn rename(&self, _ctx: &Context, id: u64, title: String) -> Result<Note, Error> {
        self.with_note(id, |note| {
            note.title = title;
            note.clone()
        })
    }

    async fn delete(&self, _ctx: &Context, id: u64) -> Result<(), Error> {
        self.0
            .lock()
            .unwrap()
            .remove(&id)
            .map(drop)
            .ok_or_else(|| Error::not_found(format!("no note {id}")))
    }
}

#[test]
fn a_rest_service_documents_its_parameters_and_statuses() {
    let document = notes::openapi();
    let paths = &document["paths"];
    let id = serde_json::json!({
        "name": "id",
        "in": "path",
        "required": true,
        "schema": {
            "type": "integer",
            "format": "uint64",
            "minimum": 0,
            "maximum": u64::MAX,
        },
    });
    assert_eq!(
        paths["/notes/{id}"]["get"]["parameters"],
        serde_json::json!([id])
    );
    assert_eq!(
        paths["/notes"]["get"]["parameters"][1],
        serde_json::json!({
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
                "type": "integer",
                "format": "uint32",
                "minimum": 0,
                "maximum": u32::MAX,
            },
        })
    );
    assert_eq!(
        paths["/notes/{id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"],
        serde_json::json!({
            "type": "object",
            "properties": { "title": { "type": "string" } },
            "required": ["title"],
        })
    );
    let statuses = |verb: &str, path: &str| -> Vec<String> {
        let mut statuses: Vec<String> = paths[path][verb]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        statuses.sort();
        statuses
    };
    assert_eq!(statuses("post", "/notes"), ["201", "400", "413", "default"]);
    assert_eq!(statuses("delete", "/notes/{id}"), ["204", "400", "default"]);
}

#[tokio::test]
async fn a_rest_service_is_what_its_document_says() {
    let router = notes::http::router_with_openapi(&notes::Set::new(Memory::default()));
    let addr = spawn(router).await;
    let answer = kit_testkit::http::request(addr, "GET", "/openapi.json", "").await;
    kit_testkit::openapi::validate(&answer.body).await;

    let report = kit_testkit::openapi::fuzz(&format!("http://{addr}/openapi.json")).await;
    assert!(
        report.contains("API Operations:\n  Selected: 5/5\n  Tested: 5\n"),
        "{report}"
    );
}
