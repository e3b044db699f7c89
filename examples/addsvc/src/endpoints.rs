//! The service's methods as kit endpoints, and the request and response types they carry.

use std::sync::Arc;

use kit::middleware::chain;
use kit::{BoxEndpoint, Context, Endpoint, Error};
use serde::{Deserialize, Serialize};

use crate::service::Service;

/// The arguments of `Sum`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SumRequest {
    /// The first operand.
    pub a: i64,
    /// The second operand.
    pub b: i64,
}

/// The result of `Sum`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SumResponse {
    /// The sum.
    pub v: i64,
}

/// The arguments of `Concat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConcatRequest {
    /// The first string.
    pub a: String,
    /// The second string.
    pub b: String,
}

/// The result of `Concat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConcatResponse {
    /// The concatenation.
    pub v: String,
}

/// One endpoint per method: what the server's transports serve, and what a client's
/// transport provides (then the set is itself a [`Service`]).
#[derive(Clone, Debug)]
pub struct Set {
    /// `Sum`.
    pub sum: BoxEndpoint<SumRequest, SumResponse>,
    /// `Concat`.
    pub concat: BoxEndpoint<ConcatRequest, ConcatResponse>,
}

impl Set {
    /// The server's endpoints for `service`, each behind the shared middleware (a log
    /// event per call). Limits on the endpoints would sit here, so that every transport
    /// shares them.
    pub fn new<S: Service>(service: S) -> Set {
        let service = Arc::new(service);
        Set {
            sum: chain()
                .logging("Sum")
                .endpoint(SumEndpoint(service.clone()))
                .boxed(),
            concat: chain()
                .logging("Concat")
                .endpoint(ConcatEndpoint(service))
                .boxed(),
        }
    }
}

/// `Sum` of a [`Service`] as an endpoint.
struct SumEndpoint<S>(Arc<S>);

impl<S: Service> Endpoint<SumRequest> for SumEndpoint<S> {
    type Response = SumResponse;

    async fn call(&self, ctx: Context, req: SumRequest) -> Result<SumResponse, Error> {
        let v = self.0.sum(&ctx, req.a, req.b).await?;
        Ok(SumResponse { v })
    }
}

/// `Concat` of a [`Service`] as an endpoint.
struct ConcatEndpoint<S>(Arc<S>);

impl<S: Service> Endpoint<ConcatRequest> for ConcatEndpoint<S> {
    type Response = ConcatResponse;

    async fn call(&self, ctx: Context, req: ConcatRequest) -> Result<ConcatResponse, Error> {
        let v = self.0.concat(&ctx, req.a, req.b).await?;
        Ok(ConcatResponse { v })
    }
}

/// A client's endpoints are the service again.
impl Service for Set {
    async fn sum(&self, ctx: &Context, a: i64, b: i64) -> Result<i64, Error> {
        Ok(self.sum.call(ctx.clone(), SumRequest { a, b }).await?.v)
    }

    async fn concat(&self, ctx: &Context, a: String, b: String) -> Result<String, Error> {
        Ok(self
            .concat
            .call(ctx.clone(), ConcatRequest { a, b })
            .await?
            .v)
    }
}
