//! addsvc over gRPC: the `pb.Add` service of `proto/addsvc.proto`, as Go kit's addsvc
//! serves it. Business errors travel in the reply's `err` field with status OK; other errors
//! are gRPC statuses with the code from kit's classification table.

use std::future::Future;

use kit::{Code, Context, Endpoint, Error};
use kit_grpc::{BoxServer, Client};
use tonic::transport::{Channel, Endpoint as ChannelEndpoint};
use tonic::{Request, Response, Status};

use crate::endpoints::{ConcatRequest, ConcatResponse, Set, SumRequest, SumResponse};
use crate::pb;

/// The generated `Add` service, each method delegating to a kit server adapter.
#[derive(Debug, Clone)]
pub struct AddService {
    sum: BoxServer<pb::SumRequest, pb::SumReply>,
    concat: BoxServer<pb::ConcatRequest, pb::ConcatReply>,
}

#[tonic::async_trait]
impl pb::add_server::Add for AddService {
    async fn sum(
        &self,
        request: Request<pb::SumRequest>,
    ) -> Result<Response<pb::SumReply>, Status> {
        self.sum.serve(request).await
    }

    async fn concat(
        &self,
        request: Request<pb::ConcatRequest>,
    ) -> Result<Response<pb::ConcatReply>, Status> {
        self.concat.serve(request).await
    }
}

/// The `pb.Add` service of the listener (add health and reflection beside it).
pub fn server(set: &Set) -> pb::add_server::AddServer<AddService> {
    let sum = kit_grpc::Server::new(
        ErrInReply(set.sum.clone()),
        |r: pb::SumRequest| Ok(SumRequest { a: r.a, b: r.b }),
        |reply: Result<SumResponse, String>| {
            Ok(match reply {
                Ok(SumResponse { v }) => pb::SumReply {
                    v,
                    err: String::new(),
                },
                Err(err) => pb::SumReply { v: 0, err },
            })
        },
    );
    let concat = kit_grpc::Server::new(
        ErrInReply(set.concat.clone()),
        |r: pb::ConcatRequest| Ok(ConcatRequest { a: r.a, b: r.b }),
        |reply: Result<ConcatResponse, String>| {
            Ok(match reply {
                Ok(ConcatResponse { v }) => pb::ConcatReply {
                    v,
                    err: String::new(),
                },
                Err(err) => pb::ConcatReply {
                    v: String::new(),
                    err,
                },
            })
        },
    );
    pb::add_server::AddServer::new(AddService {
        sum: sum.boxed(),
        concat: concat.boxed(),
    })
}

/// Moves business errors (`InvalidArgument`) into the response, where Go kit's addsvc
/// carries them over gRPC; every other error stays an error (a gRPC status).
struct ErrInReply<E>(E);

impl<Req: Send, E: Endpoint<Req>> Endpoint<Req> for ErrInReply<E>
where
    E::Response: Send,
{
    type Response = Result<E::Response, String>;

    fn call(
        &self,
        ctx: Context,
        req: Req,
    ) -> impl Future<Output = Result<Self::Response, Error>> + Send {
        let call = self.0.call(ctx, req);
        async move {
            match call.await {
                Ok(response) => Ok(Ok(response)),
                Err(err) if err.code() == Code::InvalidArgument => {
                    Ok(Err(err.message().to_owned()))
                }
                Err(err) => Err(err),
            }
        }
    }
}

/// The error carried in a reply's `err` field, if any: a business error.
fn reply_error(err: String) -> Result<(), Error> {
    if err.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_argument(err))
    }
}

/// A client [`Set`] for the addsvc gRPC listener at `instance` (`host:port` or an
/// `http://` URL), both methods over one lazily connected channel.
pub fn client(instance: &str) -> Result<Set, Error> {
    let base = super::base_url(instance)?;
    let channel: Channel = ChannelEndpoint::from_shared(base)
        .map_err(|e| Error::invalid_argument(format!("invalid address {instance:?}: {e}")))?
        .tcp_nodelay(true)
        .connect_lazy();
    let sum = Client::new(
        channel.clone(),
        "/pb.Add/Sum",
        |r: SumRequest| pb::SumRequest { a: r.a, b: r.b },
        |reply: pb::SumReply| reply_error(reply.err).map(|()| SumResponse { v: reply.v }),
    );
    let concat = Client::new(
        channel,
        "/pb.Add/Concat",
        |r: ConcatRequest| pb::ConcatRequest { a: r.a, b: r.b },
        |reply: pb::ConcatReply| reply_error(reply.err).map(|()| ConcatResponse { v: reply.v }),
    );
    Ok(Set {
        sum: sum.boxed(),
        concat: concat.boxed(),
    })
}
