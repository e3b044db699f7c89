//! The in-process cost of kit's endpoint machinery.
//!
//! Every case calls the same trivial endpoint (adding two `i64`s with an overflow check,
//! see `kit_benches::sum`), awaited on a current-thread tokio runtime, so the time per call
//! is almost all machinery: the bare `endpoint_fn`, 5 no-op kit middlewares in the two
//! shapes real middleware takes, a `BoxEndpoint`, the tower bridge
//! (`service_endpoint(endpoint.into_service())`) and the bridge with 5 pass-through tower
//! layers. They share one criterion group so the report puts them side by side; the
//! question is how each compares with `bare`, not the absolute nanoseconds, which depend
//! on the machine.
//!
//! Allocations per call are counted separately by `benches/alloc-count.sh` (a counting
//! global allocator would need `unsafe`, which the workspace forbids).
//!
//! Run with `cargo bench -p kit-benches --bench endpoint`; it takes about half a minute.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kit::Endpoint;
use kit_benches::{
    BALANCED_SIZES, SumRequest, balanced, bare, boxed, call_once, chain5_async, chain5_forward,
    production, tower_bridge, tower_chain5, tower_production,
};
use tokio::runtime::Runtime;

fn endpoint_overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building a current-thread runtime");
    let mut group = c.benchmark_group("endpoint_call");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    bench(&mut group, &rt, "bare", bare());
    bench(&mut group, &rt, "chain5-async", chain5_async());
    bench(&mut group, &rt, "chain5-forward", chain5_forward());
    bench(&mut group, &rt, "boxed", boxed());
    bench(&mut group, &rt, "tower-bridge", tower_bridge());
    bench(&mut group, &rt, "tower-chain5", tower_chain5());
    bench(&mut group, &rt, "production", production());
    bench(&mut group, &rt, "tower-production", tower_production());
    for instances in BALANCED_SIZES {
        let name = |policy: &str| format!("balanced-{policy}-{instances}");
        let rr = balanced(kit::sd::RoundRobin::new(), instances);
        bench(&mut group, &rt, &name("rr"), rr);
        let random = balanced(kit::sd::Random::new(), instances);
        bench(&mut group, &rt, &name("random"), random);
        let p2c = balanced(kit::sd::P2c::new(), instances);
        bench(&mut group, &rt, &name("p2c"), p2c);
    }
    // Request metrics recording into Prometheus's recorder (installed for this process;
    // the variants above record nothing).
    kit_benches::install_prometheus();
    bench(&mut group, &rt, "instrumented", kit_benches::instrumented());

    group.finish();
}

fn bench<E>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    name: &str,
    endpoint: E,
) where
    E: Endpoint<SumRequest, Response = i64>,
{
    // Check the variant computes the right thing before timing it.
    assert_eq!(
        rt.block_on(call_once(&endpoint)),
        3,
        "{name} returned a wrong sum"
    );
    group.bench_function(name, |b| b.to_async(rt).iter(|| call_once(&endpoint)));
}

criterion_group!(benches, endpoint_overhead);
criterion_main!(benches);
