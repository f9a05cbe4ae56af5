//! The tracking service's branches, natively, with in-memory ports and a scripted carrier whose
//! answers are real Blue Dart XML (rendered by the simulator, read by the worker's parser).

use bluedart::events::update_for;
use bluedart::parse::parse_tracking;
use bluedart_sim::demo;
use chrono::Duration;
use pollster::block_on;
use std::cell::Cell;
use tracking_core::access::Access;

use tracking_core::carrier::{Carrier, CarrierError, TrackingReply, WaybillRequest};
use tracking_core::model::Source;
use tracking_core::model::{ShippingStatus, Status};
use tracking_core::ports::{OrderInput, OrderStore};
use tracking_core::rules::budget::Spent;
use tracking_core::runs::Trigger;
use tracking_core::service::{ServiceError, SyncSummary, TrackOutcome, claim_key, snapshot_key};
use tracking_core::testing::ScriptedCarrier;

type World = tracking_core::testing::World<ScriptedCarrier>;

fn world() -> World {
    World::new(ScriptedCarrier::default())
}

/// An admin's sync of ORD-1 (`POST /api/admin/shipment/ORD-1/sync`).
fn synced_by_admin(w: &World) -> Result<SyncSummary, ServiceError> {
    block_on(
        w.service()
            .sync_order("ORD-1", Trigger::Manual, Spent::default),
    )
}

/// The carrier's answer for the simulator's demo shipment `awb`, as Blue Dart would send it.
fn demo_reply(awb: &str) -> TrackingReply {
    let shipments = demo::shipments();
    let found: Vec<&bluedart_sim::Shipment> = shipments
        .iter()
        .filter(|s| {
            s.waybill == awb
                || shipments
                    .iter()
                    .any(|f| f.waybill == awb && f.new_waybill == s.waybill)
        })
        .collect();
    let xml = bluedart_sim::xml::shipment_data(&found, true);
    let parsed = parse_tracking(&xml).unwrap();
    TrackingReply {
        http_status: 200,
        updates: vec![(awb.to_owned(), update_for(awb, &parsed))],
    }
}

/// A shipped order of `cust-1` registered with its waybill, `81234567890`.
fn imported_with_waybill() -> OrderInput {
    OrderInput {
        customer_id: "cust-1".into(),
        order_status: "Shipped".into(),
        created_at: None,
        awb_no: Some("81234567890".into()),
    }
}

fn customer(id: &str) -> Access {
    Access::Customer(id.into())
}

fn tracking(outcome: TrackOutcome) -> (tracking_core::model::Snapshot, Source) {
    match outcome {
        TrackOutcome::Tracking { snapshot, source } => (*snapshot, source),
        other => panic!("expected tracking, got {other:?}"),
    }
}

/// A carrier that notes, at each call, whether the store and KV were in the middle of a round
/// trip.
struct Watching<'a> {
    inner: &'a ScriptedCarrier,
    store_busy: &'a Cell<bool>,
    kv_busy: &'a Cell<bool>,
    busy_at_call: Cell<Option<(bool, bool)>>,
}

impl<'a> Watching<'a> {
    fn over(w: &'a World) -> Watching<'a> {
        Watching {
            inner: &w.carrier,
            store_busy: &w.store.holding,
            kv_busy: &w.kv.holding,
            busy_at_call: Cell::new(None),
        }
    }
}

impl Carrier for Watching<'_> {
    async fn track(&self, awbs: &[String]) -> Result<TrackingReply, CarrierError> {
        let busy = (self.store_busy.get(), self.kv_busy.get());
        self.busy_at_call.set(Some(busy));
        self.inner.track(awbs).await
    }

    async fn generate_waybill(&self, request: &WaybillRequest) -> Result<String, CarrierError> {
        self.inner.generate_waybill(request).await
    }
}

/// A refresh that holds the claim asks the carrier while its KV claim key is still being
/// written, and reads nothing from D1: the answer is merged into KV's copy, which D1 holds
/// still, and saved in one call.
#[test]
fn a_refresh_calls_the_carrier_while_it_writes_its_claim_key_and_reads_no_d1() {
    let mut w = world();
    w.settings.refresh_interval = Duration::seconds(60);
    w.shipped("ORD-1", "81234567890");
    w.carrier.then(Ok(demo_reply("81234567890")));
    w.kv.hold_puts.set(true);
    let reads = w.store.count("snapshots");
    let watching = Watching::over(&w);
    let (snapshot, source) = tracking(
        block_on(
            w.service_with(&watching)
                .track("ORD-1", &customer("cust-1"), true),
        )
        .unwrap(),
    );
    assert_eq!(watching.busy_at_call.get(), Some((false, true)));
    assert!(w.kv.entries.borrow().contains_key(&claim_key("ORD-1")));
    assert_eq!(source, Source::Live);
    assert_eq!(
        snapshot.latest.map(|e| e.status),
        Some(Status::OutForDelivery)
    );
    assert_eq!(
        w.carrier.tracked.borrow().as_slice(),
        [vec!["81234567890".to_owned()]]
    );
    assert_eq!(w.store.count("snapshots"), reads, "no D1 read");
    assert_eq!(w.store.count("save_syncs"), 1);
    assert_eq!(w.store.order("ORD-1").unwrap(), snapshot.order);
}

/// When D1 has moved on from KV's copy (here the store changed the order's status and KV did
/// not see it), the save from the copy writes nothing; D1's state is read and the answer merged
/// into that, so neither the answer nor D1 goes back to what KV had.
#[test]
fn a_refresh_whose_kv_copy_is_behind_merges_into_d1s_state() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    let upsert = tracking_core::ports::OrderUpsert {
        order_id: "ORD-1".into(),
        input: OrderInput {
            customer_id: "cust-1".into(),
            order_status: "Cancelled".into(),
            created_at: None,
            awb_no: None,
        },
    };
    block_on(w.store.upsert_orders(&[upsert], w.clock.0.get())).unwrap();
    let moved_to = w.store.order("ORD-1").unwrap().version;
    w.carrier.then(Ok(demo_reply("81234567890")));
    let (snapshot, source) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap());
    assert_eq!(source, Source::Live);
    assert_eq!(snapshot.order.order_status, "Cancelled");
    assert_eq!(
        snapshot.latest.map(|e| e.status),
        Some(Status::OutForDelivery)
    );
    let stored = w.store.order("ORD-1").unwrap();
    assert_eq!(stored.order_status, "Cancelled");
    assert_eq!(stored.version, moved_to + 1, "the news moved it once");
    assert_eq!(stored, snapshot.order);
    assert_eq!(w.store.count("save_syncs"), 2);
    assert_eq!(w.carrier.tracked.borrow().len(), 1, "one carrier call");
}

/// A KV copy written before orders had versions reads as version 0, which no order in D1 has:
/// the refresh reads D1's state rather than trust it.
#[test]
fn a_kv_copy_from_before_versions_is_not_taken_for_d1s_state() {
    let w = world();
    // Imported with its waybill: D1 holds it at the version it started at.
    block_on(w.service().put_order("ORD-1", &imported_with_waybill())).unwrap();
    {
        let mut entries = w.kv.entries.borrow_mut();
        let (value, _) = entries.get_mut(&snapshot_key("ORD-1")).unwrap();
        // Every `,"version":N` out, as a copy written before versions had none.
        let mut old = String::new();
        let mut rest = value.as_str();
        while let Some((before, after)) = rest.split_once(",\"version\":") {
            old.push_str(before);
            rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
        }
        old.push_str(rest);
        assert_ne!(old, *value, "the copy names its version");
        *value = old;
    }
    w.carrier.then(Ok(demo_reply("81234567890")));
    let reads = w.store.count("snapshots");
    let (_, source) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap());
    assert_eq!(source, Source::Live);
    assert_eq!(w.store.count("save_syncs"), 2);
    assert_eq!(w.store.count("snapshots"), reads + 1);
}

#[test]
fn a_limited_refresh_reads_its_claim_key_beside_the_cached_snapshot() {
    let mut w = world();
    w.settings.refresh_interval = Duration::seconds(60);
    w.shipped("ORD-1", "81234567890");
    w.carrier.then(Ok(demo_reply("81234567890")));
    w.kv.hold_gets.set(true);
    let (_, source) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap());
    assert_eq!(source, Source::Live);
    assert!(w.kv.overlapped.get(), "the two KV reads ran side by side");
    assert!(!w.kv.holding.get());
}

#[test]
fn a_cached_read_or_an_unlimited_refresh_reads_no_claim_key() {
    let mut w = world();
    w.settings.refresh_interval = Duration::seconds(60);
    w.shipped("ORD-1", "81234567890");
    w.kv.hold_gets.set(true);
    let reads = w.kv.reads.get();
    block_on(w.service().track("ORD-1", &customer("cust-1"), false)).unwrap();
    assert_eq!(w.kv.reads.get(), reads + 1);
    assert!(!w.kv.overlapped.get());

    // Without the refresh limit there is no claim to read.
    w.settings.refresh_interval = Duration::zero();
    w.carrier.then(Ok(demo_reply("81234567890")));
    let reads = w.kv.reads.get();
    let (_, source) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap());
    assert_eq!(source, Source::Live);
    assert_eq!(w.kv.reads.get(), reads + 1, "the snapshot only");
    assert!(!w.kv.overlapped.get());
}

#[test]
fn a_fresh_shipment_answers_its_booked_state_from_the_cache() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    let (snapshot, source) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), false)).unwrap());
    assert_eq!(source, Source::Cached);
    assert_eq!(snapshot.latest.unwrap().status, Status::InfoReceived);
    assert_eq!(snapshot.order.shipping_status, ShippingStatus::InTransit);
    assert_eq!(snapshot.order.order_status, "Shipped");
    assert!(
        w.carrier.tracked.borrow().is_empty(),
        "no carrier call without refresh"
    );
}

#[test]
fn a_warm_cache_answers_without_touching_the_store() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    let before = w.store.count("snapshots");
    block_on(w.service().track("ORD-1", &customer("cust-1"), false)).unwrap();
    assert_eq!(w.store.count("snapshots"), before);
}

#[test]
fn a_cache_miss_reads_the_store_and_heals_the_cache() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.kv.entries.borrow_mut().clear();
    let before = w.store.count("snapshots");
    block_on(w.service().track("ORD-1", &customer("cust-1"), false)).unwrap();
    assert_eq!(w.store.count("snapshots"), before + 1);
    assert!(w.kv.entries.borrow().contains_key(&snapshot_key("ORD-1")));
    block_on(w.service().track("ORD-1", &customer("cust-1"), false)).unwrap();
    assert_eq!(w.store.count("snapshots"), before + 1);
}

#[test]
fn a_garbled_cache_entry_counts_as_a_miss() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.kv.entries
        .borrow_mut()
        .insert(snapshot_key("ORD-1"), ("{not json".into(), None));
    let (snapshot, _) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), false)).unwrap());
    assert_eq!(snapshot.order.id, "ORD-1");
}

#[test]
fn unknown_orders_missing_waybills_and_other_customers() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.registered("ORD-2");
    let service = w.service();
    assert_eq!(
        block_on(service.track("ORD-9", &customer("cust-1"), false)),
        Err(ServiceError::NotFound)
    );
    assert!(matches!(
        block_on(service.track("ORD-2", &customer("cust-1"), false)),
        Ok(TrackOutcome::NoAwb(_))
    ));
    // Not yours is not there: a customer cannot tell the two apart.
    for refresh in [false, true] {
        assert_eq!(
            block_on(service.track("ORD-1", &customer("cust-2"), refresh)),
            Err(ServiceError::NotFound)
        );
        assert_eq!(
            block_on(service.track("ORD-1", &Access::Link("ORD-2".into()), refresh)),
            Err(ServiceError::NotFound)
        );
    }
    assert!(
        w.carrier.tracked.borrow().is_empty(),
        "no carrier call for an order that is not theirs"
    );
    assert!(block_on(service.track("ORD-1", &Access::Link("ORD-1".into()), false)).is_ok());
}

#[test]
fn force_refresh_saves_live_data_that_the_cache_then_serves() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.carrier.then(Ok(demo_reply("81234567890")));
    let (live, source) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap());
    assert_eq!(source, Source::Live);
    let latest = live.latest.clone().unwrap();
    assert_eq!(latest.status, Status::OutForDelivery);
    assert_eq!(latest.event_at.to_rfc3339(), "2026-01-24T03:42:00+00:00");
    assert_eq!(live.events.len(), 4, "booked + three scans");
    assert_eq!(w.carrier.tracked.borrow()[0], ["81234567890"]);
    assert!(
        w.log
            .lines()
            .contains(&"[TRACKING SAVED] AWB 81234567890 tracking updated".to_owned())
    );

    let (cached, source) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), false)).unwrap());
    assert_eq!(source, Source::Cached);
    assert_eq!(cached, live);
}

/// The day's KV budget is the sync's: a customer's own refresh still leaves its answer in KV.
#[test]
fn a_refresh_is_cached_even_when_the_syncs_kv_budget_is_spent() {
    let mut w = world();
    w.settings.kv_sync_writes_per_day = 0;
    w.shipped("ORD-1", "81234567890");
    w.carrier.then(Ok(demo_reply("81234567890")));
    let (live, source) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap());
    assert_eq!(source, Source::Live);
    let cached: tracking_core::model::Snapshot =
        serde_json::from_str(&w.kv.entries.borrow()[&snapshot_key("ORD-1")].0).unwrap();
    assert_eq!(cached, live);
}

#[test]
fn a_failed_refresh_answers_from_the_cache_and_changes_nothing() {
    for error in [
        CarrierError::Timeout { ms: 1500 },
        CarrierError::Connection,
        CarrierError::Unavailable { status: 500 },
        CarrierError::UnreadableAnswer,
        CarrierError::Licence,
    ] {
        let w = world();
        w.shipped("ORD-1", "81234567890");
        w.carrier.then(Ok(demo_reply("81234567890")));
        block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap();
        let before = block_on(w.service().load("ORD-1")).unwrap();
        let rows = w.store.event_rows();

        w.carrier.then(Err(error.clone()));
        let (snapshot, source) =
            tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap());
        // Customers get the customer-safe text; the cause is logged.
        assert_eq!(source, Source::LiveFailed(error.customer_message()));
        assert!(
            w.log
                .lines()
                .iter()
                .any(|l| l.contains("Live refresh of order ORD-1 failed")
                    && l.contains(&error.to_string())),
            "{error}"
        );
        assert_eq!(snapshot, before);
        assert_eq!(w.store.event_rows(), rows);
        assert_eq!(w.store.order("ORD-1").unwrap(), before.order, "{error}");
    }
}

#[test]
fn saving_the_same_answer_twice_stores_each_event_once() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.carrier
        .then(Ok(demo_reply("81234567890")))
        .then(Ok(demo_reply("81234567890")));
    let first = synced_by_admin(&w).unwrap();
    let rows = w.store.event_rows();
    let second = synced_by_admin(&w).unwrap();
    assert_eq!(first.new_events, 3);
    assert_eq!(second.new_events, 0);
    assert!(!second.changed);
    assert_eq!(w.store.event_rows(), rows);
}

#[test]
fn end_states_from_the_demo_shipments() {
    for (awb, status, shipping, order_status) in [
        (
            "81234567892",
            Status::Delivered,
            ShippingStatus::Delivered,
            "Delivered",
        ),
        (
            "81234567893",
            Status::Returned,
            ShippingStatus::Returned,
            "Shipped",
        ),
        ("81234567895", Status::Lost, ShippingStatus::Lost, "Shipped"),
        (
            "81234567894",
            Status::FailedAttempt,
            ShippingStatus::InTransit,
            "Shipped",
        ),
    ] {
        let w = world();
        w.shipped("ORD-1", awb);
        w.carrier.then(Ok(demo_reply(awb)));
        let summary = synced_by_admin(&w).unwrap();
        let order = &summary.snapshot.order;
        assert_eq!(
            summary.snapshot.latest.as_ref().unwrap().status,
            status,
            "{awb}"
        );
        assert_eq!(order.shipping_status, shipping, "{awb}");
        assert_eq!(order.order_status, order_status, "{awb}");
        // Customers' KV copy follows the sync.
        let (cached, source) =
            tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), false)).unwrap());
        assert_eq!(source, Source::Cached);
        assert_eq!(cached, summary.snapshot, "{awb}");
        assert_eq!(
            w.log
                .lines()
                .contains(&"[TRACKING SYNC] Order ORD-1 marked as delivered".to_owned()),
            order_status == "Delivered",
            "{awb}"
        );
        let runs = block_on(w.service().recent_runs(5)).unwrap();
        assert_eq!(
            runs.iter().map(|r| r.trigger).collect::<Vec<_>>(),
            [Trigger::Manual]
        );
    }
}

#[test]
fn a_sync_failure_is_recorded_on_the_order_without_touching_tracking() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.carrier
        .then(Err(CarrierError::Unavailable { status: 503 }));
    let before = w.store.event_rows();
    let result = synced_by_admin(&w);
    assert_eq!(
        result,
        Err(ServiceError::Carrier(CarrierError::Unavailable {
            status: 503
        }))
    );
    assert_eq!(
        w.store.order("ORD-1").unwrap().last_sync_error.as_deref(),
        Some("Blue Dart is unavailable (HTTP 503)")
    );
    assert_eq!(w.store.event_rows(), before);
}

#[test]
fn a_waybill_blue_dart_knows_nothing_about_is_a_valid_empty_answer() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.carrier.then(Ok(TrackingReply {
        http_status: 200,
        updates: vec![("81234567890".into(), None)],
    }));
    let summary = synced_by_admin(&w).unwrap();
    assert_eq!(summary.new_events, 0);
    assert_eq!(
        summary.snapshot.latest.unwrap().status,
        Status::InfoReceived
    );
    assert_eq!(summary.snapshot.order.last_synced_at, Some(w.clock.0.get()));
    assert_eq!(summary.snapshot.order.last_sync_error, None);
}

#[test]
fn a_store_failure_during_refresh_is_an_error_not_a_silent_success() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.store.failing.set(true);
    w.kv.entries.borrow_mut().clear();
    let result = block_on(w.service().track("ORD-1", &customer("cust-1"), true));
    assert!(matches!(result, Err(ServiceError::Store(_))));
}

#[test]
fn a_failed_kv_write_is_logged_and_healed_on_the_next_read() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.kv.failing.set(true);
    w.carrier.then(Ok(demo_reply("81234567890")));
    let (live, _) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap());
    assert!(
        w.log
            .lines()
            .iter()
            .any(|l| l.starts_with("WARN [CACHE] KV write for order ORD-1 failed"))
    );
    w.kv.failing.set(false);
    // KV still holds the stale booked snapshot; an admin look (D1) rewrites it.
    block_on(w.service().admin_view("ORD-1")).unwrap();
    let (cached, _) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), false)).unwrap());
    assert_eq!(cached.latest, live.latest);
}

#[test]
fn an_admin_look_reads_the_order_and_the_last_answer_side_by_side() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.store.hold.set(Some("snapshots"));
    let view = block_on(w.service().admin_view("ORD-1")).unwrap();
    assert_eq!(view.snapshot.order.id, "ORD-1");
    assert_eq!(w.store.overlapped.borrow().as_slice(), ["carrier_response"]);
    assert!(!w.store.holding.get());
}

#[test]
fn admin_view_is_stale_until_synced_recently() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    assert!(block_on(w.service().admin_view("ORD-1")).unwrap().stale);
    w.carrier.then(Ok(demo_reply("81234567890")));
    synced_by_admin(&w).unwrap();
    let view = block_on(w.service().admin_view("ORD-1")).unwrap();
    assert!(!view.stale);
    let raw = view.carrier_response.unwrap();
    assert_eq!(raw.http_status, 200);
    assert!(raw.body.contains("\"WaybillNo\":\"81234567890\""));
    w.clock.advance(Duration::minutes(44));
    assert!(!block_on(w.service().admin_view("ORD-1")).unwrap().stale);
    // Stale from exactly `stale_after` (45 minutes) on.
    w.clock.advance(Duration::minutes(1));
    assert!(block_on(w.service().admin_view("ORD-1")).unwrap().stale);
}

#[test]
fn the_kept_carrier_answer_is_bounded() {
    let mut w = world();
    w.settings.raw_max_bytes = 100;
    w.shipped("ORD-1", "81234567890");
    w.carrier.then(Ok(demo_reply("81234567890")));
    synced_by_admin(&w).unwrap();
    let raw = block_on(w.service().admin_view("ORD-1"))
        .unwrap()
        .carrier_response
        .unwrap();
    assert!(raw.truncated);
    assert!(raw.body.len() <= 100);
}

#[test]
fn waybill_conflicts() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.shipped("ORD-2", "81234567891");
    let service = w.service();
    let conflict = |r: Result<_, ServiceError>| match r {
        Err(ServiceError::Conflict { code, .. }) => code,
        other => panic!("expected a conflict, got {other:?}"),
    };
    assert_eq!(
        conflict(block_on(service.attach_awb("ORD-1", "81234567891"))),
        "AWB_IN_USE"
    );
    assert_eq!(
        conflict(block_on(service.attach_awb("ORD-1", "81234567899"))),
        "AWB_EXISTS"
    );
    // Attaching the same waybill again changes nothing.
    let rows = w.store.event_rows();
    block_on(service.attach_awb("ORD-1", "81234567890")).unwrap();
    assert_eq!(w.store.event_rows(), rows);
    assert_eq!(
        block_on(service.attach_awb("ORD-9", "81234567898")),
        Err(ServiceError::NotFound)
    );
}

#[test]
fn an_imported_order_with_a_waybill_has_no_cached_tracking() {
    let w = world();
    let input = imported_with_waybill();
    let (snapshot, created) = block_on(w.service().put_order("ORD-1", &input)).unwrap();
    assert!(created);
    assert_eq!(snapshot.latest, None);
    assert_eq!(snapshot.order.shipping_status, ShippingStatus::InTransit);
    w.carrier.then(Err(CarrierError::Connection));
    let (snapshot, source) =
        tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap());
    assert_eq!(snapshot.latest, None);
    assert!(matches!(source, Source::LiveFailed(_)));
}

/// The carrier's answer about `shipment`, a simulator shipment, as Blue Dart would send it.
fn reply_about(shipment: &bluedart_sim::Shipment) -> TrackingReply {
    let xml = bluedart_sim::xml::shipment_data(&[shipment], true);
    let parsed = parse_tracking(&xml).unwrap();
    TrackingReply {
        http_status: 200,
        updates: vec![(
            shipment.waybill.clone(),
            update_for(&shipment.waybill, &parsed),
        )],
    }
}

/// An admin's sync that read the order before a customer's refresh saved it (the refresh ran
/// while the sync's call waited) leaves the order to the refresh: the sync's older answer (in
/// transit) is not written over the refresh's newer one (out for delivery), and the sync
/// answers what is stored.
#[test]
fn a_sync_that_read_before_a_refresh_saved_leaves_the_order_to_it() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    // The refresh's call comes first (it runs inside the sync's), then the sync's own.
    w.carrier
        .then(Ok(demo_reply("81234567890")))
        .then(Ok(reply_about(&demo::in_transit("81234567890", "ORD-1"))));
    let carrier = crate::support::Meanwhile::new(&w.carrier, || {
        let (refreshed, source) =
            tracking(block_on(w.service().track("ORD-1", &customer("cust-1"), true)).unwrap());
        assert_eq!(source, Source::Live);
        assert_eq!(
            refreshed.latest.map(|e| e.status),
            Some(Status::OutForDelivery)
        );
    });
    let summary = block_on(w.service_with(&carrier).sync_order(
        "ORD-1",
        Trigger::Manual,
        Spent::default,
    ))
    .unwrap();
    assert_eq!(w.carrier.tracked.borrow().len(), 2);
    let stored = block_on(w.store.snapshot("ORD-1")).unwrap().unwrap();
    assert_eq!(
        stored.latest.as_ref().map(|e| e.status),
        Some(Status::OutForDelivery)
    );
    assert_eq!(summary.snapshot, stored);
    assert_eq!((summary.new_events, summary.changed), (0, false));
    // One save refused, none after it: the refresh's and the sync's attempt.
    assert_eq!(w.store.count("save_syncs"), 2);
    let run = block_on(w.service().recent_runs(1)).unwrap().remove(0);
    assert_eq!((run.succeeded, run.skipped, run.failed), (0, 1, 0));
}

/// A manual sync's run counts its order once: synced.
#[test]
fn a_manual_sync_counts_its_order_as_synced() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.carrier.then(Ok(demo_reply("81234567890")));
    synced_by_admin(&w).unwrap();
    let run = block_on(w.service().recent_runs(1)).unwrap().remove(0);
    assert_eq!((run.succeeded, run.skipped, run.failed), (1, 0, 0));
}
