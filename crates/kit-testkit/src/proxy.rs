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

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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
    /// Both sockets of every forwarded connection, to close them on a cut.
    connections: Mutex<Vec<TcpStream>>,
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
    fn close_all(&self) {
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for stream in connections.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
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
    {
        let mut connections = shared
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connections.push(client.try_clone()?);
        connections.push(server.try_clone()?);
    }
    let (client_in, server_in) = (client.try_clone()?, server.try_clone()?);
    thread::Builder::new().spawn(move || pipe(client_in, server))?;
    thread::Builder::new().spawn(move || pipe(server_in, client))?;
    Ok(())
}

/// Copies `from` to `to` until either side ends, then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
