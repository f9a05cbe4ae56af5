//! Security hardening (issue 17), natively, with in-memory ports: what a customer can make the
//! worker do to D1, what a customer can learn, what an ownership change does to KV, how often
//! admins' looks call Blue Dart and write KV, and what a generated waybill must look like.

use crate::support::FakeBlueDart;
use bluedart_sim::demo;
use chrono::Duration;
use pollster::block_on;
use tracking_core::access::Access;
use tracking_core::carrier::{CarrierError, Consignee, WaybillRequest};
use tracking_core::model::Source;
use tracking_core::ports::{OrderInput, SyncStore};
use tracking_core::rules::budget::Spent;
use tracking_core::runs::Trigger;
use tracking_core::service::{
    ABSENT, ABSENT_TTL_SECS, Background, ServiceError, TrackOutcome, claim_key, snapshot_key,
};
use tracking_core::testing::{ScriptedCarrier, World};

fn world() -> World<FakeBlueDart> {
    let mut w = World::new(FakeBlueDart::with(demo::shipments()));
    w.settings.refresh_interval = Duration::seconds(60);
    w.shipped("ORD-1", "81234567890");
    w
}

fn customer(id: &str) -> Access {
    Access::Customer(id.into())
}

fn track(
    w: &World<FakeBlueDart>,
    order: &str,
    who: &str,
    refresh: bool,
) -> Result<TrackOutcome, ServiceError> {
    block_on(w.service().track(order, &customer(who), refresh))
}

fn source(outcome: Result<TrackOutcome, ServiceError>) -> Source {
    match outcome {
        Ok(TrackOutcome::Tracking { source, .. }) => source,
        other => panic!("expected tracking, got {other:?}"),
    }
}

/// ORD-1's first refresh claims, then Blue Dart fails: nothing synced, the claim stands.
fn claim_and_fail(w: &World<FakeBlueDart>) {
    w.carrier
        .failures
        .borrow_mut()
        .insert(1, CarrierError::Connection);
    assert!(matches!(
        source(track(w, "ORD-1", "cust-1", true)),
        Source::LiveFailed(_)
    ));
}

/// D1 operations since the world was set up.
fn d1_calls(w: &World<FakeBlueDart>) -> Vec<&'static str> {
    w.store.calls.borrow().clone()
}

fn order_for(customer: &str) -> OrderInput {
    OrderInput {
        customer_id: customer.into(),
        order_status: "Shipped".into(),
        created_at: None,
        awb_no: None,
    }
}

// Item 2: any customer could push reads and writes onto D1 with forceRefresh.

#[test]
fn refreshing_another_customers_order_touches_neither_d1_nor_blue_dart() {
    let w = world();
    let before = d1_calls(&w);
    for _ in 0..5 {
        assert_eq!(
            track(&w, "ORD-1", "cust-2", true),
            Err(ServiceError::NotFound)
        );
    }
    assert_eq!(d1_calls(&w), before, "authorised from the KV snapshot");
    assert!(w.carrier.calls.borrow().is_empty());
}

#[test]
fn an_unknown_order_id_is_looked_up_in_d1_once_then_remembered_briefly() {
    let w = world();
    let before = w.store.count("snapshots");
    for refresh in [true, false, true, true] {
        assert_eq!(
            track(&w, "ORD-404", "cust-1", refresh),
            Err(ServiceError::NotFound)
        );
    }
    assert_eq!(w.store.count("snapshots"), before + 1);
    assert_eq!(
        w.kv.entries.borrow()[&snapshot_key("ORD-404")],
        (ABSENT.to_owned(), Some(ABSENT_TTL_SECS)),
        "a negative entry, for KV's shortest TTL"
    );
    // Creating the order replaces the negative entry at once.
    block_on(w.service().put_order("ORD-404", &order_for("cust-1"))).unwrap();
    assert!(matches!(
        track(&w, "ORD-404", "cust-1", false),
        Ok(TrackOutcome::NoAwb(_))
    ));
}

#[test]
fn a_refresh_inside_the_interval_is_refused_from_kv_without_d1() {
    let w = world();
    assert_eq!(source(track(&w, "ORD-1", "cust-1", true)), Source::Live);
    w.clock.advance(Duration::seconds(20));
    let before = d1_calls(&w);
    assert_eq!(
        source(track(&w, "ORD-1", "cust-1", true)),
        Source::RefreshLimited {
            retry_after_secs: 40
        }
    );
    assert_eq!(d1_calls(&w), before, "no D1 read, no claim");
    assert_eq!(w.carrier.calls.borrow().len(), 1);
}

/// An order synced moments ago by someone else (an admin's sync writes no claim key) is not
/// refreshed again: the snapshot's sync time alone refuses it.
#[test]
fn a_recent_sync_refuses_a_refresh_even_without_a_claim_key() {
    let w = world();
    block_on(
        w.service()
            .sync_order("ORD-1", Trigger::Manual, Spent::default),
    )
    .unwrap();
    assert!(!w.kv.entries.borrow().contains_key(&claim_key("ORD-1")));
    w.clock.advance(Duration::seconds(20));
    assert_eq!(
        source(track(&w, "ORD-1", "cust-1", true)),
        Source::RefreshLimited {
            retry_after_secs: 40
        }
    );
    assert_eq!(w.carrier.calls.borrow().len(), 1);
}

/// Each order has a claim of its own: refreshing one holds back no other.
#[test]
fn a_refresh_claims_its_own_order_only() {
    let w = world();
    w.shipped("ORD-2", "81234567891");
    assert_eq!(source(track(&w, "ORD-1", "cust-1", true)), Source::Live);
    assert_eq!(source(track(&w, "ORD-2", "cust-1", true)), Source::Live);
    assert_eq!(w.carrier.calls.borrow().len(), 2);
    assert_ne!(claim_key("ORD-1"), claim_key("ORD-2"));
    assert!(claim_key("ORD-1").contains("ORD-1"));
}

/// A claim exactly one interval old has expired: the next refresh goes live.
#[test]
fn a_claim_one_interval_old_no_longer_holds() {
    let w = world();
    claim_and_fail(&w);
    w.clock.advance(Duration::seconds(60));
    assert_eq!(source(track(&w, "ORD-1", "cust-1", true)), Source::Live);
    assert_eq!(w.carrier.calls.borrow().len(), 2);
}

/// A KV entry under one order's key that holds another order is not trusted: the answer comes
/// from D1 for the order asked about.
#[test]
fn a_snapshot_of_another_order_under_this_key_is_not_served() {
    let w = world();
    w.shipped("ORD-2", "81234567891");
    let other = w.kv.entries.borrow()[&snapshot_key("ORD-2")].clone();
    w.kv.entries
        .borrow_mut()
        .insert(snapshot_key("ORD-1"), other);
    match track(&w, "ORD-1", "cust-1", false) {
        Ok(TrackOutcome::Tracking { snapshot, .. }) => {
            assert_eq!(
                (snapshot.order.id.as_str(), snapshot.order.awb_no.as_deref()),
                ("ORD-1", Some("81234567890"))
            )
        }
        other => panic!("expected ORD-1's tracking, got {other:?}"),
    }
}

#[test]
fn a_claim_seen_in_kv_refuses_a_refresh_without_d1() {
    let w = world();
    claim_and_fail(&w);
    assert!(w.kv.entries.borrow().contains_key(&claim_key("ORD-1")));
    w.clock.advance(Duration::seconds(5));
    let before = d1_calls(&w);
    for _ in 0..10 {
        assert_eq!(
            source(track(&w, "ORD-1", "cust-1", true)),
            Source::RefreshLimited {
                retry_after_secs: 55
            }
        );
    }
    assert_eq!(d1_calls(&w), before);
    assert_eq!(w.carrier.calls.borrow().len(), 1);
}

#[test]
fn the_d1_claim_still_decides_when_kv_has_not_seen_it() {
    let w = world();
    // Another instance claimed a moment ago; its KV write has not reached this one.
    let now = w.clock.0.get();
    assert_eq!(
        block_on(
            w.store
                .claim_refresh("ORD-1", now, now - Duration::seconds(60))
        ),
        Ok(None)
    );
    w.clock.advance(Duration::seconds(2));
    let reads = w.store.count("snapshots");
    assert_eq!(
        source(track(&w, "ORD-1", "cust-1", true)),
        Source::RefreshLimited {
            retry_after_secs: 58
        }
    );
    assert!(w.carrier.calls.borrow().is_empty(), "single flight holds");
    assert_eq!(
        w.store.count("snapshots"),
        reads,
        "the loser reads no history"
    );
}

#[test]
fn a_refresh_that_wins_the_claim_goes_live_with_no_d1_read() {
    let w = world();
    let before = d1_calls(&w);
    assert_eq!(source(track(&w, "ORD-1", "cust-1", true)), Source::Live);
    // The claim and the save from KV's copy (which notes that KV will hold the snapshot): no
    // D1 read while D1 holds that copy, no look at what KV holds, no KV budget taken, no D1
    // write after the save.
    assert_eq!(
        d1_calls(&w)[before.len()..],
        ["claim_refresh", "save_syncs"]
    );
}

// Item 7: a reassigned order stayed readable by its old owner while KV kept the old snapshot.

#[test]
fn a_new_owner_removes_the_old_owners_snapshot_even_when_kv_writes_fail() {
    let w = world();
    // KV takes one write per second per key: say the rewrite is refused.
    w.kv.failing_puts.set(true);
    block_on(w.service().put_order("ORD-1", &order_for("cust-2"))).unwrap();
    assert!(!w.kv.entries.borrow().contains_key(&snapshot_key("ORD-1")));
    w.kv.failing_puts.set(false);
    assert_eq!(
        track(&w, "ORD-1", "cust-1", false),
        Err(ServiceError::NotFound),
        "the old owner reads nothing"
    );
    assert!(track(&w, "ORD-1", "cust-2", false).is_ok());
}

#[test]
fn an_ownership_change_that_cannot_clear_kv_fails_and_a_retry_clears_it() {
    let w = world();
    w.kv.failing.set(true);
    let put = block_on(w.service().put_order("ORD-1", &order_for("cust-2")));
    assert!(matches!(put, Err(ServiceError::Store(_))), "{put:?}");
    assert_eq!(w.store.kv_repairs(), ["ORD-1"], "noted for the next sync");
    w.kv.failing.set(false);
    // D1 has the new owner already; KV still names the old one, so the retry deletes it.
    block_on(w.service().put_order("ORD-1", &order_for("cust-2"))).unwrap();
    assert_eq!(
        track(&w, "ORD-1", "cust-1", false),
        Err(ServiceError::NotFound)
    );
}

#[test]
fn an_update_that_keeps_the_owner_deletes_nothing() {
    let w = world();
    block_on(w.service().put_order("ORD-1", &order_for("cust-1"))).unwrap();
    assert_eq!(w.kv.deletes.get(), 0);
}

// Item 8: every admin look at a stale order called Blue Dart, and every look wrote KV.

#[test]
fn admin_looks_at_a_stale_order_schedule_one_refresh_between_them() {
    let w = world();
    let first = block_on(w.service().admin_view("ORD-1")).unwrap();
    assert!(first.stale);
    assert_eq!(first.background, Background::Scheduled);
    w.clock.advance(Duration::seconds(10));
    let second = block_on(w.service().admin_view("ORD-1")).unwrap();
    assert!(second.stale);
    assert_eq!(
        second.background,
        Background::Skipped {
            retry_after_secs: 50
        }
    );
    // A customer's refresh in the same minute is refused by the same claim.
    assert!(matches!(
        source(track(&w, "ORD-1", "cust-1", true)),
        Source::RefreshLimited { .. }
    ));
    w.clock.advance(Duration::seconds(60));
    assert_eq!(
        block_on(w.service().admin_view("ORD-1"))
            .unwrap()
            .background,
        Background::Scheduled
    );
}

#[test]
fn admin_looks_write_kv_only_when_it_differs_from_d1() {
    let w = world();
    // Synced just now according to D1; KV still has the snapshot from before.
    w.store.set_synced("ORD-1", Some(w.clock.0.get()));
    let writes = w.kv.writes.get();
    let view = block_on(w.service().admin_view("ORD-1")).unwrap();
    assert_eq!(view.background, Background::NotNeeded);
    assert_eq!(w.kv.writes.get(), writes + 1, "healed once");
    for _ in 0..3 {
        block_on(w.service().admin_view("ORD-1")).unwrap();
    }
    assert_eq!(w.kv.writes.get(), writes + 1, "then left alone");
}

// Item 5: a generated waybill was stored whatever Blue Dart sent.

#[test]
fn a_generated_waybill_that_is_not_one_is_not_stored() {
    let w = World::new(ScriptedCarrier::default());
    block_on(w.service().put_order("ORD-7", &order_for("cust-1"))).unwrap();
    let request = WaybillRequest {
        order_id: "ORD-7".into(),
        consignee: Consignee {
            name: "A B".into(),
            address: ["1 ROAD".into(), String::new(), String::new()],
            pincode: "682031".into(),
            mobile: "9847012345".into(),
        },
        weight_kg: 1.0,
        pieces: 1,
        declared_value: 0.0,
        cod_amount: 0.0,
        product_code: "A".into(),
        pickup_at: w.clock.0.get(),
    };
    for bad in [
        "<b>1</b>",
        "12345678",
        "1234567890123",
        "81234 67890",
        "../81234567",
    ] {
        w.carrier.waybills.borrow_mut().push_back(Ok(bad.into()));
        assert_eq!(
            block_on(w.service().generate_awb(&request)),
            Err(ServiceError::Carrier(CarrierError::UnreadableAnswer)),
            "{bad:?}"
        );
        assert_eq!(w.store.order("ORD-7").unwrap().awb_no, None);
    }
    w.carrier
        .waybills
        .borrow_mut()
        .push_back(Ok("81234567890".into()));
    let snapshot = block_on(w.service().generate_awb(&request)).unwrap();
    assert_eq!(snapshot.order.awb_no.as_deref(), Some("81234567890"));
}
