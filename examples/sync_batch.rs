//! The sync batch's CPU workload (the benchmarks': a 50-waybill answer read, every
//! order's writes planned, the D1 batch's parameters encoded), run N times in one process, for
//! instruction counts, which unlike timings do not move with the machine's load:
//!
//! ```sh
//! cargo build --release --example sync_batch
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/sync_batch batch 100
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/sync_batch batch 0
//! ```
//!
//! The difference over N is one batch; `tokenise` instead of `batch` counts the floor.

#[path = "../benches/workload.rs"]
mod workload;

use std::hint::black_box;

use shipment_tracker::bench_cpu::{stored, sync_batch, tokenise};

fn main() {
    let mut args = std::env::args().skip(1);
    let work = args.next().unwrap_or_else(|| "batch".into());
    let times: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);
    let (xml, awbs) = workload::answer();
    let before = stored(&awbs, &xml);
    let work_done: usize = (0..times)
        .map(|_| match work.as_str() {
            "tokenise" => tokenise(black_box(&xml)),
            _ => sync_batch(black_box(&xml), &awbs, &before),
        })
        .sum();
    black_box(work_done);
    println!("{work} × {times}");
}
