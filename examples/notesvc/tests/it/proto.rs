//! The `.proto` the service emits against its hand-written contract.

use prost::Message;

/// The text of a `.proto` without comments, with spaces collapsed and empty messages
/// written alike.
fn normalise(proto: &str) -> String {
    let text: Vec<&str> = proto
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect();
    text.join(" ")
        .replace('{', " { ")
        .replace('}', " } ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_emitted_proto_is_the_contract() {
    let contract = include_str!("../../proto/notes.proto");
    assert_eq!(normalise(&notesvc::notes::proto()), normalise(contract));
}

#[test]
fn protox_compiles_the_emitted_proto_into_the_served_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    // Where the served descriptors say the file is: `<package>/<service>.proto`.
    std::fs::create_dir(dir.path().join("notes")).unwrap();
    std::fs::write(
        dir.path().join("notes/notes.proto"),
        notesvc::notes::proto(),
    )
    .unwrap();
    let mut compiled = protox::compile(["notes/notes.proto"], [dir.path()]).unwrap();
    for file in &mut compiled.file {
        file.source_code_info = None;
    }
    let served = notesvc::notes::grpc::file_descriptor_set();
    let served = prost_types::FileDescriptorSet::decode(served).unwrap();
    assert_eq!(served, compiled);
}
