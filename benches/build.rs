//! Compiles addsvc's contract (`examples/addsvc/proto/addsvc.proto`) into tonic server code
//! for the raw tonic baseline (`raw-tonic-sum`), with protox (no `protoc` needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../examples/addsvc/proto/addsvc.proto");
    let descriptors = protox::compile(["addsvc.proto"], ["../examples/addsvc/proto"])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
