//! A customer's refresh on a platform that works after answering: the answer waits for the
//! carrier call and the D1 save only, and the save notes that KV will hold the new snapshot;
//! the KV copy follows the answer, and a failed KV write is still noted for repair.

use crate::support::FakeBlueDart;
use bluedart_sim::demo;
use chrono::Duration;
use pollster::block_on;
use tracking_core::access::Access;
use tracking_core::model::{Snapshot, Source};
use tracking_core::ports::{Clock, KvRepairs};
use tracking_core::service::{Deferred, TrackOutcome, TrackingService, snapshot_key};
use tracking_core::testing::World;

fn world() -> World<FakeBlueDart> {
    let w = World::new(FakeBlueDart::with(demo::shipments()));
    w.shipped("ORD-1", "81234567890");
    w
}

/// A customer's forceRefresh through a service that defers its KV write to `deferred`.
fn refresh(w: &World<FakeBlueDart>, deferred: &Deferred) -> Snapshot {
    let service = TrackingService {
        deferred: Some(deferred),
        ..w.service()
    };
    let access = Access::Customer("cust-1".into());
    match block_on(service.track("ORD-1", &access, true)).unwrap() {
        TrackOutcome::Tracking { snapshot, source } => {
            assert_eq!(source, Source::Live);
            *snapshot
        }
        other => panic!("expected tracking, got {other:?}"),
    }
}

fn kv_snapshot(w: &World<FakeBlueDart>) -> Option<Snapshot> {
    let entries = w.kv.entries.borrow();
    let (value, _) = entries.get(&snapshot_key("ORD-1"))?;
    serde_json::from_str(value).ok()
}

/// The orders D1 says KV holds now.
fn held(w: &World<FakeBlueDart>) -> Vec<String> {
    block_on(w.store.held_in_kv(&["ORD-1".into()], w.clock.now())).unwrap()
}

#[test]
fn the_answer_waits_for_the_save_only_and_kv_follows_it() {
    let w = world();
    let booked = kv_snapshot(&w).expect("attaching the waybill cached the booked state");
    // Past the booked copy's time in KV, as D1 noted it.
    w.clock
        .advance(Duration::seconds(w.settings.cache_ttl_secs as i64 + 1));
    assert!(held(&w).is_empty());
    let (writes, noted) = (w.kv.writes.get(), w.store.count("note_cached"));
    let deferred = Deferred::default();
    let live = refresh(&w, &deferred);
    assert_ne!(live.latest, booked.latest, "the carrier had news");
    assert_eq!(w.store.count("save_syncs"), 1);
    // Before the answer: no KV write; the save itself noted that KV will hold the snapshot.
    assert_eq!(w.kv.writes.get(), writes);
    assert_eq!(held(&w), ["ORD-1"]);
    let waiting = deferred.take();
    assert_eq!(waiting, vec![live.clone()]);
    assert!(deferred.take().is_empty(), "taken once");
    // After the answer: the same snapshot lands in KV, with no D1 write of its own.
    block_on(w.service().cache_deferred(&waiting));
    assert_eq!(w.kv.writes.get(), writes + 1);
    assert_eq!(w.store.count("note_cached"), noted);
    assert_eq!(kv_snapshot(&w), Some(live));
}

#[test]
fn a_failed_write_after_the_answer_is_noted_for_repair() {
    let w = world();
    let deferred = Deferred::default();
    refresh(&w, &deferred);
    w.kv.failing_puts.set(true);
    block_on(w.service().cache_deferred(&deferred.take()));
    assert_eq!(w.store.count("mark_kv_stale"), 1);
    assert!(
        w.log
            .lines()
            .iter()
            .any(|l| l.starts_with("WARN [CACHE] KV write for order ORD-1 failed"))
    );
}

#[test]
fn without_deferral_the_refresh_writes_kv_before_answering() {
    let w = world();
    let live = match block_on(
        w.service()
            .track("ORD-1", &Access::Customer("cust-1".into()), true),
    )
    .unwrap()
    {
        TrackOutcome::Tracking { snapshot, .. } => *snapshot,
        other => panic!("expected tracking, got {other:?}"),
    };
    assert_eq!(kv_snapshot(&w), Some(live));
}
