//! The service's descriptors against its hand-written contract and its own `.proto`.

use std::path::Path;

use prost::Message;
use prost_types::FileDescriptorSet;

/// The descriptors of the `.proto` file `file` under `dir`, without source positions and
/// comments, as if it were at `notes/notes.proto` (where the served ones say it is).
fn compile(dir: &Path, file: &str) -> FileDescriptorSet {
    let mut compiled = protox::compile([file], [dir]).unwrap();
    for file in &mut compiled.file {
        file.source_code_info = None;
        file.name = Some("notes/notes.proto".into());
    }
    compiled
}

/// The descriptors the gRPC listener serves (for reflection and request checks).
fn served() -> FileDescriptorSet {
    FileDescriptorSet::decode(notesvc::notes::grpc::file_descriptor_set()).unwrap()
}

#[test]
fn the_served_descriptors_are_the_hand_written_contract() {
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    assert_eq!(served(), compile(&proto, "notes.proto"));
}

#[test]
fn the_emitted_proto_compiles_into_the_served_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("emitted.proto"), notesvc::notes::proto()).unwrap();
    assert_eq!(served(), compile(dir.path(), "emitted.proto"));
}
