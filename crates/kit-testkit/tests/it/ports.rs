use std::collections::HashSet;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use kit_testkit::{free_addr, free_port, temp_dir, wait_for_port};

use crate::panic_message;

#[test]
fn free_ports_are_distinct_and_bindable() {
    let ports: Vec<u16> = (0..32).map(|_| free_port()).collect();
    let distinct: HashSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len(), "{ports:?}");
    // All of them can be bound at the same time.
    let listeners: Vec<TcpListener> = ports
        .iter()
        .map(|port| TcpListener::bind(("127.0.0.1", *port)).expect("bind a free port"))
        .collect();
    assert_eq!(listeners.len(), 32);
}

#[test]
fn free_addr_is_loopback() {
    let addr = free_addr();
    assert!(addr.ip().is_loopback(), "{addr}");
    assert!(addr.is_ipv4());
    assert_ne!(addr.port(), 0);
    TcpListener::bind(addr).expect("bind the free address");
}

#[test]
fn wait_for_port_sees_a_listener() {
    let listener = TcpListener::bind(free_addr()).unwrap();
    let addr = listener.local_addr().unwrap();
    wait_for_port(addr, Duration::from_secs(2));
    // The probe connection really reached the listener.
    let (_conn, peer) = listener.accept().unwrap();
    assert!(peer.ip().is_loopback());
}

#[test]
fn wait_for_port_sees_a_late_listener() {
    let addr = free_addr();
    let server = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        let listener = TcpListener::bind(addr).unwrap();
        listener.accept().unwrap();
    });
    wait_for_port(addr, Duration::from_secs(5));
    server.join().unwrap();
    assert!(
        TcpStream::connect(addr).is_err(),
        "listener closed after one accept"
    );
}

#[test]
fn wait_for_port_times_out() {
    let addr = free_addr();
    let start = Instant::now();
    let message = panic_message(|| wait_for_port(addr, Duration::from_millis(300)));
    let elapsed = start.elapsed();
    assert!(message.contains("timed out"), "{message}");
    assert!(message.contains(&addr.to_string()), "{message}");
    assert!(message.contains("refused"), "{message}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn temp_dir_is_created_and_removed() {
    let dir = temp_dir("kit-testkit-test-");
    let path = dir.path().to_path_buf();
    assert!(path.is_dir());
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("kit-testkit-test-"), "{name}");
    std::fs::write(path.join("data"), b"x").unwrap();
    drop(dir);
    assert!(!path.exists());
}
