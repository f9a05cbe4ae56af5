//! What the circuit breaker counts: failures that say something about Blue Dart's health, and
//! nothing else. Written against deliberate bugs no other test noticed (issue 18). And the
//! state an isolate keeps in memory: a refresh reads no D1 row for it while it is recent,
//! failures still reach D1 so other isolates open too, a healthy success still writes nothing,
//! and another isolate's open circuit is noticed within `MEMORY_MAX_AGE_SECS`.

use std::rc::Rc;

use crate::support::FakeBlueDart;
use bluedart_sim::demo;
use chrono::Duration;
use pollster::block_on;
use tracking_core::breaker::{BreakerMemory, BreakerSettings, GuardedCarrier, MEMORY_MAX_AGE_SECS};
use tracking_core::carrier::{Carrier, CarrierError};
use tracking_core::ports::Clock;
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

fn fail_with(w: &World<FakeBlueDart>, calls: std::ops::RangeInclusive<usize>, e: CarrierError) {
    for call in calls {
        w.carrier.failures.borrow_mut().insert(call, e.clone());
    }
}

fn track(guard: &impl Carrier) -> Result<(), CarrierError> {
    block_on(guard.track(&["81234567890".to_owned()])).map(|_| ())
}

fn refusal() -> CarrierError {
    CarrierError::Refused {
        code: "ERR-PIN".into(),
        message: "Pincode not serviceable".into(),
    }
}

#[test]
fn refusals_of_the_request_do_not_count_against_blue_dart() {
    let w = world();
    fail_with(&w, 1..=4, refusal());
    let g = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    for _ in 0..4 {
        assert_eq!(track(&g), Err(refusal()));
    }
    assert_eq!(w.store.breaker_state().failures, 0);
    assert_eq!(w.store.breaker_state().open_until, None);
    // Still closed: the fifth call is made and answers.
    assert_eq!(track(&g), Ok(()));
    assert_eq!(w.carrier.calls.borrow().len(), 5);
    assert!(!w.log.lines().iter().any(|l| l.contains("[BREAKER]")));
}

#[test]
fn a_single_success_after_a_failure_clears_the_stored_count() {
    let w = world();
    fail_with(&w, 1..=1, CarrierError::Unavailable { status: 503 });
    let g = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    assert!(track(&g).is_err());
    assert_eq!(w.store.breaker_state().failures, 1);
    assert_eq!(track(&g), Ok(()));
    assert_eq!(w.store.breaker_state().failures, 0);
    // Had the count stayed, one more failure (threshold 2) would open the circuit.
    fail_with(&w, 3..=3, CarrierError::Unavailable { status: 503 });
    let other = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    assert!(track(&other).is_err());
    assert_eq!(w.store.breaker_state().open_until, None);
    assert_eq!(track(&other), Ok(()));
    assert_eq!(w.carrier.calls.borrow().len(), 4);
}

#[test]
fn the_circuit_stays_open_until_the_cool_down_has_fully_passed() {
    let w = world();
    fail_with(&w, 1..=2, CarrierError::Unavailable { status: 503 });
    let g = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    let _ = track(&g);
    let _ = track(&g);
    w.clock.advance(Duration::seconds(59));
    // Two invocations see it open one second before the end of the cool-down…
    let first = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    let second = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    for g in [&first, &second] {
        assert_eq!(
            track(g),
            Err(CarrierError::CircuitOpen {
                retry_after_secs: 1
            })
        );
    }
    // …and exactly at its end: one trial, claimed once.
    w.clock.advance(Duration::seconds(1));
    assert_eq!(track(&first), Ok(()));
    assert_eq!(
        track(&second),
        Err(CarrierError::CircuitOpen {
            retry_after_secs: 60
        })
    );
    assert_eq!(w.carrier.calls.borrow().len(), 3);
    assert!(
        w.log
            .lines()
            .contains(&"[BREAKER] Trying Blue Dart again after the cool-down".to_owned())
    );
}

/// The trial claims the next cool-down, not a moment in the past: while the trial has not
/// told whether Blue Dart is back (here it was refused, which says nothing either way), no
/// other invocation gets a trial of its own.
#[test]
fn a_claimed_trial_holds_the_circuit_for_another_cool_down() {
    let w = world();
    fail_with(&w, 1..=2, CarrierError::Unavailable { status: 503 });
    fail_with(&w, 3..=3, refusal());
    let g = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    let _ = track(&g);
    let _ = track(&g);
    w.clock.advance(Duration::seconds(60));
    let trial_at = w.clock.now();
    let first = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    assert_eq!(track(&first), Err(refusal()));
    assert_eq!(
        w.store.breaker_state().open_until,
        Some(trial_at + Duration::seconds(60))
    );
    let second = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    assert_eq!(
        track(&second),
        Err(CarrierError::CircuitOpen {
            retry_after_secs: 60
        })
    );
    assert_eq!(w.carrier.calls.borrow().len(), 3);
}

#[test]
fn a_healthy_success_writes_nothing_to_the_store() {
    let w = world();
    let g = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    assert_eq!(track(&g), Ok(()));
    assert_eq!(track(&g), Ok(()));
    assert_eq!(w.store.count("record_success"), 0, "no failures to clear");
}

#[test]
fn with_the_store_down_the_invocation_still_counts_and_opens_for_itself() {
    let w = world();
    fail_with(&w, 1..=3, CarrierError::Unavailable { status: 503 });
    w.store.failing.set(true);
    let g = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    // Fail open on the unreadable state, count locally: open after `threshold` (2) failures.
    assert_eq!(track(&g), Err(CarrierError::Unavailable { status: 503 }));
    assert_eq!(track(&g), Err(CarrierError::Unavailable { status: 503 }));
    assert_eq!(
        track(&g),
        Err(CarrierError::CircuitOpen {
            retry_after_secs: 60
        })
    );
    assert_eq!(w.carrier.calls.borrow().len(), 2);
}

#[test]
fn a_waybill_request_goes_through_the_breaker_and_its_answer_comes_back() {
    use tracking_core::carrier::{Consignee, WaybillRequest};
    use tracking_core::testing::ScriptedCarrier;
    let w = World::new(ScriptedCarrier::default());
    w.carrier
        .waybills
        .borrow_mut()
        .push_back(Ok("69000000001".into()));
    let g = GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS);
    let request = WaybillRequest {
        order_id: "ORD-1".into(),
        consignee: Consignee {
            name: "ASHA MENON".into(),
            address: ["1".into(), "2".into(), "3".into()],
            pincode: "682031".into(),
            mobile: "9847012345".into(),
        },
        weight_kg: 0.5,
        pieces: 1,
        declared_value: 100.0,
        cod_amount: 0.0,
        product_code: "A".into(),
        pickup_at: w.clock.0.get(),
    };
    assert_eq!(
        block_on(g.generate_waybill(&request)),
        Ok("69000000001".to_owned())
    );
}

#[test]
fn the_booked_entry_is_placed_in_india() {
    let booked = tracking_core::model::TrackingEvent::booked("81234567890", chrono::Utc::now());
    assert_eq!(booked.location.country, "IN");
    assert_eq!(booked.location.city, "");
}

// The isolate's memory of the state.

/// One invocation's carrier in the isolate whose memory is `memory`.
fn invocation<'a>(
    w: &'a World<FakeBlueDart>,
    memory: &Rc<BreakerMemory>,
) -> impl Carrier + use<'a> {
    GuardedCarrier::new(&w.carrier, &w.store, &w.clock, &w.log, SETTINGS)
        .with_memory(memory.clone())
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
