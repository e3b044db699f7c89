//! The business logic: what addsvc does, with no transport in sight.

use kit::{Context, Error};

/// The error text of `Sum(0, 0)`.
pub const ERR_TWO_ZEROES: &str = "can't sum two zeroes";
/// The error text of a `Sum` that would leave the 32-bit range (Go kit's rule).
pub const ERR_INT_OVERFLOW: &str = "integer overflow";
/// The error text of a `Concat` result over [`MAX_CONCAT_LEN`] bytes.
pub const ERR_MAX_SIZE_EXCEEDED: &str = "result exceeds maximum size";
/// The longest `Concat` result, in bytes.
pub const MAX_CONCAT_LEN: usize = 10;

/// What addsvc offers, as Go kit's addsvc: implemented by [`BasicService`] on the server and
/// by the endpoint [`Set`](add::Set) of any transport's client, so callers do not know which
/// one they hold. `#[kit::service]` makes the rest: the messages (`pb.SumRequest`,
/// `pb.SumReply` with Go kit's `v` and `err` fields), the endpoints, the HTTP/JSON routes
/// (`POST /sum`, `POST /concat`), the JSON-RPC methods (`sum`, `concat`), the gRPC service
/// `pb.Add`, and a client of each.
#[kit::service(
    http,
    jsonrpc,
    grpc,
    go,
    package = "pb",
    name = "Add",
    reply_suffix = "Reply",
    err_field = "err"
)]
pub trait Add {
    /// Sums two integers.
    async fn sum(&self, ctx: &Context, a: i64, b: i64) -> Result<i64, Error>;
    /// Concatenates two strings.
    async fn concat(&self, ctx: &Context, a: String, b: String) -> Result<String, Error>;
}

/// The real implementation. Its errors are business errors (`InvalidArgument`): returned to
/// the caller, never counted as failures.
#[derive(Debug, Default, Clone, Copy)]
pub struct BasicService;

impl Add for BasicService {
    async fn sum(&self, _ctx: &Context, a: i64, b: i64) -> Result<i64, Error> {
        if a == 0 && b == 0 {
            return Err(Error::invalid_argument(ERR_TWO_ZEROES));
        }
        // Go kit's exact rule: the operands are int64 but results must fit an int32.
        let (max, min) = (i64::from(i32::MAX), i64::from(i32::MIN));
        if (b > 0 && a > max - b) || (b < 0 && a < min - b) {
            return Err(Error::invalid_argument(ERR_INT_OVERFLOW));
        }
        Ok(a + b)
    }

    async fn concat(&self, _ctx: &Context, a: String, b: String) -> Result<String, Error> {
        if a.len() + b.len() > MAX_CONCAT_LEN {
            return Err(Error::invalid_argument(ERR_MAX_SIZE_EXCEEDED));
        }
        Ok(a + &b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::Code;

    async fn sum(a: i64, b: i64) -> Result<i64, String> {
        BasicService
            .sum(&Context::background(), a, b)
            .await
            .map_err(|e| {
                assert_eq!(e.code(), Code::InvalidArgument);
                e.message().to_owned()
            })
    }

    #[tokio::test]
    async fn sum_follows_go_kits_rules() {
        assert_eq!(sum(1, 2).await, Ok(3));
        assert_eq!(sum(0, 0).await, Err(ERR_TWO_ZEROES.into()));
        assert_eq!(sum(3_000_000_000, 0).await, Ok(3_000_000_000));
        assert_eq!(sum(2_147_483_646, 1).await, Ok(2_147_483_647));
        assert_eq!(sum(2_147_483_647, 1).await, Err(ERR_INT_OVERFLOW.into()));
        assert_eq!(sum(-2_147_483_647, -1).await, Ok(-2_147_483_648));
        assert_eq!(sum(-2_147_483_648, -1).await, Err(ERR_INT_OVERFLOW.into()));
        assert_eq!(sum(i64::MIN, -1).await, Err(ERR_INT_OVERFLOW.into()));
        assert_eq!(sum(i64::MAX, i64::MAX).await, Err(ERR_INT_OVERFLOW.into()));
        assert_eq!(sum(i64::MIN, 0).await, Ok(i64::MIN));
    }

    #[tokio::test]
    async fn concat_limits_the_result() {
        let ctx = Context::background();
        assert_eq!(
            BasicService
                .concat(&ctx, "x".into(), "y".into())
                .await
                .unwrap(),
            "xy"
        );
        assert_eq!(
            BasicService
                .concat(&ctx, "01234".into(), "56789".into())
                .await
                .unwrap(),
            "0123456789"
        );
        let err = BasicService
            .concat(&ctx, "01234".into(), "567890".into())
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (Code::InvalidArgument, ERR_MAX_SIZE_EXCEEDED)
        );
    }
}
