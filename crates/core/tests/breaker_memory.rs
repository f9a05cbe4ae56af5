//! The breaker state an isolate keeps in memory: a refresh reads no D1 row for it while it is
//! recent, failures still reach D1 so other isolates open too, a healthy success still writes
//! nothing, and another isolate's open circuit is noticed within `MEMORY_MAX_AGE_SECS`.

mod support;

use std::rc::Rc;

use bluedart_sim::demo;
use chrono::Duration;
use pollster::block_on;
use support::FakeBlueDart;
use tracking_core::breaker::{BreakerMemory, BreakerSettings, GuardedCarrier, MEMORY_MAX_AGE_SECS};
use tracking_core::carrier::{Carrier, CarrierError};
use tracking_core::testing::World;

const SETTINGS: BreakerSettings = BreakerSettings {
    threshold: 2,
    cooldown: Duration::seconds(60),
};

fn world() -> World<FakeBlueDart> {
    let w = World::new(FakeBlueDart::with(demo::shipments()));
    w.shipped("ORD-1", "81234567890");
    w
}

/// One invocation's carrier in the isolate whose memory is `memory`.
fn invocation<'a>(
    w: &'a World<FakeBlueDart>,
    memory: &Rc<BreakerMemory>,
) -> impl Carrier + use<'a> {
    GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS)
        .with_memory(memory.clone())
}

fn track(guard: &impl Carrier) -> Result<(), CarrierError> {
    block_on(guard.track(&["81234567890".to_owned()])).map(|_| ())
}

const DOWN: CarrierError = CarrierError::Unavailable { status: 503 };

#[test]
fn a_recent_look_spares_the_next_invocations_the_d1_read() {
    let w = world();
    let isolate = Rc::new(BreakerMemory::default());
    for _ in 0..3 {
        assert_eq!(track(&invocation(&w, &isolate)), Ok(()));
        w.clock.advance(Duration::seconds(1));
    }
    assert_eq!(
        w.store.count("breaker"),
        1,
        "one read for three invocations"
    );
    assert_eq!(
        w.store.count("record_success"),
        0,
        "healthy: nothing written"
    );
    // Once the memory is older than its bound, D1 is read again.
    w.clock.advance(Duration::seconds(MEMORY_MAX_AGE_SECS));
    assert_eq!(track(&invocation(&w, &isolate)), Ok(()));
    assert_eq!(w.store.count("breaker"), 2);
}

#[test]
fn without_shared_memory_every_invocation_reads_d1() {
    let w = world();
    for _ in 0..3 {
        let g = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
        assert_eq!(track(&g), Ok(()));
    }
    assert_eq!(w.store.count("breaker"), 3);
}

#[test]
fn failures_still_reach_d1_and_the_isolate_remembers_the_open_circuit() {
    let w = world();
    let isolate = Rc::new(BreakerMemory::default());
    for call in 1..=2 {
        w.carrier.failures.borrow_mut().insert(call, DOWN);
    }
    assert_eq!(track(&invocation(&w, &isolate)), Err(DOWN));
    assert_eq!(track(&invocation(&w, &isolate)), Err(DOWN));
    assert_eq!(w.store.count("record_failure"), 2);
    assert!(w.store.breaker_state().open_until.is_some(), "open in D1");
    // The next invocation refuses at once, from memory: no carrier call, no D1 read.
    let reads = w.store.count("breaker");
    assert!(matches!(
        track(&invocation(&w, &isolate)),
        Err(CarrierError::CircuitOpen { .. })
    ));
    assert_eq!(w.store.count("breaker"), reads);
    assert_eq!(w.carrier.calls.borrow().len(), 2);
}

#[test]
fn another_isolates_open_circuit_is_noticed_within_the_bound() {
    let w = world();
    let here = Rc::new(BreakerMemory::default());
    let there = Rc::new(BreakerMemory::default());
    assert_eq!(track(&invocation(&w, &here)), Ok(()));
    for call in 2..=3 {
        w.carrier.failures.borrow_mut().insert(call, DOWN);
    }
    assert_eq!(track(&invocation(&w, &there)), Err(DOWN));
    assert_eq!(track(&invocation(&w, &there)), Err(DOWN));
    assert!(w.store.breaker_state().open_until.is_some());
    // Within the bound this isolate still trusts its closed view and calls.
    w.clock.advance(Duration::seconds(MEMORY_MAX_AGE_SECS - 1));
    assert_eq!(track(&invocation(&w, &here)), Ok(()));
    // Having seen no failure, this isolate writes nothing for that success: D1 stays open.
    assert_eq!(w.store.count("record_success"), 0);
    w.clock.advance(Duration::seconds(1));
    let calls = w.carrier.calls.borrow().len();
    assert!(matches!(
        track(&invocation(&w, &here)),
        Err(CarrierError::CircuitOpen { .. })
    ));
    assert_eq!(
        w.carrier.calls.borrow().len(),
        calls,
        "no call once noticed"
    );
}

#[test]
fn an_unreadable_state_is_not_remembered() {
    let w = world();
    let isolate = Rc::new(BreakerMemory::default());
    w.store.failing.set(true);
    assert_eq!(track(&invocation(&w, &isolate)), Ok(()), "fails open");
    w.store.failing.set(false);
    assert_eq!(track(&invocation(&w, &isolate)), Ok(()));
    assert_eq!(
        w.store.count("breaker"),
        2,
        "the second invocation reads D1 again"
    );
}
