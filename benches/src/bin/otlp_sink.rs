//! `otlp-sink`: kit-testkit's OTLP receiver (gRPC and HTTP/protobuf on free loopback ports)
//! as a process of its own, for exporting a server's spans to during a load test without
//! counting the receiver's work in the server's CPU.
//!
//! It prints `grpc=http://127.0.0.1:PORT http=http://127.0.0.1:PORT/v1/traces` on one line
//! of stdout once both ports listen, then serves until it is killed. It keeps every span it
//! accepts (the receiver records them), so its memory grows with the spans sent to it: fine
//! for a callgrind run of thousands of requests, not for hours of load.

use std::io::Write as _;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let receiver = kit_testkit::otlp::OtlpReceiver::start().await;
        let mut stdout = std::io::stdout();
        writeln!(
            stdout,
            "grpc={} http={}",
            receiver.grpc_endpoint(),
            receiver.http_endpoint()
        )
        .and_then(|()| stdout.flush())
        .expect("stdout is writable");
        std::future::pending::<()>().await;
    });
}
