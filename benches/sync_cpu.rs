//! CPU per synced shipment, natively: the domain path for one Blue Dart answer about 50 waybills
//! (parse, normalise, merge against stored history, encode the D1 batch's parameters) against
//! the floor, bare tokenising of the same bytes with the same XML reader. The workload is
//! `shipment_tracker::bench_cpu`'s (feature `bench-cpu`), which the runtime bench also runs in wasm.
//!
//! `cargo bench --bench sync_cpu`; `npm run bench` reads criterion's estimates from
//! `target/criterion/sync_cpu/*/new/estimates.json` into its report.

use std::hint::black_box;

#[path = "workload.rs"]
mod workload;

use criterion::{Criterion, criterion_group, criterion_main};
use shipment_tracker::bench_cpu::{stored, sync_batch, tokenise};
use workload::answer;

fn benches(c: &mut Criterion) {
    let (xml, awbs) = answer();
    let before = stored(&awbs, &xml);
    assert!(sync_batch(&xml, &awbs, &before) > 0);
    let mut group = c.benchmark_group("sync_cpu");
    group.bench_function("tokenise_50", |b| b.iter(|| tokenise(black_box(&xml))));
    group.bench_function("sync_batch_50", |b| {
        b.iter(|| sync_batch(black_box(&xml), &awbs, &before))
    });
    group.finish();
}

criterion_group!(sync_cpu, benches);
criterion_main!(sync_cpu);
