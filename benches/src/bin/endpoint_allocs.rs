//! Drives one endpoint variant for a given number of calls, for counting its heap
//! allocations from outside the process.
//!
//! Usage: `endpoint-allocs VARIANT CALLS` (variants: `bare`, `chain5-async`,
//! `chain5-forward`, `boxed`, `tower-bridge`, `tower-chain5`; see `kit_benches`).
//!
//! The workspace forbids `unsafe`, so a counting `#[global_allocator]` is out of reach;
//! instead `benches/alloc-count.sh` runs this binary under `valgrind --tool=dhat` with N and
//! 2N calls and divides the difference in allocated blocks by N. Set-up allocations (the
//! runtime, the endpoint itself, lazily initialised thread-locals) are the same in both
//! runs and cancel out.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(variant), Some(calls), None) = (args.next(), args.next(), args.next()) else {
        return usage();
    };
    let Ok(calls) = calls.parse::<u64>() else {
        return usage();
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building a current-thread runtime");
    match rt.block_on(kit_benches::run_variant(&variant, calls)) {
        Some(total) => {
            println!("variant={variant} calls={calls} total={total}");
            ExitCode::SUCCESS
        }
        None => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: endpoint-allocs VARIANT CALLS\nvariants: {}",
        kit_benches::VARIANTS.join(" ")
    );
    ExitCode::from(2)
}
