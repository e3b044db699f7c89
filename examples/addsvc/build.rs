//! Compiles Go kit's `proto/addsvc.proto` into a tonic client for the integration tests
//! (with protox, a protobuf compiler written in Rust, so no `protoc` is needed): a client
//! generated from the contract's own file, independent of what `#[kit::service]` generates,
//! checks that the service speaks the contract.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/addsvc.proto");
    let descriptors = protox::compile(["addsvc.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_fds(descriptors)?;
    Ok(())
}
