//! What the storage ports promise, as one suite run against every backend: the in-memory store
//! natively (`crates/core/tests/store_contract.rs`) and D1 inside the worker under
//! `wrangler dev` (`tests/store_contract.rs`, through the worker built with its
//! `store-contract` feature). Each case starts from an empty store; the two runners provide it.
//! A case answers `Err` with what differed, so a D1 run reports it over HTTP.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::carrier::RawJson;
use crate::model::{Location, Order, ShippingStatus, Status, TrackingEvent};
use crate::ports::{
    AttachOutcome, CarrierHealth, DueShipment, OrderInput, OrderUpsert, PUSH_DELIVERIES_KEPT_DAYS,
    Store, StoreError,
};
use crate::push::PushCounts;
use crate::rules::budget::Spent;
use crate::rules::merge::{OrderSync, RawBody, RawResponse};
use crate::runs::{RUNS_KEPT, RunStatus, RunTally, SyncRun, Trigger};
use crate::webhooks::{Attempt, AttemptRecord, DeliveryState, Endpoint, WebhookEvent};

/// Every case, by name.
pub const CASES: &[&str] = &[
    "new_orders_take_their_status_from_the_waybill",
    "snapshots_come_in_the_order_asked",
    "updates_keep_creation_time_and_waybill",
    "upserts_are_all_or_nothing",
    "intake_finds_orders_by_id_and_by_waybill",
    "attaching_reports_each_outcome",
    "due_shipments_are_taken_longest_waiting_first",
    "enqueued_marks_are_retaken_and_released",
    "saved_syncs_apply_every_field",
    "saved_events_are_kept_once",
    "saves_from_an_older_version_write_nothing",
    "sync_errors_are_noted",
    "refresh_claims_hold_until_not_before",
    "runs_are_listed_newest_first",
    "finishing_a_run_prunes_all_but_the_latest_kept",
    "consumer_tallies_add_up_and_complete_a_run",
    "kv_repairs_come_oldest_first",
    "kv_holds_until_its_time",
    "kv_write_budget_is_per_day",
    "pushes_add_up",
    "breaker_opens_at_threshold_and_allows_one_trial",
    "webhook_messages_are_recorded_once_for_enabled_subscribers",
    "webhook_attempts_replays_and_endpoints_read_back",
    "webhook_deliveries_of_an_order_wait_for_earlier_ones",
];

/// Runs one case against `store`, which must be empty. `None` for an unknown name.
pub async fn run<S: Store + CarrierHealth>(case: &str, store: &S) -> Option<Result<(), String>> {
    let result = match case {
        "new_orders_take_their_status_from_the_waybill" => new_orders(store).await,
        "snapshots_come_in_the_order_asked" => snapshot_order(store).await,
        "updates_keep_creation_time_and_waybill" => updates(store).await,
        "upserts_are_all_or_nothing" => all_or_nothing(store).await,
        "intake_finds_orders_by_id_and_by_waybill" => intake(store).await,
        "attaching_reports_each_outcome" => attaching(store).await,
        "due_shipments_are_taken_longest_waiting_first" => due_order(store).await,
        "enqueued_marks_are_retaken_and_released" => retake_release(store).await,
        "saved_syncs_apply_every_field" => saved_fields(store).await,
        "saved_events_are_kept_once" => saved_events(store).await,
        "saves_from_an_older_version_write_nothing" => versioned_saves(store).await,
        "sync_errors_are_noted" => sync_errors(store).await,
        "refresh_claims_hold_until_not_before" => claims(store).await,
        "runs_are_listed_newest_first" => runs_listed(store).await,
        "finishing_a_run_prunes_all_but_the_latest_kept" => runs_pruned(store).await,
        "consumer_tallies_add_up_and_complete_a_run" => tallies(store).await,
        "kv_repairs_come_oldest_first" => kv_repairs(store).await,
        "kv_holds_until_its_time" => kv_held(store).await,
        "kv_write_budget_is_per_day" => kv_budget(store).await,
        "pushes_add_up" => pushes(store).await,
        "breaker_opens_at_threshold_and_allows_one_trial" => breaker(store).await,
        "webhook_messages_are_recorded_once_for_enabled_subscribers" => {
            webhook_messages(store).await
        }
        "webhook_attempts_replays_and_endpoints_read_back" => webhook_attempts(store).await,
        "webhook_deliveries_of_an_order_wait_for_earlier_ones" => webhook_order(store).await,
        _ => return None,
    };
    Some(result)
}

type Outcome = Result<(), String>;

fn io(e: StoreError) -> String {
    format!("store error: {}", e.0)
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Outcome {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// 2026-11-24 10:00 UTC plus `minutes`.
fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn input(customer: &str, awb: Option<&str>) -> OrderInput {
    OrderInput {
        customer_id: customer.into(),
        order_status: "Processing".into(),
        created_at: None,
        awb_no: awb.map(str::to_owned),
    }
}

async fn put<S: Store>(store: &S, id: &str, awb: Option<&str>, now: DateTime<Utc>) -> Outcome {
    let upsert = OrderUpsert {
        order_id: id.into(),
        input: input("cust-1", awb),
    };
    store.upsert_orders(&[upsert], now).await.map_err(io)
}

async fn order<S: Store>(store: &S, id: &str) -> Result<Order, String> {
    store
        .snapshot(id)
        .await
        .map_err(io)?
        .map(|s| s.order)
        .ok_or_else(|| format!("order {id} is missing"))
}

fn scan(awb: &str, code: &str, status: Status, at: DateTime<Utc>) -> TrackingEvent {
    TrackingEvent {
        awb_no: awb.into(),
        carrier_status: format!("SCAN {code}"),
        status,
        description: format!("scan {code}"),
        scan_code: code.into(),
        location: Location {
            facility: "BHIWANDI HUB".into(),
            city: "Bhiwandi".into(),
            state: "Maharashtra".into(),
            country: "India".into(),
        },
        event_at: at,
        place_key: "bhiwandi".into(),
    }
}

/// A sync of `id` at `synced_at` that changes nothing but its schedule.
fn sync(id: &str, synced_at: DateTime<Utc>) -> OrderSync {
    OrderSync {
        order_id: id.into(),
        events: Vec::new(),
        latest: None,
        shipping_status: ShippingStatus::InTransit,
        order_status: "Shipped".into(),
        expected_delivery: None,
        synced_at,
        raw: None,
        next_check_at: None,
        last_progress_at: None,
        polling_stopped_at: None,
        kv_held_until: None,
        moves_version: false,
        from_version: 0,
    }
}

/// Saves `syncs` as the service plans them, from the orders as stored now (their versions read
/// first); the save must be carried out.
async fn save_planned<S: Store>(
    store: &S,
    syncs: &[OrderSync],
    messages: &[WebhookEvent],
    now: DateTime<Utc>,
) -> Outcome {
    let mut planned = Vec::with_capacity(syncs.len());
    for sync in syncs {
        let stored = store.snapshot(&sync.order_id).await.map_err(io)?;
        planned.push(OrderSync {
            from_version: stored.map_or(0, |s| s.order.version),
            ..sync.clone()
        });
    }
    let done = store
        .save_syncs(&planned, messages, now)
        .await
        .map_err(io)?;
    same("the save carried out", done, true)
}

async fn new_orders<S: Store>(store: &S) -> Outcome {
    put(store, "ORD-A", None, at(0)).await?;
    put(store, "ORD-B", Some("100000001"), at(0)).await?;
    let a = order(store, "ORD-A").await?;
    same(
        "order without waybill",
        a.shipping_status,
        ShippingStatus::Pending,
    )?;
    same("its waybill", a.awb_no, None)?;
    same("its creation time (none given)", a.created_at, at(0))?;
    same("its progress time", a.last_progress_at, None)?;
    let b = order(store, "ORD-B").await?;
    same(
        "order with waybill",
        b.shipping_status,
        ShippingStatus::InTransit,
    )?;
    same("its waybill", b.awb_no.as_deref(), Some("100000001"))?;
    same("its progress time", b.last_progress_at, Some(at(0)))?;
    same("its courier", b.courier.as_str(), "bluedart")?;
    same("its next check", b.next_check_at, None)?;
    let history = store.snapshot("ORD-B").await.map_err(io)?.unwrap();
    same("history of an imported waybill", history.events.len(), 0)
}

async fn snapshot_order<S: Store>(store: &S) -> Outcome {
    for id in ["ORD-1", "ORD-2", "ORD-3"] {
        put(store, id, None, at(0)).await?;
    }
    let asked = ids(&["ORD-3", "ORD-NONE", "ORD-1", "ORD-2"]);
    let got: Vec<String> = store
        .snapshots(&asked)
        .await
        .map_err(io)?
        .into_iter()
        .map(|s| s.order.id)
        .collect();
    same(
        "snapshots, unknown left out",
        got,
        ids(&["ORD-3", "ORD-1", "ORD-2"]),
    )
}

async fn updates<S: Store>(store: &S) -> Outcome {
    let created = at(-600);
    let first = OrderUpsert {
        order_id: "ORD-A".into(),
        input: OrderInput {
            created_at: Some(created),
            ..input("cust-1", Some("100000001"))
        },
    };
    store.upsert_orders(&[first], at(0)).await.map_err(io)?;
    let second = OrderUpsert {
        order_id: "ORD-A".into(),
        input: OrderInput {
            order_status: "Packed".into(),
            ..input("cust-2", Some("100000002"))
        },
    };
    store.upsert_orders(&[second], at(5)).await.map_err(io)?;
    let a = order(store, "ORD-A").await?;
    same("customer", a.customer_id.as_str(), "cust-2")?;
    same("order status", a.order_status.as_str(), "Packed")?;
    same("waybill kept", a.awb_no.as_deref(), Some("100000001"))?;
    same("creation kept", a.created_at, created)?;
    same("updated", a.updated_at, at(5))?;

    put(store, "ORD-C", None, at(0)).await?;
    put(store, "ORD-C", Some("100000003"), at(7)).await?;
    let c = order(store, "ORD-C").await?;
    same("waybill taken", c.awb_no.as_deref(), Some("100000003"))?;
    same(
        "then in transit",
        c.shipping_status,
        ShippingStatus::InTransit,
    )?;
    same("progress from then", c.last_progress_at, Some(at(7)))
}

async fn all_or_nothing<S: Store>(store: &S) -> Outcome {
    put(store, "ORD-P", Some("100000009"), at(0)).await?;
    let batch = [
        OrderUpsert {
            order_id: "ORD-Q".into(),
            input: input("cust-1", None),
        },
        OrderUpsert {
            order_id: "ORD-R".into(),
            input: input("cust-1", Some("100000009")),
        },
    ];
    if store.upsert_orders(&batch, at(1)).await.is_ok() {
        return Err("a second order with a held waybill was accepted".into());
    }
    let left = store
        .snapshots(&ids(&["ORD-Q", "ORD-R"]))
        .await
        .map_err(io)?;
    same("orders written by the failed batch", left.len(), 0)
}

async fn intake<S: Store>(store: &S) -> Outcome {
    put(store, "ORD-A", None, at(0)).await?;
    put(store, "ORD-B", Some("100000001"), at(0)).await?;
    put(store, "ORD-C", Some("100000002"), at(0)).await?;
    let mut found: Vec<String> = store
        .orders_for_intake(&ids(&["ORD-A", "ORD-X"]), &ids(&["100000001", "199999999"]))
        .await
        .map_err(io)?
        .into_iter()
        .map(|o| o.id)
        .collect();
    found.sort();
    same("orders by id or waybill", found, ids(&["ORD-A", "ORD-B"]))
}

async fn attaching<S: Store>(store: &S) -> Outcome {
    put(store, "ORD-A", None, at(0)).await?;
    put(store, "ORD-B", Some("100000001"), at(0)).await?;
    let attach = |id: &'static str, awb: &'static str| async move {
        store
            .attach_awb(id, &TrackingEvent::booked(awb, at(1)), at(1), &no_messages)
            .await
            .map_err(io)
    };
    same(
        "a waybill another order holds",
        attach("ORD-A", "100000001").await?,
        AttachOutcome::UsedByOrder("ORD-B".into()),
    )?;
    same(
        "an unknown order",
        attach("ORD-NONE", "100000002").await?,
        AttachOutcome::NoSuchOrder,
    )?;
    same(
        "a free waybill",
        attach("ORD-A", "100000002").await?,
        AttachOutcome::Attached,
    )?;
    let snapshot = store.snapshot("ORD-A").await.map_err(io)?.unwrap();
    same(
        "waybill",
        snapshot.order.awb_no.as_deref(),
        Some("100000002"),
    )?;
    same(
        "status",
        snapshot.order.shipping_status,
        ShippingStatus::InTransit,
    )?;
    same(
        "order status",
        snapshot.order.order_status.as_str(),
        "Shipped",
    )?;
    same("progress", snapshot.order.last_progress_at, Some(at(1)))?;
    let booked = TrackingEvent::booked("100000002", at(1));
    same("history", snapshot.events, vec![booked.clone()])?;
    same("latest", snapshot.latest, Some(booked))?;
    same(
        "the same waybill again",
        attach("ORD-A", "100000002").await?,
        AttachOutcome::AlreadyAttached,
    )?;
    same(
        "another waybill",
        attach("ORD-A", "100000003").await?,
        AttachOutcome::OrderHasAnother("100000002".into()),
    )
}

/// Shipments in every state the due query must tell apart.
async fn due_fixture<S: Store>(store: &S) -> Outcome {
    for (id, awb) in [
        ("ORD-NEW", Some("100000001")),
        ("ORD-LATE2H", Some("100000002")),
        ("ORD-LATE1H", Some("100000003")),
        ("ORD-LATER", Some("100000004")),
        ("ORD-STOPPED", Some("100000005")),
        ("ORD-DONE", Some("100000006")),
        ("ORD-NOAWB", None),
    ] {
        put(store, id, awb, at(-300)).await?;
    }
    let syncs = [
        OrderSync {
            next_check_at: Some(at(-120)),
            ..sync("ORD-LATE2H", at(-200))
        },
        OrderSync {
            next_check_at: Some(at(-60)),
            ..sync("ORD-LATE1H", at(-200))
        },
        OrderSync {
            next_check_at: Some(at(60)),
            ..sync("ORD-LATER", at(-200))
        },
        OrderSync {
            polling_stopped_at: Some(at(-200)),
            ..sync("ORD-STOPPED", at(-200))
        },
        OrderSync {
            shipping_status: ShippingStatus::Delivered,
            order_status: "Delivered".into(),
            ..sync("ORD-DONE", at(-200))
        },
    ];
    save_planned(store, &syncs, &[], at(0)).await
}

fn taken(due: Vec<DueShipment>) -> Vec<String> {
    due.into_iter().map(|d| d.order_id).collect()
}

async fn due_order<S: Store>(store: &S) -> Outcome {
    due_fixture(store).await?;
    let first = store.take_due(at(0), at(-180), 2).await.map_err(io)?;
    same(
        "first two taken",
        first.clone(),
        vec![
            DueShipment {
                order_id: "ORD-NEW".into(),
                awb_no: "100000001".into(),
            },
            DueShipment {
                order_id: "ORD-LATE2H".into(),
                awb_no: "100000002".into(),
            },
        ],
    )?;
    let rest = store.take_due(at(0), at(-180), 10).await.map_err(io)?;
    same("the rest", taken(rest), ids(&["ORD-LATE1H"]))?;
    let again = store.take_due(at(1), at(-179), 10).await.map_err(io)?;
    same("taken again while enqueued", taken(again), Vec::new())?;
    same(
        "backlog",
        store.backlog().await.map_err(io)?,
        (3, Some(at(0))),
    )
}

async fn retake_release<S: Store>(store: &S) -> Outcome {
    due_fixture(store).await?;
    store.take_due(at(0), at(-180), 1).await.map_err(io)?;
    store.take_due(at(10), at(-170), 1).await.map_err(io)?;
    // Marks from before `retake_before` are lost messages: taken again, and marked anew.
    let retaken = store.take_due(at(20), at(5), 10).await.map_err(io)?;
    same(
        "retaken with the never-taken",
        taken(retaken),
        ids(&["ORD-NEW", "ORD-LATE1H"]),
    )?;
    same(
        "backlog",
        store.backlog().await.map_err(io)?,
        (3, Some(at(10))),
    )?;
    store.release(&ids(&["ORD-LATE2H"])).await.map_err(io)?;
    same(
        "backlog after release",
        store.backlog().await.map_err(io)?,
        (2, Some(at(20))),
    )?;
    let released = store.take_due(at(21), at(0), 10).await.map_err(io)?;
    same(
        "released is due again",
        taken(released),
        ids(&["ORD-LATE2H"]),
    )
}

async fn saved_fields<S: Store>(store: &S) -> Outcome {
    put(store, "ORD-A", Some("100000001"), at(0)).await?;
    put(store, "ORD-B", Some("100000002"), at(0)).await?;
    store.take_due(at(1), at(-60), 10).await.map_err(io)?;
    let delivery = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let saved = OrderSync {
        shipping_status: ShippingStatus::Delivered,
        order_status: "Delivered".into(),
        expected_delivery: Some(delivery),
        raw: Some(RawResponse {
            http_status: 200,
            body: RawBody::Cut("<ShipmentData/>".into()),
        }),
        next_check_at: Some(at(50)),
        last_progress_at: Some(at(4)),
        polling_stopped_at: Some(at(5)),
        ..sync("ORD-A", at(5))
    };
    // A whole answer is JSON, stored as the text it is, escapes and all.
    let whole = r#"[{"WaybillNo":"100000002","Scans":[{"Scan":"SHIPMENT \"ARRIVED\" à KOCHI\n","ScanCode":"001\u0000"}]}]"#;
    let whole_sync = OrderSync {
        raw: Some(RawResponse {
            http_status: 200,
            body: RawBody::Whole(RawJson::parse(whole.into()).map_err(|e| e.to_string())?),
        }),
        ..sync("ORD-B", at(5))
    };
    save_planned(store, &[saved, whole_sync], &[], at(0)).await?;
    let b = store
        .carrier_response("ORD-B")
        .await
        .map_err(io)?
        .ok_or("the whole answer was not kept")?;
    same("whole body", b.body.as_str(), whole)?;
    same("whole truncated", b.truncated, false)?;
    let a = order(store, "ORD-A").await?;
    same("status", a.shipping_status, ShippingStatus::Delivered)?;
    same("order status", a.order_status.as_str(), "Delivered")?;
    same(
        "expected delivery",
        a.expected_delivery_date,
        Some(delivery),
    )?;
    same("synced", a.last_synced_at, Some(at(5)))?;
    same("updated", a.updated_at, at(5))?;
    same("next check", a.next_check_at, Some(at(50)))?;
    same("progress", a.last_progress_at, Some(at(4)))?;
    same("polling stopped", a.polling_stopped_at, Some(at(5)))?;
    same(
        "enqueued mark cleared",
        store.backlog().await.map_err(io)?,
        (0, None),
    )?;
    let raw = store
        .carrier_response("ORD-A")
        .await
        .map_err(io)?
        .ok_or("the raw answer was not kept")?;
    same("raw fetched", raw.fetched_at, at(5))?;
    same("raw status", raw.http_status, 200)?;
    same("raw body", raw.body.as_str(), "<ShipmentData/>")?;
    same("raw truncated", raw.truncated, true)
}

/// Versions move with intake, attaches and syncs that change the tracking, and a batch with a
/// save planned from a version its order has left writes nothing, its other orders and webhook
/// messages included.
async fn versioned_saves<S: Store>(store: &S) -> Outcome {
    let version = |id: &'static str| async move { order(store, id).await.map(|o| o.version) };
    put(store, "ORD-A", None, at(0)).await?;
    same("a new order", version("ORD-A").await?, 1)?;
    put(store, "ORD-A", None, at(1)).await?;
    same("after an update", version("ORD-A").await?, 2)?;
    store
        .attach_awb(
            "ORD-A",
            &TrackingEvent::booked("100000001", at(2)),
            at(2),
            &no_messages,
        )
        .await
        .map_err(io)?;
    same("after an attach", version("ORD-A").await?, 3)?;
    save_planned(store, &[sync("ORD-A", at(3))], &[], at(3)).await?;
    store
        .record_sync_error(&ids(&["ORD-A"]), "timeout", Some(at(60)))
        .await
        .map_err(io)?;
    same(
        "after a sync of the schedule alone and a sync error",
        version("ORD-A").await?,
        3,
    )?;
    let moving = OrderSync {
        order_status: "Processing".into(),
        moves_version: true,
        ..sync("ORD-A", at(4))
    };
    save_planned(store, &[moving], &[], at(4)).await?;
    same(
        "after a sync that changes the tracking",
        version("ORD-A").await?,
        4,
    )?;
    let changed = crate::webhooks::STATUS_CHANGED;
    store
        .create_endpoint(&endpoint("ep_a", &[changed], true))
        .await
        .map_err(io)?;
    put(store, "ORD-B", None, at(4)).await?;
    let hub = scan("100000001", "S/002", Status::InTransit, at(4));
    let news = OrderSync {
        events: vec![hub.clone()],
        latest: Some(hub.clone()),
        order_status: "Delivered".into(),
        moves_version: true,
        ..sync("ORD-A", at(5))
    };
    let other = OrderSync {
        order_status: "Delivered".into(),
        moves_version: true,
        from_version: 1,
        ..sync("ORD-B", at(5))
    };
    let messages = [message("msg_1", changed, "ORD-A", 0)];
    // One order of the batch planned from a version it has left: nothing of the batch is
    // written, the other order and the messages included.
    same(
        "a batch with a save from version 3",
        store
            .save_syncs(
                &[
                    OrderSync {
                        from_version: 3,
                        ..news.clone()
                    },
                    other.clone(),
                ],
                &messages,
                at(5),
            )
            .await
            .map_err(io)?,
        false,
    )?;
    let kept = store.snapshot("ORD-A").await.map_err(io)?.unwrap();
    same("its events", kept.events.len(), 1)?;
    same("its order", kept.order.order_status.as_str(), "Processing")?;
    same("its version", kept.order.version, 4)?;
    same(
        "the other order",
        order(store, "ORD-B").await?.order_status,
        "Processing".to_owned(),
    )?;
    same("its messages", delivered_to(store, "ep_a").await?, vec![])?;
    same(
        "the batch from versions 4 and 1",
        store
            .save_syncs(
                &[
                    OrderSync {
                        from_version: 4,
                        ..news.clone()
                    },
                    other,
                ],
                &messages,
                at(5),
            )
            .await
            .map_err(io)?,
        true,
    )?;
    same(
        "the other order",
        order(store, "ORD-B").await?.order_status,
        "Delivered".to_owned(),
    )?;
    let saved = store.snapshot("ORD-A").await.map_err(io)?.unwrap();
    same("its latest", saved.latest, Some(hub))?;
    same("its order", saved.order.order_status.as_str(), "Delivered")?;
    same("its version", saved.order.version, 5)?;
    let delivered = delivered_to(store, "ep_a").await?;
    same(
        "its messages",
        delivered.into_iter().map(|(_, m)| m).collect::<Vec<_>>(),
        ids(&["msg_1"]),
    )
}

async fn saved_events<S: Store>(store: &S) -> Outcome {
    put(store, "ORD-A", None, at(0)).await?;
    store
        .attach_awb(
            "ORD-A",
            &TrackingEvent::booked("100000001", at(0)),
            at(0),
            &no_messages,
        )
        .await
        .map_err(io)?;
    let picked = scan("100000001", "S/015", Status::InTransit, at(30));
    let hub = scan("100000001", "S/002", Status::InTransit, at(90));
    let out = scan("100000001", "T/003", Status::OutForDelivery, at(150));
    let first = OrderSync {
        events: vec![hub.clone(), picked.clone()],
        latest: Some(hub.clone()),
        ..sync("ORD-A", at(100))
    };
    save_planned(store, &[first], &[], at(0)).await?;
    // A redelivered answer brings `hub` again, with one new scan.
    let second = OrderSync {
        events: vec![hub.clone(), out.clone()],
        latest: Some(out.clone()),
        ..sync("ORD-A", at(160))
    };
    save_planned(store, &[second], &[], at(0)).await?;
    let snapshot = store.snapshot("ORD-A").await.map_err(io)?.unwrap();
    let booked = TrackingEvent::booked("100000001", at(0));
    same(
        "history, by event time, each once",
        snapshot.events,
        vec![booked, picked, hub, out.clone()],
    )?;
    same("latest", snapshot.latest, Some(out.clone()))?;
    save_planned(store, &[sync("ORD-A", at(200))], &[], at(0)).await?;
    let kept = store.snapshot("ORD-A").await.map_err(io)?.unwrap();
    same(
        "latest left alone by a sync without one",
        kept.latest,
        Some(out),
    )
}

async fn sync_errors<S: Store>(store: &S) -> Outcome {
    put(store, "ORD-A", Some("100000001"), at(0)).await?;
    store.take_due(at(1), at(-60), 10).await.map_err(io)?;
    store
        .record_sync_error(&ids(&["ORD-A"]), "carrier said 503", None)
        .await
        .map_err(io)?;
    let a = order(store, "ORD-A").await?;
    same(
        "error",
        a.last_sync_error.as_deref(),
        Some("carrier said 503"),
    )?;
    same("next check untouched", a.next_check_at, None)?;
    same("still enqueued", store.backlog().await.map_err(io)?.0, 1)?;
    store
        .record_sync_error(&ids(&["ORD-A"]), "gave up", Some(at(120)))
        .await
        .map_err(io)?;
    let a = order(store, "ORD-A").await?;
    same("error", a.last_sync_error.as_deref(), Some("gave up"))?;
    same("next check", a.next_check_at, Some(at(120)))?;
    same(
        "enqueued mark cleared",
        store.backlog().await.map_err(io)?.0,
        0,
    )?;
    save_planned(store, &[sync("ORD-A", at(130))], &[], at(0)).await?;
    same(
        "error cleared by a sync",
        order(store, "ORD-A").await?.last_sync_error,
        None,
    )
}

async fn claims<S: Store>(store: &S) -> Outcome {
    put(store, "ORD-A", Some("100000001"), at(0)).await?;
    put(store, "ORD-B", Some("100000002"), at(0)).await?;
    let claim = |id: &'static str, now: DateTime<Utc>, not_before: DateTime<Utc>| async move {
        store.claim_refresh(id, now, not_before).await.map_err(io)
    };
    same("first claim", claim("ORD-A", at(10), at(9)).await?, None)?;
    same(
        "within the interval",
        claim(
            "ORD-A",
            at(10) + Duration::seconds(30),
            at(9) + Duration::seconds(30),
        )
        .await?,
        Some(at(10)),
    )?;
    same("another order", claim("ORD-B", at(10), at(9)).await?, None)?;
    same(
        "once the interval passed",
        claim("ORD-A", at(11), at(10)).await?,
        None,
    )?;
    same(
        "the new claim stands",
        claim(
            "ORD-A",
            at(11) + Duration::seconds(1),
            at(10) + Duration::seconds(1),
        )
        .await?,
        Some(at(11)),
    )
}

fn finished_run(trigger: Trigger, started: DateTime<Utc>, succeeded: usize) -> SyncRun {
    SyncRun {
        status: RunStatus::Completed,
        finished_at: Some(started + Duration::minutes(1)),
        considered: succeeded,
        succeeded,
        batches: 1,
        invocations: 1,
        carrier_calls: 1,
        d1_queries: 4,
        kv_operations: 2,
        busiest_invocation: Spent {
            subrequests: 1,
            d1_queries: 4,
            kv_operations: 2,
            queue_sends: 0,
        },
        ..SyncRun::new(trigger, started)
    }
}

async fn runs_listed<S: Store>(store: &S) -> Outcome {
    let first = store
        .start_run(&SyncRun::new(Trigger::Cron, at(0)))
        .await
        .map_err(io)?;
    let second = store
        .start_run(&SyncRun::new(Trigger::Manual, at(5)))
        .await
        .map_err(io)?;
    if second <= first {
        return Err(format!("run ids not increasing: {first} then {second}"));
    }
    let done = finished_run(Trigger::Cron, at(0), 3);
    store.finish_run(first, &done).await.map_err(io)?;
    let listed = store.recent_runs(10).await.map_err(io)?;
    let listed_ids: Vec<Option<i64>> = listed.iter().map(|r| r.id).collect();
    same("newest first", listed_ids, vec![Some(second), Some(first)])?;
    same(
        "the finished run",
        listed[1].clone(),
        SyncRun {
            id: Some(first),
            ..done.merged_into(&SyncRun::new(Trigger::Cron, at(0)))
        },
    )?;
    same("running", listed[0].status, RunStatus::Running)?;
    same("limit", store.recent_runs(1).await.map_err(io)?.len(), 1)
}

async fn runs_pruned<S: Store>(store: &S) -> Outcome {
    let mut ids = Vec::new();
    for minute in 0..=RUNS_KEPT {
        let run = SyncRun::new(Trigger::Cron, at(minute));
        ids.push(store.start_run(&run).await.map_err(io)?);
    }
    let all = (RUNS_KEPT + 1) as usize;
    same(
        "runs kept while none has finished",
        store.recent_runs(all).await.map_err(io)?.len(),
        all,
    )?;
    let newest = ids[ids.len() - 1];
    let done = finished_run(Trigger::Cron, at(RUNS_KEPT), 1);
    store.finish_run(newest, &done).await.map_err(io)?;
    let listed = store.recent_runs(all).await.map_err(io)?;
    same("runs kept", listed.len(), RUNS_KEPT as usize)?;
    same(
        "the oldest kept",
        listed.last().and_then(|r| r.id),
        Some(ids[1]),
    )?;
    same("the newest", listed[0].id, Some(newest))
}

async fn tallies<S: Store>(store: &S) -> Outcome {
    let id = store
        .start_run(&SyncRun::new(Trigger::Cron, at(0)))
        .await
        .map_err(io)?;
    let producer = SyncRun {
        considered: 3,
        enqueued: 3,
        batches: 2,
        invocations: 1,
        d1_queries: 3,
        busiest_invocation: Spent {
            d1_queries: 3,
            queue_sends: 1,
            ..Spent::default()
        },
        finished_at: Some(at(1)),
        ..SyncRun::new(Trigger::Cron, at(0))
    };
    store.finish_run(id, &producer).await.map_err(io)?;
    let mut want = producer.merged_into(&SyncRun {
        id: Some(id),
        ..SyncRun::new(Trigger::Cron, at(0))
    });
    let tallies = [
        RunTally {
            succeeded: 2,
            retried: 1,
            handed_back: 3,
            spent: Spent {
                subrequests: 2,
                d1_queries: 5,
                kv_operations: 1,
                queue_sends: 1,
            },
            status_changes: 2,
            ..RunTally::default()
        },
        RunTally {
            failed: 1,
            dead_lettered: 1,
            handed_back: 1,
            spent: Spent {
                subrequests: 1,
                d1_queries: 2,
                kv_operations: 0,
                queue_sends: 1,
            },
            failures: vec![crate::runs::BatchFailure {
                batch: 1,
                order_ids: ids(&["ORD-A"]),
                reason: "carrier said 503".into(),
            }],
            status_changes: 1,
            ..RunTally::default()
        },
    ];
    for (n, tally) in tallies.iter().enumerate() {
        let now = at(2 + n as i64);
        store.add_to_run(id, tally, now).await.map_err(io)?;
        tally.apply_to(&mut want, now);
        let stored = store.recent_runs(1).await.map_err(io)?.remove(0);
        same(&format!("run after tally {}", n + 1), stored, want.clone())?;
    }
    same("completed", want.status, RunStatus::Completed)?;
    same(
        "status changes counted for the push statistics",
        store
            .push_stats(10)
            .await
            .map_err(io)?
            .counts
            .status_changes_poll,
        3,
    )
}

async fn kv_repairs<S: Store>(store: &S) -> Outcome {
    for id in ["ORD-A", "ORD-Z"] {
        put(
            store,
            id,
            Some(if id == "ORD-A" {
                "100000001"
            } else {
                "100000002"
            }),
            at(0),
        )
        .await?;
    }
    store
        .mark_kv_stale(&ids(&["ORD-Z"]), at(1))
        .await
        .map_err(io)?;
    store
        .mark_kv_stale(&ids(&["ORD-A"]), at(2))
        .await
        .map_err(io)?;
    // Marked again: it keeps its place in the line.
    store
        .mark_kv_stale(&ids(&["ORD-Z"]), at(3))
        .await
        .map_err(io)?;
    same(
        "oldest mark first",
        store.kv_stale(10).await.map_err(io)?,
        ids(&["ORD-Z", "ORD-A"]),
    )?;
    same(
        "limit",
        store.kv_stale(1).await.map_err(io)?,
        ids(&["ORD-Z"]),
    )?;
    store.clear_kv_stale(&ids(&["ORD-Z"])).await.map_err(io)?;
    same(
        "after clearing",
        store.kv_stale(10).await.map_err(io)?,
        ids(&["ORD-A"]),
    )
}

async fn kv_held<S: Store>(store: &S) -> Outcome {
    for (id, awb) in [
        ("ORD-A", "100000001"),
        ("ORD-B", "100000002"),
        ("ORD-C", "100000003"),
    ] {
        put(store, id, Some(awb), at(0)).await?;
    }
    store
        .note_cached(&ids(&["ORD-A", "ORD-B"]), at(60))
        .await
        .map_err(io)?;
    store
        .note_cached(&ids(&["ORD-B"]), at(30))
        .await
        .map_err(io)?;
    let all = ids(&["ORD-A", "ORD-B", "ORD-C"]);
    let mut held = store.held_in_kv(&all, at(29)).await.map_err(io)?;
    held.sort();
    same("held before both ends", held, ids(&["ORD-A", "ORD-B"]))?;
    same(
        "the later note replaces the earlier",
        store.held_in_kv(&all, at(30)).await.map_err(io)?,
        ids(&["ORD-A"]),
    )?;
    same(
        "gone at its time",
        store.held_in_kv(&all, at(60)).await.map_err(io)?,
        Vec::new(),
    )?;
    // A save can note it too; one without a note leaves the standing one alone.
    let noted = OrderSync {
        kv_held_until: Some(at(90)),
        ..sync("ORD-C", at(61))
    };
    save_planned(store, &[noted, sync("ORD-A", at(61))], &[], at(61)).await?;
    store
        .note_cached(&ids(&["ORD-B"]), at(80))
        .await
        .map_err(io)?;
    let mut held = store.held_in_kv(&all, at(70)).await.map_err(io)?;
    held.sort();
    same("noted by the save", held, ids(&["ORD-B", "ORD-C"]))?;
    save_planned(store, &[sync("ORD-C", at(62))], &[], at(62)).await?;
    same(
        "kept by a save without a note",
        store
            .held_in_kv(&ids(&["ORD-C"]), at(85))
            .await
            .map_err(io)?,
        ids(&["ORD-C"]),
    )
}

async fn kv_budget<S: Store>(store: &S) -> Outcome {
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let next = day.succ_opt().unwrap();
    for (n, (on, count, want)) in [
        (day, 3, true),
        (day, 3, false),
        (day, 2, true),
        (day, 1, false),
        (next, 5, true),
        (next, 0, true),
        (next, 1, false),
    ]
    .into_iter()
    .enumerate()
    {
        let got = store.reserve_kv_writes(on, count, 5).await.map_err(io)?;
        same(
            &format!("reservation {} ({count} on {on})", n + 1),
            got,
            want,
        )?;
    }
    Ok(())
}

async fn pushes<S: Store>(store: &S) -> Outcome {
    let counts = |pushes: u64, items: u64, changes: u64| PushCounts {
        pushes,
        items,
        accepted: items - 1,
        rejected: 1,
        unmatched: 1,
        status_changes_push: changes,
        status_changes_poll: 0,
    };
    // Without a delivery id (messages queued before ids were kept), and with one.
    store
        .record_push(
            "",
            &counts(1, 4, 2),
            &ids(&["100000001", "100000002"]),
            at(0),
        )
        .await
        .map_err(io)?;
    store
        .record_push("delivery-2", &counts(2, 3, 1), &ids(&["100000002"]), at(5))
        .await
        .map_err(io)?;
    // The same message delivered again adds nothing: not its counts, not its waybills.
    store
        .record_push(
            "delivery-2",
            &counts(2, 3, 1),
            &ids(&["100000002", "100000003"]),
            at(7),
        )
        .await
        .map_err(io)?;
    let stats = store.push_stats(10).await.map_err(io)?;
    same(
        "totals",
        stats.counts,
        PushCounts {
            pushes: 3,
            items: 7,
            accepted: 5,
            rejected: 2,
            unmatched: 2,
            status_changes_push: 3,
            status_changes_poll: 0,
        },
    )?;
    let seen: Vec<(String, DateTime<Utc>, DateTime<Utc>, u64)> = stats
        .unmatched
        .into_iter()
        .map(|u| (u.awb_no, u.first_seen_at, u.last_seen_at, u.times))
        .collect();
    same(
        "unmatched, last seen first",
        seen,
        vec![
            ("100000002".into(), at(0), at(5), 2),
            ("100000001".into(), at(0), at(0), 1),
        ],
    )?;
    same(
        "limit",
        store.push_stats(1).await.map_err(io)?.unmatched.len(),
        1,
    )?;
    // An id is forgotten after the days a queue could still deliver it: then it counts again.
    let kept = Duration::days(PUSH_DELIVERIES_KEPT_DAYS);
    for (what, minutes, pushes) in [
        ("a delivery id still remembered", 4, 3),
        ("a delivery id forgotten", 6, 4),
    ] {
        store
            .record_push("delivery-2", &counts(1, 1, 0), &[], at(minutes) + kept)
            .await
            .map_err(io)?;
        let stats = store.push_stats(10).await.map_err(io)?;
        same(what, stats.counts.pushes, pushes)?;
    }
    Ok(())
}

async fn breaker<S: CarrierHealth>(store: &S) -> Outcome {
    let state = store.breaker().await.map_err(io)?;
    same(
        "closed at first",
        (state.failures, state.open_until),
        (0, None),
    )?;
    for n in 1..=2u32 {
        let state = store
            .record_failure(3, at(10), "carrier said 503", at(0))
            .await
            .map_err(io)?;
        same(
            "below the threshold",
            (state.failures, state.open_until),
            (n, None),
        )?;
    }
    let state = store
        .record_failure(3, at(10), "carrier said 503", at(0))
        .await
        .map_err(io)?;
    same(
        "at the threshold",
        (state.failures, state.open_until),
        (3, Some(at(10))),
    )?;
    same(
        "read back",
        store.breaker().await.map_err(io)?.open_until,
        Some(at(10)),
    )?;
    same(
        "no trial while open",
        store.claim_trial(at(9), at(19)).await.map_err(io)?,
        false,
    )?;
    same(
        "one trial once the cool-down passed",
        store.claim_trial(at(10), at(20)).await.map_err(io)?,
        true,
    )?;
    same(
        "no second trial",
        store.claim_trial(at(11), at(21)).await.map_err(io)?,
        false,
    )?;
    store.record_success().await.map_err(io)?;
    let state = store.breaker().await.map_err(io)?;
    same(
        "closed by a success",
        (state.failures, state.open_until),
        (0, None),
    )
}

fn endpoint(id: &str, types: &[&str], enabled: bool) -> Endpoint {
    Endpoint {
        id: id.into(),
        url: format!("https://example.com/{id}"),
        description: Some(format!("endpoint {id}")),
        event_types: ids(types),
        enabled,
        disabled_reason: None,
        failing_since: None,
        secret: format!("whsec_{id}"),
        previous_secret: None,
        previous_secret_expires_at: None,
        created_at: at(0),
        updated_at: at(0),
    }
}

/// An attach that records no webhook messages.
fn no_messages(_: &Order) -> Vec<WebhookEvent> {
    Vec::new()
}

fn message(id: &str, kind: &str, order: &str, minutes: i64) -> WebhookEvent {
    WebhookEvent {
        id: id.into(),
        kind: kind.into(),
        order_id: Some(order.into()),
        sequence: format!("1{}", crate::model::iso(at(minutes))),
        payload: format!("{{\"type\":\"{kind}\",\"n\":\"{id}\"}}"),
    }
}

/// (delivery, webhook id) of the endpoint's deliveries, oldest first.
async fn delivered_to<S: Store>(store: &S, endpoint: &str) -> Result<Vec<(i64, String)>, String> {
    let mut list: Vec<(i64, String)> = store
        .deliveries(endpoint, 100)
        .await
        .map_err(io)?
        .into_iter()
        .map(|d| (d.id, d.webhook_id))
        .collect();
    list.reverse();
    Ok(list)
}

async fn webhook_messages<S: Store>(store: &S) -> Outcome {
    let changed = crate::webhooks::STATUS_CHANGED;
    for e in [
        endpoint("ep_a", &[changed], true),
        endpoint("ep_b", &["shipment.delivered"], true),
        endpoint("ep_c", &[changed], false),
    ] {
        store.create_endpoint(&e).await.map_err(io)?;
    }
    put(store, "ORD-1", Some("100000001"), at(0)).await?;
    let batch = [
        message("msg_1", changed, "ORD-1", 0),
        message("msg_2", "shipment.delivered", "ORD-1", 0),
    ];
    // Recorded with the sync that saves the change, in its transaction.
    save_planned(store, &[sync("ORD-1", at(1))], &batch, at(1)).await?;
    same(
        "the sync saved with them",
        store
            .snapshot("ORD-1")
            .await
            .map_err(io)?
            .map(|s| s.order.last_synced_at),
        Some(Some(at(1))),
    )?;
    // Recorded before: nothing again, not even for an endpoint made since.
    store
        .create_endpoint(&endpoint("ep_d", &[changed], true))
        .await
        .map_err(io)?;
    save_planned(store, &[sync("ORD-1", at(2))], &batch, at(2)).await?;
    let names = |list: Vec<(i64, String)>| list.into_iter().map(|(_, m)| m).collect::<Vec<_>>();
    same(
        "to a",
        names(delivered_to(store, "ep_a").await?),
        ids(&["msg_1"]),
    )?;
    same(
        "to b",
        names(delivered_to(store, "ep_b").await?),
        ids(&["msg_2"]),
    )?;
    same(
        "to c (disabled)",
        delivered_to(store, "ep_c").await?,
        vec![],
    )?;
    same(
        "to d (made after)",
        delivered_to(store, "ep_d").await?,
        vec![],
    )?;
    // Attaching a waybill records its messages, made from the order found, with the attach.
    put(store, "ORD-2", None, at(0)).await?;
    let booked = |order: &Order| vec![message("msg_3", changed, &order.id, 2)];
    same(
        "attached",
        store
            .attach_awb(
                "ORD-2",
                &TrackingEvent::booked("100000002", at(2)),
                at(2),
                &booked,
            )
            .await
            .map_err(io)?,
        AttachOutcome::Attached,
    )?;
    same(
        "to d (the attach's)",
        names(delivered_to(store, "ep_d").await?),
        ids(&["msg_3"]),
    )?;
    let listed: Vec<String> = store
        .endpoints()
        .await
        .map_err(io)?
        .into_iter()
        .map(|e| e.id)
        .collect();
    same("endpoints", listed, ids(&["ep_a", "ep_b", "ep_c", "ep_d"]))?;
    // Claimed once, released, claimed again.
    let claimed = store.claim_unqueued(at(3), at(0), 10).await.map_err(io)?;
    same("claimed", claimed.len(), 4)?;
    same("attempts", claimed.iter().all(|(_, n)| *n == 0), true)?;
    same(
        "claimed again",
        store.claim_unqueued(at(3), at(0), 10).await.map_err(io)?,
        vec![],
    )?;
    store.unqueue(&[claimed[0].0]).await.map_err(io)?;
    same(
        "released",
        store.claim_unqueued(at(4), at(0), 10).await.map_err(io)?,
        vec![claimed[0]],
    )?;
    // Queued and never heard of again: taken again once the lease has run out.
    same(
        "within the lease",
        store.claim_unqueued(at(5), at(3), 10).await.map_err(io)?,
        vec![],
    )?;
    let mut retaken = store.claim_unqueued(at(6), at(5), 10).await.map_err(io)?;
    retaken.sort();
    let mut all = claimed.clone();
    all.sort();
    same("after the lease", retaken, all)
}

async fn webhook_attempts<S: Store>(store: &S) -> Outcome {
    let mut saved = endpoint("ep_a", &["shipment.lost"], true);
    store.create_endpoint(&saved).await.map_err(io)?;
    // Every field an update writes reads back.
    saved.secret = "whsec_new".into();
    saved.previous_secret = Some("whsec_ep_a".into());
    saved.previous_secret_expires_at = Some(at(24 * 60));
    saved.description = None;
    saved.url = "https://example.com/moved".into();
    saved.event_types = ids(&["shipment.lost", "shipment.returned"]);
    saved.updated_at = at(5);
    same(
        "updated",
        store.update_endpoint(&saved).await.map_err(io)?,
        true,
    )?;
    same(
        "read back",
        store.endpoint("ep_a").await.map_err(io)?,
        Some(saved.clone()),
    )?;
    let ping = WebhookEvent {
        order_id: None,
        ..message("msg_ping", crate::webhooks::PING, "", 6)
    };
    let id = store.add_delivery("ep_a", &ping, at(6)).await.map_err(io)?;
    let failed = |n: u32, minutes: i64| Attempt {
        attempt: n,
        at: at(minutes),
        http_status: Some(503),
        latency_ms: 120,
        error: Some("HTTP 503".into()),
        next_retry_at: Some(at(minutes + 1)),
    };
    same(
        "the ping queued",
        store.claim_unqueued(at(6), at(0), 10).await.map_err(io)?,
        vec![(id, 0)],
    )?;
    store
        .record_attempt(&AttemptRecord {
            delivery: id,
            endpoint_id: "ep_a".into(),
            attempt: Some(failed(1, 7)),
            state: DeliveryState::Pending,
            failing_since: Some(at(7)),
            disable: None,
        })
        .await
        .map_err(io)?;
    let job = store.delivery_job(id).await.map_err(io)?.ok_or("no job")?;
    same(
        "job",
        (job.state, job.attempts, job.replayed_after),
        (DeliveryState::Pending, 1, 0),
    )?;
    same("job's message", job.event, ping.clone())?;
    same("failing since", job.endpoint.failing_since, Some(at(7)))?;
    // Its retry's message is due at 8: not taken again before the lease has run out from then.
    same(
        "retry within the lease",
        store.claim_unqueued(at(9), at(8), 10).await.map_err(io)?,
        vec![],
    )?;
    same(
        "retry lost",
        store.claim_unqueued(at(9), at(9), 10).await.map_err(io)?,
        vec![(id, 1)],
    )?;
    store
        .record_attempt(&AttemptRecord {
            delivery: id,
            endpoint_id: "ep_a".into(),
            attempt: Some(Attempt {
                http_status: None,
                error: Some("connection failed".into()),
                next_retry_at: None,
                ..failed(2, 8)
            }),
            state: DeliveryState::Failed,
            failing_since: Some(at(7)),
            disable: Some("disabled automatically".into()),
        })
        .await
        .map_err(io)?;
    let listed = store.deliveries("ep_a", 10).await.map_err(io)?;
    same("state", listed[0].state, DeliveryState::Failed)?;
    same(
        "attempts",
        listed[0].attempts.clone(),
        vec![
            failed(1, 7),
            Attempt {
                http_status: None,
                error: Some("connection failed".into()),
                next_retry_at: None,
                ..failed(2, 8)
            },
        ],
    )?;
    let disabled = store.endpoint("ep_a").await.map_err(io)?.ok_or("gone")?;
    same(
        "disabled",
        (disabled.enabled, disabled.disabled_reason.as_deref()),
        (false, Some("disabled automatically")),
    )?;
    same(
        "replay of another's",
        store.replay("ep_b", id).await.map_err(io)?,
        false,
    )?;
    same(
        "replayed",
        store.replay("ep_a", id).await.map_err(io)?,
        true,
    )?;
    let job = store.delivery_job(id).await.map_err(io)?.ok_or("no job")?;
    same(
        "after replay",
        (job.state, job.attempts, job.replayed_after),
        (DeliveryState::Pending, 2, 2),
    )?;
    same(
        "queued again",
        store.claim_unqueued(at(9), at(0), 10).await.map_err(io)?,
        vec![(id, 2)],
    )?;
    same(
        "deleted",
        store.delete_endpoint("ep_a").await.map_err(io)?,
        true,
    )?;
    same(
        "deleted again",
        store.delete_endpoint("ep_a").await.map_err(io)?,
        false,
    )?;
    same("job gone", store.delivery_job(id).await.map_err(io)?, None)?;
    same(
        "update gone",
        store.update_endpoint(&saved).await.map_err(io)?,
        false,
    )
}

async fn webhook_order<S: Store>(store: &S) -> Outcome {
    let changed = crate::webhooks::STATUS_CHANGED;
    store
        .create_endpoint(&endpoint("ep_a", &[changed], true))
        .await
        .map_err(io)?;
    save_planned(
        store,
        &[],
        &[
            message("msg_2", changed, "ORD-1", 60),
            message("msg_1", changed, "ORD-1", 0),
            message("msg_3", changed, "ORD-2", 120),
        ],
        at(1),
    )
    .await?;
    let list = delivered_to(store, "ep_a").await?;
    let id = |m: &str| {
        list.iter()
            .find(|(_, w)| w == m)
            .map(|(d, _)| *d)
            .unwrap_or(0)
    };
    let waits = |delivery: i64| async move {
        store
            .delivery_job(delivery)
            .await
            .map_err(io)?
            .map(|j| j.earlier_pending)
            .ok_or_else(|| format!("no delivery {delivery}"))
    };
    same("earlier message", waits(id("msg_1")).await?, false)?;
    same("later message", waits(id("msg_2")).await?, true)?;
    same("another order's", waits(id("msg_3")).await?, false)?;
    store
        .record_attempt(&AttemptRecord {
            delivery: id("msg_1"),
            endpoint_id: "ep_a".into(),
            attempt: None,
            state: DeliveryState::Delivered,
            failing_since: None,
            disable: None,
        })
        .await
        .map_err(io)?;
    same("once the earlier went", waits(id("msg_2")).await?, false)
}
