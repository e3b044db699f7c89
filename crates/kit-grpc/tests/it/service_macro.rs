//! What `#[kit::service]` generates for gRPC, served on loopback and called with the
//! generated client and with raw tonic.

use std::future::IntoFuture;
use std::net::SocketAddr;

use kit::{Code, Context, Error};
use prost::Message as _;
use tokio::net::TcpListener;
use tonic_prost::ProstCodec;

/// A point.
#[kit::message]
struct Point {
    /// Across.
    x: i32,
    /// Up, field number 5 on the wire.
    #[kit(tag = 5)]
    y: i32,
    /// A label, if any.
    label: Option<String>,
    /// Raw bytes, if any.
    raw: Option<Vec<u8>>,
    /// Byte strings.
    blobs: Vec<Vec<u8>>,
}

/// Geometry, with Go kit's convention for business errors (private, as its messages are:
/// the generated items are visible where the trait is).
#[kit::service(grpc, package = "geo.v1", name = "Geometry", err_field = "err")]
trait Geometry {
    /// Moves a point; moving it off the grid is a business error.
    async fn shift(&self, ctx: &Context, point: Point, dx: i32) -> Result<Point, Error>;
    /// The distance of two numbers; numbers over a million are a business error.
    async fn distance(&self, ctx: &Context, a: i64, #[kit(tag = 3)] b: i64) -> Result<u64, Error>;
    /// Fails with a code that is not a business error.
    async fn broken(&self, ctx: &Context) -> Result<(), Error>;
}

struct Plane;

impl Geometry for Plane {
    async fn shift(&self, _ctx: &Context, point: Point, dx: i32) -> Result<Point, Error> {
        let x = point
            .x
            .checked_add(dx)
            .ok_or_else(|| Error::invalid_argument("off the grid"))?;
        Ok(Point { x, ..point })
    }

    async fn distance(&self, _ctx: &Context, a: i64, b: i64) -> Result<u64, Error> {
        if a.abs() > 1_000_000 || b.abs() > 1_000_000 {
            return Err(Error::invalid_argument("too far"));
        }
        Ok(a.abs_diff(b))
    }

    async fn broken(&self, _ctx: &Context) -> Result<(), Error> {
        Err(Error::unavailable("down for maintenance"))
    }
}

async fn serve() -> SocketAddr {
    let set = geometry::Set::new(Plane);
    let routes =
        tonic::service::Routes::new(geometry::grpc::server(&set).max_decoding_message_size(1024));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(kit_grpc::serve(listener, routes).into_future());
    addr
}

#[tokio::test]
async fn the_generated_client_over_tls() {
    use kit_testkit::tls::{Certificates, FrontOptions, TlsFront};

    let addr = serve().await;
    let certificates = Certificates::generate();
    let options = FrontOptions {
        alpn: vec![b"h2".to_vec()],
        ..FrontOptions::default()
    };
    let front = TlsFront::start(addr, &certificates, options).await;
    let tls = kit_grpc::client::Tls::new(&certificates.ca).unwrap();
    let client = geometry::grpc::connect_lazy_tls(&front.addr().to_string(), &tls).unwrap();
    let ctx = Context::background();
    assert_eq!(client.distance(&ctx, -2, 5).await.unwrap(), 7);
}

#[tokio::test]
async fn the_generated_client_is_the_trait_over_grpc() {
    let addr = serve().await;
    let client = geometry::grpc::connect_lazy(&addr.to_string()).unwrap();
    let ctx = Context::background();
    let point = Point {
        x: 1,
        y: 2,
        label: Some("p".into()),
        raw: Some(vec![0, 255]),
        blobs: vec![vec![1], vec![]],
    };
    let moved = client.shift(&ctx, point.clone(), 3).await.unwrap();
    assert_eq!(
        moved,
        Point {
            x: 4,
            ..point.clone()
        }
    );
    assert_eq!(client.distance(&ctx, -2, 5).await.unwrap(), 7);
    // Business errors come back as they left, through the reply's `err` field.
    let err = client.shift(&ctx, point, i32::MAX).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "off the grid")
    );
    let err = client.distance(&ctx, 0, 2_000_000).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "too far")
    );
    // Other errors are statuses.
    let err = client.broken(&ctx).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unavailable, "down for maintenance")
    );
}

/// The wire form of `DistanceRequest` and `DistanceResponse`, written by hand.
#[derive(Clone, PartialEq, prost::Message)]
struct RawDistance {
    #[prost(int64, tag = "1")]
    a: i64,
    #[prost(int64, tag = "3")]
    b: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawReply {
    #[prost(uint64, tag = "1")]
    v: u64,
    #[prost(string, tag = "2")]
    err: String,
}

async fn raw_distance(
    addr: SocketAddr,
    path: &str,
    a: i64,
    b: i64,
) -> Result<RawReply, tonic::Status> {
    let channel = super::support::channel(addr);
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    grpc.unary(
        tonic::Request::new(RawDistance { a, b }),
        path.parse().unwrap(),
        ProstCodec::<RawDistance, RawReply>::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn the_wire_has_the_declared_paths_field_numbers_and_error_field() {
    let addr = serve().await;
    let reply = raw_distance(addr, "/geo.v1.Geometry/Distance", 1, 4)
        .await
        .unwrap();
    assert_eq!(
        reply,
        RawReply {
            v: 3,
            err: String::new()
        }
    );
    // A business error is a reply with status OK, as Go kit's addsvc answers.
    let reply = raw_distance(addr, "/geo.v1.Geometry/Distance", 1, 4_000_000)
        .await
        .unwrap();
    assert_eq!(
        reply,
        RawReply {
            v: 0,
            err: "too far".into()
        }
    );
    let status = raw_distance(addr, "/geo.v1.Geometry/Nope", 1, 4)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    // The `y` of a point travels as field 5.
    let point = Point {
        y: 1,
        ..Point::default()
    };
    assert_eq!(point.encode_to_vec(), [5 << 3, 1]);
}

#[tokio::test]
async fn a_request_over_the_message_limit_is_refused_and_the_server_keeps_serving() {
    let addr = serve().await;
    let client = geometry::grpc::connect_lazy(&addr.to_string()).unwrap();
    let ctx = Context::background();
    let point = Point {
        label: Some("x".repeat(2048)),
        ..Point::default()
    };
    let err = client.shift(&ctx, point, 1).await.unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err}");
    assert!(err.message().contains("message length too large"), "{err}");
    assert_eq!(client.distance(&ctx, 1, 2).await.unwrap(), 1);
}

#[test]
fn the_served_descriptors_are_what_protox_makes_of_the_emitted_proto() {
    let proto = geometry::proto();
    assert!(proto.contains("package geo.v1;"), "{proto}");
    assert!(proto.contains("  int64 b = 3;"), "{proto}");
    assert!(proto.contains("  int32 y = 5;\n"), "{proto}");
    assert!(proto.contains("  optional string label = 6;\n"), "{proto}");
    assert!(proto.contains("  optional bytes raw = 7;\n"), "{proto}");
    assert!(proto.contains("  repeated bytes blobs = 8;\n"), "{proto}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("geo/v1")).unwrap();
    std::fs::write(dir.path().join("geo/v1/geometry.proto"), &proto).unwrap();
    let mut compiled = protox::compile(["geo/v1/geometry.proto"], [dir.path()]).unwrap();
    for file in &mut compiled.file {
        file.source_code_info = None;
    }
    let served =
        prost_types::FileDescriptorSet::decode(geometry::grpc::file_descriptor_set()).unwrap();
    assert_eq!(served, compiled);
}
