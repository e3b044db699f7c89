//! The ZooKeeper server of `kit_testkit::zookeeper`: started, stopped and started again on
//! the same port and data.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use kit_testkit::zookeeper::ZooKeeper;

use crate::async_panic_message;

/// Asks the server at `addr` whether it is fine (ZooKeeper's `ruok`).
fn ruok(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"ruok")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

#[tokio::test]
async fn restarts_on_the_same_port_with_the_same_data() {
    let mut zk = ZooKeeper::configure();
    let addr = zk.addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(zk.connect_string(), addr.to_string());
    assert!(!zk.is_running());
    assert!(ruok(addr).is_err(), "nothing listens before the start");

    zk.resume().await;
    assert!(zk.is_running());
    assert_eq!(ruok(addr).unwrap(), "imok");
    // The transaction log is in the test's data directory.
    assert!(zk.data_dir().join("version-2").is_dir());

    zk.stop().await;
    assert!(!zk.is_running());
    assert_eq!(
        ruok(addr).unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );

    zk.resume().await;
    assert_eq!(zk.addr(), addr);
    assert_eq!(ruok(addr).unwrap(), "imok");
    // Both runs' logs are kept, each with its start on this port.
    let starts = zk
        .output()
        .lines()
        .filter(|line| line.contains(&format!("binding to port /{addr}")))
        .count();
    assert_eq!(starts, 2, "{}", zk.output());
}

#[tokio::test]
async fn stopping_a_stopped_server_is_a_mistake() {
    let message = async_panic_message(async {
        let mut zk = ZooKeeper::configure();
        zk.stop().await;
    })
    .await;
    assert!(message.starts_with("ZooKeeper on 127.0.0.1:"), "{message}");
    assert!(message.ends_with(" is not running"), "{message}");
}
