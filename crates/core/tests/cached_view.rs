//! Customers' cached answers kept rendered in KV beside the snapshot (`CachedView`): a cached
//! read answers with the kept text after parsing the order alone, with the same refusals as
//! `track`; a view of another version, or none, is never served, and healing rewrites it.

use chrono::Duration;
use pollster::block_on;
use tracking_core::access::Access;
use tracking_core::model::{Snapshot, Source};
use tracking_core::ports::OrderStore;
use tracking_core::service::{CachedAnswer, CachedView, ServiceError, TrackOutcome, snapshot_key};
use tracking_core::testing::{ScriptedCarrier, World};

/// A renderer whose text says which snapshot it was made from.
fn render(snapshot: &Snapshot) -> String {
    format!(
        "{{\"order\":\"{}\",\"events\":{}}}",
        snapshot.order.id,
        snapshot.events.len()
    )
}

const VIEW: CachedView = CachedView { version: 3, render };

/// ORD-1 shipped for cust-1 and ORD-2 registered for cust-1 without a waybill, written to KV
/// with `view`.
fn world(view: Option<CachedView>) -> World<ScriptedCarrier> {
    let mut w = World::new(ScriptedCarrier::default());
    w.settings.cached_view = view;
    w.shipped("ORD-1", "111111111");
    w.registered("ORD-2");
    w
}

fn customer(id: &str) -> Access {
    Access::Customer(id.into())
}

fn kv_value(w: &World<ScriptedCarrier>, order_id: &str) -> String {
    w.kv.entries.borrow()[&snapshot_key(order_id)].0.clone()
}

fn stored(w: &World<ScriptedCarrier>, order_id: &str) -> Snapshot {
    block_on(w.store.snapshot(order_id)).unwrap().unwrap()
}

#[test]
fn a_kept_view_answers_with_one_kv_read_and_no_d1() {
    let w = world(Some(VIEW));
    let expected = CachedAnswer::View(render(&stored(&w, "ORD-1")));
    let (reads, d1) = (w.kv.reads.get(), w.store.queries());
    let answer = block_on(w.service().track_cached("ORD-1", &customer("cust-1"))).unwrap();
    assert_eq!(answer, expected);
    assert_eq!(w.kv.reads.get(), reads + 1);
    assert_eq!(w.store.queries(), d1);
    // Three lines: the version with the order, the view, the snapshot.
    let value = kv_value(&w, "ORD-1");
    let lines: Vec<&str> = value.split('\n').collect();
    assert_eq!(lines.len(), 3, "{value}");
    assert!(
        lines[0].starts_with("{\"viewVersion\":3,\"order\":{"),
        "{value}"
    );
    assert_eq!(CachedAnswer::View(lines[1].to_owned()), expected);
    assert_eq!(
        serde_json::from_str::<Snapshot>(lines[2]).unwrap(),
        stored(&w, "ORD-1")
    );
}

#[test]
fn a_kept_view_refuses_as_track_does() {
    let w = world(Some(VIEW));
    let s = w.service();
    assert_eq!(
        block_on(s.track_cached("ORD-1", &customer("cust-2"))),
        Err(ServiceError::NotFound)
    );
    // No view for an order without a waybill: its answer says so.
    assert_eq!(kv_value(&w, "ORD-2").split('\n').nth(1), Some("null"));
    assert_eq!(
        block_on(s.track_cached("ORD-2", &customer("cust-1"))).unwrap(),
        CachedAnswer::Outcome(TrackOutcome::NoAwb(
            stored(&w, "ORD-2").order.shipping_status
        ))
    );
    assert_eq!(
        block_on(s.track_cached("ORD-2", &customer("cust-2"))),
        Err(ServiceError::NotFound)
    );
    // An unknown order: D1 is asked once, then KV remembers.
    let d1 = w.store.count("snapshots");
    for _ in 0..2 {
        assert_eq!(
            block_on(s.track_cached("ORD-404", &customer("cust-1"))),
            Err(ServiceError::NotFound)
        );
    }
    assert_eq!(w.store.count("snapshots"), d1 + 1);
}

#[test]
fn a_view_of_another_version_or_none_is_not_served_and_healing_rewrites_it() {
    let mut w = world(Some(VIEW));
    w.settings.cached_view = Some(CachedView { version: 4, ..VIEW });
    let snapshot = stored(&w, "ORD-1");
    let rendered = CachedAnswer::Outcome(TrackOutcome::Tracking {
        snapshot: Box::new(snapshot.clone()),
        source: Source::Cached,
    });
    let answer = |w: &World<ScriptedCarrier>| {
        block_on(w.service().track_cached("ORD-1", &customer("cust-1"))).unwrap()
    };
    assert_eq!(answer(&w), rendered);
    // An admin's look heals KV: the value now keeps this version's view.
    block_on(w.service().admin_view("ORD-1")).unwrap();
    assert!(kv_value(&w, "ORD-1").starts_with("{\"viewVersion\":4,"));
    assert_eq!(answer(&w), CachedAnswer::View(render(&snapshot)));
    // Healing leaves a value that is what it would write.
    let writes = w.kv.writes.get();
    block_on(w.service().admin_view("ORD-1")).unwrap();
    assert_eq!(w.kv.writes.get(), writes);

    // Views not kept: the snapshot is answered, whatever the value holds.
    w.settings.cached_view = None;
    assert_eq!(answer(&w), rendered);
}

#[test]
fn a_miss_reads_d1_and_keeps_the_view() {
    let w = world(Some(VIEW));
    w.kv.entries.borrow_mut().remove(&snapshot_key("ORD-1"));
    w.clock.advance(Duration::minutes(1));
    let first = block_on(w.service().track_cached("ORD-1", &customer("cust-1"))).unwrap();
    assert!(matches!(
        first,
        CachedAnswer::Outcome(TrackOutcome::Tracking {
            source: Source::Cached,
            ..
        })
    ));
    let again = block_on(w.service().track_cached("ORD-1", &customer("cust-1"))).unwrap();
    assert_eq!(again, CachedAnswer::View(render(&stored(&w, "ORD-1"))));
}

#[test]
fn a_value_written_without_a_view_is_answered_from_its_snapshot() {
    let mut w = world(None);
    assert!(!kv_value(&w, "ORD-1").contains('\n'));
    w.settings.cached_view = Some(VIEW);
    let reads = w.kv.reads.get();
    let answer = block_on(w.service().track_cached("ORD-1", &customer("cust-1"))).unwrap();
    assert_eq!(
        answer,
        CachedAnswer::Outcome(TrackOutcome::Tracking {
            snapshot: Box::new(stored(&w, "ORD-1")),
            source: Source::Cached,
        })
    );
    assert_eq!(
        w.kv.reads.get(),
        reads + 1,
        "one KV read, shared by both parses"
    );
}

#[test]
fn views_are_the_same_when_their_versions_are() {
    fn another_renderer(_: &Snapshot) -> String {
        String::new()
    }
    assert_eq!(
        VIEW,
        CachedView {
            render: another_renderer,
            ..VIEW
        }
    );
    assert_ne!(VIEW, CachedView { version: 4, ..VIEW });
}
