//! The tokio runtime a kit service runs on, chosen by the CPUs it may use.
//!
//! On one CPU (a container limited to one core, or a process pinned with `taskset`), tokio's
//! multi-thread scheduler only adds cross-thread wake-ups: with tonic it was measured to cost
//! about 40% of gRPC throughput against a current-thread runtime. With more CPUs, the
//! multi-thread scheduler spreads connections over them. [`build`] picks accordingly, so
//! every kit binary (and the baselines it is benchmarked against) makes the same choice.
//!
//! ```
//! let runtime = kit::runtime::build().expect("a runtime");
//! assert_eq!(runtime.block_on(async { 1 + 1 }), 2);
//! ```

use std::io;
use std::num::NonZeroUsize;

use tokio::runtime::{Builder, Runtime};

/// How many CPUs this process may run on (its affinity mask and cgroup quota included).
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// A runtime with I/O and timers enabled: current-thread when [`available_cpus`] is 1,
/// multi-thread with one worker per CPU otherwise.
pub fn build() -> io::Result<Runtime> {
    let mut builder = if available_cpus() == 1 {
        Builder::new_current_thread()
    } else {
        Builder::new_multi_thread()
    };
    builder.enable_all().build()
}
