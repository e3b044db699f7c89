//! Compiles the service's `.proto` (shared with the kit version's tests) into the prost
//! messages, with serde's derives so that the HTTP side uses them too, and tonic's client
//! and server.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../proto/notes.proto");
    let descriptors = protox::compile(["notes.proto"], ["../proto"])?;
    tonic_prost_build::configure()
        .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize)]")
        .compile_fds(descriptors)?;
    Ok(())
}
