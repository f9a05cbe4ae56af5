//! Pushed status updates, natively: the simulator writes Blue Dart's push JSON, the adapter
//! reads it, the consumer merges it through the sync's own merge path. Repeats, reordering and
//! overlap with a poll add no event twice; unknown waybills are recorded as unmatched; a push
//! moves the next check out; a storage failure hands the message back.

use crate::support::{FakeBlueDart, status_update};
use bluedart_sim::Shipment;
use bluedart_sim::demo::{self, delivered_in_kochi};
use bluedart_sim::push::{Variant, body, entry, scan_push};
use chrono::Duration;
use pollster::block_on;
use tracking_core::model::{ShippingStatus, Status};
use tracking_core::push::PushMessage;
use tracking_core::queue::Verdict;
use tracking_core::queue::{Lane, SyncMessage};
use tracking_core::rules::budget::Budget;
use tracking_core::rules::budget::Spent;
use tracking_core::runs::Trigger;
use tracking_core::service::sync::SyncSettings;
use tracking_core::testing::{FakeSleeper, FixedRandom, MemoryQueues, World};

const AWB: &str = "81234567890";

fn world() -> (World<FakeBlueDart>, Shipment) {
    let shipment = demo::in_transit(AWB, "ORD-1");
    let w = World::new(FakeBlueDart::with(vec![shipment.clone()]));
    w.shipped("ORD-1", AWB);
    (w, shipment)
}

/// What the endpoint would enqueue for `json`.
fn messages(w: &World<FakeBlueDart>, json: &str) -> Vec<PushMessage> {
    let batch = bluedart::push::read_push(json.as_bytes()).unwrap();
    PushMessage::for_push(batch, w.clock.0.get())
}

fn consume(w: &World<FakeBlueDart>, json: &str) -> Vec<Verdict> {
    block_on(w.service().consume_push(&messages(w, json)))
}

/// The carrier's events of ORD-1, oldest first (the booked entry left out).
fn statuses(w: &World<FakeBlueDart>) -> Vec<Status> {
    let snapshot = block_on(w.service().load("ORD-1")).unwrap();
    snapshot
        .events
        .iter()
        .filter(|e| e.is_from_carrier())
        .map(|e| e.status)
        .collect()
}

fn out_for_delivery() -> bluedart_sim::Scan {
    demo::out_for_delivery_in_kochi()
}

#[test]
fn a_pushed_scan_is_merged_and_moves_the_next_check_out() {
    let (w, shipment) = world();
    let now = w.clock.0.get();
    let verdicts = consume(
        &w,
        &scan_push(&shipment, &out_for_delivery(), Variant::Lite),
    );
    assert_eq!(verdicts, [Verdict::Ack]);
    assert_eq!(statuses(&w), [Status::OutForDelivery]);
    let order = w.store.order("ORD-1").unwrap();
    assert_eq!(order.shipping_status, ShippingStatus::InTransit);
    assert!(order.next_check_at.unwrap() >= now + Duration::minutes(45));
    assert_eq!(order.last_synced_at, Some(now));
    let stats = block_on(w.service().push_stats()).unwrap();
    assert_eq!(stats.counts.pushes, 1);
    assert_eq!(stats.counts.accepted, 1);
    assert_eq!(stats.counts.status_changes_push, 1);
    assert!(stats.unmatched.is_empty());
}

#[test]
fn a_repeated_push_adds_nothing() {
    let (w, shipment) = world();
    let json = scan_push(&shipment, &out_for_delivery(), Variant::Plus);
    consume(&w, &json);
    let rows = w.store.event_rows();
    // Redelivered by the queue, and pushed again by Blue Dart in the other variant.
    consume(&w, &json);
    consume(
        &w,
        &scan_push(&shipment, &out_for_delivery(), Variant::Lite),
    );
    assert_eq!(w.store.event_rows(), rows);
    let stats = block_on(w.service().push_stats()).unwrap();
    assert_eq!(stats.counts.status_changes_push, 1);
}

/// The queue delivers a message again (its id the same): its counts, and the unmatched
/// waybill it names, are not added twice; the same push as a new message is.
#[test]
fn a_redelivered_message_is_counted_once() {
    let (w, shipment) = world();
    let stranger = demo::in_transit("81234599999", "");
    let both = |id: &str| {
        let mut ours = messages(
            &w,
            &scan_push(&shipment, &out_for_delivery(), Variant::Lite),
        );
        let theirs = messages(
            &w,
            &scan_push(&stranger, &out_for_delivery(), Variant::Lite),
        );
        ours.extend(theirs);
        for (n, message) in ours.iter_mut().enumerate() {
            message.delivery_id = format!("{id}-{n}");
        }
        ours
    };
    let first = both("delivery");
    block_on(w.service().consume_push(&first));
    block_on(w.service().consume_push(&first));
    let stats = block_on(w.service().push_stats()).unwrap();
    assert_eq!(
        (
            stats.counts.pushes,
            stats.counts.items,
            stats.counts.accepted
        ),
        (2, 2, 2)
    );
    assert_eq!(stats.counts.unmatched, 1);
    assert_eq!(stats.unmatched[0].times, 1);
    assert_eq!(stats.counts.status_changes_push, 1);
    // Pushed again by Blue Dart: new messages, counted.
    block_on(w.service().consume_push(&both("again")));
    let stats = block_on(w.service().push_stats()).unwrap();
    assert_eq!((stats.counts.pushes, stats.counts.unmatched), (4, 2));
    assert_eq!(stats.unmatched[0].times, 2);
}

#[test]
fn out_of_order_pushes_never_leave_the_end_state() {
    let (w, shipment) = world();
    consume(
        &w,
        &scan_push(&shipment, &delivered_in_kochi(), Variant::Plus),
    );
    consume(
        &w,
        &scan_push(&shipment, &out_for_delivery(), Variant::Lite),
    );
    assert_eq!(statuses(&w), [Status::OutForDelivery, Status::Delivered]);
    let order = w.store.order("ORD-1").unwrap();
    assert_eq!(order.shipping_status, ShippingStatus::Delivered);
    assert_eq!(order.order_status, "Delivered");
    assert_eq!(order.next_check_at, None);
}

#[test]
fn push_and_poll_of_the_same_scans_make_each_event_once() {
    let (w, shipment) = world();
    // Push first, then a poll that sees the same scans.
    let scans: Vec<&bluedart_sim::Scan> = shipment.scans.iter().collect();
    consume(&w, &body(vec![entry(&shipment, &scans, Variant::Plus)]));
    let rows = w.store.event_rows();
    block_on(
        w.service()
            .sync_order("ORD-1", Trigger::Manual, Spent::default),
    )
    .unwrap();
    assert_eq!(w.store.event_rows(), rows);
    // Poll first (a newer scan, found by the queued sync), then the push of it.
    w.carrier.shipments.borrow_mut()[0]
        .scans
        .push(out_for_delivery());
    queued_poll(&w);
    let rows = w.store.event_rows();
    consume(
        &w,
        &scan_push(&shipment, &out_for_delivery(), Variant::Lite),
    );
    assert_eq!(w.store.event_rows(), rows);
    let stats = block_on(w.service().push_stats()).unwrap();
    assert_eq!(stats.counts.status_changes_poll, 1);
    assert_eq!(stats.counts.status_changes_push, 1);
}

/// ORD-1 synced by the queue's consumer, as the hourly poll and background refreshes are.
fn queued_poll(w: &World<FakeBlueDart>) {
    let settings = SyncSettings {
        batch_size: 10,
        delay_ms: 0,
        max_per_run: 100,
        retries: 0,
        retry_base_ms: 500,
        budget: Budget {
            subrequests: 100,
            d1_queries: 100,
            kv_operations: 100,
            wall_time: Duration::minutes(14),
        },
    };
    let sleeper = FakeSleeper {
        clock: &w.clock,
        pauses: Default::default(),
    };
    // Enqueued after the order's last sync, so the consumer does not skip it.
    w.clock.advance(Duration::seconds(1));
    let message = SyncMessage::new(None, vec!["ORD-1".into()], w.clock.0.get());
    let verdicts = block_on(w.service().consume(
        Lane::Sync,
        &[message],
        &settings,
        &sleeper,
        &FixedRandom(0),
        &MemoryQueues::default(),
        Spent::default,
    ));
    assert_eq!(verdicts, [Verdict::Ack]);
}

#[test]
fn a_push_for_an_unknown_waybill_is_recorded_as_unmatched() {
    let (w, _) = world();
    let stranger = demo::in_transit("81234599999", "");
    let verdicts = consume(
        &w,
        &scan_push(&stranger, &out_for_delivery(), Variant::Lite),
    );
    assert_eq!(verdicts, [Verdict::Ack]);
    let stats = block_on(w.service().push_stats()).unwrap();
    assert_eq!(stats.counts.unmatched, 1);
    assert_eq!(stats.unmatched[0].awb_no, "81234599999");
    assert_eq!(stats.unmatched[0].times, 1);
    assert!(statuses(&w).is_empty());
}

#[test]
fn a_storage_failure_hands_the_message_back() {
    let (w, shipment) = world();
    let messages = messages(
        &w,
        &scan_push(&shipment, &out_for_delivery(), Variant::Lite),
    );
    w.store.failing.set(true);
    let verdicts = block_on(w.service().consume_push(&messages));
    assert!(matches!(verdicts[0], Verdict::Retry { .. }));
    w.store.failing.set(false);
    assert_eq!(
        block_on(w.service().consume_push(&messages)),
        [Verdict::Ack]
    );
    assert_eq!(statuses(&w), [Status::OutForDelivery]);
}

/// A push whose order changed between its read and its save (here an admin's update of the
/// order landed while the save waited for D1) is merged again into the order as it is now:
/// the update stands, and the pushed scan is not lost to a poll that may never come.
#[test]
fn a_push_merges_again_into_an_order_that_changed_meanwhile() {
    let (w, shipment) = world();
    let pushed = messages(
        &w,
        &scan_push(&shipment, &out_for_delivery(), Variant::Lite),
    );
    w.store.hold.set(Some("save_syncs"));
    let cancelled = status_update("Cancelled");
    let service = w.service();
    let (verdicts, update) = block_on(futures_util::future::join(
        service.consume_push(&pushed),
        service.put_order("ORD-1", &cancelled),
    ));
    update.unwrap();
    assert_eq!(verdicts, [Verdict::Ack]);
    assert_eq!(w.store.count("save_syncs"), 2, "refused once, then saved");
    assert_eq!(statuses(&w), [Status::OutForDelivery]);
    assert_eq!(w.store.order("ORD-1").unwrap().order_status, "Cancelled");
    assert!(
        w.log
            .lines()
            .iter()
            .any(|l| l.contains("Order ORD-1 changed while it synced"))
    );
    let stats = block_on(w.service().push_stats()).unwrap();
    assert_eq!(stats.counts.status_changes_push, 1);
}
