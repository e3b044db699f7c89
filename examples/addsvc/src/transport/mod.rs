//! The transports that carry the endpoints. Each has a server side (serving a
//! [`Set`](crate::endpoints::Set)) and a client side (making one); later transports (gRPC,
//! JSON-RPC, Thrift, NATS) sit beside HTTP in the same shape.

pub mod http;
