//! Compiles `proto/addsvc.proto` into prost messages and tonic service code, with protox
//! (a protobuf compiler written in Rust) so that building addsvc needs no `protoc` on the
//! machine. The encoded descriptor set is kept for gRPC server reflection.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/addsvc.proto");
    let descriptors = protox::compile(["addsvc.proto"], ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("addsvc_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
