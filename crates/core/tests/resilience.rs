//! Resilience, natively: the circuit breaker, the per-order refresh limit and KV repair.

use crate::support::FakeBlueDart;
use bluedart_sim::demo;
use chrono::Duration;
use pollster::block_on;
use tracking_core::access::Access;
use tracking_core::breaker::{BreakerSettings, GuardedCarrier};
use tracking_core::carrier::{Carrier, CarrierError};
use tracking_core::model::Source;
use tracking_core::model::Status;
use tracking_core::rules::budget::{Budget, Spent};
use tracking_core::runs::RunStatus;
use tracking_core::service::sync::SyncSettings;
use tracking_core::service::{TrackOutcome, snapshot_key};
use tracking_core::testing::{MemoryQueues, World};

const SETTINGS: BreakerSettings = BreakerSettings {
    threshold: 3,
    cooldown: Duration::seconds(60),
};

fn fake() -> FakeBlueDart {
    FakeBlueDart::with(demo::shipments())
}

/// A world whose store is also the breaker's.
fn world() -> World<FakeBlueDart> {
    let w = World::new(fake());
    w.shipped("ORD-1", "81234567890");
    w
}

fn guard(
    w: &World<FakeBlueDart>,
) -> GuardedCarrier<
    '_,
    &FakeBlueDart,
    tracking_core::testing::MemoryStore,
    tracking_core::testing::FixedClock,
    tracking_core::testing::MemoryLog,
> {
    GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS)
}

fn fail_calls(w: &World<FakeBlueDart>, calls: std::ops::RangeInclusive<usize>) {
    for call in calls {
        w.carrier
            .failures
            .borrow_mut()
            .insert(call, CarrierError::Unavailable { status: 503 });
    }
}

fn track(guard: &impl Carrier) -> Result<(), CarrierError> {
    block_on(guard.track(&["81234567890".to_owned()])).map(|_| ())
}

#[test]
fn repeated_failures_open_the_circuit_and_calls_stop() {
    let w = world();
    fail_calls(&w, 1..=3);
    let g = guard(&w);
    for _ in 0..3 {
        assert_eq!(track(&g), Err(CarrierError::Unavailable { status: 503 }));
    }
    assert_eq!(
        track(&g),
        Err(CarrierError::CircuitOpen {
            retry_after_secs: 60
        })
    );
    assert_eq!(w.carrier.calls.borrow().len(), 3, "no call while open");
    assert!(w.log.lines().iter().any(|l| l.starts_with(
        "WARN [BREAKER] Circuit open for 60 s after 3 failed calls in a row: Blue Dart is unavailable (HTTP 503)"
    )));
    // Another invocation sees the stored state.
    let other = guard(&w);
    assert!(matches!(
        track(&other),
        Err(CarrierError::CircuitOpen { .. })
    ));
    assert_eq!(w.carrier.calls.borrow().len(), 3);
}

#[test]
fn after_the_cool_down_one_trial_closes_or_reopens_it() {
    let w = world();
    fail_calls(&w, 1..=4);
    let g = guard(&w);
    for _ in 0..3 {
        let _ = track(&g);
    }
    w.clock.advance(Duration::seconds(61));
    // The trial fails: open again for another cool-down.
    let trial = guard(&w);
    assert_eq!(
        track(&trial),
        Err(CarrierError::Unavailable { status: 503 })
    );
    assert!(matches!(
        track(&trial),
        Err(CarrierError::CircuitOpen { .. })
    ));
    w.clock.advance(Duration::seconds(61));
    // This trial succeeds: closed for everyone.
    let trial = guard(&w);
    assert_eq!(track(&trial), Ok(()));
    assert_eq!(w.store.breaker_state().failures, 0);
    assert_eq!(w.store.breaker_state().open_until, None);
    assert_eq!(track(&guard(&w)), Ok(()));
    assert!(
        w.log
            .lines()
            .contains(&"[BREAKER] Blue Dart answered; circuit closed".to_owned())
    );
}

#[test]
fn only_one_invocation_gets_the_trial() {
    let w = world();
    fail_calls(&w, 1..=3);
    let g = guard(&w);
    for _ in 0..3 {
        let _ = track(&g);
    }
    // Two invocations both saw the circuit open…
    let (a, b) = (guard(&w), guard(&w));
    assert!(matches!(track(&a), Err(CarrierError::CircuitOpen { .. })));
    assert!(matches!(track(&b), Err(CarrierError::CircuitOpen { .. })));
    // …and both find the cool-down over: only the first to claim makes the trial call.
    w.clock.advance(Duration::seconds(61));
    assert_eq!(track(&a), Ok(()));
    assert!(matches!(track(&b), Err(CarrierError::CircuitOpen { .. })));
    assert_eq!(w.carrier.calls.borrow().len(), 4);
}

#[test]
fn a_success_resets_the_count_and_refusals_do_not_count() {
    let w = world();
    fail_calls(&w, 1..=2);
    let g = guard(&w);
    let _ = track(&g);
    let _ = track(&g);
    assert_eq!(track(&g), Ok(()));
    assert_eq!(w.store.breaker_state().failures, 0);
    fail_calls(&w, 4..=5);
    let _ = track(&g);
    let _ = track(&g);
    assert_eq!(
        w.store.breaker_state().failures,
        2,
        "two in a row is below the threshold"
    );
    assert_eq!(w.store.breaker_state().open_until, None);
}

#[test]
fn with_the_circuit_open_a_refresh_answers_from_the_cache_without_calling() {
    let w = world();
    fail_calls(&w, 1..=3);
    let g = guard(&w);
    for _ in 0..3 {
        let _ = track(&g);
    }
    let service = w.service_with(&g);
    let outcome =
        block_on(service.track("ORD-1", &Access::Customer("cust-1".into()), true)).unwrap();
    let TrackOutcome::Tracking { snapshot, source } = outcome else {
        panic!("expected tracking");
    };
    assert_eq!(
        source,
        Source::LiveFailed(
            "Blue Dart is temporarily unavailable (circuit open; retry in 60 s)".into()
        )
    );
    assert_eq!(snapshot.latest.unwrap().status, Status::InfoReceived);
    assert_eq!(w.carrier.calls.borrow().len(), 3);
}

#[test]
fn the_queued_sync_waits_out_an_open_circuit_instead_of_failing_everything() {
    let w = World::new(fake());
    for n in 0..6 {
        w.shipped(&format!("ORD-{n}"), &format!("8123456789{n}"));
    }
    fail_calls(&w, 1..=3);
    let g = guard(&w);
    let settings = sync_settings(1);
    let queues = MemoryQueues::default();
    let start = w.clock.0.get();
    block_on(w.service().enqueue_due(&settings, &queues, Spent::default));
    w.drain_with(
        &g,
        &settings,
        &queues,
        10,
        &Default::default(),
        &Spent::default,
    );
    let run = &w.store.runs()[0];
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!((run.failed, run.dead_lettered, run.succeeded), (3, 3, 3));
    assert_eq!(
        w.carrier.calls.borrow().len(),
        6,
        "no calls while open: three failures, then the trial and the rest"
    );
    assert!(
        w.clock.0.get() - start >= Duration::seconds(60),
        "the cool-down was waited out"
    );
    assert!(
        w.log.lines().contains(
            &"WARN [TRACKING SYNC] 3 messages handed back for later: Blue Dart's circuit is open"
                .to_owned()
        )
    );
}

/// A sync with no pauses, no retries and room in every budget.
fn sync_settings(batch_size: usize) -> SyncSettings {
    SyncSettings {
        batch_size,
        delay_ms: 0,
        max_per_run: 100,
        retries: 0,
        retry_base_ms: 0,
        budget: Budget {
            subrequests: 1000,
            d1_queries: 1000,
            kv_operations: 1000,
            wall_time: Duration::minutes(14),
        },
    }
}

fn refresh(w: &World<FakeBlueDart>) -> Source {
    match block_on(
        w.service()
            .track("ORD-1", &Access::Customer("cust-1".into()), true),
    )
    .unwrap()
    {
        TrackOutcome::Tracking { source, .. } => source,
        other => panic!("expected tracking, got {other:?}"),
    }
}

#[test]
fn a_refresh_inside_the_interval_is_answered_from_the_cache_with_a_hint() {
    let mut w = world();
    w.settings.refresh_interval = Duration::seconds(60);
    assert_eq!(refresh(&w), Source::Live);
    w.clock.advance(Duration::seconds(20));
    assert_eq!(
        refresh(&w),
        Source::RefreshLimited {
            retry_after_secs: 40
        }
    );
    assert_eq!(w.carrier.calls.borrow().len(), 1);
    w.clock.advance(Duration::seconds(41));
    assert_eq!(refresh(&w), Source::Live);
    assert_eq!(w.carrier.calls.borrow().len(), 2);
}

#[test]
fn a_standing_claim_refuses_a_second_refresh_even_before_the_first_saves() {
    let mut w = world();
    w.settings.refresh_interval = Duration::seconds(60);
    // Another request claimed the refresh but has not synced yet (or failed).
    w.carrier
        .failures
        .borrow_mut()
        .insert(1, CarrierError::Connection);
    assert!(matches!(refresh(&w), Source::LiveFailed(_)));
    w.clock.advance(Duration::seconds(5));
    assert_eq!(
        refresh(&w),
        Source::RefreshLimited {
            retry_after_secs: 55
        }
    );
    assert_eq!(
        w.carrier.calls.borrow().len(),
        1,
        "a failed refresh still spends the claim"
    );
}

#[test]
fn a_failed_kv_write_is_noted_and_the_next_sync_repairs_it() {
    let w = world();
    w.kv.failing.set(true);
    assert_eq!(refresh(&w), Source::Live);
    assert_eq!(w.store.kv_repairs(), ["ORD-1"]);
    w.kv.failing.set(false);
    // The next cron firing repairs before it enqueues anything.
    block_on(
        w.service()
            .enqueue_due(&sync_settings(10), &MemoryQueues::default(), Spent::default),
    );
    assert!(w.store.kv_repairs().is_empty());
    let cached = w.kv.entries.borrow()[&snapshot_key("ORD-1")].clone();
    assert!(
        cached.0.contains("out_for_delivery"),
        "KV holds the synced state"
    );
    assert_eq!(
        cached.1,
        Some(86_400),
        "snapshots expire, bounding any staleness"
    );
    assert!(
        w.log
            .lines()
            .contains(&"[CACHE] Repaired 1 KV snapshots".to_owned())
    );
}
