//! The `FileDescriptorSet` of a service described by [`kit::schema`], for gRPC reflection
//! and request checks, built without a `.proto` compiler.

use kit::schema::{FieldType, Label, MessageDef, ServiceDef, messages};
use prost::Message as _;
use prost_types::field_descriptor_proto::{Label as ProtoLabel, Type};
use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
    MethodDescriptorProto, OneofDescriptorProto, ServiceDescriptorProto,
};

/// The encoded `FileDescriptorSet` of `service`: one file, `<package>/<service>.proto`
/// (lower case), the same descriptors `protoc` or `protox` make from
/// [`proto_file`](kit::schema::proto_file)'s text.
pub fn file_descriptor_set(service: &ServiceDef) -> Vec<u8> {
    FileDescriptorSet {
        file: vec![file_descriptor(service)],
    }
    .encode_to_vec()
}

/// The descriptor of `service`'s `.proto` file.
pub fn file_descriptor(service: &ServiceDef) -> FileDescriptorProto {
    let prefix = if service.package.is_empty() {
        ".".to_owned()
    } else {
        format!(".{}.", service.package)
    };
    let full = |message: &MessageDef| format!("{prefix}{}", message.name);
    FileDescriptorProto {
        name: Some(file_name(service)),
        package: (!service.package.is_empty()).then(|| service.package.to_owned()),
        message_type: messages(service)
            .into_iter()
            .map(|m| message_descriptor(m, &full))
            .collect(),
        service: vec![ServiceDescriptorProto {
            name: Some(service.name.to_owned()),
            method: service
                .methods
                .iter()
                .map(|method| MethodDescriptorProto {
                    name: Some(method.name.to_owned()),
                    input_type: Some(full((method.request)())),
                    output_type: Some(full((method.response)())),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        syntax: Some("proto3".to_owned()),
        ..Default::default()
    }
}

/// `pb/add.proto` for the service `Add` of the package `pb`.
pub fn file_name(service: &ServiceDef) -> String {
    let file = format!("{}.proto", service.name.to_ascii_lowercase());
    if service.package.is_empty() {
        file
    } else {
        format!("{}/{file}", service.package.replace('.', "/"))
    }
}

fn message_descriptor(
    message: &MessageDef,
    full: &dyn Fn(&MessageDef) -> String,
) -> DescriptorProto {
    let mut descriptor = DescriptorProto {
        name: Some(message.name.to_owned()),
        ..Default::default()
    };
    for field in message.fields {
        let (ty, type_name) = match field.ty {
            FieldType::Bool => (Type::Bool, None),
            FieldType::Int32 => (Type::Int32, None),
            FieldType::Int64 => (Type::Int64, None),
            FieldType::Uint32 => (Type::Uint32, None),
            FieldType::Uint64 => (Type::Uint64, None),
            FieldType::Float => (Type::Float, None),
            FieldType::Double => (Type::Double, None),
            FieldType::String => (Type::String, None),
            FieldType::Bytes => (Type::Bytes, None),
            FieldType::Message(def) => (Type::Message, Some(full(def()))),
        };
        let is_message = matches!(field.ty, FieldType::Message(_));
        // proto3 `optional` scalars live in a synthetic oneof of their own, `_name`.
        let oneof_index = (field.label == Label::Optional && !is_message).then(|| {
            descriptor.oneof_decl.push(OneofDescriptorProto {
                name: Some(format!("_{}", field.name)),
                ..Default::default()
            });
            descriptor.oneof_decl.len() as i32 - 1
        });
        descriptor.field.push(FieldDescriptorProto {
            name: Some(field.name.to_owned()),
            number: Some(field.tag as i32),
            label: Some(if field.label == Label::Repeated {
                ProtoLabel::Repeated
            } else {
                ProtoLabel::Optional
            } as i32),
            r#type: Some(ty as i32),
            type_name,
            oneof_index,
            json_name: Some(json_name(field.name)),
            proto3_optional: oneof_index.map(|_| true),
            ..Default::default()
        });
    }
    descriptor
}

/// protoc's JSON name of a field: lower camel case.
fn json_name(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The methods of every service in `descriptor_sets` (encoded `FileDescriptorSet`s): each
/// one's path (`/package.Service/Method`) and whether its client streams.
pub(crate) fn method_paths(
    descriptor_sets: &[&[u8]],
) -> Result<Vec<(String, bool)>, prost::DecodeError> {
    let mut paths = Vec::new();
    for encoded in descriptor_sets {
        let set = FileDescriptorSet::decode(*encoded)?;
        for file in &set.file {
            let package = file.package();
            for service in &file.service {
                let service_name = match package {
                    "" => service.name().to_owned(),
                    package => format!("{package}.{}", service.name()),
                };
                for method in &service.method {
                    let path = format!("/{service_name}/{}", method.name());
                    paths.push((path, method.client_streaming()));
                }
            }
        }
    }
    Ok(paths)
}
