//! A TCP proxy on loopback that a test can cut, as a network partition between a client and
//! its server would.
//!
//! The client connects to the proxy's [`addr`](Proxy::addr); each connection is forwarded to
//! the server. [`cut`](Proxy::cut) closes every forwarded connection and refuses new ones (it
//! accepts and closes them at once) until [`heal`](Proxy::heal): the client can no longer
//! reach the server, while the server itself keeps running and sees the client gone. That is
//! how a test makes a server expire a client's session or lease for real, without pausing
//! the server or the client.
//!
//! [`hold_replies`](Proxy::hold_replies) loses answers instead of requests: on the connections
//! open at the time, the client's bytes still reach the server but the server's bytes stay in
//! the proxy, until [`release_replies`](Proxy::release_replies) passes them on or a cut
//! discards them. That is how a test makes a request take effect on the server while its
//! answer never reaches the client (the connection then cut, or given up by the client). A
//! client that sends one request at a time and waits for its answer cannot get ahead of the
//! test: [`held_bytes`](Proxy::held_bytes) says when an answer has come, the test looks at
//! the server, then releases it (one step) or cuts (the answer lost).
//!
//! The proxy runs on threads of its own (one to accept, two per connection), so it works
//! whatever the test's runtime is doing; dropping it closes everything.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use kit_testkit::proxy::Proxy;
//!
//! let server = TcpListener::bind("127.0.0.1:0").unwrap();
//! let proxy = Proxy::start(server.local_addr().unwrap());
//! let mut client = TcpStream::connect(proxy.addr()).unwrap();
//! let (mut accepted, _) = server.accept().unwrap();
//! client.write_all(b"ping").unwrap();
//! let mut buf = [0; 4];
//! accepted.read_exact(&mut buf).unwrap();
//! assert_eq!(&buf, b"ping");
//!
//! proxy.cut();
//! // The forwarded connection is closed: the client reads end of file.
//! assert_eq!(client.read(&mut buf).unwrap(), 0);
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::free_port;

/// How long the proxy waits to connect to the server for a client.
const CONNECT_TIME: Duration = Duration::from_secs(5);

/// A cuttable TCP proxy to one server; see the [module docs](self).
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    /// Whether connections are forwarded (not cut).
    open: AtomicBool,
    /// Set when the proxy is dropped.
    closing: AtomicBool,
    /// Every forwarded connection, to close them on a cut.
    connections: Mutex<Vec<Connection>>,
}

/// The two sockets of a forwarded connection, and what it holds back from the client.
#[derive(Debug)]
struct Connection {
    client: TcpStream,
    server: TcpStream,
    replies: Arc<Mutex<Replies>>,
}

/// The server's bytes on one connection, when they are held back from the client.
#[derive(Debug, Default)]
struct Replies {
    /// Whether the server's bytes are held instead of forwarded.
    holding: bool,
    /// The bytes held, in order; dropped when the connection ends.
    held: Vec<u8>,
}

impl Proxy {
    /// A proxy to `upstream`, listening on a free port of 127.0.0.1.
    ///
    /// # Panics
    ///
    /// If it cannot listen.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", free_port()))
            .unwrap_or_else(|err| panic!("proxy: cannot listen on 127.0.0.1: {err}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("proxy: cannot read its address: {err}"));
        let shared = Arc::new(Shared {
            upstream,
            open: AtomicBool::new(true),
            closing: AtomicBool::new(false),
            connections: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = shared.clone();
            thread::Builder::new()
                .name(format!("proxy {addr}"))
                .spawn(move || accept(&listener, &shared))
                .unwrap_or_else(|err| panic!("proxy: cannot start a thread: {err}"))
        };
        Proxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every forwarded connection and refuses new ones until
    /// [`heal`](Proxy::heal).
    pub fn cut(&self) {
        self.shared.open.store(false, Ordering::SeqCst);
        self.shared.close_all();
    }

    /// Forwards new connections again.
    pub fn heal(&self) {
        self.shared.open.store(true, Ordering::SeqCst);
    }

    /// Holds back the server's bytes on every connection open now: the client's bytes still
    /// reach the server, the server's stay in the proxy until
    /// [`release_replies`](Proxy::release_replies), and are lost if the connection ends first
    /// (a [`cut`](Proxy::cut), or the client giving up on it). Connections made later are
    /// forwarded both ways as usual.
    pub fn hold_replies(&self) {
        for connection in self.shared.connections().iter() {
            lock(&connection.replies).holding = true;
        }
    }

    /// How many bytes from the server the proxy holds back now.
    pub fn held_bytes(&self) -> usize {
        self.shared
            .connections()
            .iter()
            .map(|connection| lock(&connection.replies).held.len())
            .sum()
    }

    /// Forwards to the client what the proxy holds back now, and goes on holding back what
    /// the server sends next.
    pub fn release_replies(&self) {
        for connection in self.shared.connections().iter() {
            let mut replies = lock(&connection.replies);
            let held = std::mem::take(&mut replies.held);
            // A client that has gone is not waiting for them.
            let _ = (&connection.client).write_all(&held);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        // Wakes the acceptor, which then sees `closing` and returns.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        self.shared.close_all();
    }
}

impl Shared {
    fn connections(&self) -> MutexGuard<'_, Vec<Connection>> {
        lock(&self.connections)
    }

    /// Closes every connection, dropping what they held back.
    fn close_all(&self) {
        for connection in self.connections().drain(..) {
            let _ = connection.client.shutdown(Shutdown::Both);
            let _ = connection.server.shutdown(Shutdown::Both);
        }
    }
}

/// Locks `mutex`, whether or not a thread panicked holding it (the data stays consistent:
/// every critical section here is a single assignment, take or write).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.closing.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        if !shared.open.load(Ordering::SeqCst) {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        if let Err(err) = forward(client, shared) {
            eprintln!(
                "kit-testkit proxy: cannot forward to {}: {err}",
                shared.upstream
            );
        }
    }
}

/// Connects `client` to the server and copies bytes both ways on two threads.
fn forward(client: TcpStream, shared: &Arc<Shared>) -> io::Result<()> {
    let server = match TcpStream::connect_timeout(&shared.upstream, CONNECT_TIME) {
        Ok(server) => server,
        Err(err) => {
            let _ = client.shutdown(Shutdown::Both);
            return Err(err);
        }
    };
    let replies = Arc::new(Mutex::new(Replies::default()));
    shared.connections().push(Connection {
        client: client.try_clone()?,
        server: server.try_clone()?,
        replies: replies.clone(),
    });
    let (client_in, server_in) = (client.try_clone()?, server.try_clone()?);
    thread::Builder::new().spawn(move || pipe(client_in, server))?;
    thread::Builder::new().spawn(move || pipe_replies(server_in, client, &replies))?;
    Ok(())
}

/// Copies the client's bytes to the server until either side ends, then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// Copies the server's bytes to the client, or into `replies` while it holds them back,
/// until either side ends; then closes both and drops what was held.
fn pipe_replies(mut from: TcpStream, mut to: TcpStream, replies: &Mutex<Replies>) {
    let mut buf = [0; 16 * 1024];
    loop {
        let read = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        // Written under the lock, so that a release never overtakes bytes sent before it.
        let mut replies = lock(replies);
        if replies.holding {
            replies.held.extend_from_slice(&buf[..read]);
        } else if to.write_all(&buf[..read]).is_err() {
            break;
        }
    }
    lock(replies).held.clear();
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
