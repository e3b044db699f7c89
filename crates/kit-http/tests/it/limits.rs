//! `serve`'s limits against slow, huge and many clients: each client is closed or refused
//! as documented, and a well-behaved client is served meanwhile. The limits are set short
//! so that the tests run fast; the assertions on time are lower bounds (a limit never fires
//! early) and generous upper bounds.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kit_http::ConnectionBudget;
use kit_testkit::http::{Connection, exchange, request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::h2raw::{self, GOAWAY, SETTINGS, frame};
use crate::support::sum_router;

/// Generous: what a limit of a few hundred milliseconds may take on a loaded machine.
const WITHIN: Duration = Duration::from_secs(10);

async fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Serves the `sum` router with `configure` applied.
async fn sum_server(
    configure: impl FnOnce(
        kit_http::Serve<kit_http::Router, std::future::Pending<()>>,
    ) -> kit_http::Serve<kit_http::Router, std::future::Pending<()>>,
) -> SocketAddr {
    let (listener, addr) = listen().await;
    tokio::spawn(configure(kit_http::serve(listener, sum_router())).into_future());
    addr
}

/// Reads until the server closes `stream` (within `limit`) and returns what came first.
async fn wait_closed(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the connection is still open after {limit:?}");
    got
}

async fn sum_is_served(addr: SocketAddr) {
    let answer = request(addr, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));
}

#[tokio::test]
async fn slowloris_heads_are_closed_after_the_header_read_timeout_while_others_are_served() {
    const TIMEOUT: Duration = Duration::from_millis(500);
    let addr = sum_server(|s| s.header_read_timeout(TIMEOUT)).await;

    // Each attacker sends a request line, then a header field every 100 ms, forever.
    let attackers: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn(async move {
                // Taken before the connect, so never after the server's clock starts.
                let start = Instant::now();
                let mut stream = TcpStream::connect(addr).await.unwrap();
                stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
                let mut buf = [0u8; 64];
                let mut ticks = tokio::time::interval(Duration::from_millis(100));
                let answered = loop {
                    tokio::select! {
                        read = stream.read(&mut buf) => break matches!(read, Ok(n) if n > 0),
                        _ = ticks.tick() => { let _ = stream.write_all(b"X-Slow: 1\r\n").await; }
                    }
                };
                (start.elapsed(), answered)
            })
        })
        .collect();

    // A client that sends its request at once is served during the attack.
    sum_is_served(addr).await;

    for attacker in attackers {
        let (open_for, answered) = tokio::time::timeout(WITHIN, attacker)
            .await
            .expect("every slow head is closed")
            .unwrap();
        assert!(!answered, "closed without an answer");
        assert!(
            open_for >= TIMEOUT,
            "closed after {open_for:?}, before the timeout"
        );
    }
    sum_is_served(addr).await;
}

#[tokio::test]
async fn clients_that_send_nothing_or_part_of_a_preface_are_closed_after_the_header_read_timeout() {
    const HEADER: Duration = Duration::from_millis(300);
    const IDLE: Duration = Duration::from_millis(900);
    let addr = sum_server(|s| s.header_read_timeout(HEADER).idle_timeout(IDLE)).await;
    // Nothing; a prefix of the HTTP/2 preface (protocol detection waits for more); the
    // start of an HTTP/1 request line. And the whole preface: then the connection counts
    // as an idle HTTP/2 connection, closed by the idle timeout.
    let sends: [(&[u8], Duration); 4] = [
        (b"", HEADER),
        (b"PRI", HEADER),
        (b"GET", HEADER),
        (h2raw::PREFACE, IDLE),
    ];
    let mut clients = Vec::new();
    for (sent, limit) in sends {
        let start = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(sent).await.unwrap();
        clients.push((sent, limit, start, stream));
    }
    sum_is_served(addr).await;
    for (sent, limit, start, mut stream) in clients {
        let got = wait_closed(&mut stream, WITHIN).await;
        let open_for = start.elapsed();
        assert!(open_for >= limit, "{sent:?}: closed after {open_for:?}");
        if limit == HEADER {
            assert!(
                got.is_empty(),
                "{sent:?}: {:?}",
                String::from_utf8_lossy(&got)
            );
        }
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout_then_closes_when_idle_too_long()
{
    const HEADER: Duration = Duration::from_millis(200);
    const IDLE: Duration = Duration::from_millis(1500);
    let addr = sum_server(|s| s.header_read_timeout(HEADER).idle_timeout(IDLE)).await;

    let mut conn = Connection::open(addr).await.with_timeout(WITHIN);
    let answer = conn.request("POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!(answer.status, 200);
    // Idle for four header timeouts (and several of the supervisor's ticks): still open.
    tokio::time::sleep(HEADER * 4).await;
    // Taken before the request, so never after the connection turns idle again.
    let idle_since = Instant::now();
    let answer = conn.request("POST", "/sum", r#"{"a":2,"b":2}"#).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":4}"#));

    conn.wait_for_close().await;
    let idle_for = idle_since.elapsed();
    assert!(idle_for >= IDLE, "closed after {idle_for:?} idle");
}

#[tokio::test]
async fn the_next_request_on_a_keep_alive_connection_gets_the_header_timeout_from_its_first_byte() {
    const HEADER: Duration = Duration::from_millis(300);
    let addr = sum_server(|s| s.header_read_timeout(HEADER)).await;
    let mut conn = Connection::open(addr).await.with_timeout(WITHIN);
    assert_eq!(
        conn.request("POST", "/sum", r#"{"a":1,"b":2}"#)
            .await
            .status,
        200
    );
    // Half of the next request's head, then silence.
    let start = Instant::now();
    conn.send_raw(b"POST /sum HTTP/1.1\r\n").await;
    conn.wait_for_close().await;
    assert!(start.elapsed() >= HEADER);
}

#[tokio::test]
async fn oversized_heads_are_answered_431_and_the_server_keeps_serving() {
    let addr = sum_server(|s| s).await;
    // The default limit is 64 KiB (hyper's own would let 100 KB through).
    let big = format!("GET / HTTP/1.1\r\nX-Big: {}", "a".repeat(100_000));
    assert_eq!(exchange(addr, &big, b"").await.status, 431);
    // hyper's default of 100 header fields.
    let many: String = (0..101).map(|i| format!("\r\nX-{i}: 1")).collect();
    assert_eq!(
        exchange(addr, &format!("GET / HTTP/1.1{many}"), b"")
            .await
            .status,
        431
    );
    sum_is_served(addr).await;

    let addr = sum_server(|s| s.max_header_bytes(8192).max_headers(5)).await;
    let big = format!("GET / HTTP/1.1\r\nX-Big: {}", "a".repeat(10_000));
    assert_eq!(exchange(addr, &big, b"").await.status, 431);
    let six: String = (0..6).map(|i| format!("\r\nX-{i}: 1")).collect();
    assert_eq!(
        exchange(addr, &format!("GET / HTTP/1.1{six}"), b"")
            .await
            .status,
        431
    );
    sum_is_served(addr).await;
}

#[tokio::test]
async fn http2_header_blocks_over_the_limit_are_answered_431_on_their_stream() {
    let addr = sum_server(|s| s.max_header_bytes(4096)).await;
    let (mut client, connection) = h2::client::handshake(TcpStream::connect(addr).await.unwrap())
        .await
        .unwrap();
    tokio::spawn(connection);

    let big = http::Request::get(format!("http://{addr}/"))
        .header("x-big", "a".repeat(8000))
        .body(())
        .unwrap();
    client = client.ready().await.unwrap();
    let (response, _) = client.send_request(big, true).unwrap();
    assert_eq!(response.await.unwrap().status(), 431);

    // The connection serves the next request.
    let sum = http::Request::post(format!("http://{addr}/sum"))
        .body(())
        .unwrap();
    client = client.ready().await.unwrap();
    let (response, mut body) = client.send_request(sum, false).unwrap();
    body.send_data(r#"{"a":1,"b":2}"#.into(), true).unwrap();
    assert_eq!(response.await.unwrap().status(), 200);
}

#[tokio::test]
async fn connections_over_the_budget_wait_in_the_backlog_until_one_closes() {
    let budget = ConnectionBudget::new(2);
    let addr = sum_server(|s| s.connection_budget(budget.clone())).await;
    let mut first = Connection::open(addr).await.with_timeout(WITHIN);
    let mut second = Connection::open(addr).await.with_timeout(WITHIN);
    for conn in [&mut first, &mut second] {
        assert_eq!(
            conn.request("POST", "/sum", r#"{"a":1,"b":2}"#)
                .await
                .status,
            200
        );
    }
    assert_eq!(budget.in_use(), 2);

    // The kernel completes the third connection and takes its request, but the server does
    // not accept it.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"a\":2,\"b\":2}")
        .await
        .unwrap();
    let mut buf = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.peek(&mut buf)).await;
    assert!(early.is_err(), "answered while the budget was used up");

    drop(first);
    let answer = kit_testkit::http::read_one_answer_timeout(&mut third, WITHIN).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":4}"#));
    assert_eq!(budget.in_use(), 2);
}

#[tokio::test]
async fn servers_sharing_a_budget_share_its_limit() {
    let budget = ConnectionBudget::new(2);
    let one = sum_server(|s| s.connection_budget(budget.clone())).await;
    let other = sum_server(|s| s.connection_budget(budget.clone())).await;
    let mut a = Connection::open(one).await.with_timeout(WITHIN);
    let mut b = Connection::open(other).await.with_timeout(WITHIN);
    assert_eq!(
        a.request("POST", "/sum", r#"{"a":1,"b":2}"#).await.status,
        200
    );
    assert_eq!(
        b.request("POST", "/sum", r#"{"a":1,"b":2}"#).await.status,
        200
    );

    let waiting =
        tokio::spawn(async move { request(one, "POST", "/sum", r#"{"a":2,"b":2}"#).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "served beyond the shared budget");
    drop(b);
    let answer = tokio::time::timeout(WITHIN, waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn http2_rapid_reset_floods_are_cut_off_and_others_are_served() {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = {
        let calls = calls.clone();
        tower::service_fn(move |_: http::Request<hyper::body::Incoming>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, std::convert::Infallible>(http::Response::new(kit_http::Body::default()))
            }
        })
    };
    let (listener, addr) = listen().await;
    tokio::spawn(kit_http::serve(listener, service).into_future());

    const STREAMS: u32 = 5_000;
    let mut flood = h2raw::connect(addr).await;
    let mut frames = Vec::new();
    for i in 0..STREAMS {
        let id = 2 * i + 1;
        let flags = h2raw::END_HEADERS | h2raw::END_STREAM;
        frames.extend(frame(h2raw::HEADERS, flags, id, h2raw::GET_ROOT));
        frames.extend(frame(
            h2raw::RST_STREAM,
            0,
            id,
            &h2raw::CANCEL.to_be_bytes(),
        ));
    }
    // The server may close before taking it all.
    let _ = flood.write_all(&frames).await;

    let goaway = h2raw::read_until(&mut flood, GOAWAY, WITHIN).await;
    assert_eq!(goaway.goaway_code(), h2raw::ENHANCE_YOUR_CALM);
    wait_closed(&mut flood, WITHIN).await;
    let served = calls.load(Ordering::SeqCst);
    assert!(
        served < STREAMS as usize / 10,
        "{served} of {STREAMS} reset streams reached the service"
    );

    let (mut client, connection) = h2::client::handshake(TcpStream::connect(addr).await.unwrap())
        .await
        .unwrap();
    tokio::spawn(connection);
    client = client.ready().await.unwrap();
    let request = http::Request::get(format!("http://{addr}/"))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    assert_eq!(response.await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_server_announces_the_documented_http2_settings() {
    const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    const INITIAL_WINDOW_SIZE: u16 = 0x4;
    const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    async fn announced(addr: SocketAddr) -> (Vec<(u16, u32)>, u32) {
        let mut stream = h2raw::connect(addr).await;
        let settings = h2raw::read_until(&mut stream, SETTINGS, WITHIN).await;
        let update = h2raw::read_until(&mut stream, h2raw::WINDOW_UPDATE, WITHIN).await;
        assert_eq!(update.stream, 0, "the connection window");
        let increment = u32::from_be_bytes(update.payload[..4].try_into().unwrap());
        (settings.settings(), 65_535 + increment)
    }
    let pick = |settings: &[(u16, u32)], id| {
        settings
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("setting {id} not announced in {settings:?}"))
    };

    let (settings, connection_window) = announced(sum_server(|s| s).await).await;
    assert_eq!(pick(&settings, MAX_CONCURRENT_STREAMS), 200);
    assert_eq!(pick(&settings, INITIAL_WINDOW_SIZE), 1 << 20);
    assert_eq!(pick(&settings, MAX_HEADER_LIST_SIZE), 64 * 1024);
    assert_eq!(connection_window, 1 << 20);

    let configured = sum_server(|s| {
        s.http2_max_concurrent_streams(7)
            .http2_initial_stream_window_size(100_000)
            .http2_initial_connection_window_size(200_000)
            .max_header_bytes(5000)
    })
    .await;
    let (settings, connection_window) = announced(configured).await;
    assert_eq!(pick(&settings, MAX_CONCURRENT_STREAMS), 7);
    assert_eq!(pick(&settings, INITIAL_WINDOW_SIZE), 100_000);
    assert_eq!(pick(&settings, MAX_HEADER_LIST_SIZE), 5000);
    assert_eq!(connection_window, 200_000);

    // hyper's own builders are reachable for the rest.
    let hatch = sum_server(|s| {
        s.http2(|b| {
            b.max_frame_size(32_768);
        })
    })
    .await;
    let (settings, _) = announced(hatch).await;
    assert_eq!(pick(&settings, 0x5), 32_768, "SETTINGS_MAX_FRAME_SIZE");
}

#[tokio::test]
async fn hypers_own_http1_builder_is_reachable() {
    let addr = sum_server(|s| {
        s.http1(|b| {
            b.title_case_headers(true);
        })
    })
    .await;
    let answer = request(addr, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    let names: Vec<&str> = answer.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"Content-Type"), "{names:?}");
}

#[tokio::test]
async fn an_idle_http2_connection_gets_a_goaway_after_the_idle_timeout() {
    const HEADER: Duration = Duration::from_millis(200);
    const IDLE: Duration = Duration::from_millis(1500);
    let addr = sum_server(|s| s.header_read_timeout(HEADER).idle_timeout(IDLE)).await;
    let (mut client, connection) = h2::client::handshake(TcpStream::connect(addr).await.unwrap())
        .await
        .unwrap();
    let connection = tokio::spawn(connection);

    let get = || {
        http::Request::get(format!("http://{addr}/"))
            .body(())
            .unwrap()
    };
    client = client.ready().await.unwrap();
    let (response, _) = client.send_request(get(), true).unwrap();
    assert_eq!(response.await.unwrap().status(), 404);
    // Idle for several header timeouts: still open.
    tokio::time::sleep(HEADER * 4).await;
    let idle_since = Instant::now();
    client = client.ready().await.unwrap();
    let (response, _) = client.send_request(get(), true).unwrap();
    assert_eq!(response.await.unwrap().status(), 404);

    // The server's GOAWAY ends the connection cleanly (the client acknowledges it).
    tokio::time::timeout(WITHIN, connection)
        .await
        .expect("the idle connection is shut down")
        .unwrap()
        .expect("with a GOAWAY, not an error");
    assert!(idle_since.elapsed() >= IDLE);
}

#[tokio::test]
async fn http2_keep_alive_pings_disconnect_a_client_that_stopped_answering() {
    const INTERVAL: Duration = Duration::from_millis(300);
    // A service that never answers, and notices when its request is dropped.
    let (dropped_tx, dropped) = tokio::sync::mpsc::unbounded_channel::<()>();
    let service = tower::service_fn(move |_: http::Request<hyper::body::Incoming>| {
        let guard = DropSignal(dropped_tx.clone());
        async move {
            let _guard = guard;
            std::future::pending::<Result<http::Response<kit_http::Body>, std::convert::Infallible>>()
                .await
        }
    });
    let (listener, addr) = listen().await;
    tokio::spawn(
        kit_http::serve(listener, service)
            .http2_keep_alive_interval(INTERVAL)
            .http2_keep_alive_timeout(INTERVAL)
            .into_future(),
    );
    let mut dropped = dropped;

    // A request in flight, then nothing: no reading, no answer to pings.
    let start = Instant::now();
    let mut silent = h2raw::connect(addr).await;
    silent
        .write_all(&frame(
            h2raw::HEADERS,
            h2raw::END_HEADERS | h2raw::END_STREAM,
            1,
            h2raw::GET_ROOT,
        ))
        .await
        .unwrap();
    tokio::time::timeout(WITHIN, dropped.recv())
        .await
        .expect("the unanswered pings end the connection and its request");
    assert!(start.elapsed() >= INTERVAL * 2);
}

#[tokio::test]
async fn http2_streams_over_the_concurrency_limit_are_refused() {
    let (listener, addr) = listen().await;
    let never = tower::service_fn(|_: http::Request<hyper::body::Incoming>| {
        std::future::pending::<Result<http::Response<kit_http::Body>, std::convert::Infallible>>()
    });
    tokio::spawn(
        kit_http::serve(listener, never)
            .http2_max_concurrent_streams(1)
            .into_future(),
    );
    let mut stream = h2raw::connect(addr).await;
    let flags = h2raw::END_HEADERS | h2raw::END_STREAM;
    let mut two = frame(h2raw::HEADERS, flags, 1, h2raw::GET_ROOT);
    two.extend(frame(h2raw::HEADERS, flags, 3, h2raw::GET_ROOT));
    stream.write_all(&two).await.unwrap();
    let reset = h2raw::read_until(&mut stream, h2raw::RST_STREAM, WITHIN).await;
    assert_eq!(reset.stream, 3);
    assert_eq!(reset.payload, 0x7u32.to_be_bytes(), "REFUSED_STREAM");
}

struct DropSignal(tokio::sync::mpsc::UnboundedSender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// The timer the kernel runs on the server's end of the connection from `client` to
/// `server`, from `/proc/net/tcp`: its kind (0 none, 1 retransmit, 2 keepalive) and the
/// clock ticks (1/100 s) before it fires.
#[cfg(target_os = "linux")]
fn server_side_timer(server: SocketAddr, client: SocketAddr) -> (u8, u64) {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let (local, remote) = (
        format!(":{:04X}", server.port()),
        format!(":{:04X}", client.port()),
    );
    let line = table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[1].ends_with(&local) && f[2].ends_with(&remote))
        .unwrap_or_else(|| panic!("no {server} <- {client} in {table}"));
    let (kind, when) = line[5].split_once(':').unwrap();
    (
        u8::from_str_radix(kind, 16).unwrap(),
        u64::from_str_radix(when, 16).unwrap(),
    )
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn accepted_connections_get_tcp_keepalive() {
    for (keepalive, expected) in [
        (Some(Duration::from_secs(15)), Some(1500)),
        (Some(Duration::from_secs(3)), Some(300)),
        (None, None),
    ] {
        let addr = if keepalive == Some(Duration::from_secs(15)) {
            sum_server(|s| s).await // the default
        } else {
            sum_server(|s| s.tcp_keepalive(keepalive)).await
        };
        let mut conn = Connection::open(addr).await.with_timeout(WITHIN);
        assert_eq!(
            conn.request("POST", "/sum", r#"{"a":1,"b":2}"#)
                .await
                .status,
            200
        );
        let client = conn.stream().local_addr().unwrap();
        let (kind, when) = server_side_timer(addr, client);
        match expected {
            Some(most) => {
                assert_eq!(kind, 2, "a keepalive timer runs ({keepalive:?})");
                assert!(
                    when <= most,
                    "{when} ticks left, at most {most} ({keepalive:?})"
                );
            }
            None => assert_eq!(kind, 0, "no timer ({keepalive:?})"),
        }
    }
}

#[cfg(unix)]
#[tokio::test]
async fn failed_accepts_back_off_and_are_logged_rarely() {
    use tracing_subscriber::layer::SubscriberExt;

    let warnings = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(CountWarnings(warnings.clone()));
    let _default = tracing::subscriber::set_default(subscriber);

    // A listening socket shut down for reading fails every accept at once, as one that
    // ran out of descriptors does.
    let (listener, _) = listen().await;
    rustix::net::shutdown(&listener, rustix::net::Shutdown::Read).unwrap();
    let server = tokio::spawn(kit_http::serve(listener, sum_router()).into_future());
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.abort();
    // Once at the first failure; the next warning is due 5 s later.
    assert_eq!(warnings.load(Ordering::SeqCst), 1);
}

/// Counts `accepting a connection failed` warnings.
struct CountWarnings(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountWarnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN
            && format!("{:?}", event).contains("accepting a connection failed")
        {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}
