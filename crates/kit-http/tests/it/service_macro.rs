//! What `#[kit::service]` generates for HTTP/JSON and JSON-RPC, served on loopback and
//! called raw and through the generated clients.

use std::net::SocketAddr;
use std::sync::Mutex;

use http::Method;
use http::request::Parts;
use kit::{Code, Context, Error, endpoint_fn};
use kit_http::{Server, json};
use kit_testkit::http::request;

/// A note.
#[kit::message]
pub(crate) struct Note {
    /// Its id.
    pub(crate) id: u64,
    /// Its title, `Title` in JSON.
    #[kit(rename = "Title")]
    pub(crate) title: String,
    /// Its text.
    pub(crate) text: String,
}

/// A store of notes.
#[kit::service(http, jsonrpc)]
pub(crate) trait Notes {
    /// Adds a note.
    #[kit(http = "POST /notes", status = 201)]
    async fn create(
        &self,
        ctx: &Context,
        title: String,
        #[kit(rename = "body")] text: String,
    ) -> Result<Note, Error>;
    /// One note.
    #[kit(http = "GET /notes/{id}")]
    async fn get(&self, ctx: &Context, id: u64) -> Result<Note, Error>;
    /// The notes whose title starts with `prefix`, at most `limit`.
    #[kit(http = "GET /notes", field = "notes")]
    async fn list(
        &self,
        ctx: &Context,
        prefix: String,
        limit: Option<u32>,
    ) -> Result<Vec<Note>, Error>;
    /// Removes a note.
    #[kit(http = "DELETE /notes/{id}")]
    async fn delete(&self, ctx: &Context, id: u64) -> Result<(), Error>;
    /// Retitles a note; the new title is the request body as plain text.
    #[kit(http = "PUT /notes/{id}/title", http_decode = title_from_text)]
    async fn retitle(&self, ctx: &Context, id: u64, title: String) -> Result<Note, Error>;
    /// Echoes a path segment: what the client encodes, the server decodes.
    #[kit(http = "GET /echo/{word}")]
    async fn echo(&self, ctx: &Context, word: String) -> Result<String, Error>;
}

/// A hand-written decoder for one generated route: the path parameter and a text body.
fn title_from_text(parts: &Parts, body: bytes::Bytes) -> Result<notes::RetitleRequest, Error> {
    Ok(notes::RetitleRequest {
        id: kit_http::PathParams::of(parts).parse("id")?,
        title: String::from_utf8(body.to_vec())
            .map_err(|_| Error::invalid_argument("the title is not UTF-8"))?,
    })
}

#[derive(Default)]
struct Store(Mutex<Vec<Note>>);

impl Store {
    fn find(&self, id: u64) -> Result<Note, Error> {
        let notes = self.0.lock().unwrap();
        notes
            .iter()
            .find(|n| n.id == id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no note {id}")))
    }
}

impl Notes for Store {
    async fn create(&self, _ctx: &Context, title: String, text: String) -> Result<Note, Error> {
        if title.is_empty() {
            return Err(Error::invalid_argument("empty title"));
        }
        let mut notes = self.0.lock().unwrap();
        let note = Note {
            id: notes.len() as u64 + 1,
            title,
            text,
        };
        notes.push(note.clone());
        Ok(note)
    }

    async fn get(&self, _ctx: &Context, id: u64) -> Result<Note, Error> {
        self.find(id)
    }

    async fn list(
        &self,
        _ctx: &Context,
        prefix: String,
        limit: Option<u32>,
    ) -> Result<Vec<Note>, Error> {
        let notes = self.0.lock().unwrap();
        let matching = notes.iter().filter(|n| n.title.starts_with(&prefix));
        Ok(matching
            .take(limit.map_or(usize::MAX, |l| l as usize))
            .cloned()
            .collect())
    }

    async fn delete(&self, _ctx: &Context, id: u64) -> Result<(), Error> {
        let mut notes = self.0.lock().unwrap();
        let before = notes.len();
        notes.retain(|n| n.id != id);
        if notes.len() == before {
            return Err(Error::not_found(format!("no note {id}")));
        }
        Ok(())
    }

    async fn retitle(&self, _ctx: &Context, id: u64, title: String) -> Result<Note, Error> {
        let mut notes = self.0.lock().unwrap();
        let note = notes
            .iter_mut()
            .find(|n| n.id == id)
            .ok_or_else(|| Error::not_found(format!("no note {id}")))?;
        note.title = title;
        Ok(note.clone())
    }

    async fn echo(&self, _ctx: &Context, word: String) -> Result<String, Error> {
        Ok(word)
    }
}

/// The generated routes, with a hand-written one added to the same router.
async fn serve() -> SocketAddr {
    let set = notes::Set::new(Store::default());
    let version = endpoint_fn(|_ctx: Context, ()| async { Ok::<_, Error>("1.0") });
    let router = notes::http::router(&set).route(
        Method::GET,
        "/version",
        Server::new(version, |_: &Parts, _| Ok(()), json::encode_response),
    );
    super::support::spawn(router).await
}

#[tokio::test]
async fn generated_routes_answer_with_their_statuses_and_json_names() {
    let addr = serve().await;
    let created = request(addr, "POST", "/notes", r#"{"title":"a","body":"x"}"#).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body, r#"{"id":1,"Title":"a","text":"x"}"#);
    assert_eq!(created.header("content-type"), Some("application/json"));
    request(addr, "POST", "/notes", r#"{"title":"ab","body":"y"}"#).await;

    let got = request(addr, "GET", "/notes/2", "").await;
    assert_eq!(
        (got.status, got.body.as_str()),
        (200, r#"{"id":2,"Title":"ab","text":"y"}"#)
    );
    let listed = request(addr, "GET", "/notes?prefix=a&limit=1", "").await;
    assert_eq!(
        listed.body,
        r#"{"notes":[{"id":1,"Title":"a","text":"x"}]}"#
    );
    let listed = request(addr, "GET", "/notes?prefix=ab", "").await;
    assert_eq!(
        listed.body,
        r#"{"notes":[{"id":2,"Title":"ab","text":"y"}]}"#
    );

    let retitled = request(addr, "PUT", "/notes/1/title", "a b").await;
    assert_eq!(retitled.body, r#"{"id":1,"Title":"a b","text":"x"}"#);
    let deleted = request(addr, "DELETE", "/notes/1", "").await;
    assert_eq!((deleted.status, deleted.body.as_str()), (204, ""));
    let version = request(addr, "GET", "/version", "").await;
    assert_eq!(version.body, r#""1.0""#);
}

#[tokio::test]
async fn bad_input_to_generated_routes_is_a_clear_client_error() {
    let addr = serve().await;
    let cases = [
        (
            "GET",
            "/notes/x",
            "",
            400,
            "invalid path parameter id \"x\": invalid digit found in string",
        ),
        (
            "GET",
            "/notes?limit=1",
            "",
            400,
            "missing query parameter prefix",
        ),
        (
            "GET",
            "/notes?prefix=&limit=-1",
            "",
            400,
            "invalid query parameter limit \"-1\": invalid digit found in string",
        ),
        (
            "POST",
            "/notes",
            r#"{"title":"a"}"#,
            400,
            "invalid request body: missing field `body` at line 1 column 13",
        ),
        (
            "POST",
            "/notes",
            r#"{"title":"","body":""}"#,
            400,
            "empty title",
        ),
        ("GET", "/notes/9", "", 404, "no note 9"),
        ("DELETE", "/notes/9", "", 404, "no note 9"),
        (
            "PATCH",
            "/notes/1",
            "",
            405,
            "method PATCH not allowed for /notes/1",
        ),
    ];
    for (method, path, body, status, message) in cases {
        let answer = request(addr, method, path, body).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        let error: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(error["error"], message, "{method} {path}");
    }
    // And it keeps serving.
    let created = request(addr, "POST", "/notes", r#"{"title":"a","body":""}"#).await;
    assert_eq!(created.status, 201);
}

#[tokio::test]
async fn the_generated_http_client_is_the_trait_over_the_wire() {
    let addr = serve().await;
    let client = notes::http::client(&addr.to_string()).unwrap();
    let ctx = Context::background();
    let note = client
        .create(&ctx, "a/b?".into(), "x".into())
        .await
        .unwrap();
    assert_eq!(
        note,
        Note {
            id: 1,
            title: "a/b?".into(),
            text: "x".into()
        }
    );
    assert_eq!(client.get(&ctx, 1).await.unwrap(), note);
    assert_eq!(
        client.list(&ctx, "a/".into(), None).await.unwrap(),
        std::slice::from_ref(&note)
    );
    assert!(
        client
            .list(&ctx, "a/".into(), Some(0))
            .await
            .unwrap()
            .is_empty()
    );
    // A path parameter is sent encoded and read back whole.
    assert_eq!(
        client.echo(&ctx, "a b/c?d%".into()).await.unwrap(),
        "a b/c?d%"
    );
    client.delete(&ctx, 1).await.unwrap();
    let err = client.get(&ctx, 1).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::NotFound, "no note 1"));
    let err = client
        .create(&ctx, String::new(), String::new())
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "empty title")
    );
}

#[tokio::test]
async fn generated_jsonrpc_methods_and_client() {
    let set = notes::Set::new(Store::default());
    let addr = super::jsonrpc::spawn_rpc(notes::jsonrpc::server(&set)).await;
    let answer = request(
        addr,
        "POST",
        "/rpc",
        r#"{"jsonrpc":"2.0","id":1,"method":"create","params":{"title":"a","body":"x"}}"#,
    )
    .await;
    assert_eq!(
        answer.body,
        r#"{"jsonrpc":"2.0","result":{"id":1,"Title":"a","text":"x"},"id":1}"#
    );
    let client = notes::jsonrpc::client(&addr.to_string()).unwrap();
    let ctx = Context::background();
    assert_eq!(client.get(&ctx, 1).await.unwrap().title, "a");
    assert_eq!(
        client.list(&ctx, String::new(), None).await.unwrap().len(),
        1
    );
    client.delete(&ctx, 1).await.unwrap();
    let err = client.delete(&ctx, 1).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::NotFound, "no note 1"));
}

#[tokio::test]
async fn middleware_wraps_every_generated_endpoint_with_the_method_name() {
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let layer = {
        let seen = seen.clone();
        move |method: &'static str| {
            seen.lock().unwrap().push(method);
            kit::middleware::chain().timeout(std::time::Duration::from_secs(5))
        }
    };
    let set = notes::Set::new(Store::default()).layer(layer);
    assert_eq!(
        *seen.lock().unwrap(),
        ["Create", "Get", "List", "Delete", "Retitle", "Echo"]
    );
    // The set is the trait, locally.
    let note = set
        .create(&Context::background(), "t".into(), String::new())
        .await
        .unwrap();
    assert_eq!(note.id, 1);
}

/// A client `Set` over discovered instances: one balanced endpoint (a `Set` is an endpoint
/// of each of its requests) serves every method, a retry around it moves a refused call to
/// the next instance, and the instances' servers each see their share.
#[tokio::test]
async fn a_set_from_one_balanced_endpoint_calls_every_method_across_instances() {
    use kit::middleware::{self, retry::RetryPolicy};
    use kit::sd::{Balanced, Endpointer, Instance, Instancer, RoundRobin};

    let (a, b) = (serve().await, serve().await);
    // Nothing listens at the third address: its calls are refused, never sent.
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let instancer = Instancer::fixed([a, gone, b].map(|addr| Instance::new(addr.to_string())));
    let endpointer = Endpointer::new(&instancer, |i: &Instance| notes::http::client(i.addr()));
    let balanced = Balanced::new(endpointer, RoundRobin::new());
    let client = notes::Set::from_endpoint(
        middleware::chain()
            .retry(RetryPolicy::default().max_attempts(2))
            .endpoint(balanced.clone()),
    );
    let ctx = Context::background();
    for title in ["one", "two", "three", "four"] {
        let note = client
            .create(&ctx, title.into(), String::new())
            .await
            .unwrap();
        assert_eq!(note.title, title);
    }
    // Each live instance stored two of the four notes (ids 1 and 2 on each).
    for addr in [a, b] {
        let direct = notes::http::client(&addr.to_string()).unwrap();
        assert_eq!(
            direct.list(&ctx, String::new(), None).await.unwrap().len(),
            2
        );
    }
    assert_eq!(client.echo(&ctx, "hi".into()).await.unwrap(), "hi");
    let stats = balanced.stats();
    let refused = stats
        .iter()
        .find(|s| s.instance.addr() == gone.to_string())
        .unwrap();
    assert!(refused.failures >= 2, "{stats:?}");
}
