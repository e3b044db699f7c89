//! Service discovery and load balancing (Go kit's `sd` and `sd/lb`), on kit's [`Endpoint`].
//!
//! The parts, each replaceable:
//!
//! - An [`Instancer`] streams a service's current instances (or the registry's error) from
//!   a registry: [`Instancer::fixed`] and [`Instancer::manual`] here, DNS SRV, etcd,
//!   ZooKeeper, Consul and Eureka in the `kit-sd-*` crates. Instancers send whole sets,
//!   never diffs.
//! - An [`Endpointer`] turns instances into endpoints through a [`Factory`] (typically a
//!   transport's client for the address), keeps them while their instances stay, drops
//!   (closes) them when they go, and keeps the last good set while the registry fails.
//! - A [`Balanced`] endpoint picks one per call with a [`Balancer`]: [`RoundRobin`],
//!   [`Random`] or [`P2c`] (power of two choices over peak-EWMA latency), with optional
//!   [`OutlierDetection`] and per-instance [`InstanceStats`].
//! - A [`Registrar`] puts this process's instance into a registry and takes it out again:
//!   [`ManualRegistrar`] here (over a [`Publisher`], for [`Instancer::manual`]), etcd,
//!   ZooKeeper, Consul and Eureka in the `kit-sd-*` crates.
//!
//! Retries go around the balancer, as with Go kit's `lb.Retry`: each attempt asks the
//! balancer again, so a failed attempt goes to another instance.
//!
//! # Cost per call
//!
//! A call through a [`Balanced`] endpoint allocates nothing, and its cost does not grow with
//! the number of instances: the pick reads the flags of the instances it lands on, not of
//! every instance. Measured with callgrind over an in-memory endpoint (`benches/README.md`,
//! variants `balanced-*`): round robin adds about 700 instructions (about 155 ns on this
//! machine) to the call, and power of two choices about 1,100 (about 225 ns), at 3, 100
//! and 10,000 instances alike; at 10,000, random picks and p2c take about 15% longer for
//! cache misses.
//!
//! ```
//! use std::time::Duration;
//! use kit::middleware::{self, retry::RetryPolicy};
//! use kit::sd::{Balanced, Endpointer, Instance, Instancer, RoundRobin};
//! use kit::{endpoint_fn, Context, Endpoint, Error};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let instancer = Instancer::fixed(["10.0.0.1:8080", "10.0.0.2:8080"].map(Instance::from));
//! // A real factory returns a transport's client for the address.
//! let factory = |instance: &Instance| {
//!     let addr = instance.addr().to_owned();
//!     Ok(endpoint_fn(move |_ctx: Context, _req: ()| {
//!         let addr = addr.clone();
//!         async move { Ok::<_, Error>(addr) }
//!     }))
//! };
//! let balanced = Balanced::new(Endpointer::new(&instancer, factory), RoundRobin::new());
//! let client = middleware::chain()
//!     .retry(RetryPolicy::default().max_attempts(3).timeout(Duration::from_millis(500)))
//!     .endpoint(balanced);
//! assert_eq!(client.call(Context::background(), ()).await.unwrap(), "10.0.0.1:8080");
//! assert_eq!(client.call(Context::background(), ()).await.unwrap(), "10.0.0.2:8080");
//! # }
//! ```

mod balanced;
mod balancer;
mod endpointer;
mod instance;
mod instancer;
mod registrar;
mod stats;

pub use balanced::Balanced;
pub use balancer::{Balancer, Candidates, P2c, Random, RoundRobin};
pub use endpointer::{Closing, Endpointer, EndpointerOptions, Endpoints, Factory};
pub use instance::Instance;
pub use instancer::{Event, Instancer, Publisher, Subscription};
pub use registrar::{BoxFuture, ManualRegistrar, Registrar};
pub use stats::{Entry, InstanceStats, OutlierDetection};

#[cfg(doc)]
use crate::Endpoint;
