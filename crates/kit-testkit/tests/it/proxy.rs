//! The cuttable proxy of `kit_testkit::proxy`.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use kit_testkit::proxy::Proxy;

/// Sends `word` through `client` and reads it on `server`'s side.
fn carries(client: &mut TcpStream, server: &mut TcpStream, word: &[u8; 4]) {
    client.write_all(word).unwrap();
    let mut buf = [0; 4];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, word);
}

/// Whether `stream` is closed: it reads end of file (or a reset) within five seconds.
fn is_closed(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    match stream.read(&mut [0; 1]) {
        Ok(0) => true,
        Err(err) => err.kind() == ErrorKind::ConnectionReset,
        Ok(_) => false,
    }
}

#[test]
fn forwards_both_ways_until_cut_and_again_once_healed() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = Proxy::start(server.local_addr().unwrap());
    assert!(proxy.addr().ip().is_loopback());

    let mut client = TcpStream::connect(proxy.addr()).unwrap();
    let (mut accepted, _) = server.accept().unwrap();
    carries(&mut client, &mut accepted, b"ping");
    carries(&mut accepted, &mut client, b"pong");

    proxy.cut();
    // Both ends of the forwarded connection are closed...
    assert!(is_closed(&mut client));
    assert!(is_closed(&mut accepted));
    // ...and a new connection is closed at once, never reaching the server.
    let mut refused = TcpStream::connect(proxy.addr()).unwrap();
    assert!(is_closed(&mut refused));
    server.set_nonblocking(true).unwrap();
    assert_eq!(server.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    server.set_nonblocking(false).unwrap();

    proxy.heal();
    let mut client = TcpStream::connect(proxy.addr()).unwrap();
    let (mut accepted, _) = server.accept().unwrap();
    carries(&mut client, &mut accepted, b"back");

    // Dropping the proxy closes what it forwards.
    drop(proxy);
    assert!(is_closed(&mut client));
}

#[test]
fn held_replies_wait_for_a_release_and_are_lost_on_a_cut() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = Proxy::start(server.local_addr().unwrap());
    let mut client = TcpStream::connect(proxy.addr()).unwrap();
    let (mut accepted, _) = server.accept().unwrap();
    carries(&mut accepted, &mut client, b"open");

    proxy.hold_replies();
    // The client's bytes still reach the server; the server's stay in the proxy.
    carries(&mut client, &mut accepted, b"req1");
    accepted.write_all(b"ans1").unwrap();
    wait_until_held(&proxy, 4);
    client
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let err = client.read(&mut [0; 1]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );

    // A release passes on what is held, in order, and holds what comes next.
    accepted.write_all(b"ans2").unwrap();
    wait_until_held(&proxy, 8);
    proxy.release_replies();
    assert_eq!(proxy.held_bytes(), 0);
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0; 8];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ans1ans2");
    accepted.write_all(b"ans3").unwrap();
    wait_until_held(&proxy, 4);

    // A cut loses what is held: the client reads end of file, never `ans3`.
    proxy.cut();
    assert_eq!(proxy.held_bytes(), 0);
    assert_eq!(client.read(&mut buf).unwrap(), 0);

    // Connections made after the hold are forwarded both ways.
    proxy.heal();
    let mut client = TcpStream::connect(proxy.addr()).unwrap();
    let (mut accepted, _) = server.accept().unwrap();
    carries(&mut client, &mut accepted, b"req4");
    carries(&mut accepted, &mut client, b"ans4");
}

/// Waits until `proxy` holds `bytes` bytes back; panics after five seconds.
fn wait_until_held(proxy: &Proxy, bytes: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while proxy.held_bytes() != bytes {
        assert!(
            std::time::Instant::now() < deadline,
            "the proxy holds {} bytes, not {bytes}",
            proxy.held_bytes()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
