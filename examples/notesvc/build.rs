//! Compiles the hand-written `proto/notes.proto` into a tonic client for the integration
//! tests (with protox, a protobuf compiler written in Rust, so no `protoc` is needed): a
//! client that owes nothing to what `#[kit::service]` generates, so the tests see the wire
//! as any other gRPC client would.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/notes.proto");
    let descriptors = protox::compile(["notes.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_fds(descriptors)?;
    Ok(())
}
