//! Registering orders, one or many at a time, over the in-memory ports (D1's semantics: a
//! unique waybill, all-or-nothing batches): the decision each order gets, duplicates within a
//! request, chunks that fail alone, KV snapshots, and what a request costs.

use chrono::Duration;
use pollster::block_on;
use tracking_core::access::Access;
use tracking_core::model::ShippingStatus;
use tracking_core::ports::{OrderInput, OrderUpsert, SyncStore};
use tracking_core::service::intake::{CHUNK_ORDERS, IntakeLine, LineOutcome, LineResult};
use tracking_core::service::{ServiceError, snapshot_key};
use tracking_core::testing::ScriptedCarrier;

type World = tracking_core::testing::World<ScriptedCarrier>;

fn world() -> World {
    World::new(ScriptedCarrier::default())
}

fn input(customer: &str, status: &str, awb: Option<&str>) -> OrderInput {
    OrderInput {
        customer_id: customer.into(),
        order_status: status.into(),
        created_at: None,
        awb_no: awb.map(str::to_owned),
    }
}

fn line(line: usize, id: &str, input: OrderInput) -> IntakeLine {
    IntakeLine {
        line,
        order: OrderUpsert {
            order_id: id.into(),
            input,
        },
    }
}

/// `n` new orders BULK-00001… for cust-1, each with its own waybill, on lines 1…n.
fn many(n: usize) -> Vec<IntakeLine> {
    (1..=n)
        .map(|i| {
            let awb = format!("7{i:010}");
            line(
                i,
                &format!("BULK-{i:05}"),
                input("cust-1", "Shipped", Some(&awb)),
            )
        })
        .collect()
}

fn code(result: &LineResult) -> &'static str {
    match &result.outcome {
        LineOutcome::Failed { code, .. } => code,
        other => panic!("line {} did not fail: {other:?}", result.line),
    }
}

fn counts(results: &[LineResult]) -> (usize, usize, usize) {
    let created = results
        .iter()
        .filter(|r| r.outcome == LineOutcome::Created)
        .count();
    let updated = results
        .iter()
        .filter(|r| matches!(r.outcome, LineOutcome::Updated { .. }))
        .count();
    (created, updated, results.len() - created - updated)
}

#[test]
fn a_put_giving_an_order_another_waybill_is_awb_exists() {
    let w = world();
    let service = w.service();
    block_on(service.put_order("ORD-1", &input("cust-1", "Shipped", Some("81234567890")))).unwrap();
    block_on(service.put_order("ORD-2", &input("cust-1", "Shipped", Some("81234567891")))).unwrap();
    let conflict =
        |id, awb| match block_on(service.put_order(id, &input("cust-1", "Shipped", Some(awb)))) {
            Err(ServiceError::Conflict { code, .. }) => code,
            other => panic!("expected a conflict, got {other:?}"),
        };
    assert_eq!(conflict("ORD-1", "81234567899"), "AWB_EXISTS");
    assert_eq!(conflict("ORD-1", "81234567891"), "AWB_IN_USE");
    assert_eq!(conflict("ORD-3", "81234567891"), "AWB_IN_USE");
    // The same waybill again is an update, and nothing was written by the refusals.
    let (snapshot, created) =
        block_on(service.put_order("ORD-1", &input("cust-1", "Shipped", Some("81234567890"))))
            .unwrap();
    assert!(!created);
    assert_eq!(snapshot.order.awb_no.as_deref(), Some("81234567890"));
    assert!(w.store.order("ORD-3").is_none());
}

#[test]
fn many_orders_are_created_in_chunks_and_are_due_for_the_next_sync() {
    let w = world();
    let lines = many(250);
    let results = block_on(w.service().put_orders(&lines));
    assert_eq!(counts(&results), (250, 0, 0));
    assert!(results.iter().enumerate().all(|(i, r)| r.line == i + 1));
    // Three chunks, each one check and one batch.
    assert_eq!(w.store.count("orders_for_intake"), 3);
    assert_eq!(w.store.count("upsert_orders"), 3);
    assert_eq!(250_usize.div_ceil(CHUNK_ORDERS), 3);
    let order = w.store.order("BULK-00250").unwrap();
    assert_eq!(order.shipping_status, ShippingStatus::InTransit);
    assert_eq!(order.awb_no.as_deref(), Some("70000000250"));
    let now = w.clock.0.get();
    let due = block_on(w.store.take_due(now, now, 1000)).unwrap();
    assert_eq!(due.len(), 250);
    assert_eq!(
        w.kv.deletes.get() + w.kv.writes.get(),
        0,
        "creating costs no KV"
    );
}

#[test]
fn posting_the_same_orders_again_updates_them_and_touches_nothing_else() {
    let w = world();
    let lines = many(120);
    block_on(w.service().put_orders(&lines));
    w.clock.advance(Duration::minutes(5));
    let again = block_on(w.service().put_orders(&lines));
    assert_eq!(counts(&again), (0, 120, 0));
    assert!(again.iter().all(|r| r.outcome
        == LineOutcome::Updated {
            cache_repair: false
        }));
    assert_eq!(w.kv.deletes.get(), 0, "nothing a customer sees changed");
    let now = w.clock.0.get();
    let due = block_on(w.store.take_due(now, now, 1000)).unwrap();
    assert_eq!(due.len(), 120, "no order twice");
}

#[test]
fn duplicates_within_a_request_are_refused_on_the_later_line() {
    let w = world();
    let lines = vec![
        line(1, "ORD-1", input("cust-1", "Pending", Some("81234567890"))),
        line(2, "ORD-1", input("cust-2", "Pending", None)),
        line(3, "ORD-2", input("cust-1", "Pending", Some("81234567890"))),
        line(5, "ORD-3", input("cust-1", "Pending", None)),
    ];
    let results = block_on(w.service().put_orders(&lines));
    assert_eq!(results.len(), 4);
    assert_eq!(results[0].outcome, LineOutcome::Created);
    assert_eq!(code(&results[1]), "DUPLICATE_ORDER_ID");
    assert_eq!(code(&results[2]), "DUPLICATE_AWB");
    match &results[2].outcome {
        LineOutcome::Failed { message, .. } => assert!(message.contains("line 1"), "{message}"),
        _ => unreachable!(),
    }
    assert_eq!(
        (results[3].line, &results[3].outcome),
        (5, &LineOutcome::Created)
    );
    assert_eq!(w.store.order("ORD-1").unwrap().customer_id, "cust-1");
    assert!(w.store.order("ORD-2").is_none());
}

#[test]
fn waybill_conflicts_are_refused_per_line_and_the_rest_of_the_chunk_lands() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    let lines = vec![
        line(1, "ORD-2", input("cust-1", "Shipped", Some("81234567890"))),
        line(2, "ORD-1", input("cust-1", "Shipped", Some("81234567899"))),
        line(3, "ORD-3", input("cust-1", "Shipped", Some("81234567891"))),
        line(4, "ORD-1", input("cust-1", "Shipped", Some("81234567890"))),
    ];
    let results = block_on(w.service().put_orders(&lines));
    assert_eq!(code(&results[0]), "AWB_IN_USE");
    assert_eq!(code(&results[1]), "AWB_EXISTS");
    assert_eq!(results[2].outcome, LineOutcome::Created);
    // Line 4 repeats ORD-1 from line 2, which was refused: only the first line that stands counts.
    assert_eq!(code(&results[3]), "DUPLICATE_ORDER_ID");
    assert!(w.store.order("ORD-2").is_none());
    assert_eq!(
        w.store.order("ORD-1").unwrap().awb_no.as_deref(),
        Some("81234567890")
    );
}

#[test]
fn a_chunk_that_fails_is_failed_whole_and_the_others_land() {
    let w = world();
    // Line 150 is in the second chunk (lines 101-200).
    *w.store.refuse_order.borrow_mut() = Some("BULK-00150".into());
    let results = block_on(w.service().put_orders(&many(250)));
    assert_eq!(counts(&results), (150, 0, 100));
    for r in &results {
        let in_second = (101..=200).contains(&r.line);
        assert_eq!(
            matches!(r.outcome, LineOutcome::Failed { .. }),
            in_second,
            "line {}",
            r.line
        );
        assert_eq!(w.store.order(&r.order_id).is_some(), !in_second);
    }
    match &results[100].outcome {
        LineOutcome::Failed { code, message } => {
            assert_eq!(*code, "STORAGE_UNAVAILABLE");
            assert!(message.contains("lines 101-200"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(w.log.lines().iter().any(|l| {
        l.contains("[INTAKE] 250 orders: 150 created, 0 updated, 100 failed (3 chunks, 1 failed)")
    }));
}

#[test]
fn a_store_that_is_down_fails_every_chunk() {
    let w = world();
    w.store.failing.set(true);
    let results = block_on(w.service().put_orders(&many(3)));
    assert!(results.iter().all(|r| code(r) == "STORAGE_UNAVAILABLE"));
}

#[test]
fn an_update_customers_would_see_deletes_the_kv_snapshot() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.shipped("ORD-2", "81234567891");
    w.shipped("ORD-3", "81234567892");
    // Cache all three, as customers' reads would.
    for id in ["ORD-1", "ORD-2", "ORD-3"] {
        block_on(
            w.service()
                .track(id, &Access::Customer("cust-1".into()), false),
        )
        .unwrap();
        assert!(w.kv.entries.borrow().contains_key(&snapshot_key(id)));
    }
    let lines = vec![
        line(1, "ORD-1", input("cust-2", "Processing", None)),
        line(2, "ORD-2", input("cust-1", "Delivered", None)),
        line(3, "ORD-3", input("cust-1", "Shipped", None)),
    ];
    let results = block_on(w.service().put_orders(&lines));
    assert_eq!(counts(&results), (0, 3, 0));
    let entries = w.kv.entries.borrow();
    assert!(!entries.contains_key(&snapshot_key("ORD-1")), "new owner");
    assert!(!entries.contains_key(&snapshot_key("ORD-2")), "new status");
    assert!(entries.contains_key(&snapshot_key("ORD-3")), "nothing new");
    drop(entries);
    // The old owner no longer reads ORD-1.
    assert_eq!(
        block_on(
            w.service()
                .track("ORD-1", &Access::Customer("cust-1".into()), false)
        ),
        Err(ServiceError::NotFound)
    );
}

#[test]
fn a_kv_snapshot_that_cannot_be_deleted_is_noted_for_repair() {
    let w = world();
    w.shipped("ORD-1", "81234567890");
    w.shipped("ORD-2", "81234567891");
    w.kv.failing.set(true);
    let lines = vec![
        line(1, "ORD-1", input("cust-2", "Shipped", None)),
        line(2, "ORD-2", input("cust-1", "Shipped", None)),
    ];
    let results = block_on(w.service().put_orders(&lines));
    assert_eq!(
        results[0].outcome,
        LineOutcome::Updated { cache_repair: true }
    );
    assert_eq!(
        results[1].outcome,
        LineOutcome::Updated {
            cache_repair: false
        }
    );
    assert_eq!(w.store.kv_repairs(), vec!["ORD-1".to_owned()]);
    assert_eq!(w.store.count("mark_kv_stale"), 1);
    assert_eq!(w.store.order("ORD-1").unwrap().customer_id, "cust-2");
}

#[test]
fn an_update_gives_a_waybill_once_and_keeps_the_creation_time() {
    let w = world();
    let created_at = w.clock.0.get() - Duration::days(2);
    let mut first = input("cust-1", "Processing", None);
    first.created_at = Some(created_at);
    block_on(w.service().put_orders(&[line(1, "ORD-1", first)]));
    assert_eq!(
        w.store.order("ORD-1").unwrap().shipping_status,
        ShippingStatus::Pending
    );
    w.clock.advance(Duration::hours(1));
    let results = block_on(w.service().put_orders(&[line(
        1,
        "ORD-1",
        input("cust-1", "Shipped", Some("81234567890")),
    )]));
    assert_eq!(
        results[0].outcome,
        LineOutcome::Updated {
            cache_repair: false
        }
    );
    let order = w.store.order("ORD-1").unwrap();
    assert_eq!(order.created_at, created_at);
    assert_eq!(order.shipping_status, ShippingStatus::InTransit);
    assert_eq!(order.last_progress_at, Some(w.clock.0.get()));
}
