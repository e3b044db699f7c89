//! Circuit breakers: stop calling a callee that keeps failing, and try it again later.
//!
//! A [`CircuitBreaker`] is one state machine, shared by every endpoint it guards (clone it
//! freely: the clones are the same breaker). It is **closed** while calls go through and
//! their outcomes are counted; **open**, once its [`Policy`] says the callee is failing,
//! when every call fails at once with `Unavailable` "circuit breaker is open" without
//! reaching the callee; and **half-open** when the open period ends, letting a bounded
//! number of probe calls through: a probe's failure opens it again, enough successful
//! probes close it.
//!
//! Three policies, the models the big RPC stacks use:
//!
//! | policy | opens when | stays open | probes |
//! |---|---|---|---|
//! | [`Counting`] (gobreaker, Go kit's default) | a rule over the counts of the period says so: by default more than 5 consecutive failures; [`Counting::failure_ratio`] for a share of failures | 60 s | 1 (`max_requests`) |
//! | [`RollingWindow`] (Hystrix) | 50 % or more of the calls of the last 10 s failed, with at least 20 calls | 5 s | 1 |
//! | [`FailureAccrual`] (Finagle) | 5 consecutive failures, or a success rate under 80 % over 30 s with at least 5 calls | a jittered backoff from 5 s growing to 300 s while probes fail | 1 |
//!
//! Only errors that the [classifier](crate::error::Classifier) calls failures (by default
//! [by their code](crate::Code::class): `Unavailable`, `DeadlineExceeded`, `Internal`, ...)
//! count against the callee. Any other outcome, a business error such as `InvalidArgument`
//! included, shows a callee that answers, and counts as a success (Finagle's response
//! classification): business errors never open a breaker.
//!
//! A rejected call fails with `Unavailable` and the message `circuit breaker is open`, both
//! when the breaker is open and when it is half-open with all its probes taken: either way
//! the caller should go elsewhere or come back later, and one message keeps alerting rules
//! simple. The error says that the request was never sent
//! ([`Delivery::NotSent`](crate::error::Delivery::NotSent)), so a retry on another instance
//! is always safe.
//!
//! ```
//! use kit::middleware::{self, circuit_breaker::{CircuitBreaker, Counting, State}};
//! use kit::{endpoint_fn, Code, Context, Endpoint, Error};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let flaky = endpoint_fn(|_ctx: Context, ()| async { Err::<(), _>(Error::unavailable("down")) });
//! let breaker = CircuitBreaker::new(Counting::consecutive_failures(3));
//! breaker.on_transition(|t| println!("breaker {} -> {}", t.from, t.to));
//! let guarded = middleware::chain().circuit_breaker(breaker.clone()).endpoint(flaky);
//!
//! for _ in 0..3 {
//!     assert_eq!(guarded.call(Context::background(), ()).await.unwrap_err().message(), "down");
//! }
//! assert_eq!(breaker.state(), State::Open);
//! let err = guarded.call(Context::background(), ()).await.unwrap_err();
//! assert_eq!((err.code(), err.message()), (Code::Unavailable, "circuit breaker is open"));
//! # }
//! ```
//!
//! # Observing a breaker
//!
//! [`CircuitBreaker::state`] and [`CircuitBreaker::counts`] read it;
//! [`CircuitBreaker::subscribe`] gives a `tokio::sync::watch` receiver of the state, for an
//! admin page or a readiness probe that shows the latest state; and
//! [`CircuitBreaker::on_transition`] calls a function with every [`Transition`], in order,
//! for metrics that count them. Each transition is also logged (`tracing`, `INFO`).
//!
//! # Cost
//!
//! A call takes the breaker's mutex twice (once to be let through, once to report its
//! outcome) and allocates nothing: the rolling windows are arrays of buckets allocated with
//! the breaker and cleared in place. The lock is held for a few comparisons and additions;
//! it is not held while the call runs, and a closed [`Counting`] breaker without an
//! interval does not even read the clock. Measured on one thread, a call through a closed
//! breaker costs about 55 ns more than the bare endpoint, and no allocation (valgrind's
//! dhat, N and 2N calls). A call dropped before it ends (its client went away,
//! a timeout higher up ended it) reports nothing about the callee, but gives its probe place
//! back, so a cancelled probe cannot leave the breaker stuck half-open.
//!
//! # Why kit has its own state machine
//!
//! The design prefers wrapping a well-kept crate, and none fits here. `failsafe` (Finagle's
//! failure accrual, the closest) lets every call through when half-open instead of a
//! bounded number of probes, cannot be asked for its state (it only reports transitions),
//! has neither gobreaker's counting periods nor Hystrix's bucketed error percentage, and
//! reads the standard library's clock, so its timing cannot be tested with tokio's paused
//! time. `recloser` counts over the last N calls rather than over time and has no growing
//! backoff. Adapting either would mean rewriting its policies and its clock; the state
//! machine itself is a page, shared by all three policies.

mod breaker;
mod endpoint;
mod layer;
mod policy;
mod window;

pub use breaker::{CircuitBreaker, Counts, State, Transition};
pub use endpoint::CircuitBreakerEndpoint;
pub use layer::CircuitBreakerLayer;
pub use policy::{Counting, FailureAccrual, Policy, RollingWindow};
