//! The protobuf messages and the tonic `Add` service, generated at build time from
//! `proto/addsvc.proto` (see `build.rs`).

#![allow(missing_docs, unreachable_pub, clippy::all)]

tonic::include_proto!("pb");

/// The encoded `FileDescriptorSet` of `addsvc.proto`, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/addsvc_descriptor.bin"));
